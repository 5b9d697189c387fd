"""Truncated importance sampling and rejection against the sampler, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from mc.train.correction import is_weights, rejection_mask, sequence_log_ratio

# two sequences of 3 tokens; the second has 2 counted tokens
OLD = torch.log(torch.tensor([[0.5, 0.2, 0.9], [0.3, 0.6, 0.1]]))
SAMPLER = torch.log(torch.tensor([[0.25, 0.4, 0.9], [0.3, 0.2, 0.7]]))
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
# token ratios pi_old / pi_sampler: row 0: 2, 0.5, 1; row 1: 1, 3, (padding)


def test_token_level_weights_are_capped_ratios():
    weights, capped = is_weights(OLD, SAMPLER, MASK, "token", cap=2.5)
    assert weights.tolist() == [pytest.approx([2.0, 0.5, 1.0]), pytest.approx([1.0, 2.5, 0.0])]
    assert capped.tolist() == [[False, False, False], [False, True, False]]
    assert not weights.requires_grad


def test_sequence_level_weights_are_capped_products():
    # products over counted tokens: 2 x 0.5 x 1 = 1; 1 x 3 = 3 -> capped at 2
    assert sequence_log_ratio(OLD, SAMPLER, MASK).exp().tolist() == pytest.approx([1.0, 3.0], rel=1e-6)
    weights, capped = is_weights(OLD, SAMPLER, MASK, "sequence", cap=2.0)
    assert weights.tolist() == [pytest.approx([1.0, 1.0, 1.0]), pytest.approx([2.0, 2.0, 0.0])]
    assert capped.tolist() == [[False] * 3, [True, True, False]]


def test_none_leaves_the_mask():
    weights, capped = is_weights(OLD, SAMPLER, MASK, "none", cap=2.0)
    assert weights.tolist() == MASK.tolist() and not capped.any()


def test_rejection_by_token_sequence_and_geometric_mean():
    keep = rejection_mask(OLD, SAMPLER, MASK, "token", 0.6, 2.5)  # rejects 0.5 and 3
    assert keep.tolist() == [[True, False, True], [True, False, False]]
    keep = rejection_mask(OLD, SAMPLER, MASK, "sequence", 0.5, 2.0)  # products 1 (kept) and 3 (rejected)
    assert keep.tolist() == [[True, True, True], [False, False, False]]
    # geometric means: 1^(1/3) = 1, sqrt(3) = 1.732: a band up to 1.8 keeps both, up to 1.7 only the first
    assert rejection_mask(OLD, SAMPLER, MASK, "geometric", 0.9, 1.8).tolist() == [[True] * 3, [True, True, False]]
    assert rejection_mask(OLD, SAMPLER, MASK, "geometric", 0.9, 1.7).tolist() == [[True] * 3, [False] * 3]
    assert rejection_mask(OLD, SAMPLER, MASK, "none", 0.9, 1.1).tolist() == (MASK > 0).tolist()


def test_extreme_ratios_stay_finite():
    old, sampler = torch.tensor([[0.0, -200.0]]), torch.tensor([[-200.0, 0.0]])
    weights, _ = is_weights(old, sampler, torch.ones(1, 2), "token", cap=1e30)
    assert weights[0].tolist() == pytest.approx([math.exp(20), math.exp(-20)], rel=1e-5)
    weights, _ = is_weights(old, sampler, torch.ones(1, 2), "sequence", cap=1e30)
    assert torch.isfinite(weights).all()
