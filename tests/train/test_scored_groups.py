"""Bad scored groups into train-step: one clear line (exit 1), naming file:line where
the reader can, never a Python exception."""

from __future__ import annotations

import copy
import json

import pytest

from helpers import run_mc
from train_helpers import scored_file


@pytest.fixture(scope="module")
def groups(tiny_model, tmp_path_factory):
    return scored_file(tiny_model, tmp_path_factory.mktemp("scored") / "scored.jsonl")


def _set(path, value):
    def change(groups):
        *parents, last = path
        target = groups
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return change


BAD = [
    # (name, change, where, words in the message)
    ("string reward", _set([1, "samples", 2, "reward"], "1"), "scored.jsonl:2", "reward must be a finite number"),
    ("null reward", _set([0, "samples", 0, "reward"], None), "scored.jsonl:1", "reward must be a finite number"),
    ("bool reward", _set([0, "samples", 1, "reward"], True), "scored.jsonl:1", "reward must be a finite number"),
    ("text judged_reward", _set([0, "samples", 1, "judged_reward"], "1"), "scored.jsonl:1", "judged_reward must be a finite number"),
    ("no reward", _set([0, "samples", 1, "reward"], KeyError), "scored.jsonl:1", "mc reward"),
    ("no prompt_ids", _set([1, "prompt_ids"], KeyError), "scored.jsonl:2", "prompt_ids"),
    ("empty token_ids", _set([1, "samples", 0, "token_ids"], []), "scored.jsonl:2", "token_ids"),
    ("negative token id", _set([0, "samples", 1, "token_ids", 3], -1), "scored.jsonl:1", "token_ids[3] = -1"),
    ("float token id", _set([0, "samples", 1, "token_ids", 0], 1.5), "scored.jsonl:1", "token_ids[0] = 1.5"),
    ("short logprobs", lambda g: g[1]["samples"][1]["logprobs"].pop(), "scored.jsonl:2", "logprobs for"),
    ("string logprob", _set([1, "samples", 1, "logprobs", 0], "x"), "scored.jsonl:2", "logprobs must be"),
    ("string temperature", _set([1, "samples", 1, "temperature"], "hot"), "scored.jsonl:2", "temperature"),
    ("rollout not an object", _set([1, "rollout"], "hf"), "scored.jsonl:2", "'rollout' must be an object"),
    ("no samples", _set([1, "samples"], []), "scored.jsonl:2", "no samples"),
    # Past the vocabulary: found once the model is loaded, named by group and sample.
    ("OOV response token", _set([1, "samples", 1, "token_ids", 3], 99999), "group 2 ('t/max')", "samples[1].token_ids hold token id 99999"),
    ("OOV prompt token", _set([0, "prompt_ids", 0], 512), "group 1 ('t/sum')", "prompt_ids hold token id 512"),
]


@pytest.mark.parametrize("name, change, where, words", BAD, ids=[b[0] for b in BAD])
def test_bad_groups_are_one_clear_line(tiny_model, groups, tmp_path, name, change, where, words):
    bad = copy.deepcopy(groups)
    change(bad)
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(g) + "\n" for g in bad))
    proc = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "3e-4", path)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "internal error" not in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert where in err and words in err
    assert not (tmp_path / "o").exists()


def test_nan_reward_is_refused_by_the_validator(groups):
    """NaN cannot come through JSON from `mc reward`, but a hand-written record may hold one."""
    from mc.errors import McError
    from mc.train.groups import validate_scored_group

    bad = copy.deepcopy(groups[0])
    bad["samples"][0]["reward"] = float("nan")
    with pytest.raises(McError, match="finite number"):
        validate_scored_group(bad)
    bad = copy.deepcopy(groups[0])
    bad["samples"][0]["logprobs"][0] = float("inf")
    with pytest.raises(McError, match="finite numbers"):
        validate_scored_group(bad)
    validate_scored_group(copy.deepcopy(groups[0]))  # the good one passes
    null_logprobs = copy.deepcopy(groups[0])
    null_logprobs["samples"][0]["logprobs"] = None  # another sampler's groups: logprobs unknown
    validate_scored_group(null_logprobs)


@pytest.mark.slow
def test_null_temperature_trains_at_one(tiny_model, groups, tmp_path):
    bad = copy.deepcopy(groups)
    for g in bad:
        for s in g["samples"]:
            s["temperature"] = None
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(g) + "\n" for g in bad))
    run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "3e-4", path, check_rc=0)
