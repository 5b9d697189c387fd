"""`mc train`: rollout -> reward -> train-step in one process, the model resident.

Run folder layout (everything a later `--resume` needs):

    RUN/metrics.jsonl       one line per optimizer step (plus rollout and eval figures)
    RUN/ckpt-000004/        checkpoints (HF folder + trainer state), written atomically
    RUN/groups/step-000003.jsonl   scored groups, with --save-groups
    RUN/run.json            the run's flags (what --resume continues with) and resolved settings

Determinism, so that a resumed run and a piece-by-piece run match a straight
one: the problems are read in a fixed order (epochs are shuffles of the set
with seed + epoch) from a data position the checkpoint records; step k takes
the next `size` of them (without dynamic sampling: positions k*size onwards),
samples with rollout seed `seed + k`, and masks with train-step's (seed, step)
generator; the trainer's own state lives in the checkpoint.

Dynamic sampling (DAPO): groups whose rewards are all equal are dropped and
the step rolls out the next `size` problems, round after round (round r
samples with seed `seed + k + r * 10**7`), until it holds `size` informative
groups or has made `dynamic_rounds` rounds; surplus informative groups are
dropped, as DAPO does. Every problem rolled out moves the data position on.
After the last round the step trains on what it has (verl stops the run
instead); with no informative group at all it makes no update and is counted. On resume the last complete
checkpoint is loaded, metrics lines of later steps are dropped (so no step is
lost or counted twice) and the loop goes on from its step. The flags a resume
runs with are the run's own (mc.train.settings.resume_flags), so run.json
describes every step of the run.

`--temperature auto` (temperature None without a schedule) probes once, when the
run starts: the candidates on the first `probe_problems` problems of epoch 0,
and the chosen temperature holds for the whole run (one constant stage: the
temperature never moves step by step). The probe is recorded in run.json and a
resume reuses it, so a resumed run samples as the straight one did.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mc import console
from mc.errors import McError
from mc.eval.report import build_report
from mc.jsonl import atomic_path, dumps, write_records
from mc.reward.judge import JudgeConfig
from mc.reward.score import ScoreReport, score_groups
from mc.reward.shaping import shape_group
from mc.rollout.diversity import batch_diversity
from mc.rollout.rollout import Roller, RolloutConfig, RolloutReport
from mc.train.checkpoint import model_ref
from mc.train.dynamic import informative
from mc.train.settings import RUN_FILE, read_run
from mc.train.step import Trainer, TrainConfig

CKPT = re.compile(r"^ckpt-(\d{6})$")


@dataclass
class LoopConfig:
    steps: int
    batch_size: int = 16  # problems per step
    save_every: int = 10
    eval_every: int = 0  # 0: with eval problems, only after the last step
    eval_n: int = 4
    eval_temperature: float | None = None  # default: the rollout temperature
    save_groups: bool = False
    seed: int = 0
    dynamic_sampling: bool = False  # drop all-equal groups and roll out more problems (DAPO)
    dynamic_rounds: int = 10  # at most this many rollout rounds per step, the first included (verl's max_num_gen_batches)
    overlong_buffer: tuple[float, bool] | None = None  # DAPO's soft overlong punishment (mc.reward.shaping.parse_buffer)
    overlong_penalty: float = 1.0


def problems_at(problems: list[dict], start: int, count: int, seed: int) -> list[dict]:
    """`count` problems from data position `start`: epochs are shuffles of the set (seed + epoch), taken in order."""
    n = len(problems)
    if n == 0:
        raise McError("the training set is empty")
    chosen, orders = [], {}
    for position in range(start, start + count):
        epoch, index = divmod(position, n)
        if epoch not in orders:
            orders[epoch] = list(range(n))
            random.Random(seed + epoch).shuffle(orders[epoch])
        chosen.append(problems[orders[epoch][index]])
    return chosen


def batch_problems(problems: list[dict], step: int, size: int, seed: int) -> list[dict]:
    """The problems of `step` in a run without dynamic sampling (data positions step * size onwards)."""
    return problems_at(problems, step * size, size, seed)


def checkpoint_dir(run: str, step: int) -> str:
    return os.path.join(run, f"ckpt-{step:06d}")


def last_checkpoint(run: str) -> tuple[int, str] | None:
    found = [(int(m.group(1)), os.path.join(run, name)) for name in os.listdir(run) if (m := CKPT.match(name))]
    found = [(s, p) for s, p in found if os.path.exists(os.path.join(p, "meta.json"))]
    return max(found) if found else None


def metrics_before(path: str, step: int) -> list[bytes]:
    """The metrics lines of steps before `step` (what a resume from `step` keeps).

    A last line without its newline that does not parse is what a crash in the
    middle of a write leaves: it is dropped with a warning. That loses nothing,
    because a step's lines are written before its checkpoint, so a step caught
    mid-write has no checkpoint yet and its lines would be dropped anyway. Any
    other line that is not a metrics object is an error naming it: the file was
    edited or damaged, and silently dropping lines would lose a step's figures."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        lines = f.readlines()
    kept = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            if lineno == len(lines) and not line.endswith(b"\n"):
                if os.environ.get("RANK", "0") == "0":  # once under torchrun
                    console.warn(f"{path}:{lineno}: dropping a truncated last line (the run was stopped while writing it)")
                continue
            raise McError(f"{path}:{lineno}: not a metrics line ({e})",
                          "restore the file, or delete the bad line: --resume keeps the lines of the steps before its checkpoint") from None
        line_step = record.get("step", 0) if isinstance(record, dict) else None
        if isinstance(line_step, bool) or not isinstance(line_step, int):
            raise McError(f"{path}:{lineno}: not a metrics line (expected a JSON object with an integer 'step')",
                          "restore the file, or delete the bad line")
        if line_step < step:
            kept.append(line if line.endswith(b"\n") else line + b"\n")
    return kept


class Loop:
    def __init__(self, model: str, train: list[dict], run: str, rollout: RolloutConfig, judge: JudgeConfig,
                 trainer_config: TrainConfig, loop: LoopConfig, sandbox, backend_name: str = "hf",
                 eval_problems: list[dict] | None = None, resume: bool = False, log: Callable[[str], None] = print,
                 tensor_parallel_size: int = 1, device: str | None = None, dtype: str | None = None,
                 flags: dict | None = None, changed: dict | None = None, engine_args: dict | None = None):
        """`device`: the trainer's (and the hf sampler's); `dtype`: the sampler's (hf:
        autocast over the trainer's float32 weights; vllm: the engine's). `flags`: the
        command line as run.json records it; `changed`: the flags this resume changed."""
        self.train, self.run, self.rollout_config, self.judge = train, run, rollout, judge
        self.loop, self.sandbox, self.eval_problems, self.log = loop, sandbox, eval_problems, log
        self.tensor_parallel_size, self.dtype, self.engine_args = tensor_parallel_size, dtype, engine_args
        self._fsdp_ready = False  # FSDP2 initialises on its root's first forward
        self._phase: Callable[[str], None] = lambda text: None
        os.makedirs(run, exist_ok=True)
        self.metrics_path = os.path.join(run, "metrics.jsonl")
        start_from = model
        last = last_checkpoint(run) if resume else None
        if last is not None:
            start_from = last[1]
        if not resume and os.path.exists(self.metrics_path) and os.path.getsize(self.metrics_path):
            raise McError(f"{run} already holds a run", "pass --resume to continue it, or choose another --out")
        self.recorded = (read_run(run) or {}) if resume else {}
        # Read before the model loads, so a damaged metrics file fails at once.
        kept = metrics_before(self.metrics_path, last[0] if last else 0) if resume else None
        self.trainer = Trainer(start_from, trainer_config, device)
        self.world = self.trainer.world  # under torchrun: each rank rolls out and judges its share
        if kept is not None and self.trainer.main:
            with atomic_path(self.metrics_path) as tmp, open(tmp, "wb") as f:
                f.writelines(kept)
        self.backend = self._backend(backend_name)
        if self.trainer.main:
            self._write_run_json(model, backend_name, flags, changed)

    def _write_run_json(self, model: str, backend_name: str, flags: dict | None, changed: dict | None) -> None:
        rollout, trainer_config, loop = self.rollout_config, self.trainer.config, self.loop
        record = {key: self.recorded[key] for key in ("auto_temperature", "resumes") if key in self.recorded}
        if changed:
            record["resumes"] = record.get("resumes", []) + [
                {"step": self.trainer.step, "changed": {name: {"was": old, "now": new} for name, (old, new) in changed.items()}}]
        record.update({
            "model": model_ref(model), "flags": flags if flags is not None else self.recorded.get("flags"),
            "rollout": {**asdict(rollout), "prompt_template": rollout.prompt_template is not None},
            "train": asdict(trainer_config), "loop": asdict(loop), "backend": backend_name,
            "ranks": self.world.size if self.world else 1,
        })
        if record["flags"] is None:
            del record["flags"]
        self._save_run_json(record)

    def _save_run_json(self, record: dict) -> None:
        self.recorded = record
        with atomic_path(os.path.join(self.run, RUN_FILE)) as tmp, open(tmp, "w") as f:
            json.dump(record, f, indent=1)

    def _backend(self, name: str):
        if name == "vllm":
            from mc.rollout.vllm_backend import VLLMBackend

            if self.world and self.world.size % self.tensor_parallel_size:
                raise McError(f"--tensor-parallel-size {self.tensor_parallel_size} does not divide the {self.world.size} ranks")
            # Colocated: on a GPU the engine sleeps while the trainer updates. Under torchrun
            # the ranks themselves are vLLM's workers ("external_launcher"), tensor-parallel
            # in groups of --tensor-parallel-size, data-parallel across groups.
            backend = VLLMBackend(self.trainer.policy_path, tensor_parallel_size=self.tensor_parallel_size, seed=self.loop.seed,
                                  dtype=self.dtype, enable_sleep_mode=True,
                                  distributed_executor_backend="external_launcher" if self.world else None,
                                  engine_args=self.engine_args)  # built from the folder the trainer loaded
            return backend
        from mc.rollout.hf import HFBackend

        backend = HFBackend.from_model(self.trainer.model, self.trainer.tokenizer)
        if self.dtype not in (None, "float32"):
            return _Autocast(backend, self.dtype)
        return backend

    def _sampling_ranks(self) -> tuple[int, int]:
        """(index, count) of this rank's sampling group: ranks that share one tensor-parallel
        vLLM engine sample the same prompts together."""
        if self.world is None:
            return 0, 1
        tp = self.tensor_parallel_size if self.backend.name == "vllm" else 1
        return self.world.rank // tp, self.world.size // tp

    def _roller(self, step: int, temperature: float | None = None, n: int | None = None, round: int = 0) -> Roller:
        seed = self.loop.seed + step + round * 10**7
        if self.world:  # one sampling stream per group; group 0 of 1 is the single-process stream
            index, count = self._sampling_ranks()
            seed = seed * count + index
        config = RolloutConfig(**{**asdict(self.rollout_config), "seed": seed, "policy_version": step})
        if temperature is not None:
            config.temperature, config.schedule = temperature, None
        if n is not None:
            config.n = n
        return Roller(self.backend, self.trainer.policy_path, config)

    def auto_temperature(self) -> None:
        """--temperature auto: fix the run's temperature once (see the module's docstring)."""
        c = self.rollout_config
        if c.temperature is not None or c.schedule:
            return
        recorded = self.recorded.get("auto_temperature")
        if isinstance(recorded, dict) and isinstance(recorded.get("temperature"), (int, float)):
            c.temperature = float(recorded["temperature"])
            self.log(f"temperature auto: {c.temperature}, as probed when the run started (run.json)")
            return
        if c.target_diversity is None:
            raise McError("--temperature auto needs a --target-diversity band")
        self._phase("probing temperatures")
        probe_set = batch_problems(self.train, 0, c.probe_problems, self.loop.seed)
        roller = Roller(self.backend, self.trainer.policy_path, RolloutConfig(**{**asdict(c), "seed": self.loop.seed}))
        report = RolloutReport()
        with self._rollout_weights():
            chosen = roller.resolve_temperature(probe_set, report)
        if self.world is not None:  # every rank probed the same problems; rank 0's choice binds them all
            import torch.distributed as dist

            shared = [chosen]
            dist.broadcast_object_list(shared, src=0)
            chosen = shared[0]
        c.temperature = chosen
        probes = ", ".join(f"{p.temperature}: {p.diversity:.3f}" for p in report.probes)
        band = f"{c.target_diversity[0]}:{c.target_diversity[1]}"
        if self.trainer.main:
            self.log(f"temperature auto: chose {chosen} (diversity by temperature {probes}; target {band})")
            if not report.probe_in_band:
                console.warn(f"no candidate temperature reached diversity {band}; using the closest, {chosen}")
            self._save_run_json({**self.recorded, "auto_temperature": {
                "temperature": chosen, "in_band": report.probe_in_band, "step": self.trainer.step,
                "probes": [{"temperature": p.temperature, "diversity": p.diversity} for p in report.probes]}})

    def evaluate(self, step: int) -> dict:
        temperature = self.loop.eval_temperature
        if temperature is None:
            temperature = self.rollout_config.temperature if self.rollout_config.temperature is not None else 1.0
        roller = self._roller(10**6 + step, temperature=temperature, n=self.loop.eval_n)
        groups = self._scored_groups(roller, self.eval_problems, RolloutReport(), label="eval ")
        report = build_report(groups, [1])
        return {"eval_pass@1": report["overall"].get("pass@1"), "eval_problems": report["problems"], "eval_samples": report["samples"]}

    def _evaluates_after(self, step: int) -> bool:
        """Every --eval-every steps; with eval-every 0, once, after the last step
        (eval problems given and never used would be a silent no-op)."""
        if not self.eval_problems:
            return False
        if self.loop.eval_every:
            return step % self.loop.eval_every == 0
        return step == self.loop.steps

    def run_steps(self, on_step: Callable[[dict], None] | None = None, on_phase: Callable[[str], None] | None = None) -> None:
        """Steps until `loop.steps`; `on_step` gets each finished step's figures, `on_phase`
        a short text whenever the step in flight moves ("rollout 16/64 samples"), on rank 0."""
        loop = self.loop
        if on_phase and self.trainer.main:
            self._phase = on_phase
        if self.trainer.step < loop.steps:
            self.auto_temperature()
        while self.trainer.step < loop.steps:
            step = self.trainer.step
            started = time.monotonic()
            rollout_report = RolloutReport()
            scored, rolled, selection, rollout_s, reward_s = self._step_groups(step, rollout_report)
            t2 = time.monotonic()
            if self.backend.name == "vllm":
                self.backend.sleep()
            self._phase("train: starting")
            if scored:
                lines = self.trainer.train_step(scored, on_phase=lambda text: self._phase(f"train: {text}"))
            else:
                lines = self.trainer.skip_step("no informative group")
                if self.trainer.main:
                    console.warn(f"step {step}: no informative group in {selection['dynamic_rolled_groups']} rolled out "
                                 f"({selection['dynamic_rounds']} rounds): no update")
            t3 = time.monotonic()
            if self.backend.name == "vllm":
                self.backend.wake_up()
                self.backend.load_weights_from(self.trainer.model, version=self.trainer.step)
            extra = {
                "diversity": batch_diversity(rollout_report.diversities),
                "temperature": rollout_report.temperature,
                "pass_rate": sum(s["verdict"] == "pass" for g in rolled for s in g["samples"]) / max(rollout_report.samples, 1),
                "truncated_rate": rollout_report.truncated / max(rollout_report.samples, 1),
                "rollout_s": round(rollout_s, 3), "reward_s": round(reward_s, 3), "train_s": round(t3 - t2, 3),
                **selection,
            }
            if self._evaluates_after(step + 1):
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
                self._phase(f"saving ckpt-{step + 1:06d}")
                self.trainer.save(checkpoint_dir(self.run, step + 1))
            if on_step and self.trainer.main:
                on_step({**lines[-1], **extra})

    def _step_groups(self, step: int, report: RolloutReport) -> tuple[list[dict], list[dict], dict, float, float]:
        """The step's scored groups: (to train on, every group rolled out, dynamic-sampling
        figures, rollout seconds, reward seconds). Moves the data position on."""
        loop, size = self.loop, self.loop.batch_size
        position = self.trainer.data_position if self.trainer.data_position is not None else step * size
        kept, rolled, rollout_s, reward_s, rounds = [], [], 0.0, 0.0, 0
        while True:
            problems = problems_at(self.train, position, size, loop.seed)
            position += size
            t0 = time.monotonic()
            scored, t1 = self._scored_groups(self._roller(step, round=rounds), problems, report, timed=True,
                                             label=f"round {rounds + 1}: " if rounds else "")
            rollout_s, reward_s = rollout_s + (t1 - t0), reward_s + (time.monotonic() - t1)
            if loop.overlong_buffer is not None:
                scored = [shape_group(g, loop.overlong_buffer, loop.overlong_penalty) for g in scored]
            rounds += 1
            rolled += scored
            if not loop.dynamic_sampling:
                kept = scored
                break
            kept += [g for g in scored if informative(g)]
            if len(kept) >= size or rounds >= loop.dynamic_rounds:
                break
        self.trainer.data_position = position
        if not loop.dynamic_sampling:
            return kept, rolled, {}, rollout_s, reward_s
        informative_count = len(kept)
        selection = {"dynamic_rounds": rounds, "dynamic_rolled_groups": len(rolled), "dynamic_informative": informative_count,
                     "dynamic_kept_frac": informative_count / len(rolled)}
        return kept[:size], rolled, selection, rollout_s, reward_s

    # -- several ranks --------------------------------------------------------------

    def _scored_groups(self, roller: Roller, problems: list[dict], report: RolloutReport, timed: bool = False,
                       label: str = ""):
        """Roll out and judge `problems`; under torchrun each rank takes problems rank,
        rank + W, ... and the scored groups are gathered back into problem order on
        every rank (training needs all of them everywhere). Progress counts this
        rank's samples."""
        index, count = self._sampling_ranks()
        mine = problems[index::count]
        total = len(mine) * roller.config.n

        def counted(groups, what: str) -> list[dict]:
            kept, done = [], 0
            self._phase(f"{label}{what} 0/{total} samples")
            for group in groups:
                kept.append(group)
                done += len(group["samples"])
                self._phase(f"{label}{what} {done}/{total} samples")
            return kept

        with self._rollout_weights():
            groups = counted(roller.groups(mine, report), "rollout")
        rolled = time.monotonic()
        scored = counted(score_groups(groups, self.sandbox, self.judge, ScoreReport()), "reward")
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


class _Autocast:
    """The hf sampler over the trainer's float32 model, its forward passes under
    autocast to `dtype` (--dtype bfloat16: bf16 matmuls without a second copy of
    the weights). Everything but `sample` is the wrapped backend's."""

    def __init__(self, backend, dtype: str):
        import torch

        self._backend, self._dtype = backend, getattr(torch, dtype)

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def sample(self, *args, **kwargs):
        import torch

        with torch.autocast(self._backend.device.type, dtype=self._dtype):
            return self._backend.sample(*args, **kwargs)
