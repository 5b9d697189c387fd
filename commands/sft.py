"""`mc sft`: supervised warm-up on reference solutions (logic in mc/train/sft.py)."""

from __future__ import annotations

from typing import Optional

import typer

from mc.commands.common import (
    O_LOG,
    O_LOG_DIR,
    R_PROMPT_TEMPLATE,
    R_SYSTEM_PROMPT,
    T_LORA_ALPHA,
    T_LORA_RANK,
    T_LORA_TARGETS,
    finite,
)


def sft(
    model: str = typer.Option(..., "--model", "-m", metavar="PATH", help="The model to warm up."),
    data: list[str] = typer.Option(..., "--data", metavar="PROBLEMS", help="Problem records with reference solutions. Repeatable."),
    out: str = typer.Option(..., "--out", metavar="CKPT", help="Where the warmed-up checkpoint goes (an existing mc checkpoint there is replaced)."),
    force: bool = typer.Option(False, "--force", help="Replace --out even when it is a folder that is not an mc checkpoint."),
    steps: int = typer.Option(100, "--steps", min=1, help="Optimizer steps."),
    lr: float = typer.Option(1e-3, "--lr", min=0.0, callback=finite, help="AdamW learning rate."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Examples per step."),
    max_tokens: int = typer.Option(512, "--max-tokens", min=1, help="Skip solutions longer than this many tokens."),
    seed: int = typer.Option(0, "--seed"),
    max_seconds: Optional[float] = typer.Option(None, "--max-seconds", min=0.0, callback=finite, metavar="S", help="Stop after this much training time (wall clock), even before --steps: a fixed compute budget."),
    prompt_template: Optional[str] = R_PROMPT_TEMPLATE,
    system_prompt: Optional[str] = R_SYSTEM_PROMPT,
    lora_rank: int = T_LORA_RANK,
    lora_alpha: Optional[float] = T_LORA_ALPHA,
    lora_targets: Optional[str] = T_LORA_TARGETS,
    log: Optional[str] = O_LOG,
    log_dir: Optional[str] = O_LOG_DIR,
) -> None:
    """Teach a policy the answer format: cross-entropy on reference solutions in ```python blocks.

    Prints one JSON line per step (loss) on stdout.

    Examples:

    \b
      mc sft --model tiny/ --data demos.jsonl --out warm/ --steps 100 --lr 1e-3
      mc sft --model warm/ --data demos.jsonl --out sft_more/ --steps 100000 --max-seconds 150
      mc sft --model smol/ --data demos.jsonl --out smol-lora/ --lora-rank 16 --lr 2e-4
    """
    settings = {k: v for k, v in locals().items() if k not in ("log", "log_dir")}
    import os

    from mc import console
    from mc.commands.common import open_sinks, problems_in, read_template, system_prompt_or_default
    from mc.sinks import check_sinks
    from mc.jsonl import dumps, write_stdout
    from mc.train.checkpoint import check_out_dir
    from mc.train.progress import LoopProgress
    from mc.train.sft import sft as run_sft

    from mc.lora import spec_from_flags

    lora_spec = spec_from_flags(lora_rank, lora_alpha, lora_targets)
    template = read_template(prompt_template)
    check_out_dir(out, force, may_replace=(model,))
    check_sinks(log)
    if log and not log_dir:
        from mc.errors import McUsageError

        raise McUsageError("--log needs --log-dir DIR for mc sft (not inside --out, which is replaced when it is saved)")
    problems = list(console.track(problems_in(data), "reading problems"))
    with open_sinks(log, log_dir, None, settings, "sft " + os.path.basename(os.path.abspath(out))) as sinks, \
            LoopProgress("sft", steps, log_each=False) as progress:
        def step_done(line: dict) -> None:
            write_stdout(dumps(line))
            sinks.log(line)
            progress.advance(f"loss {line['loss']:.3f}")

        history = run_sft(model, problems, out, steps, lr, batch_size, seed, max_tokens, log=step_done, template=template,
                          system=system_prompt_or_default(system_prompt), max_seconds=max_seconds, status=progress.note,
                          lora_spec=lora_spec)
    losses = f", loss {history[0]['loss']:.3f} -> {history[-1]['loss']:.3f}" if history else ""
    console.log(f"sft: {len(history)} steps{losses}; saved {out}")
