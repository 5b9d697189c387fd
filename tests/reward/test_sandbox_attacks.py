"""Adversarial programs against the real sandbox (../shared/SANDBOX.md's list).

Every attack runs with limits set first (2 s per test, 512 MiB, 8 MiB output)
and targets loopback or files this test made. Each asserts containment (the
verdict is not pass), the host unchanged (canaries intact, nothing created
outside scratch, listeners untouched) and the parent and its workers alive.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time

import pytest

from reward_helpers import assert_problem, functional_problem, judge, stdin_problem

ANSWER = stdin_problem([("", "SECRET-ANSWER-7f3a9\n")])


@pytest.fixture()
def canary(tmp_path):
    """A world-writable folder with a file in it: only the sandbox layers protect them."""
    folder = tmp_path / "canary"
    folder.mkdir()
    os.chmod(tmp_path, 0o777)
    os.chmod(folder, 0o777)
    target = folder / "keep.txt"
    target.write_text("untouched")
    os.chmod(target, 0o666)
    return folder


def workers_alive(sandbox):
    return all(w.proc.poll() is None for w in sandbox._all)


SCRATCH_PROBE = stdin_problem([("", "[] 0o700\n")])


def scratch_empty(sandbox):
    """What the next sample on each worker finds in its folder: nothing, and the usual mode."""
    probe = "import os\nprint(sorted(os.listdir('.')), oct(os.stat('.').st_mode & 0o777))"
    return all(judge(sandbox, SCRATCH_PROBE, probe)["verdict"] == "pass" for _ in sandbox._all)


def contained(sandbox, result, allowed=None):
    assert result["verdict"] != "pass", result
    if allowed is not None:
        assert result["verdict"] in allowed, result
    assert workers_alive(sandbox)
    assert scratch_empty(sandbox)
    assert "landlock" in result["isolation"] and "seccomp" in result["isolation"]
    return result


def attack(sandbox, code, problem=ANSWER, **kw):
    return judge(sandbox, problem, code, **kw)


# --- files ----------------------------------------------------------------------

def test_write_and_delete_outside_scratch(sandbox, canary):
    code = f"""
import os
for path in ({str(canary / 'new.txt')!r}, '/tmp/mc-escape.txt', {str(canary / 'keep.txt')!r}):
    try:
        open(path, 'w').write('pwned')
    except OSError:
        pass
try:
    os.unlink({str(canary / 'keep.txt')!r})
except OSError:
    pass
try:
    os.rename({str(canary / 'keep.txt')!r}, 'stolen')
except OSError:
    pass
"""
    contained(sandbox, attack(sandbox, code), {"wrong_answer"})
    assert sorted(os.listdir(canary)) == ["keep.txt"]
    assert (canary / "keep.txt").read_text() == "untouched"
    assert not os.path.exists("/tmp/mc-escape.txt")


def test_symlink_and_hardlink_tricks(sandbox, canary):
    code = f"""
import os
target = {str(canary / 'keep.txt')!r}
for make in (os.symlink, os.link):
    try:
        make(target, 'alias')
        open('alias', 'w').write('pwned')
    except OSError as e:
        print(type(e).__name__)
    try:
        os.unlink('alias')
    except OSError:
        pass
try:
    os.symlink({str(canary)!r}, 'dir')
    open('dir/new.txt', 'w').write('pwned')
except OSError:
    pass
"""
    contained(sandbox, attack(sandbox, code), {"wrong_answer"})
    assert (canary / "keep.txt").read_text() == "untouched"
    assert sorted(os.listdir(canary)) == ["keep.txt"]


def test_sitecustomize_and_pth_into_site_packages(sandbox):
    site = sysconfig.get_paths()["purelib"]
    code = f"""
for name in ('sitecustomize.py', 'zz_mc_evil.pth'):
    try:
        open({site!r} + '/' + name, 'w').write('import os')
    except OSError:
        pass
"""
    contained(sandbox, attack(sandbox, code), {"wrong_answer"})
    assert not os.path.exists(os.path.join(site, "zz_mc_evil.pth"))
    assert not os.path.exists(os.path.join(site, "sitecustomize.py"))


def test_environment_and_secrets_are_out_of_reach(sandbox, tmp_path):
    os.environ["MC_TEST_SECRET"] = "hunter2-secret"
    keys = tmp_path / ".ssh"
    keys.mkdir()
    (keys / "id_rsa").write_text("PRIVATE KEY")
    os.chmod(tmp_path, 0o755)
    os.chmod(keys, 0o755)
    os.chmod(keys / "id_rsa", 0o644)
    data_file = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    code = f"""
import os
found = []
for path in ('/proc/self/environ', '/proc/%d/environ' % os.getppid(), '/proc/1/environ',
             {str(keys / 'id_rsa')!r}, {os.path.abspath(data_file)!r}, '/etc/shadow', '/etc/passwd'):
    try:
        found.append(open(path, 'rb').read()[:200])
    except OSError:
        found.append(b'denied')
print(repr(dict(os.environ)))
print(found)
"""
    result = attack(sandbox, code)
    contained(sandbox, result, {"wrong_answer"})
    got = result["feedback"]["got"]
    assert "hunter2-secret" not in got and "PRIVATE KEY" not in got and "# mc" not in got
    assert got.count("denied") == 7


# --- network --------------------------------------------------------------------

def test_tcp_udp_and_unix_sockets_on_loopback(sandbox, tmp_path):
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0mc-test-abstract")
    abstract.listen(1)
    abstract.setblocking(False)
    os.chmod(tmp_path, 0o777)
    path_sock = socket.socket(socket.AF_UNIX)
    path_sock.bind(str(tmp_path / "sock"))
    os.chmod(tmp_path / "sock", 0o777)
    path_sock.listen(1)
    path_sock.setblocking(False)
    code = f"""
import socket
results = []
def attempt(fn):
    try:
        fn()
        results.append('ok')
    except Exception as e:
        results.append(type(e).__name__)
attempt(lambda: socket.create_connection(('127.0.0.1', {tcp.getsockname()[1]}), timeout=1))
attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {udp.getsockname()[1]})))
attempt(lambda: socket.socket().bind(('0.0.0.0', 8765)))
attempt(lambda: socket.socket(socket.AF_UNIX).connect('\\0mc-test-abstract'))
attempt(lambda: socket.socket(socket.AF_UNIX).connect({str(tmp_path / 'sock')!r}))
attempt(lambda: socket.socketpair())
print(results)
"""
    result = contained(sandbox, attack(sandbox, code), {"wrong_answer"})
    assert "ok" not in result["feedback"]["got"]
    for listener in (tcp, abstract, path_sock):
        with pytest.raises(BlockingIOError):
            listener.accept()
    with pytest.raises(BlockingIOError):
        udp.recvfrom(10)


# --- processes ------------------------------------------------------------------

def test_fork_bomb_daemon_and_exec(sandbox):
    code = """
import os, subprocess
for fn in (os.fork, lambda: subprocess.run(['/bin/true']), lambda: os.execv('/bin/sh', ['sh']),
           lambda: os.posix_spawn('/bin/true', ['true'], {})):
    try:
        fn()
    except OSError as e:
        print('denied', e.errno)
while True:
    os.fork()
"""
    contained(sandbox, attack(sandbox, code), {"runtime_error"})


def test_thread_bomb(sandbox):
    code = """
import threading, time
threads = []
while True:
    t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
    t.start()
    threads.append(t)
"""
    contained(sandbox, attack(sandbox, code), {"runtime_error", "memory", "timeout"})


@pytest.fixture()
def bystander():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_killing_parent_siblings_and_everyone(sandbox, bystander):
    worker_pids = [w.proc.pid for w in sandbox._all]
    code = f"""
import os, signal
for pid in [os.getppid(), {bystander.pid}, {os.getpid()}, *{worker_pids}, 1]:
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
        try:
            os.kill(pid, sig)
        except OSError:
            pass
for target in (-1, -{os.getpgid(0)}):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
"""
    contained(sandbox, attack(sandbox, code), {"wrong_answer"})
    assert bystander.poll() is None
    assert workers_alive(sandbox)


def test_ptrace_unshare_io_uring_bpf(sandbox, bystander):
    code = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
out = []
out.append(libc.ptrace(16, {bystander.pid}, 0, 0))           # PTRACE_ATTACH
out.append(libc.unshare(0x10000000))                          # CLONE_NEWUSER
out.append(libc.unshare(0x40000000))                          # CLONE_NEWNET
out.append(libc.syscall(425, 8, ctypes.create_string_buffer(120)))  # io_uring_setup
out.append(libc.syscall(321, 0, 0, 0))                        # bpf
out.append(libc.syscall(310, {bystander.pid}, 0, 1, 0, 1, 0)) # process_vm_readv
print(out)
"""
    result = contained(sandbox, attack(sandbox, code), {"wrong_answer"})
    assert result["feedback"]["got"].strip() == "[-1, -1, -1, -1, -1, -1]"
    assert bystander.poll() is None


# --- resources ------------------------------------------------------------------

@pytest.mark.parametrize(
    "code, verdicts",
    [
        ("x = []\nwhile True:\n    x.append(' ' * 10**6)", {"memory"}),
        ("b = bytearray(10**11)", {"memory"}),
        ("import mmap\nm = mmap.mmap(-1, 1 << 40)", {"memory", "runtime_error"}),
        ("while True:\n    pass", {"timeout"}),
        ("import time\ntime.sleep(10**6)", {"timeout"}),
        ("import signal\nfor s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGXCPU):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass", {"timeout"}),
        ("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", {"output_limit"}),
        ("import sys\nwhile True:\n    sys.stderr.write('x' * 65536)", {"output_limit", "runtime_error"}),
        ("f = open('big', 'wb')\nfor _ in range(1024):\n    f.write(b'x' * (1 << 20))", {"runtime_error", "output_limit"}),
        ("fs = []\nwhile True:\n    fs.append(open('/dev/null'))", {"runtime_error"}),
        ("import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1) + 1\nf(0)", {"runtime_error", "memory", "timeout"}),
        ("import ctypes\nctypes.string_at(0)", {"runtime_error"}),
        ("x = 2 ** (10 ** 10)", {"timeout", "memory", "runtime_error"}),
        ("print(10 ** 200000 * 7)\nprint(2 ** 10 ** 7)", {"timeout", "wrong_answer", "output_limit"}),
        ("input()\ninput()", {"runtime_error"}),
        ("import sys\nsys.stdout.buffer.write(b'\\xff\\xfe\\x00 invalid')", {"wrong_answer"}),
    ],
    ids=["objects", "huge-alloc", "huge-mmap", "busy-loop", "sleep-forever", "ignore-signals", "stdout-flood",
         "stderr-flood", "1GiB-file", "fd-exhaustion", "recursion-segv", "ctypes-segv", "const-bomb", "huge-int-print",
         "past-eof", "invalid-utf8"],
)
def test_resource_attacks(sandbox, code, verdicts):
    started = time.monotonic()
    contained(sandbox, attack(sandbox, code), verdicts)
    assert time.monotonic() - started < 30


def test_hundred_thousand_files_are_cleaned_up(sandbox):
    code = "import os\nos.mkdir('d')\nfor i in range(100000):\n    open(f'd/{i}', 'w').close()\nos.chmod('d', 0)"
    contained(sandbox, attack(sandbox, code, time_s=5), {"wrong_answer", "timeout", "runtime_error"})


def test_parser_bombs_die_in_the_child(sandbox):
    for code in ("x = " + "(" * 200000 + ")" * 200000, "x = [" * 5000 + "]" * 5000, "1" + "+1" * 2_000_000):
        result = attack(sandbox, code, time_s=5)
        contained(sandbox, result, {"syntax_error", "memory", "timeout", "runtime_error"})


# --- the result channel and the judge ----------------------------------------------

def test_forged_frames_and_garbage_on_the_result_pipe(sandbox):
    forged = (
        "import os, struct, json\n"
        "head = json.dumps({'i': 0, 'status': 'ok', 'error': '', 'elapsed': 0}).encode()\n"
        "os.write(3, struct.pack('>II', len(head), 21) + head + b'SECRET-ANSWER-7f3a9\\n')\n"
    )
    # The forged frame carries a guess of the answer; it is judged like any output,
    # and the harness's own frame that follows is a protocol violation.
    assert attack(sandbox, forged + "print('wrong')")["verdict"] != "pass"
    oversized = "import os, struct\nos.write(3, struct.pack('>II', 2**31, 2**31))\nimport time\ntime.sleep(5)"
    contained(sandbox, attack(sandbox, oversized), {"runtime_error"})
    garbage = "import os\nos.write(3, os.urandom(4096))"
    contained(sandbox, attack(sandbox, garbage), {"runtime_error"})


def test_os_exit_before_asserts(sandbox):
    problem = assert_problem("assert add(1, 2) == 3\nassert add(2, 2) == 4\n", "add")
    code = "def add(a, b):\n    return 0\nimport os\nos._exit(0)"
    contained(sandbox, attack(sandbox, code, problem=problem), {"runtime_error", "wrong_answer"})


def test_modules_the_program_writes_never_reach_the_test_process(sandbox):
    """The program shares its scratch (cwd, TMPDIR) with nothing the test process imports
    from: standard modules it writes there (ones the worker has not pre-imported) are not
    the ones the test code imports, by name (`import colorsys`, which the harness binds
    afresh) or computed (`importlib.import_module`, where only the test process's sys.path
    stands between). Either would run the program's code in the process whose report is
    the verdict. The program is right, and proves its files are there."""
    problem = assert_problem("import colorsys, importlib\n"
                             "tabnanny = importlib.import_module('tab' + 'nanny')\n"
                             "assert not hasattr(colorsys, 'PLANTED') and not hasattr(tabnanny, 'PLANTED')\n"
                             "assert f(1) == 2\nassert {'colorsys.py', 'tabnanny.py'} <= set(g())\n", "f")
    code = ("import os\nHOOK = 'PLANTED = 1\\nimport os\\nos._exit(0)\\n'\n"
            "for d in {os.getcwd(), os.environ.get('TMPDIR', '/tmp')}:\n"
            "    for name in ('colorsys.py', 'tabnanny.py'):\n"
            "        with open(os.path.join(d, name), 'w') as out:\n            out.write(HOOK)\n"
            "def f(x):\n    return x + 1\n"
            "def g():\n    return os.listdir(os.getcwd()) + os.listdir(os.environ.get('TMPDIR', '/tmp'))\n")
    result = attack(sandbox, code, problem=problem)
    assert result["verdict"] == "pass", result
    assert workers_alive(sandbox) and scratch_empty(sandbox)


def test_always_equal_objects_and_subclasses(sandbox):
    problem = functional_problem("solve", [("1", "2"), ("2", "3")])
    for code in (
        "class Solution:\n    def solve(self, x):\n        class A:\n            def __eq__(self, o): return True\n        return A()",
        "class Solution:\n    def solve(self, x):\n        class I(int):\n            def __eq__(self, o): return True\n        return I(0)",
        "class Solution:\n    def solve(self, x):\n        class S(str):\n            def __eq__(self, o): return True\n        return S('')",
        "class Solution:\n    def solve(self, x):\n        class L(list):\n            def __eq__(self, o): return True\n        return L()",
    ):
        result = contained(sandbox, attack(sandbox, code, problem=problem), {"wrong_answer", "runtime_error"})
        assert "NotPlain" in result["feedback"]["error"]
    asserts = assert_problem("assert f(1) == 2\nassert f(5) == [1, 2]\n", "f")
    code = "class A:\n    def __eq__(self, o): return True\ndef f(x):\n    return A()"
    contained(sandbox, attack(sandbox, code, problem=asserts), {"wrong_answer"})


LEAK_SEARCH = """
import gc, hashlib, sys
WANTED = {WANTED!r}
def strings(obj):
    if isinstance(obj, (str, bytes)):
        yield obj
    elif isinstance(obj, dict):
        try:  # a lazy mapping (transformers' auto classes) may fail to resolve its values
            items = list(obj.items())
        except Exception:
            return
        for k, v in items:
            yield from (x for x in (k, v) if isinstance(x, (str, bytes)))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from (x for x in list(obj) if isinstance(x, (str, bytes)))
found = None
frames, frame = [], sys._getframe()
while frame:
    frames += [frame.f_locals, frame.f_globals]
    frame = frame.f_back
for obj in gc.get_objects() + frames:
    for s in strings(obj):
        data = s.encode(errors="replace") if isinstance(s, str) else s
        for candidate in (data, data.strip()):
            if hashlib.sha256(candidate).hexdigest() in WANTED:
                found = candidate.decode(errors='replace')
"""


def test_expected_values_never_enter_the_sandbox(sandbox):
    """Search every object and frame for the expected answer, by hash (the
    program itself must not contain the answer it looks for)."""
    import hashlib

    answer = "SECRET-ANSWER-7f3a9"
    wanted = {hashlib.sha256(x.encode()).hexdigest() for x in (answer, answer + "\n")}
    search = LEAK_SEARCH.replace("{WANTED!r}", repr(wanted))
    # Control: where the answer is in memory (as in an in-process judge), the search finds it.
    held = {"expected": [answer + "\n"]}  # noqa: F841
    namespace: dict = {}
    exec(search, namespace)
    assert namespace["found"] == answer
    result = contained(sandbox, attack(sandbox, search + "print(found or 'not found')"), {"wrong_answer"})
    assert result["feedback"]["got"].strip() == "not found"
    asserts = assert_problem(f"assert f(1) == {answer!r}\n", "f")
    leak = search + "def f(x):\n    return found or 'not found'\n"
    result = contained(sandbox, attack(sandbox, leak, problem=asserts), {"wrong_answer"})
    assert "not found" in result["feedback"]["error"]


def test_patched_print_and_stdout_do_not_leak_into_the_next_test(sandbox):
    problem = stdin_problem([("1\n", "1\n"), ("2\n", "2\n")])
    code = """
import builtins, sys
x = input()
if x == '1':
    print(1)
    builtins.print = lambda *a, **k: sys.__stdout__.write('hijacked')
    builtins.input = lambda *a: '1'
    sys.stdout = open('leak', 'w')
else:
    print(x)
"""
    result = judge(sandbox, problem, code, all_tests=True)
    assert result["verdict"] == "pass"  # each test got a clean print, input and stdout
