"""What each sandbox layer added by the hardening costs, per sample or per test (microseconds).

Run by reward_bench.py in a process of its own (it enters a mount namespace to
time the scratch remount). Each figure is the median of many repetitions of
exactly the operation the worker performs:

- fork + reap of a worker-sized process: the cost that was there before (reference);
- zygote spawn: the extra round trip through the zygote (descriptors over a
  socket, a pidfd back, the exit reported), on top of the fork;
- fresh scratch: unmount and mount a tmpfs, once per sandboxed process;
- go frame: handing out one test (memfd write + one frame each way), per test;
- CPU clock read: one clock_gettime on the child's CPU clock, per test and per poll;
- seccomp load: the larger deny-list (and its BPF size), per process.

    python examples/bench/sandbox_layers.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from mc.reward.sandbox import fsroot, layers  # noqa: E402
from mc.reward.sandbox.protocol import encode, read_frame, write_frame  # noqa: E402
from mc.reward.sandbox.zygote import Zygote  # noqa: E402


def median_us(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def main() -> None:
    for name in "array bisect collections copy dataclasses datetime decimal enum fractions functools heapq io " \
                "itertools json math operator random re statistics string threading time typing unicodedata".split():
        __import__(name)  # the worker's pre-imports: forks copy this much
    figures = {}

    def fork_and_reap():
        pid = layers.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

    figures["fork + reap (reference)"] = median_us(fork_and_reap, 300)

    zygote = Zygote(lambda spec, fds: os._exit(0))

    def spawn_and_reap():
        r, w = os.pipe()
        pid, pidfd = zygote.spawn({}, [r, w])
        zygote.exit_status(pid, timeout=10)
        os.close(pidfd)

    figures["zygote spawn + reap"] = median_us(spawn_and_reap, 300)
    figures["  of which the zygote round trip"] = figures["zygote spawn + reap"] - figures["fork + reap (reference)"]

    try:
        layers._unshare(layers.CLONE_NEWNS)
        fsroot._mount(None, "/", None, fsroot.MS_REC | fsroot.MS_PRIVATE)
        scratch = "/tmp/mc-bench-scratch"
        os.makedirs(scratch, exist_ok=True)
        fsroot.SCRATCH = scratch  # the same operation on a folder of our own
        figures["fresh scratch (tmpfs remount)"] = median_us(lambda: fsroot.fresh_scratch(os.getuid(), 64, 4096), 300)
    except OSError as e:
        print(f"fresh scratch: not measured ({e})", file=sys.stderr)

    cmd_r, cmd_w = os.pipe()
    res_r, res_w = os.pipe()
    memfd = os.memfd_create("stdin")
    pid = layers.fork()
    if pid == 0:
        os.close(cmd_w)
        while True:
            frame = read_frame(cmd_r, 4096, 0)
            if frame is None:
                os._exit(0)
            os.pread(memfd, 64, 0)
            write_frame(res_w, {"i": frame[0]["i"], "status": "ok", "error": ""})
    clock = (~pid << 3) | 2

    def go_round_trip():
        os.ftruncate(memfd, 0)
        os.pwrite(memfd, b"1 2\n", 0)
        os.write(cmd_w, encode({"op": "go", "i": 0}))
        read_frame(res_r, 4096, 1 << 20)
        time.clock_gettime(clock)

    figures["go frame round trip (per test)"] = median_us(go_round_trip, 2000)
    figures["CPU clock read (per test, per poll)"] = median_us(lambda: time.clock_gettime(clock), 5000)
    os.close(cmd_w)
    os.waitpid(pid, 0)

    program = layers.compiled_seccomp_filter()
    instructions = len(program._program.raw) // 8

    def load_in_child():
        child = layers.fork()
        if child == 0:
            program.load()
            os._exit(0)
        os.waitpid(child, 0)

    figures[f"seccomp load ({instructions} BPF instructions), fork included"] = median_us(load_in_child, 300)
    figures["  of which the load"] = figures[f"seccomp load ({instructions} BPF instructions), fork included"] \
        - figures["fork + reap (reference)"]
    for name, value in figures.items():
        print(f"  {name:<55} {value:8.1f} us")


if __name__ == "__main__":
    main()
