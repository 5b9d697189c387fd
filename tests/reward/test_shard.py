"""`mc reward --shard I/N`: shards merged back in input order equal the unsharded run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import REPO, jsonl_lines, run_mc
from mc.data.synthetic import generate
from mc.shard import take_shard


def without_seconds(groups: list[dict]) -> list[dict]:
    """Measured times (time_s, run_time_s) differ run to run; everything else must not."""
    for g in groups:
        for s in g["samples"]:
            for key in [k for k in s if k.endswith("time_s")]:
                del s[key]
    return groups


def test_take_shard_matches_split_round_robin():
    assert [list(take_shard(range(7), i, 3)) for i in range(3)] == [[0, 3, 6], [1, 4], [2, 5]]


def test_sharded_rewards_merge_back_to_the_unsharded_run(tmp_path):
    problems = generate(["add_k", "mul_k", "rep_k", "len_k", "max_k"], count=2, seed=4)[:7]  # 7 groups: shards of 3, 2, 2
    groups = [{"schema": "mc.group/1", "problem": p, "seq": i,
               "samples": [{"text": f"```python\n{p['solutions'][0]}\n```"}, {"text": "```python\nprint(1)\n```"},
                           {"text": "no code"}, {"text": "```python\nraise SystemExit(3)\n```"}]}
              for i, p in enumerate(problems)]
    source = tmp_path / "groups.jsonl"
    source.write_text("".join(json.dumps(g) + "\n" for g in groups))
    whole = without_seconds(jsonl_lines(run_mc("reward", "-j", "2", source, check_rc=0).stdout))

    # The example Makefile: 3 local shard processes, merged with paste.
    bin_dir = Path(sys.executable).parent
    out = tmp_path / "scored.jsonl"
    proc = subprocess.run(["make", "-C", str(REPO / "examples" / "shard-rewards"), f"MC={bin_dir}/mc", f"IN={source}",
                           f"OUT={out}", "N=3", "FLAGS=-j1", "-j3"], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    merged = without_seconds(jsonl_lines(out.read_bytes()))
    assert merged == whole
    assert [g["seq"] for g in merged] == list(range(7))
    assert [s["verdict"] for s in merged[0]["samples"]] == ["pass", "wrong_answer", "no_code", "runtime_error"]
    assert len(jsonl_lines((tmp_path / "scored.jsonl.shards" / "out.0").read_bytes())) == 3


def test_bad_shard_is_a_usage_error(tmp_path):
    for bad in ("3/3", "1", "a/b", "0/0"):
        proc = run_mc("reward", "--shard", bad, input=b"")
        assert proc.returncode == 2 and b"--shard" in proc.stderr
