"""Scored groups with real reward variance for training tests.

An untrained policy never writes a passing program, so its own rollouts carry
no signal. These groups hold hand-written completions instead (a correct
program, wrong ones, an unfinished one), tokenized with the policy's tokenizer,
with the policy's own log-probabilities for those tokens (teacher forcing, as a
sampler would have recorded them), then judged by the real `mc reward`.
"""

from __future__ import annotations

import json

import torch

from helpers import run_mc
from mc.records import new_problem, new_tests
from mc.rollout.prompts import render_prompt
from mc.rollout.sampling import sampling_logprobs

PROBLEMS = [
    (new_problem(id="t/sum", question="Read two integers a and b and print a + b.",
                 tests=new_tests("stdin", [{"input": "1 2\n", "output": "3\n"}, {"input": "5 7\n", "output": "12\n"}])),
     ["a, b = map(int, input().split())\nprint(a + b)", "a, b = map(int, input().split())\nprint(a - b)",
      "print(3)", "a, b = map(int, input().split())\nprint(a + b) # correct, and then some more words that run on"]),
    (new_problem(id="t/max", question="Read two integers and print the larger one.",
                 tests=new_tests("stdin", [{"input": "1 2\n", "output": "2\n"}, {"input": "9 4\n", "output": "9\n"}])),
     ["print(max(map(int, input().split())))", "print(min(map(int, input().split())))",
      "a, b = map(int, input().split())\nprint(a if a > b else b)"]),
]
MAX_TOKENS = 56  # the last completion of t/sum (68 tokens) is cut here: finish_reason "length"


def teacher_forced_groups(model_dir, temperature: float = 1.0) -> list[dict]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    groups = []
    for problem, programs in PROBLEMS:
        prompt = render_prompt(problem, tokenizer)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        samples = []
        for program in programs:
            ids = tokenizer(f"```python\n{program}\n```", add_special_tokens=False)["input_ids"] + [end]
            finish = "stop"
            if len(ids) > MAX_TOKENS:
                ids, finish = ids[:MAX_TOKENS], "length"
            with torch.no_grad():
                logits = model(torch.tensor([prompt_ids + ids])).logits[0]
            lp = sampling_logprobs(logits[len(prompt_ids) - 1 : -1], temperature).gather(-1, torch.tensor(ids)[:, None]).squeeze(-1)
            samples.append({"text": tokenizer.decode(ids, skip_special_tokens=True), "token_ids": ids, "logprobs": lp.tolist(),
                            "finish_reason": finish, "temperature": temperature, "policy_version": 0, "repeat": False})
        groups.append({"schema": "mc.group/1", "problem": problem, "prompt": prompt, "prompt_ids": prompt_ids,
                       "samples": samples, "rollout": {"max_tokens": MAX_TOKENS}})
    return groups


def scored_file(model_dir, path) -> list[dict]:
    """The groups, judged by the real `mc reward`, written to `path`."""
    raw = "".join(json.dumps(g) + "\n" for g in teacher_forced_groups(model_dir))
    scored = run_mc("reward", "--workers", "2", input=raw, check_rc=0).stdout
    path.write_bytes(scored)
    return [json.loads(line) for line in scored.splitlines()]


def nonzero_adapter(trainer, seed: int = 0, scale: float = 0.05) -> None:
    """B starts at 0 (the adapted model is the base); give it values, so the merged
    model differs from the base and every derivative below is non-trivial."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in trainer.model.named_parameters():
            if ".lora_B." in name:
                p.copy_(torch.randn(p.shape, generator=generator) * scale)


def adapter_checkpoint(tiny_model, out, seed: int = 0):
    """A LoRA checkpoint (rank 4) of the tiny model whose B is not 0, written by the real save."""
    from mc.train.step import TrainConfig, Trainer

    trainer = Trainer(str(tiny_model), TrainConfig(lr=1e-3, lora_rank=4))
    nonzero_adapter(trainer, seed)
    trainer.save(str(out))
    return out
