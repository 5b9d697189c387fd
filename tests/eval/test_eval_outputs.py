"""mc eval's outputs: checked before the model loads, landed together, PNGs anywhere."""

from __future__ import annotations

import pytest

import json
import os
import stat

from helpers import jsonl_lines, run_mc


def _problems() -> bytes:
    return run_mc("data", "synth", "--count", "2", "--families", "add_k", check_rc=0).stdout


@pytest.mark.slow
def test_json_out_and_save_groups_land_with_the_report(tiny_model, tmp_path):
    proc = run_mc("eval", "--model", tiny_model, "--n", "2", "--max-tokens", "8", "--isolation", "none",
                  "--json-out", tmp_path / "r.json", "--save-groups", tmp_path / "g.jsonl", input=_problems(), check_rc=0)
    assert (tmp_path / "r.json").read_bytes() == proc.stdout
    groups = jsonl_lines((tmp_path / "g.jsonl").read_bytes())
    assert len(groups) == 2 and all(len(g["samples"]) == 2 and "verdict" in g["samples"][0] for g in groups)
    assert json.loads(proc.stdout)["runs"]["8"]["problems"] == 2


def test_a_bad_side_output_fails_before_the_model_loads(tiny_model, tmp_path):
    (tmp_path / "g.jsonl").write_text("old\n")
    proc = run_mc("eval", "--model", tiny_model, "--n", "2", "--max-tokens", "8", "--save-groups", tmp_path / "g.jsonl",
                  "--json-out", tmp_path / "nodir" / "r.json", input=_problems())
    assert proc.returncode == 1 and b"nodir" in proc.stderr
    assert (tmp_path / "g.jsonl").read_text() == "old\n"
    assert b"problems" not in proc.stderr  # no report table: nothing ran


def test_misused_outputs_are_usage_errors(tmp_path):
    assert run_mc("eval", "--scored", "--json-out", "-", input=b"").returncode == 2
    assert run_mc("eval", "--scored", "--save-groups", tmp_path / "g.jsonl", input=b"").returncode == 2
    assert not (tmp_path / "g.jsonl").exists()


def test_plot_writes_to_stdout_and_special_files(tmp_path):
    metrics = tmp_path / "m.jsonl"
    metrics.write_text("".join(json.dumps({"step": i, "reward_mean": i / 10}) + "\n" for i in range(3)))
    proc = run_mc("eval", "plot", metrics, "-o", "-", check_rc=0)
    assert proc.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    assert not os.path.exists("-")
    run_mc("eval", "plot", metrics, "-o", "/dev/null", check_rc=0)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
