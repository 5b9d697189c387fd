"""APPS (hendrycks/apps, codeparrot/apps) and TACO (BAAI/TACO), which extends it.

Both keep tests as `input_output` = {"inputs": [...], "outputs": [...],
"fn_name"?}. Without `fn_name` a case is stdin text -> stdout text (a few rows
store lists of lines; they are joined). With `fn_name` it is call-based: each
input is the argument list, written as one JSON value per line like
LiveCodeBench's functional tests. Call-based outputs that come wrapped in a
one-element list (a Codewars habit: APPS's own checker accepts `out == [x]` or
`out == x`) are unwrapped when every output of the problem is wrapped, and
`meta.outputs_unwrapped` says so.

The APPS folder layout (`<split>/<id>/question.txt`, `input_output.json`,
`solutions.json`, `metadata.json`, `starter_code.py`, plus any other JSON files
such as CodeRL's `gen_solutions.json`, kept in `meta`) is read by `read_folder`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

from mc.data.formats.common import (
    RowContext,
    RowError,
    json_field,
    json_text,
    leftovers,
    platform_from_url,
    stdin_text,
)
from mc.errors import McError
from mc.records import new_problem, new_tests

NAME = "apps"
TACO = "taco"

APPS_DIFFICULTY = {"introductory": "easy", "interview": "medium", "competition": "hard"}
TACO_DIFFICULTY = {"EASY": "easy", "MEDIUM": "medium", "MEDIUM_HARD": "hard", "HARD": "hard", "VERY_HARD": "hard"}
TACO_FIELDS = {"skill_types", "raw_tags", "picture_num", "Expected Auxiliary Space", "Expected Time Complexity"}


def detect(row: dict) -> bool:
    return "question" in row and "input_output" in row and not detect_taco(row)


def detect_taco(row: dict) -> bool:
    return "question" in row and "input_output" in row and bool(TACO_FIELDS & row.keys())


def convert(row: dict, ctx: RowContext) -> dict:
    return _convert(row, ctx, NAME)


def convert_taco(row: dict, ctx: RowContext) -> dict:
    return _convert(row, ctx, TACO)


def tests_from_io(io, ctx: RowContext, what: str = "input_output") -> tuple[dict, dict]:
    """(tests, meta) from an APPS/TACO `{"inputs", "outputs", "fn_name"?}` object (also
    DeepCoder's taco rows and prime-rl's test_cases): stdin cases, or call-based ones."""
    if not isinstance(io, dict):
        raise RowError(f"{ctx.where}: {what} must be an object with inputs/outputs")
    inputs, outputs = io.get("inputs") or [], io.get("outputs") or []
    if len(inputs) != len(outputs):
        raise RowError(f"{ctx.where}: {what} has {len(inputs)} inputs but {len(outputs)} outputs")
    fn_name = io.get("fn_name")
    meta: dict = {}
    if fn_name:
        cases, unwrapped = call_cases(inputs, outputs, ctx)
        if unwrapped:
            meta["outputs_unwrapped"] = True
        tests = new_tests("functional", cases, fn_name)
    else:
        cases = [{"input": stdin_text(i), "output": stdin_text(o)} for i, o in zip(inputs, outputs)]
        tests = new_tests("stdin", cases)
    extra_io = leftovers(io, {"inputs", "outputs", "fn_name"})
    if extra_io:
        meta["input_output_extra"] = extra_io
    return tests, meta


def call_cases(inputs: list, outputs: list, ctx: RowContext) -> tuple[list[dict], bool]:
    """Functional cases from argument lists and return values (one JSON argument per line,
    the return value as JSON); outputs all wrapped in one-element lists are unwrapped (the
    second value says so): APPS's and rllm's TACO checker accept `out == [x]` or `out == x`."""
    unwrap = bool(outputs) and all(isinstance(o, list) and len(o) == 1 for o in outputs)
    cases = [{"input": _arguments(args, ctx), "output": json_text(out[0] if unwrap else out)}
             for args, out in zip(inputs, outputs)]
    return cases, unwrap


def _convert(row: dict, ctx: RowContext, source: str) -> dict:
    io = json_field(row.get("input_output"), "input_output", ctx.where) or {}
    tests, meta = tests_from_io(io, ctx)

    solutions = json_field(row.get("solutions"), "solutions", ctx.where) or []
    if not isinstance(solutions, list) or not all(isinstance(s, str) for s in solutions):
        raise RowError(f"{ctx.where}: solutions must be a list of program texts")

    raw_difficulty = row.get("difficulty")
    table = TACO_DIFFICULTY if source == TACO else APPS_DIFFICULTY
    url = row.get("url")
    platform = platform_from_url(url)
    if source == TACO and row.get("source"):
        platform = str(row["source"]).lower()
    used = {"problem_id", "question", "solutions", "input_output", "starter_code", "difficulty", "source", "time_limit"}
    meta.update(leftovers(row, used))
    time_limit = _seconds(row.get("time_limit"))
    if time_limit is not None:
        meta["time_limit"] = time_limit
    if row.get("time_limit") is not None and row.get("time_limit") != time_limit:
        meta["time_limit_raw"] = row["time_limit"]
    if raw_difficulty is not None:
        meta["difficulty_raw"] = raw_difficulty
    if source == TACO and row.get("source"):
        meta["source_site"] = row["source"]
    return new_problem(
        id=f"{source}/{_native_id(row, ctx)}",
        source=source,
        platform=platform,
        difficulty=table.get(str(raw_difficulty)),
        question=row["question"],
        starter_code=row.get("starter_code") or None,
        tests=tests,
        solutions=solutions,
        meta=meta,
    )


def _arguments(args, ctx: RowContext) -> str:
    if not isinstance(args, list):
        raise RowError(f"{ctx.where}: call-based input must be a list of arguments")
    return "\n".join(json_text(a) for a in args)


def _native_id(row: dict, ctx: RowContext) -> str:
    native = row.get("problem_id", row.get("name") or ctx.index)
    native = str(native).strip() or str(ctx.index)
    return f"{ctx.split}/{native}" if ctx.split else native


_SECONDS = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(s|sec|secs|second|seconds)?\s*$", re.I)


def _seconds(value) -> float | None:
    """TACO writes time limits as text ('2 seconds', '1.0 s'); None when unclear."""
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    if isinstance(value, str):
        match = _SECONDS.match(value)
        if match:
            return float(match.group(1))
    return None


# --- the APPS folder layout -------------------------------------------------

def is_problem_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "question.txt"))


def is_layout(path: str) -> bool:
    """A problem folder, or a folder of problem folders (one level down)."""
    if not os.path.isdir(path):
        return False
    if is_problem_folder(path):
        return True
    return any(is_problem_folder(os.path.join(path, d)) for d in _subfolders(path))


def _subfolders(path: str) -> list[str]:
    return sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))


def read_folder(path: str) -> Iterator[tuple[RowContext, dict]]:
    """(context, row) for each problem folder, rows shaped like HF APPS rows."""
    path = os.path.normpath(path)
    folders = [path] if is_problem_folder(path) else [os.path.join(path, d) for d in _subfolders(path)]
    for index, folder in enumerate(f for f in folders if is_problem_folder(f)):
        parent = os.path.basename(os.path.dirname(folder))
        split = parent if parent in ("train", "test", "valid", "validation") else None
        yield RowContext(where=folder, path=path, index=index, split=split), _folder_row(folder)


def _folder_row(folder: str) -> dict:
    def text(name: str) -> str | None:
        p = os.path.join(folder, name)
        if not os.path.exists(p):
            return None
        with open(p, encoding="utf-8") as f:
            return f.read()

    def load(name: str):
        raw = text(name)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise McError(f"{os.path.join(folder, name)}: malformed JSON: {e}") from None

    row: dict = {"problem_id": os.path.basename(folder), "question": text("question.txt")}
    row["input_output"] = load("input_output.json") or {}
    row["solutions"] = load("solutions.json") or []
    row["starter_code"] = text("starter_code.py")
    metadata = load("metadata.json") or {}
    row["difficulty"] = metadata.pop("difficulty", None)
    row["url"] = metadata.pop("url", None)
    row.update(metadata)
    known = {"question.txt", "input_output.json", "solutions.json", "starter_code.py", "metadata.json"}
    for name in sorted(os.listdir(folder)):
        if name not in known and name.endswith(".json"):
            row[name[: -len(".json")]] = load(name)
    return row
