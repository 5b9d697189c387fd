"""`mc train`: the whole GRPO loop in one process (logic in mc/train/loop.py)."""

from __future__ import annotations

from typing import Optional

import typer

from mc.commands.common import (
    COMPARE,
    ISOLATION,
    MEMORY_MB,
    OUTPUT_MB,
    R_BACKEND,
    R_BATCH_SIZE,
    R_MAX_TOKENS,
    R_N,
    R_PROMPT_TEMPLATE,
    R_SYSTEM_PROMPT,
    R_REPEAT_WINDOW,
    R_TEMPERATURE_SCHEDULE,
    R_TENSOR_PARALLEL_SIZE,
    R_TOP_K,
    R_TOP_P,
    T_BF16,
    T_CLIP_HIGH,
    T_CLIP_LOW,
    T_CTM_RHO,
    T_DUAL_CLIP,
    T_FSDP,
    T_GRAD_CHECKPOINTING,
    T_KL_COEF,
    T_LOSS_AGG,
    T_LR,
    T_MAX_GRAD_NORM,
    T_MICRO_BATCH_TOKENS,
    T_MINI_BATCHES,
    T_PRESET,
    T_REF_MODEL,
    T_TRUNCATION_MASK,
    T_WARMUP_STEPS,
    T_WEIGHT_DECAY,
    TIME_LIMIT,
    WORKERS,
    judge_config,
    train_config_from,
)


def train(
    model: str = typer.Option(..., "--model", "-m", metavar="PATH", help="The starting policy (HF folder or hub id)."),
    data: str = typer.Option(..., "--data", metavar="TRAIN", help="Training problems (Problem records)."),
    out: str = typer.Option(..., "--out", metavar="RUN", help="Run folder: metrics.jsonl, ckpt-NNNNNN/, groups/."),
    steps: int = typer.Option(..., "--steps", min=1, help="Policy steps (rollout batches) to reach."),
    batch_problems: int = typer.Option(16, "--batch-problems", min=1, help="Problems per step (the paper: 64)."),
    save_every: int = typer.Option(10, "--save-every", min=1, help="Checkpoint every this many steps (and at the end)."),
    eval_data: Optional[str] = typer.Option(None, "--eval-data", metavar="EVAL", help="Held-out problems for eval_pass@1."),
    eval_every: int = typer.Option(0, "--eval-every", min=0, help="Evaluate every this many steps (0: never)."),
    eval_n: int = typer.Option(4, "--eval-n", min=1, help="Samples per held-out problem."),
    save_groups: bool = typer.Option(False, "--save-groups", help="Keep each step's scored groups in RUN/groups/."),
    resume: bool = typer.Option(False, "--resume", help="Continue RUN from its last complete checkpoint."),
    seed: int = typer.Option(0, "--seed", help="Data order, rollout seeds (seed + step) and the truncation mask."),
    n: int = R_N,
    temperature: float = typer.Option(1.0, "--temperature", "-t", min=0.0, help="Rollout temperature (or a --temperature-schedule)."),
    temperature_schedule: Optional[str] = R_TEMPERATURE_SCHEDULE,
    top_p: float = R_TOP_P,
    top_k: int = R_TOP_K,
    max_tokens: int = R_MAX_TOKENS,
    backend: str = R_BACKEND,
    batch_size: int = R_BATCH_SIZE,
    tensor_parallel_size: int = R_TENSOR_PARALLEL_SIZE,
    prompt_template: Optional[str] = R_PROMPT_TEMPLATE,
    system_prompt: Optional[str] = R_SYSTEM_PROMPT,
    repeat_window: int = R_REPEAT_WINDOW,
    preset: str = T_PRESET,
    clip_low: Optional[float] = T_CLIP_LOW,
    clip_high: Optional[float] = T_CLIP_HIGH,
    dual_clip: Optional[float] = T_DUAL_CLIP,
    kl_coef: Optional[float] = T_KL_COEF,
    ref_model: Optional[str] = T_REF_MODEL,
    loss_agg: Optional[str] = T_LOSS_AGG,
    truncation_mask: Optional[str] = T_TRUNCATION_MASK,
    ctm_rho: Optional[float] = T_CTM_RHO,
    mini_batches: int = T_MINI_BATCHES,
    micro_batch_tokens: int = T_MICRO_BATCH_TOKENS,
    lr: float = T_LR,
    warmup_steps: int = T_WARMUP_STEPS,
    weight_decay: float = T_WEIGHT_DECAY,
    max_grad_norm: float = T_MAX_GRAD_NORM,
    bf16: bool = T_BF16,
    grad_checkpointing: bool = T_GRAD_CHECKPOINTING,
    fsdp: bool = T_FSDP,
    compare: str = COMPARE,
    workers: Optional[int] = WORKERS,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    output_mb: int = OUTPUT_MB,
    isolation: str = ISOLATION,
) -> None:
    """Run MicroCoder-GRPO: rollout -> reward -> train-step per step, the model kept in memory.

    The same flags as mc rollout, mc reward and mc train-step. Reward workers stay
    separate, sandboxed processes. Kill it at any point and rerun with --resume.

    Examples:

    \b
      mc train --model tiny/ --data train.jsonl --out runs/a --steps 100 --lr 3e-4 --eval-data test.jsonl --eval-every 10
      mc train --model Qwen/Qwen3-1.7B --data lcb_train.jsonl --out runs/q17 --steps 300 --batch-problems 64 \\
          --n 8 -t 1.2 --max-tokens 4096 --preset microcoder --backend vllm --bf16
      mc train ... --out runs/a --steps 200 --resume
      torchrun --nproc-per-node 8 $(which mc) train --model Qwen/Qwen3-4B ... --fsdp --backend vllm
    """
    import os

    from mc import console
    from mc.commands.common import problems_in, read_template, system_prompt_or_default
    from mc.errors import McUsageError
    from mc.reward.sandbox.pool import Sandbox
    from mc.rollout.rollout import RolloutConfig
    from mc.rollout.temperature import parse_schedule
    from mc.train.loop import Loop, LoopConfig

    if backend not in ("auto", "hf", "vllm"):
        raise McUsageError("--backend must be auto, hf or vllm")
    if backend == "auto":
        from mc.rollout.backends import vllm_available

        backend = "vllm" if vllm_available() else "hf"
    template = read_template(prompt_template)
    schedule = parse_schedule(temperature_schedule) if temperature_schedule else None
    rollout = RolloutConfig(n=n, temperature=None if schedule else temperature, schedule=schedule, top_p=top_p, top_k=top_k,
                            max_tokens=max_tokens, seed=seed, batch_size=batch_size, prompt_template=template,
                            system_prompt=system_prompt_or_default(system_prompt),
                            repeat_window=repeat_window)
    trainer = train_config_from(locals())
    judge = judge_config("binary", compare, time_limit, memory_mb, output_mb, all_tests=False)
    loop_config = LoopConfig(steps=steps, batch_size=batch_problems, save_every=save_every, eval_every=eval_every,
                             eval_n=eval_n, save_groups=save_groups, seed=seed)
    train_set = list(problems_in([data]))
    eval_set = list(problems_in([eval_data])) if eval_data else None
    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # torchrun: the node's cores are shared
    if workers is None and local_ranks > 1:
        workers = max(1, (os.cpu_count() or 1) // local_ranks)
    with Sandbox(workers, isolation) as sandbox:
        loop = Loop(model, train_set, out, rollout, judge, trainer, loop_config, sandbox, backend, eval_set, resume, console.log,
                    tensor_parallel_size=tensor_parallel_size)
        main = loop.trainer.main
        first = loop.trainer.step
        if first >= steps:
            if main:
                console.log(f"{out} is already at step {first}")
            return
        if main:
            with console.step_progress(steps, first) as advance:
                loop.run_steps(advance)
        else:
            loop.run_steps()
    if main:
        console.log(f"done: {steps} steps in {out} (metrics.jsonl, ckpt-{steps:06d}/)")
