"""`mc train-step` end to end on the tiny policy: golden values, checkpoints, resume, pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from helpers import jsonl_lines, run_mc
from train_helpers import scored_file

# Recorded on CPU, float32, torch 2.13: (loss, grad_norm) of each optimizer step of
# 3 x `mc train-step --lr 1e-3 --seed 0 --mini-batches 2` from `mc model init --seed 0`.
# A first mini-batch is on-policy (ratio 1): its loss is -(token-mean advantage),
# the same each step; the second sees the first's update (clipping, approx KL).
GOLDEN = [
    (-0.02830183319747448, 0.8506760001182556), (0.03150680661201477, 2.0088963508605957),
    (-0.02830183319747448, 0.5434615015983582), (-0.04418577626347542, 1.597852110862732),
    (-0.02830183319747448, 0.3662337362766266), (-0.048303309828042984, 0.698968231678009),
]


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("scored") / "scored.jsonl"
    groups = scored_file(tiny_model, path)
    verdicts = [[s["verdict"] for s in g["samples"]] for g in groups]
    assert verdicts == [["pass", "wrong_answer", "wrong_answer", "no_code"], ["pass", "wrong_answer", "pass"]]
    return path


def test_golden_three_steps(tiny_model, scored, tmp_path):
    lines, policy = [], tiny_model
    for k in range(3):
        out = tmp_path / f"step{k + 1}"
        proc = run_mc("train-step", "--policy", policy, "--out", out, "--lr", "1e-3", "--seed", "0", "--mini-batches", "2",
                      scored, check_rc=0)
        lines += jsonl_lines(proc.stdout)
        policy = out
    assert [(m["step"], m["mini_batch"]) for m in lines] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    for line, (loss, grad_norm) in zip(lines, GOLDEN):
        assert line["loss"] == pytest.approx(loss, abs=1e-5)
        assert line["grad_norm"] == pytest.approx(grad_norm, rel=1e-4)
    first = lines[0]
    assert first["sampler_gap_max"] < 1e-5  # the teacher-forced log-probs are the policy's own
    assert first["truncation_eligible"] == 1 and first["zero_variance_groups"] == 0
    assert first["reward_mean"] == pytest.approx(3 / 7)
    meta = json.loads((tmp_path / "step3" / "meta.json").read_text())
    assert meta["step"] == 3 and meta["optimizer_steps"] == 6 and meta["flags"]["preset"] == "microcoder"
    assert meta["ref_model"] == str(tiny_model)


@pytest.mark.slow
def test_out_equals_policy_is_replaced_atomically(tiny_model, scored, tmp_path):
    import shutil

    policy = tmp_path / "ckpt"
    shutil.copytree(tiny_model, policy)
    run_mc("train-step", "--policy", policy, "--out", policy, "--lr", "1e-3", scored, check_rc=0)
    assert json.loads((policy / "meta.json").read_text())["step"] == 1
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]  # no temporary or old folder left
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(policy)  # still a plain HF folder
    failed = run_mc("train-step", "--policy", policy, "--out", policy, tmp_path / "missing.jsonl")
    assert failed.returncode == 1 and json.loads((policy / "meta.json").read_text())["step"] == 1


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.slow  # ~10-35 s: the default suite stays under 10 minutes
def test_resume_equals_straight(tiny_model, scored, tmp_path):
    from mc.train.step import Trainer, TrainConfig

    groups = [json.loads(line) for line in scored.read_text().splitlines()]
    config = TrainConfig(lr=1e-3, mini_batches=2, seed=0)
    straight = Trainer(str(tiny_model), config, "cpu")
    for _ in range(3):
        straight.train_step(groups)
    first = Trainer(str(tiny_model), config, "cpu")
    for _ in range(2):
        first.train_step(groups)
    first.save(str(tmp_path / "two"))
    resumed = Trainer(str(tmp_path / "two"), config, "cpu")
    assert resumed.step == 2 and resumed.optimizer_steps == 4
    resumed.train_step(groups)
    a, b = _weights(straight.model), _weights(resumed.model)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6


def test_micro_batches_do_not_change_the_update(tiny_model, scored):
    """The loss and the accumulated gradient of a mini-batch are the same however it
    is split (compared before AdamW, whose first step turns g into ~sign(g) and so
    magnifies float noise in near-zero gradients)."""
    from mc.train.step import Trainer, TrainConfig

    groups = [json.loads(line) for line in scored.read_text().splitlines()]
    results = []
    for budget in (100_000, 150):  # everything at once / one sample per micro-batch
        trainer = Trainer(str(tiny_model), TrainConfig(lr=1e-3, micro_batch_tokens=budget), "cpu")
        metrics = trainer.train_step(groups)
        grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
        results.append((grads, metrics[0]))
    (a, first), (b, second) = results
    assert first["loss"] == pytest.approx(second["loss"], abs=1e-7)
    assert first["grad_norm"] == pytest.approx(second["grad_norm"], rel=1e-5)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6


@pytest.mark.parametrize("flags, masked", [(["--truncation-mask", "all"], 1), (["--truncation-mask", "none"], 0),
                                           (["--ctm-rho", "1.0"], 1), (["--ctm-rho", "0"], 0)])
@pytest.mark.slow
def test_truncation_mask_flags(tiny_model, scored, tmp_path, flags, masked):
    line = jsonl_lines(run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "3e-4", *flags, scored,
                              check_rc=0).stdout)[0]
    assert line["truncation_masked"] == masked


@pytest.mark.slow
def test_grpo_preset_has_a_kl_term(tiny_model, scored, tmp_path):
    lines = jsonl_lines(run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--preset", "grpo",
                               "--mini-batches", "2", "--lr", "1e-3", scored, check_rc=0).stdout)
    assert lines[0]["kl_loss"] == pytest.approx(0.0, abs=1e-9)  # the policy is its own reference before any update
    assert lines[1]["kl_loss"] > 0  # after the first update the policy has moved away from it


def test_bad_input(tiny_model, scored, tmp_path):
    groups = [json.loads(line) for line in scored.read_text().splitlines()]
    unscored = [{**g, "samples": [{k: v for k, v in s.items() if k != "reward"} for s in g["samples"]]} for g in groups]
    proc = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "3e-4",
                  input="".join(json.dumps(g) + "\n" for g in unscored))
    assert proc.returncode == 1 and b"mc reward" in proc.stderr
    assert run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "3e-4", "--loss-agg", "mean",
                  input=b"").returncode == 2


@pytest.mark.slow
def test_rollout_reward_train_step_through_pipes_twice(tiny_model, real, tmp_path):
    from mc.data.importer import import_problems

    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps(p) + "\n" for p in list(import_problems([str(real.humaneval)]))[:2]))
    mc = f"{sys.executable} -m mc"
    env = {**os.environ, "MC_PROGRESS": "0"}
    policy = tiny_model
    for step in (1, 2):
        out = tmp_path / f"ckpt{step}"
        script = (f"set -o pipefail; {mc} rollout --model {policy} --n 2 --max-tokens 16 {problems} "
                  f"| tee {tmp_path}/groups{step}.jsonl | {mc} reward | {mc} train-step --policy {policy} --out {out} --lr 1e-3")
        proc = subprocess.run(["bash", "-c", script], capture_output=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        assert jsonl_lines(proc.stdout)[0]["step"] == step - 1
        policy = out
    second = jsonl_lines((tmp_path / "groups2.jsonl").read_bytes())
    assert {s["policy_version"] for g in second for s in g["samples"]} == {1}  # sampled from the new checkpoint
    assert all(g["rollout"]["model"] == str(tmp_path / "ckpt1") for g in second)


def test_dropout_is_off_in_the_policy(gpt2_model, tmp_path):
    """GPT-2's config keeps dropout 0.1 (embeddings, attention, residuals): the trainer turns
    it off, so two forward passes in training mode give the same log-probs and an
    on-policy update starts at ratio 1 (approx_kl 0, nothing clipped)."""
    from mc.train.step import Trainer, TrainConfig, disable_dropout
    from train_helpers import scored_file

    groups = scored_file(gpt2_model, tmp_path / "scored.jsonl")
    trainer = Trainer(str(gpt2_model), TrainConfig(lr=1e-2, max_grad_norm=0.0))
    assert trainer.dropout_disabled == 2 * 3 + 1  # per layer: attention, its output, the MLP's output; the embeddings
    assert trainer.model.training and disable_dropout(trainer.model) == 0
    ids = torch.tensor([[1, 5, 9, 13, 17, 21]])
    with torch.no_grad():
        first, second = (trainer.model(input_ids=ids).logits for _ in range(2))
    assert torch.equal(first, second)
    line, = trainer.train_step(groups)
    assert line["approx_kl"] == 0.0 and line["clip_frac"] == 0.0


def test_dropout_off_also_where_attention_keeps_a_rate(tiny_model, tmp_path):
    """Llama/Qwen attention layers keep their dropout as a float they hand to the attention
    function (no nn.Dropout module): a Qwen3 model whose config sets attention_dropout
    0.3 gets it turned off in every layer; with it on, two training-mode passes differ."""
    import shutil

    import transformers

    from mc.train.step import Trainer, TrainConfig

    shutil.copytree(tiny_model, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "attention_dropout": 0.3}))
    ids = torch.tensor([[1, 5, 9, 13, 17, 21]])
    raw = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "m").train()
    with torch.no_grad():
        assert not torch.equal(raw(input_ids=ids).logits, raw(input_ids=ids).logits)  # the rate acts when left on
    trainer = Trainer(str(tmp_path / "m"), TrainConfig(lr=1e-2))
    assert trainer.dropout_disabled == config["num_hidden_layers"]
    with torch.no_grad():
        assert torch.equal(trainer.model(input_ids=ids).logits, trainer.model(input_ids=ids).logits)
