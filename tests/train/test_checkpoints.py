"""Checkpoints as train-step and sft read and write them: --out safety, damaged
trainer state, absolute paths in meta.json, the learning rate carried along."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import jsonl_lines, run_mc
from train_helpers import scored_file


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("scored") / "scored.jsonl"
    scored_file(tiny_model, path)
    return path


@pytest.fixture(scope="module")
def ckpt(tiny_model, scored, tmp_path_factory):
    """One train-step from the tiny model at lr 3e-4: an mc checkpoint with optimizer state."""
    out = tmp_path_factory.mktemp("ckpt") / "step1"
    run_mc("train-step", "--policy", tiny_model, "--out", out, "--lr", "3e-4", scored, check_rc=0)
    return out


def one_line_error(proc, rc: int) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == rc, err
    assert "internal error" not in err and "Traceback" not in err
    return err


# --- --out --------------------------------------------------------------------------


@pytest.mark.slow  # ~10-35 s: the default suite stays under 10 minutes
def test_train_step_refuses_to_replace_a_folder_of_other_files(tiny_model, scored, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    err = one_line_error(run_mc("train-step", "--policy", tiny_model, "--out", notes, "--lr", "3e-4", scored), 2)
    assert "notes.txt" in err and "pass --force to replace it" in err
    assert (notes / "notes.txt").read_text() == "mine"
    run_mc("train-step", "--policy", tiny_model, "--out", notes, "--lr", "3e-4", "--force", scored, check_rc=0)
    assert not (notes / "notes.txt").exists() and (notes / "meta.json").exists()


@pytest.mark.slow
def test_an_mc_checkpoint_or_the_policy_itself_is_replaced(ckpt, scored, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(ckpt, other)
    run_mc("train-step", "--policy", ckpt, "--out", other, scored, check_rc=0)  # an mc checkpoint: replaced
    assert json.loads((other / "meta.json").read_text())["step"] == 2
    policy = tmp_path / "policy"
    shutil.copytree(ckpt, policy)
    (policy / "meta.json").unlink()  # not written by mc any more, but it is --policy
    shutil.rmtree(policy / "trainer")
    run_mc("train-step", "--policy", policy, "--out", policy, "--lr", "3e-4", scored, check_rc=0)


def test_a_bad_out_fails_before_the_groups_are_read(tiny_model, tmp_path):
    (tmp_path / "file").write_text("x")
    # The groups on stdin would be a malformed line (exit 1) if they were read first.
    err = one_line_error(run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "file" / "ckpt", "--lr", "3e-4",
                                input=b"not json\n"), 2)
    assert "is a file, not a folder" in err


@pytest.mark.slow
def test_sft_refuses_a_folder_of_other_files(tiny_model, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    data = tmp_path / "demos.jsonl"
    run_mc("data", "synth", "--count", "2", "--seed", "1", "-o", data, check_rc=0)
    err = one_line_error(run_mc("sft", "--model", tiny_model, "--data", data, "--out", notes, "--steps", "1"), 2)
    assert "pass --force" in err and (notes / "notes.txt").exists()
    proc = run_mc("sft", "--model", tiny_model, "--data", data, "--out", notes, "--steps", "2", "--force",
                  env={"MC_PROGRESS": "1"}, check_rc=0)
    assert not (notes / "notes.txt").exists()
    # Progress in a log: the model loading and the steps are lines on stderr (stdout stays the loss lines);
    # with --no-progress only the steps' line, the run's log.
    assert b"sft: loading" in proc.stderr and b"sft 2/2: loss" in proc.stderr
    quiet = run_mc("--no-progress", "sft", "--model", tiny_model, "--data", data, "--out", notes, "--steps", "2",
                   env={"MC_PROGRESS": "1"}, check_rc=0)
    assert b"sft: loading" not in quiet.stderr and b"sft 2/2: loss" in quiet.stderr
    assert [line["sft_step"] for line in jsonl_lines(proc.stdout)] == [0, 1]


# --- damaged trainer state --------------------------------------------------------------


def damaged(ckpt, tmp_path, change) -> str:
    path = tmp_path / "damaged"
    shutil.copytree(ckpt, path)
    change(path)
    return str(path)


@pytest.mark.parametrize("name, change, message", [
    ("meta", lambda p: (p / "meta.json").write_text('{"step": 1, '), "meta.json"),
    ("meta-not-object", lambda p: (p / "meta.json").write_text("[1]"), "meta.json"),
    ("meta-bad-step", lambda p: (p / "meta.json").write_text('{"step": "one"}'), "meta.json"),
    ("optimizer", lambda p: (p / "trainer" / "optimizer.safetensors").write_bytes(b"\x10\x00"), "optimizer.safetensors"),
    ("rng", lambda p: (p / "trainer" / "rng.safetensors").write_bytes(b"garbage"), "rng.safetensors"),
    ("no-meta", lambda p: (p / "meta.json").unlink(), "no meta.json"),
])
def test_a_damaged_checkpoint_is_an_error_naming_the_file(ckpt, tmp_path, name, change, message):
    from mc.errors import McError
    from mc.train.step import Trainer, TrainConfig

    path = damaged(ckpt, tmp_path, change)
    with pytest.raises(McError, match=message):
        Trainer(path, TrainConfig(lr=3e-4), "cpu")


def test_a_damaged_checkpoint_exits_1_with_one_line(ckpt, scored, tmp_path):
    path = damaged(ckpt, tmp_path, lambda p: (p / "trainer" / "optimizer.safetensors").write_bytes(b"\x10\x00"))
    err = one_line_error(run_mc("train-step", "--policy", path, "--out", tmp_path / "o", "--lr", "3e-4", scored), 1)
    assert "optimizer.safetensors" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_lost_adamw_moments_are_a_warning(ckpt, scored, tmp_path):
    path = damaged(ckpt, tmp_path, lambda p: (p / "trainer" / "optimizer.safetensors").unlink())
    proc = run_mc("train-step", "--policy", path, "--out", tmp_path / "o", scored, check_rc=0)
    assert b"AdamW moments" in proc.stderr and b"lost" in proc.stderr


@pytest.mark.slow
def test_a_plain_model_folder_is_a_silent_fresh_start(tiny_model, scored, tmp_path):
    proc = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "3e-4", scored, check_rc=0)
    assert b"warning" not in proc.stderr
    assert jsonl_lines(proc.stdout)[0]["step"] == 0


# --- meta.json ----------------------------------------------------------------------


@pytest.mark.slow
def test_meta_names_models_by_absolute_path(tiny_model, scored, tmp_path):
    shutil.copytree(tiny_model, tmp_path / "tiny")
    run_mc("train-step", "--policy", "tiny", "--out", "one", "--lr", "3e-4", "--ref-model", "tiny", scored, cwd=tmp_path,
           check_rc=0)
    meta = json.loads((tmp_path / "one" / "meta.json").read_text())
    assert meta["ref_model"] == meta["parent"] == meta["flags"]["ref_model"] == str(tmp_path / "tiny")
    data = tmp_path / "demos.jsonl"
    run_mc("data", "synth", "--count", "2", "--seed", "1", "-o", data, check_rc=0)
    run_mc("sft", "--model", "tiny", "--data", data, "--out", "warm", "--steps", "1", cwd=tmp_path, check_rc=0)
    assert json.loads((tmp_path / "warm" / "meta.json").read_text())["parent"] == str(tmp_path / "tiny")


# --- --lr -----------------------------------------------------------------------------


def test_lr_is_required_for_a_plain_model(tiny_model, scored, tmp_path):
    err = one_line_error(run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", scored), 2)
    assert "pass --lr: 1e-6 suits pretrained 1-8B models (the MicroCoder paper), 3e-4 the built-in tiny model" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_lr_defaults_to_the_checkpoints_own(ckpt, scored, tmp_path):
    line = jsonl_lines(run_mc("train-step", "--policy", ckpt, "--out", tmp_path / "o", scored, check_rc=0).stdout)[0]
    assert line["lr"] == pytest.approx(3e-4)
    assert json.loads((tmp_path / "o" / "meta.json").read_text())["flags"]["lr"] == pytest.approx(3e-4)
    line = jsonl_lines(run_mc("train-step", "--policy", ckpt, "--out", tmp_path / "o", "--lr", "1e-4", scored,
                              check_rc=0).stdout)[0]
    assert line["lr"] == pytest.approx(1e-4)  # an explicit flag wins


def test_resolve_lr(ckpt, tiny_model):
    from mc.errors import McUsageError
    from mc.train.settings import resolve_lr

    assert resolve_lr(0.5, str(tiny_model)) == 0.5
    assert resolve_lr(None, str(ckpt)) == pytest.approx(3e-4)
    with pytest.raises(McUsageError, match="pass --lr"):
        resolve_lr(None, "Qwen/Qwen3-1.7B")  # a hub id records nothing
