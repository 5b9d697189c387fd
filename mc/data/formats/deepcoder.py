"""DeepCoder's training mix (`agentica-org/DeepCoder-Preview-Dataset`), as agentica's rllm
builds and grades it (rllm/data/preprocess/code/*.ipynb, rllm/rewards/code_reward.py).

Every row has `problem` (the statement) and `tests` (JSON text, or parsed), whose
encoding depends on the subset the row came from, so it is read from the value
itself, not from the subset's name:
- primeintellect: PrimeIntellect's typed case list, copied unchanged
  (`[{"type": "stdin_stdout" | "function_call", "input", "output", "fn_name"?}]`,
  mc.data.formats.primeintellect); `solutions` holds the gold solution still in
  its ```python fence;
- taco: TACO's object `{"inputs", "outputs", "fn_name"?}`, call inputs being
  argument lists and outputs usually wrapped (`[[true]]`) (mc.data.formats.apps);
- lcbv5: LiveCodeBench's list `[{"input", "output", "testtype": "stdin" |
  "functional"}]`, functional inputs one JSON value per line; the function name
  in the row's `metadata.func_name` (a mapping, or JSON text), else the starter code;
- codeforces (the test split): `[{"input", "output"}]`, stdin.
rllm's later loaders send every row through LiveCodeBench's runner and so lose the
call-based tests of the taco and primeintellect rows (and its 15-test cap rebuilds
TACO objects without `fn_name`); mc keeps them call-based, as DeepCoder's own
grader judged them. `meta.tests_encoding` records which encoding a row had.
The rows carry no id: it is made from the statement's hash (`deepcoder/<hash>`).
"""

from __future__ import annotations

from mc.data.formats.apps import tests_from_io
from mc.data.formats.common import RowContext, RowError, fn_name_from_starter, json_field, leftovers, short_hash
from mc.data.formats.primeintellect import gold_solution, literal, tests_from_cases
from mc.records import new_problem, new_tests

NAME = "deepcoder"


def detect(row: dict) -> bool:
    return "problem" in row and "tests" in row


def convert(row: dict, ctx: RowContext) -> dict:
    raw = literal(row.get("tests"), "tests", ctx, json_first=True)  # JSON text; rllm's notebooks also read Python reprs
    starter = row.get("starter_code") or None
    metadata = literal(row.get("metadata"), "metadata", ctx, json_first=True)
    if metadata is not None and not isinstance(metadata, dict):
        raise RowError(f"{ctx.where}: metadata must be an object (or JSON text of one)")
    if isinstance(raw, dict):
        tests, meta = tests_from_io(raw, ctx, "tests")
        meta["tests_encoding"] = "taco"
    elif isinstance(raw, list) and raw and all(isinstance(c, dict) for c in raw) and any("type" in c for c in raw):
        tests, meta = tests_from_cases(raw, ctx, "tests")
        meta["tests_encoding"] = "primeintellect"
    elif isinstance(raw, list) and all(isinstance(c, dict) for c in raw):
        tests, meta = _livecodebench(raw, metadata or {}, starter, ctx)
    else:
        raise RowError(f"{ctx.where}: tests is neither a TACO object nor a list of test objects")
    if metadata:
        meta["deepcoder_metadata"] = metadata
    meta.update(leftovers(row, {"problem", "tests", "solutions", "starter_code", "metadata"}))
    return new_problem(
        id=f"{NAME}/{short_hash(row['problem'] or '', 12)}",
        source=NAME,
        question=row["problem"] or "",
        starter_code=starter,
        tests=tests,
        solutions=_solutions(row.get("solutions"), ctx),
        meta=meta,
    )


def _livecodebench(cases: list[dict], metadata: dict, starter: str | None, ctx: RowContext) -> tuple[dict, dict]:
    kinds = {c.get("testtype") or "stdin" for c in cases}
    if len(kinds) > 1:
        raise RowError(f"{ctx.where}: tests mix test types {sorted(kinds)}")
    kind = kinds.pop() if kinds else "stdin"
    if kind not in ("stdin", "functional", "stdin_stdout"):
        raise RowError(f"{ctx.where}: unknown testtype {kind!r}")
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case.get("input"), str) or not isinstance(case.get("output"), str):
            raise RowError(f"{ctx.where}: test {i} lacks string 'input'/'output'")
        out.append({"input": case["input"], "output": case["output"]})
    meta = {"tests_encoding": "livecodebench" if any("testtype" in c for c in cases) else "codeforces"}
    if kind != "functional":
        return new_tests("stdin", out), meta
    per_case = (cases[0].get("metadata") or {}) if isinstance(cases[0].get("metadata"), dict) else {}
    fn_name = metadata.get("func_name") or per_case.get("func_name") or fn_name_from_starter(starter)
    if not fn_name:
        raise RowError(f"{ctx.where}: functional tests with no function name (metadata.func_name or starter code)")
    return new_tests("functional", out, fn_name), meta


def _solutions(value, ctx: RowContext) -> list[str]:
    """Reference programs: a list of texts (TACO's raw code; PrimeIntellect's fenced), or one JSON text of such a list."""
    value = json_field(value, "solutions", ctx.where) if isinstance(value, str) and value.lstrip().startswith("[") else value
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise RowError(f"{ctx.where}: solutions must be a list of program texts")
    out = []
    for text in value:
        out += gold_solution(text) if "```" in text else ([text] if text.strip() else [])
    return out
