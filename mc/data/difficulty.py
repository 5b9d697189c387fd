"""`mc data difficulty`: pass rates measured from rollouts, written onto problems.

Reads scored groups (`mc rollout | mc reward`), and for each problem writes
`meta.pass_rate` (share of its samples judged `pass`), `meta.pass_samples`
(how many samples that rate rests on) and `meta.pass_bucket`: "solved" (every
sample passed), "easy" (>= 0.7), "medium" (>= 0.3), "hard" (> 0), "unsolved".
Groups of the same problem (several rollout files) are pooled. Or, from
Problem records that carry graded submissions (LiveCodeBench's verdicts of real
models' programs on its hidden tests), the share graded correct. `keep` selects a
pass-rate band (the paper drops the easy problems) and reports the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mc.data.filters import Removal


def bucket(rate: float) -> str:
    if rate >= 1.0:
        return "solved"
    if rate >= 0.7:
        return "easy"
    if rate >= 0.3:
        return "medium"
    return "hard" if rate > 0 else "unsolved"


def problems_with_pass_rates(groups: Iterable[dict]) -> Iterator[dict]:
    """Problem records with pass-rate fields, one per problem, in first-seen order.

    Consecutive groups of one problem are pooled as they stream; a problem seen
    again later (not adjacent) is pooled too, which needs the whole input: the
    output comes once the input ends.
    """
    order: list[str] = []
    problems: dict[str, dict] = {}
    counts: dict[str, list[int]] = {}
    for group in groups:
        problem = group["problem"]
        pid = problem["id"]
        if pid not in problems:
            order.append(pid)
            problems[pid] = problem
            counts[pid] = [0, 0]
        for sample in group["samples"]:
            counts[pid][0] += sample.get("verdict") == "pass"
            counts[pid][1] += 1
    for pid in order:
        passed, total = counts[pid]
        rate = passed / total if total else 0.0
        meta = {**(problems[pid].get("meta") or {}), "pass_rate": round(rate, 4), "pass_samples": total, "pass_bucket": bucket(rate)}
        yield {**problems[pid], "meta": meta}


def problems_with_graded_rates(problems: Iterable[dict]) -> Iterator[dict]:
    """The same fields from graded submissions already on the problems (`meta.submissions`,
    each with a boolean `graded`: LiveCodeBench's eval_all verdicts, joined in by `mc data
    import --join`): the share graded correct. A problem with none is an error naming it."""
    for problem in problems:
        graded = [s.get("graded") for s in (problem.get("meta") or {}).get("submissions") or [] if isinstance(s, dict)]
        graded = [g for g in graded if isinstance(g, bool)]
        if not graded:
            from mc.errors import McError

            raise McError(f"problem {problem.get('id')}: no graded submissions (meta.submissions[].graded)",
                          "join graded programs in with `mc data import --join EVAL_ALL.json`, or measure pass rates "
                          "from rollouts: mc rollout | mc reward | mc data difficulty")
        rate = sum(graded) / len(graded)
        meta = {**problem["meta"], "pass_rate": round(rate, 4), "pass_samples": len(graded), "pass_bucket": bucket(rate)}
        yield {**problem, "meta": meta}


def keep_band(problems: Iterable[dict], lo: float, hi: float, removed: list[Removal]) -> Iterator[dict]:
    for problem in problems:
        rate = problem["meta"]["pass_rate"]
        if lo <= rate <= hi:
            yield problem
        else:
            removed.append(Removal(problem["id"], "difficulty", f"pass rate {rate:.2f} outside {lo:g}..{hi:g}",
                                   {"pass_rate": rate, "pass_samples": problem["meta"]["pass_samples"]}))
