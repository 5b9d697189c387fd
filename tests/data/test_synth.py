"""`mc data synth`: generated problems whose references pass their own tests, in the real sandbox."""

from __future__ import annotations

import json
from collections import Counter

from helpers import jsonl_lines, run_mc

from mc.data.synthetic import FAMILIES, READS


def synth(*args) -> list[dict]:
    return jsonl_lines(run_mc("data", "synth", *args, check_rc=0).stdout)


def test_every_family_verifies_in_the_sandbox():
    problems = synth("--families", ",".join(FAMILIES), "--count", "3", "--seed", "5")
    assert Counter(p["meta"]["family"] for p in problems) == {name: 3 for name in FAMILIES}
    verified = run_mc("data", "verify", input="".join(json.dumps(p) + "\n" for p in problems), check_rc=0)
    kept = jsonl_lines(verified.stdout)
    assert len(kept) == len(problems)  # every reference program passes every one of its tests


def test_constants_are_distinct_phrasings_vary_and_seeds_repeat():
    problems = synth("--families", "sub_k,sub_k_words", "--count", "40", "--seed", "3")
    for family in ("sub_k", "sub_k_words"):
        ks = [p["meta"]["k"] for p in problems if p["meta"]["family"] == family]
        assert len(set(ks)) == 40  # 48 values in 2..49: no K twice within a family
    openings = {p["question"].split(".")[0] + "." for p in problems}
    assert openings <= set(READS["one"]) and len(openings) > 1
    words = [p for p in problems if p["meta"]["family"] == "sub_k_words"]
    assert all(f"n minus {p['meta']['k']}" in p["question"] and "-" not in p["question"] for p in words)
    assert synth("--families", "sub_k", "--count", "5", "--seed", "3") == synth("--families", "sub_k", "--count", "5", "--seed", "3")


def test_exclude_keeps_a_held_out_set_unseen(tmp_path):
    heldout = tmp_path / "heldout.jsonl"
    run_mc("data", "synth", "--families", "add_k,mul_k", "--count", "8", "--seed", "1", "-o", heldout, check_rc=0)
    held = {(p["meta"]["family"], p["meta"]["k"]) for p in jsonl_lines(heldout.read_bytes())}
    train = synth("--families", "add_k,mul_k", "--count", "40", "--seed", "2", "--exclude", heldout)
    assert len(train) == 80 and not held & {(p["meta"]["family"], p["meta"]["k"]) for p in train}
    # 48 values minus 8 held out leave 40: asking for more repeats K values, still none held out
    more = synth("--families", "add_k", "--count", "45", "--seed", "2", "--exclude", heldout)
    assert not held & {(p["meta"]["family"], p["meta"]["k"]) for p in more}
    bad = run_mc("data", "synth", "--families", "rep_k", "--count", "2", "--exclude", tmp_path / "rep.jsonl")
    assert bad.returncode == 1  # unreadable exclude file: a clear runtime error
    assert run_mc("data", "synth", "--families", "nope").returncode == 2


def test_exclude_holds_out_a_task_in_every_wording(tmp_path):
    """add_k and add_k_words are one program: a K held out in one is held out in both."""
    held = tmp_path / "held.jsonl"
    run_mc("data", "synth", "--families", "add_k", "--count", "5", "--seed", "2", "-o", held, check_rc=0)
    held_ks = {json.loads(line)["meta"]["k"] for line in held.read_text().splitlines()}
    proc = run_mc("data", "synth", "--families", "add_k_words,mul_k", "--count", "30", "--exclude", held, check_rc=0)
    train = jsonl_lines(proc.stdout)
    assert not held_ks & {p["meta"]["k"] for p in train if p["meta"]["family"] == "add_k_words"}
    assert b"excluding 5 (task, K) pairs" in proc.stderr


def test_exclude_refuses_files_that_hold_no_synthetic_problems(tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text(json.dumps({"schema": "mc.problem/1", "id": "a", "question": "q", "tests": {"type": "stdin", "cases": []}}) + "\n")
    proc = run_mc("data", "synth", "--exclude", real)
    assert proc.returncode == 1 and b"no synthetic problems" in proc.stderr
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"family": "add_k", "k": 3}\n')
    proc = run_mc("data", "synth", "--exclude", junk)
    assert proc.returncode == 1 and b"junk.jsonl:1:" in proc.stderr
