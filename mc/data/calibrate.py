"""`mc data calibrate`: predicted difficulty scores mapped onto measured pass rates.

A model's difficulty score (mc.data.predict) ranks problems; what selection
needs is a pass rate. The map between them is fitted on the problems that have
both (pass rates measured by `mc data difficulty`, from rollouts or graded
submissions) as an isotonic regression: the best fit, in squared error weighted
by how many samples each pass rate rests on, among maps that never give a
harder score a higher pass rate. It assumes nothing else about the shape.

How well the score predicts is measured on problems the fit did not see: a
seeded share of the measured ones is held out, the map is fitted on the rest,
and on the held-out part the report gives the rank correlation (Spearman)
between the predicted score and the measured difficulty (1 - pass rate), and
the calibrated pass rates' mean absolute error next to the error of predicting
every problem at the fit set's mean rate (what a useless score would achieve).
The map applied to the output is then refitted on every measured problem.

Every output problem gets `meta.pass_rate_estimate` and its source:
"measured" where the problem has a measured rate (the better estimate),
"calibrated" otherwise. `--keep LO:HI` selects on that estimate, and the report
gives the difficulty mix (mc.data.difficulty's buckets) before and after.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from mc.data.difficulty import bucket
from mc.data.filters import Removal
from mc.errors import McError

BUCKETS = ("solved", "easy", "medium", "hard", "unsolved")


@dataclass(frozen=True)
class Calibration:
    """A non-increasing step map from score to pass rate, linear between fitted points."""

    scores: tuple[float, ...]  # ascending, distinct
    rates: tuple[float, ...]  # non-increasing

    def __call__(self, score: float) -> float:
        import numpy as np

        return float(np.interp(score, self.scores, self.rates))  # clamped to the end values outside the fitted range


def fit(scores: list[float], rates: list[float], weights: list[float] | None = None) -> Calibration:
    """Weighted isotonic (non-increasing) regression of pass rate on score; equal scores pooled."""
    import numpy as np
    from scipy.optimize import isotonic_regression

    if not scores:
        raise McError("no problem has both a predicted score and a measured pass rate to fit on")
    weights = weights or [1.0] * len(scores)
    pooled: dict[float, list[float]] = {}
    for s, r, w in zip(scores, rates, weights):
        total = pooled.setdefault(float(s), [0.0, 0.0])
        total[0] += r * w
        total[1] += w
    xs = sorted(pooled)
    ws = np.array([pooled[x][1] for x in xs])
    ys = np.array([pooled[x][0] for x in xs]) / ws
    fitted = isotonic_regression(ys, weights=ws, increasing=False).x
    return Calibration(tuple(xs), tuple(float(y) for y in np.clip(fitted, 0.0, 1.0)))


def spearman(a: list[float], b: list[float]) -> float | None:
    """Rank correlation (ties averaged); None when either side is constant or too short."""
    from scipy.stats import spearmanr

    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return float(spearmanr(a, b).statistic)


@dataclass
class Quality:
    fit_problems: int
    holdout_problems: int
    spearman_holdout: float | None  # score vs measured difficulty (1 - pass rate), held-out problems
    spearman_fit: float | None
    mae_holdout: float | None  # calibrated pass rate vs measured, held out
    mae_mean_baseline: float | None  # every held-out problem predicted at the fit set's mean pass rate


def evaluate(measured: list[tuple[float, float, float]], holdout: float, seed: int) -> Quality:
    """`measured`: (score, pass rate, samples) per problem. Fit on a seeded (1 - holdout)
    share, evaluate on the rest."""
    order = list(range(len(measured)))
    random.Random(seed).shuffle(order)
    cut = int(round(len(order) * holdout))
    held, fitted = [measured[i] for i in order[:cut]], [measured[i] for i in order[cut:]]
    quality = Quality(len(fitted), len(held), None, None, None, None)
    if not fitted:
        return quality
    quality.spearman_fit = spearman([s for s, _, _ in fitted], [1 - r for _, r, _ in fitted])
    if not held:
        return quality
    calibration = fit([s for s, _, _ in fitted], [r for _, r, _ in fitted], [w for _, _, w in fitted])
    mean = sum(r * w for _, r, w in fitted) / sum(w for _, _, w in fitted)
    quality.spearman_holdout = spearman([s for s, _, _ in held], [1 - r for _, r, _ in held])
    quality.mae_holdout = sum(abs(calibration(s) - r) for s, r, _ in held) / len(held)
    quality.mae_mean_baseline = sum(abs(mean - r) for _, r, _ in held) / len(held)
    return quality


def score_of(problem: dict) -> float | None:
    prediction = (problem.get("meta") or {}).get("predicted_difficulty")
    score = prediction.get("score") if isinstance(prediction, dict) else None
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def measured_rate(problem: dict) -> tuple[float, float] | None:
    """(pass rate, samples) that `mc data difficulty` wrote, or None."""
    meta = problem.get("meta") or {}
    rate, samples = meta.get("pass_rate"), meta.get("pass_samples", 1)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        return None
    return float(rate), float(samples) if isinstance(samples, (int, float)) and samples > 0 else 1.0


@dataclass
class CalibrationReport:
    quality: Quality | None = None
    calibration: Calibration | None = None
    seen: int = 0
    kept: int = 0
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)


def calibrated(problems: Iterable[dict], calibration: Calibration, measured: dict[str, tuple[float, float]],
               report: CalibrationReport, keep: tuple[float, float] | None = None,
               removed: list[Removal] | None = None) -> Iterator[dict]:
    """Each problem with its pass-rate estimate (measured where known, else the calibrated
    prediction), streamed; with `keep`, only those whose estimate lies in [LO, HI]."""
    for problem in problems:
        report.seen += 1
        meta = dict(problem.get("meta") or {})
        known = measured.get(problem.get("id")) or measured_rate(problem)
        score = score_of(problem)
        if known is not None:
            estimate, source = known[0], "measured"
        elif score is not None:
            estimate, source = calibration(score), "calibrated"
        else:
            raise McError(f"problem {problem.get('id')}: no meta.predicted_difficulty and no measured pass rate",
                          "rate it first: mc data predict-difficulty --model M")
        if score is not None:
            meta["pass_rate_calibrated"] = round(calibration(score), 4)
        meta.update({"pass_rate_estimate": round(estimate, 4), "pass_rate_source": source,
                     "pass_bucket_estimate": bucket(estimate)})
        report.sources[source] += 1
        report.before[bucket(estimate)] += 1
        if keep is not None and not keep[0] <= estimate <= keep[1]:
            if removed is not None:
                removed.append(Removal(problem.get("id"), "difficulty", f"estimated pass rate {estimate:.2f} ({source}) "
                                       f"outside {keep[0]:g}..{keep[1]:g}", {"pass_rate_estimate": estimate, "source": source}))
            continue
        report.kept += 1
        report.after[bucket(estimate)] += 1
        yield {**problem, "meta": meta}
