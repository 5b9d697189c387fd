"""`mc eval`: pass@k checked by brute force and against LiveCodeBench's own figures,
a hand-built table checked cell by cell, comparisons, and the curves picture."""

from __future__ import annotations

import itertools
import json
import struct

import pytest

from helpers import run_mc
from mc.data.importer import import_problems
from mc.eval.passk import pass_at_k


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_brute_force_over_all_subsets(n):
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(range(n), k))
            brute = sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)
            assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)
    assert pass_at_k(10_000, 5000, 100) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def graded_groups(path) -> list[dict]:
    """LiveCodeBench's own verdicts as judged samples (text only, as from another system)."""
    groups = []
    for problem in import_problems([str(path)]):
        subs = problem["meta"].pop("submissions")
        samples = [{"text": s["output"], "verdict": "pass" if s["graded"] else "wrong_answer"} for s in subs]
        groups.append({"schema": "mc.group/1", "problem": problem, "samples": samples})
    return groups


@pytest.mark.parametrize("name", ["o1_mini", "o1_preview", "qwen_eval"])
def test_pass_at_1_matches_livecodebench(real, name):
    path = getattr(real, name)
    rows = json.loads(path.read_text())
    for row in rows:  # each file's own pass@1 field, recomputed from its graded_list
        graded = [g is True or g == "True" for g in row["graded_list"]]
        assert pass_at_k(len(graded), sum(graded), 1) == pytest.approx(row["pass@1"])
    report = json.loads(run_mc("eval", "--scored", "--k", "1", input="".join(json.dumps(g) + "\n" for g in graded_groups(path)),
                               check_rc=0).stdout)["runs"]["given"]
    assert report["problems"] == len(rows)
    assert report["overall"]["pass@1"] == pytest.approx(sum(r["pass@1"] for r in rows) / len(rows))
    atcoder = [r for r in rows if r["platform"] == "atcoder" and r["difficulty"] == "hard"]
    assert report["breakdown"]["atcoder"]["hard"]["pass@1"] == pytest.approx(sum(r["pass@1"] for r in atcoder) / len(atcoder))


def hand_built() -> list[dict]:
    """(platform, difficulty, n, passes) per problem."""
    spec = [("atcoder", "easy", 4, 4), ("atcoder", "easy", 4, 0), ("atcoder", "hard", 4, 1),
            ("leetcode", "medium", 4, 2), ("codeforces", "hard", 4, 3), ("kattis", "easy", 4, 1), (None, None, 4, 0)]
    groups = []
    for i, (platform, difficulty, n, c) in enumerate(spec):
        problem = {"schema": "mc.problem/1", "id": f"t/{i}", "question": "q", "platform": platform, "difficulty": difficulty,
                   "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": "", "output": ""}]}}
        samples = [{"text": "x", "token_ids": [1] * (10 + j), "finish_reason": "length" if j == 3 else "stop",
                    "verdict": "pass" if j < c else "wrong_answer"} for j in range(n)]
        groups.append({"schema": "mc.group/1", "problem": problem, "samples": samples})
    return groups


def test_every_cell_of_a_hand_built_table():
    proc = run_mc("eval", "--scored", "--k", "1,2,8", input="".join(json.dumps(g) + "\n" for g in hand_built()), check_rc=0)
    report = json.loads(proc.stdout)["runs"]["given"]
    # pass@1 = c / n; pass@2 = 1 - C(n - c, 2) / C(4, 2): c=4 -> 1, c=3 -> 1, c=2 -> 1 - 1/6 = 5/6, c=1 -> 1 - 3/6 = 1/2, c=0 -> 0
    p1 = {4: 1.0, 3: 0.75, 2: 0.5, 1: 0.25, 0: 0.0}
    p2 = {4: 1.0, 3: 1.0, 2: 5 / 6, 1: 0.5, 0: 0.0}
    expected = {  # (platform, difficulty): list of c
        ("atcoder", "easy"): [4, 0], ("atcoder", "medium"): [], ("atcoder", "hard"): [1], ("atcoder", "all"): [4, 0, 1],
        ("leetcode", "easy"): [], ("leetcode", "medium"): [2], ("leetcode", "hard"): [], ("leetcode", "all"): [2],
        ("codeforces", "easy"): [], ("codeforces", "medium"): [], ("codeforces", "hard"): [3], ("codeforces", "all"): [3],
        ("other", "easy"): [1], ("other", "medium"): [], ("other", "hard"): [], ("other", "all"): [1, 0],
        ("all", "easy"): [4, 0, 1], ("all", "medium"): [2], ("all", "hard"): [1, 3], ("all", "all"): [4, 0, 1, 2, 3, 1, 0],
    }
    for (platform, difficulty), cs in expected.items():
        cell = report["breakdown"][platform][difficulty]
        assert cell["problems"] == len(cs), (platform, difficulty)
        if cs:
            assert cell["pass@1"] == pytest.approx(sum(p1[c] for c in cs) / len(cs)), (platform, difficulty)
            assert cell["pass@2"] == pytest.approx(sum(p2[c] for c in cs) / len(cs)), (platform, difficulty)
        else:
            assert cell["pass@1"] is None
    assert report["overall"] == report["breakdown"]["all"]["all"]
    assert report["k"] == [1, 2] and report["k_skipped"] == [8]  # 4 samples per problem: no pass@8
    assert report["samples"] == 28 and report["truncation_rate"] == pytest.approx(7 / 28)
    assert report["response_length_mean"] == pytest.approx(11.5) and report["response_length_unit"] == "tokens"
    assert report["verdicts"] == {"wrong_answer": 17, "pass": 11}
    assert b"pass@8 skipped" in proc.stderr and b"atcoder / easy" in proc.stderr


def test_by_a_problem_field(tmp_path):
    """--by meta.family: one more breakdown, by hand; problems without the field fall under '-'."""
    groups = hand_built()
    for group, family in zip(groups, ["x", "x", "y", "y", "y", None, "x"]):
        if family:
            group["problem"]["meta"] = {"family": family}
    text = "".join(json.dumps(g) + "\n" for g in groups)
    proc = run_mc("eval", "--scored", "--by", "meta.family", "--json-out", tmp_path / "a.json", input=text, check_rc=0)
    by = json.loads(proc.stdout)["runs"]["given"]["by"]
    assert by["field"] == "meta.family" and list(by["cells"]) == ["-", "x", "y"]
    # passes out of 4: x = 4, 0, 0; y = 1, 2, 3; none = 1
    assert by["cells"]["x"] == {"problems": 3, "pass@1": pytest.approx(4 / 12)}
    assert by["cells"]["y"] == {"problems": 3, "pass@1": pytest.approx(6 / 12)}
    assert by["cells"]["-"] == {"problems": 1, "pass@1": pytest.approx(1 / 4)}
    assert b"by meta.family" in proc.stderr
    cmp = run_mc("eval", "compare", tmp_path / "a.json", tmp_path / "a.json", check_rc=0)
    assert b"meta.family y" in cmp.stderr


def test_text_only_groups_are_judged_first(real):
    problems = list(import_problems([str(real.humaneval)]))[:3]
    groups = [{"schema": "mc.group/1", "problem": p,
               "samples": [{"text": f"```python\n{p['solutions'][0]}\n```"}, {"text": "no code"}]} for p in problems]
    report = json.loads(run_mc("eval", "--scored", "--k", "1,2", input="".join(json.dumps(g) + "\n" for g in groups),
                               check_rc=0).stdout)["runs"]["given"]
    assert report["overall"]["pass@1"] == 0.5 and report["overall"]["pass@2"] == 1.0
    assert report["verdicts"] == {"pass": 3, "no_code": 3}


@pytest.mark.slow
def test_model_at_two_lengths_and_compare(tiny_model, real, tmp_path):
    problems = "".join(json.dumps(p) + "\n" for p in list(import_problems([str(real.humaneval)]))[:2])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    proc = run_mc("eval", "--model", tiny_model, "--n", "2", "--k", "1,2", "--max-tokens", "8,16", "--json-out", a, input=problems, check_rc=0)
    document = json.loads(proc.stdout)
    assert set(document["runs"]) == {"8", "16"} and json.loads(a.read_text()) == document
    assert all(run["problems"] == 2 and run["samples"] == 4 for run in document["runs"].values())
    assert b"at 8 tokens" in proc.stderr and b"at 16 tokens" in proc.stderr
    b.write_text(json.dumps(document))
    cmp = run_mc("eval", "compare", a, b, check_rc=0)
    assert b"b - a" in cmp.stderr and b"+0.0" in cmp.stderr and b"8 tok pass@1 all / all" in cmp.stderr
    assert run_mc("eval", "--n", "2", input=problems).returncode == 2  # neither --model nor --scored


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_curves_png(tmp_path):
    runs = []
    for name, slope in (("microcoder", 0.03), ("dapo", 0.02)):
        folder = tmp_path / name
        folder.mkdir()
        lines = [{"step": s, "mini_batch": mb, "reward_mean": min(1.0, 0.2 + slope * s), "entropy": 2.0 - 0.01 * s,
                  "response_length_mean": 100 + 2 * s, "truncation_masked": s % 3, "diversity": 0.6 - 0.002 * s}
                 for s in range(20) for mb in range(2)]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        runs.append(folder / "metrics.jsonl")
    out = tmp_path / "curves.png"
    proc = run_mc("eval", "plot", *runs, "-o", out, check_rc=0)
    assert png_size(out) == (1500, 900) and out.stat().st_size > 20_000
    assert b"reward_mean" in proc.stderr and b"2 run(s)" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"step": 0, "foo": 1}) + "\n")
    assert run_mc("eval", "plot", bad, "-o", tmp_path / "x.png").returncode == 1
