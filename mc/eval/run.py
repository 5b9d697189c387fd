"""`mc eval`: sample (or take) completions, judge them, report pass@k.

With a model: the same rollout and reward engines as training, once per
`--max-tokens` value (the model loaded once), so "train at 4K, test at 8K" is
one command. With `--scored`: groups made elsewhere; samples without a verdict
(completions from any other system, even text only) are judged first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mc.eval.report import build_report
from mc.reward.judge import JudgeConfig
from mc.reward.score import ScoreReport, score_groups
from mc.rollout.progress import Phase, Progress


def counted(groups: Iterable[dict], phase: Phase | None) -> Iterator[dict]:
    """The groups, advancing `phase` as each one passes."""
    for group in groups:
        yield group
        if phase is not None:
            phase.advance()


def judged(groups: Iterable[dict], sandbox_factory, config: JudgeConfig, report: ScoreReport) -> Iterator[dict]:
    """Groups with every sample judged: already-scored groups pass as they are."""
    sandbox = None
    try:
        for group in groups:
            if all("verdict" in s for s in group["samples"]):
                yield group
                continue
            if sandbox is None:
                sandbox = sandbox_factory()
            yield from score_groups([group], sandbox, config, report)
    finally:
        if sandbox is not None:
            sandbox.close()


def evaluate_scored(groups: Iterable[dict], ks: list[int], sandbox_factory, config: JudgeConfig, by: str | None = None,
                    progress: Progress | None = None) -> dict:
    phase = progress.phase("judging") if progress is not None else None
    return build_report(counted(judged(groups, sandbox_factory, config, ScoreReport()), phase), ks, by)


def evaluate_model(roller_factory, problems: list[dict], max_tokens_list: list[int], ks: list[int], sandbox,
                   config: JudgeConfig, keep_groups=None, by: str | None = None, progress: Progress | None = None) -> dict:
    """One report per --max-tokens. Sampling and judging overlap (groups are judged as
    they come), so `progress` shows a row for each."""
    from mc.rollout.rollout import RolloutReport

    runs = {}
    for max_tokens in max_tokens_list:
        roller = roller_factory(max_tokens)
        sampling = judging = None
        if progress is not None:
            where = f" (max {max_tokens} tokens)" if len(max_tokens_list) > 1 else ""
            sampling = progress.phase(f"sampling{where}", total=len(problems))
            judging = progress.phase(f"judging{where}", total=len(problems))
        groups = score_groups(roller.groups(problems, RolloutReport(), sampling), sandbox, config, ScoreReport())
        groups = counted(groups, judging)
        if keep_groups is not None:
            groups = keep_groups(max_tokens, groups)
        runs[str(max_tokens)] = build_report(groups, ks, by)
        for phase in (sampling, judging):
            if phase is not None:
                phase.close()
    return runs
