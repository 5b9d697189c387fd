"""`mc data`: import, curate, describe and split problem sets (logic in mc/data/)."""

from __future__ import annotations

from typing import Optional

import typer

from mc.commands.common import (
    COMPARE,
    INPUTS,
    ISOLATION,
    MEMORY_MB,
    OUT,
    OUTPUT_MB,
    R_BACKEND,
    R_DEVICE,
    R_DTYPE,
    R_VLLM_ARG,
    TIME_LIMIT,
    WORKERS,
    finite,
    judge_config,
    one_of,
    parse_day,
    problems_in,
)

from mc.data.formats import FORMAT_NAMES

app = typer.Typer(
    help="Import, curate, describe and split problem sets (Problem records, JSONL).",
    no_args_is_help=True,
)


@app.command("import")
def import_(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="Files (JSON, JSONL[.gz], parquet, arrow), datasets save_to_disk folders, APPS folders, Hugging Face Hub dataset ids (owner/name, or hf:name), or - for stdin."),
    format: str = typer.Option("auto", "--format", "-f", autocompletion=lambda: FORMAT_NAMES, callback=one_of(*FORMAT_NAMES), help="Source format: auto, mc, livecodebench, taco, apps, codecontests, humaneval, mbpp."),
    join: list[str] = typer.Option([], "--join", metavar="PATH", help="Another copy of the same problems; fills what the imported ones lack (ids, dates, tests, graded submissions), matched by title + statement. Repeatable."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Report and skip rows that cannot be converted, instead of stopping."),
    config: Optional[str] = typer.Option(None, "--config", metavar="NAME", help="For Hub ids: the dataset's configuration (datasets' name=)."),
    split: Optional[str] = typer.Option(None, "--split", metavar="SPLIT", help="For Hub ids: one split (default: every split, each problem tagged with its own)."),
    out: Optional[str] = OUT,
) -> None:
    """Convert public problem sets into Problem records.

    A Hub id is read with datasets.load_dataset and its cache: once loaded where the
    hub is reachable, it reads offline too (HF_HUB_OFFLINE=1).

    Examples:

    \b
      mc data import ../shared/data/humaneval/HumanEval.jsonl.gz > humaneval.jsonl
      mc data import apps/train/ --format apps -o apps.jsonl
      mc data import lcb_public.json --join O1-Mini...eval_all.json > lcb.jsonl
      mc data import livecodebench/code_generation_lite --config release_v6 --split test -o lcb_v6.jsonl
    """
    from mc import console
    from mc.data.importer import ImportReport, import_problems
    from mc.data.tables import hub_id
    from mc.outputs import open_writer

    if (config or split) and not any(hub_id(p) for p in paths):
        from mc.errors import McUsageError

        raise McUsageError("--config and --split apply to Hugging Face Hub ids, and no PATH is one",
                           "name the dataset as owner/name or hf:name")
    report = ImportReport()
    with open_writer(out) as writer:
        problems = import_problems(paths, format, skip_bad=skip_bad, join=join, report=report, hub={"config": config, "split": split})
        writer.write_all(console.track(problems, "importing"))
    rows = [(s.path, s.format, s.imported, len(s.skipped)) for s in report.sources]
    console.table("mc data import", ["source", "format", "problems", "skipped"], rows, align="llrr")
    for source in report.sources:
        for where, why in source.skipped[:10]:
            console.warn(f"skipped {where}: {why}")
        if len(source.skipped) > 10:
            console.warn(f"... and {len(source.skipped) - 10} more skipped rows in {source.path}")
    if join:
        console.log(f"joined {report.joined} of {report.joined + report.unmatched} problems; {report.unmatched} had no match")


@app.command("filter")
def filter_(
    inputs: list[str] = INPUTS,
    dedup: bool = typer.Option(False, "--dedup", help="Remove exact duplicates (normalised statement) and near duplicates (MinHash/LSH). Keeps the first."),
    dedup_threshold: float = typer.Option(0.8, "--dedup-threshold", min=0.01, max=1.0, help="Jaccard similarity of word 3-gram shingles at which two statements are near duplicates."),
    decontaminate: list[str] = typer.Option([], "--decontaminate", metavar="EVAL", help="Remove problems whose statement overlaps this evaluation set (any importable source). Repeatable."),
    ngram: int = typer.Option(10, "--ngram", min=1, help="Word n-gram size for --decontaminate."),
    overlap: float = typer.Option(0.5, "--overlap", min=0.01, max=1.0, help="Share of the smaller statement's n-grams that makes a match, for --decontaminate."),
    before: Optional[str] = typer.Option(None, "--before", metavar="DATE", help="Keep problems released strictly before DATE (YYYY-MM-DD)."),
    after: Optional[str] = typer.Option(None, "--after", metavar="DATE", help="Keep problems released on or after DATE."),
    keep_undated: bool = typer.Option(False, "--keep-undated", help="With --before/--after, keep problems that have no release date (removed by default)."),
    latest: Optional[int] = typer.Option(None, "--latest", min=1, metavar="N", help="Then keep only the N most recently released (input order kept; undated ones removed). With --before EVAL_START: the paper's rule, the newest problems older than the evaluation window."),
    max_tests: Optional[int] = typer.Option(None, "--max-tests", min=1, metavar="N", help="Cap test suites at N cases: public examples first, then the longest inputs."),
    require_tests: bool = typer.Option(False, "--require-tests", help="Remove problems with no test cases."),
    drop_needs_checker: bool = typer.Option(False, "--drop-needs-checker", help="Remove problems that accept any of several answers but carry no checker (tests.checker)."),
    platform: list[str] = typer.Option([], "--platform", help="Keep only these platforms (repeat or comma-separate)."),
    difficulty: list[str] = typer.Option([], "--difficulty", help="Keep only these difficulties (easy, medium, hard; repeat or comma-separate)."),
    report_path: Optional[str] = typer.Option(None, "--report", metavar="FILE", help="Write one JSONL line per removed problem: id, filter, reason, details."),
    out: Optional[str] = OUT,
) -> None:
    """Curate Problem records: each filter is optional and reports what it removed and why.

    Examples:

    \b
      mc data filter --dedup --require-tests < all.jsonl > train.jsonl
      mc data filter --decontaminate lcb.jsonl --before 2024-08-01 --report removed.jsonl all.jsonl -o train.jsonl
      mc data filter --before 2025-02-01 --latest 2000 all.jsonl > recent_train.jsonl   # eval window opens 2025-02-01
    """
    from mc import console
    from mc.data import filters
    from mc.data.decontam import EvalIndex
    from mc.data.dedup import Deduplicator
    from mc.data.importer import import_problems
    from mc.outputs import Outputs
    from mc.records import DIFFICULTIES

    steps: list[tuple[str, filters.Step]] = []
    if platform:
        steps.append(("platform", filters.by_field("platform", platform)))
    if difficulty:
        steps.append(("difficulty", filters.by_field("difficulty", difficulty, known=DIFFICULTIES)))
    if before or after:
        steps.append(("date", filters.date_window(parse_day(before, "--before"), parse_day(after, "--after"), keep_undated)))
    if require_tests:
        steps.append(("require-tests", filters.require_tests))
    if drop_needs_checker:
        steps.append(("needs-checker", filters.drop_needs_checker))
    if max_tests is not None:
        steps.append(("max-tests", filters.cap_tests(max_tests)))
    if decontaminate:
        eval_problems = list(import_problems(decontaminate))
        index = EvalIndex(eval_problems, n=ngram, overlap=overlap)
        console.log(f"decontaminating against {len(index)} evaluation problems ({ngram}-grams, overlap >= {overlap})")
        steps.append(("decontaminate", filters.decontaminate(index)))
    if dedup:
        steps.append(("dedup", filters.dedup(Deduplicator(threshold=dedup_threshold))))

    report = filters.FilterReport()
    with Outputs() as outputs:
        writer = outputs.records(out, "-o")
        removed = outputs.records(report_path, "--report", optional=True)
        on_removed = (lambda r: removed.write(r.record())) if removed else None
        kept = filters.run_filters(console.track(problems_in(inputs), "filtering"), steps, report, on_removed)
        if latest is not None:
            kept = filters.latest(kept, latest, report, on_removed)
        writer.write_all(kept)
    names = [name for name, _ in steps] + (["latest"] if latest is not None else [])
    rows = [(name, report.removed.get(name, 0), report.changed.get(name, 0)) for name in names]
    rows.append(("kept", f"{report.kept} of {report.seen}", ""))
    console.table("mc data filter", ["filter", "removed", "changed"], rows)


@app.command("verify")
def verify(
    inputs: list[str] = INPUTS,
    max_solutions: int = typer.Option(3, "--max-solutions", min=1, help="Reference solutions checked per problem."),
    require_all: bool = typer.Option(False, "--require-all", help="Drop a problem unless every checked reference passes (default: one is enough)."),
    require_solutions: bool = typer.Option(False, "--require-solutions", help="Drop problems that have no reference solution to check."),
    compare: str = COMPARE,
    workers: Optional[int] = WORKERS,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    output_mb: int = OUTPUT_MB,
    isolation: str = ISOLATION,
    report_path: Optional[str] = typer.Option(None, "--report", metavar="FILE", help="Write one JSONL line per removed problem, with the references' verdicts."),
    out: Optional[str] = OUT,
) -> None:
    """Run each problem's reference solutions in the sandbox; drop problems whose references fail their own tests.

    Examples:

    \b
      mc data import ../shared/data/apps_coderl/train | mc data verify > apps_verified.jsonl
      mc data verify --require-all --report broken.jsonl mbpp.jsonl -o mbpp_ok.jsonl
    """
    from mc import console
    from mc.outputs import Outputs
    from mc.reward.sandbox.pool import Sandbox
    from mc.reward.verify import VerifyReport, verify_problems

    config = judge_config("binary", compare, time_limit, memory_mb, output_mb, all_tests=False)
    report = VerifyReport()
    with Outputs() as outputs:
        writer = outputs.records(out, "-o")
        removed = outputs.records(report_path, "--report", optional=True)
        with Sandbox(workers, isolation) as sandbox:
            kept = verify_problems(problems_in(inputs), sandbox, config, report, max_solutions, require_all, require_solutions)
            writer.write_all(console.track(kept, "verifying"))
        if removed:
            removed.write_all(r.record() for r in report.removed)
    for removal in report.removed[:10]:
        console.warn(f"dropped {removal.id}: {removal.reason}")
    console.table("mc data verify", ["", "problems"], [
        ("checked", report.seen), ("kept", report.kept), ("  of them without references (unverified)", report.unverified),
        ("dropped: references fail", len(report.removed)),
    ], align="lr")


@app.command("difficulty")
def difficulty(
    inputs: list[str] = typer.Argument(None, metavar="SCORED", help="Scored groups (mc rollout | mc reward); stdin when none or -.", show_default=False),
    keep: Optional[str] = typer.Option(None, "--keep", metavar="LO:HI", help="Keep problems whose pass rate is in [LO, HI] (e.g. 0:0.8 drops the easy ones)."),
    from_submissions: bool = typer.Option(False, "--from-submissions", help="Read Problem records with graded submissions (meta.submissions[].graded, e.g. LiveCodeBench's verdicts joined in by mc data import --join) instead of scored groups."),
    report_path: Optional[str] = typer.Option(None, "--report", metavar="FILE", help="Write one JSONL line per removed problem."),
    out: Optional[str] = OUT,
) -> None:
    """Measure per-problem pass rates from scored rollouts; write them onto the Problem records.

    Adds meta.pass_rate, meta.pass_samples and meta.pass_bucket (solved, easy,
    medium, hard, unsolved). With --from-submissions the rates are the shares of
    graded programs judged correct.

    Examples:

    \b
      mc rollout -m ckpt/ --n 8 train.jsonl | mc reward | mc data difficulty --keep 0:0.8 > hard_train.jsonl
      mc data difficulty scored.jsonl | mc data stats
      mc data import lcb.json --join o1_eval_all.json | mc data difficulty --from-submissions > measured.jsonl
    """
    from collections import Counter

    from mc import console
    from mc.data.difficulty import keep_band, problems_with_graded_rates, problems_with_pass_rates
    from mc.jsonl import iter_records
    from mc.outputs import Outputs
    from mc.reward.score import validate_group
    from mc.rollout.temperature import parse_band

    if from_submissions:
        problems = problems_with_graded_rates(console.track(problems_in(inputs), "reading problems"))
    else:
        groups = console.track(iter_records(inputs or ["-"], validate=validate_group), "reading scored groups")
        problems = problems_with_pass_rates(groups)
    removed: list = []
    if keep:
        lo, hi = parse_band(keep, "--keep")
        problems = keep_band(problems, lo, hi, removed)
    buckets: Counter = Counter()
    with Outputs() as outputs:
        writer = outputs.records(out, "-o")
        removed_writer = outputs.records(report_path, "--report", optional=True)
        for problem in problems:
            buckets[problem["meta"]["pass_bucket"]] += 1
            writer.write(problem)
        if removed_writer:
            removed_writer.write_all(r.record() for r in removed)
    rows = [(b, buckets.get(b, 0)) for b in ("solved", "easy", "medium", "hard", "unsolved")]
    if keep:
        rows.append((f"removed (outside {keep})", len(removed)))
    console.table("mc data difficulty", ["pass bucket", "problems"], rows, align="lr")


@app.command("predict-difficulty")
def predict_difficulty(
    inputs: list[str] = INPUTS,
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="PATH", help="The rating model: an HF folder, hub id or mc checkpoint."),
    rubric: Optional[str] = typer.Option(None, "--rubric", metavar="FILE", help="A JSON rubric (system, template with {question} and {description}, answer with {name}, dimensions: name, weight, description) instead of mc's own."),
    show_rubric: bool = typer.Option(False, "--show-rubric", help="Print the default rubric (JSON) on stdout, to edit into a --rubric file, and exit."),
    backend: str = R_BACKEND,
    device: Optional[str] = R_DEVICE,
    dtype: Optional[str] = R_DTYPE,
    batch_problems: int = typer.Option(8, "--batch-problems", min=1, help="Problems rated together (x the rubric's dimensions prompts per batch)."),
    vllm_arg: list[str] = R_VLLM_ARG,
    out: Optional[str] = OUT,
) -> None:
    """Rate each problem's difficulty with a model, on the rubric's weighted dimensions.

    Each dimension's rating is the expected digit (1-9) under the model's
    next-token probabilities; the weighted mean, mapped to 0..1 (1: hardest), is
    meta.predicted_difficulty.score, kept with every rating and the raw
    probabilities. Calibrate it on measured pass rates with mc data calibrate.

    Examples:

    \b
      mc data predict-difficulty --model Qwen/Qwen3-8B --backend vllm train.jsonl > predicted.jsonl
      mc data predict-difficulty --show-rubric > rubric.json    # edit, then: --rubric rubric.json
      mc data predict-difficulty -m smol/ --rubric rubric.json train.jsonl -o predicted.jsonl
    """
    import json as json_module

    from mc import console
    from mc.data.predict import DEFAULT_RUBRIC, read_rubric
    from mc.errors import McUsageError

    if show_rubric:
        from mc.jsonl import write_stdout

        write_stdout((json_module.dumps(DEFAULT_RUBRIC, indent=1) + "\n").encode())
        return
    if model is None:
        raise McUsageError("--model is required (the model that rates the problems)")
    chosen = read_rubric(rubric)  # a bad rubric fails before the model loads
    from mc.data.predict import predict_difficulty as run_predict
    from mc.outputs import Outputs
    from mc.rollout.backends import load_backend
    from mc.rollout.vllm_backend import parse_engine_args

    engine = load_backend(backend, model, device=device, dtype=dtype, engine_args=parse_engine_args(vllm_arg))
    scores = []
    with Outputs() as outputs:
        writer = outputs.records(out, "-o")
        for problem in run_predict(console.track(problems_in(inputs), "rating problems"), engine, chosen, model, batch_problems):
            scores.append(problem["meta"]["predicted_difficulty"]["score"])
            writer.write(problem)
    if scores:
        ordered = sorted(scores)
        console.log(f"rated {len(scores)} problems on {len(chosen['dimensions'])} dimensions: score min {ordered[0]:.3f}, "
                    f"median {ordered[len(ordered) // 2]:.3f}, max {ordered[-1]:.3f}")


@app.command("calibrate")
def calibrate(
    inputs: list[str] = typer.Argument(None, metavar="PREDICTED", help="Problems rated by mc data predict-difficulty; stdin when none or -.", show_default=False),
    measured: list[str] = typer.Option(..., "--measured", metavar="FILE", help="Problems with measured pass rates (mc data difficulty's output), matched by id. Repeatable."),
    holdout: float = typer.Option(0.25, "--holdout", min=0.0, max=0.9, callback=finite, help="Share of the measured problems held out to report how well the score predicts."),
    seed: int = typer.Option(0, "--seed", help="Seeds the held-out draw."),
    keep: Optional[str] = typer.Option(None, "--keep", metavar="LO:HI", help="Keep problems whose estimated pass rate (measured where known, else calibrated) is in [LO, HI]."),
    report_path: Optional[str] = typer.Option(None, "--report", metavar="FILE", help="Write one JSONL line per removed problem."),
    as_json: bool = typer.Option(False, "--json", help="The report as one JSON object on stderr instead of tables."),
    out: Optional[str] = OUT,
) -> None:
    """Map predicted difficulty onto measured pass rates (a monotone fit) and select by it.

    Fits an isotonic regression of pass rate on the predicted score over the
    problems that have both; reports, on held-out problems, the rank correlation
    of score and measured difficulty and the error of the calibrated rates; writes
    meta.pass_rate_estimate (measured where known, else calibrated) onto every
    problem and keeps the --keep band, with the difficulty mix before and after.

    Examples:

    \b
      mc data calibrate --measured measured.jsonl predicted.jsonl --keep 0:0.8 -o selected.jsonl
      mc data calibrate --measured measured.jsonl --holdout 0.3 --seed 1 predicted.jsonl > /dev/null
      mc data predict-difficulty -m MODEL new.jsonl | mc data calibrate --measured measured.jsonl --keep 0:0.8 > kept.jsonl
    """
    import json as json_module

    from mc import console
    from mc.data.calibrate import BUCKETS, CalibrationReport, calibrated, evaluate, fit, measured_rate, score_of
    from mc.errors import McUsageError
    from mc.jsonl import read_twice
    from mc.outputs import Outputs
    from mc.records import validate_problem
    from mc.rollout.temperature import parse_band

    band = parse_band(keep, "--keep") if keep else None
    if "-" in measured and (not inputs or "-" in inputs):
        raise McUsageError("--measured - and PREDICTED both read stdin", "give one of them as a file")
    known = {}
    for problem in problems_in(measured):
        rate = measured_rate(problem)
        if rate is not None:
            known[problem["id"]] = rate
    if not known:
        raise McUsageError(f"--measured {' '.join(measured)}: no problem has meta.pass_rate",
                           "measure pass rates with mc data difficulty (from rollouts, or --from-submissions)")
    removed: list = []
    # The fit needs the scores of the measured problems: a first pass over the predictions
    # collects them, a second applies the fit (stdin is kept in a temporary file meanwhile).
    with read_twice(inputs or ["-"], validate_problem) as (first, again):
        scored = {}
        for problem in first:
            score = score_of(problem)
            if score is not None and problem["id"] in known:
                scored[problem["id"]] = score
        pairs = [(scored[i], known[i][0], known[i][1]) for i in sorted(scored)]
        report = CalibrationReport(quality=evaluate(pairs, holdout, seed))
        report.calibration = fit([p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs])
        with Outputs() as outputs:
            writer = outputs.records(out, "-o")
            removed_writer = outputs.records(report_path, "--report", optional=True)
            writer.write_all(calibrated(console.track(again(), "calibrating"), report.calibration, known, report,
                                        band, removed))
            if removed_writer:
                removed_writer.write_all(r.record() for r in removed)
    q = report.quality

    def fmt(value, digits=3):
        return "-" if value is None else f"{value:.{digits}f}"

    if as_json:
        console.log(json_module.dumps({
            "fit_problems": q.fit_problems, "holdout_problems": q.holdout_problems, "spearman_holdout": q.spearman_holdout,
            "spearman_fit": q.spearman_fit, "mae_holdout": q.mae_holdout, "mae_mean_baseline": q.mae_mean_baseline,
            "calibration": {"scores": report.calibration.scores, "rates": report.calibration.rates},
            "seen": report.seen, "kept": report.kept, "sources": dict(report.sources),
            "mix_before": {b: report.before.get(b, 0) for b in BUCKETS}, "mix_after": {b: report.after.get(b, 0) for b in BUCKETS}}))
        return
    console.table("mc data calibrate: how well the score predicts", ["", "value"], [
        ("measured problems with a score", len(pairs)), ("  fitted on", q.fit_problems), ("  held out", q.holdout_problems),
        ("Spearman, score vs 1 - pass rate (held out)", fmt(q.spearman_holdout)),
        ("Spearman, same (fit set)", fmt(q.spearman_fit)),
        ("mean abs. error of calibrated rates (held out)", fmt(q.mae_holdout)),
        ("  predicting the mean rate instead", fmt(q.mae_mean_baseline)),
    ], align="lr")

    def share(counter, bucket_name, total):
        return f"{counter.get(bucket_name, 0)} ({100 * counter.get(bucket_name, 0) / max(total, 1):.0f}%)"

    console.table(f"difficulty mix by estimated pass rate ({report.sources.get('measured', 0)} measured, "
                  f"{report.sources.get('calibrated', 0)} calibrated)", ["bucket", "before", "after"],
                  [(b, share(report.before, b, report.seen), share(report.after, b, report.kept)) for b in BUCKETS]
                  + [("all", report.seen, report.kept)], align="lrr")


@app.command("batch")
def batch(
    inputs: list[str] = INPUTS,
    step: Optional[int] = typer.Option(None, "--step", min=0, help="The training step (0-based): data positions step x size onwards."),
    position: Optional[int] = typer.Option(None, "--position", min=0, help="Or a data position (a checkpoint's meta.json data_position: with dynamic sampling a step reads more than its size)."),
    size: int = typer.Option(16, "--size", min=1, help="Problems per step (mc train's --batch-problems)."),
    seed: int = typer.Option(0, "--seed", help="mc train's --seed."),
    out: Optional[str] = OUT,
) -> None:
    """The problems mc train uses at a step (epochs are seeded shuffles), for running the loop piece by piece.

    Examples:

    \b
      mc data batch train.jsonl --step 3 --size 16 --seed 0 | mc rollout --model ckpt/ --seed 3 | mc reward | ...
      mc data batch train.jsonl --position $(jq .data_position run/ckpt-000010/meta.json) --size 16
    """
    from mc.errors import McUsageError
    from mc.outputs import open_writer
    from mc.train.loop import problems_at

    if (step is None) == (position is None):
        raise McUsageError("give one of --step and --position")
    start = position if position is not None else step * size
    with open_writer(out) as writer:
        writer.write_all(problems_at(list(problems_in(inputs)), start, size, seed))


@app.command("synth")
def synth(
    families: str = typer.Option("add_k,mul_k,sub_k,mod_k,sum_k,max_k,rep_k,len_k", "--families", help="Comma-separated family names."),
    count: int = typer.Option(20, "--count", min=1, help="Problems per family."),
    tests: int = typer.Option(3, "--tests", min=1, help="Test cases per problem."),
    seed: int = typer.Option(0, "--seed"),
    exclude: Optional[list[str]] = typer.Option(None, "--exclude", metavar="PROBLEMS", help="Never reuse a (family, K) pair of these synthetic problems: keeps a held-out set unseen. Repeatable."),
    out: Optional[str] = OUT,
) -> None:
    """Generate small problem families (stdin tests, reference solutions): demos and smoke tests.

    Families: add_k, mul_k, sub_k, mod_k, div_k, sum_k, max_k, rep_k, len_k (the task in
    symbols: "Print n - 7.") and add_k_words, mul_k_words, sub_k_words, mod_k_words
    (the same tasks in words: "Print n minus 7.").

    Examples:

    \b
      mc data synth --families add_k,mul_k --count 50 --seed 1 > warmup.jsonl
      mc data synth --count 5 | mc data verify | mc data stats
      mc data synth --count 8 --seed 2 -o heldout.jsonl && mc data synth --count 40 --exclude heldout.jsonl -o train.jsonl
    """
    from mc import console
    from mc.commands.common import problems_in
    from mc.data.synthetic import FAMILIES, exclusion_pairs, generate, same_task
    from mc.errors import McError, McUsageError
    from mc.outputs import Outputs

    names = [f.strip() for f in families.split(",") if f.strip()]
    if not names:
        raise McUsageError("--families needs at least one family", f"choose from {', '.join(FAMILIES)}")
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise McUsageError(f"unknown families {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    with Outputs() as outputs:
        writer = outputs.records(out, "-o")
        used: set = set()
        if exclude:
            used, others = exclusion_pairs(problems_in(exclude))
            if not used:
                raise McError(f"--exclude {', '.join(exclude)}: no synthetic problems in it (none has meta.family and meta.k)",
                              "give problems written by mc data synth")
            relevant = sum(1 for f, _ in used if any(same_task(f, name) for name in names))
            console.log(f"excluding {len(used)} (task, K) pairs from {', '.join(exclude)}; {relevant} of them are tasks of "
                        f"the requested families" + (f"; {others} records there are not synthetic and exclude nothing" if others else ""))
        try:
            problems = generate(names, count, seed, tests, exclude=used)
        except ValueError as e:
            raise McUsageError(f"{e}: ask for fewer problems or exclude less") from None
        writer.write_all(problems)


@app.command("stats")
def stats(
    inputs: list[str] = INPUTS,
    json_out: bool = typer.Option(False, "--json", help="Print the statistics as one JSON document on stdout instead of tables."),
) -> None:
    """Describe a problem set: counts by source, platform, difficulty and test kind; tests per problem; dates.

    Examples:

    \b
      mc data stats train.jsonl
      mc data import ../shared/data/mbpp/mbpp.jsonl | mc data stats --json | jq .tests_per_problem
    """
    from mc import console
    from mc.data.stats import ProblemStats

    acc = ProblemStats()
    for problem in console.track(problems_in(inputs), "reading"):
        acc.add(problem)
    summary = acc.to_dict()
    if json_out:
        from mc.jsonl import dumps, write_stdout

        write_stdout(dumps(summary))
        return
    rows: list[tuple] = []
    for title, key in [("source", "by_source"), ("platform", "by_platform"), ("difficulty", "by_difficulty"), ("test kind", "by_test_type")]:
        for i, (name, count) in enumerate(summary[key].items()):
            rows.append((title if i == 0 else "", name, count))
    t, d = summary["tests_per_problem"], summary["dates"]
    rows += [
        ("tests per problem", "min / median / mean / max", f"{t['min']} / {t['median']} / {t['mean']} / {t['max']}"),
        ("", "all tests", t["total"]),
        ("", "problems without tests", t["without_tests"]),
        ("solutions", "problems with references", summary["with_solutions"]),
        ("dates", "first .. last", f"{d['first']} .. {d['last']}" if d["first"] else "none"),
        ("", "undated problems", d["undated"]),
    ]
    console.table(f"{summary['problems']} problems", ["", "", "problems"], rows, align="llr")


@app.command("split")
def split(
    inputs: list[str] = INPUTS,
    train: str = typer.Option(..., "--train", metavar="FILE", help="Where the train side goes (- for stdout)."),
    test: str = typer.Option(..., "--test", metavar="FILE", help="Where the test side goes (- for stdout)."),
    test_fraction: Optional[float] = typer.Option(None, "--test-fraction", min=0.0, max=1.0, help="Share of problems for the test side, chosen by a hash of id and seed."),
    seed: int = typer.Option(0, "--seed", help="Seed for --test-fraction."),
    by_date: Optional[str] = typer.Option(None, "--by-date", metavar="DATE", help="Released before DATE -> train, on or after -> test."),
    undated: str = typer.Option("error", "--undated", autocompletion=lambda: ["error", "train", "test", "drop"], callback=one_of("error", "train", "test", "drop"), help="With --by-date, where problems without a date go: error, train, test or drop."),
) -> None:
    """Split problems into train and test, deterministically.

    Examples:

    \b
      mc data split all.jsonl --test-fraction 0.1 --seed 0 --train train.jsonl --test test.jsonl
      mc data split lcb.jsonl --by-date 2024-08-01 --train old.jsonl --test new.jsonl
    """
    from collections import Counter

    from mc import console
    from mc.data import split as splitting
    from mc.errors import McError, McUsageError
    from mc.outputs import Outputs

    if (test_fraction is None) == (by_date is None):
        raise McUsageError("give exactly one of --test-fraction or --by-date")
    cutoff = parse_day(by_date, "--by-date")
    counts: Counter = Counter()
    with Outputs() as outputs:
        train_writer, test_writer = outputs.records(train, "--train"), outputs.records(test, "--test")
        writers = {splitting.TRAIN: train_writer, splitting.TEST: test_writer}
        for problem in console.track(problems_in(inputs), "splitting"):
            if cutoff is None:
                side = splitting.side_by_fraction(problem, test_fraction, seed)
            else:
                side = splitting.side_by_date(problem, cutoff)
                if side is None:
                    if undated == "error":
                        raise McError(
                            f"problem {problem['id']!r} has no release date",
                            "pass --undated train|test|drop, or filter with mc data filter --before/--after",
                        )
                    side = None if undated == "drop" else undated
            counts[side or "dropped"] += 1
            if side:
                writers[side].write(problem)
    console.table("mc data split", ["side", "problems"], [(k, counts.get(k, 0)) for k in ("train", "test", "dropped")])
