"""`mc sft`: supervised warm-up on reference solutions (teaches the answer format).

Each example is a problem's prompt (the same rendering `mc rollout` uses) and,
as the response, one of its `solutions` in a ```python block followed by the
end-of-turn token. The loss is the token-mean cross-entropy of the response
tokens only. AdamW; batches drawn with a seeded generator, so a run is
reproducible. The output is an ordinary checkpoint (meta.json records the SFT
steps; its policy step stays 0, so RL starts from step 0).
"""

from __future__ import annotations

import random
import time

import torch

from mc import lora
from mc.errors import McError
from mc.lora import LoraSpec
from mc.rollout.prompts import SYSTEM, render_prompt
from mc.train.checkpoint import model_ref, save_checkpoint


def sft_examples(problems: list[dict], tokenizer, max_tokens: int, template: str | None = None,
                 system: str = SYSTEM) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, response ids) for every (problem, reference solution) pair."""
    end = tokenizer.eos_token_id
    examples = []
    for problem in problems:
        prompt = tokenizer(render_prompt(problem, tokenizer, template, system), add_special_tokens=False)["input_ids"]
        for solution in problem.get("solutions") or []:
            response = tokenizer(f"```python\n{solution.strip()}\n```", add_special_tokens=False)["input_ids"] + [end]
            if len(response) <= max_tokens:
                examples.append((prompt, response))
    if not examples:
        raise McError("no (problem, solution) pairs to learn from", "sft needs Problem records with 'solutions'")
    return examples


def sft(model_path: str, problems: list[dict], out: str, steps: int, lr: float = 1e-3, batch_size: int = 16,
        seed: int = 0, max_tokens: int = 512, log=None, template: str | None = None, system: str = SYSTEM,
        max_seconds: float | None = None, status=None, lora_spec: LoraSpec | None = None) -> list[dict]:
    """`steps` AdamW steps of cross-entropy on the responses, or fewer when `max_seconds`
    of training have passed (a fixed compute budget, e.g. to compare with an RL run).
    `log` gets each step's line, `status` a word on each slow phase (for progress).
    `lora_spec` (or a LoRA checkpoint as the model): train a LoRA adapter (mc.lora)."""
    status = status or (lambda text: None)
    status(f"loading {model_path}")
    tokenizer, model, adapter, lora_spec = lora.load_policy(model_path, lora_spec, torch.float32, torch.device("cpu"),
                                                            what="model", seed=seed)
    model.train()
    status("tokenizing the examples")
    examples = sft_examples(problems, tokenizer, max_tokens, template, system)
    status(f"training on {len(examples)} (problem, solution) pairs")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    pad = tokenizer.pad_token_id or 0
    history = []
    budget_started = time.monotonic()
    for step in range(steps):
        if max_seconds is not None and time.monotonic() - budget_started >= max_seconds:
            break
        started = time.monotonic()
        batch = [examples[rng.randrange(len(examples))] for _ in range(batch_size)]
        width = max(len(p) + len(r) for p, r in batch)
        ids = torch.full((len(batch), width), pad)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        labels = torch.full((len(batch), width), -100)
        for i, (p, r) in enumerate(batch):
            seq = p + r
            ids[i, : len(seq)] = torch.tensor(seq)
            attention[i, : len(seq)] = 1
            labels[i, len(p) : len(seq)] = torch.tensor(r)  # only the response is learned
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        line = {"sft_step": step, "loss": loss.item(), "seconds": round(time.monotonic() - started, 4)}
        history.append(line)
        if log:
            log(line)
    status(f"saving {out}")
    meta = {"step": 0, "optimizer_steps": 0, "sft_steps": len(history),
            "flags": {"sft_lr": lr, "sft_batch_size": batch_size, "seed": seed}, "ref_model": None, "parent": model_ref(model_path)}
    if adapter is not None:
        meta["base_model"] = lora.mark_base(adapter, model_path)
        meta["flags"].update({"lora_rank": lora_spec.rank, "lora_alpha": lora_spec.alpha, "lora_targets": lora_spec.targets})
    save_checkpoint(out, adapter if adapter is not None else model, tokenizer, None, meta)
    return history
