"""Checkpoints: a Hugging Face model folder plus the trainer's state.

    CKPT/                    config.json, model.safetensors, tokenizer files (loadable by anything HF);
                             with LoRA, adapter_config.json and adapter_model.safetensors instead (mc.lora)
    CKPT/meta.json           step (policy version), optimizer steps, resolved flags, mc version, reference model
    CKPT/trainer/optimizer.safetensors   AdamW moments and step per parameter name
    CKPT/trainer/rng.safetensors         torch CPU (and CUDA) generator states
    CKPT/trainer/next_batch.jsonl        mc train --off-policy 1: the next step's batch, made ahead

Written to a temporary folder beside the target and swapped in with renames,
so `--out` may equal `--policy` and a crash never leaves a half-written folder;
`check_out_dir` says up front whether the target may be written (and replaced).

Read back with `read_trainer_state`: a plain HF folder (no meta.json, no
trainer/) is a fresh start; in an mc checkpoint a damaged file is an error
naming it, never a silent restart of the step counter or of AdamW's moments.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import torch

from mc import __version__
from mc.errors import McError, McUsageError
from mc.outputs import replace_folder, same_file

META = "meta.json"
TRAINER = "trainer"
OPTIMIZER_FILE = os.path.join(TRAINER, "optimizer.safetensors")
RNG_FILE = os.path.join(TRAINER, "rng.safetensors")


def model_ref(path: str | None) -> str | None:
    """How meta.json names a model: an absolute path for a local folder (so the
    checkpoint still finds it from another working directory); a hub id as it is."""
    if path and os.path.exists(path):
        return os.path.abspath(path)
    return path


def read_meta(path: str) -> dict:
    """A checkpoint's meta.json; {} for a folder without one (a plain HF model).
    A meta.json that exists but cannot be read is an error: silently starting
    over would reset the step counter (and with it the policy version, the
    truncation mask's seeds and the warm-up)."""
    from mc.jsonl import read_json_object

    file = os.path.join(path, META)
    if not os.path.exists(file):
        return {}
    meta = read_json_object(file, "the checkpoint's meta.json",
                            "restore it from a copy, or delete the folder's meta.json and trainer/ to start over from its weights")
    for key in ("step", "optimizer_steps"):
        value = meta.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise McError(f"{file}: {key!r} must be a non-negative integer, got {value!r}")
    return meta


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or " ".join(str(error).split()) or type(error).__name__


def check_out_dir(out: str, force: bool = False, may_replace: tuple[str, ...] = ()) -> None:
    """Fail before any expensive work when `out` cannot take a checkpoint: its parent
    cannot be created or written (the new folder is made beside it, then renamed),
    or it is a folder of someone else's files, which the swap would delete.
    An existing mc checkpoint, an empty folder or one of `may_replace` (the
    policy itself: --out may equal --policy) is replaced; anything else needs --force."""
    target = os.path.abspath(out)
    existing = target
    while not os.path.exists(existing):  # the nearest ancestor that exists: makedirs starts there
        existing = os.path.dirname(existing)
    if existing != target or not os.path.isdir(target):
        if not os.path.isdir(existing):
            raise McUsageError(f"--out {out}: {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise McUsageError(f"--out {out}: cannot create it, {existing} is not writable")
        return
    parent = os.path.dirname(target)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise McUsageError(f"--out {out}: cannot replace it, its folder {parent} is not writable")
    inside = sorted(os.listdir(target))
    if not inside or force or _written_by_mc(target) or any(same_file(target, p) for p in may_replace):
        return
    shown = ", ".join(inside[:5]) + (f" and {len(inside) - 5} more" if len(inside) > 5 else "")
    raise McUsageError(f"--out {out} is a folder that is not an mc checkpoint (it holds {shown}); writing there would delete it",
                       "choose another --out, or pass --force to replace it")


def _written_by_mc(path: str) -> bool:
    try:
        with open(os.path.join(path, META), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "mc_version" in meta


def optimizer_tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    by_param = {id(p): name for name, p in model.named_parameters()}
    tensors = {}
    for param, state in optimizer.state.items():
        name = by_param[id(param)]
        for key, value in state.items():
            tensors[f"{name}/{key}"] = (value if torch.is_tensor(value) else torch.tensor(value)).detach().cpu().contiguous()
    return tensors


def load_optimizer_tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           source: str = "optimizer state") -> None:
    params = dict(model.named_parameters())
    for key, value in tensors.items():
        name, _, field = key.rpartition("/")
        if name not in params:
            raise McError(f"{source}: holds moments of {key!r}, which this model has no parameter for",
                          "the optimizer state belongs to another model: remove trainer/ to start with fresh AdamW moments")
        param = params[name]
        optimizer.state[param][field] = value.to(param.device) if field != "step" else value.to(torch.float32)


def rng_tensors() -> dict[str, torch.Tensor]:
    states = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            states[f"torch_cuda_{i}"] = state
    return states


def restore_rng(tensors: dict[str, torch.Tensor], source: str = "RNG state") -> None:
    try:
        if "torch_cpu" in tensors:
            torch.set_rng_state(tensors["torch_cpu"])
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    except (RuntimeError, TypeError) as e:  # a tensor of the wrong size or type
        raise McError(f"{source}: not a torch generator state ({_reason(e)})") from None


def save_checkpoint(out_dir: str, model, tokenizer, optimizer, meta: dict, state_dict: dict | None = None,
                    optimizer_state: dict[str, torch.Tensor] | None = None,
                    extra_files: dict[str, Callable[[str], None]] | None = None) -> None:
    """`state_dict` / `optimizer_state`: full states gathered elsewhere (FSDP2 shards);
    `extra_files`: name -> a function writing that file in trainer/ (given its path),
    part of the same atomic write (mc train's rollout made ahead, with --off-policy)."""
    from safetensors.torch import save_file
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out_dir))}.", dir=parent)
    try:
        if hasattr(model, "peft_config"):  # a LoRA adapter (mc.lora): peft's own two files, no network lookups
            model.save_pretrained(tmp, safe_serialization=True, save_embedding_layers=False)
        else:
            model.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)
        os.makedirs(os.path.join(tmp, TRAINER))
        if optimizer_state is None and optimizer is not None:  # (a warm-up's optimizer is not carried into RL)
            optimizer_state = optimizer_tensors(model, optimizer)
        if optimizer_state is not None:
            save_file(optimizer_state, os.path.join(tmp, OPTIMIZER_FILE))
        save_file(rng_tensors(), os.path.join(tmp, RNG_FILE))
        for name, write in (extra_files or {}).items():
            write(os.path.join(tmp, TRAINER, name))
        with open(os.path.join(tmp, META), "w") as f:
            json.dump({**meta, "mc_version": __version__}, f, indent=1, sort_keys=True)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        replace_folder(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class TrainerState:
    """What a checkpoint holds besides the weights; empty for a plain HF model folder."""

    meta: dict
    optimizer: dict[str, torch.Tensor] | None  # AdamW moments by "param/field"
    rng: dict[str, torch.Tensor] | None
    optimizer_file: str
    rng_file: str


def read_trainer_state(path: str) -> TrainerState:
    """meta.json and trainer/ of a checkpoint, checked. A plain HF folder (neither)
    is a fresh start. In an mc checkpoint a file that is there but unreadable is an
    error naming it; a trainer/ without meta.json too (the step counter would
    restart); a missing optimizer file after optimizer steps is a warning: the
    weights are fine, only AdamW's moments start over."""
    from mc import console

    optimizer_file, rng_file = os.path.join(path, OPTIMIZER_FILE), os.path.join(path, RNG_FILE)
    meta = read_meta(path)
    if not os.path.exists(os.path.join(path, META)) and os.path.isdir(os.path.join(path, TRAINER)):
        raise McError(f"{path}: has trainer/ but no meta.json, so its step counter and settings are lost",
                      "restore meta.json, or remove trainer/ to start over from these weights at step 0")
    optimizer = _load_tensors(optimizer_file, "the AdamW moments")
    rng = _load_tensors(rng_file, "the RNG states")
    if optimizer is None and meta.get("optimizer_steps", 0) > 0 and os.environ.get("RANK", "0") == "0":  # once under torchrun
        console.warn(f"{optimizer_file} is missing: the AdamW moments of the checkpoint's {meta['optimizer_steps']} "
                     "optimizer steps are lost; training goes on with fresh ones")
    return TrainerState(meta, optimizer, rng, optimizer_file, rng_file)


def _load_tensors(file: str, what: str) -> dict[str, torch.Tensor] | None:
    from safetensors.torch import load_file

    if not os.path.exists(file):
        return None
    try:
        return load_file(file)
    except Exception as e:  # safetensors' SafetensorError (truncated, bad header), OSError
        raise McError(f"{file}: cannot read {what} ({_reason(e)})",
                      "the file may be truncated: restore it, or delete it to go on without it") from None
