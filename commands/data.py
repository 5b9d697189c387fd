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
    TIME_LIMIT,
    WORKERS,
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
        kept = filters.run_filters(
            console.track(problems_in(inputs), "filtering"),
            steps,
            report,
            on_removed=(lambda r: removed.write(r.record())) if removed else None,
        )
        writer.write_all(kept)
    rows = [(name, report.removed.get(name, 0), report.changed.get(name, 0)) for name, _ in steps]
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
    report_path: Optional[str] = typer.Option(None, "--report", metavar="FILE", help="Write one JSONL line per removed problem."),
    out: Optional[str] = OUT,
) -> None:
    """Measure per-problem pass rates from scored rollouts; write them onto the Problem records.

    Adds meta.pass_rate, meta.pass_samples and meta.pass_bucket (solved, easy,
    medium, hard, unsolved).

    Examples:

    \b
      mc rollout -m ckpt/ --n 8 train.jsonl | mc reward | mc data difficulty --keep 0:0.8 > hard_train.jsonl
      mc data difficulty scored.jsonl | mc data stats
    """
    from collections import Counter

    from mc import console
    from mc.data.difficulty import keep_band, problems_with_pass_rates
    from mc.jsonl import iter_records
    from mc.outputs import Outputs
    from mc.reward.score import validate_group
    from mc.rollout.temperature import parse_band

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
