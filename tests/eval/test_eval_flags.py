"""`mc eval`'s flags: impossible k / n combinations, sampling values and --by fields
fail up front with one line; the sampling flags rollout has (--top-k, --device,
--dtype) work here too."""

from __future__ import annotations

import json

import pytest

from helpers import jsonl_lines, run_mc

PROBLEM = {"schema": "mc.problem/1", "id": "p/1", "question": "Read an integer n. Print n + 3.",
           "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": "1\n", "output": "4\n"}]}}
ONE = json.dumps(PROBLEM) + "\n"


def failure(code: int, *args, input: str = ONE) -> str:
    proc = run_mc(*args, input=input)
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert "internal error" not in err and proc.stdout == b""
    return err


def scored_groups(families: list[str | None]) -> str:
    """One judged group per family (None: a problem without meta.family)."""
    lines = []
    for i, family in enumerate(families):
        problem = {**PROBLEM, "id": f"p/{i}", "source": "hand", **({"meta": {"family": family}} if family else {})}
        samples = [{"text": "x", "verdict": "pass" if j <= i % 2 else "wrong_answer"} for j in range(2)]
        lines.append(json.dumps({"schema": "mc.group/1", "problem": problem, "samples": samples}) + "\n")
    return "".join(lines)


@pytest.mark.parametrize("ks, named", [("5", "--k 5 needs --n >= 5"), ("1,3,5", "--k 3,5 need --n >= 5")])
def test_k_larger_than_n_is_a_usage_error(ks, named):
    # Checked before the model loads (the path does not even exist).
    err = failure(2, "eval", "--model", "no-such-model/", "--n", "2", "--k", ks)
    assert named in err and "got --n 2" in err


@pytest.mark.parametrize("flags", [["--top-p", "0"], ["--top-p", "nan"], ["-t", "nan"], ["-t", "inf"], ["--top-k", "-1"],
                                   ["--dtype", "float8"], ["--backend", "tpu"]])
def test_impossible_sampling_values(flags):
    failure(2, "eval", "--model", "no-such-model/", *flags)


def test_bad_prompt_template(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("{problem}")
    err = failure(2, "eval", "--model", "no-such-model/", "--prompt-template", path)
    assert "{problem}" in err and "{question}" in err


def test_by_a_field_no_problem_has():
    err = failure(1, "eval", "--scored", "--by", "meta.nope", input=scored_groups(["x", "y"]))
    assert "--by meta.nope: no problem has this field" in err and "source" in err and "meta.family" in err
    # With --model the problems are checked before the model loads.
    err = failure(1, "eval", "--model", "no-such-model/", "--by", "meta.nope")
    assert "--by meta.nope" in err and "no such folder" not in err


def test_by_a_field_some_problems_lack_is_counted():
    proc = run_mc("eval", "--scored", "--by", "meta.family", input=scored_groups(["x", None, "y", None]), check_rc=0)
    by = json.loads(proc.stdout)["runs"]["given"]["by"]
    assert list(by["cells"]) == ["-", "x", "y"] and by["missing"] == 2
    assert b"2 of 4 problems have no meta.family" in proc.stderr


def test_sampling_flags_with_scored_are_flagged():
    proc = run_mc("eval", "--scored", "--n", "8", "--top-k", "3", input=scored_groups(["x"]), check_rc=0)
    assert b"--n, --top-k: only used with --model" in proc.stderr


@pytest.mark.slow
def test_top_k_device_and_dtype(tiny_model, tmp_path):
    saved = tmp_path / "groups.jsonl"
    proc = run_mc("eval", "--model", tiny_model, "--n", "3", "--k", "1,3", "--top-k", "1", "-t", "1.3", "--max-tokens", "6",
                  "--device", "cpu", "--dtype", "float32", "--save-groups", saved, input=ONE, check_rc=0)
    document = json.loads(proc.stdout)
    assert document["top_k"] == 1 and document["runs"]["6"]["k"] == [1, 3]
    group = jsonl_lines(saved.read_bytes())[0]
    assert group["rollout"]["top_k"] == 1
    # top-k 1 leaves one token to draw from: every sample is the greedy one.
    assert len({tuple(s["token_ids"]) for s in group["samples"]}) == 1
    assert b"deprecated" not in proc.stderr


def test_every_eval_run_option_has_help():
    import typer

    from mc.cli import app

    run = typer.main.get_command(app).commands["eval"].commands["run"]
    options = {param.name: param for param in run.params if param.param_type_name == "option"}
    assert {"top_k", "device", "dtype"} <= set(options)
    assert [name for name, option in options.items() if not option.help] == []
