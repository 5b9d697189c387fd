"""Model-predicted difficulty (mc data predict-difficulty), its calibration on measured pass
rates (mc data calibrate), pass rates from graded submissions, and the latest-problems
selection: the math by hand, the commands on real LiveCodeBench problems and real models."""

from __future__ import annotations

import json
import math

import pytest
import torch

from helpers import jsonl_lines, run_mc
from mc.data import filters
from mc.data.calibrate import evaluate, fit, spearman
from mc.data.predict import DEFAULT_RUBRIC, expected_rating, rating_prompt, weighted_score
from mc.records import new_problem, new_tests


# --- the math, by hand ------------------------------------------------------------

def test_expected_rating_and_weighted_score():
    # all mass on 7 -> 7; half on 2 and half on 8 -> 5
    assert expected_rating([0.0 if d == 7 else -math.inf for d in range(1, 10)]) == pytest.approx(7.0)
    assert expected_rating([math.log(0.5) if d in (2, 8) else -math.inf for d in range(1, 10)]) == pytest.approx(5.0)
    rubric = {"dimensions": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1}]}
    # (3 x 9 + 1 x 1) / 4 = 7 -> (7 - 1) / 8 = 0.75
    assert weighted_score({"a": 9.0, "b": 1.0}, rubric) == pytest.approx(0.75)


def test_isotonic_fit_by_hand():
    # rates must not rise with the score: (0.5, 0.7) violate it and pool to their mean 0.6
    calibration = fit([0.1, 0.2, 0.3, 0.4], [0.9, 0.5, 0.7, 0.1])
    assert calibration.rates == pytest.approx((0.9, 0.6, 0.6, 0.1))
    assert calibration(0.25) == pytest.approx(0.6) and calibration(0.35) == pytest.approx(0.35)  # linear between points
    assert calibration(0.0) == pytest.approx(0.9) and calibration(1.0) == pytest.approx(0.1)  # clamped outside
    # weights: the pooled value is the weighted mean, (0.5 x 3 + 0.7 x 1) / 4 = 0.55
    assert fit([0.1, 0.2, 0.3], [0.9, 0.5, 0.7], [1, 3, 1]).rates == pytest.approx((0.9, 0.55, 0.55))
    # equal scores are pooled before the fit
    assert fit([0.2, 0.2, 0.5], [1.0, 0.0, 0.3]).scores == (0.2, 0.5)


def test_spearman_and_held_out_evaluation():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None  # a constant score ranks nothing
    # a perfect (monotone) predictor: rank correlation 1 on the held-out part
    measured = [(i / 40, 1 - i / 40, 1.0) for i in range(40)]
    quality = evaluate(measured, 0.25, seed=0)
    assert (quality.fit_problems, quality.holdout_problems) == (30, 10)
    assert quality.spearman_holdout == pytest.approx(1.0) and quality.mae_holdout < 0.03 < quality.mae_mean_baseline
    # a useless one: no better than the mean
    useless = [(0.5, (i % 2) * 1.0, 1.0) for i in range(40)]
    assert evaluate(useless, 0.25, seed=0).spearman_holdout is None


def test_latest_keeps_the_newest_in_input_order():
    dates = ["2024-01-05", None, "2024-03-01", "2023-12-31", "2024-03-01", "2024-02-10"]
    problems = [new_problem(id=f"p{i}", question="q", date=d, tests=new_tests("stdin", [{"input": "", "output": ""}]))
                for i, d in enumerate(dates)]
    report, removed = filters.FilterReport(seen=6, kept=6), []
    kept = list(filters.latest(problems, 3, report, removed.append))
    # newest three: both 2024-03-01 and 2024-02-10, in input order
    assert [p["id"] for p in kept] == ["p2", "p4", "p5"]
    assert sorted(r.id for r in removed) == ["p0", "p1", "p3"] and report.kept == 3 and report.removed["latest"] == 3


# --- the commands on real problems -----------------------------------------------------------

@pytest.fixture(scope="module")
def lcb(real, tmp_path_factory):
    """LiveCodeBench's public tests with three real models' graded programs joined in (O1-Mini,
    O1-Preview: release_v5; Qwen2.5-7B: v6), the first 24 problems."""
    root = tmp_path_factory.mktemp("lcb-difficulty")
    graded = [real.o1_mini, real.o1_preview, real.qwen_eval]
    proc = run_mc("data", "import", real.lcb_public, *[a for g in graded for a in ("--join", g)], check_rc=0)
    rows = jsonl_lines(proc.stdout)
    (root / "lcb.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:24]))
    return root


def test_pass_rates_from_graded_submissions(lcb):
    rows = jsonl_lines(run_mc("data", "difficulty", "--from-submissions", lcb / "lcb.jsonl", check_rc=0).stdout)
    assert len(rows) == 24
    for row in rows:
        graded = [s["graded"] for s in row["meta"]["submissions"]]
        assert len(graded) == 3 and row["meta"]["pass_samples"] == 3
        assert row["meta"]["pass_rate"] == pytest.approx(round(sum(graded) / 3, 4))
    # a problem without graded programs is an error naming it, not a silent 0
    bare = new_problem(id="x/1", question="q", tests=new_tests("stdin", [{"input": "", "output": ""}]))
    proc = run_mc("data", "difficulty", "--from-submissions", input=json.dumps(bare) + "\n")
    assert proc.returncode == 1 and b"x/1" in proc.stderr and b"graded" in proc.stderr


def test_ratings_are_the_models_digit_probabilities(tiny_model, lcb, tmp_path):
    """mc data predict-difficulty on the tiny model: each rating is the expected digit under
    the model's own next-token distribution over the digit tokens (recomputed here by a
    plain forward pass), and the score is their weighted mean on 0..1."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    problems = (lcb / "lcb.jsonl").read_text().splitlines()[:3]
    (tmp_path / "p.jsonl").write_text("\n".join(problems) + "\n")
    rows = jsonl_lines(run_mc("data", "predict-difficulty", "--model", tiny_model, "--backend", "hf",
                              tmp_path / "p.jsonl", check_rc=0).stdout)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    for row in rows:
        prediction = row["meta"]["predicted_difficulty"]
        assert prediction["rubric"].startswith("mc-5@") and set(prediction["dimensions"]) == {
            d["name"] for d in DEFAULT_RUBRIC["dimensions"]}
        for dimension in DEFAULT_RUBRIC["dimensions"]:
            ids, digits = rating_prompt(row, dimension, DEFAULT_RUBRIC, tokenizer)
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0, -1]
            probs = torch.softmax(logits[digits], -1)
            want = float((probs * torch.arange(1, 10)).sum())
            assert prediction["dimensions"][dimension["name"]] == pytest.approx(want, abs=1e-4)
            raw = prediction["raw"][dimension["name"]]
            assert raw["probs"] == pytest.approx(probs.tolist(), abs=1e-4) and raw["digit"] == int(probs.argmax()) + 1
        assert prediction["score"] == pytest.approx(weighted_score(prediction["dimensions"], DEFAULT_RUBRIC), abs=1e-4)
        assert row["question"] and row["tests"]  # the problem passes through whole


def test_rubric_round_trip_and_misuse(tiny_model, lcb, tmp_path):
    shown = run_mc("data", "predict-difficulty", "--show-rubric", check_rc=0).stdout
    rubric = json.loads(shown)
    assert rubric == DEFAULT_RUBRIC
    rubric["dimensions"] = rubric["dimensions"][:2]
    rubric["dimensions"][1]["weight"] = 3
    (tmp_path / "r.json").write_text(json.dumps(rubric))
    first = (lcb / "lcb.jsonl").read_text().splitlines()[0] + "\n"
    row, = jsonl_lines(run_mc("data", "predict-difficulty", "-m", tiny_model, "--rubric", tmp_path / "r.json",
                              input=first, check_rc=0).stdout)
    ratings = row["meta"]["predicted_difficulty"]["dimensions"]
    assert len(ratings) == 2
    a, b = (ratings[d["name"]] for d in rubric["dimensions"])
    # weights 0.3 (the default's first) and 3: (0.3 a + 3 b) / 3.3 on 1..9, then to 0..1
    assert row["meta"]["predicted_difficulty"]["score"] == pytest.approx(((0.3 * a + 3 * b) / 3.3 - 1) / 8, abs=1e-4)
    # a rubric without {question}, a missing --model: usage errors before any model loads
    (tmp_path / "bad.json").write_text(json.dumps({**rubric, "template": "Rate: {description}"}))
    proc = run_mc("data", "predict-difficulty", "-m", tmp_path / "no-such-model", "--rubric", tmp_path / "bad.json", input=first)
    assert proc.returncode == 2 and b"{question}" in proc.stderr
    assert run_mc("data", "predict-difficulty", input=first).returncode == 2


def test_calibrate_selects_on_the_estimate(tiny_model, lcb, tmp_path):
    """The whole curation on real problems: pass rates measured from graded submissions,
    scores predicted by the tiny model, calibrated and selected; the estimate is the
    measured rate where one exists, the calibrated prediction elsewhere, and --keep acts
    on it, with the removed ones reported."""
    measured = run_mc("data", "difficulty", "--from-submissions", lcb / "lcb.jsonl", check_rc=0).stdout
    rows = [json.loads(line) for line in measured.splitlines()]
    (tmp_path / "measured.jsonl").write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows[:16]))  # 8 unmeasured
    run_mc("data", "predict-difficulty", "-m", tiny_model, lcb / "lcb.jsonl", "-o", tmp_path / "predicted.jsonl", check_rc=0)
    proc = run_mc("data", "calibrate", "--measured", tmp_path / "measured.jsonl", "--keep", "0:0.7", "--holdout", "0.25",
                  "--report", tmp_path / "removed.jsonl", "--json", tmp_path / "predicted.jsonl", check_rc=0)
    report = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert (report["fit_problems"], report["holdout_problems"]) == (12, 4) and report["seen"] == 24
    assert report["sources"] == {"measured": 16, "calibrated": 8}
    rates = report["calibration"]["rates"]
    assert all(a >= b for a, b in zip(rates, rates[1:]))  # monotone
    kept = jsonl_lines(proc.stdout)
    removed = jsonl_lines((tmp_path / "removed.jsonl").read_bytes())
    assert len(kept) == report["kept"] and len(kept) + len(removed) == 24
    by_id = {r["id"]: r["meta"]["pass_rate"] for r in rows[:16]}
    for row in kept:
        meta = row["meta"]
        assert 0 <= meta["pass_rate_estimate"] <= 0.7
        if row["id"] in by_id:
            assert meta["pass_rate_source"] == "measured" and meta["pass_rate_estimate"] == by_id[row["id"]]
        else:
            assert meta["pass_rate_source"] == "calibrated" and meta["pass_rate_estimate"] == meta["pass_rate_calibrated"]
    assert all(r["pass_rate_estimate"] > 0.7 for r in removed)
    assert sum(report["mix_before"].values()) == 24 and sum(report["mix_after"].values()) == len(kept)
    # At the end of a pipe (stdin, read twice through a temporary file): the same records and report
    piped = run_mc("data", "calibrate", "--measured", tmp_path / "measured.jsonl", "--keep", "0:0.7", "--holdout", "0.25",
                   "--json", input=(tmp_path / "predicted.jsonl").read_bytes(), check_rc=0)
    assert piped.stdout == proc.stdout and json.loads(piped.stderr.decode().strip().splitlines()[-1]) == report
    bad = (tmp_path / "predicted.jsonl").read_bytes() + b'{"id": "cut\n'
    proc = run_mc("data", "calibrate", "--measured", tmp_path / "measured.jsonl", input=bad)
    assert proc.returncode == 1 and b"<stdin>:25: malformed JSON" in proc.stderr and proc.stdout == b""
    # both from stdin, or --measured without rates: usage errors
    proc = run_mc("data", "calibrate", "--measured", "-", input=(tmp_path / "predicted.jsonl").read_bytes())
    assert proc.returncode == 2 and b"both read stdin" in proc.stderr and proc.stdout == b""
    assert run_mc("data", "calibrate", "--measured", tmp_path / "predicted.jsonl", tmp_path / "predicted.jsonl").returncode == 2


@pytest.mark.slow  # SmolLM2-135M rates 8 problems x 5 dimensions: ~1 min on 2 cores
def test_smollm2_rates_and_calibrates_real_problems(smollm2, lcb, tmp_path):
    """The paper's pipeline with a real pretrained model: SmolLM2-135M-Instruct rates real
    LiveCodeBench problems, calibrated on real models' graded programs. Its ratings spread
    (it is not a constant), and the report is complete; how well it predicts is measured,
    not asserted (the README gives the figure from examples/data-pipeline)."""
    (tmp_path / "lcb8.jsonl").write_text("\n".join((lcb / "lcb.jsonl").read_text().splitlines()[:8]) + "\n")
    run_mc("data", "predict-difficulty", "-m", smollm2, "--backend", "hf", tmp_path / "lcb8.jsonl", "-o",
           tmp_path / "predicted.jsonl", check_rc=0)
    predicted = jsonl_lines((tmp_path / "predicted.jsonl").read_bytes())
    scores = [p["meta"]["predicted_difficulty"]["score"] for p in predicted]
    assert len(scores) == 8 and len(set(scores)) > 4 and max(scores) - min(scores) > 0.01
    for p in predicted:
        for raw in p["meta"]["predicted_difficulty"]["raw"].values():
            assert sum(raw["probs"]) == pytest.approx(1.0, abs=1e-3)
    run_mc("data", "difficulty", "--from-submissions", lcb / "lcb.jsonl", "-o", tmp_path / "measured.jsonl", check_rc=0)
    proc = run_mc("data", "calibrate", "--measured", tmp_path / "measured.jsonl", "--holdout", "0.5", "--json",
                  tmp_path / "predicted.jsonl", check_rc=0)
    report = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert report["sources"] == {"measured": 8} and report["holdout_problems"] == 4
    assert report["spearman_fit"] is not None and -1 <= report["spearman_fit"] <= 1
