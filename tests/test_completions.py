"""Shell completions are generated from the CLI and must not drift from it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers import REPO
from mc.completions import FILES, SHELLS, render


@pytest.mark.parametrize("shell", SHELLS)
def test_checked_in_completions_are_current(shell):
    path = REPO / "completions" / FILES[shell]
    assert path.read_text() == render(shell), f"{path} is stale: run `make completions`"


def bash_complete(words: list[str]) -> list[str]:
    script = (
        f"source {REPO / 'completions' / 'mc.bash'}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _mc\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True, check=True).stdout
    return [w for w in out.splitlines() if w]


def test_bash_completion_behaves():
    assert bash_complete(["mc", "da"]) == ["data"]
    assert bash_complete(["mc", "data", ""]) == ["batch", "calibrate", "difficulty", "filter", "import", "predict-difficulty",
                                                 "split", "stats", "synth", "verify"]
    assert "--decontaminate" in bash_complete(["mc", "data", "filter", "--de"])
    assert bash_complete(["mc", "data", "import", "--format", "live"]) == ["livecodebench"]
    assert bash_complete(["mc", "data", "split", "--undated", ""]) == ["error", "train", "test", "drop"]
    assert bash_complete(["mc", "data", "filter", "--ngram", ""]) == []  # a number: no file names


@pytest.mark.parametrize("shell, flag", [("zsh", "-n"), ("fish", "-n")])
def test_other_shells_parse_their_scripts(shell, flag):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    subprocess.run([shell, flag, str(REPO / "completions" / FILES[shell])], check=True)
