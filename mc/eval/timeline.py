"""Where mc train's time went: each step's generation, judging and update as bars on one axis.

Reads the `timeline` object mc train writes on each step's last metrics line
(mc/train/timeline.py: intervals in seconds from the step's start, and the
step's wall-clock start). One panel per run, one row per lane; overlapping bars
are work done at the same time (streamed judging: judge under generate;
--off-policy 1: generate under update). The summary gives each lane's busy and
idle seconds per step, as the metrics lines hold them.
"""

from __future__ import annotations

from mc.errors import McError

ROWS = ("generate", "judge", "update", "sync", "eval")
COLORS = {"generate": "tab:blue", "judge": "tab:orange", "update": "tab:green", "sync": "tab:purple",
          "eval": "tab:gray"}
FIGURES = ("step_s", "generate_busy_s", "judge_busy_s", "update_busy_s", "generate_idle_s", "judge_idle_s",
           "update_idle_s", "generate_judge_overlap_s", "generate_update_overlap_s")


def step_timelines(lines: list[dict]) -> list[tuple[int, dict]]:
    """(step, timeline) for each step that has one, in step order (a resumed run's
    later lines win over nothing: metrics.jsonl holds each step once)."""
    found = {}
    for line in lines:
        timeline = line.get("timeline")
        if isinstance(timeline, dict) and isinstance(line.get("step"), int):
            found[line["step"]] = timeline
    return sorted(found.items())


def summary(lines: list[dict]) -> dict:
    """Mean seconds per step of each FIGURES key, over the steps (mini-batch lines of a
    step carry the same figures: one per step counts)."""
    per_step: dict[int, dict] = {}
    for line in lines:
        if isinstance(line.get("step"), int) and "generate_busy_s" in line:
            per_step[line["step"]] = line
    if not per_step:
        return {"steps": 0}
    out: dict = {"steps": len(per_step)}
    for key in FIGURES:
        values = [float(v[key]) for v in per_step.values() if isinstance(v.get(key), (int, float))]
        out[key] = round(sum(values) / len(values), 3) if values else None
    out["total_s"] = round(sum(float(v.get("step_s") or 0) for v in per_step.values()), 3)
    return out


def plot_timelines(runs: dict[str, list[dict]], out, last: int | None = None) -> int:
    """A Gantt chart of each run's steps (the `last` ones, if given) as a PNG into `out`;
    returns how many steps were drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise McError("plotting needs matplotlib", "pip install 'mc[plot]'") from None
    chosen = {name: step_timelines(lines)[-last:] if last else step_timelines(lines) for name, lines in runs.items()}
    if not any(chosen.values()):
        raise McError("no step timelines in the input", "they are written by mc train (this version and later)")
    fig, axes = plt.subplots(len(chosen), 1, figsize=(15, 1.2 + 1.6 * len(chosen)), dpi=100, squeeze=False)
    drawn = 0
    for ax, (name, steps) in zip(axes.flat, chosen.items()):
        origin = steps[0][1]["started_at"] if steps else 0.0
        for step, timeline in steps:
            offset = timeline["started_at"] - origin
            ax.axvline(offset, color="black", linewidth=0.5, alpha=0.4)
            ax.text(offset, len(ROWS) - 0.35, f" {step}", fontsize=7, va="bottom")
            for row, lane in enumerate(ROWS):
                spans = [(offset + a, b - a) for a, b in timeline.get(lane, [])]
                if spans:
                    ax.broken_barh(spans, (len(ROWS) - 1 - row - 0.4, 0.8), facecolors=COLORS[lane])
            drawn += 1
        ax.set_yticks(range(len(ROWS)), list(reversed(ROWS)))
        ax.set_ylim(-0.6, len(ROWS) + 0.2)
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlabel("seconds (vertical lines: step starts)")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)
    return drawn
