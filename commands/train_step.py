"""`mc train-step`: one MicroCoder-GRPO update from scored groups (logic in mc/train/)."""

from __future__ import annotations

from typing import Optional

import typer

from mc.commands.common import (
    INPUTS,
    O_LOG,
    O_LOG_DIR,
    T_BF16,
    T_CLIP_HIGH,
    T_CLIP_LOW,
    T_CTM_RHO,
    T_DUAL_CLIP,
    T_DYNAMIC_SAMPLING,
    T_ENTROPY_COEF,
    T_FSDP,
    T_GRAD_CHECKPOINTING,
    T_KL_COEF,
    T_LORA_ALPHA,
    T_LORA_RANK,
    T_LORA_TARGETS,
    T_LOSS_AGG,
    T_LR,
    T_MAX_GRAD_NORM,
    T_MICRO_BATCH_TOKENS,
    T_MINI_BATCHES,
    T_PRESET,
    T_REF_MODEL,
    T_ROLLOUT_IS,
    T_ROLLOUT_IS_CAP,
    T_ROLLOUT_RS,
    T_ROLLOUT_RS_BOUNDS,
    T_SCALE_REWARDS,
    T_TRUNCATION_MASK,
    T_WARMUP_STEPS,
    T_WEIGHT_DECAY,
    train_config_from,
)


def train_step(
    policy: str = typer.Option(..., "--policy", metavar="CKPT", help="The policy: a model folder or an mc checkpoint."),
    out: str = typer.Option(..., "--out", metavar="CKPT", help="Where the updated checkpoint goes (may equal --policy, or be another mc checkpoint: replaced atomically)."),
    force: bool = typer.Option(False, "--force", help="Replace --out even when it is a folder that is not an mc checkpoint."),
    inputs: list[str] = INPUTS,
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
    rollout_is: str = T_ROLLOUT_IS,
    rollout_is_cap: float = T_ROLLOUT_IS_CAP,
    rollout_rs: str = T_ROLLOUT_RS,
    rollout_rs_bounds: str = T_ROLLOUT_RS_BOUNDS,
    dynamic_sampling: Optional[bool] = T_DYNAMIC_SAMPLING,
    batch_groups: Optional[int] = typer.Option(None, "--batch-groups", min=1, metavar="N", help="Train on the first N groups (after --dynamic-sampling drops the uninformative ones): pipe in more, and the step keeps a full batch."),
    mini_batches: int = T_MINI_BATCHES,
    micro_batch_tokens: int = T_MICRO_BATCH_TOKENS,
    lr: Optional[float] = T_LR,
    warmup_steps: int = T_WARMUP_STEPS,
    weight_decay: float = T_WEIGHT_DECAY,
    max_grad_norm: float = T_MAX_GRAD_NORM,
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="L_max for seq-mean-token-sum-norm (default: the rollout's)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the truncation mask (with the step)."),
    bf16: bool = T_BF16,
    grad_checkpointing: bool = T_GRAD_CHECKPOINTING,
    fsdp: bool = T_FSDP,
    lora_rank: int = T_LORA_RANK,
    lora_alpha: Optional[float] = T_LORA_ALPHA,
    lora_targets: Optional[str] = T_LORA_TARGETS,
    device: Optional[str] = typer.Option(None, "--device", help="Default: cuda when available, else cpu."),
    log: Optional[str] = O_LOG,
    log_dir: Optional[str] = O_LOG_DIR,
) -> None:
    """Update the policy on scored groups (mc rollout | mc reward); print one metrics line per optimizer step.

    Examples:

    \b
      mc rollout -m ckpt/ --n 8 train.jsonl | mc reward | mc train-step --policy ckpt/ --out ckpt/
      mc train-step --policy ckpt/ --out ckpt2/ --preset dapo --mini-batches 4 scored.jsonl > metrics.jsonl
      mc train-step --policy tiny/ --out step1/ --lr 3e-4 --truncation-mask none scored.jsonl
      mc rollout -m ckpt/ --n 16 48_problems.jsonl | mc reward --overlong-buffer 20% \\
          | mc train-step --policy ckpt/ --out ckpt/ --preset dapo --batch-groups 16
      mc train-step --policy ckpt/ --out ckpt/ --rollout-is token --rollout-is-cap 2 scored.jsonl
      mc train-step --policy Qwen/Qwen3-1.7B --out lora/ --lora-rank 32 --lr 1e-5 scored.jsonl   # then --policy lora/
      torchrun --nproc-per-node 8 $(which mc) train-step --policy ckpt/ --out ckpt/ --fsdp --bf16 scored.jsonl
    """
    import os

    from mc import console
    from mc.jsonl import dumps, iter_records, write_stdout
    from mc.train.checkpoint import check_out_dir
    from mc.train.groups import validate_scored_group
    from mc.train.settings import resolve_lr
    from mc.train.step import Trainer

    # Everything that can be wrong with the command line fails before the groups are read and the model loads.
    lr = resolve_lr(lr, policy)
    config = train_config_from(locals())
    check_out_dir(out, force, may_replace=(policy,))
    from mc.commands.common import open_sinks
    from mc.sinks import check_sinks

    check_sinks(log)
    if log and not log_dir:
        from mc.errors import McUsageError

        raise McUsageError("--log needs --log-dir DIR for mc train-step: one folder for every step of the run")
    if device is not None:
        from mc.model import resolve_device

        resolve_device(device)
    groups = list(console.track(iter_records(inputs or ["-"], validate=validate_scored_group), "reading groups"))
    groups, selection = select_groups(groups, config)
    from mc.train.progress import LoopProgress

    # The phases of the step on stderr (rank 0 under torchrun): loading, old log-probs, each mini-batch, saving.
    with LoopProgress("train-step", 1, log_each=False) if os.environ.get("RANK", "0") == "0" else _Silent() as progress:
        progress.note(f"loading {policy}")
        trainer = Trainer(policy, config, device)
        start = trainer.step
        lines = trainer.train_step(groups, on_phase=progress.status) if groups else trainer.skip_step("no informative group")
        if trainer.main:  # under torchrun every rank reads all groups; rank 0 reports and writes
            from dataclasses import asdict

            settings = {**asdict(config), "policy": policy, "out": out}
            with open_sinks(log, log_dir, None, settings, "train-step " + os.path.basename(os.path.abspath(log_dir or out)), start) as sinks:
                for line in lines:
                    write_stdout(dumps({**line, **selection}))
                    sinks.log({**line, **selection})
        progress.note(f"saving {out}")
        trainer.save(out)
    if trainer.main:
        console.log(f"step {trainer.step} saved to {out} ({trainer.optimizer_steps} optimizer steps in all)")


class _Silent:
    """A progress display that shows nothing (the other ranks under torchrun)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def note(self, text: str) -> None:
        pass

    def status(self, text: str) -> None:
        pass



def select_groups(groups: list[dict], config) -> tuple[list[dict], dict]:
    """The groups to train on (--dynamic-sampling, --batch-groups) and the figures of that choice."""
    from mc import console
    from mc.errors import McError
    from mc.train.dynamic import filter_groups
    from mc.train.presets import PRESETS

    if not groups:
        raise McError("no groups to train on", "pipe in groups scored by `mc reward`")
    if PRESETS[config.preset]["overlong_buffer"] and not any("overlong_penalty" in s for g in groups for s in g["samples"]):
        console.warn(f"--preset {config.preset} includes DAPO's soft overlong punishment, a reward option: these groups were "
                     f"not shaped (pipe them through `mc reward --overlong-buffer {PRESETS[config.preset]['overlong_buffer']}`)")
    if not config.dynamic_sampling:
        return groups[: config.batch_groups] if config.batch_groups else groups, {}
    kept, informative = filter_groups(groups, config.batch_groups)
    if config.batch_groups and len(kept) < config.batch_groups:
        console.warn(f"dynamic sampling: {informative} of {len(groups)} groups are informative, fewer than --batch-groups "
                     f"{config.batch_groups}: training on {len(kept)} (pipe in more problems)")
    elif not kept:
        console.warn(f"dynamic sampling: none of the {len(groups)} groups is informative (every group's rewards are equal): "
                     "no update, the step is counted")
    return kept, {"dynamic_rolled_groups": len(groups), "dynamic_informative": informative,
                  "dynamic_kept_frac": informative / len(groups)}
