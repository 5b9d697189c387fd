"""The hf backend on three architectures (Qwen3, Llama, GPT-2): exact log-probs, the
KV cache passed under the name the installed transformers wants (no deprecation
warning), the same samples as through the older `past_key_values` name, and a
per-step token count for the progress display."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

from mc.rollout.hf import HFBackend, forward_cache_name
from mc.rollout.sampling import sampling_logprobs

MAX_TOKENS = 12


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def build(arch: str, tiny_model, tokenizer):
    """The tiny Qwen3 from disk, or a randomly initialised Llama / GPT-2 on its vocabulary."""
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    vocab, stop = len(tokenizer), tokenizer.convert_tokens_to_ids("<|im_end|>")
    if arch == "qwen3":
        return AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                            bos_token_id=stop, eos_token_id=stop, pad_token_id=tokenizer.pad_token_id))
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=256, n_embd=64, n_layer=2, n_head=2,
                                      bos_token_id=stop, eos_token_id=stop))


class Caught(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def sample(backend: HFBackend, tokenizer, on_tokens=None):
    """Completions for two prompts x 2 samples, and every warning raised meanwhile."""
    from transformers.utils import logging as hf_logging

    prompts = [tokenizer("def f(x):")["input_ids"], tokenizer("import os\nprint(1)")["input_ids"]]
    hf_logging.warning_once.cache_clear()  # transformers logs each deprecation once per process
    caught = Caught()
    logger = logging.getLogger("transformers")
    logger.addHandler(caught)
    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")
            groups = backend.sample(prompts, 2, 1.0, 1.0, 0, MAX_TOKENS, torch.Generator().manual_seed(0), on_tokens=on_tokens)
    finally:
        logger.removeHandler(caught)
    said = [str(w.message) for w in raised] + caught.messages
    return prompts, groups, [m for m in said if "deprecated" in m or "past_key_values" in m]


@pytest.mark.parametrize("arch", ["qwen3", "llama", "gpt2"])
def test_exact_logprobs_no_deprecation_warning_and_token_counts(arch, tiny_model, tokenizer):
    model = build(arch, tiny_model, tokenizer).eval()
    backend = HFBackend.from_model(model, tokenizer)
    import transformers
    from packaging.version import Version

    # transformers 5.24+ takes the cache as `cache` (the old name warns); before, `past_key_values`.
    assert backend.cache_name == ("cache" if Version(transformers.__version__) >= Version("5.24") else "past_key_values")
    steps: list[int] = []
    prompts, groups, said = sample(backend, tokenizer, on_tokens=steps.append)
    assert said == []
    worst, total = 0.0, 0
    for prompt, completions in zip(prompts, groups):
        for c in completions:
            total += len(c.token_ids)
            with torch.no_grad():
                logits = model(torch.tensor([prompt + c.token_ids])).logits[0]  # [T, V], no padding, no cache
            recomputed = sampling_logprobs(logits[len(prompt) - 1 : -1], 1.0).gather(-1, torch.tensor(c.token_ids)[:, None])
            worst = max(worst, float((recomputed.squeeze(-1) - torch.tensor(c.logprobs)).abs().max()))
    assert worst < 1e-4, worst
    # One call per decoding step, counting the rows still sampling: the tokens kept.
    assert sum(steps) == total and len(steps) == max(len(c.token_ids) for g in groups for c in g)


@pytest.mark.parametrize("arch", ["qwen3", "gpt2"])
def test_the_old_cache_name_gives_the_same_samples(arch, tiny_model, tokenizer):
    """The fallback for models whose forward() only takes `past_key_values`."""
    model = build(arch, tiny_model, tokenizer).eval()
    backend = HFBackend.from_model(model, tokenizer)
    _, new, _ = sample(backend, tokenizer)
    backend.cache_name = "past_key_values"
    _, old, _ = sample(backend, tokenizer)
    assert [[(c.token_ids, c.logprobs, c.finish_reason) for c in g] for g in new] == \
        [[(c.token_ids, c.logprobs, c.finish_reason) for c in g] for g in old]


def test_cache_name_follows_the_forward_signature():
    class OldStyle(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache=None):
            return input_ids

    class NewStyle(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None, cache=None, use_cache=None):
            return input_ids

    assert forward_cache_name(OldStyle()) == "past_key_values"
    assert forward_cache_name(NewStyle()) == "cache"


def test_choice_logprobs_share_a_prefix_exactly(tiny_model, real):
    """The rubric's prompts about one problem share their long prefix; computed once (its KV
    cache repeated), the restricted distributions equal those of a full forward per prompt."""
    from mc.data.importer import import_problems
    from mc.data.predict import DEFAULT_RUBRIC, rating_prompt
    from mc.rollout.hf import HFBackend

    backend = HFBackend(str(tiny_model), device="cpu", dtype="float32")
    prompts, choices = [], []
    for problem in list(import_problems([str(real.lcb_public)]))[:1]:
        for dimension in DEFAULT_RUBRIC["dimensions"]:
            ids, digits = rating_prompt(problem, dimension, DEFAULT_RUBRIC, backend.tokenizer)
            prompts.append(ids)
            choices.append(digits)
    shared = backend.choice_logprobs(prompts, choices)
    alone = backend.choice_logprobs(prompts, choices, min_shared=10**9)
    assert max(abs(a - b) for x, y in zip(shared, alone) for a, b in zip(x, y)) < 1e-5
