"""Two small tables per ablation, a row per arm: held-out pass@1 (by max length), and the training
curves' start and end (reward, held-out pass@1 during training, response length,
truncation rate, diversity, entropy), from RUN/metrics.jsonl and the arm's eval JSON.

    python summary.py OUT/ABLATION ARM...
"""

from __future__ import annotations

import json
import os
import sys


def mean(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return sum(values) / len(values) if values else None


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def per_step(lines, key):
    """The value of `key` per step (mini-batch lines of one step share it)."""
    steps = {}
    for line in lines:
        if isinstance(line.get(key), (int, float)):
            steps.setdefault(line["step"], line[key])
    return [steps[s] for s in sorted(steps)]


def arm_rows(folder: str, arm: str) -> tuple[list[str], list[str]]:
    with open(os.path.join(folder, arm, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(folder, f"{arm}.json")) as f:
        runs = json.load(f)["runs"]
    held = " ".join(f"{100 * run['overall']['pass@1']:.1f}" for run in runs.values())
    evals = per_step(lines, "eval_pass@1")
    k = max(1, len(per_step(lines, "reward_mean")) // 5)  # the first and last fifth of the run

    def span(key, digits=2):
        values = per_step(lines, key)
        return f"{fmt(mean(values[:k]), digits)}->{fmt(mean(values[-k:]), digits)}" if values else "-"

    seconds = sum(line.get("step_s", 0) for line in lines if line.get("mini_batch", 0) == 0)
    first = [arm, held, f"{fmt(evals[0] if evals else None)}->{fmt(evals[-1] if evals else None)}", span("reward_mean"),
             f"{seconds:.0f}"]
    second = [arm, span("response_length_mean", 1), span("truncated_rate"), span("diversity"), span("entropy")]
    return first, second


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in [header, *rows])


def main() -> None:
    folder, arms = sys.argv[1], sys.argv[2:]
    rows = [arm_rows(folder, arm) for arm in arms]
    tokens = ", ".join(json.load(open(os.path.join(folder, f"{arms[0]}.json")))["runs"])
    # Two short lines, not one long one: the summary is read in an 80-column terminal.
    print(f"{os.path.basename(folder)}: held-out pass@1 % after training, evaluated at max tokens {tokens}")
    print("curves: the first fifth -> the last fifth of the run")
    print(table(["arm", "pass@1", "eval during", "reward", "train s"], [r[0] for r in rows]))
    print(table(["arm", "length", "truncated", "diversity", "entropy"], [r[1] for r in rows]))


if __name__ == "__main__":
    main()
