"""Training temperature: staged schedules, and the diversity-determined choice.

A schedule is a few constant stages by policy step ("0:0.6,140:1.2": 0.6 from
step 0, 1.2 from step 140 on); the temperature never ramps step by step (the
paper found staged low-to-high schedules better than continuous ramps).

`--temperature auto`: sample a probe set of problems at each candidate
temperature and pick the lowest whose mean diversity lands in the target band;
when none does, the candidate closest to the band (reported as such).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mc.errors import McUsageError

CANDIDATES = (0.4, 0.6, 0.8, 1.0, 1.2, 1.4)


def temperature_settings(temperature: str, schedule_text: str | None, given: set[str]
                         ) -> tuple[float | None, list[tuple[int, float]] | None]:
    """(a fixed temperature or None, a schedule or None) from -t and --temperature-schedule,
    for every command that samples; `given` names the flags on the command line (-t's
    default does not count against a schedule). None and None: --temperature auto."""
    from mc.rollout.checks import parse_temperature

    if schedule_text is not None and "temperature" in given:
        raise McUsageError(f"give --temperature or --temperature-schedule, not both (got -t {temperature} and a schedule)")
    schedule = parse_schedule(schedule_text) if schedule_text is not None else None
    fixed = None if schedule else parse_temperature(temperature)
    if fixed is not None or schedule is not None:  # harmless, but said
        ignored = [flag for name, flag in (("target_diversity", "--target-diversity"), ("probe_problems", "--probe-problems"))
                   if name in given]
        if ignored:
            from mc import console

            console.warn(f"{' and '.join(ignored)} {'have' if len(ignored) > 1 else 'has'} no effect without --temperature auto")
    return fixed, schedule


def parse_schedule(text: str) -> list[tuple[int, float]]:
    """"0:0.6,140:1.2" -> [(0, 0.6), (140, 1.2)], checked and sorted."""
    stages = []
    for part in text.split(","):
        try:
            step, temp = part.split(":")
            stages.append((int(step), float(temp)))
        except ValueError:
            raise McUsageError(f"--temperature-schedule: {part!r} is not STEP:TEMPERATURE (e.g. 0:0.6,140:1.2)") from None
    stages.sort()
    if not stages or stages[0][0] != 0:
        raise McUsageError("--temperature-schedule must start at step 0 (e.g. 0:0.6,140:1.2)")
    if any(not math.isfinite(t) or t < 0 for _, t in stages):
        raise McUsageError("--temperature-schedule: temperatures must be finite numbers >= 0")
    return stages


def scheduled_temperature(stages: list[tuple[int, float]], step: int) -> float:
    """The temperature of the stage `step` falls in."""
    current = stages[0][1]
    for start, temp in stages:
        if step >= start:
            current = temp
    return current


def parse_band(text: str, flag: str = "--target-diversity") -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise McUsageError(f"{flag} expects LO:HI (e.g. 0.4:0.6), got {text!r}") from None
    if not 0 <= lo <= hi <= 1:  # (also false for nan)
        raise McUsageError(f"{flag}: need 0 <= LO <= HI <= 1, got {text!r}")
    return lo, hi


@dataclass(frozen=True)
class Probe:
    temperature: float
    diversity: float


def choose_temperature(probes: list[Probe], band: tuple[float, float]) -> tuple[float, bool]:
    """(temperature, inside the band?): the lowest in band, else the closest to it."""
    lo, hi = band
    inside = sorted(p.temperature for p in probes if lo <= p.diversity <= hi)
    if inside:
        return inside[0], True
    distance = lambda p: lo - p.diversity if p.diversity < lo else p.diversity - hi  # noqa: E731
    best = min(probes, key=lambda p: (distance(p), p.temperature))
    return best.temperature, False
