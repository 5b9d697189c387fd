"""`mc model init`: a normal Hugging Face folder, deterministic given its seed."""

from __future__ import annotations

import pytest

import hashlib

import torch

from helpers import run_mc


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_normal_hf_folder(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert model.config.model_type == "qwen3"
    assert 800_000 < sum(p.numel() for p in model.parameters()) < 1_000_000
    assert len(tokenizer) == 512
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    code = "def f(x):\n    return [i * i for i in range(x)]\n"
    ids = tokenizer(code, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == code and len(ids) < len(code) / 1.5  # BPE learned Python
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), 512)
    assert (tiny_model / "model.safetensors").exists()


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_weights(tiny_model, tmp_path):
    run_mc("model", "init", tmp_path / "again", "--seed", "0", check_rc=0)
    run_mc("model", "init", tmp_path / "other", "--seed", "1", check_rc=0)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert digest(tiny_model / name) == digest(tmp_path / "again" / name)
    assert digest(tiny_model / "model.safetensors") != digest(tmp_path / "other" / "model.safetensors")
    assert digest(tiny_model / "tokenizer.json") == digest(tmp_path / "other" / "tokenizer.json")


def test_refuses_to_overwrite_without_force(tiny_model):
    proc = run_mc("model", "init", tiny_model)
    assert proc.returncode == 2 and b"--force" in proc.stderr
