"""Every piece of MicroCoder-GRPO's math against a hand-computed example (2 groups x 3 samples)."""

from __future__ import annotations

import math

import pytest
import torch

from mc.train.advantages import ADVANTAGES, batch_scaled_advantages, centered_advantages, group_advantages
from mc.train.losses import aggregate, clipped_surrogate, kl_k3
from mc.train.masks import truncation_mask
from mc.train.presets import PRESETS, describe, resolve

# group 0: rewards 1, 0, 0 (mean 1/3, sample std sqrt(1/3) = 0.57735); group 1: 1, 1, 1 (zero variance)
REWARDS = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0], dtype=torch.float64)
GROUP = torch.tensor([0, 0, 0, 1, 1, 1])


def test_group_advantages_by_hand():
    adv, zero = group_advantages(REWARDS, GROUP, eps=0.0)
    # (1 - 1/3) / 0.57735 = 1.1547; (0 - 1/3) / 0.57735 = -0.57735
    assert adv[:3].tolist() == pytest.approx([1.154700, -0.577350, -0.577350], abs=1e-5)
    assert adv[3:].tolist() == [0.0, 0.0, 0.0]
    assert zero.tolist() == [False, True]
    # eps in the denominator: (1 - 0.5) / (0.70711 + 0.1) for rewards [1, 0]
    adv, _ = group_advantages(torch.tensor([1.0, 0.0]), torch.tensor([0, 0]), eps=0.1)
    assert adv[0].item() == pytest.approx(0.5 / (math.sqrt(0.5) + 0.1), abs=1e-6)


def test_dr_grpo_and_batch_scaled_advantages_by_hand():
    # Dr. GRPO: r - group mean, never divided: 2/3, -1/3, -1/3 and 0, 0, 0
    adv, zero = centered_advantages(REWARDS, GROUP)
    assert adv.tolist() == pytest.approx([2 / 3, -1 / 3, -1 / 3, 0, 0, 0], abs=1e-12) and zero.tolist() == [False, True]
    # batch std of [1, 0, 0, 1, 1, 1]: mean 2/3, sum of squares 4 x 1/9 + 2 x 4/9 = 4/3, / 5 -> sqrt(4/15) = 0.516398
    adv, _ = batch_scaled_advantages(REWARDS, GROUP, eps=0.0)
    assert adv.tolist() == pytest.approx([2 / 3 / 0.516398, -1 / 3 / 0.516398, -1 / 3 / 0.516398, 0, 0, 0], abs=1e-5)
    assert set(ADVANTAGES) == {"group", "batch", "none"}


def test_groups_of_different_sizes_and_single_samples():
    # group 0: [2, 0] (mean 1, std sqrt(2)); group 1: a lone sample (no baseline: 0); group 2: [0, 0, 3] (mean 1, std sqrt(3))
    rewards = torch.tensor([2.0, 0.0, 5.0, 0.0, 0.0, 3.0], dtype=torch.float64)
    group = torch.tensor([0, 0, 1, 2, 2, 2])
    adv, zero = group_advantages(rewards, group, eps=0.0)
    s2, s3 = math.sqrt(2), math.sqrt(3)
    assert adv.tolist() == pytest.approx([1 / s2, -1 / s2, 0.0, -1 / s3, -1 / s3, 2 / s3], abs=1e-12)
    assert zero.tolist() == [False, True, False]


def test_truncation_mask_by_hand():
    # six samples: truncated? non_incorrect? repeat?
    truncated = torch.tensor([True, True, True, True, False, False])
    non_incorrect = torch.tensor([True, True, False, True, True, False])
    repeat = torch.tensor([False, False, False, True, False, False])
    # eligible under 'conditional': truncated & non_incorrect & ~repeat -> samples 0 and 1 only
    masked, eligible = truncation_mask(truncated, non_incorrect, repeat, "conditional", rho=1.0)
    assert eligible.tolist() == [True, True, False, False, False, False]
    assert masked.tolist() == eligible.tolist()  # rho = 1: every eligible sample
    masked, _ = truncation_mask(truncated, non_incorrect, repeat, "conditional", rho=0.0)
    assert masked.tolist() == [False] * 6
    masked, eligible = truncation_mask(truncated, non_incorrect, repeat, "all", rho=0.1)
    assert masked.tolist() == truncated.tolist() == eligible.tolist()
    masked, eligible = truncation_mask(truncated, non_incorrect, repeat, "none", rho=1.0)
    assert not masked.any() and not eligible.any()
    # rho = 0.5 with a seeded generator: the draws decide, reproducibly.
    g = torch.Generator().manual_seed(0)
    draws = torch.rand(6, generator=torch.Generator().manual_seed(0))
    masked, _ = truncation_mask(truncated, non_incorrect, repeat, "conditional", rho=0.5, generator=g)
    assert masked.tolist() == [bool(d < 0.5) and e for d, e in zip(draws.tolist(), [True, True, False, False, False, False])]


def test_clipped_surrogate_by_hand():
    old = torch.zeros(2, 3)
    # ratios: row 0 (A = +1): 0.5, 1.0, 1.5; row 1 (A = -1): 0.5, 1.0, 1.5
    new = torch.log(torch.tensor([[0.5, 1.0, 1.5], [0.5, 1.0, 1.5]]))
    adv = torch.tensor([1.0, -1.0])
    loss, ind = clipped_surrogate(new, old, adv, clip_low=0.2, clip_high=0.28)
    # A > 0: -min(r, clip(r, 0.8, 1.28)) -> -min(0.5, 0.8) = -0.5; -1; -min(1.5, 1.28) = -1.28
    # A < 0: -min(-r, -clip(r)) = max(r, clip(r)) -> max(0.5, 0.8) = 0.8; 1; max(1.5, 1.28) = 1.5
    assert loss.tolist() == [pytest.approx([-0.5, -1.0, -1.28]), pytest.approx([0.8, 1.0, 1.5])]
    assert ind["clipped_high"].tolist() == [[0, 0, 1], [0, 0, 0]]
    assert ind["clipped_low"].tolist() == [[0, 0, 0], [1, 0, 0]]
    # verl's pg_clipfrac: the clipped term won (A > 0 at 1.5; A < 0 at 0.5)
    assert ind["clipped"].tolist() == [[0, 0, 1], [1, 0, 0]]
    # dual clip c = 1.2 caps the negative-advantage loss at c * |A| = 1.2: 1.5 -> 1.2
    loss, ind = clipped_surrogate(new, old, adv, 0.2, 0.28, dual_clip=1.2)
    assert loss[1].tolist() == pytest.approx([0.8, 1.0, 1.2])
    assert ind["dual_clipped"].tolist() == [[0, 0, 0], [0, 0, 1]]
    # the default c = 3 leaves these ratios alone; off (None) never caps
    assert clipped_surrogate(new, old, adv, 0.2, 0.28)[0][1].tolist() == pytest.approx([0.8, 1.0, 1.5])
    big = torch.log(torch.tensor([[5.0]]))
    assert clipped_surrogate(big, torch.zeros(1, 1), torch.tensor([-1.0]), 0.2, 0.28)[0].item() == pytest.approx(3.0)
    assert clipped_surrogate(big, torch.zeros(1, 1), torch.tensor([-1.0]), 0.2, 0.28, None)[0].item() == pytest.approx(5.0)


def test_no_nan_or_inf_from_huge_log_ratios():
    # log-ratio 100 (exp overflows float32 to inf): with A = 0, inf x 0 would be NaN; clamped to 20 it is 0
    new, old = torch.tensor([[100.0, -100.0, 100.0]]), torch.zeros(1, 3)
    loss, _ = clipped_surrogate(new, old, torch.tensor([0.0]), 0.2, 0.28)
    assert torch.isfinite(loss).all() and loss.abs().max() == 0
    loss, _ = clipped_surrogate(new, old, torch.tensor([1.0]), 0.2, 0.28, None)
    assert torch.isfinite(loss).all()  # A > 0: min(r A, clip(r) A) = 1.28 at r = e^20; -0.0 at r = e^-20
    assert loss[0].tolist() == pytest.approx([-1.28, -math.exp(-20), -1.28])
    loss, _ = clipped_surrogate(new, old, torch.tensor([-1.0]), 0.2, 0.28, None)
    assert loss[0, 0].item() == pytest.approx(math.exp(20), rel=1e-6)  # unbounded without dual clip, yet finite


def test_kl_k3_by_hand():
    logprobs = torch.log(torch.tensor([0.5, 0.25]))
    ref = torch.log(torch.tensor([0.25, 0.25]))
    # d = ref - logp: log(0.5) and 0 -> exp(d) - d - 1 = 0.5 + 0.693147 - 1 = 0.193147, and 0
    assert kl_k3(logprobs, ref).tolist() == pytest.approx([0.193147, 0.0], abs=1e-6)
    # clamped as verl's low_var_kl: d = 12 gives e^12 - 13 = 1.6e5 unclamped, 10 here; d = -30 -> 29 -> 10
    assert kl_k3(torch.tensor([-12.0, 0.0]), torch.tensor([0.0, -30.0])).tolist() == [10.0, 10.0]
    assert kl_k3(torch.tensor([0.0]), torch.tensor([-3.0])).item() == pytest.approx(math.exp(-3) + 3 - 1, abs=1e-6)


def test_aggregations_by_hand():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])  # seq 0: 2 tokens (1, 2); seq 1: 1 token (4)
    # token-mean: (1 + 2 + 4) / 3
    assert aggregate(values, mask, "token-mean").item() == pytest.approx(7 / 3)
    # seq-mean-token-mean: ((1 + 2) / 2 + 4 / 1) / 2 = (1.5 + 4) / 2
    assert aggregate(values, mask, "seq-mean-token-mean").item() == pytest.approx(2.75)
    # seq-mean-token-sum-norm, L_max = 4: (1 + 2 + 4) / (2 sequences x 4)
    assert aggregate(values, mask, "seq-mean-token-sum-norm", max_len=4).item() == pytest.approx(0.875)
    # a fully masked sequence leaves token-mean's denominator, but still counts as a sequence (loss 0)
    mask2 = torch.tensor([[1, 1, 0], [0, 0, 0]])
    assert aggregate(values, mask2, "token-mean").item() == pytest.approx(1.5)
    assert aggregate(values, mask2, "seq-mean-token-mean").item() == pytest.approx(0.75)
    assert aggregate(values, mask2, "seq-mean-token-sum-norm", max_len=4).item() == pytest.approx(3 / 8)


def test_aggregations_equal_the_peers_formulas():
    """TRL's loss types written out from their documented formulas (grpo: per-sequence mean then
    batch mean; bnpo: token mean; dr_grpo: sum / (B x L_max)) on random masked tensors."""
    g = torch.Generator().manual_seed(7)
    values, mask = torch.randn(5, 6, generator=g, dtype=torch.float64), (torch.rand(5, 6, generator=g) < 0.6).double()
    mask[3] = 0  # a masked sample
    trl_grpo = ((values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    trl_bnpo = (values * mask).sum() / mask.sum().clamp(min=1.0)
    trl_dr_grpo = (values * mask).sum() / (values.shape[0] * 6)
    assert aggregate(values, mask, "seq-mean-token-mean").item() == pytest.approx(trl_grpo.item(), abs=1e-12)
    assert aggregate(values, mask, "token-mean").item() == pytest.approx(trl_bnpo.item(), abs=1e-12)
    assert aggregate(values, mask, "seq-mean-token-sum-norm", max_len=6).item() == pytest.approx(trl_dr_grpo.item(), abs=1e-12)


def slow_loss(new, old, adv, mask, clip_low, clip_high, mode, max_len):
    """Per-token loop reference for clipped surrogate + aggregation."""
    per_seq, total, count = [], 0.0, 0
    for i in range(len(new)):
        seq_sum, seq_count = 0.0, 0
        for t in range(len(new[0])):
            if not mask[i][t]:
                continue
            r = math.exp(new[i][t] - old[i][t])
            a = adv[i]
            value = -min(r * a, min(max(r, 1 - clip_low), 1 + clip_high) * a)
            seq_sum += value
            seq_count += 1
            total += value
            count += 1
        per_seq.append((seq_sum / seq_count if seq_count else 0.0) if mode == "seq-mean-token-mean" else seq_sum / max_len)
    if mode == "token-mean":
        return total / count
    return sum(per_seq) / len(per_seq)  # every sequence counts, masked or not


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_vectorised_loss_equals_a_per_token_loop(mode):
    g = torch.Generator().manual_seed(3)
    new = torch.randn(6, 9, generator=g, dtype=torch.float64) * 0.3
    old = new + torch.randn(6, 9, generator=g, dtype=torch.float64) * 0.2
    adv = torch.randn(6, generator=g, dtype=torch.float64)
    mask = torch.rand(6, 9, generator=g) < 0.7
    mask[2] = False
    loss, _ = clipped_surrogate(new, old, adv, 0.2, 0.28)
    fast = aggregate(loss, mask, mode, max_len=9).item()
    slow = slow_loss(new.tolist(), old.tolist(), adv.tolist(), mask.tolist(), 0.2, 0.28, mode, 9)
    assert fast == pytest.approx(slow, abs=1e-12)


def test_micro_batch_norm_sums_to_the_whole():
    g = torch.Generator().manual_seed(1)
    values, mask = torch.randn(6, 5, generator=g), torch.rand(6, 5, generator=g) < 0.6
    for mode in ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"):
        whole = aggregate(values, mask, mode, max_len=5)
        norm = {"tokens": float(mask.sum()), "seqs": 6.0}
        parts = aggregate(values[:2], mask[:2], mode, 5, norm) + aggregate(values[2:], mask[2:], mode, 5, norm)
        assert parts.item() == pytest.approx(whole.item(), abs=1e-6)


def test_presets_mean_their_published_recipes():
    grpo, dapo, drgrpo, micro = (resolve(p, {}) for p in ("grpo", "dapo", "drgrpo", "microcoder"))
    assert (grpo["clip_low"], grpo["clip_high"], grpo["kl_coef"], grpo["loss_agg"]) == (0.2, 0.2, 1e-3, "seq-mean-token-mean")
    assert grpo["scale_rewards"] == "group" and grpo["truncation_mask"] == "none" and not grpo["dynamic_sampling"]
    # DAPO: clip-higher, token-mean, dynamic sampling, soft overlong punishment, no KL, nothing masked
    assert (dapo["clip_low"], dapo["clip_high"], dapo["loss_agg"], dapo["kl_coef"]) == (0.2, 0.28, "token-mean", 0.0)
    assert dapo["dynamic_sampling"] and dapo["overlong_buffer"] == "20%" and dapo["truncation_mask"] == "none"
    assert drgrpo["scale_rewards"] == "none" and drgrpo["loss_agg"] == "seq-mean-token-sum-norm" and drgrpo["kl_coef"] == 0
    assert (micro["clip_high"], micro["truncation_mask"], micro["ctm_rho"], micro["kl_coef"]) == (0.28, "conditional", 0.1, 0)
    assert all(PRESETS[p]["dual_clip"] == 3.0 for p in PRESETS)
    overridden = resolve("microcoder", {"ctm_rho": 0.3, "clip_low": None})
    assert overridden["ctm_rho"] == 0.3 and overridden["clip_low"] == 0.2
    assert "dynamic sampling" in describe("dapo") and "not divided" in describe("drgrpo")
