"""The pieces of mc train's overlap: the timeline's interval arithmetic, the batch a
checkpoint carries for --off-policy, and the roller's stream of groups as they are made."""

from __future__ import annotations

import time

import pytest

from helpers import run_mc
from mc.errors import McError
from mc.train.pipeline import StepBatch, batch_in, read_batch, staleness
from mc.train.timeline import Timeline, busy_seconds, merged, overlap_seconds


def test_merged_busy_and_overlap_by_hand():
    spans = [(3.0, 4.0), (0.0, 2.0), (1.0, 2.5), (4.0, 4.5), (6.0, 6.0)]  # the last: empty
    assert merged(spans) == [(0.0, 2.5), (3.0, 4.5)]
    assert busy_seconds(spans) == pytest.approx(4.0)
    # generate 0-2.5, 3-4.5; judge 2-3.5: overlap 0.5 + 0.5
    assert overlap_seconds(spans, [(2.0, 3.5)]) == pytest.approx(1.0)
    assert overlap_seconds([(0.0, 1.0)], [(1.0, 2.0)]) == 0.0
    assert overlap_seconds([], [(0.0, 1.0)]) == 0.0


def test_timeline_figures_busy_idle_and_intervals():
    t = Timeline()
    o = t.origin
    t.add("generate", o + 0.0, o + 0.2)
    t.add("judge", o + 0.1, o + 0.3)
    t.add("judge", o + 0.15, o + 0.25)  # two workers at once: one busy stretch
    t.add("update", o + 0.3, o + 0.4)
    time.sleep(0.5)
    f = t.figures()
    assert f["generate_busy_s"] == pytest.approx(0.2) and f["judge_busy_s"] == pytest.approx(0.2)
    assert f["update_busy_s"] == pytest.approx(0.1)
    assert f["generate_judge_overlap_s"] == pytest.approx(0.1) and f["generate_update_overlap_s"] == 0.0
    assert f["generate_idle_s"] == pytest.approx(f["wall_s"] - 0.2, abs=1e-3) and f["wall_s"] >= 0.5
    assert f["timeline"]["judge"] == [[0.1, 0.3]] and "sync" not in f["timeline"]
    assert f["timeline"]["started_at"] == pytest.approx(time.time(), abs=5)


def _group(version: int, reward: float) -> dict:
    return {"problem": {"id": "p"}, "samples": [{"policy_version": version, "reward": reward, "token_ids": [1, 2]}]}


def test_a_batch_made_ahead_round_trips_through_its_file(tmp_path):
    rolled = [_group(3, 0.0), _group(3, 1.0), _group(3, 1.0)]
    batch = StepBatch(4, 3, [rolled[1], rolled[2]], rolled, 12, {"dynamic_rounds": 1}, 3, 1, [0.5, None, 0.25], 1.2, 2.5, 0.5)
    (tmp_path / "trainer").mkdir()
    batch.write(str(tmp_path / "trainer" / "next_batch.jsonl"))
    back = batch_in(str(tmp_path))
    assert back == batch
    assert back.kept[0] is back.rolled[1]  # kept groups are the rolled ones, not copies
    assert batch_in(str(tmp_path / "nothing")) is None
    assert staleness(back.kept, 4) == [1, 1]


@pytest.mark.parametrize("text", [b"", b"{\"kind\": \"other\"}\n", b"{\"kind\": \"mc.next_batch\", \"kept\": [5]}\n", b"not json\n"])
def test_a_damaged_batch_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "next_batch.jsonl"
    path.write_bytes(text)
    with pytest.raises(McError, match="cannot read the batch this checkpoint made ahead"):
        read_batch(str(path))


def test_the_stream_gives_the_groups_in_the_order_they_are_made(tiny_model, tmp_path):
    """Roller.stream (what mc train judges from) gives the records Roller.groups gives, each
    with its problem's index, chunk by chunk as the sampler makes them, and the same
    report; it tells how long the sampler ran."""
    from mc.jsonl import iter_records
    from mc.rollout.hf import HFBackend
    from mc.rollout.rollout import Roller, RolloutConfig, RolloutReport

    run_mc("data", "synth", "--count", "2", "--seed", "4", "-o", tmp_path / "p.jsonl", check_rc=0)
    problems = list(iter_records(str(tmp_path / "p.jsonl")))[:5]
    backend = HFBackend(str(tiny_model))
    config = dict(n=2, max_tokens=12, seed=3, batch_size=4)  # 2 problems per sampling batch: 3 chunks
    report_a, report_b, spans = RolloutReport(), RolloutReport(), []
    whole = list(Roller(backend, str(tiny_model), RolloutConfig(**config)).groups(problems, report_a))
    streamed = list(Roller(backend, str(tiny_model), RolloutConfig(**config)).stream(
        problems, report_b, lambda a, b: spans.append((a, b))))
    assert [i for i, _ in streamed] == list(range(len(problems)))
    assert [g for _, g in streamed] == whole
    assert (report_a.samples, report_a.tokens, report_a.truncated, report_a.diversities) == \
           (report_b.samples, report_b.tokens, report_b.truncated, report_b.diversities)
    assert len(spans) == 3 and all(a <= b for a, b in spans)


def test_streamed_judging_is_on_by_default_only_where_sampling_has_a_gpu():
    from mc.commands.train import _streams

    assert _streams({"stream_judging": None, "device": "cpu"}) is False  # the judge would take the sampler's cores
    assert _streams({"stream_judging": True, "device": "cpu"}) is True
    assert _streams({"stream_judging": False, "device": None}) is False
