"""Checkpoints: a Hugging Face model folder plus the trainer's state.

    CKPT/                    config.json, model.safetensors, tokenizer files (loadable by anything HF)
    CKPT/meta.json           step (policy version), optimizer steps, resolved flags, mc version, reference model
    CKPT/trainer/optimizer.safetensors   AdamW moments and step per parameter name
    CKPT/trainer/rng.safetensors         torch CPU (and CUDA) generator states

Written to a temporary folder beside the target and swapped in with renames,
so `--out` may equal `--policy` and a crash never leaves a half-written folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import torch

from mc import __version__

META = "meta.json"
TRAINER = "trainer"


def read_meta(path: str) -> dict:
    try:
        with open(os.path.join(path, META)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def optimizer_tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    by_param = {id(p): name for name, p in model.named_parameters()}
    tensors = {}
    for param, state in optimizer.state.items():
        name = by_param[id(param)]
        for key, value in state.items():
            tensors[f"{name}/{key}"] = (value if torch.is_tensor(value) else torch.tensor(value)).detach().cpu().contiguous()
    return tensors


def load_optimizer_tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    for key, value in tensors.items():
        name, field = key.rsplit("/", 1)
        param = params[name]
        optimizer.state[param][field] = value.to(param.device) if field != "step" else value.to(torch.float32)


def rng_tensors() -> dict[str, torch.Tensor]:
    states = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            states[f"torch_cuda_{i}"] = state
    return states


def restore_rng(tensors: dict[str, torch.Tensor]) -> None:
    if "torch_cpu" in tensors:
        torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def save_checkpoint(out_dir: str, model, tokenizer, optimizer, meta: dict, state_dict: dict | None = None,
                    optimizer_state: dict[str, torch.Tensor] | None = None) -> None:
    """`state_dict` / `optimizer_state`: full states gathered elsewhere (FSDP2 shards)."""
    from safetensors.torch import save_file
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out_dir))}.", dir=parent)
    try:
        model.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)
        os.makedirs(os.path.join(tmp, TRAINER))
        if optimizer_state is None and optimizer is not None:  # (a warm-up's optimizer is not carried into RL)
            optimizer_state = optimizer_tensors(model, optimizer)
        if optimizer_state is not None:
            save_file(optimizer_state, os.path.join(tmp, TRAINER, "optimizer.safetensors"))
        save_file(rng_tensors(), os.path.join(tmp, TRAINER, "rng.safetensors"))
        with open(os.path.join(tmp, META), "w") as f:
            json.dump({**meta, "mc_version": __version__}, f, indent=1, sort_keys=True)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        _swap(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(new: str, target: str) -> None:
    """Put `new` at `target`; the old folder is removed only once the new one is in place."""
    if not os.path.exists(target):
        os.replace(new, target)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(target))}.old.", dir=os.path.dirname(os.path.abspath(target)))
    os.rmdir(old)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def read_trainer_tensors(path: str) -> tuple[dict | None, dict | None]:
    """(optimizer tensors by "param/field", RNG states) of a checkpoint; None for what it lacks."""
    from safetensors.torch import load_file

    opt_file = os.path.join(path, TRAINER, "optimizer.safetensors")
    rng_file = os.path.join(path, TRAINER, "rng.safetensors")
    return (load_file(opt_file) if os.path.exists(opt_file) else None,
            load_file(rng_file) if os.path.exists(rng_file) else None)


def load_trainer_state(path: str, model, optimizer) -> bool:
    """Restore optimizer moments and RNG from a checkpoint; False when it has none (a fresh model)."""
    optimizer_state, rng = read_trainer_tensors(path)
    if optimizer_state is None:
        return False
    load_optimizer_tensors(model, optimizer, optimizer_state)
    if rng is not None:
        restore_rng(rng)
    return True
