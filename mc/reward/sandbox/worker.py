"""The sandbox worker: a small trusted process that supervises one sandboxed process per job.

Started by the controller (pool.py) with a scrubbed environment. Once, at
start: it pre-imports the modules competitive programs use, enters its
namespaces (network, IPC, mount, pid; a user namespace when unprivileged),
pivots into its private root (fsroot.py), builds the Landlock ruleset and the
seccomp filter, and forks its zygote (zygote.py). Then it serves jobs read
from stdin (frames, see protocol.py). For each job it mounts a fresh scratch,
has the zygote fork the sandboxed process (which applies the per-process
layers, `child_main`, and runs the harness), and supervises it:

- it hands out one test at a time (input into the stdin memfd, then `go`);
- it measures each test's CPU time itself, on the process's CPU clock, and
  kills past the limit; a wall-clock cap (WALL_FACTOR x the limit) catches
  programs that sleep or wait. A program's frames carry no time and start no
  clock: the one `ready` frame comes before any program code runs; a second
  one, or any frame out of turn, is a protocol violation;
- it reads the program's stdout from the memfd, caps frames and outputs,
  kills the process, re-forks for the remaining tests after a crash or an
  early exit, and treats a missing frame as a failure (exit codes are never
  verdicts);
- for assert tests it runs two processes, the program and the test code
  (remote.py), and only the test process's report counts.

It relays per-test results to the controller (stdout) and never sees an
expected output. Anything that goes wrong in a job (a bug, a broken zygote)
is reported as that job's failure; the worker then carries on or exits, and
the controller replaces it.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sys
import time

import orjson

from mc.reward.sandbox import fsroot, layers
from mc.reward.sandbox.harness import Harness
from mc.reward.sandbox.protocol import FrameError, FrameReader, encode, read_frame, write_frame
from mc.reward.sandbox.zygote import Zygote, ZygoteGone

CMD_FD, RES_FD = 0, 1
MAX_HEADER = 64 * 1024
STARTUP_GRACE_S = 10.0  # fork, layers and compiling the program (no program code runs yet)
WALL_FACTOR, WALL_EXTRA_S = 3.0, 1.0  # wall-clock cap per test: for sleepers; CPU time is what is judged
MIN_POLL_S, MAX_POLL_S = 0.002, 0.25
STATUSES = {"ok", "error", "memory", "output_limit", "syntax_error"}
SETUP_FAILED = 70  # the child's exit code when a layer could not be applied
HARNESS_BROKEN = 71  # ... when the program broke the harness itself
SCRATCH_MB, SCRATCH_INODES = 64, 4096
CHILD_FDS = 7  # cmd, res, stdin, stdout, stderr, call-in, call-out (harness.CMD_FD ...)
RULESET_FD = 200  # where the Landlock ruleset is parked, clear of the child's descriptors
_PID_LINE = re.compile(rb"^Pid:\s*(-?\d+)", re.M)


def pid_of(procfd: int, pidfd: int) -> int | None:
    """The pid (in our namespace) of a pidfd's process; None when it has already ended
    and been reaped (a program can die before the worker looks: the fdinfo says -1)."""
    fd = os.open(f"self/fdinfo/{pidfd}", os.O_RDONLY, dir_fd=procfd)
    try:
        info = os.read(fd, 4096)
    finally:
        os.close(fd)
    match = _PID_LINE.search(info)
    if not match:
        raise OSError(f"no pid in the pidfd's fdinfo: {info[:200]!r}")
    pid = int(match.group(1))
    return pid if pid > 0 else None

# What competitive programs import; loaded once here, shared by every fork.
PREIMPORT = (
    "array bisect collections copy dataclasses datetime decimal enum fractions functools heapq io "
    "itertools json math operator random re statistics string sys threading time typing unicodedata"
).split()


class ProtocolViolation(Exception):
    pass


class Worker:
    def __init__(self, config: dict):
        self.config = config
        self.uid = config.get("uid")
        self.active: list[str] = ["rlimits", "pdeathsig"]
        self.missing: dict[str, str] = {}
        self.ruleset_fd = -1
        self.seccomp = None
        self.private_root = False
        self.scratch = config["scratch"]
        self.ending: list[Child] = []  # killed, not yet seen to end
        self._setup()
        if "netns" in self.active:
            try:
                layers.enter_pid_namespace()
                self.active.append("pidns")
            except OSError as e:
                self.missing["pidns"] = str(e)
        self.zygote = Zygote(self._child_main)

    def _setup(self) -> None:
        for name in PREIMPORT:
            __import__(name)
        import gc

        # Everything loaded so far is shared by every fork; keep the collector
        # off it so children do not copy those pages.
        gc.freeze()
        # Built before the private root: libseccomp is found by running ldconfig.
        if layers.seccomp_available():
            try:
                self.seccomp = layers.compiled_seccomp_filter()
                self.active.append("seccomp")
            except Exception as e:  # libseccomp errors come in several types
                self.missing["seccomp"] = str(e)
        else:
            self.missing["seccomp"] = "libseccomp (pyseccomp) is not available"
        self.procfd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.active += layers.enter_namespaces()
        except OSError as e:
            self.missing["namespaces"] = str(e)
        read_paths = self.config["read_paths"]
        if "mountns" in self.active:
            try:
                fsroot.enter_root(self.config["root"], read_paths)
                self.private_root, self.scratch = True, fsroot.SCRATCH
                self.active.append("root")
            except OSError as e:
                self.missing["root"] = str(e)
        if self.uid is not None:
            self.active.append("uid")
        abi = layers.landlock_abi()
        if abi >= 1:
            try:
                writable = fsroot.SANDBOX_DIR if self.private_root else self.scratch
                fd = layers.landlock_ruleset(read_paths, [writable], abi)
                os.dup2(fd, RULESET_FD)
                os.close(fd)
                self.ruleset_fd = RULESET_FD
                self.active.append("landlock")
                if abi >= 4:
                    self.active.append("landlock-net")
                if abi >= 6:
                    self.active.append("landlock-scope")
            except OSError as e:
                self.missing["landlock"] = str(e)
        else:
            self.missing["landlock"] = "the kernel offers no Landlock (or it is disabled)"
        self._settle()

    def _settle(self) -> None:
        """What every child inherits, done once: not dumpable, ignored SIGXFSZ (a
        write past the output cap then fails with EFBIG), a scrubbed
        environment, no import path the program can write to, unlimited
        int-to-str digits (big answers print, as on a judge; the time limit
        bounds the cost)."""
        layers.set_not_dumpable()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        os.chdir("/")
        os.environ.clear()
        os.environ.update({"HOME": self.scratch, "TMPDIR": self.scratch, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})
        sys.set_int_max_str_digits(0)
        sys.path[:] = [p for p in sys.path if p and os.path.isabs(p) and os.path.isdir(p)
                       and not (p + "/").startswith(self.scratch.rstrip("/") + "/")
                       and not (p + "/").startswith(fsroot.SANDBOX_DIR + "/")]
        sys.path_importer_cache.clear()

    # -- inside the sandboxed process ------------------------------------------------

    def _child_main(self, spec: dict, fds: list[int]) -> None:
        """Runs in the freshly forked process (never returns)."""
        code = SETUP_FAILED
        try:
            self._child_setup(spec, fds)
            code = HARNESS_BROKEN
            Harness().run()
            code = 0
        except BaseException:
            import traceback

            what = "sandbox setup failed" if code == SETUP_FAILED else "the program broke the test harness"
            try:
                os.write(2, f"{what}:\n{traceback.format_exc()}".encode())
            except OSError:
                pass
        finally:
            os._exit(code)

    def _child_setup(self, spec: dict, fds: list[int]) -> None:
        """Per process: descriptors, limits, uid, Landlock, seccomp (the rest was done once)."""
        layers.die_with_parent()
        base = 100  # harness.CMD_FD
        moved = [os.dup(fd) if fd < base + CHILD_FDS else fd for fd in fds]  # out of the way of the targets
        for k, fd in enumerate(moved):
            os.dup2(fd, base + k)
        for k, fd in enumerate((base + 2, base + 3, base + 4)):  # stdin, stdout, stderr
            os.dup2(fd, k)
        with os.fdopen(os.open("self/statm", os.O_RDONLY, dir_fd=self.procfd)) as f:
            address_space = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        keep = [0, 1, 2, *range(base, base + len(fds))] + ([self.ruleset_fd] if self.ruleset_fd >= 0 else [])
        _close_all_but(keep)
        os.chdir(spec["cwd"])
        layers.set_rlimits(
            memory_bytes=spec["memory"] + address_space,
            cpu_seconds=spec["cpu_s"],
            file_bytes=spec["file_bytes"],
            open_files=128,
            processes=64 if self.uid is not None else None,
        )
        if self.uid is not None:
            layers.drop_privileges(self.uid)
        elif "userns" in self.active:
            layers.drop_capabilities()
        if self.ruleset_fd >= 0:
            layers.restrict_landlock(self.ruleset_fd)
            os.close(self.ruleset_fd)
        if self.seccomp is not None:
            self.seccomp.load()

    # -- jobs -------------------------------------------------------------------

    def run_job(self, job: dict) -> None:
        """One job's frames, then `done`. Our own failures (a broken zygote, no
        memory for a memfd) propagate: the worker exits, and the controller
        replaces it and runs the job again."""
        if job["kind"] == "assert":
            self._run_assert(job)
        else:
            self._run_tests(job)
        write_frame(RES_FD, {"done": job["id"]})

    def _child(self, payload: dict, job: dict, tests_left: int, extra_fds=(), cwd: str | None = None) -> Child:
        """A process for `payload`, requested from the zygote (`attach` waits for it). With no
        `cwd`, it works in a fresh scratch."""
        self._settle_ended()
        if cwd is None and self.private_root:
            fsroot.fresh_scratch(self.uid if self.uid is not None else os.getuid(), SCRATCH_MB, SCRATCH_INODES)
        elif cwd is None:
            _clean_host_scratch(self.scratch)
        spec = {"memory": job["memory_mb"] * 2**20, "file_bytes": job["output_limit"], "cwd": cwd or self.scratch,
                "cpu_s": int(job["time_limit"] * tests_left + STARTUP_GRACE_S) + 1}
        return Child(self, payload, spec, job["output_limit"], list(extra_fds))

    def _settle_ended(self) -> None:
        """Wait until the processes of the last job have ended: none may still
        touch the scratch folder when it is replaced (a path lookup in flight
        would land in the new one)."""
        while self.ending:
            self.ending.pop().wait_ended()

    def host_pid(self, pidfd: int) -> int | None:
        return pid_of(self.procfd, pidfd)

    def _run_tests(self, job: dict) -> None:
        n = len(job["inputs"])
        start = 0
        while start < n:
            payload = {"kind": job["kind"], "code": job["code"], "fn_name": job.get("fn_name"),
                       "output_limit": job["output_limit"], "start": start}
            child = self._child(payload, job, n - start).attach()
            try:
                start, stop = self._supervise(job, child, start)
            finally:
                child.finish()
            if stop:
                break

    def _stopped(self, job: dict) -> bool:
        """Whether the controller asked to stop this job (its verdict is known)."""
        command = read_frame(CMD_FD, MAX_HEADER, 0)
        if command is None:  # the controller is gone
            raise SystemExit(0)
        return command[0].get("op") == "stop" and command[0].get("job") == job["id"]

    def _supervise(self, job: dict, child: Child, start: int) -> tuple[int, bool]:
        """Run tests start.. on one process; returns (next test to run, stop the job)."""
        n, limit, fail_fast = len(job["inputs"]), job["time_limit"], job["fail_fast"]
        wall_cap = WALL_FACTOR * limit + WALL_EXTRA_S
        i, running = start, False
        deadline = time.monotonic() + STARTUP_GRACE_S
        cpu0 = wall0 = 0.0

        def begin(k: int) -> None:
            nonlocal cpu0, wall0
            cpu0, wall0 = child.cpu(), time.monotonic()  # before `go`: the test may start at once on another core
            if not child.go(k, job["inputs"][k].encode("utf-8", "surrogateescape")):
                raise ProtocolViolation("the program closed or flooded its command pipe")

        def lost(status: str, error: str) -> tuple[int, bool]:
            child.kill()
            self._report(job, child, i, status, error, child.cpu() - cpu0 if running else 0.0,
                         time.monotonic() - wall0 if running else 0.0, lost=True)
            return i + 1, fail_fast and status != "ok"

        try:
            while True:
                now = time.monotonic()
                if running:
                    used = child.cpu() - cpu0
                    if used > limit:
                        return lost("timeout", f"CPU time limit {limit:g} s exceeded")
                    if now - wall0 > wall_cap:
                        return lost("timeout", f"wall-clock limit {wall_cap:g} s exceeded (the program used "
                                               f"{used:.2f} s of CPU: it slept or waited)")
                    timeout = min(wall0 + wall_cap - now, max(MIN_POLL_S, min(MAX_POLL_S, (limit - used) / _CORES)))
                else:
                    if now > deadline:
                        return lost("timeout", f"compiling the program took over {STARTUP_GRACE_S:g} s")
                    timeout = deadline - now
                ready, _, _ = select.select([child.res_r, CMD_FD], [], [], max(timeout, 0))
                if CMD_FD in ready and self._stopped(job):
                    return n, True
                if child.res_r not in ready:
                    continue
                for header, body in child.read():
                    if not running:
                        if header == {"ready": True}:
                            running = True
                            begin(i)
                            continue
                        result = _result(header, i)
                        if result and result[0] == "syntax_error":
                            self._report(job, child, i, *result, 0.0, 0.0, body=b"")
                            return n, True
                        raise ProtocolViolation("unexpected frame before the program started")
                    result = _result(header, i)
                    if result is None or result[0] == "syntax_error":
                        raise ProtocolViolation("unexpected frame")
                    status, error = result
                    cpu, wall = child.cpu() - cpu0, time.monotonic() - wall0
                    if cpu > limit:
                        status, error = "timeout", f"CPU time limit {limit:g} s exceeded ({cpu:.2f} s)"
                    report = self._result_frame(job, child, i, status, error, cpu, wall, body=body)
                    i += 1
                    last = i >= n or (fail_fast and status != "ok")
                    if not last:
                        try:
                            begin(i)  # the next test starts while we relay this one
                        finally:
                            write_frame(RES_FD, *report)
                    else:
                        write_frame(RES_FD, *report)
                    if last:
                        return n, status != "ok" and fail_fast
                if child.eof:  # it exited or died before reporting test i
                    code = child.reap()
                    status, error = _exit_status(code)
                    if not running and status == "ok":
                        status, error = "error", "the sandboxed process ended before the program started"
                    return lost(status, error)
        except ProtocolViolation as e:
            return lost("error", f"protocol violation: {e}")

    def _run_assert(self, job: dict) -> None:
        """The program and the test code in two processes; the test process's frame is the result."""
        t2s_r, t2s_w = os.pipe()
        s2t_r, s2t_w = os.pipe()
        common = {"output_limit": job["output_limit"]}
        try:
            solution = self._child({"kind": "solution", "code": job["code"], "imports": job.get("imports", ""), **common},
                                   job, 1, extra_fds=[t2s_r, s2t_w])
        except BaseException:
            for fd in (s2t_r, t2s_w):
                os.close(fd)
            raise
        try:
            tests = self._child({"kind": "tests", "code": job["test_code"], "entry": job.get("fn_name"), **common}, job, 1,
                                extra_fds=[s2t_r, t2s_w], cwd=fsroot.SANDBOX_DIR if self.private_root else "/")
        except BaseException:
            solution.finish()
            raise
        try:
            solution.attach()
            tests.attach()
            self._supervise_assert(job, solution, tests)
        finally:
            tests.finish()
            solution.finish()

    def _supervise_assert(self, job: dict, solution: Child, tests: Child) -> None:
        limit = job["time_limit"]
        wall_cap = WALL_FACTOR * limit + WALL_EXTRA_S
        ready: set[int] = set()
        deadline = time.monotonic() + STARTUP_GRACE_S
        running, cpu0, wall0 = False, 0.0, 0.0
        cpu = lambda: solution.cpu() + tests.cpu()  # noqa: E731 - both count, as in one process

        def report(status: str, error: str, who: Child) -> None:
            self._report(job, who, 0, status, error, cpu() - cpu0 if running else 0.0,
                         time.monotonic() - wall0 if running else 0.0, body=b"", stderr_from=solution)

        while True:
            now = time.monotonic()
            if running:
                used = cpu() - cpu0
                if used > limit:
                    return report("timeout", f"CPU time limit {limit:g} s exceeded", solution)
                if now - wall0 > wall_cap:
                    return report("timeout", f"wall-clock limit {wall_cap:g} s exceeded (CPU {used:.2f} s: "
                                             "the program slept or waited)", solution)
                timeout = min(wall0 + wall_cap - now, max(MIN_POLL_S, min(MAX_POLL_S, (limit - used) / _CORES)))
            else:
                if now > deadline:
                    return report("timeout", f"compiling took over {STARTUP_GRACE_S:g} s", solution)
                timeout = deadline - now
            watched = [c.res_r for c in (solution, tests) if not c.eof]
            readable, _, _ = select.select(watched, [], [], max(timeout, 0))
            for who in (solution, tests):
                if who.res_r not in readable:
                    continue
                try:
                    frames = who.read()
                except ProtocolViolation as e:
                    return report("error", f"protocol violation: {e}", who)
                for header, body in frames:
                    if not running and header == {"ready": True} and id(who) not in ready:
                        ready.add(id(who))
                        if len(ready) == 2:
                            running = True
                            cpu0, wall0 = cpu(), time.monotonic()
                            if not (solution.go(0, b"") and tests.go(0, b"")):
                                return report("error", "protocol violation: a command pipe was closed", solution)
                        continue
                    result = _result(header, 0)
                    if who is solution:
                        if result and result[0] == "syntax_error" and not running:
                            return report(*result, solution)
                        return report("error", "protocol violation: the program wrote on the result channel", solution)
                    if result is None or (running and result[0] == "syntax_error"):
                        return report("error", "protocol violation: unexpected frame from the test process", tests)
                    if result[0] == "syntax_error":
                        return report("error", f"the test code does not compile: {result[1]}", tests)
                    status, error = result
                    if cpu() - cpu0 > limit:
                        status, error = "timeout", f"CPU time limit {limit:g} s exceeded"
                    return report(status, error, tests)
            if tests.eof:
                status, error = _exit_status(tests.reap())
                if status == "ok":
                    status, error = "error", "the test process ended without a result"
                return report(status, f"{error} (test process)", tests)
            if solution.eof and not running:
                status, error = _exit_status(solution.reap())
                return report("error" if status == "ok" else status, f"the program ended before the tests: {error}", solution)

    def _report(self, job, child: Child, i, status, error, cpu, wall, body=b"", lost=False, stderr_from=None) -> None:
        write_frame(RES_FD, *self._result_frame(job, child, i, status, error, cpu, wall, body, lost, stderr_from))

    def _result_frame(self, job, child: Child, i, status, error, cpu, wall, body=b"", lost=False,
                      stderr_from=None) -> tuple[dict, bytes]:
        """A test's result for the controller, read from the process's memfds now
        (before its next test truncates them)."""
        if job["kind"] == "stdin" and (lost or status != "syntax_error"):
            size = child.stdout_size()
            body = child.stdout(min(size, job["output_limit"]))
            if status == "ok" and size >= job["output_limit"]:
                status, error = "output_limit", "output limit exceeded"
        header = {"i": i, "status": status, "error": error[:1000], "cpu": round(max(cpu, 0.0), 6),
                  "wall": round(max(wall, 0.0), 6), "stderr": (stderr_from or child).stderr_tail() if status != "ok" else ""}
        return header, body


class Child:
    """The worker's side of one sandboxed process: its pipes, memfds, pid and CPU clock."""

    def __init__(self, worker: Worker, payload: dict, spec: dict, output_limit: int, extra_fds: list[int]):
        self.worker = worker
        self.stdin, self.out, self.err = (os.memfd_create(name) for name in ("stdin", "stdout", "stderr"))
        cmd_r, self.cmd_w = os.pipe()
        self.res_r, res_w = os.pipe()
        _fill(self.stdin, orjson.dumps(payload))
        fds = [cmd_r, res_w, os.dup(self.stdin), os.dup(self.out), os.dup(self.err), *extra_fds]
        self.pidfd = -1
        try:
            worker.zygote.request(spec, fds)
        except BaseException:
            for fd in (self.stdin, self.out, self.err, self.cmd_w, self.res_r):
                os.close(fd)
            raise
        os.set_blocking(self.cmd_w, False)
        os.set_blocking(self.res_r, False)
        self.reader = FrameReader(MAX_HEADER, output_limit + 65536)
        self.eof = False
        self._cpu = 0.0
        self._status: int | None = None

    def attach(self) -> Child:
        """Wait for the zygote's answer: the process's pid and pidfd."""
        self.nspid, self.pidfd = self.worker.zygote.collect()
        self.pid = self.worker.host_pid(self.pidfd)
        # The process's CPU-time clock (all its threads); none for one already gone (its
        # results pipe is at EOF, so the test is reported as the crash it was).
        self._clock = (~self.pid << 3) | 2 if self.pid is not None else None
        return self

    def cpu(self) -> float:
        """CPU seconds used so far (the last reading once the process is gone)."""
        if not self.eof and self._status is None and self._clock is not None:
            try:
                self._cpu = time.clock_gettime(self._clock)
            except OSError:
                pass
        return self._cpu

    def go(self, i: int, data: bytes) -> bool:
        """Put test i's input in place and tell the process to run it."""
        _fill(self.stdin, data)
        frame = _encode_go(i)
        try:
            return os.write(self.cmd_w, frame) == len(frame)
        except (BlockingIOError, BrokenPipeError):
            return False

    def read(self) -> list[tuple[dict, bytes]]:
        frames = []
        while True:
            try:
                data = os.read(self.res_r, 1 << 20)
            except BlockingIOError:
                return frames
            if not data:
                self.cpu()
                self.eof = True
                return frames
            try:
                frames.extend(self.reader.feed(data))
            except FrameError as e:
                raise ProtocolViolation(str(e)) from None

    def stdout_size(self) -> int:
        return os.fstat(self.out).st_size

    def stdout(self, n: int) -> bytes:
        return os.pread(self.out, n, 0)

    def stderr_tail(self, n: int = 2000) -> str:
        size = os.fstat(self.err).st_size
        return os.pread(self.err, min(size, n), max(0, size - n)).decode("utf-8", "replace")

    def kill(self) -> None:
        if self._status is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except OSError:
                pass

    def reap(self) -> int:
        """Kill (if still running) and reap; returns the wait status."""
        if self._status is None:
            self.cpu()
            if not self.eof:
                self.kill()
            status = self.worker.zygote.exit_status(self.nspid, timeout=10)
            if status is None:
                raise ZygoteGone("the zygote did not report a child's exit")
            self._status = status
        return self._status

    def finish(self) -> None:
        """Kill it and hand it to the worker to be waited for before the next
        process starts (`Worker._settle_ended`): its exit, which frees its memory,
        overlaps with relaying its results. Its exit status is not needed."""
        if self.pidfd == -1 and self._status is None:  # requested, never attached: attach to end it
            self.attach()
        if self.pidfd < 0:
            return
        self.cpu()
        self.kill()
        if self._status is not None:  # reaped already (its status was needed)
            self.close()
        else:
            self.worker.ending.append(self)

    def wait_ended(self, timeout: float = 10) -> None:
        ended, _, _ = select.select([self.pidfd], [], [], timeout)
        if not ended:
            raise ZygoteGone("a sandboxed process did not end after SIGKILL")
        self.worker.zygote.forget(self.nspid)
        self.close()

    def close(self) -> None:
        if self.pidfd >= 0:
            for fd in (self.stdin, self.out, self.err, self.cmd_w, self.res_r, self.pidfd):
                os.close(fd)
            self.pidfd = -2  # closed


# --- small helpers ------------------------------------------------------------

def _encode_go(i: int) -> bytes:
    return encode({"op": "go", "i": i})


def _fill(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    view, offset = memoryview(data), 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset)


def _result(header: dict, i: int) -> tuple[str, str] | None:
    """(status, error) of a well-formed result frame for test i, else None."""
    if type(header.get("i")) is not int or header["i"] != i:
        return None
    status, error = header.get("status"), header.get("error", "")
    if type(status) is not str or status not in STATUSES or type(error) is not str:
        return None
    return status, error


_CORES = os.cpu_count() or 1  # a process's threads use at most this much CPU per wall second


def _close_all_but(keep: list[int]) -> None:
    low = 0
    for fd in sorted(set(keep)):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _exit_status(status: int) -> tuple[str, str]:
    """How a process that sent no frame for its test ended."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", "CPU time limit exceeded"
        return "error", f"killed by {signal.Signals(sig).name}" if sig in signal.Signals._value2member_map_ else f"killed by signal {sig}"
    code = os.WEXITSTATUS(status)
    if code == SETUP_FAILED:
        return "error", "sandbox setup failed (see stderr)"
    if code == HARNESS_BROKEN:
        return "error", "the program broke the test harness (see stderr)"
    return ("ok", "") if code == 0 else ("error", f"exit code {code}")


def _clean_host_scratch(path: str) -> None:
    """Without a private root: empty the scratch folder on the host. Never
    follows a link (lstat decides, and the program is dead, so nothing races);
    iterative, so depth cannot exhaust the stack or descriptors."""
    import stat

    os.chmod(path, 0o700)
    stack = [(os.path.join(path, name), False) for name in os.listdir(path)]
    while stack:
        entry, emptied = stack.pop()
        try:
            mode = os.lstat(entry).st_mode
            if not stat.S_ISDIR(mode):
                os.unlink(entry)
            elif emptied:
                os.rmdir(entry)
            else:
                os.chmod(entry, 0o700)
                stack.append((entry, True))
                stack.extend((os.path.join(entry, name), False) for name in os.listdir(entry))
        except FileNotFoundError:
            pass
    if os.listdir(path):
        raise OSError(f"could not empty the scratch folder {path}")


def main() -> None:
    # Our stdout is the result pipe: anything printed by accident must not corrupt it.
    sys.stdout = sys.stderr
    config_frame = read_frame(CMD_FD, MAX_HEADER, 16 * 2**20)
    if config_frame is None:
        return
    config = json.loads(config_frame[1])
    worker = Worker(config)
    import threading

    # layers.fork skips the interpreter's after-fork hooks: safe only while
    # this process has a single thread.
    assert threading.active_count() == 1, "the sandbox worker must stay single-threaded"
    write_frame(RES_FD, {"ready": True, "layers": worker.active, "missing": worker.missing})
    try:
        while True:
            frame = read_frame(CMD_FD, MAX_HEADER, 1 << 31)
            if frame is None:
                return
            header, body = frame
            if header.get("op") == "job":
                worker.run_job(orjson.loads(body))
    except (OSError, ZygoteGone, FrameError, ValueError, KeyError) as e:
        # One line for the log; the controller sees us exit and starts a new worker.
        print(f"mc sandbox worker {os.getpid()}: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
