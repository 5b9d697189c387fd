"""Benchmark: `mc reward` on real LiveCodeBench programs, next to a naive judge.

Workload: the LiveCodeBench public tests (rllm's copy) joined with the programs
O1-Mini and O1-Preview wrote for them (LiveCodeBench's eval_all files), one
group per problem with both programs as samples: ~1,760 samples.

Baseline, measured in the same run with the same parallelism (one thread per
core), the same per-test time limit and the same stop-at-first-failure rule: a
fresh `python3` subprocess per test, stdout compared line by line after
stripping (functional tests: a tiny runner calls the method and prints JSON).

Also measured: mc's fixed cost per sample, on 1,000 trivial samples (one test
each, `print(input())`), as (wall x workers - the programs' own run time) /
samples.

Before/after the hardening (issue: the reward must survive an adversary): the
same workload through the judge as it was at BEFORE (checked out of git into a
temporary folder), in the same run, and what each added layer costs
(sandbox_layers.py). The hardening's budget: at most 10% of throughput here.

    python examples/bench/reward_bench.py [--data ../shared/data] [--limit N] [--skip-before]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TIME_LIMIT = 6.0
BEFORE = "774e24d"  # the last commit before the sandbox hardening
RUNNER = r'''
import json, sys
sys.setrecursionlimit(50000)
src = open(sys.argv[1]).read()
prelude = "from typing import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\nfrom itertools import *\nfrom functools import *\nfrom math import *\nfrom builtins import *\n"
namespace = {}
exec(prelude + src, namespace)
args = [json.loads(line) for line in sys.stdin.read().split("\n") if line.strip()]
target = namespace.get("Solution")
method = getattr(target(), sys.argv[2]) if isinstance(target, type) else namespace[sys.argv[2]]
result = method(*args)
print(json.dumps(list(result) if isinstance(result, tuple) else result))
'''


def groups_from(data: Path, limit: int | None) -> list[dict]:
    from mc.data.importer import import_problems
    from mc.reward.extract import extract_code

    lcb = data / "livecodebench_public_tests_rllm" / "livecodebench.json"
    graded = sorted((data / "livecodebench_submissions").glob("*eval_all.json"))
    groups = []
    for problem in import_problems([str(lcb)], join=[str(p) for p in graded]):
        samples = [{"text": s["output"], "lcb_graded": s["graded"]} for s in problem["meta"].pop("submissions")]
        groups.append({"schema": "mc.group/1", "problem": problem, "samples": samples})
    for g in groups:
        for s in g["samples"]:
            s["code"] = extract_code(s["text"])
    return groups[:limit] if limit else groups


def baseline_sample(problem: dict, code: str | None, workdir: str) -> bool:
    """A fresh interpreter per test; stripped line-by-line equality."""
    if code is None:
        return False
    tests = problem["tests"]
    fd, path = tempfile.mkstemp(suffix=".py", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write(code)
    try:
        for case in tests["cases"]:
            if tests["type"] == "functional":
                argv = [sys.executable, os.path.join(workdir, "runner.py"), path, tests["fn_name"]]
            else:
                argv = [sys.executable, path]
            try:
                proc = subprocess.run(argv, input=case["input"].encode(), capture_output=True, timeout=TIME_LIMIT)
            except subprocess.TimeoutExpired:
                return False
            if proc.returncode != 0:
                return False
            got = proc.stdout.decode(errors="replace")
            if tests["type"] == "functional":
                try:
                    if json.loads(got) != json.loads(case["output"]):
                        return False
                except ValueError:
                    return False
            elif [l.strip() for l in got.strip().split("\n")] != [l.strip() for l in case["output"].strip().split("\n")]:
                return False
        return True
    finally:
        os.unlink(path)


def run_baseline(groups: list[dict], workers: int) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "runner.py").write_text(RUNNER)
        jobs = [(g["problem"], s["code"]) for g in groups for s in g["samples"]]
        started = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda job: baseline_sample(job[0], job[1], workdir), jobs))
        wall = time.monotonic() - started
    tests = sum(len(g["problem"]["tests"]["cases"]) for g in groups for _ in g["samples"])
    return wall, sum(results), tests


def checkout(ref: str, into: Path) -> Path | None:
    """mc as of `ref` (the library with its commands inside, as the wheel ships it), or None without git."""
    repo = Path(__file__).resolve().parents[2]
    try:
        archive = subprocess.run(["git", "-C", str(repo), "archive", ref, "mc", "commands"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"before/after: not measured (no git history for {ref}: {e})", flush=True)
        return None
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "commands").rename(into / "mc" / "commands")
    return into


def run_mc(groups: list[dict], workers: int, pythonpath: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "groups.jsonl"), Path(tmp, "scored.jsonl")
        with src.open("w") as f:
            for g in groups:
                f.write(json.dumps({**g, "samples": [{k: v for k, v in s.items() if k != "code"} for s in g["samples"]]}) + "\n")
        started = time.monotonic()
        env = {**os.environ, "MC_PROGRESS": "0"}
        if pythonpath is not None:
            env["PYTHONPATH"] = str(pythonpath)
        proc = subprocess.run([sys.executable, "-m", "mc", "reward", "--workers", str(workers), "--time-limit", str(TIME_LIMIT),
                               str(src), "-o", str(out)], capture_output=True, text=True, env=env, cwd=pythonpath or None)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit(f"mc reward failed:\n{proc.stderr}")
        scored = [json.loads(line) for line in out.read_text().splitlines()]
    return {"wall": wall, "scored": scored, "stderr": proc.stderr}


def overhead_per_sample(workers: int, pythonpath: Path | None = None) -> float:
    """ms per sample beyond the programs' own run time: 2200 vs 200 trivial samples, difference."""
    small, large = run_mc(trivial_groups(200), workers, pythonpath), run_mc(trivial_groups(2200), workers, pythonpath)
    own = lambda run: sum(s["run_time_s"] for g in run["scored"] for s in g["samples"])  # noqa: E731
    return ((large["wall"] - small["wall"]) * workers - (own(large) - own(small))) / 2000 * 1000


def trivial_groups(n: int) -> list[dict]:
    return [{"schema": "mc.group/1",
             "problem": {"schema": "mc.problem/1", "id": f"t/{i}", "question": "echo", "platform": None,
                         "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": f"{i}\n", "output": f"{i}\n"}]}},
             "samples": [{"text": "```python\nprint(input())\n```", "code": "print(input())"}]} for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MC_SHARED_DATA", "../shared/data"))
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-before", action="store_true", help="do not measure the judge as of BEFORE")
    args = parser.parse_args()
    w = args.workers

    groups = groups_from(Path(args.data), args.limit)
    samples = sum(len(g["samples"]) for g in groups)
    print(f"workload: {len(groups)} LiveCodeBench problems, {samples} O1-Mini/O1-Preview programs, "
          f"{w} workers, {TIME_LIMIT:g} s per test", flush=True)

    mc = run_mc(groups, w)
    scored = mc["scored"]
    out_samples = [s for g in scored for s in g["samples"]]
    in_order = [g["problem"]["id"] for g in groups] == [g["problem"]["id"] for g in scored]
    tests_run = sum(s["tests_total"] if s["verdict"] == "pass" else s["tests_passed"] + 1
                    for s in out_samples if s["verdict"] != "no_code")
    graded_ok = [s for s in out_samples if s["lcb_graded"]]
    # The programs' own time: the CPU time the sandbox measured (a timed-out test counts what it used, ~ the limit).
    program = sum(s["cpu_time_s"] for s in out_samples if "cpu_time_s" in s)
    print(f"mc reward : {mc['wall']:6.1f} s  {samples / mc['wall']:6.1f} samples/s  {tests_run / mc['wall']:6.0f} tests/s  "
          f"LiveCodeBench-correct programs judged pass: {sum(s['verdict'] == 'pass' for s in graded_ok)}/{len(graded_ok)}; "
          f"samples lost {samples - len(out_samples)}, order kept: {in_order}", flush=True)
    print(f"            the programs' own run time: {program:.1f} of {mc['wall'] * w:.1f} worker-seconds; "
          f"overhead {(mc['wall'] * w - program) / samples * 1000:.1f} ms per sample (idle tail included)", flush=True)

    # The judge's own cost per sample, steady state: two sizes of trivial samples, difference.
    per_sample = overhead_per_sample(w)
    print(f"per-sample overhead beyond the program's own run time: {per_sample:.2f} ms "
          f"(trivial one-test programs, 2200 vs 200 samples, {w} workers)", flush=True)

    if not args.skip_before:
        with tempfile.TemporaryDirectory() as tmp:
            old = checkout(BEFORE, Path(tmp))
            if old is not None:
                before = run_mc(groups, w, old)
                b_samples = [s for g in before["scored"] for s in g["samples"]]
                b_pass = sum(s["verdict"] == "pass" for s in b_samples)
                a_pass = sum(s["verdict"] == "pass" for s in out_samples)
                b_overhead = overhead_per_sample(w, old)
                print(f"before ({BEFORE}, wall-clock limit): {before['wall']:6.1f} s  {samples / before['wall']:6.1f} samples/s, "
                      f"pass {b_pass}; after (CPU limit): {mc['wall']:6.1f} s, pass {a_pass}", flush=True)
                print(f"hardening cost: throughput x{before['wall'] / mc['wall']:.3f} "
                      f"({(mc['wall'] / before['wall'] - 1) * 100:+.1f}% time) on these programs; per-sample overhead "
                      f"{b_overhead:.2f} -> {per_sample:.2f} ms", flush=True)
        layers = subprocess.run([sys.executable, str(Path(__file__).with_name("sandbox_layers.py"))], capture_output=True, text=True)
        print("what each added layer costs (median of many repetitions):\n" + layers.stdout.rstrip(), flush=True)

    if args.skip_baseline:
        return
    wall, base_passed, _ = run_baseline(groups, w)
    print(f"baseline  : {wall:6.1f} s  {samples / wall:6.1f} samples/s  (fresh python3 per test, stripped lines)  "
          f"pass {base_passed} (mc: {sum(s['verdict'] == 'pass' for s in out_samples)})", flush=True)
    floor = program / w
    print(f"speed-up  : {wall / mc['wall']:.1f}x samples/s; the programs' own time caps it at {wall / floor:.1f}x here "
          f"(judge overhead: baseline {(wall * w - program) / samples * 1000:.0f} ms/sample vs mc "
          f"{(mc['wall'] * w - program) / samples * 1000:.1f})", flush=True)
    trivial = trivial_groups(1000)
    t_wall, _, _ = run_baseline(trivial, w)
    m_wall = run_mc(trivial, w)["wall"]
    print(f"trivial programs (1000 samples, one test each): baseline {t_wall:.1f} s, mc {m_wall:.1f} s "
          f"(process start included): {t_wall / m_wall:.1f}x")


if __name__ == "__main__":
    main()
