"""`mc rollout`: sample groups of completions from a policy (logic in mc/rollout/)."""

from __future__ import annotations

from typing import Optional

import typer

from mc.commands.common import (
    INPUTS,
    OUT,
    R_BACKEND,
    R_BATCH_SIZE,
    R_DEVICE,
    R_DTYPE,
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
    given_flags,
    problems_in,
    read_template,
    system_prompt_or_default,
)

def rollout(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", metavar="PATH", help="A Hugging Face model folder or hub id (e.g. one made by `mc model init`)."),
    inputs: list[str] = INPUTS,
    n: int = R_N,
    temperature: str = R_TEMPERATURE,
    temperature_schedule: Optional[str] = R_TEMPERATURE_SCHEDULE,
    target_diversity: str = R_TARGET_DIVERSITY,
    probe_problems: int = R_PROBE_PROBLEMS,
    top_p: float = R_TOP_P,
    top_k: int = R_TOP_K,
    max_tokens: int = R_MAX_TOKENS,
    seed: int = typer.Option(0, "--seed", help="Sampling seed: same seed, model and input give the same output."),
    backend: str = R_BACKEND,
    batch_size: int = R_BATCH_SIZE,
    prompt_template: Optional[str] = R_PROMPT_TEMPLATE,
    system_prompt: Optional[str] = R_SYSTEM_PROMPT,
    tensor_parallel_size: int = R_TENSOR_PARALLEL_SIZE,
    vllm_arg: list[str] = R_VLLM_ARG,
    device: Optional[str] = R_DEVICE,
    dtype: Optional[str] = R_DTYPE,
    policy_version: Optional[int] = typer.Option(None, "--policy-version", help="Recorded on samples (default: the checkpoint's step, else 0)."),
    repeat_window: int = R_REPEAT_WINDOW,
    out: Optional[str] = OUT,
) -> None:
    """Sample n completions per problem; write one Group record per problem.

    Examples:

    \b
      mc model init tiny/ && mc rollout --model tiny/ --n 4 --max-tokens 256 problems.jsonl > groups.jsonl
      mc rollout -m Qwen/Qwen3-1.7B --backend vllm --n 8 -t 1.2 --max-tokens 4096 train.jsonl | mc reward > scored.jsonl
      mc rollout -m ckpt/ --temperature auto --target-diversity 0.4:0.6 train.jsonl -o groups.jsonl
    """
    from mc import console
    from mc.outputs import open_writer
    from mc.rollout.backends import check_backend_args, load_backend
    from mc.rollout.progress import Progress
    from mc.rollout.rollout import Roller, RolloutConfig, RolloutReport
    from mc.rollout.temperature import parse_band, temperature_settings
    from mc.rollout.vllm_backend import parse_engine_args

    # Every flag is checked before the model loads or stdin is read.
    fixed, schedule = temperature_settings(temperature, temperature_schedule, given_flags(ctx))
    check_backend_args(backend, dtype)
    engine_args = parse_engine_args(vllm_arg)
    config = RolloutConfig(
        n=n, temperature=fixed, schedule=schedule, target_diversity=parse_band(target_diversity), top_p=top_p, top_k=top_k,
        max_tokens=max_tokens, seed=seed, batch_size=batch_size, prompt_template=read_template(prompt_template),
        system_prompt=system_prompt_or_default(system_prompt), repeat_window=repeat_window,
        policy_version=policy_version, probe_problems=probe_problems,
    )
    if top_p < 1.0 or top_k:
        console.warn("--top-p/--top-k below full support: the sampler's distribution differs from the trainer's, so the GRPO ratio is biased")
    report = RolloutReport()
    with open_writer(out) as writer:  # -o is checked before the model loads
        engine = load_backend(backend, model, device=device, dtype=dtype, tensor_parallel_size=tensor_parallel_size, seed=seed,
                              engine_args=engine_args)
        roller = Roller(engine, model, config)
        with Progress() as progress:
            writer.write_all(roller.groups(problems_in(inputs), report, progress.phase("sampling")))
    if report.probes:
        rows = [(p.temperature, f"{p.diversity:.3f}", "<- chosen" if p.temperature == report.temperature else "") for p in report.probes]
        console.table(f"temperature probe (target diversity {target_diversity})", ["temperature", "diversity", ""], rows, align="rrl")
        if not report.probe_in_band:
            console.warn(f"no candidate temperature reached diversity {target_diversity}; using the closest, {report.temperature}")
    from mc.rollout.diversity import batch_diversity

    diversity = batch_diversity(report.diversities)
    console.table(
        f"mc rollout: {report.groups} groups, {report.samples} samples",
        ["", "value"],
        [
            ("temperature", report.temperature),
            ("policy version", roller.policy_version),
            ("mean response length (tokens)", f"{report.tokens / max(report.samples, 1):.1f}"),
            ("truncated (hit --max-tokens)", f"{report.truncated / max(report.samples, 1):.1%}"),
            ("ending in a loop (repeat)", f"{report.repeats / max(report.samples, 1):.1%}"),
            ("diversity (batch mean)", "n/a" if diversity is None else f"{diversity:.3f}"),
            ("generated tokens/s", f"{report.tokens / max(report.seconds, 1e-9):.0f}"),
        ],
        align="lr",
    )
