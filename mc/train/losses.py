"""Policy losses and loss aggregation: small functions of tensors, by name.

Shapes: N sequences, T response tokens (right-padded); `mask` [N, T] is 1 on
the response tokens that count (0 on padding, and on the tokens of samples a
mask removed: the truncation mask, rejection of extreme sampler ratios).
Each function returns per-token values and leaves aggregation to `aggregate`.

Bounds, verl's, so that no inf or NaN can come out of finite log-probs: the
log-ratio is clamped to +-20 before exp (exp(20) = 4.9e8; unclamped, a ratio of
inf times an advantage of 0 is NaN), and k3 to [-10, 10] (its log-ratio to +-20
first). TRL clamps neither.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm")
LOG_RATIO_BOUND = 20.0
KL_BOUND = 10.0


def clipped_surrogate(
    logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
    clip_low: float, clip_high: float, dual_clip: float | None = 3.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO/GRPO clipped objective with clip-higher and dual clip, as a per-token loss.

    ratio = exp(clamp(logprobs - old_logprobs, -20, 20))            [N, T]
    loss  = max(-A * ratio, -A * clip(ratio, 1 - low, 1 + high))
    dual clip c > 1 (Ye et al. 2020, verl's clip_ratio_c): for A < 0 the loss is
    also capped at -c * A, so a ratio that grew far (a later mini-batch, a stale
    sampler) cannot make one token's loss unbounded. None or 0: off.
    advantages: [N] per sequence (broadcast over tokens) or [N, T].
    Returns (loss [N, T], per-token 0/1 indicators):
      clipped_low   ratio < 1 - low with A < 0 (the lower clip acted)
      clipped_high  ratio > 1 + high with A > 0 (the upper clip acted)
      clipped       the clipped term won (verl's pg_clipfrac)
      dual_clipped  the dual clip acted (verl's pg_clipfrac_lower)
    """
    adv = advantages[:, None] if advantages.dim() == 1 else advantages  # [N, 1] or [N, T]
    ratio = torch.exp(torch.clamp(logprobs - old_logprobs, -LOG_RATIO_BOUND, LOG_RATIO_BOUND))
    unclipped = -adv * ratio
    clipped = -adv * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    loss = torch.maximum(unclipped, clipped)
    dual_clipped = torch.zeros_like(loss)
    if dual_clip:
        cap = -adv * dual_clip
        dual_clipped = ((loss > cap) & (adv < 0)).to(loss.dtype)
        loss = torch.where(adv < 0, torch.minimum(loss, cap), loss)
    indicators = {
        "clipped_low": ((ratio < 1.0 - clip_low) & (adv < 0)).to(loss.dtype),
        "clipped_high": ((ratio > 1.0 + clip_high) & (adv > 0)).to(loss.dtype),
        "clipped": (clipped > unclipped).to(loss.dtype),
        "dual_clipped": dual_clipped,
    }
    return loss, indicators


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || pi_ref) (Schulman): exp(d) - d - 1, d = ref - logprobs,
    d clamped to +-20 and the estimate to [-10, 10] (verl's low_var_kl); >= 0."""
    delta = torch.clamp(ref_logprobs - logprobs, -LOG_RATIO_BOUND, LOG_RATIO_BOUND)
    return torch.clamp(torch.exp(delta) - delta - 1.0, -KL_BOUND, KL_BOUND)


def aggregate(values: torch.Tensor, mask: torch.Tensor, mode: str, max_len: int | None = None,
              norm: dict | None = None) -> torch.Tensor:
    """Reduce per-token values [N, T] to one number, after masking.

    token-mean:              sum(v * m) / sum(m)          every counted token weighs the same
    seq-mean-token-mean:     sum over sequences of sum_t(v * m) / sum_t(m), divided by N
    seq-mean-token-sum-norm: sum(v * m) / (N * max_len)   a constant normaliser (Dr. GRPO)

    Masks take tokens out of token-mean's denominator, but never change N: a
    masked sample counts as a sample whose loss is 0 (its advantage is 0, SPEC
    section 3), so masking some samples does not rescale the others' loss. This
    is TRL's grpo / dr_grpo and verl's (new engine) convention. verl's older
    seq-mean-token-sum-norm divides by max_len only, N times this value.
    `norm` overrides the denominators ({"tokens": ..., "seqs": ...}), so a
    mini-batch split into micro-batches sums to exactly the mini-batch's value.
    """
    mask = mask.to(values.dtype)
    masked = values * mask
    if mode == "token-mean":
        denominator = norm["tokens"] if norm else mask.sum().clamp(min=1.0)
        return masked.sum() / denominator
    seqs = norm["seqs"] if norm else max(values.shape[0], 1)
    if mode == "seq-mean-token-mean":
        return (masked.sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)).sum() / seqs
    if mode == "seq-mean-token-sum-norm":
        if not max_len:
            raise ValueError("seq-mean-token-sum-norm needs max_len (L_max)")
        return masked.sum() / (seqs * max_len)
    raise ValueError(f"loss aggregation must be one of {AGGREGATIONS}")


LOSSES: dict[str, Callable] = {"clipped_surrogate": clipped_surrogate}
