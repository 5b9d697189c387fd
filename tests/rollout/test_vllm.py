"""The vllm backend, for real: vLLM's CPU build here (`make vllm`), a CUDA build on a GPU.

One engine per test session (in this process) on mc's tiny model; the records it
gives are checked against the hf backend's, its log-probs against a float32 HF
forward pass, its seeds against themselves, and `mc rollout --backend vllm`'s
stdout against a JSON parser.
"""

from __future__ import annotations

import json

import pytest
import torch

from helpers import jsonl_lines, logprob_gaps, run_mc
from mc.rollout.backends import vllm_usable

USABLE, WHY = vllm_usable()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not USABLE, reason=f"{WHY} (make vllm installs the CPU build)")]

ENGINE_ARGS = {"kv_cache_memory_bytes": 1 << 30}  # the tests share the machine with the judge's workers
EXACT = 1e-5  # float32: the engine's kernels differ from an eager forward only in rounding


@pytest.fixture(scope="session")
def engine(tiny_model):
    from mc.rollout.vllm_backend import VLLMBackend

    return VLLMBackend(str(tiny_model), dtype="float32", seed=0, engine_args=ENGINE_ARGS)


@pytest.fixture(scope="session")
def hf_model(tiny_model):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32).eval()


@pytest.fixture(scope="session")
def problems(real):
    from mc.data.importer import import_problems

    return list(import_problems([str(real.lcb_public)]))[:4]


def roll(backend, tiny_model, problems, **config):
    from mc.rollout.rollout import Roller, RolloutConfig, RolloutReport

    settings = {"n": 4, "temperature": 1.0, "max_tokens": 48, "seed": 0, **config}
    return list(Roller(backend, str(tiny_model), RolloutConfig(**settings)).groups(problems, RolloutReport()))


def test_the_records_are_the_hf_backends_records(engine, tiny_model, problems):
    from mc.rollout.hf import HFBackend

    via_vllm = roll(engine, tiny_model, problems)
    via_hf = roll(HFBackend(str(tiny_model)), tiny_model, problems)
    assert len(via_vllm) == len(via_hf) == len(problems)
    stop_ids = set(engine.stop_ids)
    assert stop_ids == set(HFBackend(str(tiny_model)).stop_ids)
    for a, b in zip(via_vllm, via_hf):
        assert a.keys() == b.keys()
        assert a["problem"] == b["problem"] and a["prompt"] == b["prompt"] and a["prompt_ids"] == b["prompt_ids"]
        assert {**a["rollout"], "backend": "hf"} == b["rollout"] and a["rollout"]["backend"] == "vllm"
        for s, t in zip(a["samples"], b["samples"]):
            assert s.keys() == t.keys()
            assert s["policy_version"] == t["policy_version"] == 0
            assert isinstance(s["repeat"], bool) and s["temperature"] == 1.0
            assert s["finish_reason"] in ("stop", "length")
            if s["finish_reason"] == "length":  # ran to --max-tokens without a stop token
                assert len(s["token_ids"]) == 48 and not stop_ids & set(s["token_ids"])
            else:  # the stop token is kept, last, as the hf backend keeps it
                assert s["token_ids"][-1] in stop_ids and not stop_ids & set(s["token_ids"][:-1])
            assert s["text"] == engine.decode(s["token_ids"])
    reasons = {s["finish_reason"] for g in via_vllm for s in g["samples"]}
    assert reasons == {"stop", "length"}, reasons  # both kinds were exercised


@pytest.mark.parametrize("temperature,top_p,top_k", [(1.0, 1.0, 0), (0.7, 1.0, 0), (1.2, 0.9, 0), (1.0, 1.0, 20)])
def test_logprobs_equal_a_float32_hf_recomputation(engine, hf_model, tiny_model, problems, temperature, top_p, top_k):
    groups = roll(engine, tiny_model, problems, temperature=temperature, top_p=top_p, top_k=top_k)
    assert logprob_gaps(hf_model, groups, top_p, top_k)[0] <= EXACT


def test_the_same_seed_gives_the_same_samples(engine, tiny_model, problems):
    first, again = roll(engine, tiny_model, problems, seed=3), roll(engine, tiny_model, problems, seed=3)
    other = roll(engine, tiny_model, problems, seed=4)
    ids = lambda groups: [s["token_ids"] for g in groups for s in g["samples"]]  # noqa: E731
    assert ids(first) == ids(again)
    assert [s["logprobs"] for g in first for s in g["samples"]] == [s["logprobs"] for g in again for s in g["samples"]]
    assert ids(first) != ids(other)
    # Within a group the n samples are different draws, not one draw n times.
    assert all(len({tuple(s["token_ids"]) for s in g["samples"]}) > 1 for g in first)


def test_sampling_leaves_the_process_random_stream_alone(engine, tiny_model, problems):
    """On a CPU the engine samples from the process's generator, seeded per batch; the
    trainer sharing the process must see its own stream continue as if nothing ran."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    roll(engine, tiny_model, problems[:1], n=2, max_tokens=8)
    assert torch.equal(torch.rand(3), expected)


def test_the_engine_keeps_torch_threads_settable(engine):
    """vLLM's CPU worker swaps torch.set_num_threads for a no-op; the trainer in the
    same process must still be able to set its threads."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert engine.threads == before


def test_mc_rollout_backend_vllm_writes_only_records_to_stdout(engine, tiny_model, problems, tmp_path):
    """The command, in its own process: stdout parses as JSON line by line, vLLM's
    start-up talk stays off stdout (and off stderr unless --debug), and the records
    equal the in-process engine's for the same seed."""
    source = tmp_path / "problems.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in problems))
    # --batch-size 8: two problems per engine call, so records are written between calls
    # (the engine's stdout guard opens and closes around each).
    proc = run_mc("rollout", "-m", tiny_model, "--backend", "vllm", "--n", "4", "--max-tokens", "48", "--dtype", "float32",
                  "--batch-size", "8", "--vllm-arg", f"kv_cache_memory_bytes={ENGINE_ARGS['kv_cache_memory_bytes']}",
                  source, check_rc=0)
    lines = proc.stdout.decode().splitlines()
    groups = [json.loads(line) for line in lines]  # every line is a record
    assert [g["problem"]["id"] for g in groups] == [p["id"] for p in problems]
    assert all(g["rollout"]["backend"] == "vllm" for g in groups)
    here = roll(engine, tiny_model, problems, batch_size=8)
    assert [s["token_ids"] for g in groups for s in g["samples"]] == [s["token_ids"] for g in here for s in g["samples"]]
    stderr = proc.stderr.decode()
    assert "INFO" not in stderr and "Loading safetensors" not in stderr and "Triton" not in stderr, stderr
    assert "mc rollout: 4 groups, 16 samples" in stderr and "vllm: engine ready in" in stderr
    # Through a pipe into the next stage, as users run it.
    scored = run_mc("reward", input=proc.stdout, check_rc=0)
    assert len(jsonl_lines(scored.stdout)) == len(problems)



def test_mc_eval_backend_vllm(tiny_model, problems, tmp_path):
    """mc eval samples through the engine too; an engine argument from the command line
    reaches vLLM (enforce_eager: no compile, a shorter start)."""
    source = tmp_path / "problems.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in problems[:2]))
    proc = run_mc("eval", "--model", tiny_model, "--backend", "vllm", "--n", "2", "--max-tokens", "32",
                  "--vllm-arg", "enforce_eager=true", "--vllm-arg", f"kv_cache_memory_bytes={ENGINE_ARGS['kv_cache_memory_bytes']}",
                  "--save-groups", tmp_path / "groups.jsonl", source, check_rc=0)
    document = json.loads(proc.stdout)
    run = next(iter(document["runs"].values()))
    assert run["problems"] == 2 and run["samples"] == 4
    groups = jsonl_lines((tmp_path / "groups.jsonl").read_bytes())
    assert [g["rollout"]["backend"] for g in groups] == ["vllm", "vllm"]
    # An argument vLLM does not take: a usage error naming it.
    bad = run_mc("eval", "--model", tiny_model, "--backend", "vllm", "--vllm-arg", "no_such_engine_arg=1", source)
    assert bad.returncode == 2 and b"no_such_engine_arg" in bad.stderr, bad.stderr


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = counts.sum() * probs
    return float(((counts - expected) ** 2 / expected.clamp(min=1e-12)).sum())


def test_the_engine_samples_the_distribution_it_reports(engine, hf_model):
    """The recorded log-probs being right is half of it: the tokens must also be drawn
    from that distribution (else GRPO's ratio is right for the wrong samples). 4,096
    one-token draws per temperature, against the HF model's softmax(logits / T) over
    the 512-token vocabulary: Pearson's chi-square stays under its 1e-6 tail (~680 for
    511 degrees of freedom), and is far above it against the other temperature's."""
    prompt = [1, 17, 33, 90]
    with torch.no_grad():
        logits = hf_model(torch.tensor([prompt])).logits[0, -1]
    generator = torch.Generator().manual_seed(1)
    counts = {}
    for temperature in (1.0, 0.3):
        counts[temperature] = torch.zeros(logits.shape[-1])
        for _ in range(4):
            for group in engine.sample([prompt] * 64, 16, temperature, 1.0, 0, 1, generator):
                for completion in group:
                    counts[temperature][completion.token_ids[0]] += 1
    for temperature, other in ((1.0, 0.3), (0.3, 1.0)):
        assert chi_square(counts[temperature], torch.softmax(logits / temperature, -1)) < 680
        assert chi_square(counts[temperature], torch.softmax(logits / other, -1)) > 680


def test_requests_stream_out_as_they_finish_with_the_batch_samples(engine, tiny_model, problems):
    """sample_stream gives each prompt once, as its request finishes, and the same
    completions `sample` (all at once) gives for the same seed; the process's random
    stream is its own between engine steps (the judge, or the update, runs there)."""
    prompts = [engine.tokenizer(p["question"][:200], add_special_tokens=False)["input_ids"] for p in problems]
    prompts += [prompts[0][:5]]  # a short prompt: its request finishes early
    whole = engine.sample(prompts, 3, 1.0, 1.0, 0, 48, torch.Generator().manual_seed(9))
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    order, streamed = [], {}
    for i, completions in engine.sample_stream(prompts, 3, 1.0, 1.0, 0, 48, torch.Generator().manual_seed(9)):
        order.append(i)
        streamed[i] = completions
        if len(order) == 1:
            assert torch.equal(torch.rand(1), expected)  # between steps: the process's own stream
    assert sorted(order) == list(range(len(prompts)))
    for i, completions in enumerate(whole):
        assert [(c.token_ids, c.logprobs, c.finish_reason) for c in completions] == \
               [(c.token_ids, c.logprobs, c.finish_reason) for c in streamed[i]]


def test_a_stream_left_early_leaves_no_request_behind(engine, tiny_model, problems):
    prompts = [engine.tokenizer(p["question"][:200], add_special_tokens=False)["input_ids"] for p in problems]
    stream = engine.sample_stream(prompts, 2, 1.0, 1.0, 0, 48, torch.Generator().manual_seed(1))
    next(stream)
    stream.close()  # the consumer stopped (an error in the judge, an interrupt)
    assert not engine.llm.llm_engine.has_unfinished_requests()
    again = engine.sample(prompts, 2, 1.0, 1.0, 0, 48, torch.Generator().manual_seed(1))
    assert len(again) == len(prompts)


def test_choice_logprobs_equal_the_hf_backends(engine, tiny_model, problems):
    """The restricted next-token distribution `mc data predict-difficulty` rates with: the
    engine's (one token, allowed among the choices) equals the hf backend's forward pass,
    and reading it leaves the process's random stream alone."""
    from mc.data.predict import DEFAULT_RUBRIC, rating_prompt
    from mc.rollout.hf import HFBackend

    hf = HFBackend(str(tiny_model), device="cpu", dtype="float32")
    prompts, choices = [], []
    for problem in problems:
        for dimension in DEFAULT_RUBRIC["dimensions"][:2]:
            ids, digits = rating_prompt(problem, dimension, DEFAULT_RUBRIC, hf.tokenizer)
            prompts.append(ids)
            choices.append(digits)
    state = torch.get_rng_state()
    got = engine.choice_logprobs(prompts, choices)
    assert torch.equal(state, torch.get_rng_state())
    want = hf.choice_logprobs(prompts, choices)
    assert len(got) == len(want) == len(prompts)
    for g, w in zip(got, want):
        assert abs(sum(torch.tensor(g).exp()) - 1) < 1e-5
        assert max(abs(a - b) for a, b in zip(g, w)) <= EXACT * 10
