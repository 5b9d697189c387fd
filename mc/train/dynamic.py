"""Dynamic sampling (DAPO's "filter groups"): train only on groups that carry a signal.

A group whose rewards are all equal has advantage 0 for every sample: it adds
no gradient, yet its tokens sit in token-mean's denominator, so the loss of the
other groups shrinks by a factor that changes from step to step. DAPO drops
such groups and samples more problems until the batch is full of informative
ones. Informative is judged on the judge's reward, before any length shaping
(DAPO filters on accuracy, not on the shaped score): a group of wrong answers
of different lengths is still all wrong.

`mc train` rolls out further rounds (see mc/train/loop.py); `mc train-step`
filters what it is given (over-provision upstream). A one-sample group is never
informative here (verl keeps one: with one sample there is no group baseline,
and mc gives it advantage 0).
"""

from __future__ import annotations


def judged_reward(sample: dict) -> float:
    """The reward before overlong shaping (mc.reward.shaping keeps it apart)."""
    value = sample.get("judged_reward")
    return float(sample["reward"] if value is None else value)


def informative(group: dict) -> bool:
    rewards = [judged_reward(s) for s in group["samples"]]
    return len(rewards) > 1 and any(r != rewards[0] for r in rewards)


def filter_groups(groups: list[dict], limit: int | None = None) -> tuple[list[dict], int]:
    """(the informative groups in order, at most `limit` of them; how many were informative in all)."""
    kept = [g for g in groups if informative(g)]
    return (kept[:limit] if limit else kept), len(kept)
