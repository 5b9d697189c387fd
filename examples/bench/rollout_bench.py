"""Benchmark: sampling throughput of mc's hf backend next to plain `model.generate`,
and of the vllm backend (where vLLM is usable: its CPU build here) next to both.

Same model, same prompts (LiveCodeBench statements rendered by mc's prompt
builder), same batch (problems x n sequences), same sampling settings (float32),
measured in the same run. mc's loops also record each sampled token's
log-probability; `generate` is run without `output_scores` (with it, memory grows
with steps x batch x vocab). vLLM's start-up (import, compile, KV cache) is
printed apart from its throughput: it is paid once per process.

    python examples/bench/rollout_bench.py [--model DIR] [--problems 8] [--n 8] [--max-tokens 256] [--no-vllm]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: build the tiny model)")
    parser.add_argument("--data", default=os.environ.get("MC_SHARED_DATA", "../shared/data"))
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-vllm", action="store_true", help="skip the vllm backend")
    args = parser.parse_args()

    import torch
    from transformers import GenerationConfig

    from mc.data.importer import import_problems
    from mc.model import init_model
    from mc.rollout.hf import HFBackend
    from mc.rollout.prompts import render_prompt

    model_path = args.model
    if model_path is None:
        model_path = os.path.join(tempfile.mkdtemp(), "tiny")
        init_model(model_path, "tiny", seed=0)
    backend = HFBackend(model_path)
    lcb = os.path.join(args.data, "livecodebench_public_tests_rllm", "livecodebench.json")
    problems = [p for p in import_problems([lcb]) if len(p["question"]) < 1500][: args.problems]
    prompts = [backend.tokenizer(render_prompt(p, backend.tokenizer), add_special_tokens=False)["input_ids"] for p in problems]
    sequences = len(prompts) * args.n
    print(f"model {model_path}: {sum(p.numel() for p in backend.model.parameters()):,} parameters on {backend.device}; "
          f"{len(prompts)} prompts x {args.n} samples, {args.max_tokens} new tokens, threads {torch.get_num_threads()}", flush=True)

    def mc_run() -> int:
        generator = torch.Generator().manual_seed(0)
        groups = backend.sample(prompts, args.n, 1.0, 1.0, 0, args.max_tokens, generator)
        return sum(len(c.token_ids) for g in groups for c in g)

    def generate_run() -> int:
        rows = [p for p in prompts for _ in range(args.n)]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), backend.pad_id)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r):] = torch.tensor(r)
            mask[i, width - len(r):] = 1
        config = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=args.max_tokens,
                                  eos_token_id=backend.stop_ids, pad_token_id=backend.pad_id)
        torch.manual_seed(0)
        with torch.no_grad():
            out = backend.model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        new = out[:, width:]
        stops = torch.isin(new, torch.tensor(backend.stop_ids))
        lengths = torch.where(stops.any(-1), stops.int().argmax(-1) + 1, torch.full((len(rows),), new.shape[1]))
        return int(lengths.sum())

    runs = [("mc hf backend", mc_run), ("model.generate", generate_run)]
    from mc.rollout.backends import vllm_usable

    usable, why = vllm_usable()
    if usable and not args.no_vllm:
        from mc.rollout.vllm_backend import VLLMBackend

        started = time.perf_counter()
        engine = VLLMBackend(model_path, dtype="float32", seed=0)
        print(f"vllm engine start-up: {time.perf_counter() - started:.1f} s ({engine.threads} threads)", flush=True)

        def vllm_run() -> int:
            generator = torch.Generator().manual_seed(0)
            groups = engine.sample(prompts, args.n, 1.0, 1.0, 0, args.max_tokens, generator)
            return sum(len(c.token_ids) for g in groups for c in g)

        runs.insert(1, ("mc vllm backend", vllm_run))
    elif not args.no_vllm:
        print(f"vllm backend skipped: {why}", flush=True)

    results = {}
    for name, fn in runs:
        fn()  # warm-up
        best = None
        for _ in range(args.repeats):
            started = time.perf_counter()
            tokens = fn()
            seconds = time.perf_counter() - started
            rate = tokens / seconds
            best = rate if best is None else max(best, rate)
        results[name] = best
        print(f"{name:>15}: {best:8.0f} generated tokens/s (best of {args.repeats}, {sequences} sequences)", flush=True)
    print(f"ratio: mc / generate = {results['mc hf backend'] / results['model.generate']:.2f}")
    if "mc vllm backend" in results:
        print(f"ratio: vllm / hf backend = {results['mc vllm backend'] / results['mc hf backend']:.2f}")


if __name__ == "__main__":
    main()
