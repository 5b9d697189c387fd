"""`mc rollout` on real LiveCodeBench problems with the built-in tiny policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from helpers import jsonl_lines, run_mc
from mc.data.importer import import_problems
from mc.rollout.sampling import sampling_logprobs

MAX_TOKENS = 48


@pytest.fixture(scope="module")
def problems(real):
    rows = list(import_problems([str(real.lcb_public)]))
    chosen = [p for p in rows if p["tests"]["type"] == "stdin"][:3] + [p for p in rows if p["tests"]["type"] == "functional"][:2]
    return "".join(json.dumps(p) + "\n" for p in chosen).encode()


@pytest.fixture(scope="module")
def groups(tiny_model, problems):
    proc = run_mc("rollout", "--model", tiny_model, "--n", "4", "--max-tokens", MAX_TOKENS, "--temperature", "0.8",
                  "--seed", "7", input=problems, check_rc=0)
    return proc


def test_groups_and_samples(groups, problems):
    out = jsonl_lines(groups.stdout)
    sent = [json.loads(line)["id"] for line in problems.splitlines()]
    assert [g["problem"]["id"] for g in out] == sent
    for g in out:
        assert g["schema"] == "mc.group/1" and len(g["samples"]) == 4
        assert g["prompt_ids"] and g["prompt"].startswith("<|im_start|>system")
        assert 0.0 <= g["diversity"] <= 1.0
        for s in g["samples"]:
            assert len(s["token_ids"]) == len(s["logprobs"]) > 0
            assert s["temperature"] == 0.8 and s["policy_version"] == 0 and s["repeat"] in (True, False)
            assert all(lp <= 0 for lp in s["logprobs"])
    assert b"diversity" in groups.stderr and b"tokens/s" in groups.stderr


def test_logprobs_match_a_plain_forward_pass(groups, tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    worst = 0.0
    for g in jsonl_lines(groups.stdout):
        for s in g["samples"]:
            ids = g["prompt_ids"] + s["token_ids"]
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0]  # [T, V], no padding, no cache
            start = len(g["prompt_ids"])
            logprobs = sampling_logprobs(logits[start - 1 : -1], s["temperature"])
            recomputed = logprobs.gather(-1, torch.tensor(s["token_ids"])[:, None]).squeeze(-1)
            worst = max(worst, float((recomputed - torch.tensor(s["logprobs"])).abs().max()))
    assert worst < 1e-4, worst


def test_finish_reason_is_length_exactly_at_the_limit(groups, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    stops = {tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
    reasons = set()
    for g in jsonl_lines(groups.stdout):
        for s in g["samples"]:
            reasons.add(s["finish_reason"])
            if s["finish_reason"] == "length":
                assert len(s["token_ids"]) == MAX_TOKENS and not stops & set(s["token_ids"])
            else:
                assert s["finish_reason"] == "stop" and s["token_ids"][-1] in stops
                assert len(s["token_ids"]) <= MAX_TOKENS and not stops & set(s["token_ids"][:-1])
    assert "length" in reasons


@pytest.mark.slow
def test_same_seed_same_output(groups, tiny_model, problems):
    again = run_mc("rollout", "--model", tiny_model, "--n", "4", "--max-tokens", MAX_TOKENS, "--temperature", "0.8",
                   "--seed", "7", input=problems, check_rc=0)
    assert again.stdout == groups.stdout
    other = run_mc("rollout", "--model", tiny_model, "--n", "4", "--max-tokens", MAX_TOKENS, "--temperature", "0.8",
                   "--seed", "8", input=problems, check_rc=0)
    assert other.stdout != groups.stdout


@pytest.mark.slow
def test_one_token_limit(tiny_model, problems):
    from transformers import AutoTokenizer

    stops = {AutoTokenizer.from_pretrained(tiny_model).convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
    proc = run_mc("rollout", "--model", tiny_model, "--n", "2", "--max-tokens", "1", input=problems, check_rc=0)
    for g in jsonl_lines(proc.stdout):
        for s in g["samples"]:
            assert len(s["token_ids"]) == 1
            assert s["finish_reason"] == ("stop" if s["token_ids"][0] in stops else "length")


@pytest.mark.slow
def test_temperature_schedule_switches_at_the_named_step(tiny_model, problems):
    first = problems.splitlines()[0] + b"\n"
    for version, expected in ((139, 0.6), (140, 1.2)):
        out = jsonl_lines(run_mc("rollout", "--model", tiny_model, "--n", "2", "--max-tokens", "8",
                                 "--temperature-schedule", "0:0.6,140:1.2", "--policy-version", version,
                                 input=first, check_rc=0).stdout)
        assert {s["temperature"] for s in out[0]["samples"]} == {expected}
        assert out[0]["samples"][0]["policy_version"] == version


@pytest.mark.slow
def test_temperature_auto_is_reproducible(tiny_model, problems):
    args = ["rollout", "--model", tiny_model, "--n", "4", "--max-tokens", "24", "--temperature", "auto",
            "--target-diversity", "0.3:0.9", "--probe-problems", "2"]
    first = run_mc(*args, input=problems, check_rc=0)
    second = run_mc(*args, input=problems, check_rc=0)
    assert first.stdout == second.stdout
    assert b"temperature probe" in first.stderr and b"chosen" in first.stderr
    chosen = {s["temperature"] for g in jsonl_lines(first.stdout) for s in g["samples"]}
    assert len(chosen) == 1 and chosen.pop() in (0.4, 0.6, 0.8, 1.0, 1.2, 1.4)


@pytest.mark.slow
def test_rollout_reward_difficulty_through_real_pipes(tiny_model, problems, tmp_path):
    src = tmp_path / "problems.jsonl"
    src.write_bytes(problems)
    mc = f"{sys.executable} -m mc"
    script = (f"set -o pipefail; {mc} rollout --model {tiny_model} --n 3 --max-tokens 32 {src} "
              f"| {mc} reward --workers 2 | {mc} data difficulty --keep 0:1")
    proc = subprocess.run(["bash", "-c", script], capture_output=True, timeout=300, env={**os.environ, "MC_PROGRESS": "0"})
    assert proc.returncode == 0, proc.stderr.decode()
    out = jsonl_lines(proc.stdout)
    assert [p["id"] for p in out] == [json.loads(line)["id"] for line in problems.splitlines()]
    for p in out:
        assert p["schema"] == "mc.problem/1" and p["meta"]["pass_samples"] == 3
        assert p["meta"]["pass_rate"] == 0.0 and p["meta"]["pass_bucket"] == "unsolved"  # an untrained model


@pytest.mark.slow
def test_prompt_too_long_is_a_clear_error(tiny_model, problems):
    proc = run_mc("rollout", "--model", tiny_model, "--max-tokens", "100000", input=problems)
    assert proc.returncode == 1 and b"exceeds the model's" in proc.stderr and b"--max-tokens" in proc.stderr
