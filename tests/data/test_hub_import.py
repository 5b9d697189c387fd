"""mc data import with a Hugging Face Hub id, offline: through a real datasets cache.

The cache is made the way datasets makes it (its own builder prepares real MBPP
rows from ../shared/data), laid out under the id's cache name, and read with
HF_HUB_OFFLINE=1: what a user sees on a node without network after loading the
set once. An id that is not cached fails with one line saying what to do."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from helpers import run_mc

DATASET = "google-research-datasets/mbpp"


@pytest.fixture(scope="module")
def hub_home(real, tmp_path_factory):
    """HF_HOME with DATASET cached (train: 12 real rows, test: 8)."""
    import datasets

    root = tmp_path_factory.mktemp("hub")
    rows = [json.loads(line) for line in real.mbpp.read_text().splitlines()[:20]]
    for name, part in (("train", rows[:12]), ("test", rows[12:])):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    home = root / "home"
    cache = home / "datasets"
    builder = datasets.load_dataset_builder("json", cache_dir=str(cache),
                                            data_files={"train": str(root / "train.jsonl"), "test": str(root / "test.jsonl")})
    builder.download_and_prepare()
    *_, version, digest = os.path.relpath(builder.cache_dir, cache).split(os.sep)
    target = cache / "google-research-datasets___mbpp" / "default" / version / digest
    shutil.copytree(builder.cache_dir, target)
    for arrow in target.glob("json-*.arrow"):  # a hub dataset's files are named after it
        arrow.rename(target / arrow.name.replace("json-", "mbpp-", 1))
    return root


def test_a_cached_hub_dataset_imports_offline(hub_home):
    env = {"HF_HOME": str(hub_home / "home"), "HF_HUB_OFFLINE": "1"}
    whole = run_mc("data", "import", DATASET, env=env, check_rc=0)
    problems = [json.loads(line) for line in whole.stdout.decode().splitlines()]
    assert len(problems) == 20 and len({p["id"] for p in problems}) == 20  # both splits, every row once
    direct = run_mc("data", "import", hub_home / "test.jsonl", check_rc=0)
    test_only = run_mc("data", "import", DATASET, "--split", "test", env=env, check_rc=0)
    got = [json.loads(line) for line in test_only.stdout.decode().splitlines()]
    expected = [json.loads(line) for line in direct.stdout.decode().splitlines()]
    assert len(got) == 8
    assert [(p["id"], p["question"], p["tests"]) for p in got] == [(p["id"], p["question"], p["tests"]) for p in expected]
    assert b"mbpp" in test_only.stderr  # the summary table names the source and its format


def test_an_uncached_hub_id_says_what_to_do(hub_home, tmp_path):
    env = {"HF_HOME": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}
    missing = run_mc("data", "import", "someone/not-cached", env=env)
    assert missing.returncode == 1
    err = missing.stderr.decode()
    assert "someone/not-cached" in err and "not in the local datasets cache" in err and "Traceback" not in err
    assert "no file or folder someone/not-cached here" in err  # it may have been meant as a path
    usage = run_mc("data", "import", hub_home / "test.jsonl", "--split", "test")
    assert usage.returncode == 2 and b"Hub ids" in usage.stderr
