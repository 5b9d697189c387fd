"""One train step over several processes: `torchrun --nproc-per-node N mc train-step ...`.

PyTorch's own machinery, nothing home-made: the process group from torchrun's
environment (NCCL on GPUs, gloo on CPU), `DistributedDataParallel` for models that
fit on one device, FSDP2 `fully_shard` (each decoder layer, then the whole) for
ones that do not (`--fsdp`), `torch.distributed.checkpoint.state_dict` to gather a
full state for the single checkpoint rank 0 writes.

Every rank reads the same groups; each mini-batch's groups are dealt to the ranks
in turn, so the batch (and its loss normalisation, summed over ranks) is the one
a single process would see. Both wrappers average gradients over ranks, so each
rank's loss is scaled by the world size to make the gradient the single-process sum.
Collectives need every rank in every forward and backward: a rank with fewer
micro-batches than the busiest one runs padding passes with zero weight.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_world() -> World | None:
    """The torchrun world, or None in a plain single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        # A process group left open at exit can abort the interpreter (gloo's threads).
        atexit.register(_shutdown)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    return World(dist.get_rank(), dist.get_world_size(), local_rank)


def _shutdown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def device_for(world: World | None) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", world.local_rank if world else torch.cuda.current_device())
    return torch.device("cpu")


def wrap(module: torch.nn.Module, world: World, fsdp: bool, device: torch.device) -> torch.nn.Module:
    """DDP, or FSDP2 with one shard group per decoder layer plus the root."""
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for layer in _decoder_layers(module):
            fully_shard(layer)
        fully_shard(module)
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def _decoder_layers(module: torch.nn.Module) -> list[torch.nn.Module]:
    for sub in module.modules():
        layers = getattr(sub, "layers", None)
        if isinstance(layers, torch.nn.ModuleList) and len(layers):
            return list(layers)
    return []


def all_sum(values: list[float], world: World | None, device: torch.device) -> list[float]:
    if world is None:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def all_max(value: float, world: World | None, device: torch.device) -> float:
    if world is None:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def barrier(world: World | None) -> None:
    if world is not None:
        dist.barrier()


def full_states(wrapped: torch.nn.Module, optimizer, world: World, fsdp: bool, prefix: str):
    """(model state, optimizer state per parameter name) on rank 0 (None elsewhere), full
    tensors on CPU, names as the unwrapped HF model has them (`prefix` stripped)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, get_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state = get_model_state_dict(wrapped, options=options)
    optim_state = get_optimizer_state_dict(wrapped, optimizer, options=options) if optimizer is not None else None
    if not world.main:
        return None, None
    model_state = {_hf_name(k, prefix): v for k, v in model_state.items()}
    tensors = {}
    for name, state in (optim_state or {}).get("state", {}).items():
        for key, value in state.items():
            tensors[f"{_hf_name(name, prefix)}/{key}"] = (value if torch.is_tensor(value) else torch.tensor(value)).detach().cpu().contiguous()
    return model_state, tensors


def _hf_name(name: str, prefix: str) -> str:
    """A wrapped parameter's name as the HF model has it ("module.model.x" -> "x")."""
    return name.removeprefix("module.").removeprefix(prefix)


def load_full_optimizer(wrapped: torch.nn.Module, optimizer, tensors: dict[str, torch.Tensor], prefix: str) -> None:
    """Full optimizer moments (by HF parameter name) into a wrapped model's optimizer."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict, set_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True)
    template = get_optimizer_state_dict(wrapped, optimizer, options=options)
    by_param: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        name, field = key.rsplit("/", 1)
        by_param.setdefault(name, {})[field] = value
    names = [n for group in template["param_groups"] for n in group["params"]]
    state = {name: by_param[_hf_name(name, prefix)] for name in names if _hf_name(name, prefix) in by_param}
    set_optimizer_state_dict(wrapped, optimizer, {"state": state, "param_groups": template["param_groups"]}, options=options)
