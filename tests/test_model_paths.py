"""Model paths as users get them wrong: every loading command says what is wrong in one line."""

from __future__ import annotations

import shutil

import pytest

from helpers import run_mc


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    path = tmp_path_factory.mktemp("problems") / "p.jsonl"
    run_mc("data", "synth", "--count", "1", "--families", "add_k", "-o", path, check_rc=0)
    return path


def _load(kind: str, model, problems, tmp_path):
    if kind == "rollout":
        return run_mc("rollout", "-m", model, "--n", "1", "--max-tokens", "4", problems)
    if kind == "eval":
        return run_mc("eval", "-m", model, "--n", "1", "--max-tokens", "4", problems)
    return run_mc("train", "--model", model, "--data", problems, "--out", tmp_path / "run", "--steps", "1", "--lr", "1e-4")


def _one_line(proc) -> str:
    """The error: one line, last (mc train logs that it is loading the policy first)."""
    text = proc.stderr.decode().strip()
    assert proc.returncode == 1, text
    assert "Traceback" not in text and "internal error" not in text, text
    line = text.splitlines()[-1]
    assert line.startswith("error: "), text
    return line


@pytest.mark.parametrize("kind", ["rollout", pytest.param("eval", marks=pytest.mark.slow), pytest.param("train", marks=pytest.mark.slow)])
def test_a_truncated_weights_file(kind, tiny_model, problems, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    line = _one_line(_load(kind, broken, problems, tmp_path))
    assert "cannot load the weights" in line and "truncated or corrupt" in line


@pytest.mark.parametrize("kind", ["rollout", "eval", "train"])
def test_a_folder_that_is_not_a_model(kind, problems, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("hi")
    line = _one_line(_load(kind, folder, problems, tmp_path))
    assert "not a Hugging Face model folder (no config.json; it holds notes.txt)" in line


@pytest.mark.parametrize("path", ["./missing", "runs/a/ckpt-000010", "/nowhere/model"])
def test_a_missing_local_path_is_not_called_a_bad_hub_id(path, problems, tmp_path):
    line = _one_line(_load("rollout", path, problems, tmp_path))
    assert "no such folder" in line and "Repo id" not in line


def test_a_run_folder_points_at_its_checkpoints(problems, tmp_path):
    run = tmp_path / "run"
    (run / "ckpt-000004").mkdir(parents=True)
    (run / "metrics.jsonl").write_text("")
    line = _one_line(_load("rollout", run, problems, tmp_path))
    assert "ckpt-000004" in line
