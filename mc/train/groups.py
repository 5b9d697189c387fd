"""What train-step needs of a scored group, checked where it is read.

`validate_scored_group` runs as the `validate=` callback of `mc.jsonl.iter_records`,
so a bad group is one error line naming file:line, not a TypeError deep inside
the batch code. Token ids against the vocabulary can only be checked once the
model is loaded: `check_vocabulary`, before the first forward pass (an id past
the embedding table would be an IndexError there, or a CUDA assert).
"""

from __future__ import annotations

import math

from mc.errors import McError
from mc.reward.score import validate_group

REWARD_HINT = "pipe the groups through `mc reward` first"


def validate_scored_group(group: dict) -> None:
    """A Group record (mc.reward's checks) with what a GRPO update reads: prompt_ids,
    and per sample a finite numeric reward, token_ids and matching logprobs."""
    validate_group(group)
    where = _name(group)
    _check_ids(group.get("prompt_ids"), f"{where}: prompt_ids", "train on groups written by `mc rollout`, which carry prompt_ids")
    rollout = group.get("rollout")
    if rollout is not None:
        if not isinstance(rollout, dict):
            raise McError(f"{where}: 'rollout' must be an object, got {_kind(rollout)}")
        limit = rollout.get("max_tokens")
        if limit is not None and (not _is_int(limit) or limit < 1):
            raise McError(f"{where}: rollout.max_tokens must be a positive integer, got {limit!r}")
    samples = group["samples"]
    if not samples:
        raise McError(f"{where}: the group has no samples")
    for i, sample in enumerate(samples):
        _check_sample(sample, f"{where}: samples[{i}]")


def _check_sample(sample: dict, where: str) -> None:
    if "reward" not in sample:
        raise McError(f"{where} has no reward", REWARD_HINT)
    if not _is_finite_number(sample["reward"]):
        raise McError(f"{where}: reward must be a finite number, got {sample['reward']!r}", REWARD_HINT)
    for shaped in ("judged_reward", "overlong_penalty"):  # written by `mc reward --overlong-buffer`; read by dynamic sampling
        if shaped in sample and not _is_finite_number(sample[shaped]):
            raise McError(f"{where}: {shaped} must be a finite number, got {sample[shaped]!r}", REWARD_HINT)
    ids = sample.get("token_ids")
    _check_ids(ids, f"{where}: token_ids", "train on groups written by `mc rollout`, which carry token_ids")
    logprobs = sample.get("logprobs")
    if logprobs is not None:
        if not isinstance(logprobs, list) or not all(_is_finite_number(x) for x in logprobs):
            raise McError(f"{where}: logprobs must be a list of finite numbers (or null)")
        if len(logprobs) != len(ids):
            raise McError(f"{where}: {len(logprobs)} logprobs for {len(ids)} token_ids")
    temperature = sample.get("temperature")
    if temperature is not None and (not _is_finite_number(temperature) or temperature < 0):
        raise McError(f"{where}: temperature must be a number >= 0, got {temperature!r}")


def _check_ids(ids, where: str, hint: str) -> None:
    if not isinstance(ids, list) or not ids:
        raise McError(f"{where} must be a non-empty list of token ids, got {_kind(ids)}", hint)
    bad = next((k for k, x in enumerate(ids) if not _is_int(x) or x < 0), None)
    if bad is not None:
        raise McError(f"{where}[{bad}] = {ids[bad]!r} is not a token id (a non-negative integer)")


def check_vocabulary(groups: list[dict], vocab_size: int) -> None:
    """Every prompt and response token id indexes the policy's embedding table."""
    for g_index, group in enumerate(groups):
        high = max(group["prompt_ids"])
        if high >= vocab_size:
            raise McError(f"{_name(group, g_index + 1)}: prompt_ids hold token id {high}, but the policy has "
                          f"{vocab_size} embeddings", "the groups were tokenized for another model: roll out with this policy")
        for i, sample in enumerate(group["samples"]):
            high = max(sample["token_ids"])
            if high >= vocab_size:
                raise McError(f"{_name(group, g_index + 1)}: samples[{i}].token_ids hold token id {high}, but the "
                              f"policy has {vocab_size} embeddings", "the groups were sampled from another model: roll out with this policy")


def _name(group: dict, index: int | None = None) -> str:
    """"group 't/sum'", or "group 3 ('t/sum')" (counting from 1) where its position in the input is known."""
    problem = group.get("problem")
    ident = problem.get("id") if isinstance(problem, dict) else None
    if index is None:
        return f"group {ident!r}" if ident is not None else "group"
    return f"group {index} ({ident!r})" if ident is not None else f"group {index}"


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _kind(value) -> str:
    return "none" if value is None else f"{type(value).__name__} {value!r}"[:80]
