"""Shared test helpers: where the real data lives, and running `mc` for real.

(A module of its own, not conftest.py: tests/reward has a conftest too, and
`from conftest import` would be ambiguous.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _find_shared_data() -> Path | None:
    env = os.environ.get("MC_SHARED_DATA")
    if env:
        return Path(env)
    # Beside the checkout (../shared/data), or the workplace's fixed location
    # when the checkout is a fresh clone elsewhere.
    for candidate in [*(p / "shared" / "data" for p in [REPO, *REPO.parents]), Path("/work/shared/data")]:
        if (candidate / "SOURCES.md").exists():
            return candidate
    return None


SHARED_DATA = _find_shared_data()


class Paths:
    """The real public problem sets, by name."""

    def __init__(self, root: Path):
        self.root = root
        self.lcb_public = root / "livecodebench_public_tests_rllm" / "livecodebench.json"
        self.o1_mini = root / "livecodebench_submissions" / "O1-Mini-2024-09-12_N1.Scenario.codegeneration_1_0.2_eval_all.json"
        self.o1_preview = root / "livecodebench_submissions" / "O1-Preview-2024-09-12_N1.Scenario.codegeneration_1_0.2_eval_all.json"
        self.qwen_eval = root / "livecodebench_outputs" / "Qwen2.5-Ins-7B.Scenario.codegeneration_1_0.2_eval_all.json"
        self.humaneval = root / "humaneval" / "HumanEval.jsonl.gz"
        self.mbpp = root / "mbpp" / "mbpp.jsonl"
        self.apps = root / "apps_coderl" / "train"


def run_mc(*args, input: bytes | str | None = None, cwd=None, env=None, check_rc: int | None = None):
    """Run the real `mc` command in a subprocess; returns CompletedProcess (bytes)."""
    if isinstance(input, str):
        input = input.encode()
    full_env = {**os.environ, "MC_PROGRESS": "0", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "mc", *map(str, args)],
        input=input,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=600,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr.decode()
    return proc


def jsonl_lines(data: bytes) -> list[dict]:
    import json

    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def logprob_gaps(model, groups, top_p: float = 1.0, top_k: int = 0) -> tuple[float, float]:
    """(max, mean) |recorded - recomputed| log-prob over every response token of the
    groups' samples: recomputed by one plain forward pass of `model` (no cache, no
    padding) under the distribution each sample was drawn from (its temperature;
    `top_p`/`top_k` as sampled). Every sample must record one log-prob per token."""
    import torch

    from mc.rollout.sampling import sampling_logprobs

    worst, total, count = 0.0, 0.0, 0
    for g in groups:
        start = len(g["prompt_ids"])
        for s in g["samples"]:
            assert len(s["logprobs"]) == len(s["token_ids"])
            ids = torch.tensor([g["prompt_ids"] + s["token_ids"]])
            with torch.no_grad():
                logits = model(ids).logits[0]
            lp = sampling_logprobs(logits[start - 1 : -1], s["temperature"], top_p, top_k)
            diff = (lp.gather(-1, ids[0, start:, None]).squeeze(-1) - torch.tensor(s["logprobs"])).abs()
            worst, total, count = max(worst, float(diff.max())), total + float(diff.sum()), count + len(diff)
    return worst, total / max(count, 1)


def wandb_history(run_file) -> list[dict]:
    """The history rows of an offline W&B run file (run-ID.wandb), read back for a test.

    wandb 0.31 writes it from its Go core and ships no Python reader: the file is a
    ':W&B' header (7 bytes) then LevelDB log records (32 KiB blocks; each chunk a
    7-byte header: crc32c, length, type FULL=1 / FIRST=2 / MIDDLE=3 / LAST=4)
    holding wandb's own protobuf Records, parsed with wandb's own classes."""
    import json

    from wandb.proto import wandb_internal_pb2

    data = Path(run_file).read_bytes()
    assert data[:4] == b":W&B", run_file
    rows, pending, pos, block = [], b"", 7, 32768
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            if record.WhichOneof("record_type") == "history":
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item})
    return rows
