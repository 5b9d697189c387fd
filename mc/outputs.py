"""Every output of a command: checked before the work starts, landed together at the end.

A command declares all it will write first, then does the work:

    with Outputs() as out:
        kept = out.records(path, "-o")                  # stdout for None or -
        removed = out.records(report, "--report", optional=True)   # None when not asked for
        ... the work ...
    # here every file is in place; after an exception none was touched

Declaring an output checks it at once, so a typo fails in a second rather than
after an hour of judging: its folder exists and takes a new file, it is not a
folder, and no two outputs are one file (compared as real paths, so `./a` and
`a` are one; `-` and `/dev/stdout` are both stdout). Files are written to
temporaries beside their targets and renamed over them only when the command
finished, one after the other, so a crash leaves every old file intact. An
output may be one of the inputs (`filter x.jsonl -o x.jsonl`): the input is read
from the old file while the new one is written.

Special files (/dev/null, a named pipe, a terminal) are written in place: never
renamed over. When stdout closes early (`| head`) while files are still being
written, the work goes on so those files are finished, and the lost stdout is
reported on stderr; with stdout the only output the command stops quietly.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from mc.errors import McError, McUsageError

STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def is_stdout(path: str | None) -> bool:
    return path is None or path in STDOUT_NAMES


class StdoutClosed(Exception):
    """The reader of our stdout went away (`mc ... | head`): stop quietly.

    Deliberately not an OSError, so no layer in between mistakes it for a failure.
    """


def write_stdout(data: bytes) -> None:
    """Bytes to stdout, flushed (pipelines stream); a full disk is one clear error."""
    stream = sys.stdout.buffer if sys.stdout is not None else None
    if stream is None:
        raise McError("stdout is closed", "give an output file with -o, or do not close stdout (>&-)")
    try:
        stream.write(data)
        stream.flush()
    except BrokenPipeError:
        raise StdoutClosed() from None
    except OSError as e:
        raise McError(f"cannot write to stdout: {e.strerror or e}") from None


class RecordWriter:
    """Writes records as JSON lines; on stdout each line is flushed so pipelines stream."""

    def __init__(self, stream: IO[bytes] | None, name: str, plan: Outputs | None = None):
        self._stream = stream  # None: stdout
        self.name = name
        self._plan = plan
        self.count = 0
        self.closed = False  # stdout's reader went away; records are dropped

    def write(self, record: dict) -> None:
        from mc.jsonl import dumps

        self.write_bytes(dumps(record))
        self.count += 1

    def write_bytes(self, data: bytes) -> None:
        if self._stream is not None:
            try:
                self._stream.write(data)
            except OSError as e:
                raise McError(f"cannot write {self.name}: {e.strerror or e}") from None
            return
        if self.closed:
            return
        try:
            write_stdout(data)
        except StdoutClosed:
            if self._plan is None or not self._plan.has_files():
                raise
            self.closed = True  # keep going: the files being written must still be finished
            from mc.console import warn

            warn(f"stdout closed after {self.count} records; carrying on to finish {self._plan.file_names()}")

    def write_all(self, records: Iterable[dict]) -> int:
        for record in records:
            self.write(record)
        return self.count


class _File:
    """One file output: where it lands, the temporary it is written to, the open handle."""

    def __init__(self, path: str, flag: str):
        self.path, self.flag = path, flag
        self.real = os.path.realpath(path)
        self.tmp: str | None = None
        self.raw: IO[bytes] | None = None
        self.gz: gzip.GzipFile | None = None

    @property
    def stream(self) -> IO[bytes]:
        return self.gz or self.raw

    def open(self, compress: bool) -> None:
        try:
            mode = os.stat(self.real).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as e:
            raise McError(f"cannot write {self.flag} {self.path}: {e.strerror}") from None
        try:
            if mode is not None and not stat.S_ISREG(mode):
                self.raw = open(self.real, "wb")  # /dev/null, a FIFO, a terminal: in place
            else:
                fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.real)}.", suffix=".tmp",
                                                dir=os.path.dirname(self.real))
                self.raw = os.fdopen(fd, "wb", buffering=1 << 20)
        except OSError as e:
            raise McError(f"cannot write {self.flag} {self.path}: {e.strerror}",
                          "choose a folder you can write to") from None
        if compress:
            self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0)

    def finish(self) -> None:
        """Everything on disk (not yet renamed into place)."""
        try:
            if self.gz is not None:
                self.gz.close()
            self.raw.flush()
            if self.tmp is not None:
                os.fsync(self.raw.fileno())
            self.raw.close()
        except OSError as e:
            raise McError(f"cannot write {self.flag} {self.path}: {e.strerror or e}") from None

    def land(self) -> None:
        if self.tmp is None:
            return
        if os.path.exists(self.real):
            # Keep the permissions a user gave the file they are replacing.
            os.chmod(self.tmp, os.stat(self.real).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.real)
        self.tmp = None

    def discard(self) -> None:
        for closer in (self.gz, self.raw):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)
            self.tmp = None


class Outputs:
    """The outputs of one command (see the module docstring)."""

    def __init__(self) -> None:
        self._files: list[_File] = []
        self._stdout_flag: str | None = None
        self._stdout: RecordWriter | None = None

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if kind is None:
            self._land()
        else:
            for f in self._files:
                f.discard()
        return False

    def has_files(self) -> bool:
        return bool(self._files)

    def file_names(self) -> str:
        return ", ".join(f"{f.flag} {f.path}" for f in self._files)

    # -- declaring outputs ------------------------------------------------------

    def records(self, path: str | None, flag: str = "-o", optional: bool = False) -> RecordWriter | None:
        """A RecordWriter for `path` (stdout for None or -); None when `optional` and not given.
        A name ending in .gz is gzip-compressed."""
        if optional and path is None:
            return None
        if is_stdout(path):
            self._claim_stdout(flag)
            self._stdout = RecordWriter(None, "stdout", self)
            return self._stdout
        target = self._declare(path, flag, compress=path.endswith(".gz"))
        return RecordWriter(target.stream, path, self)

    def binary(self, path: str | None, flag: str, optional: bool = False) -> IO[bytes] | None:
        """A binary stream for a whole document (a report, a picture); stdout for None or -."""
        if optional and path is None:
            return None
        if is_stdout(path):
            self._claim_stdout(flag)
            return _StdoutStream()
        return self._declare(path, flag, compress=False).stream

    def _claim_stdout(self, flag: str) -> None:
        if self._stdout_flag is not None:
            raise McUsageError(f"{self._stdout_flag} and {flag} both write to stdout", "send one of them to a file")
        self._stdout_flag = flag

    def _declare(self, path: str, flag: str, compress: bool) -> _File:
        if not path:
            raise McUsageError(f"{flag} needs a file name")
        target = _File(os.path.expanduser(path), flag)
        for other in self._files:
            if other.real == target.real or same_file(other.real, target.real):
                raise McUsageError(f"{other.flag} {other.path} and {flag} {path} are the same file",
                                   "give each output its own file")
        if os.path.isdir(target.real):
            raise McUsageError(f"{flag} {path} is a folder", f"give a file name, e.g. {os.path.join(path, 'out.jsonl')}")
        folder = os.path.dirname(target.real)
        try:
            if not stat.S_ISDIR(os.stat(folder).st_mode):
                raise McError(f"cannot write {flag} {path}: {os.path.dirname(os.path.abspath(path))} is not a folder")
        except FileNotFoundError:
            raise McError(f"cannot write {flag} {path}: folder {os.path.dirname(os.path.abspath(path))} does not exist",
                          f"create it first: mkdir -p {os.path.dirname(path) or '.'}") from None
        except OSError as e:
            raise McError(f"cannot write {flag} {path}: {e.strerror}") from None
        try:
            target.open(compress)
        except BaseException:
            target.discard()
            raise
        self._files.append(target)
        return target

    # -- landing ----------------------------------------------------------------

    def _land(self) -> None:
        try:
            for f in self._files:
                f.finish()
        except BaseException:
            for f in self._files:
                f.discard()
            raise
        for f in self._files:
            f.land()


class _StdoutStream:
    """The file-like face of stdout for whole documents (write + close)."""

    def write(self, data: bytes) -> int:
        write_stdout(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def same_file(a: str, b: str) -> bool:
    """Hard links to one file are one output too."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def replace_folder(new: str, target: str) -> None:
    """Put the finished folder `new` (made beside `target`) at `target`; an old folder
    there is moved aside first and removed only once the new one is in place, so a
    crash leaves one or the other whole. (Whether `target` may be replaced is the
    caller's question: mc model init's --force, train-step's check_out_dir.)"""
    if not os.path.exists(target):
        os.replace(new, target)
        return
    parent = os.path.dirname(os.path.abspath(target))
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(target))}.old.", dir=parent)
    os.rmdir(old)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def open_writer(out: str | None, flag: str = "-o") -> Iterator[RecordWriter]:
    """A RecordWriter on stdout (`None` or `-`) or, atomically, on a file: a command with one output."""
    with Outputs() as plan:
        yield plan.records(out, flag)


def write_records(records: Iterable[dict], out: str | None, flag: str = "-o") -> int:
    with open_writer(out, flag) as writer:
        return writer.write_all(records)


@contextlib.contextmanager
def atomic_path(target: str) -> Iterator[str]:
    """Yield a temporary path beside `target`; rename it over `target` on success
    (for writers that want a path, e.g. a plotting library). On an exception the
    temporary file is removed and `target` is untouched. A special file
    (/dev/null) is written in place."""
    real = os.path.realpath(target)
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.stat(real).st_mode):
            yield real
            return
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        raise McError(f"cannot write {target}: folder {os.path.dirname(os.path.abspath(target))} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise McError(f"cannot write {target}: {e.strerror}") from None
    os.close(fd)
    landing = _File(real, "")
    landing.tmp = tmp
    try:
        yield tmp
        landing.land()
    except BaseException:
        landing.discard()
        raise
