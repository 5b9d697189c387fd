"""`mc reward`: judge every sample of every group (logic in mc/reward/)."""

from __future__ import annotations

import time
from typing import Optional

import typer

from mc.commands.common import (
    COMPARE,
    ISOLATION,
    MEMORY_MB,
    O_OVERLONG_BUFFER,
    O_OVERLONG_PENALTY,
    OUT,
    OUTPUT_MB,
    TIME_LIMIT,
    WORKERS,
    judge_config,
    one_of,
)


def reward(
    inputs: list[str] = typer.Argument(None, metavar="GROUPS", help="Group records (JSONL, .gz allowed); stdin when none or -.", show_default=False),
    reward_kind: str = typer.Option("binary", "--reward", autocompletion=lambda: ["binary", "fraction"], callback=one_of("binary", "fraction"), help="binary: 1 when every test passes (the paper's); fraction: share of tests passed."),
    compare: str = COMPARE,
    workers: Optional[int] = WORKERS,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    output_mb: int = OUTPUT_MB,
    all_tests: bool = typer.Option(False, "--all-tests", help="Run every test even after a binary reward is decided (slower; fuller feedback)."),
    isolation: str = ISOLATION,
    shard: Optional[str] = typer.Option(None, "--shard", metavar="I/N", help="Judge only records I, I+N, I+2N, ... (0-based): one of N processes or hosts. Merge the outputs back in order with paste -d '\\n' (see examples/shard-rewards)."),
    overlong_buffer: Optional[str] = O_OVERLONG_BUFFER,
    overlong_penalty: float = O_OVERLONG_PENALTY,
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="L", help="L_max for --overlong-buffer (default: each group's rollout.max_tokens, which mc rollout records)."),
    out: Optional[str] = OUT,
) -> None:
    """Judge model programs against tests in the sandbox; write the groups back with rewards.

    Each sample gains: reward, verdict, tests_passed, tests_total, accepted_by,
    non_incorrect, time_s, feedback (on failure) and isolation (active sandbox
    layers); with --overlong-buffer also judged_reward and overlong_penalty
    (reward = judged_reward + overlong_penalty). Output order equals input order.

    Examples:

    \b
      mc rollout --model ckpt/ --n 8 train.jsonl | mc reward > scored.jsonl
      mc reward --reward fraction --workers 16 groups.jsonl -o scored.jsonl
      mc reward --compare strict old_run.jsonl | jq -c '[.samples[].verdict]'
      mc reward --overlong-buffer 20% groups.jsonl        # DAPO's soft overlong punishment
      mc reward --shard 0/2 groups.jsonl > out.0 & mc reward --shard 1/2 groups.jsonl > out.1; wait
      paste -d '\\n' out.0 out.1 | sed '/^$/d' > scored.jsonl     # = mc reward groups.jsonl
    """
    from mc import console
    from mc.jsonl import iter_records
    from mc.outputs import open_writer
    from mc.reward.sandbox.pool import Sandbox
    from mc.reward.score import ScoreReport, score_groups, validate_group

    from mc.shard import parse_shard, take_shard

    from mc.reward.shaping import parse_buffer, shape_group

    config = judge_config(reward_kind, compare, time_limit, memory_mb, output_mb, all_tests)
    buffer = parse_buffer(overlong_buffer) if overlong_buffer else None
    if max_tokens is not None and buffer is None:
        from mc.errors import McUsageError

        raise McUsageError("--max-tokens is L_max for --overlong-buffer", "add --overlong-buffer, or drop --max-tokens")
    part = parse_shard(shard) if shard else None
    report = ScoreReport()
    started = time.monotonic()
    with open_writer(out) as writer, Sandbox(workers, isolation) as sandbox:
        groups = iter_records(inputs or ["-"], validate=validate_group)
        if part:
            groups = take_shard(groups, *part)
        scored = score_groups(groups, sandbox, config, report)
        if buffer is not None:
            scored = (shape_group(g, buffer, overlong_penalty, max_tokens) for g in scored)
        writer.write_all(console.track(scored, "judging groups"))
        layers = sandbox.layers
    elapsed = time.monotonic() - started
    busy = max(elapsed - report.input_wait_s, 1e-9)  # rates exclude time spent waiting for a slow producer
    waited = f"; {report.input_wait_s:.1f} s waiting for input" if report.input_wait_s >= 0.05 else ""
    rows = [(verdict, count, f"{count / max(report.samples, 1):.1%}") for verdict, count in report.verdicts.most_common()]
    console.table(f"mc reward: {report.samples} samples in {report.groups} groups, {elapsed:.1f} s{waited} "
                  f"({report.samples / busy:.1f} samples/s, {report.tests_run / busy:.0f} tests/s judging)",
                  ["verdict", "samples", "share"], rows, align="lrr")
    if report.accepted_by:
        console.log("accepted by: " + ", ".join(f"{m} {c}" for m, c in report.accepted_by.most_common()))
    console.log(f"sandbox: {', '.join(layers)}")
