"""`mc rollout`: problems in, one Group record per problem out, streaming.

Problems are taken in chunks that fill one sampling batch (`batch_size`
sequences = problems x n), rendered into prompts, sampled by a backend (hf or
vllm), and written as groups in input order. Each sample records what
train-step needs to compute exact ratios: its token ids, the log-probability of
each under the distribution it was drawn from, the temperature, the finish
reason, the policy version, and whether it ends in a loop (`repeat`).
`RolloutConfig` checks its settings when made (before any model loads), and a
progress row (mc/rollout/progress.py) can follow the sampling token by token.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from mc.errors import McError, McUsageError
from mc.records import GROUP_SCHEMA, ends_in_loop
from mc.rollout.checks import check_sampling
from mc.rollout.diversity import batch_diversity, group_diversity
from mc.rollout.progress import Phase
from mc.rollout.prompts import SYSTEM, check_template, render_prompt
from mc.rollout.temperature import CANDIDATES, Probe, choose_temperature, scheduled_temperature


@dataclass
class RolloutConfig:
    n: int = 8
    temperature: float | None = 1.0  # None: chosen by schedule or probe
    schedule: list[tuple[int, float]] | None = None
    target_diversity: tuple[float, float] | None = None  # with temperature None and no schedule: auto
    top_p: float = 1.0
    top_k: int = 0
    max_tokens: int = 1024
    seed: int = 0
    batch_size: int = 64  # sequences sampled together
    prompt_template: str | None = None
    system_prompt: str = SYSTEM
    repeat_window: int = 128
    policy_version: int | None = None
    probe_problems: int = 8
    candidates: tuple[float, ...] = CANDIDATES

    def __post_init__(self) -> None:
        """Settings that would crash the first batch are usage errors here, before any model loads."""
        check_sampling(self.temperature, self.top_p, self.top_k)
        if self.prompt_template is not None:
            check_template(self.prompt_template)
        if self.auto_temperature:
            if self.target_diversity is None:
                raise McUsageError("--temperature auto needs --target-diversity LO:HI")
            if self.n < 2:  # diversity compares a problem's samples with one another
                raise McUsageError("--temperature auto measures diversity between a problem's samples: it needs --n >= 2")

    @property
    def auto_temperature(self) -> bool:
        return self.temperature is None and not self.schedule


@dataclass
class RolloutReport:
    groups: int = 0
    samples: int = 0
    tokens: int = 0
    truncated: int = 0
    repeats: int = 0
    diversities: list = field(default_factory=list)
    seconds: float = 0.0
    temperature: float | None = None
    probes: list[Probe] = field(default_factory=list)
    probe_in_band: bool | None = None


def read_policy_version(model_path: str) -> int:
    """The training step a checkpoint was saved at (its meta.json), else 0."""
    meta = os.path.join(model_path, "meta.json")
    if os.path.isfile(meta):
        try:
            with open(meta) as f:
                return int(json.load(f).get("step", 0))
        except (ValueError, OSError, TypeError):
            return 0
    return 0


def too_long_hint(problem: dict, room: int) -> str:
    """What to do about a prompt that leaves too little room (mc has no length filter)."""
    drop = f"leave the problem out (e.g. jq -c 'select(.id != \"{problem.get('id')}\")')"
    if room >= 1:
        return f"lower --max-tokens to {room} or less, or {drop}"
    return f"the prompt alone fills the model's context: {drop}, or use a model with a longer context"


class Roller:
    def __init__(self, backend, model_path: str, config: RolloutConfig):
        import torch

        self.backend = backend
        self.model_path = model_path
        self.config = config
        self.policy_version = config.policy_version if config.policy_version is not None else read_policy_version(model_path)
        self.generator = torch.Generator(device=getattr(backend, "device", "cpu")).manual_seed(config.seed)
        self.max_positions = getattr(backend, "max_positions", None)

    # -- temperature ------------------------------------------------------------

    def resolve_temperature(self, probe_set: list[dict], report: RolloutReport, phase: Phase | None = None) -> float:
        c = self.config
        if c.temperature is not None:
            return c.temperature
        if c.schedule:
            return scheduled_temperature(c.schedule, self.policy_version)
        if not probe_set:
            raise McError("--temperature auto needs problems to probe")
        import torch

        description = phase.description if phase is not None else ""
        for temperature in c.candidates:
            if phase is not None:
                phase.describe(f"probing temperature {temperature}")
            generator = torch.Generator(device=getattr(self.backend, "device", "cpu")).manual_seed(c.seed + 1)
            groups = self._sample(probe_set, temperature, generator, phase)
            diversity = batch_diversity([group_diversity([s.token_ids for s in comps]) for _, _, comps in groups])
            report.probes.append(Probe(temperature, round(diversity or 0.0, 4)))
        if phase is not None:
            phase.describe(description)
        chosen, inside = choose_temperature(report.probes, c.target_diversity)
        report.probe_in_band = inside
        return chosen

    # -- sampling ---------------------------------------------------------------

    def _prompt(self, problem: dict) -> tuple[str, list[int]]:
        text = render_prompt(problem, self.backend.tokenizer, self.config.prompt_template, self.config.system_prompt)
        ids = self.backend.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.max_positions and len(ids) + self.config.max_tokens > self.max_positions:
            raise McError(
                f"problem {problem.get('id')!r}: a {len(ids)}-token prompt plus --max-tokens {self.config.max_tokens} "
                f"exceeds the model's {self.max_positions} positions",
                too_long_hint(problem, self.max_positions - len(ids)),
            )
        return text, ids

    def _sample(self, problems: list[dict], temperature: float, generator, phase: Phase | None = None):
        prompts = [self._prompt(p) for p in problems]
        # Only when there is a display: backends written before the callback need not take it.
        progress = {"on_tokens": phase.tokens} if phase is not None else {}
        completions = self.backend.sample(
            [ids for _, ids in prompts], self.config.n, temperature, self.config.top_p, self.config.top_k,
            self.config.max_tokens, generator, **progress,
        )
        return [(problem, prompt, comps) for problem, prompt, comps in zip(problems, prompts, completions)]

    def groups(self, problems: Iterable[dict], report: RolloutReport, phase: Phase | None = None) -> Iterator[dict]:
        """One group per problem, in input order. `phase` (a progress row) counts the
        tokens as they are sampled and the groups as they are yielded."""
        c = self.config
        stream = iter(problems)
        per_batch = max(1, c.batch_size // c.n)
        head = list(islice(stream, max(per_batch, c.probe_problems)))
        temperature = self.resolve_temperature(head[: c.probe_problems], report, phase)
        report.temperature = temperature
        pending = head
        started = time.monotonic()
        while True:
            while len(pending) < per_batch:
                more = list(islice(stream, per_batch - len(pending)))
                if not more:
                    break
                pending += more
            if not pending:
                break
            chunk, pending = pending[:per_batch], pending[per_batch:]
            for problem, (text, ids), comps in self._sample(chunk, temperature, self.generator, phase):
                yield self._group(problem, text, ids, comps, temperature, report)
                if phase is not None:
                    phase.advance()
            report.seconds = time.monotonic() - started

    def stream(self, problems: list[dict], report: RolloutReport,
               on_generate: Callable[[float, float], None] | None = None) -> Iterator[tuple[int, dict]]:
        """(index in `problems`, group) for each problem as soon as its samples are made:
        per request where the backend streams them (vllm's `sample_stream`), else per
        sampling batch, so a consumer (the judge) can start on the first while the
        rest are sampled. Same chunks, seeds and records as `groups`; the report's
        per-group figures are kept in problem order too. `on_generate(start, end)`
        is told each stretch of time the backend spent sampling."""
        c = self.config
        per_batch = max(1, c.batch_size // c.n)
        temperature = self.resolve_temperature(problems[: c.probe_problems], report)
        report.temperature = temperature
        diversities: dict[int, float | None] = {}
        started = time.monotonic()
        streams = hasattr(self.backend, "sample_stream")
        for first in range(0, len(problems), per_batch):
            chunk = problems[first : first + per_batch]
            prompts = [self._prompt(p) for p in chunk]
            args = ([ids for _, ids in prompts], c.n, temperature, c.top_p, c.top_k, c.max_tokens, self.generator)
            if streams:
                made = self.backend.sample_stream(*args)
            else:
                t0 = time.monotonic()
                made = iter(list(enumerate(self.backend.sample(*args))))
                if on_generate is not None:
                    on_generate(t0, time.monotonic())
            while True:
                t0 = time.monotonic()
                item = next(made, None)
                if streams and on_generate is not None:
                    on_generate(t0, time.monotonic())
                if item is None:
                    break
                j, comps = item
                (text, ids), problem = prompts[j], chunk[j]
                group = self._group(problem, text, ids, comps, temperature, report)
                diversities[first + j] = report.diversities.pop()
                yield first + j, group
            report.seconds = time.monotonic() - started
        report.diversities.extend(diversities[i] for i in sorted(diversities))

    def _group(self, problem, text, ids, comps, temperature, report: RolloutReport) -> dict:
        samples = []
        for comp in comps:
            repeat = ends_in_loop(comp.token_ids, self.config.repeat_window)
            samples.append({
                "text": self.backend.decode(comp.token_ids),
                "token_ids": comp.token_ids,
                "logprobs": comp.logprobs,
                "finish_reason": comp.finish_reason,
                "temperature": temperature,
                "policy_version": self.policy_version,
                "repeat": repeat,
            })
            report.samples += 1
            report.tokens += len(comp.token_ids)
            report.truncated += comp.finish_reason == "length"
            report.repeats += repeat
        diversity = group_diversity([comp.token_ids for comp in comps])
        report.diversities.append(diversity)
        report.groups += 1
        return {
            "schema": GROUP_SCHEMA,
            "problem": problem,
            "prompt": text,
            "prompt_ids": ids,
            "diversity": None if diversity is None else round(diversity, 4),
            "samples": samples,
            "rollout": {
                "model": self.model_path, "backend": self.backend.name, "n": self.config.n, "temperature": temperature,
                "top_p": self.config.top_p, "top_k": self.config.top_k, "max_tokens": self.config.max_tokens,
                "seed": self.config.seed, "policy_version": self.policy_version,
            },
        }
