"""Misuse a new user (or a script) commits: each is one clear line with the right exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import run_mc
from mc import jsonl
from mc.errors import McError


@pytest.mark.parametrize("argv, message", [
    (["data", "filter", "--platform", ",,"], b"--platform needs at least one value"),
    (["data", "filter", "--difficulty", "hardd"], b"--difficulty hardd: not one of easy, medium, hard"),
    (["data", "synth", "--families", ""], b"--families needs at least one family"),
])
def test_empty_or_misspelt_values_are_usage_errors(argv, message):
    proc = run_mc(*argv, input=b"")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_a_folder_nested_absurdly_deep_is_refused_not_a_recursion_error(tmp_path):
    deep = tmp_path
    for _ in range(40):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "x.jsonl").write_text("{}\n")
    proc = run_mc("data", "import", tmp_path)
    assert proc.returncode == 1 and b"nest deeper than" in proc.stderr, proc.stderr


def test_an_endless_line_fails_fast_instead_of_filling_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 1 << 20)
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b"\0" * (3 << 20))
    with pytest.raises(McError, match=r"binary\.jsonl:1: a line longer than 1 MiB"):
        list(jsonl.iter_records(str(path)))


def test_sigterm_unwinds_and_removes_what_the_command_made(tmp_path):
    """kill / timeout / a scheduler: the sandbox's folders and the output's temporary go away."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "mc", "reward", "--isolation", "none", "-j", "1", "-o", tmp_path / "out.jsonl"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(private_tmp),
                                                                                "MC_PROGRESS": "0"})
    deadline = time.monotonic() + 60
    while not any(p.name.startswith("mc-sandbox-") for p in private_tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the workers started: the command now waits on its (open, empty) stdin
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143, err
    assert b"terminated" in err
    assert list(private_tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]  # no out.jsonl, no .out.jsonl.*.tmp


def test_a_band_error_names_the_flag_given():
    proc = run_mc("data", "difficulty", "--keep", "0.8:0.2", input=b"")
    assert proc.returncode == 2 and b"--keep" in proc.stderr and b"target-diversity" not in proc.stderr
