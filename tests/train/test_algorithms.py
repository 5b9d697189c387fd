"""The algorithm options on the real tiny policy: each loss equals its formula computed by hand
from the batch's rewards and token counts (on-policy, the first mini-batch's ratio is exactly 1)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from helpers import jsonl_lines, run_mc
from train_helpers import scored_file


@pytest.fixture(scope="module")
def scored(tiny_model, tmp_path_factory):
    return scored_file(tiny_model, tmp_path_factory.mktemp("scored") / "scored.jsonl")


def flat(groups):
    """(rewards per group, response lengths per group)."""
    return [[s["reward"] for s in g["samples"]] for g in groups], [[len(s["token_ids"]) for s in g["samples"]] for g in groups]


def group_std_advantages(rewards):
    out = []
    for r in rewards:
        mean = sum(r) / len(r)
        std = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
        out.append([(x - mean) / (std + 1e-6) for x in r])
    return out


def step(tiny_model, groups, **config):
    from mc.train.step import Trainer, TrainConfig

    trainer = Trainer(str(tiny_model), TrainConfig(lr=1e-3, truncation_mask="none", **config), "cpu")
    return trainer, trainer.train_step(groups)


def test_dr_grpo_loss_is_centred_rewards_over_a_constant(tiny_model, scored):
    rewards, lengths = flat(scored)
    _, lines = step(tiny_model, scored, scale_rewards="none", loss_agg="seq-mean-token-sum-norm", clip_high=0.2)
    # ratio 1: each token's loss is -A_i; sum over tokens / (N x L_max), L_max = the rollout's 56
    total = sum(-(x - sum(r) / len(r)) * n for r, ls in zip(rewards, lengths) for x, n in zip(r, ls))
    assert lines[0]["loss"] == pytest.approx(total / (7 * 56), abs=1e-6)


def test_token_mean_loss_by_hand(tiny_model, scored):
    rewards, lengths = flat(scored)
    adv = group_std_advantages(rewards)
    _, lines = step(tiny_model, scored)
    expected = -sum(a * n for aa, ls in zip(adv, lengths) for a, n in zip(aa, ls)) / sum(map(sum, lengths))
    assert lines[0]["loss"] == pytest.approx(expected, abs=1e-6)


def shifted(groups, shifts):
    """The groups with each sample's sampler log-probs moved by shifts[g][i] (ratio exp(-shift))."""
    out = json.loads(json.dumps(groups))
    for g, row in zip(out, shifts):
        for s, shift in zip(g["samples"], row):
            s["logprobs"] = [lp + shift for lp in s["logprobs"]]
    return out


def test_truncated_importance_sampling_weights_each_token(tiny_model, scored):
    rewards, lengths = flat(scored)
    adv = group_std_advantages(rewards)
    # the sampler gave sample (0, 0) a third of the trainer's probability on every token (ratio 3),
    # sample (1, 2) twice it (ratio 0.5); the rest agree (ratio 1)
    shifts = [[math.log(1 / 3), 0, 0, 0], [0, 0, math.log(2)]]
    groups = shifted(scored, shifts)
    ratios = [[math.exp(-x) for x in row] for row in shifts]
    tokens = sum(map(sum, lengths))
    for level, cap in (("token", 2.0), ("sequence", 1e6)):  # 1e6 < e^20, the log-ratio clamp
        _, lines = step(tiny_model, groups, rollout_is=level, rollout_is_cap=cap)
        if level == "token":
            w = [[min(r, cap) for r in row] for row in ratios]
        else:  # the product over a sequence's tokens: ratio ** length
            w = [[min(r ** n, cap) for r, n in zip(row, ls)] for row, ls in zip(ratios, lengths)]
        expected = -sum(a * n * wi for aa, ls, ww in zip(adv, lengths, w) for a, n, wi in zip(aa, ls, ww)) / tokens
        assert lines[0]["loss"] == pytest.approx(expected, rel=1e-4), level
        assert lines[0]["sampler_ratio_max"] == pytest.approx(3.0, rel=1e-4)
        assert lines[0]["sampler_ratio_min"] == pytest.approx(0.5, rel=1e-4)
        if level == "token":  # the tokens of sample (0, 0) were capped
            assert lines[0]["rollout_is_capped_frac"] == pytest.approx(lengths[0][0] / tokens)


def test_rejection_zeroes_the_extreme_sequences(tiny_model, scored):
    rewards, lengths = flat(scored)
    adv = group_std_advantages(rewards)
    groups = shifted(scored, [[math.log(1 / 3), 0, 0, 0], [0, 0, math.log(2)]])
    tokens = sum(map(sum, lengths))
    _, lines = step(tiny_model, groups, rollout_rs="token", rollout_rs_low=0.6, rollout_rs_high=2.5)
    kept = [[n if (g, i) not in ((0, 0), (1, 2)) else 0 for i, n in enumerate(ls)] for g, ls in enumerate(lengths)]
    expected = -sum(a * n for aa, ks in zip(adv, kept) for a, n in zip(aa, ks)) / tokens  # rejected tokens stay in the denominator
    assert lines[0]["loss"] == pytest.approx(expected, rel=1e-4)
    assert lines[0]["rollout_rs_rejected_frac"] == pytest.approx((lengths[0][0] + lengths[1][2]) / tokens)


def test_entropy_bonus_lowers_the_loss_by_coef_times_entropy(tiny_model, scored):
    _, plain = step(tiny_model, scored)
    _, bonus = step(tiny_model, scored, entropy_coef=0.01)
    # with nothing masked, token-mean entropy over the batch is the batch's entropy figure
    assert bonus[0]["entropy_loss"] == pytest.approx(plain[0]["entropy"], rel=1e-5)
    assert bonus[0]["loss"] == pytest.approx(plain[0]["loss"] - 0.01 * bonus[0]["entropy_loss"], abs=1e-6)
    assert bonus[0]["grad_norm"] != pytest.approx(plain[0]["grad_norm"], rel=1e-6)  # the bonus has a gradient


def test_a_non_finite_gradient_never_reaches_the_weights(tiny_model, scored):
    from mc.train.step import Trainer, TrainConfig

    trainer = Trainer(str(tiny_model), TrainConfig(lr=1e-3), "cpu")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    weight = trainer.model.get_input_embeddings().weight
    hook = weight.register_hook(lambda grad: torch.full_like(grad, float("nan")))  # what an overflow in backward gives
    lines = trainer.train_step(scored)
    hook.remove()
    assert lines[0]["skipped"] == "non-finite gradient" and trainer.optimizer_steps == 0
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(not s for s in trainer.optimizer.state.values())  # no moments poisoned
    lines = trainer.train_step(scored)  # and the next step trains normally
    assert "skipped" not in lines[0] and trainer.optimizer_steps == 1


@pytest.mark.slow
def test_train_step_dynamic_sampling_and_batch_groups(tiny_model, scored, tmp_path):
    uniform = json.loads(json.dumps(scored[0]))
    uniform["problem"]["id"] = "t/uniform"
    for s in uniform["samples"]:
        s["reward"] = 0.0
    lines = "".join(json.dumps(g) + "\n" for g in [uniform, *scored])
    out = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "a", "--lr", "1e-3", "--dynamic-sampling",
                 input=lines, check_rc=0)
    line = jsonl_lines(out.stdout)[0]
    assert (line["groups"], line["dynamic_rolled_groups"], line["dynamic_informative"]) == (2, 3, 2)
    assert line["dynamic_kept_frac"] == pytest.approx(2 / 3) and line["zero_variance_groups"] == 0
    out = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "b", "--lr", "1e-3", "--dynamic-sampling",
                 "--batch-groups", "1", input=lines, check_rc=0)
    assert jsonl_lines(out.stdout)[0]["groups"] == 1
    short = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "c", "--lr", "1e-3", "--dynamic-sampling",
                   "--batch-groups", "5", input=lines, check_rc=0)
    assert jsonl_lines(short.stdout)[0]["groups"] == 2 and b"fewer than --batch-groups 5" in short.stderr
    # nothing informative: no update, the step is counted, the weights are the policy's
    none = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "d", "--lr", "1e-3", "--preset", "dapo",
                  input=json.dumps(uniform) + "\n", check_rc=0)
    line = jsonl_lines(none.stdout)[0]
    assert line["skipped"] == "no informative group" and b"overlong" in none.stderr  # dapo's shaping is a reward option
    assert json.loads((tmp_path / "d" / "meta.json").read_text())["step"] == 1
    from safetensors.torch import load_file

    a, b = load_file(str(tiny_model / "model.safetensors")), load_file(str(tmp_path / "d" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_reward_overlong_buffer_through_the_cli(scored, tmp_path):
    raw = "".join(json.dumps(g) + "\n" for g in scored)
    shaped = jsonl_lines(run_mc("reward", "--workers", "1", "--overlong-buffer", "8", input=raw, check_rc=0).stdout)
    for group in shaped:
        for s in group["samples"]:
            n = len(s["token_ids"])
            assert s["overlong_penalty"] == pytest.approx(min(-(n - 48) / 8, 0.0))  # L_max 56, buffer 8
            assert s["reward"] == pytest.approx(s["judged_reward"] + s["overlong_penalty"])
    assert any(s["overlong_penalty"] == -1.0 for g in shaped for s in g["samples"])  # the truncated one
    # judged again without shaping: the stale fields go
    plain = jsonl_lines(run_mc("reward", "--workers", "1", input="".join(json.dumps(g) + "\n" for g in shaped), check_rc=0).stdout)
    assert not any("overlong_penalty" in s or "judged_reward" in s for g in plain for s in g["samples"])
    assert run_mc("reward", "--max-tokens", "9", input=raw).returncode == 2
    assert run_mc("reward", "--overlong-buffer", "150%", input=raw).returncode == 2


@pytest.mark.parametrize("flags", [["--dual-clip", "0.5"], ["--rollout-rs-bounds", "2:3"], ["--rollout-is", "tokens"],
                                   ["--scale-rewards", "std"], ["--preset", "ppo"]])
def test_bad_algorithm_flags_exit_2(tiny_model, tmp_path, flags):
    proc = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / "o", "--lr", "1e-3", *flags, input=b"")
    assert proc.returncode == 2, proc.stderr


def test_help_lists_what_each_preset_sets():
    out = run_mc("train-step", "--help", env={"COLUMNS": "200"}, check_rc=0).stdout.decode()
    for words in ("dapo: clip 0.2/0.28", "dynamic sampling", "drgrpo", "not divided by a std", "grpo: clip 0.2/0.2"):
        assert words in " ".join(out.split()), words


@pytest.mark.slow
def test_a_real_mismatch_bfloat16_sampler_float32_trainer(tiny_model, tmp_path):
    """The same rollout sampled in bfloat16 and in float32, trained in float32: the correction
    sees the bf16 sampler's gap (caps it, rejects its extremes), and sees none with the float32 sampler."""
    run_mc("data", "synth", "--count", "2", "--families", "add_k,max_k", "--seed", "3", "-o", tmp_path / "p.jsonl", check_rc=0)

    def train(scored, name, *flags):
        out = run_mc("train-step", "--policy", tiny_model, "--out", tmp_path / name, "--lr", "1e-3", *flags, input=scored, check_rc=0)
        return jsonl_lines(out.stdout)[0]

    is_flags, rs_flags = ("--rollout-is", "token", "--rollout-is-cap", "1.001"), ("--rollout-rs", "token", "--rollout-rs-bounds", "0.999:1.001")
    scored = {}
    for dtype in ("bfloat16", "float32"):
        groups = run_mc("rollout", "--model", tiny_model, "--n", "4", "--max-tokens", "24", "--dtype", dtype, "--seed", "1",
                        tmp_path / "p.jsonl", check_rc=0).stdout
        scored[dtype] = run_mc("reward", "--workers", "1", input=groups, check_rc=0).stdout
    fp32 = train(scored["float32"], "fp32", *is_flags, *rs_flags)
    assert fp32["sampler_gap_max"] < 1e-4 and fp32["rollout_is_capped_frac"] == 0 and fp32["rollout_rs_rejected_frac"] == 0
    capped, rejected = train(scored["bfloat16"], "is", *is_flags), train(scored["bfloat16"], "rs", *rs_flags)
    assert capped["sampler_gap_max"] > 1e-3 and capped["sampler_ratio_max"] > 1.001 and capped["sampler_ratio_min"] < 0.999
    assert capped["rollout_is_capped_frac"] > 0 and capped["rollout_is_weight_mean"] != pytest.approx(1.0, abs=1e-6)
    assert 0 < rejected["rollout_rs_rejected_frac"] < 1
