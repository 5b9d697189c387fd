"""The transformers backend: batched sampling with a KV cache, CPU or GPU.

A small loop over the model's forward pass rather than `model.generate`, so
that the log-probability of each sampled token under the exact distribution it
was drawn from is recorded as it is drawn: O(batch) memory per step, where
`generate(output_scores=True)` would keep [steps, batch, vocab] floats.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch

from mc.rollout.sampling import draw, sampling_logprobs


@dataclass
class Completion:
    token_ids: list[int]
    logprobs: list[float]
    finish_reason: str  # "stop" (a stop token was drawn; it is the last token) or "length"


def forward_cache_name(model) -> str:
    """The forward() keyword that takes the KV cache: `cache` from transformers 5.24 on
    (where `past_key_values` still works but warns on every call), `past_key_values`
    before it and for remote-code models that never took the new name."""
    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in parameters else "past_key_values"


def returned_cache(out):
    """The KV cache a forward pass returned. Read as `cache` where the output has that
    field: the `past_key_values` property logs a deprecation warning on 5.24+."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _common_prefix(a: list[int], b: list[int], limit: int) -> int:
    """How many leading tokens a and b share, at most `limit`."""
    n = 0
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def stop_token_ids(tokenizer, generation_config=None) -> list[int]:
    """End-of-turn tokens: the generation config's eos ids and the tokenizer's (both
    backends stop on this list)."""
    ids: list[int] = []
    eos = getattr(generation_config, "eos_token_id", None)
    ids += eos if isinstance(eos, list) else ([eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
        tid = tokenizer.convert_tokens_to_ids(token) if token in tokenizer.get_vocab() else None
        if tid is not None:
            ids.append(tid)
    return sorted(set(ids))


class HFBackend:
    name = "hf"

    def __init__(self, model_path: str, device: str | None = None, dtype: str | None = None):
        from mc.model import load_pretrained

        # One clear error for a bad --device/--dtype, a missing or non-model folder, corrupt weights.
        tokenizer, model = load_pretrained(model_path, device=device, dtype=dtype)
        model.eval()
        self._attach(model, tokenizer)

    def _attach(self, model, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.device = next(model.parameters()).device
        self.max_positions = getattr(model.config, "max_position_embeddings", None)
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        self.cache_name = forward_cache_name(model)

    @classmethod
    def from_model(cls, model, tokenizer) -> HFBackend:
        """Sample from a model already in memory (mc train: the trainer's own)."""
        backend = cls.__new__(cls)
        backend._attach(model, tokenizer)
        return backend

    @torch.no_grad()
    def sample(self, prompts: list[list[int]], n: int, temperature: float, top_p: float, top_k: int, max_tokens: int,
               generator: torch.Generator, on_tokens: Callable[[int], None] | None = None) -> list[list[Completion]]:
        """n completions per prompt; one batch of len(prompts) * n sequences.
        `on_tokens(count)` is called after each decoding step with the tokens it sampled."""
        was_training = self.model.training
        self.model.eval()
        try:
            return self._sample(prompts, n, temperature, top_p, top_k, max_tokens, generator, on_tokens)
        finally:
            self.model.train(was_training)

    def _sample(self, prompts, n, temperature, top_p, top_k, max_tokens, generator, on_tokens=None):
        rows = [p for p in prompts for _ in range(n)]
        B = len(rows)
        width = max(len(r) for r in rows)
        input_ids = torch.full((B, width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((B, width), dtype=torch.long)
        for i, row in enumerate(rows):  # left padding: every row's last prompt token in the last column
            input_ids[i, width - len(row):] = torch.tensor(row)
            attention[i, width - len(row):] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)  # [B, width]
        stop = torch.tensor(self.stop_ids, device=self.device)

        out = self.model(input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=True)
        cache, logits = returned_cache(out), out.logits[:, -1, :]
        position = positions[:, -1:]  # [B, 1]
        done = torch.zeros(B, dtype=torch.bool, device=self.device)
        alive = B
        tokens, logps = [], []  # per step: [B]
        for _ in range(max_tokens):
            logprobs = sampling_logprobs(logits, temperature, top_p, top_k)  # [B, V]
            nxt = draw(logprobs, greedy=temperature <= 0, generator=generator)  # [B]
            tokens.append(torch.where(done, torch.full_like(nxt, self.pad_id), nxt))
            logps.append(logprobs.gather(-1, nxt[:, None]).squeeze(-1))
            if on_tokens is not None:
                on_tokens(alive)  # rows already stopped drew padding, not tokens
            done = done | torch.isin(nxt, stop)
            alive = B - int(done.sum())  # the step's one device sync, shared by the stop test and the count
            if alive == 0:
                break
            attention = torch.cat([attention, torch.ones((B, 1), dtype=attention.dtype, device=self.device)], dim=-1)
            position = position + 1
            out = self.model(input_ids=tokens[-1][:, None], attention_mask=attention, position_ids=position,
                             use_cache=True, **{self.cache_name: cache})
            cache, logits = returned_cache(out), out.logits[:, -1, :]

        steps_tokens = torch.stack(tokens, dim=1).tolist() if tokens else [[] for _ in range(B)]  # [B, steps]
        steps_logps = torch.stack(logps, dim=1).tolist() if logps else [[] for _ in range(B)]
        stop_set = set(self.stop_ids)
        results = []
        for ids, lps in zip(steps_tokens, steps_logps):
            end = next((k for k, t in enumerate(ids) if t in stop_set), None)
            if end is None:
                results.append(Completion(ids, lps, "length"))
            else:
                results.append(Completion(ids[: end + 1], lps[: end + 1], "stop"))
        return [results[i * n : (i + 1) * n] for i in range(len(prompts))]

    @torch.no_grad()
    def choice_logprobs(self, prompts: list[list[int]], choices: list[list[int]], batch_size: int = 16,
                        min_shared: int = 32) -> list[list[float]]:
        """Per prompt, the log-probability that its next token is each of its `choices`
        (token ids), renormalised over them: the model's next-token distribution
        restricted to the choices (a rating from a digit's probability, not a sample).

        Consecutive prompts that share a prefix of at least `min_shared` tokens (the
        rubric's questions about one problem) run it once: its KV cache is computed
        for one row and repeated for their suffixes, as vLLM's prefix cache does."""
        was_training = self.model.training
        self.model.eval()
        try:
            out: list[list[float]] = []
            start = 0
            while start < len(prompts):
                end, shared = start + 1, len(prompts[start]) - 1
                while end < len(prompts) and end - start < batch_size:
                    common = _common_prefix(prompts[start], prompts[end], min(shared, len(prompts[end]) - 1))
                    if common < min_shared:
                        break
                    shared, end = common, end + 1
                rows = prompts[start:end]
                logits = self._shared_last_logits(rows, shared) if len(rows) > 1 else self._last_logits(rows)
                for row_logits, ids in zip(logits, choices[start:end]):
                    out.append(torch.log_softmax(row_logits[torch.tensor(ids, device=self.device)], -1).tolist())
                start = end
            return out
        finally:
            self.model.train(was_training)

    def _last_logits(self, rows: list[list[int]]) -> torch.Tensor:
        """[B, V] float32 logits at each row's last position (left-padded batch)."""
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):  # left padding: each row's last token in the last column
            input_ids[i, width - len(row):] = torch.tensor(row)
            attention[i, width - len(row):] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        return self.model(input_ids=input_ids, attention_mask=attention, position_ids=positions,
                          use_cache=False).logits[:, -1, :].float()

    def _shared_last_logits(self, rows: list[list[int]], shared: int) -> torch.Tensor:
        """As _last_logits, for rows whose first `shared` tokens are the same: those run once."""
        prefix = torch.tensor([rows[0][:shared]], device=self.device)
        cache = returned_cache(self.model(input_ids=prefix, use_cache=True))
        cache.batch_repeat_interleave(len(rows))
        width = max(len(r) - shared for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), shared + width), dtype=torch.long)
        attention[:, :shared] = 1
        for i, row in enumerate(rows):  # right padding: a suffix's pad comes after its last token
            input_ids[i, : len(row) - shared] = torch.tensor(row[shared:])
            attention[i, shared : len(row)] = 1
        positions = (shared + torch.arange(width))[None, :].expand(len(rows), width)
        logits = self.model(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                            position_ids=positions.to(self.device), use_cache=True, **{self.cache_name: cache}).logits
        last = torch.tensor([len(r) - shared - 1 for r in rows], device=self.device)
        return logits[torch.arange(len(rows), device=self.device), last].float()  # [B, V]

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)
