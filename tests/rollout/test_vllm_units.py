"""The vllm backend's own decisions, without vLLM: KV cache sizing, --vllm-arg parsing,
what --backend auto picks, and the file-descriptor guards that keep the engine's
output off stdout (run for real in a child process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mc.errors import McUsageError
from mc.rollout.backends import auto_backend, vllm_build
from mc.rollout.vllm_backend import cpu_kv_cache_bytes, kv_bytes_per_token, parse_engine_args

GiB, MiB = 1 << 30, 1 << 20


def test_kv_bytes_per_token_by_hand():
    # mc's tiny Qwen3: 2 (K and V) x 4 layers x 2 kv heads x 32 dims x 4 bytes
    tiny = {"num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "hidden_size": 128}
    assert kv_bytes_per_token(tiny, 4) == 2 * 4 * 2 * 32 * 4 == 2048
    # SmolLM2-135M: no head_dim field, hidden 576 / 9 heads = 64; 3 kv heads, 30 layers, bf16
    smol = {"num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "hidden_size": 576}
    assert kv_bytes_per_token(smol, 2) == 2 * 30 * 3 * 64 * 2
    # No kv-head count: every head keeps keys and values (multi-head attention).
    assert kv_bytes_per_token({"num_hidden_layers": 2, "num_attention_heads": 4, "hidden_size": 64}, 4) == 2 * 2 * 4 * 16 * 4
    assert kv_bytes_per_token({}, 4) is None


def test_cpu_kv_cache_is_bounded_by_need_memory_and_a_cap():
    # Need: 64 sequences x 4096 tokens x 2 KiB = 512 MiB, well within a quarter of 20 GiB.
    assert cpu_kv_cache_bytes(20 * GiB, 2048, 4096) == 512 * MiB
    # A big model's need is capped at 4 GiB, and at a quarter of the free memory.
    assert cpu_kv_cache_bytes(20 * GiB, 46080, 8192) == 4 * GiB
    assert cpu_kv_cache_bytes(8 * GiB, 46080, 8192) == 2 * GiB
    # Never below two full-length sequences (vLLM refuses to start without one).
    assert cpu_kv_cache_bytes(1 * GiB, 46080, 8192) == 2 * 46080 * 8192
    # Unknown architecture: memory alone decides.
    assert cpu_kv_cache_bytes(20 * GiB) == 4 * GiB and cpu_kv_cache_bytes(0) == 256 * MiB


def test_vllm_args_parse_as_json_else_text():
    assert parse_engine_args(["enforce_eager=true", "max_num_seqs=64", "kv_cache_memory_bytes=2e9",
                              "quantization=fp8", "hf_overrides={\"a\": 1}"]) == {
        "enforce_eager": True, "max_num_seqs": 64, "kv_cache_memory_bytes": 2e9, "quantization": "fp8", "hf_overrides": {"a": 1}}
    assert parse_engine_args([]) == {} and parse_engine_args(None) == {}
    for bad in ("enforce_eager", "=1", "not a name=1", "1x=2"):
        with pytest.raises(McUsageError, match="KEY=VALUE"):
            parse_engine_args([bad])


@pytest.mark.parametrize("key, hint", [("dtype", "use --dtype"), ("seed", "use --seed"), ("model", "use --model"),
                                       ("logprobs_mode", "log-probs"), ("weight_transfer_config", "weight sync")])
def test_engine_args_mc_owns_are_refused(key, hint):
    """raw_logprobs would record log-probs of another distribution than the sampled one:
    no --vllm-arg may change what the records mean."""
    with pytest.raises(McUsageError, match=f"--vllm-arg {key}: mc sets") as raised:
        parse_engine_args([f"{key}=raw_logprobs"])
    assert hint in str(raised.value)


def test_auto_picks_hf_on_a_cpu_and_the_device_rules():
    build = vllm_build()
    if build != "cuda":  # the CPU build, or none: start-up outweighs the speed-up at CPU scale
        assert auto_backend() == "hf" and auto_backend("cpu") == "hf"
    else:
        import torch

        assert auto_backend("cpu") == "hf"
        assert auto_backend() == ("vllm" if torch.cuda.is_available() else "hf")


GUARD_CHILD = r"""
import os, sys
from mc.rollout.vllm_backend import {guard}
sys.stdout.write("record-1\n")
with {guard}():
    print("python print inside")
    os.write(1, b"fd-1 write inside\n")
    os.write(2, b"fd-2 write inside\n")
    {fail}
sys.stdout.write("record-2\n")
"""


@pytest.mark.parametrize("guard", ["stdout_to_stderr", "quiet_start"])
def test_the_engine_cannot_write_to_stdout(guard):
    child = subprocess.run([sys.executable, "-c", GUARD_CHILD.format(guard=guard, fail="pass")],
                           capture_output=True, env={"PATH": "", "MC_DEBUG": ""}, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout == b"record-1\nrecord-2\n"
    if guard == "stdout_to_stderr":  # shown, on stderr
        assert b"python print inside" in child.stderr and b"fd-1 write inside" in child.stderr
    else:  # start-up talk hidden unless --debug
        assert child.stderr == b""


def test_a_failed_start_shows_the_hidden_log():
    child = subprocess.run([sys.executable, "-c", GUARD_CHILD.format(guard="quiet_start", fail="raise SystemExit(3)")],
                           capture_output=True, env={"PATH": "", "MC_DEBUG": ""}, timeout=60)
    assert child.returncode == 3 and child.stdout == b"record-1\n"
    assert b"vllm's log, last lines" in child.stderr and b"fd-1 write inside" in child.stderr


def test_debug_shows_the_start_up_log_on_stderr():
    child = subprocess.run([sys.executable, "-c", GUARD_CHILD.format(guard="quiet_start", fail="pass")],
                           capture_output=True, env={"PATH": "", "MC_DEBUG": "1"}, timeout=60)
    assert child.stdout == b"record-1\nrecord-2\n" and b"fd-2 write inside" in child.stderr
