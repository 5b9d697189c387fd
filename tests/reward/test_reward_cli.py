"""`mc reward` and `mc data verify` as a user runs them: real pipes, real data, real sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import jsonl_lines, run_mc
from mc.data.importer import import_problems


def group(problem, texts, **extra):
    return {"schema": "mc.group/1", "problem": problem, "samples": [{"text": t, **extra} for t in texts], "user_field": 7}


def lines(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.fixture(scope="module")
def apps(real):
    return {p["id"]: p for p in import_problems([str(real.apps)])}


def test_reward_cli_keeps_order_and_fields(apps):
    groups = []
    for problem in apps.values():
        good = f"```python\n{problem['solutions'][0]}\n```"
        groups.append(group(problem, [good, "no code here", "```python\nprint(42)\n```"], policy_version=3))
    proc = run_mc("reward", "--workers", "2", input=lines(groups), check_rc=0)
    out = jsonl_lines(proc.stdout)
    assert [g["problem"]["id"] for g in out] == list(apps)
    for g in out:
        assert g["user_field"] == 7
        assert [s["verdict"] for s in g["samples"]][:2] == ["pass", "no_code"]
        assert g["samples"][2]["verdict"] in ("wrong_answer", "runtime_error")
        assert all(s["policy_version"] == 3 and s["reward"] in (0.0, 1.0) for s in g["samples"])
        first = g["samples"][0]
        assert first["tests_passed"] == first["tests_total"] == len(g["problem"]["tests"]["cases"])
        assert "seccomp" in first["isolation"]
    assert b"pass" in proc.stderr and b"samples/s" in proc.stderr


def test_reward_fraction_and_strict_flags(apps):
    problem = apps["apps/train/2287"]  # three tests
    code = problem["solutions"][0]
    half = "```python\nimport sys\ndata = sys.stdin.read()\nif data.startswith('5\\n1 2\\n3 1\\n4 3\\n3 5\\n2'):\n    print('Yes')\n" \
           "    for x in (5, 6, 6, 5, 7):\n        print(x)\nelse:\n    print('No')\n```"
    out = jsonl_lines(run_mc("reward", "--reward", "fraction", input=lines([group(problem, [half, f"```python\n{code}\n```"])]), check_rc=0).stdout)
    first, second = out[0]["samples"]
    assert first["tests_total"] == 3 and first["reward"] == pytest.approx(first["tests_passed"] / 3)
    assert 0 < first["reward"] < 1 and second["reward"] == 1.0
    strict = jsonl_lines(run_mc("reward", "--compare", "strict", input=lines([group(problem, [f"```python\n{code}\n```"])]), check_rc=0).stdout)
    assert strict[0]["samples"][0]["accepted_by"] == ["strict"] * 3


def test_reward_bad_input_is_one_clear_line(apps, tmp_path):
    problem = next(iter(apps.values()))
    cases = {
        "wrong-schema.jsonl": [{"schema": "mc.problem/1", **{k: v for k, v in problem.items() if k != "schema"}}],
        "no-tests.jsonl": [group({k: v for k, v in problem.items() if k != "tests"}, ["x"])],
        "no-text.jsonl": [{"schema": "mc.group/1", "problem": problem, "samples": [{"token_ids": [1, 2]}]}],
    }
    messages = {
        "wrong-schema.jsonl": "got a mc.problem/1 record, expected records of schema mc.group/1",
        "no-tests.jsonl": "has no 'tests' field",
        "no-text.jsonl": "samples[0] has no 'text' string",
    }
    for name, records in cases.items():
        path = tmp_path / name
        path.write_bytes(lines(records))
        proc = run_mc("reward", path)
        assert proc.returncode == 1 and proc.stdout == b""
        err = proc.stderr.decode().strip().splitlines()
        assert len(err) == 1 and f"{name}:1: " in err[0] and messages[name] in err[0], err


def test_verify_keeps_good_references_and_drops_broken_tests(real, tmp_path):
    problems = list(import_problems([str(real.humaneval)]))[:5]
    broken = json.loads(json.dumps(problems[1]))
    broken["id"] = "humaneval/broken"
    broken["tests"]["code"] += "\nassert False, 'these tests reject every program'\n"
    report = tmp_path / "removed.jsonl"
    proc = run_mc("data", "verify", "--report", report, input=lines(problems + [broken]), check_rc=0)
    kept = jsonl_lines(proc.stdout)
    assert [p["id"] for p in kept] == [p["id"] for p in problems]
    assert all(p["meta"]["verified"] == {"checked": 1, "passed": 1} for p in kept)
    [removed] = jsonl_lines(report.read_bytes())
    assert removed["id"] == "humaneval/broken" and removed["verdicts"] == ["wrong_answer"]


def test_checker_programs_judge_problems_with_several_answers(tmp_path):
    from mc.records import new_problem, new_tests

    problem = new_problem(
        id="t/any-divisor", question="Print any divisor d of N with 1 < d < N. If there are several answers, print any of them.",
        tests=new_tests("stdin", [{"input": "12\n", "output": "2\n"}, {"input": "15\n", "output": "3\n"}]),
    )
    problem["tests"]["checker"] = (
        "def check(input, expected, output):\n"
        "    n, d = int(input), int(output.split()[0])\n"
        "    return 1 < d < n and n % d == 0\n"
    )
    largest = "```python\nn = int(input())\nprint(max(d for d in range(2, n) if n % d == 0))\n```"
    wrong = "```python\nprint(1)\n```"
    out = jsonl_lines(run_mc("reward", input=lines([group(problem, [largest, wrong])]), check_rc=0).stdout)
    ok, bad = out[0]["samples"]
    assert ok["verdict"] == "pass" and ok["accepted_by"] == ["checker", "checker"]
    assert bad["verdict"] == "wrong_answer" and "checker rejected" in bad["feedback"]["error"]
    # Without the checker, the same correct program is wrongly rejected: why such problems are flagged.
    del problem["tests"]["checker"]
    assert jsonl_lines(run_mc("reward", input=lines([group(problem, [largest])])).stdout)[0]["samples"][0]["verdict"] == "wrong_answer"
    filtered = run_mc("data", "filter", "--drop-needs-checker", input=lines([problem]), check_rc=0)
    assert filtered.stdout == b"" and b"needs-checker" in filtered.stderr


def test_rules_are_stored_at_import(real):
    problems = {p["id"]: p for p in import_problems([str(real.o1_mini)])}
    assert problems["livecodebench/abc315_f"]["tests"]["rules"] == {"float_tol": 1e-5}
    assert problems["livecodebench/1873_A"]["tests"]["rules"] == {"case_insensitive": True}
    assert problems["livecodebench/abc311_c"]["tests"]["rules"] == {"needs_checker": True}
    assert problems["livecodebench/abc301_a"]["tests"]["rules"] == {}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.mark.slow  # ~10-35 s: the default suite stays under 10 minutes
def test_killing_a_worker_mid_run_loses_nothing_and_leaves_no_zombie(apps, tmp_path):
    problem = apps["apps/train/0001"]
    slow = "```python\nimport time\ntime.sleep(0.4)\n" + problem["solutions"][0] + "\n```"
    groups = [group({**problem, "id": f"p{i}"}, [slow] * 2) for i in range(20)]
    src = tmp_path / "groups.jsonl"
    src.write_bytes(lines(groups))
    proc = subprocess.Popen([sys.executable, "-m", "mc", "reward", "--workers", "2", str(src)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "MC_PROGRESS": "0"})
    deadline = time.monotonic() + 30
    workers = []
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.05)
    time.sleep(1.0)  # mid-run
    victim = workers[0]
    grandchildren = _children(victim)
    os.kill(victim, signal.SIGKILL)
    time.sleep(1.0)
    assert _state(victim) in (None,), "the killed worker was not reaped (zombie)"
    # Its sandboxed program died with it (PDEATHSIG); orphaned, init reaps it.
    wait_until = time.monotonic() + 10
    while any(_state(pid) is not None for pid in grandchildren) and time.monotonic() < wait_until:
        time.sleep(0.1)
    assert all(_state(pid) is None for pid in grandchildren)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    scored = jsonl_lines(out)
    assert [g["problem"]["id"] for g in scored] == [f"p{i}" for i in range(20)]
    assert all(s["verdict"] == "pass" for g in scored for s in g["samples"])  # the interrupted job ran again
    assert not [pid for pid in _children(proc.pid) if _state(pid) == "Z"]


def _peak_rss_kib_of_mc_reward(n: int, tmp_path) -> tuple[int, int]:
    """Run mc reward on n trivial groups streamed from a file; (samples out, mc's peak RSS)."""
    src = tmp_path / f"trivial-{n}.jsonl"
    with src.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"schema": "mc.group/1",
                                "problem": {"schema": "mc.problem/1", "id": f"t/{i}", "question": "echo",
                                            "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": f"{i}\n", "output": f"{i}\n"}]}},
                                "samples": [{"text": "```python\nprint(input())\n```"}]}) + "\n")
    script = (
        "import resource, subprocess, sys\n"
        f"out = subprocess.run([sys.executable, '-m', 'mc', 'reward', {str(src)!r}], capture_output=True, check=True).stdout\n"
        "print(out.count(b'\\n'), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "MC_PROGRESS": "0"}, timeout=600)
    count, rss = proc.stdout.split()
    return int(count), int(rss)


@pytest.mark.slow  # 10,000 samples through the real sandbox: ~40 s on 2 cores (make test runs it)
def test_ten_thousand_samples_stream_in_bounded_memory(tmp_path):
    small_count, small_rss = _peak_rss_kib_of_mc_reward(1_000, tmp_path)
    large_count, large_rss = _peak_rss_kib_of_mc_reward(10_000, tmp_path)
    assert (small_count, large_count) == (1_000, 10_000)
    # Ten times the samples, the same memory (within noise): nothing accumulates.
    assert large_rss - small_rss < 20 * 1024, (small_rss, large_rss)
