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
from mc.errors import McError, McUsageError
from mc.eval.report import build_report
from mc.jsonl import atomic_path, dumps, write_records
from mc.reward.judge import JudgeConfig
from mc.reward.score import ScoreReport, score_groups
from mc.reward.shaping import shape_group
from mc.rollout.diversity import batch_diversity
from mc.rollout.rollout import Roller, RolloutConfig, RolloutReport
from mc.sinks import Sinks
from mc.train.checkpoint import model_ref
from mc.train.dynamic import informative
from mc.train.pipeline import NEXT_BATCH, Ahead, StepBatch, batch_in, staleness
from mc.train.settings import RUN_FILE, read_run
from mc.train.step import Trainer, TrainConfig
from mc.train.timeline import Timeline

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
    stream_judging: bool = True  # judge each group as soon as it is sampled (same records as judging after)
    off_policy: int = 0  # 1: make step k+1's batch while step k updates (one-step off-policy; mc.train.pipeline)


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
        self.sinks = Sinks([], "", {}, "")  # mc.sinks: the command opens the ones --log names
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
        if loop.off_policy and self.world is not None:
            raise McUsageError("--off-policy runs in one process: under torchrun the ranks' collectives cannot overlap "
                               "the update with sampling", "run it without torchrun, or use --off-policy 0")
        # --off-policy: the batch the checkpoint made ahead for its next step (see mc.train.pipeline)
        self.ahead_batch = batch_in(last[1]) if last is not None and loop.off_policy else None
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
            backend = VLLMBackend(self.trainer.engine_path, tensor_parallel_size=self.tensor_parallel_size, seed=self.loop.seed,
                                  dtype=self.dtype, enable_sleep_mode=True,
                                  distributed_executor_backend="external_launcher" if self.world else None,
                                  engine_args=self.engine_args)  # built from the folder the trainer loaded
            if self.trainer.adapter is not None:  # LoRA: the engine holds the base; send it base + adapter
                backend.load_weights_from(self.trainer.model, version=self.trainer.step)
            return backend
        from mc.rollout.hf import HFBackend

        sampler = self.trainer.model
        if self.loop.off_policy:  # the sampler keeps step k's weights while the trainer updates them
            import copy

            sampler = copy.deepcopy(self.trainer.model).requires_grad_(False)
        self.sampler_model = sampler
        backend = HFBackend.from_model(sampler, self.trainer.tokenizer)
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

    def _roller(self, step: int, temperature: float | None = None, n: int | None = None, round: int = 0,
                version: int | None = None) -> Roller:
        """The sampler of `step` (seed + step, whatever weights it samples from); `version`:
        the policy version of those weights (default `step`; one less with --off-policy)."""
        seed = self.loop.seed + step + round * 10**7
        if self.world:  # one sampling stream per group; group 0 of 1 is the single-process stream
            index, count = self._sampling_ranks()
            seed = seed * count + index
        config = RolloutConfig(**{**asdict(self.rollout_config), "seed": seed,
                                  "policy_version": step if version is None else version})
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
        groups, _, _ = self._scored_groups(roller, self.eval_problems, RolloutReport(), label="eval ")
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
        a short text whenever the step in flight moves ("rollout 16/64 samples"), on rank 0.

        Each iteration: the step's batch (made now, or ahead during the previous update
        with --off-policy 1), the update, the sampler brought to the new weights, then
        eval, metrics and checkpoint. Its timeline (mc.train.timeline) records when
        each part ran."""
        loop = self.loop
        if on_phase and self.trainer.main:
            self._phase = on_phase
        if self.trainer.step < loop.steps:
            self.auto_temperature()
        ahead, self.ahead_batch = self.ahead_batch, None
        if ahead is not None and ahead.step != self.trainer.step:
            raise McError(f"the checkpoint at step {self.trainer.step} holds a batch made for step {ahead.step}",
                          "resume from an earlier checkpoint")
        if loop.off_policy and ahead is None and self.trainer.step and self.trainer.step < loop.steps and self.trainer.main:
            console.warn(f"step {self.trainer.step}: its checkpoint holds no batch made ahead, so it samples from its own "
                         "weights; the pipeline runs one step behind again from the next")
        while self.trainer.step < loop.steps:
            step = self.trainer.step
            timeline = Timeline()
            if ahead is not None:
                batch, ahead = ahead, None
            else:
                batch = self._step_groups(step, self._position(step), step, timeline)
            if loop.off_policy:
                # From the weights this update starts from (the sampler's copy), while it runs. Made
                # after the last step too (it overlaps the last update): a run resumed with more
                # steps then goes on exactly as an unbroken longer one.
                making = Ahead(lambda: self._step_groups(step + 1, batch.position, step, timeline, "next batch: "))
            else:
                making = None
            self.trainer.data_position = batch.position
            if self.backend.name == "vllm" and not loop.off_policy:
                self.backend.sleep()
            self._phase("train: starting")
            with timeline.span("update"):
                if batch.kept:
                    lines = self.trainer.train_step(batch.kept, on_phase=lambda text: self._phase(f"train: {text}"))
                else:
                    lines = self.trainer.skip_step("no informative group")
                    if self.trainer.main:
                        console.warn(f"step {step}: no informative group in {batch.selection['dynamic_rolled_groups']} "
                                     f"rolled out ({batch.selection['dynamic_rounds']} rounds): no update")
            train_s = timeline.lanes["update"][-1][1] - timeline.lanes["update"][-1][0]
            if making is not None:
                self._phase("waiting for the next batch")
                ahead = making.result()
                self.trainer.data_position = ahead.position  # the checkpoint holds that batch too
            with timeline.span("sync"):
                self._sync_sampler()
            lags = staleness(batch.kept, step)
            extra = {
                "diversity": batch_diversity(batch.diversities),
                "temperature": batch.temperature,
                "pass_rate": sum(s["verdict"] == "pass" for g in batch.rolled for s in g["samples"]) / max(batch.samples, 1),
                "truncated_rate": batch.truncated / max(batch.samples, 1),
                "rollout_s": round(batch.rollout_s, 3), "reward_s": round(batch.reward_s, 3), "train_s": round(train_s, 3),
                "staleness_max": max(lags, default=0), "staleness_mean": sum(lags) / len(lags) if lags else 0.0,
                **batch.selection,
            }
            if self._evaluates_after(step + 1):
                with timeline.span("eval"):
                    extra.update(self.evaluate(step + 1))
            if loop.save_groups and self.trainer.main:
                os.makedirs(os.path.join(self.run, "groups"), exist_ok=True)
                write_records(batch.kept, os.path.join(self.run, "groups", f"step-{step:06d}.jsonl"))
            figures = timeline.figures()
            intervals = {"timeline": figures.pop("timeline")}  # once per step, on its last line
            figures["step_s"] = figures.pop("wall_s")
            if self.trainer.main:
                with open(self.metrics_path, "ab") as f:
                    for k, line in enumerate(lines):
                        f.write(dumps({**line, **extra, **figures, **(intervals if k == len(lines) - 1 else {})}))
                    f.flush()
                    os.fsync(f.fileno())
                for line in lines:  # --log tensorboard,wandb: the same numbers, once they are on disk
                    self.sinks.log({**line, **extra, **figures})
            if (step + 1) % loop.save_every == 0 or step + 1 == loop.steps:
                self._phase(f"saving ckpt-{step + 1:06d}")
                extra_files = {NEXT_BATCH: ahead.write} if ahead is not None else None
                self.trainer.save(checkpoint_dir(self.run, step + 1), extra_files=extra_files)
            if on_step and self.trainer.main:
                on_step({**lines[-1], **extra})

    def _position(self, step: int) -> int:
        return self.trainer.data_position if self.trainer.data_position is not None else step * self.loop.batch_size

    def _sync_sampler(self) -> None:
        """The sampler to the trainer's new weights: vLLM's own copy by its weight-update
        API; with --off-policy the hf sampler's copy by a state-dict copy (otherwise it
        samples from the trainer's own model: nothing to do)."""
        if self.backend.name == "vllm":
            if not self.loop.off_policy:
                self.backend.wake_up()
            self.backend.load_weights_from(self.trainer.model, version=self.trainer.step)
        elif self.sampler_model is not self.trainer.model:
            self.sampler_model.load_state_dict(self.trainer.model.state_dict())

    def _step_groups(self, step: int, position: int, version: int, timeline: Timeline | None = None,
                     label: str = "") -> StepBatch:
        """The step's scored groups from data `position` on, sampled by policy `version`:
        the batch to train on, every group rolled out, dynamic-sampling figures."""
        loop, size = self.loop, self.loop.batch_size
        kept, rolled, rollout_s, reward_s, rounds = [], [], 0.0, 0.0, 0
        report = RolloutReport()
        while True:
            problems = problems_at(self.train, position, size, loop.seed)
            position += size
            scored, generating_s, waiting_s = self._scored_groups(
                self._roller(step, round=rounds, version=version), problems, report, timeline,
                label=f"{label}round {rounds + 1}: " if rounds else label)
            rollout_s, reward_s = rollout_s + generating_s, reward_s + waiting_s
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
        selection = {}
        if loop.dynamic_sampling:
            selection = {"dynamic_rounds": rounds, "dynamic_rolled_groups": len(rolled), "dynamic_informative": len(kept),
                         "dynamic_kept_frac": len(kept) / len(rolled)}
            kept = kept[:size]
        return StepBatch(step, version, kept, rolled, position, selection, report.samples, report.truncated,
                         list(report.diversities), report.temperature, rollout_s, reward_s)

    # -- several ranks --------------------------------------------------------------

    def _scored_groups(self, roller: Roller, problems: list[dict], report: RolloutReport, timeline: Timeline | None = None,
                       label: str = "") -> tuple[list[dict], float, float]:
        """Roll out and judge `problems`: (scored groups in problem order, seconds generating,
        seconds waiting for verdicts after generation was done). With streamed judging
        each group goes to the sandbox as soon as it is sampled. Under torchrun each
        rank takes problems rank, rank + W, ... and the scored groups are gathered
        back into problem order on every rank (training needs all of them
        everywhere). Progress counts this rank's samples."""
        index, count = self._sampling_ranks()
        mine = problems[index::count]
        total = len(mine) * roller.config.n
        generating: list[tuple[float, float]] = []
        counts = {"rollout": 0, "reward": 0}

        def generated(start: float, end: float) -> None:
            generating.append((start, end))
            if timeline is not None:
                timeline.add("generate", start, end)

        def judged(start: float, end: float) -> None:
            if timeline is not None:
                timeline.add("judge", start, end)

        def counted(what: str, samples: int) -> None:
            counts[what] += samples
            if self.loop.stream_judging:
                self._phase(f"{label}rollout {counts['rollout']}/{total}, reward {counts['reward']}/{total} samples")
            else:
                self._phase(f"{label}{what} {counts[what]}/{total} samples")

        with self._rollout_weights():
            if self.loop.stream_judging:
                self._phase(f"{label}rollout 0/{total}, reward 0/{total} samples")
                arrived: list[int] = []

                def arriving():
                    for i, group in roller.stream(mine, report, generated):
                        arrived.append(i)
                        counted("rollout", len(group["samples"]))
                        yield group

                by_index = {}
                for k, group in enumerate(score_groups(arriving(), self.sandbox, self.judge, ScoreReport(), on_task=judged)):
                    by_index[arrived[k]] = group  # judged in the order they arrived
                    counted("reward", len(group["samples"]))
                scored = [by_index[i] for i in range(len(mine))]
            else:
                self._phase(f"{label}rollout 0/{total} samples")
                groups = []
                started = time.monotonic()
                for group in roller.groups(mine, report):
                    groups.append(group)
                    counted("rollout", len(group["samples"]))
                generated(started, time.monotonic())
                self._phase(f"{label}reward 0/{total} samples")
                scored = []
                for group in score_groups(groups, self.sandbox, self.judge, ScoreReport(), on_task=judged):
                    scored.append(group)
                    counted("reward", len(group["samples"]))
        generation_done = generating[-1][1] if generating else time.monotonic()
        waiting_s = max(time.monotonic() - generation_done, 0.0)
        generating_s = sum(end - start for start, end in generating)
        if self.world is not None:
            import torch.distributed as dist

            parts: list = [None] * self.world.size
            dist.all_gather_object(parts, (scored, _report_counts(report)))
            tp = self.world.size // count
            leads = [parts[g * tp] for g in range(count)]  # one rank per sampling group
            scored = [leads[j % count][0][j // count] for j in range(len(problems))]
            _merge_report_counts(report, [c for _, c in leads])
        return scored, generating_s, waiting_s

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
