"""What the policy is asked: --prompt-template and --system-prompt reach rollout and sft alike."""

from __future__ import annotations

import pytest

import json

from helpers import jsonl_lines, run_mc

from mc.rollout.prompts import SYSTEM

PROBLEM = {"schema": "mc.problem/1", "id": "p/1", "question": "Read an integer n. Print n + 3.",
           "tests": {"type": "stdin", "fn_name": None, "cases": [{"input": "1\n", "output": "4\n"}]},
           "solutions": ["n = int(input())\nprint(n + 3)"]}


def prompt_text(tiny_model, *flags) -> str:
    from transformers import AutoTokenizer

    proc = run_mc("rollout", "--model", tiny_model, "--n", "1", "--max-tokens", "2", *flags,
                  input=json.dumps(PROBLEM) + "\n", check_rc=0)
    group = jsonl_lines(proc.stdout)[0]
    return AutoTokenizer.from_pretrained(str(tiny_model)).decode(group["prompt_ids"])


@pytest.mark.slow
def test_default_prompt_has_the_system_message_and_instruction(tiny_model):
    text = prompt_text(tiny_model)
    assert text.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{PROBLEM['question']}")
    assert "standard input" in text and text.endswith("<|im_start|>assistant\n")


@pytest.mark.slow
def test_bare_template_and_no_system_message(tiny_model, tmp_path):
    template = tmp_path / "t.txt"
    template.write_text("Task: {question}")
    text = prompt_text(tiny_model, "--prompt-template", template, "--system-prompt", "")
    assert text == f"<|im_start|>user\nTask: {PROBLEM['question']}<|im_end|>\n<|im_start|>assistant\n"
    assert prompt_text(tiny_model, "--system-prompt", "Be brief.").startswith("<|im_start|>system\nBe brief.<|im_end|>")


@pytest.mark.slow
def test_sft_learns_on_the_same_prompt_and_stops_at_its_time_budget(tiny_model, tmp_path):
    from transformers import AutoTokenizer

    from mc.rollout.prompts import render_prompt
    from mc.train.sft import sft_examples

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    (prompt, response), = sft_examples([PROBLEM], tokenizer, 512, "Task: {question}", "")
    assert tokenizer.decode(prompt) == render_prompt(PROBLEM, tokenizer, "Task: {question}", "")
    assert tokenizer.decode(response).startswith("```python\nn = int(input())")

    data = tmp_path / "demos.jsonl"
    data.write_text(json.dumps(PROBLEM) + "\n")
    proc = run_mc("sft", "--model", tiny_model, "--data", data, "--out", tmp_path / "warm", "--steps", "1000000",
                  "--max-seconds", "2", "--batch-size", "2", "--system-prompt", "", check_rc=0)
    steps = len(jsonl_lines(proc.stdout))
    meta = json.loads((tmp_path / "warm" / "meta.json").read_text())
    assert 0 < steps < 1_000_000 and meta["sft_steps"] == steps
