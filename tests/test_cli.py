"""The `mc` command itself: help, exit codes, one-line errors, stdout hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import REPO, run_mc


def test_help_lists_subcommands_and_has_examples():
    top = run_mc("--help", check_rc=0).stdout.decode()
    assert "data" in top and "Examples" in top
    data = run_mc("data", "--help", check_rc=0).stdout.decode()
    for sub in ("import", "filter", "stats", "split"):
        assert sub in data
    for sub in ("import", "filter", "stats", "split"):
        text = run_mc("data", sub, "--help", check_rc=0).stdout.decode()
        assert "Examples" in text and "mc data " + sub in text


@pytest.mark.parametrize("argv", [["--help"], ["data", "filter", "--help"], ["rollout", "--help"], ["reward", "--help"],
                                  ["model", "init", "--help"]])
def test_help_imports_no_heavy_library(argv):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['mc', *{argv!r}]\n"
        "try:\n    runpy.run_module('mc', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'vllm', 'numpy', 'datasketch', 'pyarrow') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_version():
    assert run_mc("--version", check_rc=0).stdout.decode().startswith("mc ")


def one_line_error(proc, rc=1):
    assert proc.returncode == rc, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert b"Traceback" not in proc.stderr
    return lines[0]


def test_truncated_json_line(tmp_path, real):
    good = run_mc("data", "import", real.humaneval, check_rc=0).stdout.splitlines()
    path = tmp_path / "cut.jsonl"
    path.write_bytes(good[0] + b"\n" + good[1][:200] + b"\n")
    line = one_line_error(run_mc("data", "stats", path))
    assert "cut.jsonl:2: malformed JSON (truncated line?)" in line


def test_wrong_schema(tmp_path):
    path = tmp_path / "group.jsonl"
    path.write_text(json.dumps({"schema": "mc.group/1", "samples": []}) + "\n")
    line = one_line_error(run_mc("data", "filter", "--dedup", path))
    assert "group.jsonl:1: got a mc.group/1 record, expected records of schema mc.problem/1" in line


def test_missing_tests_field(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"schema": "mc.problem/1", "id": "x/1", "question": "q"}) + "\n")
    line = one_line_error(run_mc("data", "stats", path))
    assert "p.jsonl:1: problem 'x/1' has no 'tests' field" in line


@pytest.mark.parametrize("argv, known", [
    (["data", "import", "--format", "kaggle", "x.json"], "livecodebench"),
    (["reward", "--isolation", "kaggle"], "seccomp"),
    (["data", "verify", "--isolation", "kaggle"], "seccomp"),
    (["reward", "--compare", "kaggle"], "strict"),
    (["reward", "--reward", "kaggle"], "fraction"),
    (["model", "init", "--size", "kaggle", "m/"], "0.6b"),
    (["data", "split", "--by-date", "2024-01-01", "--undated", "kaggle", "--train", "a", "--test", "b"], "drop"),
    (["train-step", "--policy", "p", "--out", "o", "--preset", "kaggle"], "dapo"),
    (["train-step", "--policy", "p", "--out", "o", "--loss-agg", "kaggle"], "token-mean"),
    (["train-step", "--policy", "p", "--out", "o", "--truncation-mask", "kaggle"], "conditional"),
    (["rollout", "-m", "m", "--backend", "kaggle"], "vllm"),
])
def test_an_unknown_name_for_a_choice_is_a_usage_error(argv, known, tmp_path):
    """Exit 2 before any work (no file read, no model loaded), naming the choices."""
    proc = run_mc(*argv, input=b"", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert b"kaggle" in proc.stderr and known.encode() in proc.stderr and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("argv", [
    ["reward", "--time-limit", "inf"],
    ["reward", "--time-limit", "nan"],
    ["train-step", "--policy", "p", "--out", "o", "--lr", "inf"],
    ["train-step", "--policy", "p", "--out", "o", "--clip-high", "nan"],
    ["train-step", "--policy", "p", "--out", "o", "--dual-clip", "inf"],
    ["train-step", "--policy", "p", "--out", "o", "--max-grad-norm", "inf"],
])
def test_non_finite_numbers_are_usage_errors(argv, tmp_path):
    proc = run_mc(*argv, input=b"", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert b"finite" in proc.stderr or b"greater than" in proc.stderr


def test_undetectable_format(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"foo": 1, "bar": 2}) + "\n")
    line = one_line_error(run_mc("data", "import", path))
    assert "cannot tell the format from the fields (bar, foo)" in line and "--format" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_permissions(tmp_path):
    path = tmp_path / "secret.jsonl"
    path.write_text("{}\n")
    path.chmod(0)
    line = one_line_error(run_mc("data", "import", path))
    assert "cannot read" in line


def test_unreadable_file(tmp_path):
    line = one_line_error(run_mc("data", "import", tmp_path / "nope.json"))
    assert "cannot read" in line and "nope.json" in line
    line = one_line_error(run_mc("data", "stats", tmp_path / "nope.jsonl"))
    assert "cannot read" in line


def test_debug_shows_the_traceback(tmp_path):
    proc = run_mc("--debug", "data", "stats", tmp_path / "nope.jsonl")
    assert proc.returncode == 1 and b"Traceback" in proc.stderr


def test_usage_errors_exit_2():
    assert run_mc("data", "filter", "--max-tests", "zero").returncode == 2
    assert run_mc("data", "frobnicate").returncode == 2
    assert run_mc("data", "import").returncode == 2


def test_stdout_is_only_records(real):
    proc = run_mc("data", "import", real.apps, check_rc=0)
    for line in proc.stdout.decode().splitlines():
        assert json.loads(line)["schema"] == "mc.problem/1"
    assert proc.stderr  # the summary went to stderr
    filtered = run_mc("data", "filter", "--dedup", input=proc.stdout, check_rc=0)
    assert all(json.loads(line) for line in filtered.stdout.decode().splitlines())


def test_broken_pipe_ends_quietly(real):
    script = f"set -o pipefail; {sys.executable} -m mc data import {real.mbpp} | head -n 1"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, timeout=120, env={**os.environ, "MC_PROGRESS": "0"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["id"] == "mbpp/1"
    assert b"Error" not in proc.stderr and b"Traceback" not in proc.stderr


def test_out_writes_atomically_and_replaces(real, tmp_path):
    out = tmp_path / "h.jsonl"
    out.write_text("old\n")
    run_mc("data", "import", real.humaneval, "-o", out, check_rc=0)
    assert len(out.read_text().splitlines()) == 164
    failed = run_mc("data", "import", real.humaneval, tmp_path / "missing.json", "-o", out)
    assert failed.returncode == 1
    assert len(out.read_text().splitlines()) == 164  # the failed run left the old file intact
    assert sorted(os.listdir(tmp_path)) == ["h.jsonl"]


def test_package_list_covers_every_package_folder():
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"mc.commands"} | {
        ".".join(path.relative_to(REPO).parent.parts) for path in (REPO / "mc").rglob("__init__.py")
    }
    assert listed == found


def test_unknown_fields_pass_through_every_stage(real, tmp_path):
    problems = [json.loads(line) for line in run_mc("data", "import", real.apps, check_rc=0).stdout.splitlines()]
    for i, p in enumerate(problems):
        p["my_column"] = {"note": i}
    src = tmp_path / "p.jsonl.gz"
    import gzip

    src.write_bytes(gzip.compress("".join(json.dumps(p) + "\n" for p in problems).encode()))
    filtered = run_mc("data", "filter", "--dedup", "--max-tests", "1", src, check_rc=0).stdout
    out = [json.loads(line) for line in filtered.splitlines()]
    assert [p["my_column"] for p in out] == [{"note": i} for i in range(5)]
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    run_mc("data", "split", "--test-fraction", "0.5", "--train", train, "--test", test, input=filtered, check_rc=0)
    split = [json.loads(line) for path in (train, test) for line in path.read_text().splitlines()]
    assert sorted(p["my_column"]["note"] for p in split) == list(range(5))
    again = run_mc("data", "import", train, check_rc=0).stdout  # mc records re-import as themselves
    assert [json.loads(line) for line in again.splitlines()] == [json.loads(line) for line in train.read_text().splitlines()]


def test_unreadable_prompt_template_is_a_usage_error(tmp_path):
    for argv in (["rollout", "--model", tmp_path], ["sft", "--model", tmp_path, "--data", tmp_path / "d", "--out", tmp_path / "o"]):
        proc = run_mc(*argv, "--prompt-template", tmp_path / "missing.txt", input=b"")
        assert proc.returncode == 2 and b"cannot read --prompt-template" in proc.stderr
