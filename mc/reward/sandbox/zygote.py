"""The zygote: every sandboxed process is forked from a process that never saw a job.

Invariant: a sandboxed process's memory holds the interpreter, the
pre-imported modules, and what its own job hands it (its code, one test's
input at a time), nothing else. A fork copies the parent's whole heap, freed
memory included, so forking from the worker would hand each program whatever
the worker held before: other samples' code and outputs, checker jobs'
expected answers, error texts (class 3 of the attack review: found by scanning
one's own memory). The zygote is forked from the worker once, right after
set-up, and from then on receives only file descriptors and a few limits over a
socket; it forks on request and reports each child's exit.

It is also pid 1 of the worker's pid namespace: the sandboxed processes see no
host process, and all of them die with it (it dies with the worker).

Messages (SOCK_SEQPACKET):
    worker -> zygote: JSON spec, with the child's descriptors attached
    zygote -> worker: b"pid N" with a pidfd attached; b"exit N STATUS" when it reaped N
"""

from __future__ import annotations

import json
import os
import select
import socket
from collections.abc import Callable

from mc.reward.sandbox import layers

MAX_SPEC = 64 * 1024
MAX_FDS = 16


class ZygoteGone(Exception):
    pass


class Zygote:
    """The worker's handle on its zygote."""

    def __init__(self, child_main: Callable[[dict, list[int]], None]):
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = layers.fork()
        if pid == 0:  # the zygote: never returns
            try:
                self._sock.close()
                # Not the controller's pipes: the worker's end of them must be the only one.
                null = os.open("/dev/null", os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.close(null)
                _serve(theirs, child_main)
            finally:
                os._exit(0)
        theirs.close()
        self.pid = pid
        self._exits: dict[int, int] = {}
        self._forgotten: set[int] = set()  # children whose exit report nobody waits for

    def spawn(self, spec: dict, fds: list[int]) -> tuple[int, int]:
        """Fork a child with `fds` (closed here afterwards); (its pid as the zygote sees it, a pidfd)."""
        self.request(spec, fds)
        return self.collect()

    def request(self, spec: dict, fds: list[int]) -> None:
        """Ask for a child without waiting (`collect` gets the answers, in order)."""
        try:
            socket.send_fds(self._sock, [json.dumps(spec).encode()], fds)
        except OSError as e:
            raise ZygoteGone(f"the zygote is gone: {e}") from None
        finally:
            for fd in fds:
                os.close(fd)

    def collect(self) -> tuple[int, int]:
        """The next requested child: (its pid as the zygote sees it, a pidfd)."""
        while True:
            message, pidfds = self._receive(timeout=30)
            if message.startswith(b"pid ") and len(pidfds) == 1:
                return int(message[4:]), pidfds[0]
            for fd in pidfds:
                os.close(fd)

    def exit_status(self, pid: int, timeout: float) -> int | None:
        """The wait status of child `pid` once the zygote reaped it; None if not within `timeout`."""
        while pid not in self._exits:
            try:
                message, fds = self._receive(timeout)
            except TimeoutError:
                return None
            for fd in fds:
                os.close(fd)
        return self._exits.pop(pid)

    def forget(self, pid: int) -> None:
        """Drop child `pid`'s exit report, now or when it comes (the caller saw it end on its pidfd)."""
        if self._exits.pop(pid, None) is None:
            self._forgotten.add(pid)

    def _receive(self, timeout: float) -> tuple[bytes, list[int]]:
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            raise TimeoutError
        message, fds, _, _ = socket.recv_fds(self._sock, 256, MAX_FDS)
        if not message:
            raise ZygoteGone("the zygote exited")
        if message.startswith(b"exit "):
            # (A pid is reused only after its exit report: reports and forks come in order.)
            _, pid, status = message.split()
            if int(pid) in self._forgotten:
                self._forgotten.discard(int(pid))
            else:
                self._exits[int(pid)] = int(status)
        return message, fds

    def close(self) -> None:
        self._sock.close()


def _serve(sock: socket.socket, child_main: Callable[[dict, list[int]], None]) -> None:
    layers.die_with_parent()
    children: dict[int, int] = {}  # pidfd -> pid
    while True:
        ready, _, _ = select.select([sock, *children], [], [])
        for fd in ready:
            if fd is sock:
                message, fds, _, _ = socket.recv_fds(sock, MAX_SPEC, MAX_FDS)
                if not message:
                    return  # the worker is gone
                pid = layers.fork()
                if pid == 0:  # the sandboxed process: never returns
                    sock.close()
                    for pidfd in children:
                        os.close(pidfd)
                    child_main(json.loads(message), fds)
                    os._exit(0)
                for child_fd in fds:
                    os.close(child_fd)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = pid
                socket.send_fds(sock, [f"pid {pid}".encode()], [pidfd])
            else:
                pid = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                sock.send(f"exit {pid} {status}".encode())
