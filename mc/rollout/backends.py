"""Choosing and loading a sampling backend (torch and vllm load only here)."""

from __future__ import annotations

from mc.errors import McError, McUsageError


def vllm_available() -> bool:
    try:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            return False
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


BACKENDS = ("auto", "hf", "vllm")


def check_backend_args(name: str, dtype: str | None = None) -> None:
    """The --backend and --dtype names, checked before anything loads (usage errors)."""
    from mc.model import DTYPES

    if name not in BACKENDS:
        raise McUsageError(f"--backend must be one of: {', '.join(BACKENDS)}; got {name!r}")
    if dtype is not None and dtype not in DTYPES:
        raise McUsageError(f"--dtype must be one of: {', '.join(DTYPES)}; got {dtype!r}")


def resolve_backend(name: str, device: str | None = None) -> str:
    """hf or vllm for a --backend name: auto is vllm when installed with a GPU, unless
    --device asks for the CPU."""
    check_backend_args(name)
    if name == "auto":
        return "vllm" if vllm_available() and not (device or "").startswith("cpu") else "hf"
    return name


def load_backend(name: str, model: str, *, device=None, dtype=None, tensor_parallel_size: int = 1, seed: int = 0):
    from mc.model import check_model_path

    check_backend_args(name, dtype)
    check_model_path(model)  # a missing folder fails at once, not after torch and vllm are imported
    name = resolve_backend(name, device)
    if name == "vllm":
        if not vllm_available():
            raise McError("the vllm backend needs vllm and a CUDA GPU", "pip install 'mc[vllm]' on a GPU machine, or use --backend hf")
        if device is not None:
            from mc import console

            console.warn("--device is for the hf backend; vllm places the model itself (see --tensor-parallel-size)")
        from mc.rollout.vllm_backend import VLLMBackend

        return VLLMBackend(model, tensor_parallel_size=tensor_parallel_size, dtype=dtype, seed=seed)
    from mc.rollout.hf import HFBackend

    return HFBackend(model, device=device, dtype=dtype)
