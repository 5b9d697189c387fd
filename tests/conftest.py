"""Session fixtures: the real public problem sets."""

from __future__ import annotations

from pathlib import Path

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
