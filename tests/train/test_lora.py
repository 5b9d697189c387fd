"""LoRA (mc.lora, peft): the adapter trains and nothing else; its loss and gradients are
the merged model's (by the chain rule through W' = W + s B A); its checkpoints continue
exactly; every command that reads a model reads one; misuse is one clear line."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from helpers import jsonl_lines, run_mc
from mc.lora import merged_weights
from mc.train.step import Trainer, TrainConfig
from train_helpers import adapter_checkpoint, nonzero_adapter, scored_file

pytest.importorskip("peft")


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("lora-scored") / "scored.jsonl"
    return path, scored_file(tiny_model, path)


def config(**overrides) -> TrainConfig:
    return TrainConfig(**{"lr": 1e-2, "lora_rank": 4, "max_grad_norm": 0.0, **overrides})


def lora_layers(model) -> dict:
    from peft.tuners.lora import LoraLayer

    return {name: m for name, m in model.named_modules() if isinstance(m, LoraLayer)}


def test_only_the_adapter_trains_and_the_checkpoint_is_an_adapter(tiny_model, scored, tmp_path):
    _, groups = scored
    trainer = Trainer(str(tiny_model), config())
    base = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if ".lora_" not in n}
    adapter = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if ".lora_" in n}
    trained = [p for group in trainer.optimizer.param_groups for p in group["params"]]
    assert sum(p.numel() for p in trained) == sum(p.numel() for p in adapter.values()) > 0
    assert trainer.config.lora_alpha == 8.0 and trainer.config.lora_targets == "all-linear"  # defaults: 2 x rank
    trainer.train_step(groups)
    trainer.train_step(groups)
    after = dict(trainer.model.named_parameters())
    assert all(torch.equal(base[n], after[n]) for n in base)  # the base is frozen, bit for bit
    assert all(not torch.equal(adapter[n], after[n]) for n in adapter if ".lora_B." in n)
    trainer.save(str(tmp_path / "ckpt"))
    files = set(os.listdir(tmp_path / "ckpt"))
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "meta.json", "trainer"} <= files
    assert "model.safetensors" not in files and "config.json" not in files
    adapter_config = json.loads((tmp_path / "ckpt" / "adapter_config.json").read_text())
    meta = json.loads((tmp_path / "ckpt" / "meta.json").read_text())
    assert adapter_config["base_model_name_or_path"] == meta["base_model"] == os.path.abspath(tiny_model)
    assert adapter_config["r"] == 4 and adapter_config["lora_alpha"] == 8 and adapter_config["lora_dropout"] == 0
    assert meta["flags"]["lora_rank"] == 4 and meta["step"] == 2


def test_loss_and_grads_equal_the_merged_computation(tiny_model, scored, tmp_path):
    check_against_merged(tiny_model, scored[1], tmp_path)


def check_against_merged(model_dir, groups, tmp_path, rank: int = 4, rtol: float = 1e-4):
    """One step of a LoRA trainer (B != 0, so the adapter acts) and one of a full trainer on
    the merged weights, same groups: the same log-probs, so the same loss, entropy and KL
    to the base (the LoRA trainer's reference is its own adapter switched off; the full
    one loads the base); and the adapter's gradients are the chain rule applied to the
    merged weight's: dL/dB = s G A^T, dL/dA = s B^T G, G = dL/dW'."""
    from mc.model import save_model_folder

    settings = dict(lr=0.0, kl_coef=0.05, entropy_coef=0.01, lora_rank=rank)
    lora_trainer = Trainer(str(model_dir), config(**settings))
    assert type(lora_trainer.ref).__name__ == "AdapterOff"
    nonzero_adapter(lora_trainer, scale=0.02)
    merged = type(lora_trainer.model)(lora_trainer.model.config)
    merged.load_state_dict(dict(merged_weights(lora_trainer.model)), strict=False)
    merged.tie_weights()
    save_model_folder(merged, lora_trainer.tokenizer, str(tmp_path / "merged"))
    full_trainer = Trainer(str(tmp_path / "merged"), config(**{**settings, "lora_rank": 0}, ref_model=str(model_dir)))

    lora_line, = lora_trainer.train_step(groups)
    full_line, = full_trainer.train_step(groups)
    assert lora_line["kl_loss"] > 1e-4  # the adapter moved the policy off its base: the KL term is live
    for key in ("loss", "pg_loss", "kl_loss", "entropy", "approx_kl"):
        assert lora_line[key] == pytest.approx(full_line[key], rel=rtol, abs=1e-7), key
    full_grads = {n: p.grad for n, p in full_trainer.model.named_parameters()}
    checked = 0
    for name, layer in lora_layers(lora_trainer.model).items():
        a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight  # [r, in], [out, r]
        s = layer.scaling["default"]
        g = full_grads[f"{name}.weight"]  # [out, in]
        if layer.fan_in_fan_out:  # GPT-2's Conv1D keeps its weight as [in, out]
            g = g.T
        scale = float(g.abs().max()) + 1e-12
        torch.testing.assert_close(b.grad, s * g @ a.detach().T, rtol=rtol, atol=rtol * scale * s * float(a.detach().abs().max()))
        torch.testing.assert_close(a.grad, s * b.detach().T @ g, rtol=rtol, atol=rtol * scale * s * float(b.detach().abs().max()))
        checked += 1
    assert checked == len(lora_layers(lora_trainer.model)) > 0


def test_conv1d_models_gpt2_loss_grads_and_checkpoint(gpt2_model, tmp_path):
    """Any causal LM: on GPT-2's Conv1D layers the adapter is set up transposed (peft's
    fan_in_fan_out, chosen by mc, so peft has nothing to warn about), its loss and
    gradients are the merged model's, and the real commands train, merge and sample it."""
    groups = scored_file(gpt2_model, tmp_path / "scored.jsonl")
    check_against_merged(gpt2_model, groups, tmp_path)
    proc = run_mc("train-step", "--policy", gpt2_model, "--out", tmp_path / "ckpt", "--lr", "1e-2", "--lora-rank", "4",
                  tmp_path / "scored.jsonl", check_rc=0)
    assert b"Warning" not in proc.stderr and b"fan_in_fan_out" not in proc.stderr, proc.stderr.decode()[-800:]
    assert json.loads((tmp_path / "ckpt" / "adapter_config.json").read_text())["fan_in_fan_out"] is True
    run_mc("model", "merge", tmp_path / "ckpt", tmp_path / "merged-ckpt", check_rc=0)
    run_mc("data", "synth", "--count", "2", "--seed", "5", "-o", tmp_path / "p.jsonl", check_rc=0)
    outs = [jsonl_lines(run_mc("rollout", "--model", m, "--n", "2", "--max-tokens", "12", "--seed", "3", "--backend", "hf",
                               tmp_path / "p.jsonl", check_rc=0).stdout) for m in (tmp_path / "ckpt", tmp_path / "merged-ckpt")]
    assert [s["token_ids"] for g in outs[0] for s in g["samples"]] == [s["token_ids"] for g in outs[1] for s in g["samples"]]


def test_a_checkpoint_continues_exactly(tiny_model, scored, tmp_path):
    """Two steps in one trainer == one step, save, load the adapter checkpoint, one step
    (AdamW's moments and the RNG come back with it)."""
    _, groups = scored
    straight = Trainer(str(tiny_model), config())
    straight.train_step(groups)
    straight.train_step(groups)
    first = Trainer(str(tiny_model), config())
    first.train_step(groups)
    first.save(str(tmp_path / "c1"))
    second = Trainer(str(tmp_path / "c1"), config(lora_rank=0))  # the checkpoint says LoRA; no flag needed
    assert second.config.lora_rank == 4 and len(second.optimizer.state) == len(straight.optimizer.state)
    second.train_step(groups)
    want, got = dict(straight.model.named_parameters()), dict(second.model.named_parameters())
    assert want.keys() == got.keys()
    assert all(torch.equal(want[n], got[n]) for n in want)


def test_rollout_of_an_adapter_is_the_rollout_of_its_merge(tiny_model, tmp_path):
    """mc rollout reads a LoRA checkpoint as its merged model: the same seed gives the same
    tokens and log-probs as from `mc model merge`'s folder."""
    ckpt = adapter_checkpoint(tiny_model, tmp_path / "lora")
    proc = run_mc("model", "merge", ckpt, tmp_path / "merged", env={"MC_PROGRESS": "1"}, check_rc=0)
    assert b"merge: loading" in proc.stderr and b"merge: saving" in proc.stderr and proc.stdout == b""
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(os.listdir(tmp_path / "merged"))
    run_mc("data", "synth", "--count", "3", "--seed", "5", "-o", tmp_path / "p.jsonl", check_rc=0)
    outs = [jsonl_lines(run_mc("rollout", "--model", m, "--n", "3", "--max-tokens", "24", "--seed", "3", "--backend", "hf",
                               tmp_path / "p.jsonl", check_rc=0).stdout) for m in (ckpt, tmp_path / "merged")]
    for a, b in zip(*outs):
        assert [s["token_ids"] for s in a["samples"]] == [s["token_ids"] for s in b["samples"]]
        for sa, sb in zip(a["samples"], b["samples"]):
            assert max(abs(x - y) for x, y in zip(sa["logprobs"], sb["logprobs"])) < 1e-5
    # ... and it is not the base's rollout: the adapter acts.
    base = jsonl_lines(run_mc("rollout", "--model", tiny_model, "--n", "3", "--max-tokens", "24", "--seed", "3",
                              "--backend", "hf", tmp_path / "p.jsonl", check_rc=0).stdout)
    assert [s["logprobs"] for g in base for s in g["samples"]] != [s["logprobs"] for g in outs[0] for s in g["samples"]]


def test_train_step_and_sft_take_lora_flags(tiny_model, scored, tmp_path):
    path, _ = scored
    proc = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "c", "--lr", "1e-2", "--lora-rank", "2",
                  "--lora-alpha", "2", "--lora-targets", "q_proj,v_proj", path, check_rc=0)
    assert len(jsonl_lines(proc.stdout)) == 1
    adapter_config = json.loads((tmp_path / "c" / "adapter_config.json").read_text())
    assert sorted(adapter_config["target_modules"]) == ["q_proj", "v_proj"] and adapter_config["lora_alpha"] == 2
    # the next step needs no LoRA flag (nor --lr: the checkpoint's); in a log its slow phases show as lines
    proc = run_mc("train-step", "--policy", tmp_path / "c", "--out", tmp_path / "c", path, env={"MC_PROGRESS": "1"}, check_rc=0)
    assert b"train-step: loading" in proc.stderr and b"train-step: saving" in proc.stderr
    assert json.loads((tmp_path / "c" / "meta.json").read_text())["step"] == 2
    run_mc("data", "synth", "--count", "4", "--seed", "0", "-o", tmp_path / "demos.jsonl", check_rc=0)
    run_mc("sft", "--model", tiny_model, "--data", tmp_path / "demos.jsonl", "--out", tmp_path / "s", "--steps", "2",
           "--lora-rank", "4", check_rc=0)
    assert "adapter_model.safetensors" in os.listdir(tmp_path / "s")


@pytest.mark.parametrize("flags, says", [
    (["--lora-alpha", "16"], b"need --lora-rank"),
    (["--lora-targets", "q_proj"], b"need --lora-rank"),
    (["--lora-rank", "4", "--lora-targets", "no_such_proj"], b"--lora-targets no_such_proj"),
    (["--lora-rank", "4", "--fsdp"], b"--fsdp with LoRA"),
])
def test_misused_lora_flags_are_usage_errors(tiny_model, scored, tmp_path, flags, says):
    proc = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "1e-3", *flags, scored[0])
    assert proc.returncode == 2 and says in proc.stderr and b"Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()


def test_adapter_misuse_is_one_clear_line(tiny_model, scored, tmp_path):
    ckpt = adapter_checkpoint(tiny_model, tmp_path / "lora")
    # another rank than the checkpoint's adapter
    proc = run_mc("train-step", "--policy", ckpt, "--out", ckpt, "--lora-rank", "8", scored[0])
    assert proc.returncode == 2 and b"rank 4" in proc.stderr and b"mc model merge" in proc.stderr
    # merging what is no adapter; merging over a folder of someone else's
    assert run_mc("model", "merge", tiny_model, tmp_path / "m").returncode == 2
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("keep me")
    proc = run_mc("model", "merge", ckpt, tmp_path / "theirs")
    assert proc.returncode == 2 and (tmp_path / "theirs" / "notes.txt").read_text() == "keep me"
    # a base that is gone, a damaged adapter config: exit 1, the file named, no traceback
    moved = tmp_path / "moved"
    shutil.copytree(ckpt, moved)
    config_file = moved / "adapter_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "base_model_name_or_path": str(tmp_path / "gone")}))
    proc = run_mc("rollout", "--model", moved, "--n", "1", "--backend", "hf", input=b"")
    assert proc.returncode == 1 and b"gone" in proc.stderr and b"Traceback" not in proc.stderr, proc.stderr
    config_file.write_text("{not json")
    proc = run_mc("model", "merge", moved, tmp_path / "m2")
    assert proc.returncode == 1 and b"adapter_config.json" in proc.stderr and b"Traceback" not in proc.stderr, proc.stderr


@pytest.mark.slow  # SmolLM2-135M: two trainers, ~1 min
def test_loss_and_grads_equal_the_merged_computation_on_smollm2(smollm2, tmp_path):
    groups = scored_file(smollm2, tmp_path / "scored.jsonl")
    check_against_merged(smollm2, groups, tmp_path, rank=8, rtol=1e-3)


@pytest.mark.slow  # three short mc train runs, ~1 min
def test_mc_train_with_lora_resumes_exactly(tiny_model, tmp_path):
    """mc train --lora-rank: a run stopped after 2 steps and resumed to 3 ends with the
    adapter of the unbroken 3-step run; the KL reference is the base (the adapter off),
    so the first step's KL is 0."""
    from safetensors.torch import load_file

    run_mc("data", "synth", "--count", "8", "--seed", "1", "-o", tmp_path / "train.jsonl", check_rc=0)
    args = ["--model", tiny_model, "--data", tmp_path / "train.jsonl", "--batch-problems", "4", "--n", "4",
            "--max-tokens", "24", "--lr", "1e-2", "--lora-rank", "4", "--kl-coef", "0.1", "--save-every", "1",
            "--entropy-coef", "0.01",  # a gradient though every reward is 0 (the tiny model passes nothing)
            "--backend", "hf"]
    run_mc("train", *args, "--out", tmp_path / "straight", "--steps", "3", check_rc=0)
    run_mc("train", *args, "--out", tmp_path / "broken", "--steps", "2", check_rc=0)
    run_mc("train", *args, "--out", tmp_path / "broken", "--steps", "3", "--resume", check_rc=0)
    weights = [load_file(tmp_path / run / "ckpt-000003" / "adapter_model.safetensors") for run in ("straight", "broken")]
    assert weights[0].keys() == weights[1].keys() and all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert all(weights[0][k].abs().max() > 0 for k in weights[0] if "lora_B" in k)  # the adapter moved
    metrics = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["kl_loss"] == 0.0 and metrics[-1]["kl_loss"] > 0
    assert [json.loads(line) for line in (tmp_path / "broken" / "metrics.jsonl").read_text().splitlines()][-1]["loss"] \
        == pytest.approx(metrics[-1]["loss"], abs=1e-9)
