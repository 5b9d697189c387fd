"""Live progress on stderr while sampling and judging: groups done, tokens, tokens/s.

A batch of the hf backend is sampled token by token and its groups all finish
together at the end, so a count of finished groups alone would sit at 0 for the
whole first batch. Each phase therefore also counts sampled tokens, fed by the
backend's decoding loop (`Phase.tokens`), and shows the rate.

On a terminal (`mc.console.progress_enabled()`) the phases are rich progress
bars on mc's stderr console, cleared when done (the summary table follows).
Otherwise (stderr captured to a file) a plain line at most every INTERVAL_S
seconds, so a long run's log shows it is alive without filling up, and nothing
at all with MC_PROGRESS=0.
"""

from __future__ import annotations

import time

from mc import console

INTERVAL_S = console.LINE_INTERVAL_S  # a log line at most this often


class Progress:
    """Rows of progress, one per phase ("sampling", "judging"); a context manager."""

    def __init__(self):
        self._rich = None
        self._started = self._last_line = time.monotonic()
        self._lines = console.progress_mode() == "lines"

    def __enter__(self) -> Progress:
        if console.progress_mode() == "bar":
            from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(bar_width=24),
                                      TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                      console=console.stderr(), transient=True)
            self._rich.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        if self._rich is not None:
            self._rich.__exit__(*exc)
            self._rich = None
        return False

    def phase(self, description: str, total: int | None = None, unit: str = "groups") -> Phase:
        return Phase(self, description, total, unit)

    # -- what a Phase calls -------------------------------------------------------

    def _add(self, phase: Phase):
        if self._rich is None:
            return None
        return self._rich.add_task(phase.description, total=phase.total, status=phase.status())

    def _show(self, phase: Phase, redraw: bool = False) -> None:
        if self._rich is not None:
            self._rich.update(phase.task, description=phase.description, completed=phase.done, status=phase.status(),
                              refresh=redraw)
            return
        now = time.monotonic()
        if self._lines and now - self._last_line >= INTERVAL_S:
            self._last_line = now
            console.log(f"{phase.description}: {phase.status()} ({now - self._started:.0f}s)")

    def _remove(self, phase: Phase) -> None:
        if self._rich is not None and phase.task is not None:
            self._rich.remove_task(phase.task)


class Phase:
    """One row: `advance()` per finished group (or record), `tokens(n)` per decoding step."""

    def __init__(self, progress: Progress, description: str, total: int | None, unit: str):
        self.progress, self.description, self.total, self.unit = progress, description, total, unit
        self.done = 0
        self.token_count = 0
        self.started = time.monotonic()
        self.task = progress._add(self)

    def status(self) -> str:
        text = f"{self.done}/{self.total} {self.unit}" if self.total is not None else f"{self.done} {self.unit}"
        if self.token_count:
            rate = self.token_count / max(time.monotonic() - self.started, 1e-9)
            text += f" · {self.token_count:,} tokens · {rate:,.0f} tok/s"
        return text

    def tokens(self, count: int) -> None:
        first = self.token_count == 0
        self.token_count += count
        # Drawn at once the first time, then at rich's own refresh rate (a fast batch may end before a tick).
        self.progress._show(self, redraw=first)

    def advance(self, count: int = 1) -> None:
        self.done += count
        self.progress._show(self, redraw=True)  # a few per batch: drawn at once, not at the next tick

    def describe(self, description: str) -> None:
        self.description = description
        self.progress._show(self, redraw=True)

    def close(self) -> None:
        self.progress._remove(self)
