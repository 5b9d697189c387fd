"""`mc data import`: any supported source -> a stream of valid Problem records.

Each input (file, folder or stdin) is converted by one format, detected from its
first row unless given. Every output record is validated against the Problem
contract. A row that cannot be converted stops the import with its location,
unless `skip_bad` is set, in which case it is reported and skipped.

Joining: some copies of a set lack fields another copy has (rllm's LiveCodeBench
has tests but no ids or dates; LiveCodeBench's eval_all files have ids and dates
but no tests). `join` sources are imported whole into an index keyed by title and
the start of the statement, and each imported problem takes from its match what
it lacks; list-valued `meta` fields (such as graded submissions) are concatenated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mc.data import tables
from mc.data.formats import FORMATS, Format, apps, detect_format
from mc.data.formats.common import RowContext, RowError
from mc.errors import McError, McUsageError
from mc.records import validate_problem
from mc.reward.rules import extract_rules


@dataclass
class SourceReport:
    path: str
    format: str = "?"
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)


@dataclass
class ImportReport:
    sources: list[SourceReport] = field(default_factory=list)
    joined: int = 0
    unmatched: int = 0
    join_sources: list[SourceReport] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return sum(s.imported for s in self.sources)


def import_problems(
    paths: list[str],
    fmt: str = "auto",
    *,
    skip_bad: bool = False,
    join: list[str] | None = None,
    report: ImportReport | None = None,
    hub: dict | None = None,
) -> Iterator[dict]:
    """`hub`: {"config", "split"} for the paths that are Hub dataset ids (mc.data.tables.hub_id)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise McUsageError(f"--format must be one of: auto, {', '.join(FORMATS)}; got {fmt!r}")
    report = report if report is not None else ImportReport()
    # Copies to join may come in another shape (rllm's vs an eval_all file): detect each.
    index = _join_index(join or [], "auto", skip_bad, report)
    seen: dict[str, str] = {}
    for path in paths:
        source = SourceReport(path)
        report.sources.append(source)
        for where, problem in _problems_from(path, fmt, skip_bad, source, hub or {}):
            if index:
                match = index.get(join_key(problem))
                if match is None:
                    report.unmatched += 1
                else:
                    problem = merge_problem(problem, match)
                    report.joined += 1
            if problem["id"] in seen:
                raise McError(
                    f"{where}: duplicate id {problem['id']!r} (first seen at {seen[problem['id']]})",
                    "the same problem imported twice? import each copy once, or use --join to merge copies",
                )
            seen[problem["id"]] = where
            source.imported += 1
            yield problem


def _problems_from(path: str, fmt: str, skip_bad: bool, report: SourceReport, hub: dict | None = None) -> Iterator[tuple[str, dict]]:
    if os.path.isdir(path) and fmt in ("auto", "apps") and apps.is_layout(path):
        report.format = "apps (folders)"
        contexts_rows = apps.read_folder(path)
        chosen: Format | None = FORMATS["apps"]
    else:
        contexts_rows = _contexts(path, hub or {})
        chosen = None if fmt == "auto" else FORMATS[fmt]
    for ctx, row in contexts_rows:
        if chosen is None:
            chosen = detect_format(row)
            if chosen is None:
                fields = ", ".join(sorted(row)[:12])
                raise McError(
                    f"{ctx.where}: cannot tell the format from the fields ({fields})",
                    f"pass --format ({', '.join(FORMATS)})",
                )
        if report.format == "?":
            report.format = chosen.name
        try:
            problem = _convert(chosen, row, ctx)
        except RowError as e:
            if not skip_bad:
                raise McError(str(e), "pass --skip-bad to report and skip such rows") from None
            report.skipped.append((ctx.where, e.message.removeprefix(f"{ctx.where}: ")))
            continue
        yield ctx.where, problem


def _contexts(path: str, hub: dict) -> Iterator[tuple[RowContext, dict]]:
    split_from_name = _split_from_name(path)
    for index, (where, row) in enumerate(tables.iter_rows(path, hub.get("config"), hub.get("split"))):
        split = row.pop("__split__", None) or split_from_name
        yield RowContext(where=where, path=path, index=index, split=split), row


def _split_from_name(path: str) -> str | None:
    match = re.match(r"(train|test|valid|validation)\b", os.path.basename(path).lower())
    return match.group(1) if match else None


def _convert(fmt: Format, row: dict, ctx: RowContext) -> dict:
    try:
        problem = fmt.convert(row, ctx)
    except RowError:
        raise
    except KeyError as e:
        raise RowError(f"{ctx.where}: missing field {e.args[0]!r} for format {fmt.name}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise RowError(f"{ctx.where}: cannot read as {fmt.name}: {e}") from None
    except McError as e:
        raise RowError(f"{ctx.where}: {e}") from None
    tests = problem.get("tests")
    if isinstance(tests, dict) and "rules" not in tests:
        # How the statement says answers are judged (float tolerance, case, order,
        # several valid answers), read once here; mc reward applies exactly these.
        tests["rules"] = extract_rules(problem.get("question") or "")
    try:
        validate_problem(problem)
    except McError as e:
        raise RowError(f"{ctx.where}: converted record breaks the Problem contract: {e}") from None
    return problem


# --- joining copies of the same problems ------------------------------------

_SPACE = re.compile(r"\s+")


def join_key(problem: dict) -> tuple[str, str]:
    """Title plus the first 200 characters of the statement, whitespace-folded.

    Titles alone are not unique (LiveCodeBench has two problems called "Insert").
    """
    title = str((problem.get("meta") or {}).get("title") or "")
    question = _SPACE.sub(" ", problem.get("question") or "").strip()[:200]
    return _SPACE.sub(" ", title).strip().lower(), question


def _join_index(paths: list[str], fmt: str, skip_bad: bool, report: ImportReport) -> dict[tuple, dict]:
    index: dict[tuple, dict] = {}
    for path in paths:
        source = SourceReport(path)
        report.join_sources.append(source)
        for _, problem in _problems_from(path, fmt, skip_bad, source):
            key = join_key(problem)
            index[key] = merge_problem(index[key], problem) if key in index else problem
            source.imported += 1
    return index


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merge_problem(problem: dict, other: dict) -> dict:
    """`problem` with the gaps filled from `other`, a copy of the same problem."""
    merged = dict(problem)
    meta = dict(problem.get("meta") or {})
    other_meta = other.get("meta") or {}
    if meta.pop("synthetic_id", False) and not other_meta.get("synthetic_id"):
        merged["id"] = other["id"]
    if meta.pop("platform_inferred", False) and not other_meta.get("platform_inferred") and other.get("platform"):
        merged["platform"] = other["platform"]
    for key in ("platform", "date", "difficulty", "starter_code", "solutions", "source"):
        if _empty(merged.get(key)) and not _empty(other.get(key)):
            merged[key] = other[key]
    tests = merged.get("tests") or {}
    if not tests.get("cases") and not tests.get("code") and (other.get("tests") or {}).get("cases"):
        merged["tests"] = other["tests"]
    for key, value in other_meta.items():
        if key in ("synthetic_id", "platform_inferred"):
            continue
        if key not in meta:
            meta[key] = value
        elif isinstance(meta[key], list) and isinstance(value, list):
            meta[key] = meta[key] + value
    merged["meta"] = meta
    return merged
