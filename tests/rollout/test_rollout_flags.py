"""`mc rollout`'s flags checked before the model loads: impossible values and
combinations are usage errors (exit 2, one line naming the flag), flags that do
nothing are warned about, and what used to crash mid-run fails up front."""

from __future__ import annotations

import json

import pytest

from helpers import jsonl_lines, run_mc
from mc.errors import McUsageError
from mc.rollout.prompts import FIELDS, check_template, user_message
from mc.rollout.rollout import RolloutConfig

PROBLEM = {"schema": "mc.problem/1", "id": "p/1", "question": "Read an integer n. Print n + 3.",
           "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": "1\n", "output": "4\n"}]}}
ONE = json.dumps(PROBLEM) + "\n"


def usage_error(*args) -> str:
    proc = run_mc(*args, input=ONE)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "internal error" not in err and proc.stdout == b""
    return err


@pytest.mark.parametrize("flags", [["--top-p", "0"], ["--top-p", "nan"], ["--top-p", "1.5"], ["-t", "nan"], ["-t", "inf"],
                                   ["-t", "-1"], ["-t", "warm"], ["--temperature-schedule", "0:nan"],
                                   ["--temperature-schedule", "0:0.6,10:inf"]])
def test_impossible_sampling_values(flags):
    # No model is needed: these fail before it loads (the path does not even exist).
    usage_error("rollout", "--model", "no-such-model/", *flags)


def test_top_p_zero_suggests_greedy():
    err = usage_error("rollout", "--model", "no-such-model/", "--top-p", "0")
    assert "--top-p" in err and "(0, 1]" in err and "-t 0" in err


def test_the_library_checks_too():
    """mc train and other callers build RolloutConfig themselves."""
    for bad in ({"top_p": 0.0}, {"temperature": float("nan")}, {"temperature": float("inf")}, {"top_k": -1},
                {"temperature": None, "n": 1, "target_diversity": (0.4, 0.7)}, {"temperature": None},
                {"prompt_template": "{titel}"}):
        with pytest.raises(McUsageError):
            RolloutConfig(**bad)
    RolloutConfig(temperature=0.0, top_p=1e-3)


@pytest.mark.parametrize("flags", [["-t", "1", "--temperature-schedule", "0:0.6,140:1.2"],
                                   ["-t", "1.0", "--temperature-schedule", "0:0.6"],
                                   ["-t", "auto", "--temperature-schedule", "0:0.6"]])
def test_temperature_and_a_schedule_exclude_each_other(flags):
    err = usage_error("rollout", "--model", "no-such-model/", *flags)
    assert "not both" in err


def test_auto_temperature_needs_two_samples():
    err = usage_error("rollout", "--model", "no-such-model/", "-t", "auto", "--n", "1")
    assert "--n >= 2" in err


@pytest.mark.parametrize("flags", [["--dtype", "float8"], ["--backend", "tpu"], ["--dtype", "fp16", "--backend", "hf"]])
def test_unknown_backend_or_dtype(flags):
    err = usage_error("rollout", "--model", "no-such-model/", *flags)
    assert flags[1] in err


@pytest.mark.parametrize("template, named", [("Task: {titel}", "{titel}"), ("Answer in JSON: {\"a\": 1}\n{question}", '{"a": 1}'),
                                             ("{question} and a stray }", "'}'"), ("line one\n{question} {", "line 2"),
                                             ("{question.upper}", "{question.upper}"), ("{question:d}", "format code")])
def test_bad_prompt_template_fails_up_front(tmp_path, template, named):
    path = tmp_path / "t.txt"
    path.write_text(template)
    err = usage_error("rollout", "--model", "no-such-model/", "--prompt-template", path)
    assert named in err and "{question}, {starter_code}, {fn_name}, {instruction}" in err


def test_template_check_by_hand():
    check_template("{{literal}} {question} {starter_code!r} {fn_name:>4} {instruction}")
    assert user_message(PROBLEM, "{{x}} {question}") == "{x} " + PROBLEM["question"]
    for bad in ("{}", "{0}", "{question[0]}", "{ question }", "}{", "{question:{fn_name}}"):
        with pytest.raises(McUsageError):
            check_template(bad)
    assert FIELDS == ("question", "starter_code", "fn_name", "instruction")


def test_missing_model_and_absent_cuda_are_one_line():
    missing = run_mc("rollout", "--model", "no-such-model/", input=ONE)
    assert missing.returncode == 1 and b"no such folder" in missing.stderr and len(missing.stderr.splitlines()) == 1


def test_device_without_cuda(tiny_model):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = run_mc("rollout", "--model", tiny_model, "--device", "cuda", input=ONE)
    assert proc.returncode == 2 and b"no usable CUDA device" in proc.stderr and b"internal error" not in proc.stderr


@pytest.mark.slow
def test_probe_flags_without_auto_warn_and_a_schedule_alone_works(tiny_model):
    proc = run_mc("rollout", "--model", tiny_model, "--n", "2", "--max-tokens", "2", "--temperature-schedule", "0:0.7",
                  "--target-diversity", "0.2:0.5", "--probe-problems", "3", "--dtype", "float32", "--device", "cpu",
                  input=ONE, check_rc=0)
    assert b"--target-diversity and --probe-problems have no effect without --temperature auto" in proc.stderr
    assert {s["temperature"] for s in jsonl_lines(proc.stdout)[0]["samples"]} == {0.7}
    # The KV cache goes to the model under the name it wants: no transformers deprecation chatter.
    assert b"deprecated" not in proc.stderr and b"past_key_values" not in proc.stderr
    # Not a terminal: no progress lines either.
    assert b"sampling" not in proc.stderr


def test_prompt_too_long_names_a_remedy_that_exists(tiny_model):
    from transformers import AutoTokenizer

    from mc.rollout.prompts import render_prompt
    from mc.rollout.rollout import too_long_hint

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    prompt = tokenizer(render_prompt(PROBLEM, tokenizer), add_special_tokens=False)["input_ids"]
    proc = run_mc("rollout", "--model", tiny_model, "--max-tokens", "100000", input=ONE)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and len(err.splitlines()) == 1
    # mc data filter has no length filter: the hint gives a --max-tokens that fits, or jq.
    assert f"lower --max-tokens to {4096 - len(prompt)} or less" in err and "jq -c 'select(.id != \"p/1\")'" in err
    assert "longer context" in too_long_hint(PROBLEM, 0) and "--max-tokens" not in too_long_hint(PROBLEM, -5)


def test_a_malformed_vllm_arg_is_a_usage_error_before_anything_loads(tiny_model):
    proc = run_mc("rollout", "-m", tiny_model, "--backend", "vllm", "--vllm-arg", "enforce_eager", input="")
    assert proc.returncode == 2 and b"KEY=VALUE" in proc.stderr
    proc = run_mc("rollout", "-m", tiny_model, "--backend", "hf", "--vllm-arg", "enforce_eager=true", input="")
    assert proc.returncode == 2 and b"--vllm-arg is for the vllm backend" in proc.stderr
