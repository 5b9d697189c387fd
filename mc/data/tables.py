"""Rows out of the file shapes public problem sets ship in.

`iter_rows(path)` yields `(where, row)` pairs, `where` naming the file and the
line or row index for error messages, from: JSONL (optionally gzipped, or
stdin), a JSON array (or an object of split -> array), parquet, an arrow file, a
`datasets` `save_to_disk` folder (Dataset or DatasetDict), or a folder holding
any of those. Parquet and datasets folders are read in batches; JSON arrays have
to be parsed whole (JSON has no streaming form).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from mc import jsonl
from mc.errors import McError

Row = dict
DATA_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz", ".parquet", ".arrow")


def iter_rows(path: str) -> Iterator[tuple[str, Row]]:
    if path == jsonl.STDIO:
        yield from _jsonl_rows(path)
        return
    if not os.path.exists(path):
        raise McError(f"cannot read {path}: no such file or folder")
    if os.path.isdir(path):
        yield from _folder_rows(path)
        return
    if not os.access(path, os.R_OK):
        raise McError(f"cannot read {path}: permission denied")
    name = path.lower()
    if name.endswith(".parquet"):
        yield from _parquet_rows(path)
    elif name.endswith(".arrow"):
        import datasets

        yield from _dataset_rows(path, datasets.Dataset.from_file(path))
    elif name.endswith((".json", ".json.gz")) and _is_json_document(path):
        yield from _json_document_rows(path)
    else:
        yield from _jsonl_rows(path)


def is_datasets_folder(path: str) -> bool:
    return any(os.path.exists(os.path.join(path, f)) for f in ("dataset_info.json", "dataset_dict.json", "state.json"))


def _folder_rows(path: str) -> Iterator[tuple[str, Row]]:
    if is_datasets_folder(path):
        import datasets

        try:
            loaded = datasets.load_from_disk(path)
        except Exception as e:  # datasets raises many types for a damaged folder
            raise McError(f"cannot load datasets folder {path}: {e}") from None
        if isinstance(loaded, datasets.DatasetDict):
            for split, ds in loaded.items():
                for where, row in _dataset_rows(f"{path}[{split}]", ds):
                    yield where, {**row, "__split__": split}
        else:
            yield from _dataset_rows(path, loaded)
        return
    files = sorted(_data_files(path))
    if not files:
        raise McError(
            f"{path}: folder holds no data files ({', '.join(DATA_SUFFIXES)}), "
            "no datasets save_to_disk folder and no APPS problem folders"
        )
    for file in files:
        yield from iter_rows(file)


MAX_FOLDER_DEPTH = 16  # APPS is 3 deep; far deeper is not a problem set (and os.walk would recurse)


def _data_files(top: str) -> Iterator[str]:
    """Data files under `top`, depth first, hidden entries and symlinked folders skipped."""
    stack = [(top, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            raise McError(f"cannot read folder {folder}: {e.strerror}") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_FOLDER_DEPTH:
                    raise McError(f"{top}: folders nest deeper than {MAX_FOLDER_DEPTH} levels ({entry.path})",
                                  "point mc data import at the problem set's own folder")
                stack.append((entry.path, depth + 1))
            elif entry.name.lower().endswith(DATA_SUFFIXES):
                yield entry.path


def _dataset_rows(where: str, ds) -> Iterator[tuple[str, Row]]:
    for i, row in enumerate(ds):
        yield f"{where}[{i}]", row


def _parquet_rows(path: str) -> Iterator[tuple[str, Row]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise McError(f"cannot read parquet file {path}: {e}") from None
    i = 0
    for batch in pf.iter_batches(batch_size=256):
        for row in batch.to_pylist():
            yield f"{path}[{i}]", row
            i += 1


def _is_json_document(path: str) -> bool:
    """A .json file holding one array or object, rather than one object per line."""
    with jsonl.open_binary(path) as f:
        first = f.readline()
    if first.lstrip().startswith(b"["):
        return True
    try:
        jsonl.loads(first)
        return False  # the first line is a whole object: JSON Lines
    except ValueError:
        return True  # a pretty-printed document


def _json_document_rows(path: str) -> Iterator[tuple[str, Row]]:
    with jsonl.open_binary(path) as f:
        data = f.read()
    try:
        doc = jsonl.loads(data)
    except ValueError as e:
        raise McError(f"{path}: malformed JSON: {e}") from None
    if isinstance(doc, dict) and doc and all(isinstance(v, list) for v in doc.values()):
        # {"train": [...], "test": [...]}: splits of one set.
        for split, rows in doc.items():
            for i, row in enumerate(rows):
                yield f"{path}[{split}][{i}]", _object(row, f"{path}[{split}][{i}]") | {"__split__": split}
        return
    rows = doc if isinstance(doc, list) else [doc]
    for i, row in enumerate(rows):
        yield f"{path}[{i}]", _object(row, f"{path}[{i}]")


def _jsonl_rows(path: str) -> Iterator[tuple[str, Row]]:
    name = jsonl.display_name(path)
    for lineno, line in jsonl.iter_lines(path):
        try:
            row = jsonl.loads(line)
        except ValueError as e:
            raise McError(f"{name}:{lineno}: malformed JSON: {e}") from None
        yield f"{name}:{lineno}", _object(row, f"{name}:{lineno}")


def _object(row: object, where: str) -> Row:
    if not isinstance(row, dict):
        raise McError(f"{where}: expected a JSON object per problem, got {type(row).__name__}")
    return row
