"""Evaluation reports from scored groups: pass@k overall and by platform x difficulty.

A problem counts as solved by a sample only when the sample passed every test
(verdict `pass`). pass@k is averaged over problems, for each k no larger than the
fewest samples any problem has. Breakdowns follow the paper's LiveCodeBench
table: platform (atcoder, leetcode, codeforces, other) x difficulty (easy,
medium, hard, all), plus overall; also mean response length, truncation rate
and verdict counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from mc.errors import McError
from mc.eval.passk import pass_at_k

PLATFORMS = ("atcoder", "leetcode", "codeforces", "other")
DIFFICULTIES = ("easy", "medium", "hard")


def platform_of(problem: dict) -> str:
    platform = (problem.get("platform") or "").lower()
    return platform if platform in PLATFORMS[:3] else "other"


MISSING = "-"  # the --by label of problems without the field


def field_of(problem: dict, path: str) -> str:
    """The value at a dotted path of a problem ("source", "meta.family"), as a label."""
    value = problem
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return MISSING if value is None else str(value)


def by_fields(problem: dict) -> list[str]:
    """The dotted fields of a problem that --by can break down by: its scalar
    top-level fields and those of its meta (long texts such as the statement are no labels)."""
    def label(value) -> bool:
        return isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 80 and "\n" not in value)

    def scalars(record: dict, prefix: str = "") -> list[str]:
        return [prefix + key for key, value in record.items() if label(value)]

    meta = problem.get("meta")
    return scalars(problem) + (scalars(meta, "meta.") if isinstance(meta, dict) else [])


def check_by_field(problems: list[dict], path: str) -> None:
    """An error when no problem has `path` (a misspelt --by): it would report one '-' row."""
    if problems and all(field_of(p, path) == MISSING for p in problems):
        _no_such_field(path, problems[0])


def _no_such_field(path: str, first: dict):
    raise McError(f"--by {path}: no problem has this field",
                  f"fields of the first problem: {', '.join(by_fields(first)) or 'none'}")


def build_report(groups: Iterable[dict], ks: list[int], by: str | None = None) -> dict:
    """pass@k overall and by platform x difficulty; `by` (a dotted field such as
    meta.family or source) adds one more breakdown by that field's values."""
    per_problem: dict[str, dict] = {}
    first = None  # the first problem, to list its fields when none has --by's
    verdicts: Counter = Counter()
    lengths, truncated, samples, char_lengths = 0, 0, 0, False
    for group in groups:
        problem = group["problem"]
        first = first or problem
        entry = per_problem.setdefault(problem["id"], {"n": 0, "c": 0, "platform": platform_of(problem),
                                                       "difficulty": (problem.get("difficulty") or "").lower(),
                                                       "by": field_of(problem, by) if by else None})
        for s in group["samples"]:
            entry["n"] += 1
            entry["c"] += s.get("verdict") == "pass"
            verdicts[s.get("verdict", "unjudged")] += 1
            if isinstance(s.get("token_ids"), list):
                lengths += len(s["token_ids"])
            else:  # completions from other systems may carry only text
                lengths += len(s.get("text", ""))
                char_lengths = True
            truncated += s.get("finish_reason") == "length"
            samples += 1
    if not per_problem:
        return {"problems": 0, "samples": 0, "k": [], "overall": {}, "breakdown": {}}
    min_n = min(e["n"] for e in per_problem.values())
    usable = [k for k in sorted(set(ks)) if k <= min_n]
    skipped = [k for k in sorted(set(ks)) if k > min_n]

    def cell(entries: list[dict]) -> dict:
        out: dict = {"problems": len(entries)}
        for k in usable:
            out[f"pass@{k}"] = sum(pass_at_k(e["n"], e["c"], k) for e in entries) / len(entries) if entries else None
        return out

    entries = list(per_problem.values())
    breakdown: dict = defaultdict(dict)
    for platform in (*PLATFORMS, "all"):
        in_platform = [e for e in entries if platform == "all" or e["platform"] == platform]
        for difficulty in (*DIFFICULTIES, "all"):
            chosen = [e for e in in_platform if difficulty == "all" or e["difficulty"] == difficulty]
            breakdown[platform][difficulty] = cell(chosen)
    extra = {}
    if by:
        missing = sum(e["by"] == MISSING for e in entries)
        if missing == len(entries):
            _no_such_field(by, first)
        values = sorted({e["by"] for e in entries})
        extra["by"] = {"field": by, "cells": {v: cell([e for e in entries if e["by"] == v]) for v in values},
                       "missing": missing}
    return {
        "problems": len(entries),
        "samples": samples,
        "samples_per_problem_min": min_n,
        "k": usable,
        "k_skipped": skipped,
        "overall": cell(entries),
        "breakdown": dict(breakdown),
        "response_length_mean": lengths / samples if samples else 0.0,
        "response_length_unit": "characters" if char_lengths else "tokens",
        "truncation_rate": truncated / samples if samples else 0.0,
        "verdicts": dict(verdicts.most_common()),
        **extra,
    }
