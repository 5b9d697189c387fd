"""`mc train`: the whole GRPO loop in one process (logic in mc/train/loop.py)."""

from __future__ import annotations

from typing import Optional

import typer

from mc.commands.common import (
    COMPARE,
    ISOLATION,
    MEMORY_MB,
    O_LOG,
    O_LOG_DIR,
    O_OVERLONG_BUFFER,
    O_OVERLONG_PENALTY,
    OUTPUT_MB,
    R_BACKEND,
    R_BATCH_SIZE,
    R_MAX_TOKENS,
    R_N,
    R_PROBE_PROBLEMS,
    R_PROMPT_TEMPLATE,
    R_SYSTEM_PROMPT,
    R_REPEAT_WINDOW,
    R_TARGET_DIVERSITY,
    R_TEMPERATURE,
    R_TEMPERATURE_SCHEDULE,
    R_TENSOR_PARALLEL_SIZE,
    R_VLLM_ARG,
    R_TOP_K,
    R_TOP_P,
    T_BF16,
    T_CLIP_HIGH,
    T_CLIP_LOW,
    T_CTM_RHO,
    T_DUAL_CLIP,
    T_DYNAMIC_SAMPLING,
    T_ENTROPY_COEF,
    T_FSDP,
    T_LORA_ALPHA,
    T_LORA_RANK,
    T_LORA_TARGETS,
    T_GRAD_CHECKPOINTING,
    T_KL_COEF,
    T_LOSS_AGG,
    T_LR,
    T_MAX_GRAD_NORM,
    T_MICRO_BATCH_TOKENS,
    T_MINI_BATCHES,
    T_PRESET,
    T_REF_MODEL,
    T_ROLLOUT_IS_CAP,
    T_ROLLOUT_RS,
    T_ROLLOUT_RS_BOUNDS,
    T_SCALE_REWARDS,
    T_TRUNCATION_MASK,
    T_WARMUP_STEPS,
    T_WEIGHT_DECAY,
    TIME_LIMIT,
    WORKERS,
    judge_config,
    one_of,
    train_config_from,
)

RESUME_HELP = ("Continue RUN from its last complete checkpoint, with the run's recorded flags (RUN/run.json); a flag given "
               "with another value is refused, except --steps, --save-every, --save-groups, --eval-data, --eval-every, "
               "--eval-n, --stream-judging, --log, --log-dir, --workers, --isolation, --device, --tensor-parallel-size, --vllm-arg, --micro-batch-tokens, "
               "--grad-checkpointing and --fsdp.")


def train(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", metavar="PATH", help="The starting policy (HF folder or hub id)."),
    data: str = typer.Option(..., "--data", metavar="TRAIN", help="Training problems (Problem records)."),
    out: str = typer.Option(..., "--out", metavar="RUN", help="Run folder: metrics.jsonl, ckpt-NNNNNN/, groups/."),
    steps: int = typer.Option(..., "--steps", min=1, help="Policy steps (rollout batches) to reach."),
    batch_problems: int = typer.Option(16, "--batch-problems", min=1, help="Problems per step (the paper: 64)."),
    save_every: int = typer.Option(10, "--save-every", min=1, help="Checkpoint every this many steps (and at the end)."),
    eval_data: Optional[str] = typer.Option(None, "--eval-data", metavar="EVAL", help="Held-out problems for eval_pass@1."),
    eval_every: int = typer.Option(0, "--eval-every", min=0, help="Evaluate on --eval-data every this many steps (0: only after the last step)."),
    eval_n: int = typer.Option(4, "--eval-n", min=1, help="Samples per held-out problem."),
    save_groups: bool = typer.Option(False, "--save-groups", help="Keep each step's scored groups in RUN/groups/."),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    seed: int = typer.Option(0, "--seed", help="Data order, rollout seeds (seed + step) and the truncation mask."),
    n: int = R_N,
    temperature: str = R_TEMPERATURE,
    temperature_schedule: Optional[str] = R_TEMPERATURE_SCHEDULE,
    target_diversity: str = R_TARGET_DIVERSITY,
    probe_problems: int = R_PROBE_PROBLEMS,
    top_p: float = R_TOP_P,
    top_k: int = R_TOP_K,
    max_tokens: int = R_MAX_TOKENS,
    backend: str = R_BACKEND,
    batch_size: int = R_BATCH_SIZE,
    tensor_parallel_size: int = R_TENSOR_PARALLEL_SIZE,
    vllm_arg: list[str] = R_VLLM_ARG,
    prompt_template: Optional[str] = R_PROMPT_TEMPLATE,
    system_prompt: Optional[str] = R_SYSTEM_PROMPT,
    repeat_window: int = R_REPEAT_WINDOW,
    device: Optional[str] = typer.Option(None, "--device", help="The trainer's device, which the hf backend samples on too (default: cuda when available, else cpu)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", autocompletion=lambda: ["float32", "bfloat16", "float16"], help="Sampling dtype: float32, bfloat16, float16 (vllm: the engine's; hf: autocast over the trainer's float32 weights). Default: float32 on CPU; vllm on a GPU: the model's."),
    preset: str = T_PRESET,
    clip_low: Optional[float] = T_CLIP_LOW,
    clip_high: Optional[float] = T_CLIP_HIGH,
    dual_clip: Optional[float] = T_DUAL_CLIP,
    kl_coef: Optional[float] = T_KL_COEF,
    ref_model: Optional[str] = T_REF_MODEL,
    loss_agg: Optional[str] = T_LOSS_AGG,
    truncation_mask: Optional[str] = T_TRUNCATION_MASK,
    ctm_rho: Optional[float] = T_CTM_RHO,
    scale_rewards: Optional[str] = T_SCALE_REWARDS,
    entropy_coef: Optional[float] = T_ENTROPY_COEF,
    rollout_is: Optional[str] = typer.Option(None, "--rollout-is", autocompletion=lambda: ["none", "token", "sequence"], help="Truncated importance sampling against the sampler's log-probs: each token's policy loss x min(pi_old / pi_sampler, cap), per token or per sequence (product over its tokens). Default: token with --off-policy 1, else none.", callback=one_of("none", "token", "sequence")),
    rollout_is_cap: float = T_ROLLOUT_IS_CAP,
    rollout_rs: str = T_ROLLOUT_RS,
    rollout_rs_bounds: str = T_ROLLOUT_RS_BOUNDS,
    dynamic_sampling: Optional[bool] = T_DYNAMIC_SAMPLING,
    dynamic_sampling_rounds: int = typer.Option(10, "--dynamic-sampling-rounds", min=1, metavar="N", help="With dynamic sampling: at most N rollout rounds of --batch-problems per step, the first included (verl's max_num_gen_batches); then the step trains on the informative groups it has."),
    overlong_buffer: Optional[str] = O_OVERLONG_BUFFER,
    overlong_penalty: float = O_OVERLONG_PENALTY,
    mini_batches: int = T_MINI_BATCHES,
    stream_judging: Optional[bool] = typer.Option(None, "--stream-judging/--no-stream-judging", help="Judge each group as soon as it is sampled, while the rest are still sampled (the same records as judging after the whole batch). Default: on when sampling runs on a GPU; off on a CPU, where the judge workers take cores from the sampler (measured: 1.19x slower steps, see the README)."),
    off_policy: int = typer.Option(0, "--off-policy", min=0, max=1, metavar="K", help="1: sample and judge step k+1's batch while step k updates, from the weights step k started from (one-step off-policy: staleness 1, recorded per sample as policy_version; --rollout-is token unless given). 0: on-policy. One process only (not under torchrun)."),
    micro_batch_tokens: int = T_MICRO_BATCH_TOKENS,
    lr: Optional[float] = T_LR,
    warmup_steps: int = T_WARMUP_STEPS,
    weight_decay: float = T_WEIGHT_DECAY,
    max_grad_norm: float = T_MAX_GRAD_NORM,
    bf16: bool = T_BF16,
    grad_checkpointing: bool = T_GRAD_CHECKPOINTING,
    fsdp: bool = T_FSDP,
    lora_rank: int = T_LORA_RANK,
    lora_alpha: Optional[float] = T_LORA_ALPHA,
    lora_targets: Optional[str] = T_LORA_TARGETS,
    compare: str = COMPARE,
    workers: Optional[int] = WORKERS,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    output_mb: int = OUTPUT_MB,
    isolation: str = ISOLATION,
    log: Optional[str] = O_LOG,
    log_dir: Optional[str] = O_LOG_DIR,
) -> None:
    """Run MicroCoder-GRPO: rollout -> reward -> train-step per step, the model kept in memory.

    The same flags as mc rollout, mc reward and mc train-step. Reward workers stay
    separate, sandboxed processes. Kill it at any point and rerun with --resume.
    --temperature auto probes once when the run starts and keeps that temperature.

    Examples:

    \b
      mc train --model tiny/ --data train.jsonl --out runs/a --steps 100 --lr 3e-4 --eval-data test.jsonl --eval-every 10
      mc train --model Qwen/Qwen3-1.7B --data lcb_train.jsonl --out runs/q17 --steps 300 --batch-problems 64 \\
          --n 8 -t 1.2 --max-tokens 4096 --preset microcoder --lr 1e-6 --backend vllm --bf16
      mc train --model tiny/ --data train.jsonl --out runs/a --steps 200 --resume
      mc train --model tiny/ --data train.jsonl --out runs/dapo --steps 100 --lr 3e-4 --preset dapo
      mc train --model tiny/ --data train.jsonl --out runs/b --steps 100 --lr 3e-4 --off-policy 1 --log tensorboard
      mc train --model Qwen/Qwen3-8B --data lcb_train.jsonl --out runs/lora --steps 300 --lora-rank 32 --lr 1e-5 --backend vllm
      mc model merge runs/lora/ckpt-000300 q8b-merged/
      mc eval timeline runs/b/metrics.jsonl -o timeline.png
      torchrun --nproc-per-node 8 $(which mc) train --model Qwen/Qwen3-4B ... --fsdp --backend vllm
    """
    flags = {name: value for name, value in locals().items() if name not in ("ctx", "out", "resume")}
    import os

    from mc import console
    from mc.commands.common import problems_in
    from mc.reward.sandbox.pool import Sandbox
    from mc.train.loop import Loop
    from mc.train.progress import LoopProgress, step_summary

    from mc.commands.common import given_flags
    from mc.model import check_model_path
    from mc.rollout.vllm_backend import parse_engine_args
    from mc.train.settings import run_flags

    names = {p.name: max((o for o in p.opts if o.startswith("--")), key=len) for p in ctx.command.params if p.opts}
    flags, changed, explicit = run_flags(flags, given_flags(ctx), names, out, resume)
    check_model_path(flags["model"], "policy")  # before the data is read and the workers start
    from mc.sinks import check_sinks

    check_sinks(flags["log"])
    settings = _settings(flags, explicit)
    train_set = list(problems_in([flags["data"]]))
    eval_set = list(problems_in([flags["eval_data"]])) if flags["eval_data"] else None
    workers = flags["workers"]
    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # torchrun: the node's cores are shared
    if workers is None and local_ranks > 1:
        workers = max(1, (os.cpu_count() or 1) // local_ranks)
    if os.environ.get("RANK", "0") == "0":
        console.log(f"mc train: {len(train_set)} training problems; loading the policy")
    with Sandbox(workers, flags["isolation"]) as sandbox:
        loop = Loop(flags["model"], train_set, out, settings["rollout"], settings["judge"], settings["trainer"], settings["loop"],
                    sandbox, settings["backend"], eval_set, resume, console.log, tensor_parallel_size=flags["tensor_parallel_size"],
                    device=flags["device"], dtype=flags["dtype"], flags=flags, changed=changed,
                    engine_args=parse_engine_args(flags["vllm_arg"]))
        main = loop.trainer.main
        first = loop.trainer.step
        steps = flags["steps"]
        if first >= steps:
            if main:
                console.log(f"{out} is already at step {first}")
            return
        if main:
            from mc.commands.common import open_sinks

            with open_sinks(flags["log"], flags["log_dir"], out, loop.recorded, os.path.basename(os.path.abspath(out)),
                            first) as loop.sinks, LoopProgress("step", steps, first) as progress:
                loop.run_steps(lambda line: progress.advance(step_summary(line)), progress.status)
        else:
            loop.run_steps()
    if main:
        console.log(f"done: {steps} steps in {out} (metrics.jsonl, ckpt-{steps:06d}/)")


def _streams(flags: dict) -> bool:
    """--stream-judging, or by default whether sampling runs on a GPU (the judge then has the CPUs to itself)."""
    if flags["stream_judging"] is not None:
        return flags["stream_judging"]
    from mc.model import resolve_device

    return resolve_device(flags["device"]).type == "cuda"


def _settings(flags: dict, explicit: set[str]) -> dict:
    """The configs of the run's parts, from its flags (each flag checked here);
    `explicit`: the flags this command line set (and a resume let stand)."""
    from mc.commands.common import read_template, system_prompt_or_default
    from mc.model import resolve_device, resolve_dtype
    from mc.rollout.rollout import RolloutConfig
    from mc.rollout.temperature import parse_band, temperature_settings
    from mc.train.loop import LoopConfig

    resolve_dtype(flags["dtype"], resolve_device(flags["device"]))  # checks both names
    temperature, schedule = temperature_settings(flags["temperature"], flags["temperature_schedule"], explicit)
    band = parse_band(flags["target_diversity"])
    rollout = RolloutConfig(n=flags["n"], temperature=temperature, schedule=schedule, target_diversity=band,
                            probe_problems=flags["probe_problems"], top_p=flags["top_p"], top_k=flags["top_k"],
                            max_tokens=flags["max_tokens"], seed=flags["seed"], batch_size=flags["batch_size"],
                            prompt_template=read_template(flags["prompt_template"]),
                            system_prompt=system_prompt_or_default(flags["system_prompt"]), repeat_window=flags["repeat_window"])
    from mc.reward.shaping import parse_buffer
    from mc.train.presets import PRESETS

    # Unless given: with --off-policy each batch is a policy version behind, so correct for it (mc.train.correction).
    rollout_is = flags["rollout_is"] or ("token" if flags["off_policy"] else "none")
    trainer = train_config_from({**flags, "rollout_is": rollout_is})
    buffer = flags["overlong_buffer"] if flags["overlong_buffer"] is not None else PRESETS[flags["preset"]]["overlong_buffer"]
    loop = LoopConfig(steps=flags["steps"], batch_size=flags["batch_problems"], save_every=flags["save_every"],
                      eval_every=flags["eval_every"], eval_n=flags["eval_n"], save_groups=flags["save_groups"], seed=flags["seed"],
                      dynamic_sampling=trainer.dynamic_sampling, dynamic_rounds=flags["dynamic_sampling_rounds"],
                      overlong_buffer=parse_buffer(buffer) if buffer else None,
                      overlong_penalty=flags["overlong_penalty"], stream_judging=_streams(flags),
                      off_policy=flags["off_policy"])

    judge = judge_config("binary", flags["compare"], flags["time_limit"], flags["memory_mb"], flags["output_mb"], all_tests=False)
    return {"rollout": rollout, "trainer": trainer, "loop": loop, "judge": judge, "backend": flags["backend"]}
