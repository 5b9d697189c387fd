"""--log tensorboard,wandb: the same numbers as metrics.jsonl, read back from the files the
real TensorBoard writer and the real wandb (offline) wrote; resumes continue one run."""

from __future__ import annotations

import json

import pytest

from helpers import run_mc, wandb_history
from mc.errors import McUsageError
from mc.sinks import numbers, parse_sinks, run_id

OFFLINE = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def test_parse_sinks_and_numbers():
    assert parse_sinks("tensorboard, wandb,tensorboard") == ["tensorboard", "wandb"]
    assert parse_sinks(None) == []
    with pytest.raises(McUsageError, match="unknown sink 'mlflow'"):
        parse_sinks("tensorboard,mlflow")
    line = {"step": 3, "loss": 0.5, "groups": 4, "skipped": False, "eval_pass@1": None, "timeline": {"generate": [[0, 1]]},
            "grad_norm": float("nan"), "note": "x"}
    assert numbers(line) == {"loss": 0.5, "groups": 4.0}
    assert run_id("/a/b") == run_id("/a/b/") != run_id("/a/c")


def scalars(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def wandb_rows(folder) -> list[dict]:
    files = sorted(folder.glob("wandb/offline-run-*/run-*.wandb"))
    assert files, list(folder.rglob("*"))
    assert len({f.name for f in files}) == 1  # every command logged into one W&B run
    return [row for f in files for row in wandb_history(f)]


def test_mc_train_logs_to_tensorboard_and_wandb_and_resumes_into_them(tiny_model, tmp_path):
    run_mc("data", "synth", "--count", "2", "--seed", "1", "-o", tmp_path / "train.jsonl", check_rc=0)
    common = ["train", "--model", tiny_model, "--data", tmp_path / "train.jsonl", "--out", tmp_path / "run", "--batch-problems", "2",
              "--n", "2", "--max-tokens", "8", "--lr", "1e-3", "--save-every", "1", "--log", "tensorboard,wandb"]
    first = run_mc(*common, "--steps", "1", env=OFFLINE, check_rc=0)
    assert first.stdout == b""  # wandb's talk went to stderr
    run_mc(*common, "--steps", "2", "--resume", env=OFFLINE, check_rc=0)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [0, 1]
    board = scalars(tmp_path / "run" / "tensorboard")
    for key in ("loss", "reward_mean", "grad_norm", "step_s", "generate_busy_s", "staleness_max"):
        assert board[key] == [(m["step"], pytest.approx(m[key], rel=1e-6, abs=1e-6)) for m in lines], key
    assert "timeline" not in board and "eval_pass@1" not in board
    rows = wandb_rows(tmp_path / "run")
    assert [r["_step"] for r in rows] == [0, 1]
    for row, m in zip(rows, lines):
        assert row["loss"] == pytest.approx(m["loss"]) and row["reward_mean"] == pytest.approx(m["reward_mean"])
    config = json.loads((tmp_path / "run" / "run.json").read_text())
    assert config["flags"]["log"] == "tensorboard,wandb"


@pytest.mark.slow  # three commands that each load a model: ~1.5 min on 2 cores (make test runs it)
def test_train_step_and_sft_log_into_one_folder(tiny_model, tmp_path):
    from train_helpers import scored_file

    scored_file(tiny_model, tmp_path / "scored.jsonl")
    scored = tmp_path / "scored.jsonl"
    logs = tmp_path / "logs"
    for step, policy in ((0, tiny_model), (1, tmp_path / "s1")):
        out = run_mc("train-step", "--policy", policy, "--out", tmp_path / f"s{step + 1}", "--lr", "1e-3", scored,
                     "--log", "tensorboard,wandb", "--log-dir", logs, env=OFFLINE, check_rc=0)
        assert [json.loads(line)["step"] for line in out.stdout.decode().splitlines()] == [step]
    board = scalars(logs / "tensorboard")
    assert [s for s, _ in board["loss"]] == [0, 1]
    assert [r["_step"] for r in wandb_rows(logs)] == [0, 1]
    missing = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "x", "--lr", "1e-3", scored, "--log", "tensorboard")
    assert missing.returncode == 2 and b"--log-dir" in missing.stderr
    unknown = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "x", "--lr", "1e-3", scored, "--log", "mlflow",
                     "--log-dir", logs)
    assert unknown.returncode == 2 and b"unknown sink" in unknown.stderr

    run_mc("data", "synth", "--count", "4", "--seed", "1", "-o", tmp_path / "demos.jsonl", check_rc=0)
    sft = run_mc("sft", "--model", tiny_model, "--data", tmp_path / "demos.jsonl", "--out", tmp_path / "warm", "--steps", "3",
                 "--log", "tensorboard", "--log-dir", tmp_path / "sft-logs", check_rc=0)
    losses = [json.loads(line)["loss"] for line in sft.stdout.decode().splitlines()]
    assert [v for _, v in scalars(tmp_path / "sft-logs" / "tensorboard")["loss"]] == pytest.approx(losses, rel=1e-6)
