"""Training curves from metrics JSONL (train-step / mc train lines), as a PNG.

Panels, for whichever of these the files hold: reward, held-out test accuracy
(`eval_pass@1`), response length, diversity, entropy, truncation rate,
truncation-masked samples.
Lines with several mini-batches per step are averaged per step; several files
are overlaid, labelled by file name. matplotlib (extra `mc[plot]`) with the Agg
backend: no display needed.
"""

from __future__ import annotations

from collections import defaultdict

from mc.errors import McError

PANELS = [
    ("reward_mean", "reward (mean)"),
    ("eval_pass@1", "held-out pass@1"),
    ("response_length_mean", "response length (tokens)"),
    ("diversity", "diversity"),
    ("entropy", "entropy"),
    ("truncated_rate", "truncation rate (share cut at L_max)"),
    ("truncation_masked", "truncation-masked samples"),
]
WIDTH_PX, HEIGHT_PX, DPI = 1500, 900, 100


def series(lines: list[dict], key: str) -> tuple[list[float], list[float]]:
    by_step: dict[float, list[float]] = defaultdict(list)
    for index, line in enumerate(lines):
        value = line.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            by_step[line.get("step", index)].append(float(value))
    steps = sorted(by_step)
    return steps, [sum(by_step[s]) / len(by_step[s]) for s in steps]


def plot_runs(runs: dict[str, list[dict]], out) -> list[str]:
    """Draw the panels that have data as a PNG into the binary stream `out`; returns their keys."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise McError("plotting needs matplotlib", "pip install 'mc[plot]'") from None
    present = [(k, title) for k, title in PANELS if any(series(lines, k)[0] for lines in runs.values())]
    if not present:
        raise McError("no plottable metrics in the input", f"expected some of: {', '.join(k for k, _ in PANELS)}")
    cols = 3 if len(present) > 4 else 2 if len(present) > 1 else 1
    rows = -(-len(present) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, squeeze=False)
    for ax, (key, title) in zip(axes.flat, present):
        for name, lines in runs.items():
            steps, values = series(lines, key)
            if steps:
                ax.plot(steps, values, label=name, linewidth=1.5, marker="o" if len(steps) < 30 else None, markersize=3)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(present):]:
        ax.axis("off")
    axes.flat[0].legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=DPI)
    plt.close(fig)
    return [k for k, _ in present]
