"""`mc data filter`: a streaming pipeline of optional curation steps.

Each step looks at one problem and either keeps it (possibly changed, as the
test cap does) or removes it with a reason. Removals are reported: counted per
step for the stderr table and, optionally, written one JSONL line each.

Steps run cheapest first: platform, difficulty, release-date window, require
tests, cap tests, decontaminate, dedup. Dedup runs last so that a problem
removed for another reason never becomes the "kept" copy others are compared to.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from mc.data.decontam import EvalIndex
from mc.data.dedup import Deduplicator
from mc.errors import McUsageError
from mc.records import case_count, parse_date


@dataclass(frozen=True)
class Removal:
    id: str
    filter: str
    reason: str
    detail: dict = field(default_factory=dict)

    def record(self) -> dict:
        return {"id": self.id, "filter": self.filter, "reason": self.reason, **self.detail}


# A step returns the (possibly changed) problem, or a Removal.
Step = Callable[[dict], "dict | Removal"]


@dataclass
class FilterReport:
    seen: int = 0
    kept: int = 0
    removed: Counter = field(default_factory=Counter)  # filter name -> count
    changed: Counter = field(default_factory=Counter)  # filter name -> problems modified


def run_filters(
    problems: Iterable[dict],
    steps: list[tuple[str, Step]],
    report: FilterReport,
    on_removed: Callable[[Removal], None] | None = None,
) -> Iterator[dict]:
    for problem in problems:
        report.seen += 1
        for name, step in steps:
            result = step(problem)
            if isinstance(result, Removal):
                report.removed[name] += 1
                if on_removed:
                    on_removed(result)
                break
            if result is not problem:
                report.changed[name] += 1
                problem = result
        else:
            report.kept += 1
            yield problem


# --- the steps ----------------------------------------------------------------

def _values(values: Iterable[str]) -> set[str]:
    """Flag values, comma lists allowed: --platform atcoder,leetcode."""
    return {v.strip().lower() for value in values for v in value.split(",") if v.strip()}


def by_field(name: str, allowed: Iterable[str], known: Iterable[str] | None = None) -> Step:
    """Keep problems whose `name` is one of `allowed`; `known`, when given, is every
    value the field can take (a misspelt one would silently remove everything)."""
    wanted = _values(allowed)
    if not wanted:
        raise McUsageError(f"--{name} needs at least one value")
    unknown = sorted(wanted - set(known)) if known is not None else []
    if unknown:
        raise McUsageError(f"--{name} {', '.join(unknown)}: not one of {', '.join(known)}")

    def step(problem: dict):
        value = (problem.get(name) or "").lower()
        if value in wanted:
            return problem
        shown = value or "none"
        return Removal(problem["id"], name, f"{name} {shown} not in {', '.join(sorted(wanted))}", {name: value or None})

    return step


def date_window(before: dt.date | None, after: dt.date | None, keep_undated: bool) -> Step:
    """Keep problems released on or after `after` and strictly before `before`."""

    def step(problem: dict):
        raw = problem.get("date")
        if not raw:
            if keep_undated:
                return problem
            return Removal(problem["id"], "date", "no release date (pass --keep-undated to keep)", {"date": None})
        released = parse_date(raw)
        if before is not None and released >= before:
            return Removal(problem["id"], "date", f"released {released}, not before {before}", {"date": raw})
        if after is not None and released < after:
            return Removal(problem["id"], "date", f"released {released}, before {after}", {"date": raw})
        return problem

    return step


def require_tests(problem: dict):
    if case_count(problem.get("tests") or {}) > 0:
        return problem
    return Removal(problem["id"], "require-tests", "no test cases")


def drop_needs_checker(problem: dict):
    """Problems whose statement accepts any of several answers, without a checker:
    comparing with one expected answer would punish correct programs."""
    from mc.reward.rules import rules_for

    tests = problem.get("tests") or {}
    if rules_for(problem).get("needs_checker") and not tests.get("checker"):
        return Removal(problem["id"], "needs-checker", "several answers are valid and the problem has no checker")
    return problem


def cap_tests(limit: int) -> Step:
    """Keep at most `limit` cases: public examples first, then the longest inputs.

    Public cases are the statement's own examples (models are usually shown
    them); after them the longest inputs are kept, since those are the cases that
    catch slow or overflow-prone programs. Ties go to the earlier case, and the
    kept cases stay in their original order. `assert` programs are not split.
    """

    def step(problem: dict):
        tests = problem.get("tests") or {}
        cases = tests.get("cases") or []
        if tests.get("type") == "assert" or len(cases) <= limit:
            return problem
        keep = sorted(range(len(cases)), key=lambda i: _case_priority(cases[i], i))[:limit]
        kept = [cases[i] for i in sorted(keep)]
        meta = {**(problem.get("meta") or {}), "tests_capped_from": len(cases)}
        return {**problem, "tests": {**tests, "cases": kept}, "meta": meta}

    return step


def _case_priority(case: dict, index: int) -> tuple:
    public = case.get("origin") == "public"
    return (not public, -len(case.get("input", "")), -len(case.get("output", "")), index)


def decontaminate(index: EvalIndex) -> Step:
    def step(problem: dict):
        hit = index.match(problem.get("question") or "")
        if hit is None:
            return problem
        return Removal(
            problem["id"], "decontaminate",
            f"statement overlaps evaluation problem {hit.eval_id} ({hit.overlap:.0%} of {index.n}-grams)",
            {"eval_id": hit.eval_id, "overlap": hit.overlap},
        )

    return step


def dedup(deduplicator: Deduplicator) -> Step:
    def step(problem: dict):
        dup = deduplicator.check(problem["id"], problem.get("question") or "")
        if dup is None:
            return problem
        how = "exact duplicate" if dup.kind == "exact" else f"near duplicate (Jaccard {dup.similarity:.2f})"
        return Removal(
            problem["id"], "dedup", f"{how} of {dup.of}",
            {"duplicate_of": dup.of, "kind": dup.kind, "similarity": dup.similarity},
        )

    return step


def latest(problems: Iterable[dict], count: int, report: FilterReport,
           on_removed: Callable[[Removal], None] | None = None) -> Iterator[dict]:
    """The `count` most recently released of `problems` (which the other filters kept), in
    input order; ties on the date keep the earlier input. Undated problems are never
    among the latest. Holds `count` problems (a heap), not the whole input. The paper's
    contamination rule is the pair `--before EVAL_START --latest N`: the newest problems
    released before the evaluation window opens."""
    import heapq

    heap: list[tuple[dt.date, int, dict]] = []  # the smallest (oldest, latest-read) on top

    def drop(problem: dict, reason: str, date) -> None:
        report.kept -= 1
        report.removed["latest"] += 1
        if on_removed:
            on_removed(Removal(problem["id"], "latest", reason, {"date": date}))

    for index, problem in enumerate(problems):
        raw = problem.get("date")
        if not raw:
            drop(problem, "no release date: cannot be among the latest", None)
            continue
        item = (parse_date(raw), -index, problem)
        if len(heap) < count:
            heapq.heappush(heap, item)
            continue
        if item[:2] > heap[0][:2]:
            item = heapq.heapreplace(heap, item)
        released, _, old = item
        drop(old, f"released {released}: older than the {count} latest kept", old.get("date"))
    for _, _, problem in sorted(heap, key=lambda item: -item[1]):
        yield problem
