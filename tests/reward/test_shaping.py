"""DAPO's soft overlong punishment, and dynamic sampling's choice of groups, by hand."""

from __future__ import annotations

import pytest

from mc.errors import McError, McUsageError
from mc.reward.shaping import buffer_tokens, overlong_penalty, parse_buffer, shape_group
from mc.train.dynamic import filter_groups, informative


def test_overlong_penalty_by_hand():
    # L_max 20, buffer 4: no penalty up to 16 tokens, then -1/4 per token, -1 at the limit
    assert [overlong_penalty(n, 20, 4) for n in (10, 16, 17, 18, 20)] == [0.0, 0.0, -0.25, -0.5, -1.0]
    assert overlong_penalty(18, 20, 4, factor=0.5) == -0.25
    assert overlong_penalty(30, 20, 4) == -1.0  # past L_max (a group made elsewhere): the paper's -1, no further
    # DAPO's own numbers: 20480 with a 4096 buffer -> 16384 free; 18432 tokens is halfway: -0.5
    assert overlong_penalty(16384, 20480, 4096) == 0.0 and overlong_penalty(18432, 20480, 4096) == -0.5


def test_buffer_as_tokens_or_share():
    assert parse_buffer("4096") == (4096.0, False) and parse_buffer("20%") == (0.2, True)
    assert buffer_tokens((0.2, True), 20480) == 4096 and buffer_tokens((0.2, True), 3) == 1
    assert buffer_tokens((4096.0, False), 1024) == 1024  # never longer than L_max
    assert parse_buffer("0") is None and parse_buffer("off") is None
    for bad in ("-3", "abc", "120%", "1.5", "nan%"):
        with pytest.raises(McUsageError):
            parse_buffer(bad)


def group(lengths, rewards, max_tokens=20):
    return {"problem": {"id": "p"}, "rollout": {"max_tokens": max_tokens},
            "samples": [{"token_ids": [1] * n, "reward": r} for n, r in zip(lengths, rewards)]}


def test_shape_group_keeps_both_parts_and_starts_from_the_judge():
    shaped = shape_group(group([10, 18, 20], [1.0, 1.0, 0.0]), (4.0, False), 1.0)
    assert [s["reward"] for s in shaped["samples"]] == [1.0, 0.5, -1.0]
    assert [s["overlong_penalty"] for s in shaped["samples"]] == [0.0, -0.5, -1.0]
    assert [s["judged_reward"] for s in shaped["samples"]] == [1.0, 1.0, 0.0]
    again = shape_group(shaped, (4.0, False), 1.0)  # shaping twice does not punish twice
    assert [s["reward"] for s in again["samples"]] == [1.0, 0.5, -1.0]
    assert [s["reward"] for s in shape_group(group([18], [1.0], max_tokens=None), (4.0, False), 1.0, max_tokens=20)["samples"]] == [0.5]
    with pytest.raises(McError, match="max_tokens"):
        shape_group(group([18], [1.0], max_tokens=None), (4.0, False), 1.0)


def test_informative_groups_are_judged_before_shaping():
    all_wrong = shape_group(group([10, 18, 20], [0.0, 0.0, 0.0]), (4.0, False), 1.0)
    assert len({s["reward"] for s in all_wrong["samples"]}) == 3  # shaped rewards differ...
    assert not informative(all_wrong)  # ...but every answer was wrong: no signal on correctness
    mixed = group([5, 5], [1.0, 0.0])
    lone = group([5], [1.0])
    kept, count = filter_groups([all_wrong, mixed, lone, mixed], limit=1)
    assert kept == [mixed] and count == 2
    assert filter_groups([all_wrong, lone], limit=None) == ([], 0)
