"""`torchrun --nproc-per-node 2 mc train-step` (gloo, CPU): the same update as one process.

DDP and FSDP2 (`--fsdp`) both: each rank takes its share of the groups, metrics
are reduced over ranks, rank 0 writes one checkpoint that a single process loads.
AdamW's first step is ~lr * sign(g), so coordinates whose gradient is ~0 move by
float noise; the gradients themselves are compared through AdamW's first moment
(exp_avg = 0.1 g) and the weights everywhere else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import jsonl_lines, run_mc
from train_helpers import scored_file

LR = 1e-3

pytestmark = pytest.mark.slow  # several torchrun launches (~2 min); part of `make test`, not `make test-fast`


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("dist") / "scored.jsonl"
    scored_file(tiny_model, path)
    return path


def torchrun(*args) -> list[dict]:
    torchrun = Path(sys.executable).parent / "torchrun"
    mc = Path(sys.executable).parent / "mc"
    proc = subprocess.run([str(torchrun), "--nproc-per-node", "2", str(mc), "train-step", *map(str, args)],
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return jsonl_lines(proc.stdout)


def single(*args) -> list[dict]:
    return jsonl_lines(run_mc("train-step", *args, check_rc=0).stdout)


def load(folder: Path, name: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / name))


def assert_same_update(a: Path, b: Path, weights: str = "model.safetensors") -> None:
    wa, wb = load(a, weights), load(b, weights)
    assert wa.keys() == wb.keys()
    moved = sum(int(((wa[k] - wb[k]).abs() > 1e-6).sum()) for k in wa)
    total = sum(t.numel() for t in wa.values())
    assert moved <= total * 1e-3, f"{moved} of {total} weights differ"
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) <= 2 * LR * 1.01
    oa, ob = load(a / "trainer", "optimizer.safetensors"), load(b / "trainer", "optimizer.safetensors")
    assert oa.keys() == ob.keys()
    for key in oa:
        assert float((oa[key].double() - ob[key].double()).abs().max()) <= 1e-7, key


def same_metrics(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for key in ("loss", "pg_loss", "grad_norm", "clip_frac_high", "approx_kl", "entropy", "reward_mean"):
            assert x[key] == pytest.approx(y[key], rel=1e-5, abs=1e-7), key


@pytest.mark.parametrize("fsdp", [False, True], ids=["ddp", "fsdp2"])
def test_two_ranks_equal_one_process(tiny_model, scored, tmp_path, fsdp):
    flags = ["--lr", LR, "--mini-batches", "2", scored] + (["--fsdp"] if fsdp else [])
    one = single("--policy", tiny_model, "--out", tmp_path / "one", *flags)
    two = torchrun("--policy", tiny_model, "--out", tmp_path / "two", *flags)
    same_metrics(one, two)
    assert two[0]["ranks"] == 2 and "ranks" not in one[0]
    assert_same_update(tmp_path / "one", tmp_path / "two")
    # The checkpoint is an ordinary one: a second step from it, in one process and in two.
    again_one = single("--policy", tmp_path / "one", "--out", tmp_path / "one2", *flags)
    again_two = torchrun("--policy", tmp_path / "two", "--out", tmp_path / "two2", *flags)
    same_metrics(again_one, again_two)
    meta = json.loads((tmp_path / "two2" / "meta.json").read_text())
    assert meta["step"] == 2 and meta["optimizer_steps"] == 4


def test_lora_on_two_ranks_equals_one_process(tiny_model, scored, tmp_path):
    """LoRA under DDP: only the adapter is trained and reduced; the same update as one process."""
    pytest.importorskip("peft")
    flags = ["--lr", LR, "--mini-batches", "2", "--lora-rank", "4", scored]
    one = single("--policy", tiny_model, "--out", tmp_path / "one", *flags)
    two = torchrun("--policy", tiny_model, "--out", tmp_path / "two", *flags)
    same_metrics(one, two)
    assert_same_update(tmp_path / "one", tmp_path / "two", "adapter_model.safetensors")
    assert all(".lora_" in key for key in load(tmp_path / "two" / "trainer", "optimizer.safetensors"))


def test_mc_train_on_two_ranks_ddp_equals_fsdp2(tmp_path):
    """The whole loop under torchrun: each rank rolls out and judges half the problems,
    the groups are gathered, the update is shared. DDP and FSDP2 replicate or shard the
    same computation, so their runs agree step by step; rank 0 alone writes the run."""
    bin_dir = Path(sys.executable).parent
    run_mc("model", "init", tmp_path / "tiny", "--seed", "0", check_rc=0)
    run_mc("data", "synth", "--count", "2", "--seed", "3", "-o", tmp_path / "train.jsonl", check_rc=0)
    runs = {}
    for name, extra in (("ddp", []), ("fsdp", ["--fsdp"])):
        proc = subprocess.run([str(bin_dir / "torchrun"), "--nproc-per-node", "2", str(bin_dir / "mc"), "train",
                               "--model", str(tmp_path / "tiny"), "--data", str(tmp_path / "train.jsonl"),
                               "--out", str(tmp_path / name), "--steps", "2", "--batch-problems", "6", "-n", "4",
                               "--max-tokens", "16", "--lr", "1e-3", "--backend", "hf", "--save-every", "2",
                               "--eval-data", str(tmp_path / "train.jsonl"), "--eval-every", "2", "--eval-n", "1", *extra],
                              capture_output=True, timeout=600)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        runs[name] = jsonl_lines((tmp_path / name / "metrics.jsonl").read_bytes())
    ddp, fsdp = runs["ddp"], runs["fsdp"]
    assert [d["step"] for d in ddp] == [0, 1] and all(d["ranks"] == 2 and d["groups"] == 6 for d in ddp)
    for a, b in zip(ddp, fsdp):
        assert a["reward_mean"] == b["reward_mean"] and a["samples"] == b["samples"] == 24
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
    assert ddp[-1]["eval_pass@1"] == fsdp[-1]["eval_pass@1"]
    assert json.loads((tmp_path / "fsdp" / "run.json").read_text())["ranks"] == 2
    # Rank 0's checkpoint is an ordinary HF folder: one process samples from it.
    sampled = run_mc("rollout", "--model", tmp_path / "fsdp" / "ckpt-000002", "-n", "1", "--max-tokens", "4",
                     tmp_path / "train.jsonl", check_rc=0)
    assert len(jsonl_lines(sampled.stdout)) == 16
