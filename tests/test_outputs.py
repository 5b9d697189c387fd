"""The output contract under misuse: nothing a command did not create is lost or replaced.

Every command declares its outputs before the work (mc/outputs.py): aliases are
usage errors, a bad side output fails before the main one is touched, special
files are written in place, and side files are finished when stdout closes.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from helpers import REPO, run_mc
from mc.errors import McError, McUsageError
from mc.outputs import Outputs


@pytest.fixture
def problems(tmp_path):
    path = tmp_path / "s.jsonl"
    run_mc("data", "synth", "--count", "10", "-o", path, check_rc=0)
    return path


def lines(path) -> int:
    return len(path.read_text().splitlines())


@pytest.mark.parametrize("test_side", ["./s.jsonl", "sub/../s.jsonl", "link.jsonl", "hard.jsonl"])
def test_split_refuses_two_outputs_that_are_one_file(tmp_path, problems, test_side):
    (tmp_path / "sub").mkdir()
    os.symlink("s.jsonl", tmp_path / "link.jsonl")
    os.link(problems, tmp_path / "hard.jsonl")
    before = problems.read_bytes()
    proc = run_mc("data", "split", "s.jsonl", "--test-fraction", "0.5", "--train", "s.jsonl", "--test", test_side, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert b"same file" in proc.stderr
    assert problems.read_bytes() == before  # the input (and would-be output) is untouched


def test_two_outputs_on_stdout_are_a_usage_error(tmp_path, problems):
    proc = run_mc("data", "split", problems, "--test-fraction", "0.5", "--train", "-", "--test", "/dev/stdout")
    assert proc.returncode == 2 and b"both write to stdout" in proc.stderr
    assert proc.stdout == b""


def test_filter_report_may_not_alias_the_output(tmp_path, problems):
    (tmp_path / "r.jsonl").write_text("keep me\n")
    proc = run_mc("data", "filter", "--require-tests", "--report", "r.jsonl", "-o", "./r.jsonl", "s.jsonl", cwd=tmp_path)
    assert proc.returncode == 2 and b"same file" in proc.stderr
    assert (tmp_path / "r.jsonl").read_text() == "keep me\n"


def test_an_output_may_replace_its_own_input(tmp_path, problems):
    """`sort -o f f`: the input is read from the old file while the new one is written."""
    proc = run_mc("data", "filter", "--platform", "nowhere", "s.jsonl", "-o", "s.jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert problems.read_text() == ""


@pytest.mark.parametrize("command", [
    ["data", "filter", "--require-tests", "--report", "nodir/r.jsonl"],
    ["data", "difficulty", "--report", "nodir/r.jsonl"],
    ["data", "split", "--test-fraction", "0.5", "--train", "new.jsonl", "--test", "nodir/t.jsonl"],
])
def test_a_side_output_into_a_missing_folder_fails_before_the_main_output_is_touched(tmp_path, problems, command):
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    args = [*command, "s.jsonl"] if "split" in command else [*command, "s.jsonl", "-o", "out.jsonl"]
    proc = run_mc(*args, cwd=tmp_path)
    assert proc.returncode == 1 and b"nodir" in proc.stderr and b"does not exist" in proc.stderr
    assert out.read_text() == "old\n"
    assert not (tmp_path / "new.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.jsonl", "s.jsonl"])  # no temporaries left


def test_verify_report_into_a_missing_folder_fails_before_any_judging(tmp_path, problems):
    proc = run_mc("data", "verify", "--isolation", "none", "--report", "nodir/r.jsonl", "s.jsonl", "-o", "out.jsonl",
                  cwd=tmp_path)
    assert proc.returncode == 1 and b"nodir" in proc.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_an_output_that_is_a_folder_is_a_usage_error(tmp_path, problems):
    proc = run_mc("data", "filter", "s.jsonl", "-o", ".", cwd=tmp_path)
    assert proc.returncode == 2 and b"is a folder" in proc.stderr


def _pipe_to_head(args, cwd) -> subprocess.CompletedProcess:
    """`mc ARGS | head -1`, for real: the reader goes away after one line."""
    mc = subprocess.Popen([sys.executable, "-m", "mc", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env={**os.environ, "MC_PROGRESS": "0"})
    first = mc.stdout.readline()
    mc.stdout.close()
    err = mc.stderr.read()
    mc.wait(timeout=120)
    assert first.startswith(b"{")
    return subprocess.CompletedProcess(args, mc.returncode, first, err)


def test_side_files_are_finished_when_stdout_closes(tmp_path):
    run_mc("data", "synth", "--count", "400", "-o", tmp_path / "big.jsonl", check_rc=0)  # more than a pipe buffer
    proc = _pipe_to_head(["data", "split", "big.jsonl", "--test-fraction", "0.5", "--train", "-", "--test", "t.jsonl"],
                         tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b"stdout closed" in proc.stderr
    expected = run_mc("data", "split", "big.jsonl", "--test-fraction", "0.5", "--train", "/dev/null", "--test", "-",
                      cwd=tmp_path, check_rc=0).stdout
    assert (tmp_path / "t.jsonl").read_bytes() == expected

    records = (tmp_path / "big.jsonl").read_text().splitlines()
    duplicate = {**json.loads(records[-1]), "id": "copy-of-the-last"}
    (tmp_path / "big.jsonl").write_text("\n".join(records + [json.dumps(duplicate)]) + "\n")
    proc = _pipe_to_head(["data", "filter", "--dedup", "--report", "r.jsonl", "big.jsonl"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    removed = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert "copy-of-the-last" in [r["id"] for r in removed]
    full = run_mc("data", "filter", "--dedup", "--report", "r2.jsonl", "big.jsonl", "-o", "/dev/null", cwd=tmp_path, check_rc=0)
    assert (tmp_path / "r2.jsonl").read_bytes() == (tmp_path / "r.jsonl").read_bytes(), full.stderr


def test_special_files_are_written_in_place_not_renamed_over(tmp_path, problems):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("data", fifo.read_bytes()))
    reader.start()
    run_mc("data", "filter", problems, "-o", fifo, check_rc=0)
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got["data"] == problems.read_bytes()
    run_mc("data", "filter", problems, "-o", "/dev/null", check_rc=0)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_writing_through_a_symlink_keeps_the_link(tmp_path, problems):
    (tmp_path / "real.jsonl").write_text("")
    os.symlink("real.jsonl", tmp_path / "link.jsonl")
    run_mc("data", "filter", "s.jsonl", "-o", "link.jsonl", cwd=tmp_path, check_rc=0)
    assert os.path.islink(tmp_path / "link.jsonl")
    assert lines(tmp_path / "real.jsonl") == lines(problems)


def test_a_full_disk_is_one_clear_line(tmp_path, problems):
    for args in (["data", "filter", problems], ["--help"], ["data", "stats", "--json", problems]):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([sys.executable, "-m", "mc", *map(str, args)], stdout=full, stderr=subprocess.PIPE,
                                  env={**os.environ, "MC_PROGRESS": "0"}, timeout=120)
        assert proc.returncode == 1, (args, proc.stderr)
        assert proc.stderr.decode().strip() == "error: cannot write to stdout: No space left on device", args


def test_closed_stdin_and_stdout_are_clear_errors(problems):
    proc = subprocess.run([sys.executable, "-m", "mc", "data", "stats"], stdin=subprocess.DEVNULL, capture_output=True)
    assert proc.returncode == 0  # empty stdin: zero problems
    proc = subprocess.run(f"{sys.executable} -m mc data stats <&-", shell=True, capture_output=True, cwd=REPO)
    assert proc.returncode == 1 and b"stdin is closed" in proc.stderr, proc.stderr
    proc = subprocess.run(f"{sys.executable} -m mc data filter {problems} >&-", shell=True, capture_output=True, cwd=REPO)
    assert proc.returncode == 1 and b"stdout is closed" in proc.stderr, proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_a_read_only_folder_is_one_clear_error(tmp_path):
    """As root every folder is writable, so a forked child drops to nobody first
    (in-process: nobody may not be able to read an interpreter installed under /root)."""
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(dir="/tmp"))  # (tmp_path's parents are root's alone)
    os.chmod(base, 0o755)
    folder = base / "ro"
    folder.mkdir(mode=0o555)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what declaring the output raised, then leave at once
        try:
            os.setgid(65534)
            os.setuid(65534)
            with Outputs() as out:
                out.records(str(folder / "x.jsonl"), "-o")
            message = "no error"
        except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
            message = f"{type(e).__name__}: {e}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        message = f.read().decode()
    os.waitpid(pid, 0)
    assert message.startswith("McError: cannot write -o "), message
    assert "Permission denied" in message and list(folder.iterdir()) == []
    folder.rmdir()
    base.rmdir()


def test_outputs_land_together_or_not_at_all(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("old a\n")
    with pytest.raises(RuntimeError):
        with Outputs() as out:
            first, second = out.records(str(a), "--a"), out.records(str(b), "--b")
            first.write({"x": 1})
            second.write({"y": 2})
            raise RuntimeError("crash mid-work")
    assert a.read_text() == "old a\n" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]
    with Outputs() as out:
        out.records(str(a), "--a").write({"x": 1})
        out.records(str(b) + ".gz", "--b").write({"y": 2})
    assert json.loads(a.read_text()) == {"x": 1}
    assert run_mc("data", "stats", "--json", str(b) + ".gz").returncode == 1  # gzip, read back (not a problem record)


def test_declaring_checks_before_any_work(tmp_path):
    with pytest.raises(McUsageError, match="same file"):
        with Outputs() as out:
            out.records(str(tmp_path / "a"), "--a")
            out.records(str(tmp_path / "." / "a"), "--b")
    with pytest.raises(McError, match="does not exist"):
        with Outputs() as out:
            out.records(str(tmp_path / "missing" / "a"), "--a")
    assert out.records(None, "--report", optional=True) is None
    assert list(tmp_path.iterdir()) == []


def test_a_command_waiting_on_a_terminal_says_so(tmp_path):
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mc", "data", "stats"], stdin=terminal, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "MC_PROGRESS": "0"})
    os.close(terminal)
    first = proc.stderr.readline()
    os.write(controller, b"\x04")  # Ctrl-D: end of input
    proc.wait(timeout=60)
    os.close(controller)
    assert b"reading records from the terminal" in first and b"Ctrl-D" in first
    assert proc.returncode == 0


def test_replace_folder_swaps_whole_folders_and_leaves_nothing_beside(tmp_path):
    """The one folder swap (mc model init --force, checkpoints): old or new, never a mix."""
    from mc.outputs import replace_folder

    target, new = tmp_path / "ckpt", tmp_path / ".ckpt.new"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    replace_folder(str(new), str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    fresh = tmp_path / ".other.new"
    fresh.mkdir()
    replace_folder(str(fresh), str(tmp_path / "other"))  # no old folder: a rename
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "other"]
