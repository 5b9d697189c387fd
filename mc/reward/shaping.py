"""Reward shaping by response length: DAPO's soft overlong punishment (Yu et al. 2025, eq. 13).

    penalty(|y|) = 0                                  |y| <= L_max - buffer
                 = -factor * (|y| - (L_max - buffer)) / buffer   inside the buffer
                 = -factor                            |y| >= L_max (cut at the limit; no lower)

|y| counts the response's tokens, the stop token included (verl's
valid_response_length). The penalty is added to the judged reward; the sample
keeps both parts (`judged_reward`, `overlong_penalty`), so the judge's reward
and the shaping stay separately visible, and dynamic sampling can judge a
group on the former. This is shaping, not filtering: truncated samples stay
in the loss with a lower reward. Overlong *filtering* (masking them out of the
loss) is train-step's `--truncation-mask all`.
"""

from __future__ import annotations

import math

from mc.errors import McError, McUsageError


def parse_buffer(text: str) -> tuple[float, bool] | None:
    """--overlong-buffer: "4096" (tokens) or "20%" (of each group's L_max) -> (value, is_share);
    "0" or "off": no shaping (None), to turn a preset's off."""
    value = text.strip()
    if value.lower() in ("0", "0%", "off", "none"):
        return None
    share = value.endswith("%")
    try:
        number = float(value[:-1]) if share else int(value)
    except ValueError:
        raise McUsageError(f"--overlong-buffer must be a token count (4096) or a share of --max-tokens (20%), got {text!r}") from None
    if not math.isfinite(number) or number <= 0 or (share and number > 100):
        raise McUsageError(f"--overlong-buffer must be positive (and a share at most 100%), got {text!r}")
    return (number / 100.0, True) if share else (float(number), False)


def buffer_tokens(buffer: tuple[float, bool], max_tokens: int) -> int:
    """The buffer's length in tokens for this L_max (a share rounds to the nearest token, at least 1)."""
    value, share = buffer
    tokens = max(1, round(value * max_tokens)) if share else int(value)
    return min(tokens, max_tokens)


def overlong_penalty(length: int, max_tokens: int, buffer: int, factor: float = 1.0) -> float:
    """DAPO's soft overlong punishment for a `length`-token response (<= 0)."""
    expected = max_tokens - buffer
    if length <= expected:
        return 0.0
    return max(-(length - expected) / buffer * factor, -factor)  # past L_max (a hand-made group): the paper's -factor; verl has no floor


def shape_group(group: dict, buffer: tuple[float, bool], factor: float, max_tokens: int | None = None) -> dict:
    """The scored group with each sample's reward lowered by its overlong penalty.
    L_max: `max_tokens`, else the rollout's (group.rollout.max_tokens)."""
    limit = max_tokens or (group.get("rollout") or {}).get("max_tokens")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        ident = (group.get("problem") or {}).get("id")
        raise McError(f"group {ident!r} records no rollout.max_tokens, which --overlong-buffer needs (L_max)",
                      "pass --max-tokens, the limit the samples were generated with")
    tokens = buffer_tokens(buffer, limit)
    samples = []
    for sample in group["samples"]:
        ids = sample.get("token_ids")
        length = len(ids) if isinstance(ids, list) else None
        if length is None:
            ident = (group.get("problem") or {}).get("id")
            raise McError(f"group {ident!r}: a sample has no token_ids, so its length (for --overlong-buffer) is unknown",
                          "shape groups written by `mc rollout`")
        penalty = overlong_penalty(length, limit, tokens, factor)
        judged = sample.get("judged_reward", sample["reward"])  # shaping twice starts from the judge's reward
        samples.append({**sample, "reward": judged + penalty, "judged_reward": judged, "overlong_penalty": penalty})
    return {**group, "samples": samples}
