"""Tables for people (stderr): one report, runs side by side, or several reports compared."""

from __future__ import annotations

import json
import os

from mc import console
from mc.errors import McError
from mc.eval.report import DIFFICULTIES, PLATFORMS


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _rows(report: dict):
    """(platform, difficulty) rows: overall, then the cells that hold problems."""
    yield "all", "all"
    breakdown = report["breakdown"]
    for platform in PLATFORMS:
        for difficulty in (*DIFFICULTIES, "all"):
            if breakdown[platform][difficulty]["problems"]:
                yield platform, difficulty
    for difficulty in DIFFICULTIES:
        if breakdown["all"][difficulty]["problems"]:
            yield "all", difficulty


def render_report(document: dict) -> None:
    runs = document["runs"]
    first = next(iter(runs.values()))
    if not first.get("problems"):
        console.warn("no problems were evaluated")
        return
    columns = ["platform / difficulty", "problems"]
    for name, run in runs.items():
        columns += [f"pass@{k}" + (f" ({name} tok)" if name != "given" else "") for k in run["k"]]
    rows = []
    for platform, difficulty in _rows(first):
        row = [f"{platform} / {difficulty}", first["breakdown"][platform][difficulty]["problems"]]
        for run in runs.values():
            target = run["breakdown"][platform][difficulty]
            row += [_pct(target.get(f"pass@{k}")) for k in run["k"]]
        rows.append(row)
    console.table(f"mc eval: {first['problems']} problems, pass@k in %", columns, rows, align="l" + "r" * (len(columns) - 1))
    if first.get("by"):
        field = first["by"]["field"]
        rows = []
        for value, cell in first["by"]["cells"].items():
            row = [value, cell["problems"]]
            for run in runs.values():
                target = run["by"]["cells"].get(value, {})
                row += [_pct(target.get(f"pass@{k}")) for k in run["k"]]
            rows.append(row)
        console.table(f"pass@k in % by {field}", [field, *columns[1:]], rows, align="l" + "r" * (len(columns) - 1))
        missing = first["by"].get("missing")
        if missing:
            console.warn(f"{missing} of {first['problems']} problems have no {field} (the '-' row)")
    for name, run in runs.items():
        where = f" at {name} tokens" if name != "given" else ""
        verdicts = ", ".join(f"{v} {c}" for v, c in run["verdicts"].items())
        console.log(f"{run['samples']} samples{where}: mean response length {run['response_length_mean']:.1f} "
                    f"{run['response_length_unit']}, truncated {100 * run['truncation_rate']:.1f}%; {verdicts}")
        if run.get("k_skipped"):
            console.warn(f"pass@{','.join(map(str, run['k_skipped']))} skipped: some problems have only {run['samples_per_problem_min']} samples")


def load_report(path: str) -> dict:
    try:
        with open(path) as f:
            document = json.load(f)
    except OSError as e:
        raise McError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise McError(f"{path}: not a JSON report: {e}") from None
    if "runs" not in document:
        raise McError(f"{path}: not an mc eval report (no 'runs')", "write one with mc eval ... --json-out FILE")
    return document


def compare_table(reports: list[tuple[str, dict]]) -> None:
    """Rows: overall, platform x difficulty cells, then any --by cells; one column per
    report (named by file, without .json) and one delta column per later report."""
    names = [os.path.basename(name).removesuffix(".json") for name, _ in reports]
    base = reports[0][1]
    several_runs = len(base["runs"]) > 1
    ks = sorted({k for run in base["runs"].values() for k in run["k"]})
    columns = ["cell", *names, *(f"{name} - {names[0]}" for name in names[1:])]
    rows = []

    def add_row(label: str, run_name: str, metric: str, cell_of) -> None:
        values = []
        for _, other in reports:
            run = other["runs"].get(run_name) or next(iter(other["runs"].values()))
            values.append((cell_of(run) or {}).get(metric))
        deltas = [None if v is None or values[0] is None else v - values[0] for v in values[1:]]
        prefix = (f"{run_name} tok " if several_runs else "") + (f"{metric} " if len(ks) > 1 else "")
        rows.append([prefix + label, *map(_pct, values), *("-" if d is None else f"{100 * d:+.1f}" for d in deltas)])

    for run_name, base_run in base["runs"].items():
        for k in base_run["k"]:
            metric = f"pass@{k}"
            for platform, difficulty in _rows(base_run):
                add_row(f"{platform} / {difficulty}", run_name, metric,
                        lambda run, p=platform, d=difficulty: run["breakdown"].get(p, {}).get(d))
            by = base_run.get("by")
            for value in (by or {}).get("cells", {}):
                add_row(f"{by['field']} {value}", run_name, metric,
                        lambda run, v=value: (run.get("by") or {}).get("cells", {}).get(v))
    title = "mc eval compare: " + ", ".join(f"pass@{k}" for k in ks) + " in %"
    console.table(title, columns, rows, align="l" + "r" * (len(columns) - 1))
