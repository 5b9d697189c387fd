"""Progress on stderr: `mc --progress` draws bars though stderr is a pipe (`2>&1 | tee`),
`mc --no-progress` draws nothing; in a log, a long `track` writes a line now and then."""

from __future__ import annotations

import pytest

from helpers import run_mc
from mc import console

ESCAPE = b"\x1b["


@pytest.fixture
def problems(real):
    return real.mbpp  # ~1,000 real rows: long enough for a bar to draw


def test_progress_flag_draws_bars_on_a_pipe(problems):
    auto = run_mc("data", "import", problems, env={"MC_PROGRESS": "1"}, check_rc=0)
    forced = run_mc("--progress", "data", "import", problems, env={"MC_PROGRESS": "1"}, check_rc=0)
    quiet = run_mc("--no-progress", "data", "import", problems, env={"MC_PROGRESS": "1"}, check_rc=0)
    assert ESCAPE not in auto.stderr and ESCAPE not in quiet.stderr  # a pipe is no terminal: no control codes
    assert ESCAPE in forced.stderr and b"importing" in forced.stderr
    assert auto.stdout == forced.stdout == quiet.stdout  # the records never change


def test_track_in_a_log_writes_a_line_now_and_then(monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(console, "log", lines.append)
    monkeypatch.setattr(console, "progress_mode", lambda: "lines")
    monkeypatch.setattr(console, "LINE_INTERVAL_S", 3600.0)
    assert list(console.track(range(5), "reading")) == list(range(5)) and lines == []  # short: silent
    monkeypatch.setattr(console, "LINE_INTERVAL_S", 0.0)
    assert list(console.track(range(3), "reading", total=3)) == [0, 1, 2]
    assert [line.split(" (")[0] for line in lines] == ["reading: 1/3 records", "reading: 2/3 records", "reading: 3/3 records"]
    monkeypatch.setattr(console, "progress_mode", lambda: "off")
    assert list(console.track(range(3), "reading")) == [0, 1, 2] and len(lines) == 3
