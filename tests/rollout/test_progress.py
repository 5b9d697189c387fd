"""Progress while sampling: on a terminal the bar counts sampled tokens inside a batch
(before any group is done); in a captured log at most a line every INTERVAL_S
seconds; nothing with MC_PROGRESS=0."""

from __future__ import annotations

import pytest

import json
import os
import pty
import re
import subprocess
import sys

from mc import console
from mc.rollout import progress as progress_module
from mc.rollout.progress import Progress

PROBLEM = {"schema": "mc.problem/1", "id": "p/1", "question": "Read an integer n. Print n + 3.",
           "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": "1\n", "output": "4\n"}]}}


def on_a_terminal(*args, input: bytes) -> tuple[int, str]:
    """Run mc with stderr on a pseudo-terminal; (exit code, what it drew, escapes removed)."""
    main, side = pty.openpty()
    env = {**os.environ, "MC_PROGRESS": "1", "COLUMNS": "160"}
    proc = subprocess.Popen([sys.executable, "-m", "mc", *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=side, env=env)
    os.close(side)
    proc.stdin.write(input)
    proc.stdin.close()
    drawn = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        drawn.append(chunk)
    proc.stdout.read()
    code = proc.wait(timeout=600)
    os.close(main)
    return code, re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", b"".join(drawn).decode(errors="replace"))


@pytest.mark.slow  # ~10-35 s: the default suite stays under 10 minutes
def test_rollout_bar_counts_tokens_inside_the_first_batch(tiny_model):
    code, drawn = on_a_terminal("rollout", "--model", tiny_model, "--n", "4", "--max-tokens", "48",
                                input=(json.dumps(PROBLEM) + "\n").encode() * 2)
    assert code == 0, drawn
    # Both groups are one batch: tokens show while no group is finished yet.
    assert re.search(r"sampling .*0 groups · [\d,]+ tokens · [\d,]+ tok/s", drawn), drawn
    assert "2 groups" in drawn and "0 records" not in drawn


@pytest.mark.slow
def test_eval_shows_sampling_and_judging(tiny_model):
    problem = {**PROBLEM, "id": "p/2"}
    code, drawn = on_a_terminal("eval", "--model", tiny_model, "--n", "2", "--max-tokens", "8,12", "--workers", "1",
                                input="".join(json.dumps(p) + "\n" for p in (PROBLEM, problem)).encode())
    assert code == 0, drawn
    for length in (8, 12):
        assert re.search(rf"sampling \(max {length} tokens\).*/2 groups · [\d,]+ tokens", drawn), drawn
        assert f"judging (max {length} tokens)" in drawn and "2/2 groups" in drawn


def test_plain_lines_at_most_every_interval(monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(console, "progress_enabled", lambda: False)
    monkeypatch.setattr(console, "log", lines.append)
    monkeypatch.setenv("MC_PROGRESS", "1")
    monkeypatch.setattr(progress_module, "INTERVAL_S", 3600.0)
    with Progress() as progress:
        phase = progress.phase("sampling", total=4)
        for _ in range(100):
            phase.tokens(8)
        phase.advance()
    assert lines == []  # a short run in a log: silent
    monkeypatch.setattr(progress_module, "INTERVAL_S", 0.0)
    with Progress() as progress:
        phase = progress.phase("sampling", total=4)
        phase.tokens(8)
        phase.advance()
    assert len(lines) == 2 and lines[0].startswith("sampling: 0/4 groups · 8 tokens") and lines[1].startswith("sampling: 1/4")
    monkeypatch.setenv("MC_PROGRESS", "0")
    with Progress() as progress:
        progress.phase("sampling").tokens(8)
    assert len(lines) == 2
