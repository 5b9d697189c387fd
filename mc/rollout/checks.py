"""Sampling settings checked before any model loads (no torch here).

The sampler divides logits by the temperature and keeps the smallest set of
tokens whose probability reaches top-p: a temperature of nan or inf makes
every probability nan, and top-p 0 keeps no token at all, so the first draw
would crash deep in torch. These checks turn such values into a usage error
(exit 2) naming the flag. `RolloutConfig` runs them on every config, so every
command that samples (rollout, eval, train) gets them.
"""

from __future__ import annotations

import math

from mc.errors import McUsageError


def parse_temperature(text: str, flag: str = "--temperature") -> float | None:
    """A --temperature value: a finite number >= 0, or None for 'auto'."""
    if text == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise McUsageError(f"{flag} must be a number or 'auto', got {text!r}") from None
    check_temperature(value, flag)
    return value


def check_temperature(value: float, flag: str = "--temperature") -> None:
    if not math.isfinite(value) or value < 0:
        raise McUsageError(f"{flag} must be a finite number >= 0 (0: greedy), got {value}")


def check_top_p(value: float, flag: str = "--top-p") -> None:
    # 0 < p: top-p keeps the tokens until their probability reaches p, so p = 0 keeps none.
    if not math.isfinite(value) or not 0 < value <= 1:
        raise McUsageError(f"{flag} must be in (0, 1] (1: off), got {value}", "for greedy decoding use -t 0")


def check_top_k(value: int, flag: str = "--top-k") -> None:
    if value < 0:
        raise McUsageError(f"{flag} must be >= 0 (0: off), got {value}")


def check_sampling(temperature: float | None, top_p: float, top_k: int) -> None:
    """All of a sampler's settings; temperature None means chosen later (schedule or auto)."""
    if temperature is not None:
        check_temperature(temperature)
    check_top_p(top_p)
    check_top_k(top_k)
