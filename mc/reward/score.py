"""`mc reward`: score a stream of groups, samples judged in parallel, output in input order.

Samples of many groups are in flight at once (a bounded window, so memory stays
flat on any input size); a group is written as soon as it and every group
before it are judged.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from mc.errors import McError
from mc.records import GROUP_SCHEMA, check_schema, ends_in_loop, validate_tests
from mc.reward.judge import TESTS_RUN, JudgeConfig, judge_sample
from mc.reward.sandbox.pool import Sandbox

T = TypeVar("T")
SHAPING_FIELDS = ("judged_reward", "overlong_penalty")  # written by mc.reward.shaping


def validate_group(group: dict) -> None:
    check_schema(group, GROUP_SCHEMA)
    problem = group.get("problem")
    if not isinstance(problem, dict):
        raise McError("group has no 'problem' object")
    if "tests" not in problem:
        raise McError(f"problem {problem.get('id')!r} in this group has no 'tests' field")
    validate_tests(problem["tests"])
    samples = group.get("samples")
    if not isinstance(samples, list):
        raise McError("group has no 'samples' list")
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict) or not isinstance(sample.get("text"), str):
            raise McError(f"samples[{i}] has no 'text' string")


@dataclass
class ScoreReport:
    groups: int = 0
    samples: int = 0
    tests_run: int = 0
    verdicts: Counter = field(default_factory=Counter)
    accepted_by: Counter = field(default_factory=Counter)
    run_time_s: float = 0.0
    input_wait_s: float = 0.0  # time with nothing to judge, waiting for the next input group (a slow pipe)


def _waits(items: Iterable[T], idle: Callable[[], bool], waited: Callable[[float], None]) -> Iterator[T]:
    """`items`, timing each wait for the next one that began with nothing left to judge."""
    source = iter(items)
    while True:
        was_idle, started = idle(), time.monotonic()
        try:
            item = next(source)
        except StopIteration:
            return
        if was_idle:
            waited(time.monotonic() - started)
        yield item


def judged_in_order(
    items: Iterable[T], tasks: Callable[[T], list[Callable[[], dict]]], workers: int, window: int | None = None,
    waited: Callable[[float], None] | None = None,
) -> Iterator[tuple[T, list[dict]]]:
    """Run each item's judge tasks on `workers` threads; yield (item, results)
    in input order, with at most `window` tasks in flight (memory stays flat).
    `waited` is told how long the workers sat idle waiting for input."""
    # Deep enough that one slow sample (a timeout) at the head of the queue
    # does not leave the other workers idle while later items wait.
    window = window or max(128, 32 * workers)
    pending: deque[tuple[T, list[Future]]] = deque()
    in_flight = 0
    if waited is not None:
        items = _waits(items, lambda: all(f.done() for _, futures in pending for f in futures), waited)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
        for item in items:
            futures = [pool.submit(task) for task in tasks(item)]
            pending.append((item, futures))
            in_flight += len(futures)
            while pending and (in_flight > window or all(f.done() for f in pending[0][1])):
                head, head_futures = pending.popleft()
                in_flight -= len(head_futures)
                yield head, [f.result() for f in head_futures]
        while pending:
            head, head_futures = pending.popleft()
            yield head, [f.result() for f in head_futures]


def _timed(task: Callable[[], dict], on_task: Callable[[float, float], None]) -> Callable[[], dict]:
    def run() -> dict:
        start = time.monotonic()
        try:
            return task()
        finally:
            on_task(start, time.monotonic())

    return run


def score_groups(
    groups: Iterable[dict], sandbox: Sandbox, config: JudgeConfig, report: ScoreReport, window: int | None = None,
    on_task: Callable[[float, float], None] | None = None,
) -> Iterator[dict]:
    """Judge each sample of `groups` (a stream: judging starts with the first group,
    while later ones are still being made); `on_task(start, end)` is told when each
    sample's judging ran (mc train's timeline)."""
    def tasks(group: dict):
        made = [partial(judge_sample, group["problem"], sample, sandbox, config) for sample in group["samples"]]
        return made if on_task is None else [_timed(task, on_task) for task in made]

    def waited(seconds: float) -> None:
        report.input_wait_s += seconds

    for group, results in judged_in_order(groups, tasks, sandbox.size, window, waited):
        samples = []
        for sample, result in zip(group["samples"], results):
            report.tests_run += result.pop(TESTS_RUN, 0)
            merged = {**sample, **result}
            for stale in SHAPING_FIELDS:  # the reward is judged afresh: any earlier shaping no longer applies
                merged.pop(stale, None)
            if "repeat" not in sample and isinstance(sample.get("token_ids"), list):
                merged["repeat"] = ends_in_loop(sample["token_ids"])
            samples.append(merged)
            report.samples += 1
            report.verdicts[result["verdict"]] += 1
            report.accepted_by.update(m for m in result["accepted_by"] if m)
            report.run_time_s += result.get("run_time_s", 0.0)
        report.groups += 1
        yield {**group, "samples": samples}
