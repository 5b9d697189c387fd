"""`mc train --backend vllm`, colocated in one process (vLLM's CPU build here): after every
update the engine gets the new weights in memory, and samples from exactly them.

The proof is by log-probs: each step's metrics carry the gap between the sampler's
log-probs and the trainer's recomputation (sampler_gap_mean / _max over response
tokens), which stays at float32 rounding over several steps, while the same samples
scored under the starting weights are far off (so a stale engine would have shown).
"""

from __future__ import annotations

import json

import pytest
import torch

from helpers import jsonl_lines, logprob_gaps, run_mc
from mc.rollout.backends import vllm_usable

USABLE, WHY = vllm_usable()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not USABLE, reason=f"{WHY} (make vllm installs the CPU build)")]

STEPS, EXACT = 3, 1e-5


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Training problems and a reference model other than the policy: the KL term
    moves the policy every step even where every sample fails (the tiny model's
    rewards are all 0), so every rollout after the first has new weights to serve."""
    root = tmp_path_factory.mktemp("vllm-loop")
    run_mc("data", "synth", "--count", "4", "--seed", "2", "-o", root / "train.jsonl", check_rc=0)
    run_mc("model", "init", root / "ref", "--seed", "1", check_rc=0)
    return root


def gap(model_dir, groups) -> float:
    from mc.model import load_causal_lm

    # (a LoRA checkpoint loads as its base with the adapter merged in)
    return logprob_gaps(load_causal_lm(str(model_dir), torch.float32, torch.device("cpu")).eval(), groups)[0]


def test_the_engine_serves_each_new_policy(setup, tiny_model):
    run = setup / "run"
    proc = run_mc("train", "--model", tiny_model, "--data", setup / "train.jsonl", "--out", run, "--steps", STEPS,
                  "--batch-problems", "4", "--n", "4", "--max-tokens", "48", "--lr", "1e-3", "--save-every", "1",
                  "--kl-coef", "0.5", "--ref-model", setup / "ref",
                  "--save-groups", "--backend", "vllm", "--dtype", "float32", "--vllm-arg", "kv_cache_memory_bytes=1073741824")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert json.loads((run / "run.json").read_text())["backend"] == "vllm"
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert sorted({m["step"] for m in metrics}) == list(range(STEPS))
    # The policy really moved between rollouts (or an unsynced engine would pass too).
    assert all(m["grad_norm"] > 0 for m in metrics), [m["grad_norm"] for m in metrics]
    for m in metrics:
        assert m["sampler_gap_max"] <= EXACT and m["sampler_gap_mean"] <= EXACT, m
    last = [json.loads(line) for line in (run / "groups" / f"step-{STEPS - 1:06d}.jsonl").read_text().splitlines()]
    # Scored independently of mc's metric: exact under the policy that sampled them ...
    assert gap(run / f"ckpt-{STEPS - 1:06d}", last) <= EXACT
    # ... and far off under the starting weights, which a stale engine would still serve.
    assert gap(tiny_model, last) > 100 * EXACT


def test_off_policy_the_engine_samples_one_version_behind(setup, tiny_model):
    """--off-policy 1 with the engine: step k trains on a batch the engine sampled from
    the weights of step k - 1 while step k - 1 updated; the records say so, and the
    log-probs prove it (exact under ckpt k - 1, far off under ckpt k)."""
    run = setup / "off-policy"
    proc = run_mc("train", "--model", tiny_model, "--data", setup / "train.jsonl", "--out", run, "--steps", STEPS,
                  "--batch-problems", "4", "--n", "4", "--max-tokens", "48", "--lr", "1e-3", "--save-every", "1",
                  "--kl-coef", "0.5", "--ref-model", setup / "ref", "--off-policy", "1",
                  "--save-groups", "--backend", "vllm", "--dtype", "float32", "--vllm-arg", "kv_cache_memory_bytes=1073741824")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["staleness_max"] for m in metrics] == [0] + [1] * (STEPS - 1)
    assert all(m["generate_update_overlap_s"] > 0 for m in metrics)  # the next batch was sampled during each update
    for step in range(1, STEPS):
        groups = [json.loads(line) for line in (run / "groups" / f"step-{step:06d}.jsonl").read_text().splitlines()]
        assert {s["policy_version"] for g in groups for s in g["samples"]} == {step - 1}
        assert gap(run / f"ckpt-{step - 1:06d}" if step > 1 else tiny_model, groups) <= EXACT
        assert gap(run / f"ckpt-{step:06d}", groups) > 100 * EXACT
        assert metrics[step]["sampler_gap_max"] > 100 * EXACT  # mc's own metric sees the staleness too


def test_lora_the_engine_serves_the_base_with_the_adapter_merged(setup, tiny_model):
    """From a LoRA checkpoint whose adapter acts (B != 0): vLLM starts from the base and is
    sent the merged weights before the first rollout and after each update (exact
    log-probs under the checkpoint, far off under the bare base); `mc rollout --backend
    vllm` reads a LoRA checkpoint the same way."""
    from train_helpers import adapter_checkpoint

    pytest.importorskip("peft")
    start = adapter_checkpoint(tiny_model, setup / "lora-start")
    run = setup / "lora"
    proc = run_mc("train", "--model", start, "--data", setup / "train.jsonl", "--out", run, "--steps", 2,
                  "--batch-problems", "4", "--n", "4", "--max-tokens", "48", "--lr", "1e-2", "--save-every", "1",
                  "--kl-coef", "0.5", "--ref-model", setup / "ref", "--save-groups", "--backend", "vllm",
                  "--dtype", "float32", "--vllm-arg", "kv_cache_memory_bytes=1073741824")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(m["grad_norm"] > 0 for m in metrics) and json.loads((run / "run.json").read_text())["train"]["lora_rank"] == 4
    for m in metrics:
        assert m["sampler_gap_max"] <= EXACT, m
    for step, policy in ((0, start), (1, run / "ckpt-000001")):
        groups = [json.loads(line) for line in (run / "groups" / f"step-{step:06d}.jsonl").read_text().splitlines()]
        assert gap(policy, groups) <= EXACT
        assert gap(tiny_model, groups) > 100 * EXACT
    proc = run_mc("rollout", "--model", run / "ckpt-000001", "--n", "4", "--max-tokens", "48", "--backend", "vllm",
                  "--dtype", "float32", "--vllm-arg", "kv_cache_memory_bytes=1073741824", setup / "train.jsonl")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    sampled = jsonl_lines(proc.stdout)
    assert gap(run / "ckpt-000001", sampled) <= EXACT and gap(start, sampled) > 100 * EXACT
