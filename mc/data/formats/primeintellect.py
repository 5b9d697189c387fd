"""PrimeIntellect's verifiable coding problems (`PrimeIntellect/verifiable-coding-problems`,
the code tasks of SYNTHETIC-1), as PrimeIntellect's own verifier reads them.

Rows: `problem_id`, `source` (the set it came from: apps, taco, codecontests, ...),
`task_type` ("verifiable_code"), `in_source_id`, `prompt`, `gold_standard_solution`
(a fenced ```python block, or null), `verification_info` and `metadata`, both
strings. genesys (PrimeIntellect-ai/genesys, src/genesys/verify.py) parses them
with `ast.literal_eval`: they are Python literals (single quotes, True/None), not
always JSON; JSON is read as the fallback (rllm does the same).

`verification_info` = {"language", "test_cases": [...]}, each case
`{"type": "stdin_stdout", "input": str, "output": str}` or
`{"type": "function_call", "fn_name": str, "input": [positional args], "output": value}`.
A stdin case may carry `fn_name: None`: a problem is call-based when its cases say
`function_call` (or name a function), never because the key is there. Return values
wrapped in a one-element list are unwrapped when all of a problem's are (rllm's
TACO runner accepts `out` or `out[0]`; genesys compares the printed value). In
prime-rl's own datasets `test_cases` is instead a JSON string of a TACO object
(`{"inputs", "outputs", "fn_name"?}`); that is read too. Only Python problems can
be judged: another `language` is an error (skipped with --skip-bad). SYNTHETIC-1's
response fields (llm_response, score, ...) stay in `meta`.
"""

from __future__ import annotations

import ast
import json

from mc.data.formats.apps import call_cases, tests_from_io
from mc.data.formats.common import RowContext, RowError, leftovers, platform_from_url, stdin_text
from mc.records import new_problem, new_tests

NAME = "primeintellect"


def detect(row: dict) -> bool:
    return "verification_info" in row and "prompt" in row


def literal(value, what: str, ctx: RowContext, json_first: bool = False):
    """A field stored as a Python-literal or JSON string (or already parsed): the two
    readers tried in turn (`json_first`: JSON, then a Python literal)."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None

    for read in ((json.loads, ast.literal_eval) if json_first else (ast.literal_eval, json.loads)):
        try:
            return read(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    raise RowError(f"{ctx.where}: field {what!r} is neither a Python literal nor JSON")


def tests_from_cases(cases, ctx: RowContext, what: str = "test_cases") -> tuple[dict, dict]:
    """(tests, meta) from PrimeIntellect's list of typed cases (DeepCoder's primeintellect rows too)."""
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise RowError(f"{ctx.where}: {what} must be a list of test objects")
    calls = [c for c in cases if c.get("type") == "function_call" or c.get("fn_name")]
    meta: dict = {}
    if calls:
        if len(calls) != len(cases):
            raise RowError(f"{ctx.where}: {what} mixes function-call and stdin cases")
        names = {c.get("fn_name") for c in calls}
        if len(names) != 1 or not next(iter(names)):
            raise RowError(f"{ctx.where}: {what}: function-call cases must name one function (fn_name), got {sorted(map(str, names))}")
        for i, case in enumerate(cases):
            if "input" not in case or "output" not in case:
                raise RowError(f"{ctx.where}: {what} case {i} lacks 'input' or 'output'")
        tests_cases, unwrapped = call_cases([c["input"] for c in cases], [c["output"] for c in cases], ctx)
        if unwrapped:
            meta["outputs_unwrapped"] = True
        return new_tests("functional", tests_cases, names.pop()), meta
    out = []
    for i, case in enumerate(cases):
        if case.get("type", "stdin_stdout") != "stdin_stdout":
            raise RowError(f"{ctx.where}: {what} case {i} has unknown type {case.get('type')!r}")
        if "input" not in case or "output" not in case:
            raise RowError(f"{ctx.where}: {what} case {i} lacks 'input' or 'output'")
        out.append({"input": stdin_text(case["input"]), "output": stdin_text(case["output"])})
    return new_tests("stdin", out), meta


def gold_solution(text) -> list[str]:
    """The gold standard solution without its markdown fence (none when null or empty)."""
    from mc.reward.extract import extract_code

    if not isinstance(text, str) or not text.strip():
        return []
    code = extract_code(text)
    return [code] if code else []


def convert(row: dict, ctx: RowContext) -> dict:
    info = literal(row.get("verification_info"), "verification_info", ctx)
    if not isinstance(info, dict) or "test_cases" not in info:
        raise RowError(f"{ctx.where}: verification_info holds no test_cases")
    task = row.get("task_type")
    if task not in (None, "verifiable_code"):
        raise RowError(f"{ctx.where}: task_type {task!r} is not a coding problem with tests (verifiable_code)")
    language = str(info.get("language") or "python").lower()
    if language not in ("python", "python3", "py", "py3"):
        raise RowError(f"{ctx.where}: a {language} problem: mc judges Python programs only")
    cases = info["test_cases"]
    if isinstance(cases, str):  # prime-rl's datasets: a JSON string of a TACO object
        tests, meta = tests_from_io(literal(cases, "test_cases", ctx), ctx, "test_cases")
        meta["tests_encoding"] = "taco"
    else:
        tests, meta = tests_from_cases(cases, ctx)
    extra_info = leftovers(info, {"test_cases", "language"})
    if extra_info:
        meta["verification_extra"] = extra_info
    metadata = literal(row.get("metadata"), "metadata", ctx)
    if metadata:
        meta["pi_metadata"] = metadata
    origin = row.get("source")
    if origin:
        meta["source_dataset"] = origin
    if row.get("in_source_id") is not None:
        meta["in_source_id"] = row["in_source_id"]
    meta.update(leftovers(row, {"problem_id", "source", "task_type", "in_source_id", "prompt", "gold_standard_solution",
                                "verification_info", "metadata"}))
    native = row.get("problem_id") or row.get("in_source_id") or ctx.index
    platform = None
    if isinstance(metadata, dict):
        platform = platform_from_url(metadata.get("url") if isinstance(metadata.get("url"), str) else None)
    if platform is None and isinstance(origin, str) and origin.lower() in ("codeforces", "atcoder", "leetcode", "codechef"):
        platform = origin.lower()
    return new_problem(
        id=f"{NAME}/{native}",
        source=NAME,
        platform=platform,
        question=row.get("prompt") or "",
        tests=tests,
        solutions=gold_solution(row.get("gold_standard_solution")),
        meta=meta,
    )
