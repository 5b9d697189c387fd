"""examples/paper: `make smoke` runs every ablation's every arm for two steps, and each
arm's flags reach its run (run.json, metrics), its eval and the ablation's table and curves."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import REPO

ARMS = {
    "presets": ["grpo", "dapo", "drgrpo", "microcoder"], "truncation": ["none", "all", "rho0.1", "rho0.3"],
    "temperature": ["t0.6", "t1.2", "staged", "auto"], "evaluator": ["strict", "microcoder"],
    "batch": ["on-policy", "off-policy"], "kl": ["kl-symmetric", "nokl-clip-higher"], "length": ["short", "long"],
}


@pytest.mark.slow  # 20 arms x (2 steps + an eval): ~4.5 min alone on 2 cores
@pytest.mark.timeout(3600)  # beside the demo on a busy CI machine it has taken over 15 min
def test_every_ablation_runs_and_each_arm_gets_its_flags(tmp_path):
    bin_dir = os.path.dirname(sys.executable)
    proc = subprocess.run(["make", "-s", "-C", str(REPO / "examples" / "paper"), "smoke", f"OUT={tmp_path / 'p'}",
                           f"MC={os.path.join(bin_dir, 'mc')}", f"PYTHON={sys.executable}"],
                          capture_output=True, env={**os.environ, "MC_PROGRESS": "0"}, timeout=3500)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    out = tmp_path / "p-smoke"
    for ablation, arms in ARMS.items():
        assert (out / f"{ablation}.png").stat().st_size > 10_000
        summary = (out / f"{ablation}.summary.txt").read_text()
        assert all(arm in summary for arm in arms) and all(len(line) <= 80 for line in summary.splitlines())
        assert all(arm in (out / f"{ablation}.compare.txt").read_text() for arm in arms)
    run = {(a, arm): json.loads((out / a / arm / "run.json").read_text()) for a, arms in ARMS.items() for arm in arms}
    assert [run["presets", p]["train"]["preset"] for p in ARMS["presets"]] == ARMS["presets"]
    assert run["presets", "dapo"]["loop"]["dynamic_sampling"] and run["presets", "drgrpo"]["train"]["scale_rewards"] == "none"
    assert [(run["truncation", a]["train"]["truncation_mask"], run["truncation", a]["train"]["ctm_rho"]) for a in ARMS["truncation"]] \
        == [("none", 0.1), ("all", 0.1), ("conditional", 0.1), ("conditional", 0.3)]
    assert run["truncation", "none"]["rollout"]["max_tokens"] == 22
    assert run["temperature", "t0.6"]["rollout"]["temperature"] == 0.6 and run["temperature", "staged"]["rollout"]["schedule"]
    assert "auto_temperature" in run["temperature", "auto"]
    assert run["evaluator", "strict"]["flags"]["compare"] == "strict"
    assert run["kl", "kl-symmetric"]["train"]["kl_coef"] == 1e-3 and run["kl", "nokl-clip-higher"]["train"]["clip_high"] == 0.28
    assert run["kl", "kl-symmetric"]["train"]["mini_batches"] == run["kl", "nokl-clip-higher"]["train"]["mini_batches"] == 2
    off = [json.loads(line) for line in (out / "batch" / "off-policy" / "metrics.jsonl").read_text().splitlines()]
    assert len(off) == 2 * 4 and {m["mini_batch"] for m in off} == {0, 1, 2, 3}
    assert list(json.loads((out / "length" / "short.json").read_text())["runs"]) == ["24", "48"]
