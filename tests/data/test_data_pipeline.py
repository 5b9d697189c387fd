"""examples/data-pipeline end to end on the real sets, small: the newest 24 LiveCodeBench
problems before the cutoff and APPS' five, measured from graded programs, rated by the
tiny model, calibrated and selected; every stage's output is there and consistent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import REPO


@pytest.mark.slow  # ~1-2 min on 2 cores
def test_the_curation_pipeline_runs_and_its_figures_add_up(data_dir, tmp_path):
    out = tmp_path / "dp"
    proc = subprocess.run(["make", "-C", str(REPO / "examples" / "data-pipeline"), f"MC={os.path.dirname(sys.executable)}/mc",
                           f"DATA={data_dir}", f"OUT={out}", "LATEST=24", f"EXTRA_SETS={data_dir}/apps_coderl/train"],
                          capture_output=True, env={**os.environ, "MC_PROGRESS": "0"}, timeout=1200)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    read = lambda name: [json.loads(line) for line in (out / name).read_text().splitlines()]  # noqa: E731
    recent, measured, predicted, selected = (read(n) for n in ("recent.jsonl", "measured.jsonl", "predicted.jsonl",
                                                               "selected.jsonl"))
    assert len(recent) == 24 and all(p["date"] < "2024-08-01" for p in recent)
    assert len(measured) == 24 and all(p["meta"]["pass_samples"] == 3 for p in measured)
    assert len(predicted) == 24 + 5 and all(0 <= p["meta"]["predicted_difficulty"]["score"] <= 1 for p in predicted)
    dropped = read("dropped_by_difficulty.jsonl")
    assert len(selected) + len(dropped) == len(predicted)
    assert all(p["meta"]["pass_rate_estimate"] <= 0.67 for p in selected)
    stderr = proc.stderr.decode()
    assert "Spearman, score vs 1 - pass rate (held out)" in stderr and "difficulty mix by estimated pass rate" in stderr
