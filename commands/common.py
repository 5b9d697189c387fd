"""Options and helpers shared by the command modules (each flag defined once)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import typer


def one_of(*names: str):
    """A callback that makes an unknown name a usage error (exit 2), listing the known ones."""

    def check(value):
        if value is not None and value not in names:
            raise typer.BadParameter(f"must be one of: {', '.join(names)} (got {value!r})")
        return value

    return check


def finite(value):
    """A callback for float options: nan and inf are usage errors (exit 2), never a silent null."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number (got {value})")
    return value


INPUTS = typer.Argument(
    None, metavar="FILE", help="JSONL input files (.gz allowed); stdin when none or -.", show_default=False
)
OUT = typer.Option(None, "--out", "-o", metavar="FILE", help="Write records here (atomically) instead of stdout.")


def problems_in(inputs: list[str] | None) -> Iterator[dict]:
    """Problem records from files or stdin, each validated (errors name file:line)."""
    from mc.jsonl import iter_records
    from mc.records import validate_problem

    return iter_records(inputs or ["-"], validate=validate_problem)


def parse_day(value: str | None, flag: str) -> dt.date | None:
    from mc.errors import McUsageError
    from mc.records import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except Exception:
        raise McUsageError(f"{flag} expects a date like 2024-08-01, got {value!r}") from None


# --- the judge's options, shared by mc reward, mc data verify (and mc eval, mc train) ---

WORKERS = typer.Option(None, "--workers", "-j", min=1, help="Sandbox worker processes (default: all cores).")
TIME_LIMIT = typer.Option(6.0, "--time-limit", min=0.01, metavar="S", help="CPU seconds per test (the wall clock is capped at 3x that + 1 s); a problem's meta.time_limit overrides it.", callback=finite)
MEMORY_MB = typer.Option(2048, "--memory-mb", min=16, help="Memory (address space) per program, in MiB.")
OUTPUT_MB = typer.Option(32, "--output-mb", min=1, help="Output cap per test, in MiB.")
ISOLATION = typer.Option("full", "--isolation", autocompletion=lambda: ["full", "seccomp", "none"], help="Minimum sandbox isolation: full (namespaces, Landlock, seccomp), seccomp, or none. Fails closed when the machine offers less.", callback=one_of("full", "seccomp", "none"))
COMPARE = typer.Option("microcoder", "--compare", autocompletion=lambda: ["microcoder", "strict"], help="Output comparison: microcoder (ordered fallback chain) or strict (LiveCodeBench's rules).", callback=one_of("microcoder", "strict"))


def judge_config(reward: str, compare: str, time_limit: float, memory_mb: int, output_mb: int, all_tests: bool):
    from mc.errors import McUsageError
    from mc.reward.compare import MODES
    from mc.reward.judge import JudgeConfig
    from mc.reward.sandbox.pool import Limits

    if reward not in ("binary", "fraction"):
        raise McUsageError("--reward must be binary or fraction")
    if compare not in MODES:
        raise McUsageError(f"--compare must be one of: {', '.join(MODES)}")
    return JudgeConfig(compare, reward, Limits(time_limit, memory_mb, output_mb), all_tests)


# --- rollout options, shared by mc rollout and mc train ---
R_N = typer.Option(8, "--n", "-n", min=1, help="Samples per problem (G).")
R_TEMPERATURE = typer.Option("1.0", "--temperature", "-t", help="Sampling temperature, or 'auto' (see --target-diversity).")
R_TEMPERATURE_SCHEDULE = typer.Option(None, "--temperature-schedule", metavar="STEP:T,...", help="Staged constant temperatures by policy step, e.g. 0:0.6,140:1.2.")
R_TARGET_DIVERSITY = typer.Option("0.4:0.7", "--target-diversity", metavar="LO:HI", help="With --temperature auto: pick the lowest probed temperature whose diversity lands in this band.")
R_PROBE_PROBLEMS = typer.Option(8, "--probe-problems", min=1, help="With --temperature auto: problems sampled at each candidate temperature.")
R_TOP_P = typer.Option(1.0, "--top-p", min=0.0, max=1.0, help="Nucleus sampling, in (0, 1] (for greedy decoding use -t 0); below 1 the sampler's distribution differs from the trainer's (biased GRPO ratio).", callback=finite)
R_TOP_K = typer.Option(0, "--top-k", min=0, help="Top-k sampling (0: off); same caveat as --top-p.")
R_MAX_TOKENS = typer.Option(1024, "--max-tokens", min=1, help="Longest response (L_max); longer ones stop with finish_reason 'length'.")
R_BACKEND = typer.Option("auto", "--backend", autocompletion=lambda: ["auto", "hf", "vllm"], help="hf (transformers; CPU or GPU), vllm (CUDA build with a GPU, or the CPU build: make vllm), auto: vllm with a CUDA build and a GPU, else hf.", callback=one_of("auto", "hf", "vllm"))
R_BATCH_SIZE = typer.Option(64, "--batch-size", min=1, help="Sequences sampled together (hf backend).")
R_PROMPT_TEMPLATE = typer.Option(None, "--prompt-template", metavar="FILE", help="User message template with {question}, {starter_code}, {fn_name}, {instruction} (literal braces as {{ }}).")
R_SYSTEM_PROMPT = typer.Option(None, "--system-prompt", metavar="TEXT", help="System message (default: mc's one-line coder prompt; '' for none).")
R_TENSOR_PARALLEL_SIZE = typer.Option(1, "--tensor-parallel-size", min=1, help="GPUs per vllm engine.")
R_VLLM_ARG = typer.Option([], "--vllm-arg", metavar="KEY=VALUE", help="One more vLLM engine argument (repeatable; VALUE read as JSON when it parses), e.g. enforce_eager=true, max_num_seqs=64, kv_cache_memory_bytes=2e9.")
R_REPEAT_WINDOW = typer.Option(128, "--repeat-window", min=1, help="m: a sample 'repeats' when its last m tokens equal the m before them.")

R_DEVICE = typer.Option(None, "--device", help="hf backend device: cpu, cuda, cuda:N (default: cuda when available, else cpu).")
R_DTYPE = typer.Option(None, "--dtype", autocompletion=lambda: ["float32", "bfloat16", "float16"], help="Model dtype: float32, bfloat16, float16 (default: float32 on CPU, bfloat16 on GPU).")


def given(ctx, name: str) -> bool:
    """Whether the user set a flag (its value may still equal the default: `-t 1`)."""
    source = ctx.get_parameter_source(name)
    # By name: typer ships its own copy of click, whose ParameterSource is not click's.
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def given_flags(ctx) -> set[str]:
    """The parameter names the user set on this command line."""
    return {p.name for p in ctx.command.params if given(ctx, p.name)}


# --- train-step options, shared by mc train-step and mc train ---
def _preset_help() -> str:
    from mc.train.presets import PRESETS, describe

    return "A named recipe (flags below override it). " + "; ".join(f"{name}: {describe(name)}" for name in PRESETS) + "."


T_PRESET = typer.Option("microcoder", "--preset", autocompletion=lambda: ["microcoder", "dapo", "drgrpo", "grpo"], help=_preset_help(), callback=one_of("microcoder", "dapo", "drgrpo", "grpo"))
T_CLIP_LOW = typer.Option(None, "--clip-low", min=0.0, help="eps_low of the clipped ratio.", callback=finite)
T_CLIP_HIGH = typer.Option(None, "--clip-high", min=0.0, help="eps_high (clip-higher).", callback=finite)
T_DUAL_CLIP = typer.Option(None, "--dual-clip", min=0.0, help="Dual clip: the loss of a negative-advantage token is capped at c x |A| (c > 1; default 3, as verl; 0: off). Acts only when the updated policy differs from the sampling one.", callback=finite)
T_SCALE_REWARDS = typer.Option(None, "--scale-rewards", autocompletion=lambda: ["group", "batch", "none"], help="Advantages (r - group mean) divided by: group (the group's std, GRPO), batch (the whole batch's std), none (Dr. GRPO).", callback=one_of("group", "batch", "none"))
T_ENTROPY_COEF = typer.Option(None, "--entropy-coef", min=0.0, help="Entropy bonus: subtracts coef x entropy (aggregated like the loss) from the loss (default 0).", callback=finite)
T_ROLLOUT_IS = typer.Option("none", "--rollout-is", autocompletion=lambda: ["none", "token", "sequence"], help="Truncated importance sampling against the sampler's log-probs: each token's policy loss x min(pi_old / pi_sampler, cap), per token or per sequence (product over its tokens).", callback=one_of("none", "token", "sequence"))
T_ROLLOUT_IS_CAP = typer.Option(2.0, "--rollout-is-cap", min=1.0, metavar="C", help="The cap C of --rollout-is.", callback=finite)
T_ROLLOUT_RS = typer.Option("none", "--rollout-rs", autocompletion=lambda: ["none", "token", "sequence", "geometric"], help="Reject (weight 0) tokens, or whole sequences, whose pi_old / pi_sampler falls outside --rollout-rs-bounds; geometric: a sequence's per-token geometric mean.", callback=one_of("none", "token", "sequence", "geometric"))
T_ROLLOUT_RS_BOUNDS = typer.Option("0.5:2.0", "--rollout-rs-bounds", metavar="LO:HI", help="The ratio band --rollout-rs keeps.")
T_DYNAMIC_SAMPLING = typer.Option(None, "--dynamic-sampling/--no-dynamic-sampling", help="Drop groups whose rewards are all equal (DAPO's filter groups); mc train rolls out more problems to fill the batch. Default: the preset's (dapo: on).", show_default=False)
T_KL_COEF = typer.Option(None, "--kl-coef", min=0.0, help="KL(pi || ref) weight, k3 estimator (0: no reference model).", callback=finite)
T_REF_MODEL = typer.Option(None, "--ref-model", metavar="PATH", help="Reference for the KL term (default: the run's first policy).")
T_LOSS_AGG = typer.Option(None, "--loss-agg", autocompletion=lambda: ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"], help="token-mean, seq-mean-token-mean or seq-mean-token-sum-norm.", callback=one_of("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"))
T_TRUNCATION_MASK = typer.Option(None, "--truncation-mask", autocompletion=lambda: ["none", "all", "conditional"], help="none, all (overlong filtering) or conditional (MicroCoder).", callback=one_of("none", "all", "conditional"))
T_CTM_RHO = typer.Option(None, "--ctm-rho", min=0.0, max=1.0, help="Probability of masking an eligible truncated sample (conditional).", callback=finite)
T_MINI_BATCHES = typer.Option(1, "--mini-batches", min=1, help="Optimizer steps per batch (K).")
T_MICRO_BATCH_TOKENS = typer.Option(16384, "--micro-batch-tokens", min=1, help="Token budget of a micro-batch (gradient accumulation).")
T_LR = typer.Option(None, "--lr", min=0.0, callback=finite, help="AdamW learning rate (default: the one the policy was trained with, when it is an mc checkpoint; else required: 1e-6 suits pretrained 1-8B models, 3e-4 the built-in tiny model).")
T_WARMUP_STEPS = typer.Option(0, "--warmup-steps", min=0, help="Linear warm-up over this many optimizer steps, then constant.")
T_WEIGHT_DECAY = typer.Option(0.0, "--weight-decay", min=0.0, callback=finite)
T_MAX_GRAD_NORM = typer.Option(1.0, "--max-grad-norm", min=0.0, help="Gradient clipping (0: off).", callback=finite)
T_BF16 = typer.Option(False, "--bf16", help="bf16 autocast (GPU).")
T_GRAD_CHECKPOINTING = typer.Option(False, "--grad-checkpointing", help="Gradient checkpointing (less memory, more compute).")
T_LORA_RANK = typer.Option(0, "--lora-rank", min=0, metavar="R", help="Train a LoRA adapter of rank R (peft) instead of every weight; 0: full fine-tuning. A LoRA checkpoint given as the policy goes on training its own adapter.")
T_LORA_ALPHA = typer.Option(None, "--lora-alpha", min=0.0, callback=finite, metavar="A", help="LoRA's alpha: the update is scaled by A / R (default 2 x R).")
T_LORA_TARGETS = typer.Option(None, "--lora-targets", metavar="MODULES", help="The modules LoRA adapts: all-linear (default: every linear layer but the output head) or names, e.g. q_proj,k_proj,v_proj,o_proj.")
T_FSDP = typer.Option(False, "--fsdp", help="Under torchrun: shard parameters, gradients and optimizer state (FSDP2) instead of replicating them (DDP).")


def train_config(preset: str, **flags):
    """TrainConfig from a preset and the train-step flags (a None flag keeps the preset's value)."""
    from mc.errors import McUsageError
    from mc.train.losses import AGGREGATIONS
    from mc.train.masks import MODES
    from mc.train.presets import PRESETS, TRAIN_KEYS, resolve
    from mc.train.step import TrainConfig

    if preset not in PRESETS:
        raise McUsageError(f"--preset must be one of: {', '.join(PRESETS)}")
    if flags.get("loss_agg") is not None and flags["loss_agg"] not in AGGREGATIONS:
        raise McUsageError(f"--loss-agg must be one of: {', '.join(AGGREGATIONS)}")
    if flags.get("truncation_mask") is not None and flags["truncation_mask"] not in MODES:
        raise McUsageError(f"--truncation-mask must be one of: {', '.join(MODES)}")
    from mc.lora import spec_from_flags

    spec_from_flags(flags.get("lora_rank") or 0, flags.get("lora_alpha"), flags.get("lora_targets"))  # usage errors, before any load
    settings = resolve(preset, {k: flags.pop(k, None) for k in TRAIN_KEYS})
    settings = {k: settings[k] for k in TRAIN_KEYS}
    if settings["dual_clip"] is not None and 0 < settings["dual_clip"] <= 1:
        raise McUsageError(f"--dual-clip must be above 1 (or 0: off), got {settings['dual_clip']}")
    settings["dual_clip"] = settings["dual_clip"] or None
    bounds = flags.pop("rollout_rs_bounds", None)
    if bounds is not None:
        flags["rollout_rs_low"], flags["rollout_rs_high"] = parse_ratio_band(bounds)
    return TrainConfig(**settings, **flags, preset=preset)


def parse_ratio_band(text: str, flag: str = "--rollout-rs-bounds") -> tuple[float, float]:
    """LO:HI with 0 <= LO < 1 < HI (finite)."""
    from mc.errors import McUsageError

    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise McUsageError(f"{flag} expects LO:HI (e.g. 0.5:2.0), got {text!r}") from None
    if not (0 <= lo < 1 < hi < math.inf):  # (also false for nan)
        raise McUsageError(f"{flag}: need 0 <= LO < 1 < HI, got {text!r}")
    return lo, hi


def system_prompt_or_default(text: str | None) -> str:
    from mc.rollout.prompts import SYSTEM

    return SYSTEM if text is None else text


def read_template(path: str | None) -> str | None:
    """The --prompt-template file's text (usage error when unreadable)."""
    from mc.errors import McUsageError

    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise McUsageError(f"cannot read --prompt-template {path}: {e.strerror}") from None


TRAIN_FLAGS = ("clip_low", "clip_high", "kl_coef", "loss_agg", "truncation_mask", "ctm_rho", "dual_clip", "scale_rewards",
               "entropy_coef", "dynamic_sampling", "rollout_is", "rollout_is_cap", "rollout_rs", "rollout_rs_bounds",
               "mini_batches", "micro_batch_tokens", "lr", "warmup_steps", "weight_decay", "max_grad_norm", "seed", "max_tokens",
               "bf16", "grad_checkpointing", "ref_model", "fsdp", "lora_rank", "lora_alpha", "lora_targets")


def train_config_from(values: dict):
    """TrainConfig from a command's parameters (its `locals()`): the preset and TRAIN_FLAGS
    (`max_tokens` and `batch_groups` only where the command has them)."""
    flags = {k: values[k] for k in TRAIN_FLAGS if k in values}
    if "batch_groups" in values:
        flags["batch_groups"] = values["batch_groups"]
    return train_config(values["preset"], **flags)


O_LOG = typer.Option(None, "--log", metavar="SINKS", autocompletion=lambda: ["tensorboard", "wandb", "tensorboard,wandb"], help="Also send every metrics line to these sinks: tensorboard, wandb (comma-separated; extras mc[tensorboard], mc[wandb]; WANDB_MODE=offline logs locally). The JSONL stays the record.")
O_LOG_DIR = typer.Option(None, "--log-dir", metavar="DIR", help="Where --log writes: DIR/tensorboard/ and DIR/wandb/ (one W&B run per DIR, continued by later commands).")


def open_sinks(log: str | None, log_dir: str | None, default_dir: str | None, config: dict, name: str, start_step: int = 0):
    """The sinks --log names (mc.sinks.Sinks; none without --log). Commands call check_sinks
    first, so a wrong name or a missing extra fails before any model loads."""
    from mc.errors import McUsageError
    from mc.sinks import Sinks, check_sinks

    names = check_sinks(log)
    folder = log_dir or default_dir
    if names and folder is None:
        raise McUsageError("--log needs --log-dir DIR here: one folder for every step of the run")
    return Sinks(names, folder or "", config, name, start_step)


O_OVERLONG_BUFFER = typer.Option(None, "--overlong-buffer", metavar="N|P%", help="DAPO's soft overlong punishment: rewards fall linearly by up to --overlong-penalty over the last N tokens (or P% of L_max) before L_max. Shaping, not filtering (that is --truncation-mask all). 0: off.")
O_OVERLONG_PENALTY = typer.Option(1.0, "--overlong-penalty", min=0.0, help="The penalty at L_max for --overlong-buffer (DAPO: 1).", callback=finite)
