"""`mc eval`: pass@k reports, comparisons and training curves (logic in mc/eval/)."""

from __future__ import annotations

from typing import Optional

import typer
from typer.core import TyperGroup

from mc.commands.common import (
    COMPARE,
    ISOLATION,
    MEMORY_MB,
    OUTPUT_MB,
    R_BACKEND,
    R_BATCH_SIZE,
    R_DEVICE,
    R_DTYPE,
    R_PROMPT_TEMPLATE,
    R_SYSTEM_PROMPT,
    R_TOP_K,
    R_TOP_P,
    R_VLLM_ARG,
    TIME_LIMIT,
    WORKERS,
    given,
    judge_config,
)


class _RunByDefault(TyperGroup):
    """`mc eval [OPTIONS] PROBLEMS` runs an evaluation; `mc eval compare|plot ...` the others."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_RunByDefault, help="Evaluate pass@k (run), compare reports (compare), plot training curves (plot), show where training time went (timeline).")


def _ints(text: str, flag: str) -> list[int]:
    from mc.errors import McUsageError

    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise McUsageError(f"{flag} expects comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise McUsageError(f"{flag} expects positive integers")
    return values


def _check_k(ks: list[int], n: int) -> None:
    """pass@k needs k samples of every problem: with --model there are exactly --n."""
    from mc.errors import McUsageError

    too_big = [k for k in ks if k > n]
    if too_big:
        flag = ",".join(map(str, too_big))
        verb = "needs" if len(too_big) == 1 else "need"
        raise McUsageError(f"--k {flag} {verb} --n >= {max(too_big)} (got --n {n}): pass@k needs at least k samples per problem",
                           f"raise --n to {max(too_big)}, or drop k > {n} from --k")


# Flags that only shape sampling: with --scored nothing is sampled.
SAMPLING_FLAGS = ("n", "temperature", "top_p", "top_k", "max_tokens", "seed", "backend", "vllm_arg", "batch_size", "prompt_template",
                  "system_prompt", "device", "dtype", "save_groups")


def _warn_unused_with_scored(ctx: typer.Context) -> None:
    from mc import console

    unused = ["--" + name.replace("_", "-") for name in SAMPLING_FLAGS if given(ctx, name)]
    if unused:
        console.warn(f"{', '.join(unused)}: only used with --model (sampling); --scored judges the given groups")


@app.command("run")
def run(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(None, metavar="PROBLEMS", help="Problem records (with --model) or scored groups (with --scored).", show_default=False),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="PATH", help="Sample from this model, then judge."),
    scored: bool = typer.Option(False, "--scored", help="The inputs are groups made elsewhere (samples without a verdict are judged)."),
    n: int = typer.Option(4, "--n", "-n", min=1, help="Samples per problem."),
    k: str = typer.Option("1", "--k", help="Comma-separated k values, e.g. 1,4; each needs k <= --n (with --scored, a k above some problem's sample count is skipped)."),
    temperature: float = typer.Option(0.6, "--temperature", "-t", min=0.0, help="Sampling temperature (0: greedy)."),
    top_p: float = R_TOP_P,
    top_k: int = R_TOP_K,
    max_tokens: str = typer.Option("1024", "--max-tokens", metavar="L[,L2...]", help="Response length limit; several (4096,8192) evaluate each, side by side."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed: same seed, model and problems give the same samples."),
    backend: str = R_BACKEND,
    batch_size: int = R_BATCH_SIZE,
    device: Optional[str] = R_DEVICE,
    dtype: Optional[str] = R_DTYPE,
    vllm_arg: list[str] = R_VLLM_ARG,
    prompt_template: Optional[str] = R_PROMPT_TEMPLATE,
    system_prompt: Optional[str] = R_SYSTEM_PROMPT,
    compare: str = COMPARE,
    workers: Optional[int] = WORKERS,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    output_mb: int = OUTPUT_MB,
    isolation: str = ISOLATION,
    json_out: Optional[str] = typer.Option(None, "--json-out", metavar="FILE", help="Also write the JSON report here."),
    save_groups: Optional[str] = typer.Option(None, "--save-groups", metavar="FILE", help="With --model: keep the scored groups (of the first --max-tokens)."),
    by: Optional[str] = typer.Option(None, "--by", metavar="FIELD", help="Also break pass@k down by this problem field (dotted: source, meta.family)."),
) -> None:
    """pass@k by platform x difficulty: a table on stderr, one JSON document on stdout.

    Examples:

    \b
      mc eval --model ckpt/ --n 4 --k 1,4 --max-tokens 4096,8192 lcb_test.jsonl > report.json
      mc eval --scored other_system_groups.jsonl --k 1
      mc eval --model ckpt/ --n 8 --by source mixed_test.jsonl --json-out report.json
    """
    from mc.commands.common import problems_in, read_template, system_prompt_or_default
    from mc.errors import McUsageError
    from mc.eval.render import render_report
    from mc.jsonl import dumps, iter_records, write_stdout
    from mc.outputs import Outputs, is_stdout
    from mc.reward.sandbox.pool import Sandbox
    from mc.rollout.progress import Progress

    ks = _ints(k, "--k")
    lengths = _ints(max_tokens, "--max-tokens")
    config = judge_config("binary", compare, time_limit, memory_mb, output_mb, all_tests=False)
    if (model is None) == (not scored):
        raise McUsageError("give --model PATH (sample and judge) or --scored (judge given groups), not both")
    if json_out is not None and is_stdout(json_out):
        raise McUsageError("the report already goes to stdout", "give --json-out a file, or drop it")
    if save_groups is not None and scored:
        raise McUsageError("--save-groups keeps the sampled groups: it needs --model")

    with Outputs() as outputs:  # every output checked before any work; all land together
        report_file = outputs.binary(json_out, "--json-out", optional=True)
        groups_file = outputs.records(save_groups, "--save-groups", optional=True)
        if scored:
            from mc.eval.run import evaluate_scored
            from mc.reward.score import validate_group

            _warn_unused_with_scored(ctx)
            groups = iter_records(inputs or ["-"], validate=validate_group)
            with Progress() as progress:
                given_run = evaluate_scored(groups, ks, lambda: Sandbox(workers, isolation), config, by, progress)
            document = {"source": "scored", "runs": {"given": given_run}}
        else:
            from dataclasses import replace

            from mc.eval.report import check_by_field
            from mc.eval.run import evaluate_model
            from mc.rollout.backends import check_backend_args, load_backend
            from mc.rollout.rollout import Roller, RolloutConfig
            from mc.rollout.vllm_backend import parse_engine_args

            # Every flag is checked before the problems are read and the model loads.
            _check_k(ks, n)
            check_backend_args(backend, dtype)
            engine_args = parse_engine_args(vllm_arg)
            base = RolloutConfig(n=n, temperature=temperature, top_p=top_p, top_k=top_k, max_tokens=lengths[0], seed=seed,
                                 batch_size=batch_size, prompt_template=read_template(prompt_template),
                                 system_prompt=system_prompt_or_default(system_prompt))
            problems = list(problems_in(inputs))
            if by:
                check_by_field(problems, by)
            engine = load_backend(backend, model, device=device, dtype=dtype, seed=seed, engine_args=engine_args)

            def roller(limit: int) -> Roller:
                return Roller(engine, model, replace(base, max_tokens=limit))

            def keep(limit, groups):
                """The groups of the first length go to --save-groups as they are judged."""
                if groups_file is None or limit != lengths[0]:
                    return groups
                return (groups_file.write(g) or g for g in groups)

            with Sandbox(workers, isolation) as sandbox, Progress() as progress:
                runs = evaluate_model(roller, problems, lengths, ks, sandbox, config, keep, by, progress)
            document = {"source": "model", "model": model, "n": n, "temperature": temperature, "top_p": top_p,
                        "top_k": top_k, "runs": runs}
        render_report(document)
        data = dumps(document)
        if report_file is not None:
            report_file.write(data)
    write_stdout(data)


@app.command("compare")
def compare_reports(
    reports: list[str] = typer.Argument(..., metavar="REPORT...", help="JSON reports written by mc eval (the first is the reference)."),
) -> None:
    """Side-by-side pass@k with deltas against the first report.

    Examples:

    \b
      mc eval compare dapo.json microcoder.json
    """
    from mc.eval.render import compare_table, load_report

    compare_table([(path, load_report(path)) for path in reports])


@app.command("plot")
def plot(
    metrics: list[str] = typer.Argument(..., metavar="METRICS...", help="Metrics JSONL files (mc train-step / mc train); one line per run."),
    out: str = typer.Option("curves.png", "--out", "-o", metavar="PNG", help="Where the picture goes (- for stdout)."),
) -> None:
    """Training curves (reward, held-out accuracy, length, diversity, entropy, masked samples) as a PNG.

    Examples:

    \b
      mc eval plot runs/microcoder/metrics.jsonl runs/dapo/metrics.jsonl -o curves.png
    """
    import os

    from mc import console
    from mc.eval.plot import plot_runs
    from mc.jsonl import iter_records

    from mc.outputs import Outputs, is_stdout

    with Outputs() as outputs:
        picture = outputs.binary(out, "-o")
        runs = {os.path.basename(os.path.dirname(os.path.abspath(p))) + "/" + os.path.basename(p): list(iter_records(p)) for p in metrics}
        panels = plot_runs(runs, picture)
    console.log(f"wrote {'the PNG to stdout' if is_stdout(out) else out}: {', '.join(panels)} for {len(runs)} run(s)")


@app.command("timeline")
def timeline(
    metrics: list[str] = typer.Argument(..., metavar="METRICS...", help="mc train metrics JSONL files, one per run."),
    out: Optional[str] = typer.Option(None, "--out", "-o", metavar="PNG", help="Also draw the steps as a Gantt chart here (- for stdout)."),
    last: Optional[int] = typer.Option(None, "--last", min=1, metavar="N", help="Draw only each run's last N steps."),
    json_out: bool = typer.Option(False, "--json", help="The summary as JSON on stdout instead of the table."),
) -> None:
    """Where each step's time went: generation, judging and the update, busy and idle, and how much they overlapped.

    A table of seconds per step (mean over steps) with one column per run; with -o,
    a picture of every step's lanes on one time axis.

    Examples:

    \b
      mc eval timeline runs/a/metrics.jsonl
      mc eval timeline runs/sequential/metrics.jsonl runs/off-policy/metrics.jsonl -o timeline.png --last 5
    """
    import os
    import sys

    from mc import console
    from mc.eval.timeline import FIGURES, plot_timelines, summary
    from mc.jsonl import dumps, iter_records
    from mc.outputs import Outputs, is_stdout

    if json_out and out is not None and is_stdout(out):
        from mc.errors import McUsageError

        raise McUsageError("--json and -o - both write to stdout", "give -o a file name")
    runs = {os.path.basename(os.path.dirname(os.path.abspath(p))) or p: list(iter_records(p)) for p in metrics}
    if len(runs) < len(metrics):  # two runs in folders of the same name
        runs = {p: list(iter_records(p)) for p in metrics}
    summaries = {name: summary(lines) for name, lines in runs.items()}
    if out is not None:
        with Outputs() as outputs:
            drawn = plot_timelines(runs, outputs.binary(out, "-o"), last)
        console.log(f"wrote {'the PNG to stdout' if is_stdout(out) else out}: {drawn} step(s) of {len(runs)} run(s)")
    if json_out:
        sys.stdout.buffer.write(dumps(summaries))
        return
    names = {"step_s": "step", "generate_busy_s": "generate busy", "judge_busy_s": "judge busy",
             "update_busy_s": "update busy", "generate_idle_s": "generate idle", "judge_idle_s": "judge idle",
             "update_idle_s": "update idle", "generate_judge_overlap_s": "generate + judge",
             "generate_update_overlap_s": "generate + update"}
    rows = [[names[key], *("-" if s.get(key) is None else f"{s[key]:.2f}" for s in summaries.values())] for key in FIGURES]
    rows.append(["steps", *(str(s["steps"]) for s in summaries.values())])
    console.table("mc eval timeline: seconds per step (mean)", ["", *summaries], rows)
