"""Metrics sinks beside metrics.jsonl: TensorBoard event files and Weights & Biases runs.

metrics.jsonl stays the source of truth; a sink gets the same lines, as they
are written, and keeps every number of each (`timeline` intervals and other
non-numbers stay in the JSONL only) at the line's `step` (`sft_step` for mc sft). The run's resolved
settings go in as its config (TensorBoard: a `config` text; W&B: the run
config). Both are optional extras: `pip install 'mc[tensorboard]'`,
`pip install 'mc[wandb]'`.

Resumes: TensorBoard's writer is opened with `purge_step` at the step the run
goes on from, so the steps a resume replays are shown once; the W&B run id is
derived from the log folder, so a resume (or the next `mc train-step` of a
piece-by-piece run) continues the same W&B run. W&B's own mode settings apply
(`WANDB_MODE=offline` logs locally for `wandb sync`); its console capture is
off, so stdout stays data only.
"""

from __future__ import annotations

import hashlib
import math
import os

from mc.errors import McError, McUsageError

SINKS = ("tensorboard", "wandb")


def parse_sinks(text: str | None) -> list[str]:
    """--log tensorboard,wandb -> the names, checked (a usage error names the known ones)."""
    if not text:
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SINKS]
    if unknown:
        raise McUsageError(f"--log: unknown sink {unknown[0]!r}; known: {', '.join(SINKS)}")
    return list(dict.fromkeys(names))


def check_sinks(text: str | None) -> list[str]:
    """parse_sinks, and each sink's package importable: a missing extra fails before a model loads."""
    from importlib.util import find_spec

    names = parse_sinks(text)
    for name, package in (("tensorboard", "tensorboard"), ("wandb", "wandb")):
        if name in names and find_spec(package) is None:
            raise McError(f"--log {name} needs the {package} package", f"pip install 'mc[{name}]'")
    return names


def numbers(line: dict) -> dict[str, float]:
    """The finite numbers of a metrics line (booleans and the step counters left out)."""
    return {k: float(v) for k, v in line.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("step", "sft_step") and math.isfinite(v)}


def run_id(log_dir: str) -> str:
    """A W&B run id that is the same for every command logging into `log_dir`."""
    return "mc-" + hashlib.sha256(os.path.abspath(log_dir).encode()).hexdigest()[:16]


class Sinks:
    """The sinks named by --log, open for one command; `log(line)` per metrics line."""

    def __init__(self, names: list[str], log_dir: str, config: dict, name: str, start_step: int = 0):
        self.names, self.log_dir = names, log_dir
        self._tb = self._wandb = None
        if not names:
            return
        os.makedirs(log_dir, exist_ok=True)
        if "tensorboard" in names:
            self._tb = _tensorboard(os.path.join(log_dir, "tensorboard"), start_step)
            import json

            self._tb.add_text("config", "```\n" + json.dumps(config, indent=1, default=str) + "\n```", global_step=start_step)
        if "wandb" in names:
            self._wandb = _wandb(log_dir, config, name)

    def log(self, line: dict) -> None:
        step = line.get("step", line.get("sft_step"))
        if not isinstance(step, int) or isinstance(step, bool):
            return
        values = numbers(line)
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, global_step=step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(values, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._wandb is not None:
            from mc.console import stdout_to_stderr

            with stdout_to_stderr():
                self._wandb.finish()
            self._wandb = None

    def __enter__(self) -> Sinks:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


def _tensorboard(path: str, start_step: int):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise McError("--log tensorboard needs the tensorboard package", "pip install 'mc[tensorboard]'") from None
    # purge_step: events at this step or later in earlier files (a run that is resumed) are hidden.
    return SummaryWriter(log_dir=path, purge_step=start_step if start_step else None)


def _wandb(log_dir: str, config: dict, name: str):
    try:
        import wandb
    except ImportError:
        raise McError("--log wandb needs the wandb package", "pip install 'mc[wandb]'") from None
    from mc.console import stdout_to_stderr

    try:
        with stdout_to_stderr():  # wandb's start-up lines are for a person, not for stdout
            return wandb.init(project=os.environ.get("WANDB_PROJECT", "mc"), name=name, id=run_id(log_dir), resume="allow",
                              dir=log_dir, config=config,
                              settings=wandb.Settings(console="off", disable_git=True, x_disable_machine_info=True))
    except Exception as e:  # wandb raises its own types for login, network and settings problems
        raise McError(f"wandb could not start a run: {e}",
                      "log in (wandb login), or set WANDB_MODE=offline to log locally and `wandb sync` later") from None
