"""The controller side: a pool of sandbox workers, one job at a time each.

`Sandbox.run(job)` is thread-safe: it takes an idle worker, sends the job,
hands each per-test result to the caller's `on_test` as it arrives (which
returns False once the verdict is known, stopping the job), and keeps no
program output beyond that call, so memory stays flat however many tests or
samples run. A worker that dies or hangs is replaced and the job run once
more; a worker whose job was interrupted by the caller (an exception in
`on_test`) is replaced too, never handed to the next job mid-stream.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from mc.errors import McError, McUsageError
from mc.reward.sandbox import layers
from mc.reward.sandbox.protocol import FrameError, FrameReader, encode
from mc.reward.sandbox.worker import STARTUP_GRACE_S, WALL_EXTRA_S, WALL_FACTOR

ISOLATION_LEVELS = {
    # what each --isolation level requires of the kernel
    "full": {"namespaces", "root", "landlock", "seccomp"},
    "seccomp": {"seccomp"},
    "none": set(),
}
UID_BASE = 2_000_000_000
MAX_RESULT_HEADER = 64 * 1024


@dataclass
class Limits:
    time_s: float = 6.0  # per test, CPU time (a wall-clock cap of worker.WALL_FACTOR x this catches sleepers)
    memory_mb: int = 2048  # address space for the program, on top of the interpreter's
    output_mb: int = 32  # stdout per test

    @property
    def output_bytes(self) -> int:
        return int(self.output_mb * 2**20)


@dataclass
class TestRun:
    i: int
    status: str  # ok | error | timeout | memory | output_limit | syntax_error
    error: str = ""
    cpu: float = 0.0  # seconds of CPU the program used on this test (what the time limit applies to)
    wall: float = 0.0  # wall-clock seconds
    stdout: bytes = b""  # stdout (stdin problems) or the JSON return value (functional); only during on_test
    stderr: str = ""


@dataclass
class JobResult:
    tests: list[TestRun] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    wall: float = 0.0


class WorkerDied(Exception):
    pass


class WorkerProcess:
    _generations = itertools.count()

    def __init__(self, index: int, sandbox_root: str, read_paths: list[str]):
        self.index = index
        # A folder of its own for each worker ever started: a replaced worker's
        # leftovers (without a private root) never reach its successor.
        home = os.path.join(sandbox_root, f"w{index}-{next(self._generations)}")
        self.root, self.scratch = os.path.join(home, "root"), os.path.join(home, "scratch")
        for path in (home, self.root, self.scratch):
            os.makedirs(path, mode=0o711 if path != self.scratch else 0o700, exist_ok=True)
        self.uid = UID_BASE + (os.getpid() % 4_000_000) * 256 + index if os.getuid() == 0 else None
        if self.uid is not None:
            os.chown(self.scratch, self.uid, self.uid)
        self.read_paths = read_paths
        self.layers: list[str] = []
        self.missing: dict[str, str] = {}
        self._spawn()

    def _spawn(self) -> None:
        """Start the process and send its configuration; `wait_ready` collects
        its answer (so a pool starts all its workers at once)."""
        # The worker imports what we import, from where we import it (it starts
        # with -E -s, so PYTHONPATH and user site folders would not reach it).
        mc_root = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["mc"].__file__)))
        path = [mc_root] + [p for p in sys.path if p and os.path.isdir(p)]
        boot = f"import sys; sys.path[:0] = {path!r}; from mc.reward.sandbox.worker import main; main()"
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-E", "-s", "-c", boot],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env, cwd=self.root,
            start_new_session=True, close_fds=True,
        )
        config = {"uid": self.uid, "root": self.root, "scratch": self.scratch, "read_paths": self.read_paths}
        self._send(encode({"op": "config"}, json.dumps(config).encode()))
        self._fd = self.proc.stdout.fileno()
        self._reader = FrameReader(MAX_RESULT_HEADER, 1 << 31)  # the worker is trusted; it caps program output
        self._frames: list = []

    def wait_ready(self) -> WorkerProcess:
        header, _ = self._next_frame(deadline=time.monotonic() + 60)
        if not header.get("ready"):
            raise McError(f"sandbox worker failed to start: {header}")
        self.layers, self.missing = header["layers"], header["missing"]
        return self

    def _send(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise WorkerDied(f"worker {self.index}: {e}") from None

    def _next_frame(self, deadline: float) -> tuple[dict, bytes]:
        while not self._frames:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise WorkerDied(f"worker {self.index} stopped answering")
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                continue
            data = os.read(self._fd, 1 << 20)
            if not data:
                raise WorkerDied(f"worker {self.index} exited (code {self.proc.poll()})")
            try:
                self._frames.extend(self._reader.feed(data))
            except FrameError as e:
                raise WorkerDied(f"worker {self.index}: {e}") from None
        return self._frames.pop(0)

    def run(self, job: dict, on_test: Callable[[TestRun], bool] | None) -> JobResult:
        """The job's results; with `on_test`, each output lives only during its call."""
        result = JobResult(layers=list(self.layers))
        started = time.monotonic()
        n = len(job["inputs"])
        # What the worker itself allows each test (a fresh process's start-up, then the wall cap), and a margin.
        budget = (WALL_FACTOR * job["time_limit"] + WALL_EXTRA_S + STARTUP_GRACE_S + 1) * n + 30
        self._send(encode({"op": "job"}, orjson.dumps(job)))
        stopped = False
        while True:
            header, body = self._next_frame(started + budget)
            if "done" in header:
                break
            i = header.get("i")
            if type(i) is not int or not 0 <= i < n:
                raise WorkerDied(f"worker {self.index}: a result for test {i!r} of {n}")
            test = TestRun(i, str(header.get("status")), str(header.get("error", "")), float(header.get("cpu") or 0),
                           float(header.get("wall") or 0), body, str(header.get("stderr", "")))
            result.tests.append(test)
            if on_test is not None:
                if not stopped and on_test(test) is False:
                    stopped = True
                    self._send(encode({"op": "stop", "job": job["id"]}))
                test.stdout = b""
        result.wall = time.monotonic() - started
        return result

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


class Sandbox:
    """N workers; `run` blocks until one is free. Use as a context manager."""

    def __init__(self, workers: int | None = None, isolation: str = "full"):
        if isolation not in ISOLATION_LEVELS:
            raise McUsageError(f"--isolation must be one of: {', '.join(ISOLATION_LEVELS)}; got {isolation!r}")
        self.size = workers or os.cpu_count() or 1
        self.isolation = isolation
        self._root = tempfile.mkdtemp(prefix="mc-sandbox-")
        os.chmod(self._root, 0o711)
        self._read_paths = layers.python_read_paths()
        self._ids = itertools.count()
        self._idle: queue.Queue[WorkerProcess] = queue.Queue()
        self._all: list[WorkerProcess] = []
        self._lock = threading.Lock()
        try:
            self._all = [WorkerProcess(index, self._root, self._read_paths) for index in range(self.size)]
            for worker in self._all:
                self._idle.put(worker.wait_ready())
            self._check_isolation(self._all[0])
        except BaseException:
            self.close()
            raise

    @property
    def layers(self) -> list[str]:
        return list(self._all[0].layers)

    def _check_isolation(self, worker: WorkerProcess) -> None:
        active = set(worker.layers)
        have = set(active)
        if {"netns"} & active:
            have.add("namespaces")
        missing = sorted(ISOLATION_LEVELS[self.isolation] - have)
        if missing:
            reasons = "; ".join(f"{name}: {worker.missing.get(name, 'unavailable')}" for name in missing)
            raise McError(
                f"sandbox isolation '{self.isolation}' needs {', '.join(missing)}, which this machine lacks ({reasons})",
                "run where the kernel offers them, or lower the bar knowingly with --isolation seccomp|none",
            )

    def run(self, job: dict, on_test: Callable[[TestRun], bool] | None = None) -> JobResult:
        """Run a job on the next idle worker. A worker that dies under a job
        (killed from outside: programs cannot reach it) is replaced and the job
        runs again once; `on_test` then sees the re-run's results, by index.
        If `on_test` raises, the worker (mid-job) is replaced before the error
        propagates."""
        job = {**job, "id": next(self._ids)}
        worker = self._idle.get()
        try:
            for attempt in (1, 2):
                try:
                    return worker.run(job, on_test)
                except WorkerDied as e:
                    worker = self._replace(worker)
                    if attempt == 2:
                        result = JobResult(layers=worker.layers)
                        result.tests = [TestRun(0, "error", f"sandbox failure: {e}")]
                        return result
                except BaseException:
                    worker = self._replace(worker)
                    raise
            raise AssertionError("unreachable")
        finally:
            self._idle.put(worker)

    def _replace(self, dead: WorkerProcess) -> WorkerProcess:
        dead.kill()
        fresh = WorkerProcess(dead.index, self._root, self._read_paths).wait_ready()
        with self._lock:
            self._all[self._all.index(dead)] = fresh
        return fresh

    def close(self) -> None:
        for worker in self._all:
            worker.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
