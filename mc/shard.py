"""Splitting one record stream over processes or hosts: `--shard I/N`.

Shard I of N takes records I, I + N, I + 2N, ... (0-based input order): the same
lines as GNU `split -n r/N`, streaming (no count needed first), and balanced even
when hard problems cluster. Outputs merge back into input order by taking one line
from each shard in turn, which is what `paste -d '\\n' out.0 ... out.N-1` does
(drop the empty lines it adds once the shorter shards run out).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mc.errors import McUsageError


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N) with 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise McUsageError(f"--shard expects I/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise McUsageError(f"--shard {text}: need 0 <= I < N")
    return index, count


def take_shard(records: Iterable, index: int, count: int) -> Iterator:
    for position, record in enumerate(records):
        if position % count == index:
            yield record
