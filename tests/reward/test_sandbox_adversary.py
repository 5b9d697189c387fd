"""A policy under RL as the judge's adversary: one test per class of the attack review.

Each class is closed at its root (see mc/reward/sandbox/__init__.py for the
invariants); these programs are new ones of each class, not the review's
examples. Limits are set first (2 s CPU per test, 512 MiB, 8 MiB output),
nothing leaves loopback, and every test also checks that later samples and
the workers are unaffected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from helpers import REPO
from reward_helpers import assert_problem, functional_problem, judge, stdin_problem
from mc.reward.sandbox.pool import Sandbox

ECHO = stdin_problem([("", "ok\n")])


@pytest.fixture()
def lone():
    """One worker, so consecutive samples are known to share it."""
    with Sandbox(workers=1) as sb:
        yield sb


def got(result) -> str:
    return (result.get("feedback") or {}).get("got", "")


def follow_up_is_clean(sandbox) -> None:
    """What the next sample on each worker sees: an empty scratch, full limits, a working interpreter."""
    probe = (
        "import os, resource, sys\n"
        "x = bytearray(200 * 2**20)\n"  # the memory limit was not lowered
        "print(sorted(os.listdir('.')), oct(os.stat('.').st_mode & 0o777), os.listxattr('.'),\n"
        "      resource.getrlimit(resource.RLIMIT_NOFILE)[0], os.getpriority(os.PRIO_PROCESS, 0))"
    )
    clean = stdin_problem([("", "[] 0o700 [] 128 0\n")])
    for _ in range(sandbox.size):
        result = judge(sandbox, clean, probe)
        assert result["verdict"] == "pass", result


# --- 1. assert tests cannot be skipped or bent from inside the solution --------------
# (Asserts of these shapes were still evaluated next to the program before: `math.isclose`,
# chained and `in` comparisons, builtins applied to the result.)

CHECKS = assert_problem("import math\nassert math.isclose(add(0.1, 0.2), 0.3)\nassert 3 < add(2, 2) < 5\n", "add")
BENT = assert_problem("import math\nassert abs(add(-5, 2)) == 3\nassert math.isclose(add(0.1, 0.2), 0.3)\n"
                      "assert sorted([add(2, 2), 1]) == [1, 4]\n", "add")
EQUAL = assert_problem("assert add(1, 2) in [3]\nassert add(1, 2) == add(2, 1) == 3\n", "add")
SKIP_LINES = """
import sys
def skip(frame, event, arg):
    if event == 'line':
        try:
            frame.f_lineno = frame.f_lineno + 1
        except ValueError:
            pass
    return skip
sys.settrace(lambda frame, event, arg: skip)
sys._getframe().f_trace = skip
"""


@pytest.mark.parametrize("code", [
    "def add(a, b):\n    return 0\nimport sys\nsys.exit()",
    "def add(a, b):\n    return 0\nquit()",
    "def add(a, b):\n    return 0\nimport os\nos._exit(0)",
    "def add(a, b):\n    return 0\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "def add(a, b):\n    import os\n    os._exit(0)",  # leaves during the first call
    "def add(a, b):\n    raise SystemExit(0)",
    "def add(a, b):\n    import os\n    os.close(105)\n    return 0",  # cuts its call pipe
    "import threading, os\ndef add(a, b):\n    return 0\nthreading.Timer(0.01, lambda: os._exit(0)).start()",
    "def add(a, b):\n    return 0\n" + SKIP_LINES,
], ids=["sys.exit", "quit", "os._exit", "sigkill-self", "os._exit-in-call", "SystemExit-in-call", "close-call-pipe",
        "timer-exit", "tracer-skips-lines"])
def test_ending_the_program_never_skips_the_asserts(sandbox, code):
    result = judge(sandbox, CHECKS, code)
    assert result["verdict"] in ("runtime_error", "wrong_answer", "timeout"), result


@pytest.mark.parametrize("problem, code", [
    # rebinding what the test code uses
    (BENT, "abs = lambda x: 3\nsorted = lambda x: [1, 4]\nimport math\nmath.isclose = lambda *a, **k: True\n"
           "def add(a, b):\n    return 0"),
    (BENT, "import builtins, math\nbuiltins.abs = lambda x: 3\nbuiltins.sorted = lambda x: [1, 4]\n"
           "math.isclose = lambda *a, **k: True\ndef add(a, b):\n    return 0"),
    (BENT, "import sys, types, builtins\nfake = types.ModuleType('math')\nfake.isclose = lambda *a, **k: True\n"
           "sys.modules['math'] = fake\nmath = fake\nbuiltins.abs = lambda x: 3\nbuiltins.sorted = lambda x: [1, 4]\n"
           "def add(a, b):\n    return 0"),
    (assert_problem("assert abs(add(-5, 2)) == 3\nassert sorted([add(2, 2), 1]) == [1, 4]\n", "add"),
     "abs = lambda x: 3\nsorted = lambda x: [1, 4]\ndef add(a, b):\n    return 0"),
    # a test that relies on the solution's `import math` gets the real math
    (assert_problem("assert math.isclose(add(0.1, 0.2), 0.3)\n", "add"),
     "import types\nmath = types.SimpleNamespace(isclose=lambda *a, **k: True)\ndef add(a, b):\n    return 0"),
    # answers that are equal to everything
    (EQUAL, "class Yes:\n    def __eq__(self, o): return True\n    __hash__ = None\ndef add(a, b):\n    return Yes()"),
    (EQUAL, "class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\ndef add(a, b):\n    return I(0)"),
    (EQUAL, "class S(str):\n    def __eq__(self, o): return True\n    __hash__ = str.__hash__\ndef add(a, b):\n    return S()"),
    # the comparison machinery itself
    (EQUAL, "import builtins\nclass AnyList(list):\n    def __contains__(self, x): return True\n"
            "builtins.list = AnyList\ndef add(a, b):\n    return 0"),
], ids=["shadow-builtins", "patch-builtins-and-math", "fake-math-module", "shadow-builtins-only",
        "shadow-a-module-the-test-uses", "always-equal", "int-subclass",
        "str-subclass", "patched-containers"])
def test_asserts_cannot_be_bent(sandbox, problem, code):
    result = judge(sandbox, problem, code)
    assert result["verdict"] in ("wrong_answer", "runtime_error"), result


def test_test_code_never_enters_the_program(sandbox):
    """The program looks for the test's expected value everywhere it can reach (its
    objects, its job, its descriptors): it is in another process."""
    secret = "7f3a9-EXPECTED-c41b"
    problem = assert_problem(f"assert f() == {secret[::-1]!r}[::-1]\n", "f")
    code = (
        "import gc, os\n"
        "WANT = 'DEPXE-'[::-1] + 'CTED-'\n"
        "def f():\n"
        "    seen = []\n"
        "    for obj in gc.get_objects():\n"
        "        text = str(obj)[:2000] if isinstance(obj, (str, bytes, dict)) else ''\n"
        "        if 'EXPECTED' in text:\n"
        "            seen.append(text)\n"
        "    for fd in range(200):\n"
        "        try:\n"
        "            seen.append(os.pread(fd, 1 << 20, 0).decode(errors='replace'))\n"
        "        except OSError:\n"
        "            pass\n"
        "    found = [s for s in seen if '-EXPECTED-' in s and 'WANT' not in s]\n"
        "    return found[0].split('-EXPECTED-')[0][-5:] + '-EXPECTED-' + found[0].split('-EXPECTED-')[1][:4] if found else 'none'\n"
    )
    result = judge(sandbox, problem, code)
    assert result["verdict"] == "wrong_answer" and "'none'" in result["feedback"]["error"], result


def test_functions_mutating_their_arguments_and_program_classes(sandbox):
    """What the shared-process harness allows and honest solutions use still works across processes."""
    problem = assert_problem(
        "xs = [3, 1, 2]\nsort_in_place(xs)\nassert xs == [1, 2, 3]\n"
        "p = Pair(1, 2)\np.b = 5\nassert total([p, Pair(3, 4)]) == 13 and p.b == 5\n"
        "assert list(evens(6)) == [0, 2, 4]\nassert Counter('aab') == {'a': 2, 'b': 1}\n", "sort_in_place")
    code = (
        "from collections import Counter\n"
        "def sort_in_place(xs):\n    xs.sort()\n"
        "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
        "def total(pairs):\n    return sum(p.a + p.b for p in pairs)\n"
        "def evens(n):\n    yield from range(0, n, 2)\n"
    )
    result = judge(sandbox, problem, code)
    assert result["verdict"] == "pass", result


# --- 2. the program cannot reset or borrow its clock ---------------------------------

SLOW_THREE = stdin_problem([("1\n", "1\n"), ("2\n", "2\n"), ("3\n", "3\n")], time_limit=0.5)


def busy(seconds: float) -> str:
    return f"import time\n_end = time.process_time() + {seconds}\nwhile time.process_time() < _end:\n    pass\n"


@pytest.mark.parametrize("code", [
    # forged "ready" and result frames on the harness's channel while computing
    busy(0.2) + "import os, struct, json\n"
    "def frame(h):\n    head = json.dumps(h).encode()\n    return struct.pack('>II', len(head), 0) + head\n"
    "for _ in range(6):\n    os.write(101, frame({'ready': True}))\n" + busy(0.25).replace("import time\n", "import time\n", 1) +
    "print(input())",
    # exit after every test: a fresh process (and, before, a fresh grace period) per test
    busy(1.2) + "import os, sys\nprint(input())\nsys.stdout.flush()\nos._exit(0)",
    # ignore the kernel's CPU signal and the usual termination signals
    "import signal\nfor s in (signal.SIGXCPU, signal.SIGTERM, signal.SIGALRM):\n    signal.signal(s, signal.SIG_IGN)\n"
    + busy(1.5) + "print(input())",
    # spread the work over threads (CPU time counts every thread)
    "import threading\nts = [threading.Thread(target=lambda: exec(" + repr(busy(0.4).replace("process_time", "thread_time"))
    + ")) for _ in range(3)]\n"
    "[t.start() for t in ts]\n[t.join() for t in ts]\nprint(input())",
], ids=["forged-frames", "exit-each-test", "ignore-signals", "threads"])
def test_slow_programs_cannot_reset_the_clock(sandbox, code):
    result = judge(sandbox, SLOW_THREE, code, all_tests=True, reward="fraction")
    assert result["verdict"] in ("timeout", "runtime_error"), result
    assert result["tests_passed"] < 3


def test_later_inputs_arrive_only_when_their_test_starts(sandbox):
    """A program cannot precompute: at test 1, test 2's input is nowhere in the process."""
    problem = stdin_problem([("first\n", "first\n"), ("second-unique-input\n", "x\n")])
    code = (
        "import gc, os\n"
        "line = input()\n"
        "seen = any('second-unique' in str(o)[:10000] for o in gc.get_objects() if isinstance(o, (str, bytes, dict, list)))\n"
        "for fd in range(200):\n"
        "    try:\n"
        "        seen = seen or b'second-unique' in os.pread(fd, 1 << 20, 0)\n"
        "    except OSError:\n"
        "        pass\n"
        "print(line if not seen else 'LEAKED')\n"
    )
    result = judge(sandbox, problem, code, all_tests=True, reward="fraction")
    assert result["accepted_by"][0] == "exact", result


# --- 3. a process never inherits what the worker held -----------------------------------

SCAN = r'''
import ctypes, hashlib, os
PREFIX = b"MCLEAK"
WANT = {want!r}
KEEP = ("x" * 100000, bytearray(300000), [0] * 10, {{}})  # anchors, allocated before anything is freed
def regions():
    # Probe pages around live objects: the kernel copies through os.write and
    # answers EFAULT for unmapped memory instead of crashing us.
    fd = os.open("probe", os.O_RDWR | os.O_CREAT, 0o600)
    anchors = {{id(x) & ~0xFFFF for x in (os, ctypes, hashlib, PREFIX, *KEEP)}}
    for base in sorted(anchors):
        for offset in range(-64 << 20, 64 << 20, 1 << 16):
            addr = base + offset
            if addr <= 0:
                continue
            view = (ctypes.c_char * (1 << 16)).from_address(addr)
            try:
                os.pwrite(fd, memoryview(view), 0)
            except OSError:
                continue
            yield os.pread(fd, 1 << 16, 0)
def scan():
    for chunk in regions():
        at = chunk.find(PREFIX)
        while at >= 0:
            if hashlib.sha256(chunk[at:at + 16]).hexdigest() == WANT:
                return True
            at = chunk.find(PREFIX, at + 1)
    return False
'''


def test_freed_memory_of_earlier_samples_is_not_inherited(lone):
    import hashlib
    import secrets

    marker = b"MCLEAK" + secrets.token_hex(5).encode()  # 16 bytes
    want = hashlib.sha256(marker).hexdigest()
    scanner = SCAN.format(want=want)
    # Positive control: the scanner finds the marker in memory its own process freed.
    # (a guard allocation after it keeps the freed block from merging into the heap's top, where the next
    # allocation would overwrite it)
    control = scanner + (f"junk = bytes.fromhex({marker.hex()!r}) * 1000\nguard = bytearray(4096)\ndel junk\n"
                         "print('found' if scan() else 'missed')")
    assert got(judge(lone, ECHO, control, time_s=20)).strip() == "found"
    # An earlier sample whose code holds the marker (and prints it), on the same worker.
    judge(lone, ECHO, f"SECRET = {marker.decode()!r}\nprint(SECRET * 100)")
    later = judge(lone, ECHO, scanner + "print('found' if scan() else 'missed')", time_s=20)
    assert got(later).strip() == "missed"


# --- 4. and 7. nothing outlives a job ----------------------------------------------------

def test_no_kernel_object_or_file_outlives_a_job(lone, tmp_path):
    plant = r'''
import ctypes, fcntl, os
libc = ctypes.CDLL(None, use_errno=True)
denied = []
def attempt(name, fn):
    try:
        ok = fn()
        if ok is not None and ok < 0:
            denied.append(name)
    except OSError:
        denied.append(name)
attempt("shm", lambda: libc.syscall(29, 0x4d43, 1 << 20, 0o1000 | 0o666))   # shmget
attempt("sem", lambda: libc.syscall(64, 0x4d43, 1, 0o1000 | 0o666))         # semget
attempt("msg", lambda: libc.syscall(68, 0x4d43, 0o1000 | 0o666))            # msgget
attempt("mq", lambda: libc.syscall(240, b"mcq", 0o100 | 2, 0o666, None))     # mq_open
attempt("memfd", lambda: os.memfd_create("keep"))
attempt("flock", lambda: fcntl.flock(os.open(os.__file__, os.O_RDONLY), fcntl.LOCK_EX))
attempt("lockf", lambda: fcntl.lockf(os.open("f", os.O_RDWR | os.O_CREAT), fcntl.LOCK_EX))
os.makedirs("collections_shadow/heapq", exist_ok=True)
open("hashlib.py", "w").write("raise SystemExit('shadowed')")
open("fractions.py", "w").write("raise SystemExit('shadowed')")
d = "deep"
for _ in range(1100):
    os.mkdir(d)
    d = d + "/d"
os.symlink("/", "root-link")
os.setxattr(".", "user.mc", b"left behind")
os.chmod(".", 0)
print(sorted(denied))
'''
    result = judge(lone, ECHO, plant)
    assert got(result).strip() == str(sorted(["flock", "lockf", "memfd", "mq", "msg", "sem", "shm"])), result
    # The next sample finds none of it: no IPC key, an unshadowed import path, an empty folder.
    check = r'''
import ctypes, hashlib, os, fractions
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(29, 0x4d43, 0, 0), hashlib.sha256(b'').hexdigest()[:4], sorted(os.listdir('.')))
'''
    assert got(judge(lone, ECHO, check)).strip() == "-1 e3b0 []"
    follow_up_is_clean(lone)


def test_scratch_is_capped_in_size_and_files(sandbox):
    code = "import os\nfor i in range(10**6):\n    open(f'f{i}', 'wb').write(b'x' * 4096)"
    result = judge(sandbox, ECHO, code, time_s=10)
    assert result["verdict"] == "runtime_error" and "No space left" in result["feedback"]["error"], result
    follow_up_is_clean(sandbox)


# --- 6. the program cannot reach its worker ----------------------------------------------

def _process_state(pid: int) -> tuple:
    with open(f"/proc/{pid}/limits") as f:
        limits = f.read()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return limits, fields[16], fields[38], os.sched_getaffinity(pid), os.sched_getscheduler(pid)  # nice, policy


def _sandbox_processes(sandbox) -> list[int]:
    pids = []
    for worker in sandbox._all:
        pids.append(worker.proc.pid)
        with open(f"/proc/{worker.proc.pid}/task/{worker.proc.pid}/children") as f:
            pids += [int(p) for p in f.read().split()]  # its zygote
    return pids


def test_the_worker_and_zygote_are_out_of_reach(sandbox):
    pids = _sandbox_processes(sandbox)
    before = {pid: _process_state(pid) for pid in pids}
    code = f"""
import os, resource, ctypes
libc = ctypes.CDLL(None, use_errno=True)
for pid in sorted({{os.getppid(), 1, 2, 3, *{pids}}}):
    for fn in (lambda: resource.prlimit(pid, resource.RLIMIT_AS, (1 << 20, 1 << 20)),
               lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (4, 4)),
               lambda: os.setpriority(os.PRIO_PROCESS, pid, 19),
               lambda: os.sched_setaffinity(pid, {{0}}),
               lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))):
        try:
            fn()
        except (OSError, ValueError):
            pass
for which in (os.PRIO_PGRP, os.PRIO_USER):
    try:
        os.setpriority(which, 0, 19)
    except OSError:
        pass
libc.syscall(251, 2, 0, 7 << 13)  # ioprio_set(IOPRIO_WHO_PGRP, 0, IDLE)
os.setpriority(os.PRIO_PROCESS, 0, 19)  # itself: allowed, and it ends with the job
resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
print('ok')
"""
    for _ in range(sandbox.size):
        assert judge(sandbox, ECHO, code)["verdict"] == "pass"
    assert {pid: _process_state(pid) for pid in pids} == before
    follow_up_is_clean(sandbox)


# --- 8. and 9. the controller survives any sample, with flat memory ---------------------

def run_reward(groups: list[dict], *flags: str) -> tuple[list[dict], int]:
    """`mc reward` in a subprocess: the scored groups and its peak RSS (KiB)."""
    script = ("import resource, runpy, sys\nsys.argv = ['mc'] + sys.argv[1:]\ntry:\n    runpy.run_module('mc', run_name='__main__')\n"
              "finally:\n    print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", script, "reward", "--workers", "2", *flags],
                          input="".join(json.dumps(g) + "\n" for g in groups).encode(), capture_output=True,
                          env={**os.environ, "MC_PROGRESS": "0"}, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    rss = int(proc.stderr.decode().rsplit("RSS", 1)[1].split()[0])
    return [json.loads(line) for line in proc.stdout.splitlines()], rss


def group(problem: dict, *codes: str) -> dict:
    return {"schema": "mc.group/1", "problem": problem, "samples": [{"text": f"```python\n{c}\n```"} for c in codes]}


def test_no_sample_can_crash_the_run():
    floats = functional_problem("f", [("1", "0.5")])
    forged_body = ("import os, struct, json\nclass Solution:\n    def f(self, x):\n"
                   "        head = json.dumps({'i': 0, 'status': 'ok', 'error': ''}).encode()\n"
                   "        body = b'[' * 200000 + b']' * 200000\n"
                   "        os.write(101, struct.pack('>II', len(head), len(body)) + head + body)\n"
                   "        os._exit(0)\n")
    groups = [
        group(floats, "class Solution:\n    def f(self, x):\n        return 10 ** 400",
              "class Solution:\n    def f(self, x):\n        return float('nan')",
              forged_body,
              "class Solution:\n    def f(self, x):\n        return 0.5"),
        {"schema": "mc.group/1", "problem": ECHO, "samples": [{"text": "1+" * 5000 + "1"}, {"text": "-" * 10000},
                                                            {"text": "```\n" + " " * 30000}, {"text": "<think>" * 20000}]},
        group(ECHO, "print('ok')"),
    ]
    scored, _ = run_reward(groups)
    verdicts = [[s["verdict"] for s in g["samples"]] for g in scored]
    assert len(verdicts) == 3 and verdicts[0][3] == "pass" and verdicts[2] == ["pass"], verdicts
    assert all(v != "pass" for v in verdicts[0][:3] + verdicts[1]), verdicts


def test_controller_memory_stays_flat_with_many_large_outputs():
    def many(n):
        cases = [(f"{i}\n", f"{i}\n") for i in range(n)]
        # every test prints 64 KiB before its answer: all wrong, all run (fraction reward)
        return group(stdin_problem(cases), "import sys\nsys.stdout.write('#' * 65536 + '\\n')\nprint(input())")

    _, small = run_reward([many(100), many(100)], "--reward", "fraction")
    _, large = run_reward([many(2000), many(2000)], "--reward", "fraction")
    # 2 x 2000 x 64 KiB = 250 MiB of output passed through; none of it may stay.
    assert large - small < 64 * 1024, (small, large)


# --- 10. the pool survives malformed frames and interrupted jobs -------------------------

@pytest.mark.parametrize("frame", [
    {"i": 0, "status": ["ok"]}, {"i": "0", "status": "ok"}, {"i": 0, "status": "ok", "error": {"x": 1}},
    {"i": 1, "status": "ok"}, {"ready": True}, {"i": 0, "status": "syntax_error", "error": ""},
    {"i": 0, "status": "ok", "error": "e" * 70000}, {"i": 0, "status": {"ok": 1}}, {"i": 2**70, "status": "ok"},
])
def test_malformed_frames_are_the_programs_failure(sandbox, frame):
    code = (f"import os, struct, json\nhead = json.dumps({frame!r}).encode()\n"
            "os.write(101, struct.pack('>II', len(head), 0) + head)\nprint('ok')\nimport time\ntime.sleep(0.2)")
    result = judge(sandbox, ECHO, code)
    assert result["verdict"] == "runtime_error" and "protocol violation" in result["feedback"]["error"], result
    follow_up_is_clean(sandbox)


def test_an_interrupted_job_never_leaks_into_the_next(lone):
    problem = stdin_problem([(f"{i}\n", f"{i}\n") for i in range(50)])
    job = {"kind": "stdin", "code": "print(input())", "fn_name": None, "inputs": [c["input"] for c in problem["tests"]["cases"]],
           "time_limit": 2.0, "memory_mb": 256, "output_limit": 1 << 20, "fail_fast": False}

    def explode(run):
        raise RuntimeError("comparison failed")

    with pytest.raises(RuntimeError):
        lone.run(job, explode)
    other = {**job, "code": "print('other', input())", "inputs": ["a\n", "b\n"]}
    seen = []
    lone.run(other, lambda run: seen.append((run.i, bytes(run.stdout))) or True)
    assert seen == [(0, b"other a\n"), (1, b"other b\n")]


def test_no_sandbox_folders_are_left_behind(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    code = "import os\nd = 'x'\nfor _ in range(1100):\n    os.mkdir(d)\n    d += '/x'\nos.chmod('x', 0)\nprint('ok')"
    script = ("import sys\nsys.path[:0] = [sys.argv[1], sys.argv[1] + '/tests/reward']\n"
              "from reward_helpers import judge, stdin_problem\nfrom mc.reward.sandbox.pool import Sandbox\n"
              "with Sandbox(workers=2) as sb:\n    print(judge(sb, stdin_problem([('', 'ok\\n')]), sys.argv[2])['verdict'])\n")
    proc = subprocess.run([sys.executable, "-c", script, str(REPO), code], capture_output=True, env=env, timeout=120)
    assert proc.stdout.decode().strip() == "pass", proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()
    assert os.listdir(tmp_path) == []


# --- 11. nothing of the host can be read, listed, statted or watched ---------------------

def test_host_files_and_processes_are_invisible(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x" * 1234)
    os.chmod(tmp_path, 0o755)
    code = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
seen = []
for path in ({str(secret)!r}, {str(tmp_path)!r}, '/etc/passwd', '/proc/1/status', '/proc', '/sys', '/tmp', '/home',
             '/root', {str(REPO / 'README.md')!r}, '/dev/shm', '/run'):
    try:
        st = os.stat(path)
        seen.append((path, st.st_size))
    except OSError:
        pass
    try:
        seen.append((path, os.listdir(path)))
    except OSError:
        pass
seen.append(('inotify', libc.syscall(294, 0)))                    # inotify_init1
hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
caps = (ctypes.c_uint32 * 6)()
libc.syscall(125, hdr, caps)                                     # capget
seen.append(('caps', list(caps)))
alive = []
for pid in range(1, 4096):
    try:
        os.kill(pid, 0)
        alive.append(pid)
    except PermissionError:
        alive.append(pid)
    except ProcessLookupError:
        pass
seen.append(('pids', alive))
seen.append(('me', os.getpid()))
print(seen)
"""
    result = judge(sandbox, ECHO, code)
    shown = got(result)
    assert "1234" not in shown and "secret" not in shown and "root:" not in shown
    seen = eval(shown)  # noqa: S307 - our own program's repr of tuples and lists
    listed = {path: value for path, value in seen if isinstance(value, list) and path.startswith("/")}
    assert listed.get("/root", []) in ([], [".pyenv"]) and not {"/proc", "/sys", "/tmp", "/home"} & set(listed)
    assert dict(seen)["inotify"] == -1 and dict(seen)["caps"] == [0] * 6
    assert set(dict(seen)["pids"]) <= {1, dict(seen)["me"]}  # the zygote and the program itself; no host process


# --- 12. the verdict does not depend on how busy the machine is -------------------------

def test_verdicts_hold_on_saturated_cores(sandbox):
    hogs = [subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 60\nwhile time.time() < end:\n    pass"])
            for _ in range(2 * (os.cpu_count() or 1))]
    try:
        time.sleep(0.5)
        problem = stdin_problem([("", "ok\n")], time_limit=1.5)
        fits = judge(sandbox, problem, busy(0.6) + "print('ok')")
        too_slow = judge(sandbox, problem, busy(2.5) + "print('ok')")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert fits["verdict"] == "pass", fits
    assert fits["wall_time_s"] > fits["cpu_time_s"] >= 0.6  # it waited for a core, and that did not count
    assert too_slow["verdict"] == "timeout" and "CPU time limit" in too_slow["feedback"]["error"], too_slow


def test_a_process_gone_before_the_worker_looks_has_no_pid():
    """A program can die (and be reaped by the zygote) before the worker reads its pid:
    that is a crash to report, not a broken worker (seen once in the demo's eval)."""
    from mc.reward.sandbox.worker import pid_of

    procfd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    child = os.fork()
    if child == 0:
        os._exit(0)
    pidfd = os.pidfd_open(child)
    try:
        assert pid_of(procfd, pidfd) in (child, None)  # alive, or a zombie with its pid
        os.waitpid(child, 0)
        assert pid_of(procfd, pidfd) is None
    finally:
        os.close(pidfd)
        os.close(procfd)
