"""Settings a training command takes from what it continues: the learning rate
from the policy checkpoint, and on `mc train --resume` the run's recorded flags.

Commands resolve these before loading a model or reading the data, so a wrong
command line fails at once, not after minutes of loading.
"""

from __future__ import annotations

import json
import math
import os

from mc.errors import McError, McUsageError
from mc.train.checkpoint import model_ref, read_meta

LR_ADVICE = "pass --lr: 1e-6 suits pretrained 1-8B models (the MicroCoder paper), 3e-4 the built-in tiny model"
RUN_FILE = "run.json"

# Flags `mc train --resume` may change: those that do not change what the run
# computes (beyond the float noise of other hardware or another split of the same
# work) or only what it records and how far it goes. Everything else (the data,
# sampling, rewards, the update) must match the run, or a resumed run would no
# longer be the run it continues.
MAY_CHANGE_ON_RESUME = (
    "steps", "save_every", "save_groups", "eval_data", "eval_every", "eval_n",  # how far, what is recorded
    "stream_judging", "log", "log_dir",  # when the judge runs, not what it says; where else metrics go
    "workers", "isolation", "device", "tensor_parallel_size", "vllm_arg", "micro_batch_tokens", "grad_checkpointing", "fsdp",  # resources
)
# Flags that name files or models: recorded as absolute paths, so a resume from
# another working directory compares (and loads) the same files.
PATH_FLAGS = ("model", "data", "eval_data", "prompt_template", "ref_model", "log_dir")


def recorded_lr(policy: str) -> float | None:
    """The learning rate an mc checkpoint was trained with (meta.json flags.lr), else None."""
    if not os.path.isdir(policy):
        return None  # a hub id
    flags = read_meta(policy).get("flags")
    lr = flags.get("lr") if isinstance(flags, dict) else None
    if isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) and lr >= 0:
        return float(lr)
    return None


def resolve_lr(flag: float | None, policy: str) -> float:
    """--lr when given; else the policy checkpoint's own, so chained `mc train-step`
    calls keep the rate of the first. No safe default exists: 1e-6 (right for a
    pretrained model) leaves the tiny model where it is, 3e-4 wrecks a pretrained one."""
    if flag is not None:
        return flag
    lr = recorded_lr(policy)
    if lr is None:
        raise McUsageError(f"{policy} records no learning rate (it is not a checkpoint written by mc train-step or mc train); "
                           + LR_ADVICE)
    return lr


def absolute_paths(flags: dict) -> dict:
    return {k: model_ref(v) if k in PATH_FLAGS and isinstance(v, str) else v for k, v in flags.items()}


def read_run(run: str) -> dict | None:
    """RUN/run.json, or None when the run has none yet."""
    from mc.jsonl import read_json_object

    path = os.path.join(run, RUN_FILE)
    if not os.path.exists(path):
        return None
    return read_json_object(path, "the run's settings", "restore it, or start a new run with another --out")


def resume_flags(recorded: dict, given: dict, explicit: set[str], names: dict[str, str]) -> tuple[dict, dict]:
    """(the flags to resume with, {flag: (recorded, given)} of the may-change flags that
    changed). A flag not on this command line takes the run's value; one given with
    the run's value is fine; one given with another value is a usage error unless it
    may change on resume. A flag newer than the run takes its value from here."""
    merged, changed, conflicts = {}, {}, []
    for name, value in given.items():
        if name not in recorded:
            merged[name] = value
            continue
        old, new = _comparable(recorded[name]), _comparable(value)
        if name not in explicit or old == new:
            merged[name] = recorded[name]
        elif name in MAY_CHANGE_ON_RESUME:
            merged[name], changed[name] = value, (old, new)
        else:
            merged[name] = recorded[name]
            conflicts.append(f"{names.get(name, name)} {_show(old)} (given {_show(new)})")
    if conflicts:
        may = ", ".join(names.get(n, n) for n in MAY_CHANGE_ON_RESUME)
        raise McUsageError(f"--resume: this run was started with {'; '.join(conflicts)}",
                           f"drop those flags to resume with the run's own settings, or start a new run with another --out; "
                           f"only {may} may change on resume")
    return merged, changed


def _comparable(value):
    """Values as run.json holds them (tuples become lists, ints stay ints)."""
    return json.loads(json.dumps(value))


def _show(value) -> str:
    return "(none)" if value is None else json.dumps(value)


def run_flags(given_flags: dict, explicit: set[str], names: dict[str, str], out: str, resume: bool
              ) -> tuple[dict, dict, set[str]]:
    """The flags `mc train` goes with, the may-change flags a resume changed, and which
    flags count as set on this command line. On --resume they are the run's own (see
    resume_flags); paths are absolute, the backend resolved (a run resumed on another
    machine keeps its backend), --lr resolved. `names`: each flag's --spelling."""
    from mc import console
    from mc.rollout.backends import resolve_backend

    flags, changed = absolute_paths(given_flags), {}
    explicit = explicit & set(given_flags)
    flags["backend"] = resolve_backend(flags["backend"], flags.get("device"))
    recorded = read_run(out) if resume else None
    if recorded is not None:
        if isinstance(recorded.get("flags"), dict):
            flags, changed = resume_flags(recorded["flags"], flags, explicit, names)
            explicit = explicit & set(changed)  # the rest now holds the run's values, checked when it started
        else:
            console.warn(f"{out}/run.json records no flags (written by an older mc): resuming with the flags given here, unchecked")
    if flags["eval_every"] and not flags["eval_data"]:
        raise McUsageError(f"--eval-every {flags['eval_every']} needs --eval-data (the held-out problems to evaluate on)")
    if flags.get("vllm_arg") and flags["backend"] != "vllm":
        raise McUsageError("--vllm-arg is for the vllm backend", "drop it, or pass --backend vllm")
    flags["lr"] = resolve_lr(flags["lr"], flags["model"])
    return flags, changed, explicit
