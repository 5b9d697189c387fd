"""`mc train`: the same checkpoint as the loop run piece by piece, and resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO, run_mc

STEPS, BATCH, N, MAX_TOKENS, LR = 2, 8, 8, 48, "1e-3"


@pytest.fixture(scope="module")
def warm(tiny_model, tmp_path_factory):
    """The tiny model after a short warm-up, so rollouts pass sometimes (reward variance)."""
    root = tmp_path_factory.mktemp("loop")
    run_mc("data", "synth", "--count", "20", "--seed", "1", "-o", root / "demos.jsonl", check_rc=0)
    run_mc("data", "synth", "--count", "3", "--seed", "2", "-o", root / "train.jsonl", check_rc=0)
    run_mc("sft", "--model", tiny_model, "--data", root / "demos.jsonl", "--out", root / "warm", "--steps", "100", check_rc=0)
    return root


def tensors(path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.slow  # three ways through the loop end to end: ~2 min on 2 cores (make test runs it)
def test_mc_train_equals_the_loop_piece_by_piece(warm):
    run = warm / "run"
    run_mc("train", "--model", warm / "warm", "--data", warm / "train.jsonl", "--out", run, "--steps", STEPS,
           "--batch-problems", BATCH, "--n", N, "--max-tokens", MAX_TOKENS, "--lr", LR, "--save-every", "1", check_rc=0)
    env = {**os.environ, "MC_PROGRESS": "0"}
    mc = f"{sys.executable} -m mc"
    make = subprocess.run(
        ["make", "-s", "-C", str(REPO / "examples" / "loop"), f"MC={mc}", f"MODEL={warm / 'warm'}", f"DATA={warm / 'train.jsonl'}",
         f"RUN={warm / 'pieces'}", f"STEPS={STEPS}", f"BATCH={BATCH}", f"N={N}", f"MAX_TOKENS={MAX_TOKENS}", f"LR={LR}"],
        capture_output=True, env=env, timeout=600,
    )
    assert make.returncode == 0, make.stderr.decode()[-3000:]
    pipes = subprocess.run([str(REPO / "examples" / "loop" / "pipes.sh"), str(warm / "warm"), str(warm / "train.jsonl"),
                            str(warm / "piped"), str(STEPS)], capture_output=True, timeout=600,
                           env={**env, "MC": mc, "BATCH": str(BATCH), "N": str(N), "MAX_TOKENS": str(MAX_TOKENS), "LR": LR})
    assert pipes.returncode == 0, pipes.stderr.decode()[-3000:]
    # The steps had something to learn from, or the comparison would be vacuous.
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(m["zero_variance_groups"] < m["groups"] for m in metrics) and any(m["grad_norm"] > 0 for m in metrics)
    whole = tensors(run / f"ckpt-{STEPS:06d}")
    for other in (warm / "pieces" / f"step-{STEPS - 1}" / "ckpt", warm / "piped" / f"step-{STEPS - 1}" / "ckpt"):
        assert max_difference(whole, tensors(other)) <= 1e-6
    assert max_difference(whole, tensors(warm / "warm")) > 1e-4  # and it did move
    assert json.loads((run / f"ckpt-{STEPS:06d}" / "meta.json").read_text())["step"] == STEPS


@pytest.mark.slow
def test_kill_minus_nine_and_resume(warm):
    run = warm / "resumed"
    args = [sys.executable, "-m", "mc", "train", "--model", str(warm / "warm"), "--data", str(warm / "train.jsonl"),
            "--out", str(run), "--steps", "4", "--batch-problems", str(BATCH), "--n", str(N), "--max-tokens", str(MAX_TOKENS),
            "--lr", LR, "--save-every", "1"]
    env = {**os.environ, "MC_PROGRESS": "0"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (run / "ckpt-000002" / "meta.json").exists():
        time.sleep(0.2)
    time.sleep(0.7)  # somewhere inside step 3
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run(args + ["--resume"], capture_output=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [0, 1, 2, 3]  # none lost, none twice
    straight = warm / "straight"
    run_mc("train", "--model", warm / "warm", "--data", warm / "train.jsonl", "--out", straight, "--steps", "4",
           "--batch-problems", BATCH, "--n", N, "--max-tokens", MAX_TOKENS, "--lr", LR, "--save-every", "2", check_rc=0)
    assert max_difference(tensors(run / "ckpt-000004"), tensors(straight / "ckpt-000004")) <= 1e-6
    straight_metrics = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [m["loss"] for m in metrics] == pytest.approx([m["loss"] for m in straight_metrics], abs=1e-6)


@pytest.mark.slow
def test_an_existing_run_needs_resume(warm):
    run = warm / "twice"
    common = ["train", "--model", warm / "warm", "--data", warm / "train.jsonl", "--out", run, "--steps", "1",
              "--batch-problems", "2", "--n", "2", "--max-tokens", "8", "--lr", LR]
    run_mc(*common, check_rc=0)
    again = run_mc(*common)
    assert again.returncode == 1 and b"--resume" in again.stderr
    assert run_mc(*common, "--resume", check_rc=0).stderr.count(b"already at step 1") == 1


@pytest.mark.slow
def test_dapo_dynamic_sampling_rounds_positions_and_resume(warm):
    common = ["train", "--model", warm / "warm", "--data", warm / "train.jsonl", "--batch-problems", "4", "--n", "4",
              "--max-tokens", MAX_TOKENS, "--lr", LR, "--preset", "dapo", "--save-every", "1", "--save-groups"]
    straight = warm / "dapo"
    run_mc(*common, "--out", straight, "--steps", "3", check_rc=0)
    metrics = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    position = 0
    for m in metrics:
        assert m["dynamic_rolled_groups"] == 4 * m["dynamic_rounds"] and 1 <= m["dynamic_rounds"] <= 10
        assert m.get("groups", 0) == min(4, m["dynamic_informative"])
        assert m["dynamic_rounds"] == 10 or m["dynamic_informative"] >= 4  # stopped full, or at the cap
        position += m["dynamic_rolled_groups"]
        meta = json.loads((straight / f"ckpt-{m['step'] + 1:06d}" / "meta.json").read_text())
        assert meta["data_position"] == position
    assert any(m["dynamic_informative"] < m["dynamic_rolled_groups"] for m in metrics)  # something was dropped
    saved = [json.loads(line) for line in (straight / "groups" / "step-000000.jsonl").read_text().splitlines()]
    samples = [s for g in saved for s in g["samples"]]
    assert all(len({s["judged_reward"] for s in g["samples"]}) > 1 for g in saved)  # only informative groups trained on
    assert all(s["reward"] == pytest.approx(s["judged_reward"] + s["overlong_penalty"]) for s in samples)
    # resumed after one step: the same data positions, rollouts and weights
    resumed = warm / "dapo-resumed"
    run_mc(*common, "--out", resumed, "--steps", "1", check_rc=0)
    run_mc(*common, "--out", resumed, "--steps", "3", "--resume", check_rc=0)
    again = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [(m["dynamic_rounds"], m["dynamic_informative"]) for m in again] == [(m["dynamic_rounds"], m["dynamic_informative"]) for m in metrics]
    assert max_difference(tensors(straight / "ckpt-000003"), tensors(resumed / "ckpt-000003")) <= 1e-6


def _untimed(value):
    """A record without its measured durations (keys ending in _s: judge and step timings)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not k.endswith("_s") and k != "timeline"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


COMMON = ["--batch-problems", BATCH, "--n", N, "--max-tokens", MAX_TOKENS, "--lr", LR, "--save-groups"]


@pytest.mark.slow
def test_streamed_judging_gives_the_sequential_runs_records(warm):
    """Judging each group as it is sampled changes when verdicts come, not what they
    are: the same groups, rewards, order, metrics and weights as judging after."""
    runs = {}
    for name, flag in (("streamed", "--stream-judging"), ("sequential", "--no-stream-judging")):
        runs[name] = warm / name
        run_mc("train", "--model", warm / "warm", "--data", warm / "train.jsonl", "--out", runs[name], "--steps", "2",
               *COMMON, "--batch-size", "16", flag, check_rc=0)  # 2 problems per sampling batch: 4 chunks a step
    verdicts = set()
    for step in range(2):
        streamed, sequential = (_lines(runs[n] / "groups" / f"step-{step:06d}.jsonl") for n in ("streamed", "sequential"))
        assert _untimed(streamed) == _untimed(sequential)
        verdicts |= {s["verdict"] for g in streamed for s in g["samples"]}
    assert "pass" in verdicts and len(verdicts) > 1, verdicts  # judged for real, not all failing alike
    metrics = {n: _lines(runs[n] / "metrics.jsonl") for n in runs}
    assert _untimed(metrics["streamed"]) == _untimed(metrics["sequential"])
    assert max_difference(tensors(runs["streamed"] / "ckpt-000002"), tensors(runs["sequential"] / "ckpt-000002")) == 0.0
    # The overlap is real in the streamed run and absent in the sequential one.
    assert all(m["generate_judge_overlap_s"] > 0 for m in metrics["streamed"])
    assert all(m["generate_judge_overlap_s"] == 0 for m in metrics["sequential"])
    for m in metrics["streamed"]:
        lanes = m["timeline"]
        assert lanes["generate"][0][0] < lanes["judge"][0][0] < lanes["generate"][-1][1] <= lanes["update"][0][0]


@pytest.mark.slow
def test_off_policy_staleness_resume_and_replay(warm):
    """--off-policy 1: every batch after the first is exactly one policy version behind;
    a run stopped after 2 steps and resumed to 3 is the unbroken 3-step run; and a step
    replays piece by piece from the checkpoint that sampled it."""
    run = warm / "off-policy"
    common = ["train", "--model", warm / "warm", "--data", warm / "train.jsonl", *COMMON, "--off-policy", "1", "--save-every", "1"]
    run_mc(*common, "--out", run, "--steps", "3", check_rc=0)
    metrics = _lines(run / "metrics.jsonl")
    assert [m["staleness_max"] for m in metrics] == [0, 1, 1]
    assert all(m["rollout_is_weight_mean"] is not None for m in metrics)  # the correction is on by default
    assert all(m["generate_update_overlap_s"] > 0 for m in metrics)
    assert json.loads((run / "run.json").read_text())["train"]["rollout_is"] == "token"
    for step, version in ((0, 0), (1, 0), (2, 1)):
        groups = _lines(run / "groups" / f"step-{step:06d}.jsonl")
        assert {s["policy_version"] for g in groups for s in g["samples"]} == {version}
        assert all(g["rollout"]["seed"] == step for g in groups)
    assert (run / "ckpt-000003" / "trainer" / "next_batch.jsonl").exists()  # the batch of a step 4, if resumed further

    resumed = warm / "off-policy-resumed"
    run_mc(*common, "--out", resumed, "--steps", "2", check_rc=0)
    run_mc(*common, "--out", resumed, "--steps", "3", "--resume", check_rc=0)
    assert max_difference(tensors(run / "ckpt-000003"), tensors(resumed / "ckpt-000003")) == 0.0
    assert _untimed(_lines(resumed / "metrics.jsonl")) == _untimed(metrics)

    # Step 2 by hand: sampled by ckpt-1 (seed 0 + 2), trained from ckpt-2 with the correction.
    env = {**os.environ, "MC_PROGRESS": "0"}
    mc = f"{sys.executable} -m mc"
    replay = warm / "replay"
    replay.mkdir()
    script = (f"{mc} data batch {warm / 'train.jsonl'} --step 2 --size {BATCH} --seed 0"
              f" | {mc} rollout --model {run / 'ckpt-000001'} --n {N} --max-tokens {MAX_TOKENS} --seed 2 --policy-version 1"
              f" | {mc} reward | tee {replay / 'scored.jsonl'}"
              f" | {mc} train-step --policy {run / 'ckpt-000002'} --out {replay / 'ckpt'} --lr {LR} --seed 0 --rollout-is token"
              f" > {replay / 'metrics.jsonl'}")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    def sampled(groups):  # mc train names the model it started from; the version says which weights sampled
        return [{**g, "rollout": {k: v for k, v in g["rollout"].items() if k != "model"}} for g in _untimed(groups)]

    assert sampled(_lines(replay / "scored.jsonl")) == sampled(_lines(run / "groups" / "step-000002.jsonl"))
    assert max_difference(tensors(replay / "ckpt"), tensors(run / "ckpt-000003")) <= 1e-6
