"""One step's judged batch, and making the next one ahead while this one trains.

`--off-policy 1` (one-step off-policy, as verl's one_step_off_policy recipe and
AReaL with staleness 1): while step k updates the policy, step k+1's batch is
sampled and judged from the weights step k started from, so generation, judging
and the update overlap. Step 0 samples its own batch first; from then on every
batch is one policy version behind the trainer (staleness 1, never more), which
the sampler correction (`--rollout-is`) accounts for.

A checkpoint of such a run holds the batch already made for its next step
(trainer/next_batch.jsonl), so `--resume` trains on exactly the batch the
unbroken run trained on: the pipeline's state is that one batch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from mc.errors import McError
from mc.jsonl import dumps

NEXT_BATCH = "next_batch.jsonl"
BATCH_KIND = "mc.next_batch"


@dataclass
class StepBatch:
    """What a step trains on (`kept`), everything it rolled out (`rolled`, for its
    metrics), and where the data position stands after it."""

    step: int
    version: int  # the policy version (trainer step) whose weights sampled it
    kept: list[dict]
    rolled: list[dict]
    position: int
    selection: dict = field(default_factory=dict)  # dynamic-sampling figures
    samples: int = 0
    truncated: int = 0
    diversities: list = field(default_factory=list)
    temperature: float | None = None
    rollout_s: float = 0.0  # seconds generating
    reward_s: float = 0.0  # seconds waiting for verdicts once generation was done

    def write(self, path: str) -> None:
        """A header line, then the rolled groups (kept ones by index: no copy twice)."""
        where = {id(g): i for i, g in enumerate(self.rolled)}
        header = {"kind": BATCH_KIND, "step": self.step, "version": self.version, "position": self.position,
                  "kept": [where[id(g)] for g in self.kept], "selection": self.selection, "samples": self.samples,
                  "truncated": self.truncated, "diversities": self.diversities, "temperature": self.temperature,
                  "rollout_s": self.rollout_s, "reward_s": self.reward_s}
        with open(path, "wb") as f:
            f.write(dumps(header))
            for group in self.rolled:
                f.write(dumps(group))


def read_batch(path: str) -> StepBatch:
    try:
        with open(path, "rb") as f:
            lines = [orjson.loads(line) for line in f if line.strip()]
        header, rolled = lines[0], lines[1:]
        if not isinstance(header, dict) or header.get("kind") != BATCH_KIND:
            raise ValueError("its first line is not a next-batch header")
        kept = [rolled[i] for i in header["kept"]]
        return StepBatch(header["step"], header["version"], kept, rolled, header["position"], header["selection"],
                         header["samples"], header["truncated"], header["diversities"], header["temperature"],
                         header["rollout_s"], header["reward_s"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise McError(f"{path}: cannot read the batch this checkpoint made ahead ({e})",
                      "restore it from a copy, or resume from an earlier checkpoint") from None


def batch_in(checkpoint: str) -> StepBatch | None:
    path = os.path.join(checkpoint, "trainer", NEXT_BATCH)
    return read_batch(path) if os.path.exists(path) else None


def staleness(batch: list[dict], step: int) -> list[int]:
    """How many updates behind the trainer (at `step`) each sample's policy was."""
    return [step - s["policy_version"] for g in batch for s in g["samples"] if isinstance(s.get("policy_version"), int)]


class Ahead:
    """`make()` on a thread of its own while the caller goes on; `result()` waits for it
    and raises what it raised. A daemon thread: an interrupted run exits at once."""

    def __init__(self, make: Callable[[], StepBatch]):
        self._result: StepBatch | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = make()
            except BaseException as e:  # handed to the caller
                self._error = e

        self._thread = threading.Thread(target=run, name="rollout-ahead", daemon=True)
        self._thread.start()

    def result(self) -> StepBatch:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
