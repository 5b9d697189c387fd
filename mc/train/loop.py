"""`mc train`: rollout -> reward -> train-step in one process, the model resident.

Run folder layout (everything a later `--resume` needs):

    RUN/metrics.jsonl       one line per optimizer step (plus rollout and eval figures)
    RUN/ckpt-000004/        checkpoints (HF folder + trainer state), written atomically
    RUN/groups/step-000003.jsonl   scored groups, with --save-groups
    RUN/run.json            the resolved settings of the run

Determinism, so that a resumed run and a piece-by-piece run match a straight
one: step k trains on `batch_problems(train, k, size, seed)` (the problems of
epoch k*size // len(train), shuffled with seed + epoch), samples with rollout
seed `seed + k`, and masks with train-step's (seed, step) generator; the
trainer's own state lives in the checkpoint. On resume the last complete
checkpoint is loaded, metrics lines of later steps are dropped (so no step is
lost or counted twice) and the loop goes on from its step.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mc.errors import McError
from mc.eval.report import build_report
from mc.jsonl import atomic_path, dumps, write_records
from mc.reward.judge import JudgeConfig
from mc.reward.score import ScoreReport, score_groups
from mc.rollout.diversity import batch_diversity
from mc.rollout.rollout import Roller, RolloutConfig, RolloutReport
from mc.train.step import Trainer, TrainConfig

CKPT = re.compile(r"^ckpt-(\d{6})$")


@dataclass
class LoopConfig:
    steps: int
    batch_size: int = 16  # problems per step
    save_every: int = 10
    eval_every: int = 0
    eval_n: int = 4
    eval_temperature: float | None = None  # default: the rollout temperature
    save_groups: bool = False
    seed: int = 0


def batch_problems(problems: list[dict], step: int, size: int, seed: int) -> list[dict]:
    """The problems of `step`: epochs are shuffles of the set (seed + epoch), taken in order."""
    n = len(problems)
    if n == 0:
        raise McError("the training set is empty")
    chosen = []
    for position in range(step * size, (step + 1) * size):
        epoch, index = divmod(position, n)
        order = list(range(n))
        random.Random(seed + epoch).shuffle(order)
        chosen.append(problems[order[index]])
    return chosen


def checkpoint_dir(run: str, step: int) -> str:
    return os.path.join(run, f"ckpt-{step:06d}")


def last_checkpoint(run: str) -> tuple[int, str] | None:
    found = [(int(m.group(1)), os.path.join(run, name)) for name in os.listdir(run) if (m := CKPT.match(name))]
    found = [(s, p) for s, p in found if os.path.exists(os.path.join(p, "meta.json"))]
    return max(found) if found else None


def _metrics_before(path: str, step: int) -> None:
    """Keep only the metrics lines of steps before `step` (rewritten atomically)."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        kept = [line for line in f if line.strip() and json.loads(line).get("step", 0) < step]
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.writelines(kept)


class Loop:
    def __init__(self, model: str, train: list[dict], run: str, rollout: RolloutConfig, judge: JudgeConfig,
                 trainer_config: TrainConfig, loop: LoopConfig, sandbox, backend_name: str = "hf",
                 eval_problems: list[dict] | None = None, resume: bool = False, log: Callable[[str], None] = print,
                 tensor_parallel_size: int = 1):
        self.train, self.run, self.rollout_config, self.judge = train, run, rollout, judge
        self.loop, self.sandbox, self.eval_problems, self.log = loop, sandbox, eval_problems, log
        self.tensor_parallel_size = tensor_parallel_size
        self._fsdp_ready = False  # FSDP2 initialises on its root's first forward
        os.makedirs(run, exist_ok=True)
        self.metrics_path = os.path.join(run, "metrics.jsonl")
        start_from = model
        last = last_checkpoint(run) if resume else None
        if last is not None:
            start_from = last[1]
        if not resume and os.path.exists(self.metrics_path) and os.path.getsize(self.metrics_path):
            raise McError(f"{run} already holds a run", "pass --resume to continue it, or choose another --out")
        self.trainer = Trainer(start_from, trainer_config)
        self.world = self.trainer.world  # under torchrun: each rank rolls out and judges its share
        if resume and self.trainer.main:
            _metrics_before(self.metrics_path, last[0] if last else 0)
        self.backend = self._backend(backend_name)
        if self.trainer.main:
            self._write_run_json(model, backend_name)

    def _write_run_json(self, model: str, backend_name: str) -> None:
        rollout, trainer_config, loop = self.rollout_config, self.trainer.config, self.loop
        with atomic_path(os.path.join(self.run, "run.json")) as tmp, open(tmp, "w") as f:
            json.dump({"model": model, "rollout": {**asdict(rollout), "prompt_template": rollout.prompt_template is not None},
                       "train": asdict(trainer_config), "loop": asdict(loop), "backend": backend_name,
                       "ranks": self.world.size if self.world else 1}, f, indent=1)

    def _backend(self, name: str):
        if name == "vllm":
            from mc.rollout.vllm_backend import VLLMBackend

            if self.world and self.world.size % self.tensor_parallel_size:
                raise McError(f"--tensor-parallel-size {self.tensor_parallel_size} does not divide the {self.world.size} ranks")
            # Colocated: the engine sleeps while the trainer updates. Under torchrun the
            # ranks themselves are vLLM's workers ("external_launcher"), tensor-parallel
            # in groups of --tensor-parallel-size, data-parallel across groups.
            backend = VLLMBackend(self.trainer.policy_path, tensor_parallel_size=self.tensor_parallel_size, seed=self.loop.seed,
                                  enable_sleep_mode=True,
                                  distributed_executor_backend="external_launcher" if self.world else None)
            backend.load_weights(self._full_weights())
            return backend
        from mc.rollout.hf import HFBackend

        return HFBackend.from_model(self.trainer.model, self.trainer.tokenizer)

    def _sampling_ranks(self) -> tuple[int, int]:
        """(index, count) of this rank's sampling group: ranks that share one tensor-parallel
        vLLM engine sample the same prompts together."""
        if self.world is None:
            return 0, 1
        tp = self.tensor_parallel_size if self.backend.name == "vllm" else 1
        return self.world.rank // tp, self.world.size // tp

    def _roller(self, step: int, temperature: float | None = None, n: int | None = None) -> Roller:
        seed = self.loop.seed + step
        if self.world:  # one sampling stream per group; group 0 of 1 is the single-process stream
            index, count = self._sampling_ranks()
            seed = seed * count + index
        config = RolloutConfig(**{**asdict(self.rollout_config), "seed": seed, "policy_version": step})
        if temperature is not None:
            config.temperature, config.schedule = temperature, None
        if n is not None:
            config.n = n
        return Roller(self.backend, self.trainer.policy_path, config)

    def evaluate(self, step: int) -> dict:
        temperature = self.loop.eval_temperature
        if temperature is None:
            temperature = self.rollout_config.temperature if self.rollout_config.temperature is not None else 1.0
        roller = self._roller(10**6 + step, temperature=temperature, n=self.loop.eval_n)
        groups = self._scored_groups(roller, self.eval_problems, RolloutReport())
        report = build_report(groups, [1])
        return {"eval_pass@1": report["overall"].get("pass@1"), "eval_problems": report["problems"], "eval_samples": report["samples"]}

    def run_steps(self, on_step: Callable[[dict], None] | None = None) -> None:
        loop = self.loop
        while self.trainer.step < loop.steps:
            step = self.trainer.step
            started = time.monotonic()
            problems = batch_problems(self.train, step, loop.batch_size, loop.seed)
            rollout_report = RolloutReport()
            t0 = time.monotonic()
            scored, t1 = self._scored_groups(self._roller(step), problems, rollout_report, timed=True)
            t2 = time.monotonic()
            if self.backend.name == "vllm":
                self.backend.sleep()
            lines = self.trainer.train_step(scored)
            t3 = time.monotonic()
            if self.backend.name == "vllm":
                self.backend.wake_up()
                self.backend.load_weights(self._full_weights())
            extra = {
                "diversity": batch_diversity(rollout_report.diversities),
                "temperature": rollout_report.temperature,
                "pass_rate": sum(s["verdict"] == "pass" for g in scored for s in g["samples"]) / max(rollout_report.samples, 1),
                "truncated_rate": rollout_report.truncated / max(rollout_report.samples, 1),
                "rollout_s": round(t1 - t0, 3), "reward_s": round(t2 - t1, 3), "train_s": round(t3 - t2, 3),
            }
            if loop.eval_every and self.eval_problems and (step + 1) % loop.eval_every == 0:
                extra.update(self.evaluate(step + 1))
            if loop.save_groups and self.trainer.main:
                os.makedirs(os.path.join(self.run, "groups"), exist_ok=True)
                write_records(scored, os.path.join(self.run, "groups", f"step-{step:06d}.jsonl"))
            if self.trainer.main:
                with open(self.metrics_path, "ab") as f:
                    for line in lines:
                        f.write(dumps({**line, **extra, "step_s": round(time.monotonic() - started, 3)}))
                    f.flush()
                    os.fsync(f.fileno())
            if (step + 1) % loop.save_every == 0 or step + 1 == loop.steps:
                self.trainer.save(checkpoint_dir(self.run, step + 1))
            if on_step and self.trainer.main:
                on_step({**lines[-1], **extra})

    # -- several ranks --------------------------------------------------------------

    def _scored_groups(self, roller: Roller, problems: list[dict], report: RolloutReport, timed: bool = False):
        """Roll out and judge `problems`; under torchrun each rank takes problems rank,
        rank + W, ... and the scored groups are gathered back into problem order on
        every rank (training needs all of them everywhere)."""
        index, count = self._sampling_ranks()
        mine = problems[index::count]
        with self._rollout_weights():
            groups = list(roller.groups(mine, report))
        rolled = time.monotonic()
        scored = list(score_groups(groups, self.sandbox, self.judge, ScoreReport()))
        if self.world is not None:
            import torch.distributed as dist

            parts: list = [None] * self.world.size
            dist.all_gather_object(parts, (scored, _report_counts(report)))
            tp = self.world.size // count
            leads = [parts[g * tp] for g in range(count)]  # one rank per sampling group
            scored = [leads[j % count][0][j // count] for j in range(len(problems))]
            _merge_report_counts(report, [c for _, c in leads])
        return (scored, rolled) if timed else scored

    def _rollout_weights(self):
        """FSDP2 shards the weights; the hf sampler needs them whole while it runs."""
        from contextlib import nullcontext

        if self.world is None or not self.trainer.config.fsdp or self.backend.name != "hf":
            return nullcontext()
        if not self._fsdp_ready:
            # FSDP2 sets itself up on its root's first forward: make that one first.
            import torch

            with torch.no_grad():
                one = torch.ones((1, 2), dtype=torch.long, device=self.trainer.device)
                self.trainer.policy(one, one, torch.ones(1, device=self.trainer.device))
            self._fsdp_ready = True
        return _Unsharded(self.trainer.policy)

    def _full_weights(self):
        """(name, full tensor) pairs for the vLLM engine; gathered when FSDP2 shards them."""
        for name, param in self.trainer.model.named_parameters():
            tensor = param.data
            if hasattr(tensor, "full_tensor"):
                tensor = tensor.full_tensor()
            yield name, tensor


class _Unsharded:
    def __init__(self, module):
        self.fsdp_modules = [m for m in module.modules() if hasattr(m, "unshard") and hasattr(m, "reshard")]

    def __enter__(self):
        # Gather every shard once and keep it: ranks sample different numbers of tokens,
        # so per-forward all-gathers would not pair up across ranks.
        for m in self.fsdp_modules:
            m.set_reshard_after_forward(False)
            m.unshard()
        return self

    def __exit__(self, *exc):
        for m in self.fsdp_modules:
            m.reshard()
            m.set_reshard_after_forward(True)
        return False


def _report_counts(report: RolloutReport) -> dict:
    return {"samples": report.samples, "truncated": report.truncated, "diversities": list(report.diversities)}


def _merge_report_counts(report: RolloutReport, parts: list[dict]) -> None:
    report.samples = sum(p["samples"] for p in parts)
    report.truncated = sum(p["truncated"] for p in parts)
    report.diversities = [d for p in parts for d in p["diversities"]]
