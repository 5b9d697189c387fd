"""KodCode (`KodCode/KodCode-V1`, `KodCode-V1-SFT-R1`, `KodCode-Light-RL-10K`), judged the
way KodCode's own pipeline judges it.

Rows: `question_id` ("Leetcode_00012_I": subset, prompt id, I = instruct style or
C = complete style), `style`, `subset`, `question`, `solution`, `test` (older
revisions: `test_code`, and `test_entry_point`), `test_info` (a list of
{function_name, parameter_list, function_declaration, docstring}, or null for
class-based solutions), `gpt_difficulty` (easy / medium / hard from GPT-4o's
self-verification pass rate), `gpt_pass_*`, `trials`, `metadata`, and in the R1
sets `r1_*` and `conversations`. All but the problem's own fields stay in `meta`.

The tests are a pytest file. KodCode's pipeline (pipeline/step2.2_gen_unit_tests.py)
writes the program to `solution.py` and the test, after a `from solution import *`
line, to `test_solution.py`, and runs `pytest`: exit code 0 is a pass. Many test
files import nothing themselves and rely on that line. mc keeps that contract
inside its sandbox: the problem becomes an `assert` problem whose test code puts
the program's names (those the test file uses) in a module named `solution`,
and runs the test file, with the same first line, under the real pytest (plugins
not autoloaded, no cache, plain asserts); any failed, erroring or uncollectable
test fails the sample. pytest must be importable where the sandbox runs (it is
one of mc's dependencies).

The test file never touches the disk: pytest collects it from memory (a
`pytest.Module` whose object is the file's code run in a fresh module), starting
from the test process's own read-only folder, with no ini file and no conftest.py
read. The program runs beside the test process as the same user and can write
wherever that process could; a test file in a temporary folder let it drop a
conftest.py there whose hook reported every test passed (tests/data/
test_import_rl_mixes.py keeps that attack).

As every assert job in mc, the test file runs in its own process: the program's
functions and classes reach it as proxies and its values as copies, so an object
whose `__eq__` always says yes cannot pass an assert (mc.reward.sandbox.remote).
A name the test file uses without importing it that is a standard-library module
(or pytest) is imported afresh, never taken from the program: a program defining
`math` must not answer the test's `math.isclose`.
"""

from __future__ import annotations

import ast
import builtins
import sys

from mc.data.formats.common import RowContext, RowError, leftovers
from mc.data.formats.primeintellect import literal
from mc.records import new_problem, new_tests

NAME = "kodcode"
DIFFICULTY = {"easy": "easy", "medium": "medium", "hard": "hard"}

RUNNER = '''\
# KodCode's tests are a pytest file that imports the program as the module `solution`
# (KodCode writes solution.py and test_solution.py and runs pytest). Written by `mc data
# import`: the program's names go into a `solution` module, and the test file runs under
# pytest from memory. No file is written: the program runs beside this process and can
# write wherever this process could, so a test file (or a conftest.py beside it) on disk
# could be rewritten under pytest's feet.
import contextlib as _contextlib, io as _io, os as _os, sys as _sys, types as _types

_solution = _types.ModuleType("solution")
{exports}
_sys.modules["solution"] = _solution
_TEST = {test!r}
_os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
import pytest as _pytest


class _TestFile(_pytest.Module):
    def _getobj(self):  # the module from _TEST, where pytest would import the file
        module = _types.ModuleType("test_solution")
        module.__file__ = str(self.path)
        exec(compile(_TEST, "test_solution.py", "exec"), module.__dict__)
        return module


class _Here(_pytest.Directory):
    def collect(self):
        return [_TestFile.from_parent(self, path=self.path / "test_solution.py")]


class _Plugin:
    @_pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path, parent):
        if str(path) == _here:
            return _Here.from_parent(parent, path=path)


# The folder pytest starts from: this process's own (read-only to the program); no ini
# file, no conftest.py, no cache is read or written.
_here = _os.getcwd()
_log = _io.StringIO()
with _contextlib.redirect_stdout(_log), _contextlib.redirect_stderr(_log):
    _code = _pytest.main(["-q", "--tb=line", "-rfE", "-p", "no:cacheprovider", "-p", "no:logging", "--assert=plain",
                          "--noconftest", "-c", _os.devnull, "--rootdir", _here, _here], plugins=[_Plugin()])
_failed = [_line for _line in _log.getvalue().splitlines() if _line.startswith(("FAILED", "ERROR"))]
assert _code == 0, "pytest exit code %d: %s" % (_code, " | ".join(_failed) or _log.getvalue()[-1000:])
'''


def detect(row: dict) -> bool:
    return "question" in row and ("test" in row or "test_code" in row) and bool(
        {"test_info", "gpt_pass_sequence", "gpt_difficulty", "test_entry_point"} & row.keys())


def solution_names(test: str, ctx: RowContext) -> list[str]:
    """The names the test file takes from the program: those it imports from `solution`,
    reads as `solution.NAME`, or uses without binding them itself (what `from solution
    import *` supplies), builtins aside."""
    try:
        tree = ast.parse(test)
    except SyntaxError as e:
        raise RowError(f"{ctx.where}: the test code does not parse: {e.msg} (line {e.lineno})") from None
    bound, used, named = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if node.module == "solution" and alias.name != "*":
                    named.add(alias.name)
                elif node.module != "solution" and alias.name != "*":
                    bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "solution":
            named.add(node.attr)
    free = used - bound - set(dir(builtins)) - {"solution"}
    return sorted(named | free)


# Names the test file may use without importing them that must never be the program's:
# a program defining `math` or `pytest` would otherwise answer the test's own checks
# (math.isclose, pytest.raises). They are imported afresh instead.
PRISTINE = frozenset(sys.stdlib_module_names) | {"pytest"}


def runner(test: str, ctx: RowContext) -> str:
    """The assert-kind test code that runs KodCode's pytest file against the program."""
    lines = []
    for name in solution_names(test, ctx):
        if not name.isidentifier() or name.startswith("_"):
            continue
        if name in PRISTINE:
            lines.append(f"import {name} as _module\n_solution.{name} = _module")
        else:
            lines.append(f"try:\n    _solution.{name} = {name}\nexcept NameError:\n    pass")
    # `import pytest` after the star import: the file's pytest is always the real one.
    return RUNNER.format(exports="\n".join(lines) or "pass", test="from solution import *\nimport pytest\n\n" + test)


def convert(row: dict, ctx: RowContext) -> dict:
    test = row.get("test") if row.get("test") is not None else row.get("test_code")
    if not isinstance(test, str) or not test.strip():
        raise RowError(f"{ctx.where}: no test code (test / test_code)")
    info = literal(row.get("test_info"), "test_info", ctx) if row.get("test_info") is not None else None
    fn_name = None
    if isinstance(info, list) and info and isinstance(info[0], dict):
        fn_name = info[0].get("function_name") or None
    fn_name = fn_name or row.get("test_entry_point") or None
    native = row.get("question_id") or row.get("conversation_id") or ctx.index
    solution = row.get("solution")
    meta = leftovers(row, {"question_id", "question", "solution", "test", "test_code", "gpt_difficulty"})
    if row.get("gpt_difficulty") is not None:
        meta["difficulty_raw"] = row["gpt_difficulty"]
    meta["tests_original"] = test
    return new_problem(
        id=f"{NAME}/{native}",
        source=NAME,
        difficulty=DIFFICULTY.get(str(row.get("gpt_difficulty") or "").lower()),
        question=row["question"],
        tests=new_tests("assert", [], fn_name, code=runner(test, ctx)),
        solutions=[solution] if isinstance(solution, str) and solution.strip() else [],
        meta=meta,
    )
