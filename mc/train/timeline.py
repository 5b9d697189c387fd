"""Where a step's wall-clock time went: generation, judging and the update, as intervals.

Each lane (generate, judge, update, and the smaller sync and eval) holds the
intervals its work ran in, seen from one loop iteration (its start to its end).
Judging runs on many workers at once, so its intervals are merged into their
union: a lane is busy while at least one of its tasks runs. A lane's idle time is
the iteration's wall time minus its busy time; what streaming and off-policy
buy shows up as busy lanes overlapping, and as less idle time per step.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

LANES = ("generate", "judge", "update", "sync", "eval")


def merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of intervals, as sorted disjoint (start, end) pairs."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def busy_seconds(intervals: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in merged(intervals))


def overlap_seconds(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Seconds during which both `a` and `b` were busy."""
    a, b = merged(a), merged(b)
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


class Timeline:
    """One loop iteration's lanes; `add` may be called from any thread (the judge workers')."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.started_at = time.time()  # to place iterations on one axis (mc eval timeline)
        self.lanes: dict[str, list[tuple[float, float]]] = {lane: [] for lane in LANES}
        self._lock = threading.Lock()

    def add(self, lane: str, start: float, end: float) -> None:
        """An interval of time.monotonic() readings."""
        with self._lock:
            self.lanes[lane].append((start, end))

    @contextmanager
    def span(self, lane: str):
        start = time.monotonic()
        try:
            yield
        finally:
            self.add(lane, start, time.monotonic())

    def figures(self) -> dict:
        """The metrics of the iteration up to now: per lane busy and idle seconds (the
        three main lanes), how long generation and judging overlapped, and the
        intervals themselves (seconds from the iteration's start, union per lane)."""
        wall = time.monotonic() - self.origin
        with self._lock:
            lanes = {lane: merged([(max(s, self.origin), e) for s, e in spans]) for lane, spans in self.lanes.items()}
        out: dict = {"wall_s": round(wall, 3)}
        for lane in ("generate", "judge", "update"):
            busy = busy_seconds(lanes[lane])
            out[f"{lane}_busy_s"] = round(busy, 3)
            out[f"{lane}_idle_s"] = round(max(wall - busy, 0.0), 3)
        out["generate_judge_overlap_s"] = round(overlap_seconds(lanes["generate"], lanes["judge"]), 3)
        out["generate_update_overlap_s"] = round(overlap_seconds(lanes["generate"], lanes["update"]), 3)
        out["timeline"] = {"started_at": round(self.started_at, 3), **{
            lane: [[round(s - self.origin, 3), round(e - self.origin, 3)] for s, e in spans]
            for lane, spans in lanes.items() if spans}}
        return out
