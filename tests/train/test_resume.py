"""`mc train`: --resume with the run's recorded flags, damaged metrics files, the
rollout flags it shares (-t auto, --device, --dtype), impossible combinations,
and the progress it reports while a step is in flight."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import jsonl_lines, run_mc

# A run of one step, small enough for seconds: 2 problems x 2 samples of 8 tokens.
FLAGS = ["--batch-problems", "2", "--n", "2", "--max-tokens", "8", "--lr", "1e-3", "--save-every", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("resume") / "train.jsonl"
    run_mc("data", "synth", "--count", "1", "--seed", "2", "-o", path, check_rc=0)
    return path


@pytest.fixture(scope="module")
def one_step(tiny_model, data, tmp_path_factory):
    run = tmp_path_factory.mktemp("resume") / "run"
    run_mc("train", "--model", tiny_model, "--data", data, "--out", run, "--steps", "1", *FLAGS, check_rc=0)
    return run


def copy_run(one_step, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(one_step, run)
    return run


def metrics(run) -> list[dict]:
    return jsonl_lines((run / "metrics.jsonl").read_bytes())


def test_resume_refuses_conflicting_flags_and_keeps_run_json(tiny_model, data, one_step, tmp_path):
    run = copy_run(one_step, tmp_path)
    before = (run / "run.json").read_bytes()
    proc = run_mc("train", "--model", tiny_model, "--data", data, "--out", run, "--steps", "2", "--resume",
                  "--n", "4", "--lr", "1e-2", "-t", "0.7")
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "--n 2 (given 4)" in err and "--lr 0.001 (given 0.01)" in err and '--temperature "1.0" (given "0.7")' in err
    assert "--steps" in err  # says which flags may change
    assert (run / "run.json").read_bytes() == before and len(metrics(run)) == 1


@pytest.mark.slow
def test_resume_goes_on_with_the_recorded_flags(tiny_model, data, one_step, tmp_path):
    run = copy_run(one_step, tmp_path)
    # Only the required flags, and two that may change: no --n, --lr, --max-tokens.
    run_mc("train", "--model", tiny_model, "--data", data, "--out", run, "--steps", "2", "--save-every", "2", "--resume",
           check_rc=0)
    lines = metrics(run)
    assert [m["step"] for m in lines] == [0, 1]
    assert lines[1]["samples"] == 4 and lines[1]["lr"] == pytest.approx(1e-3)  # 2 problems x n=2, the run's rate
    assert lines[1]["response_length_max"] <= 8
    record = json.loads((run / "run.json").read_text())
    assert record["flags"]["n"] == 2 and record["flags"]["steps"] == 2 and record["flags"]["save_every"] == 2
    assert record["resumes"] == [{"step": 1, "changed": {"steps": {"was": 1, "now": 2}, "save_every": {"was": 1, "now": 2}}}]
    assert record["loop"]["steps"] == 2 and record["rollout"]["n"] == 2


@pytest.mark.slow
def test_resume_over_a_truncated_last_metrics_line(tiny_model, data, one_step, tmp_path):
    run = copy_run(one_step, tmp_path)
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(b'{"step": 1, "loss": 0.')  # killed while writing step 1's line
    proc = run_mc("train", "--model", tiny_model, "--data", data, "--out", run, "--steps", "2", "--resume", check_rc=0)
    assert b"truncated last line" in proc.stderr
    assert [m["step"] for m in metrics(run)] == [0, 1]


@pytest.mark.parametrize("garbage", [b"garbage\n", b"[1, 2]\n", b'{"step": "one"}\n'])
def test_resume_over_a_damaged_metrics_file(tiny_model, data, one_step, tmp_path, garbage):
    run = copy_run(one_step, tmp_path)
    good = (run / "metrics.jsonl").read_bytes()
    (run / "metrics.jsonl").write_bytes(garbage + good)
    proc = run_mc("train", "--model", tiny_model, "--data", data, "--out", run, "--steps", "2", "--resume")
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "metrics.jsonl:1: not a metrics line" in err and "internal error" not in err
    assert (run / "metrics.jsonl").read_bytes() == garbage + good


def test_metrics_before(tmp_path):
    from mc.train.loop import metrics_before

    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"step": 0}\n\n{"step": 1}\n{"step": 2}\n{"step": 3, "lo')
    assert metrics_before(str(path), 2) == [b'{"step": 0}\n', b'{"step": 1}\n']
    assert metrics_before(str(tmp_path / "none.jsonl"), 2) == []


def test_resume_flags():
    from mc.errors import McUsageError
    from mc.train.settings import resume_flags

    recorded = {"n": 2, "lr": 1e-3, "steps": 1, "band": [0.4, 0.7]}
    names = {"n": "--n", "lr": "--lr", "steps": "--steps", "band": "--target-diversity"}
    given = {"n": 8, "lr": None, "steps": 5, "band": (0.4, 0.7), "new": "x"}
    merged, changed = resume_flags(recorded, given, {"steps", "band"}, names)
    assert merged == {"n": 2, "lr": 1e-3, "steps": 5, "band": [0.4, 0.7], "new": "x"}
    assert changed == {"steps": (1, 5)}
    with pytest.raises(McUsageError, match=r"--n 2 \(given 8\)"):
        resume_flags(recorded, given, {"n"}, names)


def test_resume_help_lists_the_flags_that_may_change():
    from mc.commands.train import RESUME_HELP
    from mc.train.settings import MAY_CHANGE_ON_RESUME

    listed = [word.strip(",.") for word in RESUME_HELP.split("except", 1)[1].split() if word.startswith("--")]
    assert listed == ["--" + name.replace("_", "-") for name in MAY_CHANGE_ON_RESUME]


# --- flags that cannot go together, checked before anything loads --------------------------


@pytest.mark.parametrize("extra, words", [
    (["--eval-every", "2"], "--eval-every 2 needs --eval-data"),
    (["-t", "0.5", "--temperature-schedule", "0:0.6,10:1.2"], "not both"),
    (["-t", "warm"], "--temperature must be a number or 'auto'"),
    (["--dtype", "float8"], "--dtype must be one of"),
    (["--backend", "tpu"], "--backend"),
])
def test_impossible_combinations_exit_2(tiny_model, data, tmp_path, extra, words):
    proc = run_mc("train", "--model", tiny_model, "--data", data, "--out", tmp_path / "run", "--steps", "1", *FLAGS, *extra)
    assert proc.returncode == 2 and words in proc.stderr.decode(), proc.stderr.decode()
    assert not (tmp_path / "run").exists()


def test_lr_is_required_for_a_plain_model(tiny_model, data, tmp_path):
    proc = run_mc("train", "--model", tiny_model, "--data", data, "--out", tmp_path / "run", "--steps", "1")
    assert proc.returncode == 2 and b"pass --lr: 1e-6 suits pretrained 1-8B models" in proc.stderr


def test_device_without_cuda_exits_2(tiny_model, data, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = run_mc("train", "--model", tiny_model, "--data", data, "--out", tmp_path / "run", "--steps", "1", *FLAGS,
                  "--device", "cuda")
    assert proc.returncode == 2 and b"no usable CUDA device" in proc.stderr


@pytest.mark.slow
def test_auto_temperature_is_probed_once_and_kept_on_resume(tiny_model, data, tmp_path):
    run = tmp_path / "run"
    common = ["train", "--model", tiny_model, "--data", data, "--out", run, *FLAGS, "-t", "auto", "--probe-problems", "2",
              "--target-diversity", "0.0:1.0", "--eval-data", data, "--eval-n", "1", "--dtype", "bfloat16", "--device", "cpu"]
    run_mc(*common, "--steps", "1", check_rc=0)
    probe = json.loads((run / "run.json").read_text())["auto_temperature"]
    assert probe["temperature"] == 0.4 and probe["in_band"]  # every diversity is in [0, 1]: the lowest candidate
    assert len(probe["probes"]) == 6
    resumed = run_mc(*common, "--steps", "2", "--resume", check_rc=0)
    assert b"as probed when the run started" in resumed.stderr
    lines = metrics(run)
    assert [m["temperature"] for m in lines] == [0.4, 0.4]
    # --eval-data with --eval-every 0: evaluated after the run's last step (1, then 2 once resumed).
    assert [m.get("eval_pass@1") is not None for m in lines] == [True, True]


@pytest.mark.parametrize("streamed", [False, True])
def test_the_loop_reports_each_phase_of_a_step(tiny_model, data, tmp_path, streamed):
    from mc.commands.common import judge_config
    from mc.jsonl import read_all
    from mc.reward.sandbox.pool import Sandbox
    from mc.rollout.rollout import RolloutConfig
    from mc.train.loop import Loop, LoopConfig
    from mc.train.step import TrainConfig

    phases, steps = [], []
    with Sandbox(1, "full") as sandbox:
        loop = Loop(str(tiny_model), read_all(str(data)), str(tmp_path / "run"), RolloutConfig(n=2, max_tokens=8, batch_size=2),
                    judge_config("binary", "microcoder", 6.0, 2048, 32, False), TrainConfig(lr=1e-3, mini_batches=2),
                    LoopConfig(steps=1, batch_size=2, stream_judging=streamed), sandbox, "hf", log=lambda text: None)
        loop.run_steps(steps.append, phases.append)
    after = ["train: starting", "train: old log-probs", "train: mini-batch 1/2", "train: mini-batch 2/2", "saving ckpt-000001"]
    if not streamed:
        assert phases == ["rollout 0/4 samples", "rollout 2/4 samples", "rollout 4/4 samples",  # one problem per sampling batch
                          "reward 0/4 samples", "reward 2/4 samples", "reward 4/4 samples", *after]
    else:  # both counts move, in whichever order the sampler and the judge get there
        counts = [tuple(int(x.split("/")[0].split()[-1]) for x in p.split(", ")) for p in phases[: -len(after)]]
        assert counts[0] == (0, 0) and counts[-1] == (4, 4) and phases[-len(after):] == after
        assert all(r <= g and a[0] <= b[0] and a[1] <= b[1] for (g, r), a, b in zip(counts[1:], counts, counts[1:]))
        assert {g for g, _ in counts} == {0, 2, 4} and {r for _, r in counts} == {0, 2, 4}
    assert len(steps) == 1


def test_progress_lines_in_a_log(capsys):
    from mc.train.progress import LoopProgress

    with LoopProgress("step", 3, start=1, every=0.0) as progress:
        progress.status("rollout 4/8 samples")
        progress.advance("reward 0.500")
    err = capsys.readouterr().err
    assert "step 2/3: rollout 4/8 samples" in err and "step 2/3: reward 0.500" in err
