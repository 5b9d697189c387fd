"""Streaming JSONL: the record I/O every stage uses.

Reading: files, gzip files (detected by their magic bytes, whatever the name) and
stdin (`-`), one record at a time, so no stage needs its whole input in memory.
A malformed line is an `McError` naming the file and line number.

Writing (mc/outputs.py): stdout, or files written atomically (temporaries
beside the targets, renamed over them only when the stage finished), so a crash
mid-write leaves the old files intact. A `.gz` target is gzip-compressed.

orjson does the work. Two corners it gets wrong for us are patched here: it turns
integers beyond 64 bits into floats when reading (silently changing a value) and
refuses them when writing; both fall back to the standard library.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson

from mc.errors import McError

STDIO = "-"
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
# The longest record line read: far beyond any real problem or group (the largest
# LiveCodeBench problems are a few MiB), small enough that /dev/zero or a binary
# file fails in a second instead of exhausting memory.
MAX_LINE_BYTES = 256 << 20

# A JSON number of 19+ digits in value position: orjson would read it as a float.
# Also matches such digits inside strings; then we only pay the slower parser.
_BIG_INT = re.compile(rb"[\[:,]\s*-?\d{19,}")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON has no NaN or infinity)")


def loads(line: bytes | str) -> Any:
    if isinstance(line, str):
        line = line.encode()
    if _BIG_INT.search(line):
        # The standard library would accept NaN/Infinity where orjson refuses them.
        return json.loads(line, parse_constant=_not_json)
    return orjson.loads(line)


def dumps(record: Any) -> bytes:
    """One JSON line (with its newline), UTF-8, compact."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        # Integers beyond 64 bits (and nothing else we produce) land here.
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIO else str(path)


@contextlib.contextmanager
def open_binary(path: str) -> Iterator[IO[bytes]]:
    """Open a file or stdin for binary reading, transparently un-gzipping."""
    if path == STDIO:
        if sys.stdin is None:
            raise McError("stdin is closed: nothing to read", "give input files, or pipe records in")
        raw: IO[bytes] = sys.stdin.buffer
        owned = False
        if raw.isatty():
            from mc.console import log

            log("reading records from the terminal (stdin): paste JSONL and press Ctrl-D, or give a FILE")
    else:
        try:
            raw = open(path, "rb")
        except IsADirectoryError:
            raise McError(f"{path}: is a folder, expected a JSONL file") from None
        except OSError as e:
            raise McError(f"cannot read {path}: {e.strerror}") from None
        owned = True
    try:
        # One look ahead only: on a terminal each read at the end of input needs its own Ctrl-D.
        head = raw.peek(3)[:3] if hasattr(raw, "peek") else None
        stream: IO[bytes] = raw
        if head == b"":
            stream = io.BytesIO()  # already at the end
        elif head is not None and head[:2] == GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=raw)
            head = stream.peek(3)[:3]
        if head and head.startswith(BOM):
            stream.read(3)  # a UTF-8 byte order mark (Windows editors, spreadsheet exports): not data
        try:
            yield stream
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:  # only a gzip stream raises these
            raise McError(f"cannot read {display_name(path)}: {e}", "a truncated or corrupt .gz file?") from None
    finally:
        if owned:
            raw.close()


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) pairs of a text file, blank lines skipped."""
    name = display_name(path)
    with open_binary(path) as f:
        lineno = 0
        try:
            for lineno, line in enumerate(iter(lambda: f.readline(MAX_LINE_BYTES + 1), b""), 1):
                if len(line) > MAX_LINE_BYTES:
                    raise McError(f"{name}:{lineno}: a line longer than {MAX_LINE_BYTES >> 20} MiB: not JSON Lines?")
                if line.strip():
                    yield lineno, line
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
            hint = " (a truncated or corrupt .gz file?)" if not isinstance(e, OSError) or isinstance(e, gzip.BadGzipFile) else ""
            raise McError(f"{name}:{lineno + 1}: cannot read: {e}{hint}") from None


def iter_records(
    paths: str | Iterable[str],
    validate: Callable[[dict], None] | None = None,
) -> Iterator[dict]:
    """Stream JSON-object records from one or more JSONL sources.

    `validate` raises `McError` (or ValueError) for a record that breaks a
    contract; the message is prefixed with the file and line.
    """
    if isinstance(paths, str):
        paths = [paths]
    for path in paths:
        name = display_name(path)
        for lineno, line in iter_lines(path):
            try:
                record = loads(line)
            except ValueError as e:  # orjson's and json's decode errors, bad UTF-8, NaN
                hint = "truncated line?" if not line.rstrip().endswith(b"}") else "not valid JSON"
                raise McError(f"{name}:{lineno}: malformed JSON ({hint}): {e}") from None
            if not isinstance(record, dict):
                raise McError(f"{name}:{lineno}: expected a JSON object per line, got {type(record).__name__}")
            if validate is not None:
                try:
                    validate(record)
                except (McError, ValueError) as e:
                    raise McError(f"{name}:{lineno}: {e}") from None
            yield record


@contextlib.contextmanager
def read_twice(paths: list[str], validate: Callable[[dict], None] | None = None):
    """For a command that needs its input twice (a fit, then a pass that applies it):
    yields (first, again): `first` streams the records (checked, errors naming file:line),
    `again()` the same records once `first` is done. Files are read again; with stdin
    among `paths` the first pass also copies every record to a temporary file (removed
    on exit), which the second reads, so the command still works at the end of a pipe."""
    if STDIO not in paths:
        yield iter_records(paths, validate), lambda: iter_records(paths)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mc-spool-") as folder:
        spool = f"{folder}/records.jsonl"
        done = []

        def first() -> Iterator[dict]:
            with open(spool, "wb") as f:
                for record in iter_records(paths, validate):
                    f.write(dumps(record))
                    yield record
            done.append(True)

        def again() -> Iterator[dict]:
            if not done:
                raise RuntimeError("read_twice: the second pass started before the first ended")
            return iter_records(spool)

        yield first(), again


def read_json_object(path: str, what: str, hint: str | None = None) -> dict:
    """A JSON file that holds one object (a checkpoint's meta.json, a run's run.json, an
    adapter's config): anything else, or an unreadable file, is one error naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError) as e:  # ValueError: bad JSON or bad UTF-8
        reason = getattr(e, "strerror", None) or " ".join(str(e).split()) or type(e).__name__
        raise McError(f"{path}: cannot read {what} ({reason})", hint) from None
    if not isinstance(value, dict):
        raise McError(f"{path}: expected a JSON object, got {type(value).__name__}", hint)
    return value


def read_all(path: str, validate: Callable[[dict], None] | None = None) -> list[dict]:
    return list(iter_records(path, validate))


# Writing lives in mc/outputs.py (every output of a command, checked up front and
# landed together); these names stay here for the stages that stream records.
from mc.outputs import RecordWriter, StdoutClosed, atomic_path, open_writer, write_records, write_stdout  # noqa: E402,F401
