"""The built-in default policy: a tokenizer trained here and a small Qwen3 model.

No weights can be downloaded where mc's tests and demo run, so `mc model init`
builds one: a byte-level BPE tokenizer trained on Python source (the running
interpreter's standard library, plus any problem statements given), a ChatML
chat template, and a Qwen3-architecture causal LM initialised from a seed. It
is saved as an ordinary Hugging Face folder (config.json, model.safetensors,
tokenizer files); every other command treats it like any model path or hub id.
"""

from __future__ import annotations

import os
import re
import shutil
import sysconfig
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mc.errors import McError, McUsageError

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class Size:
    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    max_positions: int
    head_dim: int | None = None  # default: hidden // heads


SIZES = {
    # ~0.9M parameters: the size the demo was shown to learn with on 2 CPU cores.
    "tiny": Size(vocab=512, hidden=128, intermediate=384, layers=4, heads=4, kv_heads=2, max_positions=4096),
    # ~7M parameters.
    "small": Size(vocab=2048, hidden=256, intermediate=768, layers=6, heads=8, kv_heads=4, max_positions=8192),
    # Qwen3-0.6B's transformer (28 layers, 1024 wide, GQA 16/8, head_dim 128) with a
    # locally trained 32K vocabulary: ~0.47B parameters, for GPU smoke runs with no download.
    "0.6b": Size(vocab=32000, hidden=1024, intermediate=3072, layers=28, heads=16, kv_heads=8, max_positions=40960,
                 head_dim=128),
}
CORPUS_CHARS = 4_000_000  # of standard-library source: enough for 2K merges, trains in seconds
# Problem texts given with --corpus are repeated up to this share of the training
# text: a few hundred statements would otherwise be lost in 4M characters of source,
# and every prompt and answer would cost twice the tokens it needs.
CORPUS_SHARE = 0.25


def problem_text(problem: dict) -> str:
    """A problem as the model will see it: role names, statement, a fenced answer."""
    solutions = problem.get("solutions") or []
    answer = f"```python\n{solutions[0]}\n```\n" if solutions else "```python\n"
    return f"user\n{problem.get('question') or ''}\nassistant\n{answer}"


def stdlib_sources(limit_chars: int = CORPUS_CHARS) -> Iterator[str]:
    """The interpreter's own standard library (.py files, sorted: deterministic)."""
    root = sysconfig.get_paths()["stdlib"]
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in {"test", "tests", "site-packages", "idlelib", "__pycache__"})
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            yield text
            total += len(text)
            if total >= limit_chars:
                return


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A byte-level BPE tokenizer (HF `tokenizers`) with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>", clean_up_tokenization_spaces=False
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_model(size: Size, tokenizer, seed: int):
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    stop_ids = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden,
        intermediate_size=size.intermediate,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=size.kv_heads,
        head_dim=size.head_dim or size.hidden // size.heads,
        max_position_embeddings=size.max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        eos_token_id=stop_ids,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=stop_ids, pad_token_id=tokenizer.pad_token_id)
    return model


def check_model_target(out_dir: str, force: bool) -> None:
    """Fail before the work when DIR cannot take a model folder: an existing non-empty
    DIR is replaced only with --force; a file, or a parent that cannot be written,
    never."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise McUsageError(f"{out_dir} is a file, not a folder", "give a folder name for the model")
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not force:
        inside = sorted(os.listdir(out_dir))
        raise McUsageError(f"{out_dir} exists and is not empty (it holds {', '.join(inside[:5])}{', ...' if len(inside) > 5 else ''})",
                           "pass --force to replace it")
    existing = os.path.dirname(os.path.abspath(out_dir))
    while not os.path.exists(existing):  # makedirs starts at the nearest ancestor that exists
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise McUsageError(f"cannot create {out_dir}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise McUsageError(f"cannot create {out_dir}: {existing} is not writable")


def save_model_folder(model, tokenizer, out_dir: str) -> None:
    """Save model and tokenizer as an HF folder: written beside `out_dir`, then swapped
    in whole (mc.outputs.replace_folder), with the umask's modes (mkdtemp and
    safetensors make 0700 / 0600)."""
    from transformers.utils import logging as hf_logging

    from mc.outputs import replace_folder

    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out_dir))}.", dir=parent)
    try:
        hf_logging.disable_progress_bar()
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        for name in os.listdir(tmp):
            os.chmod(os.path.join(tmp, name), 0o666 & ~umask)
        replace_folder(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def init_model(out_dir: str, size: str = "tiny", seed: int = 0, corpus: Iterable[str] = (), force: bool = False) -> dict:
    """Build the default policy into `out_dir` (atomically); returns a summary."""
    if size not in SIZES:
        raise McUsageError(f"--size must be one of: {', '.join(SIZES)}; got {size!r}")
    check_model_target(out_dir, force)
    spec = SIZES[size]
    texts = list(stdlib_sources())
    extra = list(corpus)
    if extra:
        source_chars, extra_chars = sum(map(len, texts)), max(1, sum(map(len, extra)))
        repeats = max(1, round(CORPUS_SHARE * source_chars / ((1 - CORPUS_SHARE) * extra_chars)))
        texts += extra * repeats
    tokenizer = train_tokenizer(texts, spec.vocab)
    model = build_model(spec, tokenizer, seed)
    save_model_folder(model, tokenizer, out_dir)
    params = sum(p.numel() for p in model.parameters())
    return {"path": out_dir, "size": size, "parameters": params, "vocab": len(tokenizer), "layers": spec.layers,
            "corpus_chars": sum(len(t) for t in texts), "seed": seed}


# --- loading any model: mc's own, a checkpoint, a local HF folder or a hub id ---------

DTYPES = ("float32", "bfloat16", "float16")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def resolve_device(name: str | None, flag: str = "--device"):
    """A torch.device the machine has (cuda when available, else cpu, by default)."""
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise McUsageError(f"{flag} {name!r} is not a device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise McUsageError(f"{flag} {name}: this machine has no usable CUDA device (torch {torch.__version__})",
                               "drop the flag to use the CPU, or install a CUDA build of torch on a GPU node")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise McUsageError(f"{flag} {name}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type != "cpu" and not _backend_available(device.type):
        raise McUsageError(f"{flag} {name}: this torch has no {device.type} device")
    return device


def _backend_available(kind: str) -> bool:
    import torch

    module = getattr(torch, kind, None) or getattr(torch.backends, kind, None)
    available = getattr(module, "is_available", None)
    return bool(available and available())


def resolve_dtype(name: str | None, device, flag: str = "--dtype"):
    """The torch dtype for a --dtype name (default: bfloat16 on GPU, float32 elsewhere)."""
    import torch

    if name is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise McUsageError(f"{flag} must be one of: {', '.join(DTYPES)}; got {name!r}")
    return getattr(torch, name)


def _one_line(error: BaseException, limit: int = 400) -> str:
    """An exception's whole message on one line (transformers' span several)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_model_path(path: str, what: str = "model") -> None:
    """Fail early and clearly on a path that cannot be a model: a missing local
    folder, a file, a folder without config.json. Hub ids pass through."""
    local = os.path.exists(path) or path.startswith((".", "/", "~")) or path.count("/") > 1 or not _HUB_ID.match(path)
    if not local:
        return
    if not os.path.exists(path):
        raise McError(f"{what} {path}: no such folder", "give a Hugging Face model folder, an mc checkpoint or a hub id like Qwen/Qwen3-1.7B")
    if not os.path.isdir(path):
        raise McError(f"{what} {path}: is a file, expected a model folder (config.json, weights, tokenizer files)")
    if not os.path.exists(os.path.join(path, "config.json")) and not os.path.exists(os.path.join(path, "adapter_config.json")):
        inside = sorted(os.listdir(path))[:5]
        runs = sorted(name for name in os.listdir(path) if name.startswith("ckpt-"))
        hint = (f"a run folder: give one of its checkpoints, e.g. {os.path.join(path, runs[-1])}" if runs
                else "build one with `mc model init DIR`, or give a hub id like Qwen/Qwen3-1.7B")
        raise McError(f"{what} {path}: not a Hugging Face model folder (no config.json; it holds {', '.join(inside) or 'nothing'})", hint)


def load_tokenizer(path: str, what: str = "model"):
    from transformers import AutoTokenizer

    check_model_path(path, what)
    from mc.lora import is_adapter, model_source

    if is_adapter(path) and not any(os.path.exists(os.path.join(path, name)) for name in TOKENIZER_FILES):
        path = model_source(path)  # an adapter saved without its tokenizer: the base's
    try:
        return AutoTokenizer.from_pretrained(path)
    except Exception as e:  # transformers raises OSError, ValueError, TypeError, KeyError, tokenizers' own
        if os.path.isdir(path):
            raise McError(f"cannot load the tokenizer of {what} {path}: {_one_line(e)}",
                          "the folder needs tokenizer files (tokenizer.json or a vocabulary); save them with the model") from None
        raise McError(f"{what} {path}: no such folder here, and the hub id cannot be loaded: {_one_line(e)}",
                      "check the path or hub id; without network, download the model first") from None


def load_causal_lm(path: str, dtype, device, what: str = "model"):
    """The model's weights on `device` (a LoRA checkpoint: its base with the adapter merged
    in, mc.lora); a truncated or corrupt weights file is one clear error."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from mc.lora import is_adapter, load_merged

    check_model_path(path, what)
    if is_adapter(path):
        return load_merged(path, dtype, device, what)
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except Exception as e:  # safetensors' SafetensorError, OSError, ValueError, a size-mismatch RuntimeError
        hint = ("the weights file may be truncated or corrupt: copy or save the checkpoint again"
                if os.path.isdir(path) else "check the hub id, or download the model first (no network here?)")
        raise McError(f"cannot load the weights of {what} {path}: {_one_line(e)}", hint) from None
    try:
        return model.to(device)
    except RuntimeError as e:  # torch.OutOfMemoryError among them
        raise McError(f"cannot move {what} {path} to {device}: {_one_line(e)}") from None


def load_pretrained(path: str, device=None, dtype=None, what: str = "model"):
    """(tokenizer, model) from any HF causal-LM folder or hub id. `device` and
    `dtype` are the user's flag values (names or None), checked first."""
    device = resolve_device(device) if device is None or isinstance(device, str) else device
    dtype = resolve_dtype(dtype, device) if dtype is None or isinstance(dtype, str) else dtype
    tokenizer = load_tokenizer(path, what)
    return tokenizer, load_causal_lm(path, dtype, device, what)
