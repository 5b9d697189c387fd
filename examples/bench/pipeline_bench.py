"""Benchmark: mc train's step time with judging after generation, streamed, and one-step off-policy.

A reward-heavy workload: the tiny model, warmed up on demonstrations so that a
share of its programs are right, on problems with many stdin tests each (a
correct program runs all of them in the sandbox; a wrong one stops at its first
failure). Each mode trains the same steps from the same model, seed and data:

    sequential   --no-stream-judging   generate the whole batch, then judge it, then update
    streamed     (the default)         judge each group as it is sampled
    off-policy   --off-policy 1        streamed, and the next batch sampled and judged during the update

in two layouts of this machine's cores: "shared" (torch's threads on every
core, and as many judge workers: the two phases contend for the same cores, so
overlapping them can only fill the gaps each leaves) and "split" (one torch
thread, the other cores judging: generation and judging on separate hardware,
as on a GPU node, where the GPU samples and the CPUs judge). Step 0 is left out
of the means (every mode runs its first batch alone). Prints per mode: mean
step seconds, the lanes' busy seconds, the overlaps, and the ratio to the
sequential mode of the same layout (below 1: faster).

    python examples/bench/pipeline_bench.py [--steps 5] [--tests 16] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

MODES = {"sequential": ["--no-stream-judging"], "streamed": ["--stream-judging"], "off-policy": ["--stream-judging", "--off-policy", "1"]}
FAMILIES = "add_k,mul_k,sub_k,mod_k"


def mc(*args, env: dict | None = None) -> None:
    bin_dir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bin_dir, "mc"), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, "MC_PROGRESS": "0", **(env or {})})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode()[-3000:])
        raise SystemExit(f"mc {args[0]} failed")


def prepare(root: str, tests: int, seed: int) -> str:
    """Data and the warmed-up model (as examples/paper does: a bare prompt, demonstrations)."""
    with open(os.path.join(root, "template.txt"), "w") as f:
        f.write("{question}")
    mc("data", "synth", "--families", FAMILIES, "--count", "30", "--tests", tests, "--seed", seed, "-o", os.path.join(root, "train.jsonl"))
    mc("data", "synth", "--families", FAMILIES, "--count", "30", "--seed", seed + 1, "--exclude", os.path.join(root, "train.jsonl"),
       "-o", os.path.join(root, "demos.jsonl"))
    mc("model", "init", os.path.join(root, "tiny"), "--corpus", os.path.join(root, "train.jsonl"), "--seed", seed, "--force")
    mc("sft", "--model", os.path.join(root, "tiny"), "--data", os.path.join(root, "demos.jsonl"), "--out", os.path.join(root, "warm"),
       "--steps", "100", "--batch-size", "32", "--lr", "1e-3", "--seed", seed, "--prompt-template", os.path.join(root, "template.txt"),
       "--system-prompt", "")
    return os.path.join(root, "warm")


def train(root: str, model: str, out: str, mode: str, layout: str, steps: int, seed: int) -> list[dict]:
    cores = os.cpu_count() or 1
    env = {"OMP_NUM_THREADS": "1"} if layout == "split" else {}
    workers = max(1, cores - 1) if layout == "split" else cores
    mc("train", "--model", model, "--data", os.path.join(root, "train.jsonl"), "--out", out, "--steps", steps,
       "--batch-problems", "16", "--n", "8", "--max-tokens", "48", "--lr", "5e-4", "--seed", seed, "--save-every", steps,
       "--workers", workers, "--prompt-template", os.path.join(root, "template.txt"), "--system-prompt", "", *MODES[mode], env=env)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def mean(lines: list[dict], key: str) -> float:
    values = [float(line[key]) for line in lines]
    return sum(values) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--tests", type=int, default=16, help="stdin tests per training problem (the judge's load)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layouts", default="shared,split")
    parser.add_argument("--keep", help="write the runs here (default: a temporary folder, removed)")
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="mc-pipeline-bench-")
    os.makedirs(root, exist_ok=True)
    try:
        model = prepare(root, args.tests, args.seed)
        print(f"pipeline: {args.steps} steps of 16 problems x 8 samples, {args.tests} tests per problem, "
              f"{os.cpu_count()} cores; means over steps 1..{args.steps - 1}", flush=True)
        print(f"{'layout':7} {'mode':10} {'step s':>7} {'gen':>6} {'judge':>6} {'update':>6} {'g+j':>5} {'g+u':>5} "
              f"{'pass':>5} {'ratio':>6}", flush=True)
        for layout in args.layouts.split(","):
            base = None
            for mode in MODES:
                lines = [line for line in train(root, model, os.path.join(root, f"{layout}-{mode}"), mode, layout, args.steps, args.seed)
                         if line["step"] >= 1]
                step = mean(lines, "step_s")
                base = base or step
                print(f"{layout:7} {mode:10} {step:7.2f} {mean(lines, 'generate_busy_s'):6.2f} {mean(lines, 'judge_busy_s'):6.2f} "
                      f"{mean(lines, 'update_busy_s'):6.2f} {mean(lines, 'generate_judge_overlap_s'):5.2f} "
                      f"{mean(lines, 'generate_update_overlap_s'):5.2f} {mean(lines, 'pass_rate'):5.2f} {step / base:6.2f}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
