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
    R_PROMPT_TEMPLATE,
    R_SYSTEM_PROMPT,
    TIME_LIMIT,
    WORKERS,
    judge_config,
)


class _RunByDefault(TyperGroup):
    """`mc eval [OPTIONS] PROBLEMS` runs an evaluation; `mc eval compare|plot ...` the others."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_RunByDefault, help="Evaluate pass@k (run), compare reports (compare), plot training curves (plot).")


def _ints(text: str, flag: str) -> list[int]:
    from mc.errors import McUsageError

    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise McUsageError(f"{flag} expects comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise McUsageError(f"{flag} expects positive integers")
    return values


@app.command("run")
def run(
    inputs: list[str] = typer.Argument(None, metavar="PROBLEMS", help="Problem records (with --model) or scored groups (with --scored).", show_default=False),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="PATH", help="Sample from this model, then judge."),
    scored: bool = typer.Option(False, "--scored", help="The inputs are groups made elsewhere (samples without a verdict are judged)."),
    n: int = typer.Option(4, "--n", "-n", min=1, help="Samples per problem."),
    k: str = typer.Option("1", "--k", help="Comma-separated k values, e.g. 1,4 (only k <= samples per problem are reported)."),
    temperature: float = typer.Option(0.6, "--temperature", "-t", min=0.0),
    top_p: float = typer.Option(1.0, "--top-p", min=0.0, max=1.0),
    max_tokens: str = typer.Option("1024", "--max-tokens", metavar="L[,L2...]", help="Response length limit; several (4096,8192) evaluate each, side by side."),
    seed: int = typer.Option(0, "--seed"),
    backend: str = typer.Option("auto", "--backend", autocompletion=lambda: ["auto", "hf", "vllm"]),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
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
    from mc.jsonl import dumps, iter_records, write_records, write_stdout

    ks = _ints(k, "--k")
    lengths = _ints(max_tokens, "--max-tokens")
    config = judge_config("binary", compare, time_limit, memory_mb, output_mb, all_tests=False)
    if (model is None) == (not scored):
        raise McUsageError("give --model PATH (sample and judge) or --scored (judge given groups), not both")
    from mc.reward.sandbox.pool import Sandbox

    if scored:
        from mc.eval.run import evaluate_scored
        from mc.reward.score import validate_group

        groups = iter_records(inputs or ["-"], validate=validate_group)
        document = {"source": "scored", "runs": {"given": evaluate_scored(groups, ks, lambda: Sandbox(workers, isolation), config, by)}}
    else:
        from mc.eval.run import evaluate_model
        from mc.rollout.backends import load_backend
        from mc.rollout.rollout import Roller, RolloutConfig

        problems = list(problems_in(inputs))
        template = read_template(prompt_template)
        engine = load_backend(backend, model, seed=seed)

        def roller(limit: int) -> Roller:
            return Roller(engine, model, RolloutConfig(n=n, temperature=temperature, top_p=top_p, max_tokens=limit,
                                                       seed=seed, batch_size=batch_size, prompt_template=template,
                                                       system_prompt=system_prompt_or_default(system_prompt)))

        kept = {}

        def keep(limit, groups):
            if save_groups and limit == lengths[0]:
                kept["groups"] = list(groups)
                return kept["groups"]
            return groups

        with Sandbox(workers, isolation) as sandbox:
            runs = evaluate_model(roller, problems, lengths, ks, sandbox, config, keep, by)
        if save_groups:
            write_records(kept.get("groups", []), save_groups)
        document = {"source": "model", "model": model, "n": n, "temperature": temperature, "runs": runs}
    render_report(document)
    data = dumps(document)
    if json_out:
        from mc.jsonl import atomic_path

        with atomic_path(json_out) as tmp, open(tmp, "wb") as f:
            f.write(data)
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
    out: str = typer.Option("curves.png", "--out", "-o", metavar="PNG", help="Where the picture goes."),
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

    runs = {os.path.basename(os.path.dirname(os.path.abspath(p))) + "/" + os.path.basename(p): list(iter_records(p)) for p in metrics}
    panels = plot_runs(runs, out)
    console.log(f"wrote {out}: {', '.join(panels)} for {len(runs)} run(s)")
