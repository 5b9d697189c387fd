"""LoRA (peft): train a low-rank update of the weights instead of the weights.

A LoRA checkpoint is an mc checkpoint whose weights are an adapter, in peft's
own files, so peft, transformers and vLLM read it as they read any adapter:

    CKPT/adapter_config.json         rank, alpha, target modules; base_model_name_or_path:
                                     the base's absolute path (or hub id)
    CKPT/adapter_model.safetensors   the A and B matrices
    CKPT/tokenizer files, meta.json, trainer/   as in any checkpoint (the AdamW moments are the adapter's)

What each stage does with one:
- the trainer keeps the adapter unmerged and trains A and B only; the base stays
  frozen, bit for bit. The KL reference, when it is the base, is the same model
  with the adapter switched off: no second copy of the weights;
- rollout and eval (hf) load the base and merge the adapter into it
  (W + alpha/r * B A, peft's merge); vLLM starts from the base and is sent the
  merged weights through its weight-update API (`merged_weights`), which is also
  how `mc train` keeps vLLM in step with the adapter;
- `mc model merge` writes the merged weights as a plain Hugging Face folder.

Dropout is 0 and not an option: with dropout the update's forward pass would not
be the one that gave the old log-probs, so an on-policy ratio would not be 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from mc.errors import McError, McUsageError

ADAPTER_CONFIG = "adapter_config.json"
PEFT_INSTALL = "pip install 'mc[lora]' (peft)"
TARGETS_DEFAULT = "all-linear"


@dataclass(frozen=True)
class LoraSpec:
    """The adapter's shape: rank r, alpha (the update is scaled by alpha / r), the modules it adapts."""

    rank: int
    alpha: float
    targets: str  # "all-linear" (peft: every linear layer but the output head) or comma-separated module names

    def describe(self) -> str:
        return f"rank {self.rank}, alpha {self.alpha:g}, targets {self.targets}"


def spec_from_flags(rank: int, alpha: float | None, targets: str | None) -> LoraSpec | None:
    """The --lora-* flags as a spec (None: full fine-tuning), checked as usage errors."""
    if rank < 0:
        raise McUsageError(f"--lora-rank must be 0 (off) or positive, got {rank}")
    if not rank:
        if alpha is not None or targets is not None:
            raise McUsageError("--lora-alpha and --lora-targets need --lora-rank", "add --lora-rank R (e.g. 16)")
        return None
    if alpha is not None and not alpha > 0:
        raise McUsageError(f"--lora-alpha must be positive, got {alpha}")
    targets = TARGETS_DEFAULT if targets is None else ",".join(t.strip() for t in targets.split(",") if t.strip())
    if not targets:
        raise McUsageError("--lora-targets is empty", f"name modules (e.g. q_proj,v_proj) or {TARGETS_DEFAULT}")
    return LoraSpec(rank, float(alpha) if alpha is not None else 2.0 * rank, targets)


def _peft():
    try:
        import peft
    except ImportError:
        raise McError("LoRA needs peft, which is not installed", PEFT_INSTALL) from None
    return peft


# --- adapter folders ---------------------------------------------------------------

def is_adapter(path: str | None) -> bool:
    """Whether `path` is a local adapter folder (peft's adapter_config.json, no config.json of a whole model)."""
    return bool(path) and os.path.isfile(os.path.join(path, ADAPTER_CONFIG)) \
        and not os.path.isfile(os.path.join(path, "config.json"))


def read_adapter(path: str) -> tuple[str, LoraSpec]:
    """(base model, spec) of an adapter folder; anything but a readable LoRA config is one clear error."""
    from mc.jsonl import read_json_object

    file = os.path.join(path, ADAPTER_CONFIG)
    config = read_json_object(file, "the adapter's config", "restore it from a copy of the checkpoint")
    if config.get("peft_type", "LORA") != "LORA":
        raise McError(f"{file}: a {config['peft_type']} adapter; mc trains and loads LoRA adapters only")
    base = config.get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise McError(f"{file}: names no base model (base_model_name_or_path)",
                      "set it to the base model's folder or hub id")
    if not os.path.isabs(base) and os.path.exists(os.path.join(path, base)):
        base = os.path.normpath(os.path.join(path, base))  # a relative base is read from the adapter's folder
    rank, alpha = config.get("r"), config.get("lora_alpha")
    targets = config.get("target_modules")
    if isinstance(targets, list):
        targets = ",".join(sorted(targets))
    if not isinstance(rank, int) or isinstance(rank, bool) or rank <= 0 or not isinstance(alpha, (int, float)):
        raise McError(f"{file}: r must be a positive integer and lora_alpha a number (got r={rank!r}, lora_alpha={alpha!r})")
    return base, LoraSpec(rank, float(alpha), targets or TARGETS_DEFAULT)


def model_source(path: str) -> str:
    """The folder (or hub id) whose config and base weights `path` stands on: the base of
    an adapter, else `path` itself."""
    return read_adapter(path)[0] if is_adapter(path) else path


def _base_model(path: str, dtype, device, what: str):
    from mc.model import load_causal_lm

    base, _ = read_adapter(path)
    if is_adapter(base):
        raise McError(f"{what} {path}: its base {base} is itself an adapter",
                      f"merge that one first: mc model merge {base} MERGED/, and point {ADAPTER_CONFIG} at MERGED/")
    return load_causal_lm(base, dtype, device, what=f"the base of {what} {path}")


def load_merged(path: str, dtype, device, what: str = "model"):
    """An adapter folder as one plain model: its base with the adapter merged in."""
    peft = _peft()
    model = _base_model(path, dtype, device, what)
    try:
        return peft.PeftModel.from_pretrained(model, path).merge_and_unload()
    except Exception as e:  # safetensors' errors, a shape mismatch against the base, peft's ValueErrors
        raise McError(f"cannot load the adapter {path}: {' '.join(str(e).split())[:400]}",
                      "the adapter may not belong to its base, or its weights file may be truncated") from None


def trainable(path: str, spec: LoraSpec | None, dtype, device, what: str = "policy", seed: int = 0):
    """(peft model, its spec) to train: an adapter folder's adapter, trainable again (a spec
    given must be the adapter's own), or a new adapter of `spec` on the model at `path`
    (B starts at 0, so the model starts as the base; A is drawn from `seed`, apart from
    the process's random stream)."""
    import torch

    peft = _peft()
    if is_adapter(path):
        _, own = read_adapter(path)
        if spec is not None and (spec.rank, spec.alpha) != (own.rank, own.alpha):
            raise McUsageError(f"{what} {path} is a LoRA checkpoint ({own.describe()}); the --lora-* flags ask for "
                               f"{spec.describe()}",
                               f"drop the --lora-* flags to go on training its adapter, or merge it first "
                               f"(mc model merge {path} MERGED/) and start a new adapter on MERGED/")
        model = _base_model(path, dtype, device, what)
        try:
            return peft.PeftModel.from_pretrained(model, path, is_trainable=True), own
        except Exception as e:
            raise McError(f"cannot load the adapter {path}: {' '.join(str(e).split())[:400]}") from None
    from mc.model import load_causal_lm

    model = load_causal_lm(path, dtype, device, what=what)
    targets = spec.targets if spec.targets == TARGETS_DEFAULT else spec.targets.split(",")
    # GPT-2-style models keep their projections as Conv1D, weights stored (in, out): peft
    # must know (it would set this itself, with a warning).
    from transformers.pytorch_utils import Conv1D

    transposed = any(isinstance(m, Conv1D) for m in model.modules())
    config = peft.LoraConfig(r=spec.rank, lora_alpha=spec.alpha, target_modules=targets, lora_dropout=0.0,
                             bias="none", task_type="CAUSAL_LM", fan_in_fan_out=transposed)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return peft.get_peft_model(model, config), spec
    except ValueError as e:  # target modules not found in the model
        raise McUsageError(f"--lora-targets {spec.targets}: {' '.join(str(e).split())[:300]}",
                           f"name the model's linear layers (e.g. q_proj,k_proj,v_proj,o_proj) or use {TARGETS_DEFAULT}") from None


def load_policy(path: str, spec: LoraSpec | None, dtype, device, what: str = "policy", seed: int = 0):
    """(tokenizer, model, adapter, spec) of a model to train: with LoRA (`spec`, or a LoRA
    checkpoint at `path`) `adapter` is the peft model, which saves the adapter, and
    `model` the HF model inside it, its linear layers adapted in place, which every
    forward pass runs; without, `adapter` and `spec` are None."""
    from mc.model import load_pretrained, load_tokenizer

    if spec is None and not is_adapter(path):
        return (*load_pretrained(path, device, dtype, what=what), None, None)
    tokenizer = load_tokenizer(path, what)
    adapter, spec = trainable(path, spec, dtype, device, what, seed)
    return tokenizer, adapter.get_base_model(), adapter, spec


def mark_base(adapter_model, path: str) -> str:
    """Record, for save_pretrained, where the base of the model trained from `path` lives:
    an absolute path, or a hub id. Returns it (for meta.json's base_model)."""
    from mc.train.checkpoint import model_ref

    base = model_ref(model_source(path))
    for config in adapter_model.peft_config.values():
        config.base_model_name_or_path = base
    return base


def adapter_off(adapter_model, logprob_model):
    """A log-prob module computing with the adapter switched off (the base model): the KL
    reference of a LoRA run, sharing the policy's weights."""
    import torch

    class AdapterOff(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = logprob_model

        def forward(self, *args, **kwargs):
            with adapter_model.disable_adapter():
                return self.inner(*args, **kwargs)

    return AdapterOff()


# --- merged weights ------------------------------------------------------------------

def merged_weights(model) -> Iterator[tuple[str, object]]:
    """(HF name, tensor) of every weight as the model computes with it: a plain model's
    parameters (every name of tied ones; FSDP2 shards gathered one at a time), or, with
    LoRA layers in it, each adapted weight merged (base + alpha/r * B A, peft's delta)
    under the base model's own name. The model is not changed (no in-place merge, which
    would leave float error in the base weights after an unmerge)."""
    import torch

    if hasattr(model, "get_base_model") and hasattr(model, "peft_config"):  # a PeftModel: the HF model inside it
        model = model.get_base_model()
    adapted = {}
    if any(".lora_" in name for name, _ in model.named_parameters()):
        from peft.tuners.lora import LoraLayer

        adapted = {name: m for name, m in model.named_modules() if isinstance(m, LoraLayer)}
    with torch.no_grad():
        for name, param in model.named_parameters(remove_duplicate=False):
            tensor = param.data.full_tensor() if hasattr(param.data, "full_tensor") else param.data
            if not adapted:
                yield name, tensor
                continue
            if ".lora_" in name:
                continue
            owner, marker, leaf = name.partition(".base_layer.")
            if not marker:
                yield name, tensor
                continue
            layer = adapted[owner]
            if leaf == "weight" and not layer.merged and not layer.disable_adapters:
                for adapter in layer.active_adapters:
                    if adapter in layer.lora_A:
                        tensor = tensor + layer.get_delta_weight(adapter).to(tensor.dtype)
            yield f"{owner}.{leaf}", tensor


def merge_checkpoint(path: str, out: str, dtype: str = "float32", force: bool = False, status=None) -> dict:
    """`mc model merge`: the adapter at `path` merged into its base, written to `out` as a
    plain Hugging Face folder (config, weights, tokenizer), atomically. `status` hears
    each slow phase (for progress)."""
    import torch

    from mc.model import check_model_path, check_model_target, load_tokenizer, save_model_folder

    check_model_path(path, "checkpoint")
    if not is_adapter(path):
        raise McUsageError(f"{path} is not a LoRA checkpoint (no {ADAPTER_CONFIG}): its weights are whole already",
                           "give a checkpoint written with --lora-rank")
    check_model_target(out, force)
    base, spec = read_adapter(path)
    status = status or (lambda text: None)
    tokenizer = load_tokenizer(path, "checkpoint")
    status(f"loading {base} and merging the adapter")
    model = load_merged(path, getattr(torch, dtype), torch.device("cpu"), "checkpoint")
    model.config.name_or_path = out
    status(f"saving {out}")
    save_model_folder(model, tokenizer, out)
    return {"path": out, "base": base, "spec": spec.describe(), "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": dtype}
