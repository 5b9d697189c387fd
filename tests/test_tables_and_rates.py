"""What a person reads on stderr: tables keep their figures, rates count only work."""

from __future__ import annotations

import time

from helpers import run_mc


def test_tables_keep_every_figure_in_a_narrow_pipe(tmp_path):
    """Piped (no terminal: rich assumes 80 columns) or narrower, long paths are cut, numbers never."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / "and-deeper"
    deep.mkdir(parents=True)
    path = deep / "problems-with-a-long-file-name.jsonl"
    run_mc("data", "synth", "--count", "123", "--families", "add_k", "-o", path, check_rc=0)
    for columns in ("80", "40"):
        proc = run_mc("data", "import", path, "-o", tmp_path / "out.jsonl", env={"COLUMNS": columns}, check_rc=0)
        table = proc.stderr.decode()
        row = next(line for line in table.splitlines() if "long-file-name" in line or "…" in line)
        assert "123" in row and row.rstrip().endswith("0"), table  # problems and skipped, whole
        if columns == "80":  # (at 40 the figures and their headers alone need more: they win)
            assert all(len(line) <= 80 for line in table.splitlines()), table


def test_judging_rates_leave_out_time_spent_waiting_for_input():
    from mc.reward.score import judged_in_order

    def slow_producer():
        for i in range(3):
            time.sleep(0.4)  # a rollout upstream, still sampling
            yield i

    waited: list[float] = []
    results = list(judged_in_order(slow_producer(), lambda i: [lambda: {"verdict": i}], workers=1, waited=waited.append))
    assert [item for item, _ in results] == [0, 1, 2]
    # The first wait always begins with nothing to judge (later ones too, once the
    # previous sample is done); a busy machine only makes a wait longer.
    assert waited and waited[0] >= 0.4 and len(waited) <= 3
