"""Named recipes: each preset means the published algorithm of that name.
An explicit flag always overrides its preset.

Keys beyond train-step's own: `dynamic_sampling` (mc train rolls out more
problems, mc train-step filters what it is given) and `overlong_buffer`
(DAPO's soft overlong punishment, a reward option: mc train applies it, a
piece-by-piece pipe passes it to `mc reward --overlong-buffer`).
`dual_clip` 3 is on everywhere (verl's default); it acts only when the policy
that is updated differs from the one that sampled (several mini-batches, a
stale sampler), and then bounds the loss of negative-advantage tokens.
"""

from __future__ import annotations

_COMMON = {"clip_low": 0.2, "dual_clip": 3.0, "ctm_rho": 0.1, "scale_rewards": "group", "entropy_coef": 0.0,
           "truncation_mask": "none", "dynamic_sampling": False, "overlong_buffer": None, "kl_coef": 0.0}

PRESETS: dict[str, dict] = {
    # GRPO (Shao et al. 2024, DeepSeekMath): symmetric clip, k3 KL to the reference, per-sequence mean loss,
    # group-std advantages, nothing masked or shaped.
    "grpo": {**_COMMON, "clip_high": 0.2, "kl_coef": 1e-3, "loss_agg": "seq-mean-token-mean"},
    # DAPO (Yu et al. 2025): clip-higher 0.2/0.28, token-level loss, no KL, dynamic sampling, soft overlong
    # punishment over the last 20% of L_max (the paper: 4096 of 20480 tokens, penalty 1).
    "dapo": {**_COMMON, "clip_high": 0.28, "loss_agg": "token-mean", "dynamic_sampling": True, "overlong_buffer": "20%"},
    # Dr. GRPO (Liu et al. 2025): no std division, a constant length normaliser (L_max), no KL.
    "drgrpo": {**_COMMON, "clip_high": 0.2, "loss_agg": "seq-mean-token-sum-norm", "scale_rewards": "none"},
    # MicroCoder-GRPO: clip-higher, token-level loss, no KL, conditional truncation mask (rho 0.1).
    "microcoder": {**_COMMON, "clip_high": 0.28, "loss_agg": "token-mean", "truncation_mask": "conditional"},
}
# What train-step's TrainConfig takes from a preset (the rest are loop or reward settings).
TRAIN_KEYS = ("clip_low", "clip_high", "dual_clip", "kl_coef", "loss_agg", "truncation_mask", "ctm_rho", "scale_rewards",
              "entropy_coef", "dynamic_sampling")


def resolve(preset: str, overrides: dict) -> dict:
    """The preset's settings with every explicitly given (non-None) flag on top."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}


def describe(preset: str) -> str:
    """One line: what the preset sets (for --help and the README)."""
    s = PRESETS[preset]
    parts = [f"clip {s['clip_low']}/{s['clip_high']}", s["loss_agg"],
             f"KL {s['kl_coef']}" if s["kl_coef"] else "no KL",
             {"group": "advantages / group std", "batch": "advantages / batch std", "none": "advantages not divided by a std"}[s["scale_rewards"]]]
    if s["truncation_mask"] != "none":
        parts.append(f"truncation mask {s['truncation_mask']}" + (f" rho {s['ctm_rho']}" if s["truncation_mask"] == "conditional" else ""))
    if s["dynamic_sampling"]:
        parts.append("dynamic sampling")
    if s["overlong_buffer"]:
        parts.append(f"overlong punishment over the last {s['overlong_buffer']} of L_max")
    return ", ".join(parts)
