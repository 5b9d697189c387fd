"""CodeContests+ (`ByteDance-Seed/Code-Contests-Plus`, configs default and 1x..5x): CodeContests'
problems with generated tests, a testlib validator, generator and checker, and
correct / incorrect submissions.

Rows, as the readers of the set read them (no official loader was found; see
tests/fixtures/formats/SCHEMAS.md): `id` ("847_J"), `source` ("Codeforces"),
`title`, `description`, `time_limit` (milliseconds), `memory_limit` (MB),
`test_cases` ([{"input", "output"}], stdin text), `checker`, `validator`,
`generator` (C++ testlib sources), `generator_cmd`, `correct_submissions` and
`incorrect_submissions` ([{"code", "language": "py2" | "py3" | "cpp" | "java" | ...}]),
`true_positive_rate`, `true_negative_rate`.

Python 3 correct submissions become `solutions`; Python 3 incorrect ones are kept in
`meta.incorrect_solutions` (for judge-accuracy checks), the counts of the others in
`meta.other_solutions`, as for CodeContests. Limits go to `meta.time_limit`
(seconds) and `meta.memory_limit_mb`. The checker is C++ testlib source, which mc's
Python sandbox does not compile: it is kept in `meta.testlib_checker`, and the
statement's own rules decide leniency (`tests.rules`, `mc data filter
--drop-needs-checker`). A row with no test cases (about 2% of the 5x config) is
imported with none (`mc data filter --require-tests` removes it).
"""

from __future__ import annotations

from collections import Counter

from mc.data.formats.common import RowContext, RowError, leftovers
from mc.records import new_problem, new_tests

NAME = "codecontests-plus"
PYTHON3 = {"py3", "python3", "python", "python 3", "pypy3"}


def detect(row: dict) -> bool:
    return "description" in row and "test_cases" in row and bool(
        {"checker", "correct_submissions", "true_positive_rate", "generator"} & row.keys())


def _submissions(value, ctx: RowContext, what: str) -> tuple[list[str], Counter]:
    if value is None:
        return [], Counter()
    if not isinstance(value, list):
        raise RowError(f"{ctx.where}: {what} must be a list of {{code, language}}")
    python3, others = [], Counter()
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise RowError(f"{ctx.where}: {what}: each submission needs 'code' text")
        language = str(item.get("language") or "unknown").lower()
        if language in PYTHON3:
            python3.append(item["code"])
        else:
            others[language] += 1
    return python3, others


def convert(row: dict, ctx: RowContext) -> dict:
    raw = row.get("test_cases") or []
    if not isinstance(raw, list):
        raise RowError(f"{ctx.where}: test_cases must be a list of {{input, output}}")
    cases = []
    for i, case in enumerate(raw):
        if not isinstance(case, dict) or not isinstance(case.get("input"), str) or not isinstance(case.get("output"), str):
            raise RowError(f"{ctx.where}: test case {i} lacks string 'input'/'output'")
        cases.append({"input": case["input"], "output": case["output"]})
    solutions, others = _submissions(row.get("correct_submissions"), ctx, "correct_submissions")
    wrong, wrong_others = _submissions(row.get("incorrect_submissions"), ctx, "incorrect_submissions")
    meta: dict = {"title": row.get("title")}
    if wrong:
        meta["incorrect_solutions"] = wrong
    if others or wrong_others:
        meta["other_solutions"] = {"correct": dict(others), "incorrect": dict(wrong_others)}
    limit, memory = row.get("time_limit"), row.get("memory_limit")
    if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0:
        meta["time_limit"] = limit / 1000.0
    if isinstance(memory, (int, float)) and not isinstance(memory, bool) and memory > 0:
        meta["memory_limit_mb"] = float(memory)
    if isinstance(row.get("checker"), str) and row["checker"].strip():
        meta["testlib_checker"] = row["checker"]
    meta.update(leftovers(row, {"id", "title", "description", "test_cases", "correct_submissions", "incorrect_submissions",
                                "time_limit", "memory_limit", "checker", "source"}))
    native = str(row.get("id") or ctx.index)
    source = row.get("source")
    return new_problem(
        id=f"{NAME}/{native}",
        source=NAME,
        platform=str(source).lower() if source else None,
        question=row["description"] or "",
        tests=new_tests("stdin", cases),
        solutions=solutions,
        meta=meta,
    )
