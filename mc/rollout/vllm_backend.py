"""The vLLM backend (optional extra `mc[vllm]`, GPU): same records as the hf backend.

Written against vLLM's offline API (>= 0.10.2, the first release whose
`logprobs_mode="processed_logprobs"` applies temperature and top-k/top-p before
the log-softmax): each sampled token's log-probability is then
log_softmax(logits / T)[token] under the same nucleus, exactly the quantity the
hf backend records and train-step recomputes (up to kernel numerics).

The engine runs in-process (VLLM_ENABLE_V1_MULTIPROCESSING=0) so that `mc
train` can load new weights into it in memory. Seeds: every prompt gets its own
(`base + i * n`; vLLM gives child j of a request `seed + j`), drawn from mc's
seeded generator, so the same --seed gives the same samples on the same setup.
"""

from __future__ import annotations

import os

from mc.errors import McError, McUsageError
from mc.rollout.hf import Completion

MIN_VLLM = (0, 10, 2)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


class VLLMBackend:
    name = "vllm"
    device = "cpu"  # where mc's seed generator lives; vLLM owns the GPU

    def __init__(self, model_path: str, tensor_parallel_size: int = 1, dtype: str | None = None, seed: int = 0,
                 gpu_memory_utilization: float = 0.85, max_model_len: int | None = None, enable_sleep_mode: bool = False,
                 distributed_executor_backend: str | None = None):
        from mc.model import DTYPES, check_model_path

        # vLLM's own errors for a missing folder or a bad dtype come after seconds of start-up, in many lines.
        check_model_path(model_path)
        if dtype is not None and dtype not in DTYPES:
            raise McUsageError(f"--dtype must be one of: {', '.join(DTYPES)}; got {dtype!r}")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        import vllm
        from vllm import LLM

        if _version_tuple(vllm.__version__) < MIN_VLLM:
            raise McError(f"vllm {vllm.__version__} is too old: its processed log-probs ignore the temperature",
                          "pip install 'vllm>=0.10.2'")
        kwargs = {"max_model_len": max_model_len} if max_model_len else {}
        if distributed_executor_backend:  # "external_launcher": torchrun's ranks are the engine's workers
            kwargs["distributed_executor_backend"] = distributed_executor_backend
        self.sleep_mode = enable_sleep_mode
        self.llm = LLM(
            model=model_path, tensor_parallel_size=tensor_parallel_size, dtype=dtype or "auto", seed=seed,
            gpu_memory_utilization=gpu_memory_utilization, logprobs_mode="processed_logprobs",
            enable_sleep_mode=enable_sleep_mode, **kwargs,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.max_positions = self.llm.llm_engine.model_config.max_model_len

    def sample(self, prompts: list[list[int]], n: int, temperature: float, top_p: float, top_k: int, max_tokens: int,
               generator, on_tokens=None) -> list[list[Completion]]:
        """`on_tokens(count)`: vLLM schedules the batch itself, so it is called once, at the end."""
        import torch
        from vllm import SamplingParams, TokensPrompt

        if temperature <= 0 and n > 1:
            raise McUsageError("vllm samples greedily at temperature 0, which allows only --n 1")
        base = int(torch.randint(0, 2**31 - 1 - len(prompts) * n, (1,), generator=generator))
        params = [
            SamplingParams(n=n, temperature=temperature, top_p=top_p, top_k=top_k, min_p=0.0, max_tokens=max_tokens,
                           seed=base + i * n, logprobs=0, skip_special_tokens=True)
            for i in range(len(prompts))
        ]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompts], params, use_tqdm=False)
        groups = []
        for request in outputs:
            completions = []
            for out in request.outputs:
                ids = list(out.token_ids)
                # logprobs=0: each position holds the sampled token (and nothing else).
                logprobs = [position[token].logprob for token, position in zip(ids, out.logprobs)]
                reason = "length" if out.finish_reason == "length" else "stop"
                completions.append(Completion(ids, logprobs, reason))
            groups.append(completions)
        if on_tokens is not None:
            on_tokens(sum(len(c.token_ids) for group in groups for c in group))
        return groups

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)

    def sleep(self) -> None:
        """Free the GPU for the update (colocated with training): weights to CPU, KV cache dropped."""
        if self.sleep_mode:
            self.llm.sleep(level=1)

    def wake_up(self) -> None:
        if self.sleep_mode:
            self.llm.wake_up()

    def load_weights(self, named_tensors) -> None:
        """New policy weights, in memory: used by `mc train`. Full tensors by HF name; each
        worker's model (one per rank under torchrun) keeps its tensor-parallel slice."""
        model = self.llm.llm_engine.model_executor.driver_worker.worker.model_runner.model
        model.load_weights(named_tensors)
        self.llm.reset_prefix_cache()
