"""Log-probabilities of the response tokens at the training temperature, in chunks.

logits / T -> log_softmax -> the log-prob of each actual next token. The
[N, L, V] float32 logits are never materialised: the final hidden states are
projected to the vocabulary a chunk of positions at a time, and under autograd
each chunk is checkpointed, so the backward pass recomputes a chunk's logits
instead of keeping them. Peak memory is one chunk: N x chunk x V floats.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

DEFAULT_CHUNK_ELEMENTS = 1 << 25  # N x positions x V per chunk (128 MiB of float32)


def _chunk(hidden: torch.Tensor, head: torch.nn.Module, targets: torch.Tensor, inv_temperature: torch.Tensor,
           with_entropy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    logits = head(hidden).float() * inv_temperature[:, None, None]  # [N, C, V]
    logprobs = torch.log_softmax(logits, dim=-1)
    picked = logprobs.gather(-1, targets[..., None]).squeeze(-1)  # [N, C]
    if with_entropy:
        entropy = -(logprobs.exp() * logprobs).sum(-1)  # [N, C]
    else:
        entropy = torch.zeros_like(picked)
    return picked, entropy


def token_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, temperature: torch.Tensor,
                   with_entropy: bool = False, chunk_elements: int = DEFAULT_CHUNK_ELEMENTS):
    """input_ids, attention_mask: [N, L] right-padded; temperature: [N].

    Returns (logprobs [N, L-1], entropy [N, L-1] or None): position t holds the
    log-probability of token t+1 given tokens 0..t, at the row's temperature.
    """
    base = model.base_model
    head = model.get_output_embeddings()
    hidden = base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state  # [N, L, H]
    hidden = hidden[:, :-1]
    targets = input_ids[:, 1:]  # [N, L-1]
    inv_t = 1.0 / temperature.clamp(min=1e-6).to(hidden.device, torch.float32)  # [N]
    n, positions = targets.shape
    vocab = head.weight.shape[0]
    step = max(1, chunk_elements // max(1, n * vocab))
    pieces, entropies = [], []
    for start in range(0, positions, step):
        args = (hidden[:, start : start + step], head, targets[:, start : start + step], inv_t, with_entropy)
        if torch.is_grad_enabled():
            picked, entropy = checkpoint(_chunk, *args, use_reentrant=False)
        else:
            picked, entropy = _chunk(*args)
        pieces.append(picked)
        entropies.append(entropy)
    logprobs = torch.cat(pieces, dim=1)
    return logprobs, (torch.cat(entropies, dim=1) if with_entropy else None)


class LogprobModel(torch.nn.Module):
    """A causal LM whose forward is `token_logprobs`: the one module DDP or FSDP2 wraps,
    so the chunked head runs inside the wrapped forward (their hooks see it)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, temperature, with_entropy: bool = False):
        return token_logprobs(self.model, input_ids, attention_mask, temperature, with_entropy=with_entropy)
