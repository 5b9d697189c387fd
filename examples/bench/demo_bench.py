"""Benchmark: the demo's wall time with each sampling backend (hf, then vllm), one run each.

Runs examples/demo end to end twice in fresh folders, the same seed, BACKEND=hf
and BACKEND=vllm, and prints per backend: the whole demo's wall time (engine
start-ups included: mc train, and each mc eval, starts its own), the GRPO run's
steps (rollout + reward + update, and the periodic evals), their seconds in
rollouts alone, and the held-out pass@1 reached. The two runs
sample different tokens (different engines, different random streams), so
pass@1 agrees only statistically. The vllm run is skipped where vLLM is not
usable (make vllm installs the CPU build).

    python examples/bench/demo_bench.py [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "demo")


def run_demo(backend: str, out: str, seed: int) -> dict:
    bin_dir = os.path.dirname(sys.executable)
    started = time.perf_counter()
    proc = subprocess.run(["make", "-s", "-C", DEMO, f"MC={os.path.join(bin_dir, 'mc')}", f"PYTHON={sys.executable}",
                           f"OUT={out}", f"SEED={seed}", f"BACKEND={backend}"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "MC_PROGRESS": "0"})
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode()[-3000:])
        raise SystemExit(f"the demo failed with BACKEND={backend}")
    with open(os.path.join(out, "grpo", "metrics.jsonl")) as f:
        steps = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(out, "grpo.json")) as f:
        grpo = next(iter(json.load(f)["runs"].values()))
    return {"wall_s": wall, "grpo_s": sum(d["step_s"] for d in steps), "rollout_s": sum(d["rollout_s"] for d in steps),
            "pass@1": grpo["overall"]["pass@1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="write the demo folders here (default: a temporary folder, removed)")
    args = parser.parse_args()
    from mc.rollout.backends import vllm_usable

    root = args.keep or tempfile.mkdtemp(prefix="mc-demo-bench-")
    backends = ["hf"]
    usable, why = vllm_usable()
    if usable:
        backends.append("vllm")
    else:
        print(f"vllm skipped: {why}", flush=True)
    results = {}
    try:
        for backend in backends:
            results[backend] = r = run_demo(backend, os.path.join(root, backend), args.seed)
            print(f"demo, --backend {backend:4}: {r['wall_s']:6.0f} s in all; GRPO steps {r['grpo_s']:5.0f} s "
                  f"(rollouts {r['rollout_s']:5.0f} s); held-out pass@1 after GRPO {100 * r['pass@1']:.1f}%", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if "vllm" in results:
        hf, vllm = results["hf"], results["vllm"]
        print(f"ratio vllm / hf: whole demo {vllm['wall_s'] / hf['wall_s']:.2f}, GRPO steps {vllm['grpo_s'] / hf['grpo_s']:.2f}, "
              f"rollouts {vllm['rollout_s'] / hf['rollout_s']:.2f} (below 1: vllm is faster)")


if __name__ == "__main__":
    main()
