"""Advantage estimators: functions of reward tensors, registered by how they scale.

Shapes: N samples, flat; `group` [N] holds each sample's group index 0..B-1
(groups may differ in size). Group statistics are always taken over the whole
group, before any mask touches it (SPEC section 3). Every estimator returns
(advantages [N], zero_variance [B]): a group whose rewards are all equal
carries no signal, gets advantage exactly 0, and is flagged so the step can
count it (or dynamic sampling drop it).

    group  GRPO:       A_i = (r_i - mean_g(r)) / (std_g(r) + eps)
    batch  (TRL's "batch"): A_i = (r_i - mean_g(r)) / (std over the whole batch + eps)
    none   Dr. GRPO:   A_i =  r_i - mean_g(r)     (no std division: it favours
                       groups of middling difficulty, Liu et al. 2025)

std is the sample standard deviation (Bessel's correction), as verl and TRL
compute it; a one-sample group has std 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

ADVANTAGES: dict[str, Callable] = {}


def register(name: str):
    def wrap(fn):
        ADVANTAGES[name] = fn
        return fn

    return wrap


def group_stats(rewards: torch.Tensor, group: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per group: (mean [B], sample std [B], zero_variance [B] bool)."""
    groups = int(group.max()) + 1 if group.numel() else 0
    count = torch.zeros(groups, dtype=rewards.dtype).index_add_(0, group, torch.ones_like(rewards))
    mean = torch.zeros(groups, dtype=rewards.dtype).index_add_(0, group, rewards) / count
    squares = torch.zeros(groups, dtype=rewards.dtype).index_add_(0, group, (rewards - mean[group]) ** 2)
    std = torch.where(count > 1, (squares / (count - 1).clamp(min=1)).sqrt(), torch.zeros_like(mean))
    high = torch.full((groups,), -torch.inf, dtype=rewards.dtype).scatter_reduce(0, group, rewards, "amax")
    low = torch.full((groups,), torch.inf, dtype=rewards.dtype).scatter_reduce(0, group, rewards, "amin")
    return mean, std, high == low


def _centered(rewards: torch.Tensor, group: torch.Tensor, scale: torch.Tensor | float, eps: float):
    mean, _, zero_variance = group_stats(rewards, group)
    advantages = (rewards - mean[group]) / (scale + eps)
    return torch.where(zero_variance[group], torch.zeros_like(advantages), advantages), zero_variance


@register("group")
def group_advantages(rewards: torch.Tensor, group: torch.Tensor, eps: float = 1e-6):
    """GRPO: centred and divided by the group's own std."""
    _, std, _ = group_stats(rewards, group)
    return _centered(rewards, group, std[group], eps)


@register("batch")
def batch_scaled_advantages(rewards: torch.Tensor, group: torch.Tensor, eps: float = 1e-6):
    """Centred per group, divided by the std of every reward in the batch (TRL scale_rewards="batch")."""
    std = rewards.std(unbiased=True) if rewards.numel() > 1 else torch.zeros((), dtype=rewards.dtype)
    return _centered(rewards, group, std, eps)


@register("none")
def centered_advantages(rewards: torch.Tensor, group: torch.Tensor, eps: float = 1e-6):
    """Dr. GRPO: centred per group, never divided (eps unused)."""
    return _centered(rewards, group, 1.0, 0.0)
