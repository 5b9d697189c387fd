"""Progress of the training loops on stderr, with what the current unit is doing.

A bar that moves only when a whole step is done sits at 0/N for minutes on a
real model, so this one also shows the phase of the unit in flight ("step 3:
rollout 48/128 samples"). On a terminal it is a rich bar; in a log (stderr not
a terminal) it writes plain lines: one per finished unit (or at most one per
`every` seconds, `log_each=False`), each one-off phase ("loading", "saving"),
and the phase in flight when it has run for `every` seconds since the last
line, so a log never stays silent for long. With MC_PROGRESS=0 (--no-progress)
only the finished units' lines remain: they are the run's log, not progress.
"""

from __future__ import annotations

import time

from mc import console


class LoopProgress:
    def __init__(self, label: str, total: int, start: int = 0, every: float = 30.0, log_each: bool = True):
        self.label, self.total, self.done = label, total, start
        self.every, self.log_each = every, log_each
        self._bar = None
        self._last_line = time.monotonic()
        self._summary = ""
        self._quiet = console.progress_mode() == "off"

    def __enter__(self) -> LoopProgress:
        if console.progress_enabled():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                 TimeRemainingColumn(), console=console.stderr())
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.done, info="")
        return self

    def __exit__(self, *exc) -> bool:
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False

    def status(self, text: str) -> None:
        """What the unit in flight is doing now (the bar does not move)."""
        if self._bar is not None:
            self._bar.update(self._task, info=f"{text}  {self._summary}".rstrip())
        elif not self._quiet and time.monotonic() - self._last_line >= self.every:
            self._line(f"{self.label} {self.done + 1}/{self.total}: {text}")

    def note(self, text: str) -> None:
        """A one-off phase worth a line in a log too ("loading the model", "saving")."""
        if self._bar is not None:
            self.status(text)
        elif not self._quiet:
            self._line(f"{self.label}: {text}")

    def advance(self, summary: str) -> None:
        """One unit finished; `summary` is its figures (loss, reward, ...)."""
        self.done += 1
        self._summary = summary
        if self._bar is not None:
            self._bar.update(self._task, advance=1, info=summary)
        elif self.log_each or self.done == self.total or time.monotonic() - self._last_line >= self.every:
            self._line(f"{self.label} {self.done}/{self.total}: {summary}")

    def _line(self, text: str) -> None:
        console.log(text)
        self._last_line = time.monotonic()


def step_summary(line: dict) -> str:
    """An mc train step's figures for the bar or the log line."""
    text = (f"reward {line.get('reward_mean', 0):.3f}, length {line.get('response_length_mean', 0):.0f}, "
            f"diversity {line.get('diversity') or 0:.3f}")
    if line.get("eval_pass@1") is not None:
        text += f", eval pass@1 {line['eval_pass@1']:.3f}"
    return text
