"""Correcting for the sampler: its log-probs are not the trainer's.

vLLM (or bf16 sampling, or another kernel) gives each sampled token a slightly
different probability than the trainer's float32 forward pass does, and under
RL the gap can grow until the update is biased (Yao et al. 2025, "Your
efficient RL framework secretly brings you off-policy RL training"). The
records carry the sampler's log-probs, so the ratio

    rho_t = pi_old(o_t) / pi_sampler(o_t) = exp(old_logprobs - sampler_logprobs)

is known per token (its log clamped to +-20 before exp, as verl does). Two
corrections, each a function of detached tensors [N, T] with `mask` [N, T]:

- truncated importance sampling (`is_weights`): each token's policy loss is
  multiplied by min(rho, cap); at `token` level rho is the token's, at
  `sequence` level the product over the sequence's tokens (verl's rollout_is
  with rollout_is_threshold, TRL's *_truncate modes);
- rejection (`rejection_mask`): tokens, or whole sequences, whose ratio falls
  outside [low, high] leave the loss (verl's rollout_rs, TRL's *_mask modes);
  `geometric` judges a sequence by its per-token geometric mean ratio, which
  does not grow with length.
"""

from __future__ import annotations

import torch

from mc.train.losses import LOG_RATIO_BOUND

IS_LEVELS = ("none", "token", "sequence")
RS_LEVELS = ("none", "token", "sequence", "geometric")


def _token_log_ratio(old: torch.Tensor, sampler: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (old - sampler) * mask


def sequence_log_ratio(old: torch.Tensor, sampler: torch.Tensor, mask: torch.Tensor, mean: bool = False) -> torch.Tensor:
    """Per sequence: the sum (or mean) over its counted tokens of old - sampler, [N]."""
    total = _token_log_ratio(old, sampler, mask).sum(dim=1)
    return total / mask.sum(dim=1).clamp(min=1.0) if mean else total


def _bounded_exp(log_ratio: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.clamp(log_ratio, -LOG_RATIO_BOUND, LOG_RATIO_BOUND))


def is_weights(old: torch.Tensor, sampler: torch.Tensor, mask: torch.Tensor, level: str, cap: float
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(weights [N, T], capped [N, T] bool): min(rho, cap) per token or per sequence
    (broadcast over its tokens); 1 where level is none; 0 on uncounted tokens."""
    mask = mask.to(old.dtype)
    if level == "none":
        return mask.clone(), torch.zeros_like(mask, dtype=torch.bool)
    if level == "token":
        ratio = _bounded_exp(_token_log_ratio(old, sampler, mask))
    elif level == "sequence":
        ratio = _bounded_exp(sequence_log_ratio(old, sampler, mask))[:, None].expand_as(mask)
    else:
        raise ValueError(f"importance-sampling level must be one of {IS_LEVELS}")
    capped = (ratio > cap) & (mask > 0)
    return torch.clamp(ratio, max=cap).detach() * mask, capped


def rejection_mask(old: torch.Tensor, sampler: torch.Tensor, mask: torch.Tensor, level: str, low: float, high: float
                   ) -> torch.Tensor:
    """[N, T] bool: the counted tokens that are kept (ratio within [low, high])."""
    counted = mask > 0
    if level == "none":
        return counted
    if level == "token":
        ratio = _bounded_exp(_token_log_ratio(old, sampler, mask.to(old.dtype)))
    elif level in ("sequence", "geometric"):
        per_seq = sequence_log_ratio(old, sampler, mask.to(old.dtype), mean=level == "geometric")
        ratio = _bounded_exp(per_seq)[:, None].expand_as(old)
    else:
        raise ValueError(f"rejection level must be one of {RS_LEVELS}")
    return counted & (ratio >= low) & (ratio <= high)
