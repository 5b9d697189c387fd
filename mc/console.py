"""The one stderr console: logs, warnings, tables and progress bars.

stdout carries records only; everything a person reads goes through here.
Progress bars draw only when stderr is a terminal, so logs captured from scripts
stay clean: there a long phase writes a plain line now and then instead.
`mc --progress` (MC_PROGRESS=force) draws bars on any stderr (`mc ... 2>&1 | tee
log` on a terminal); `mc --no-progress` (MC_PROGRESS=0) shows neither.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")


@lru_cache(maxsize=1)
def stderr():
    from rich.console import Console

    force = os.environ.get("MC_PROGRESS") == "force" or None
    return Console(stderr=True, highlight=False, soft_wrap=True, force_terminal=force)


def log(message: str) -> None:
    stderr().print(message, markup=False)


def warn(message: str) -> None:
    stderr().print(f"[yellow]warning:[/] {escape(message)}")


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)


LINE_INTERVAL_S = 30.0  # 'lines' mode: at most one progress line per phase this often


def progress_mode() -> str:
    """'bar' on a terminal (or with MC_PROGRESS=force), 'lines' when stderr is captured
    (a log file: an occasional plain line shows a long run is alive), 'off' with
    MC_PROGRESS=0."""
    setting = os.environ.get("MC_PROGRESS", "1")
    if setting == "0":
        return "off"
    return "bar" if setting == "force" or stderr().is_terminal else "lines"


def progress_enabled() -> bool:
    return progress_mode() == "bar"


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar (counts when the total is unknown); in a log, a line
    every LINE_INTERVAL_S seconds while it lasts (none for a short one)."""
    mode = progress_mode()
    if mode != "bar":
        yield from (items if mode == "off" else _track_lines(items, description, total))
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns += [TextColumn("{task.completed} records")]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=stderr(), transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


def _track_lines(items: Iterable[T], description: str, total: int | None) -> Iterator[T]:
    import time

    started = last = time.monotonic()
    for count, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if now - last >= LINE_INTERVAL_S:
            last = now
            log(f"{description}: {count:,}{f'/{total:,}' if total is not None else ''} records ({now - started:.0f} s)")


def table(title: str, columns: list[str], rows: Iterable[Iterable[object]], align: str | None = None) -> None:
    """A table on stderr. `align` has one letter per column, l or r (default:
    the first column left, the others right).

    However narrow the terminal (or 80 columns in a pipe), every figure shows in
    full: right-aligned columns never shrink or wrap; only the left-aligned ones
    (names, paths) are cut, with an ellipsis, and a long path keeps its end.
    """
    from rich.table import Table

    align = align or "l" + "r" * (len(columns) - 1)
    rows = [[str(cell) for cell in row] for row in rows]
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for index, (column, side) in enumerate(zip(columns, align)):
        if side == "r":  # figures: as wide as the widest, never cut
            width = max([len(column)] + [len(row[index]) for row in rows if index < len(row)])
            t.add_column(column, justify="right", no_wrap=True, min_width=width)
        else:
            t.add_column(column, justify="left", no_wrap=True, overflow="ellipsis", min_width=min(len(column), 8))
    budget = _name_budget(rows, align)
    for row in rows:
        t.add_row(*(escape(_keep_end(cell, budget) if side == "l" else cell) for cell, side in zip(row, align)))
    stderr().print(t)


def _name_budget(rows: list[list[str]], align: str) -> int:
    """Characters left for the name columns once the figures have their full width."""
    width = stderr().width
    figures = sum(max((len(row[i]) for row in rows if i < len(row)), default=0) for i, side in enumerate(align) if side == "r")
    names = max(1, align.count("l"))
    return max(12, (width - figures - 3 * (len(align) - 1)) // names)


def _keep_end(text: str, budget: int) -> str:
    """A path too long for its column loses its beginning (the file name is what tells rows apart)."""
    if len(text) <= budget or ("/" not in text and "\\" not in text):
        return text
    return "…" + text[-(budget - 1):]


def flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed, or replaced by None
            pass


@contextlib.contextmanager
def redirected(targets: dict[int, int]):
    """File descriptor fd points at targets[fd] inside, and back after; a closed fd is
    left alone (nothing to protect or hide)."""
    flush_std()
    saved = {}
    for fd, target in targets.items():
        try:
            saved[fd] = os.dup(fd)
        except OSError:
            continue
        os.dup2(target, fd)
    try:
        yield
    finally:
        flush_std()  # what Python buffered inside goes where the fd pointed inside
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)


def stdout_to_stderr():
    """Prints and C-level writes of a library (vLLM, wandb, datasets) cannot reach the records on stdout."""
    return redirected({1: 2})
