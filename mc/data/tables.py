"""Rows out of the file shapes public problem sets ship in.

`iter_rows(path)` yields `(where, row)` pairs, `where` naming the file and the
line or row index for error messages, from: JSONL (optionally gzipped, or
stdin), a JSON array (or an object of split -> array), parquet, an arrow file, a
`datasets` `save_to_disk` folder (Dataset or DatasetDict), a folder holding
any of those, or a Hugging Face Hub dataset id (`owner/name` where no such file
exists, or `hf:name`), read through `datasets.load_dataset` and its cache. Parquet and datasets folders are read in batches; JSON arrays have
to be parsed whole (JSON has no streaming form).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from mc import jsonl
from mc.errors import McError

Row = dict
DATA_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz", ".parquet", ".arrow")


HUB_ID = re.compile(r"^(?:hf:)?[A-Za-z0-9][\w.-]*(?:/[\w.-]+)?$")


def hub_id(path: str) -> str | None:
    """The dataset id `path` names on the Hub: `hf:ID`, or `owner/name` where no such
    file or folder exists; else None (a path)."""
    if path.startswith("hf:") and HUB_ID.match(path):
        return path[3:]
    if not os.path.exists(path) and "/" in path and not path.startswith((".", "/")) and HUB_ID.match(path) \
            and not path.lower().endswith(DATA_SUFFIXES):
        return path
    return None


def iter_rows(path: str, config: str | None = None, split: str | None = None) -> Iterator[tuple[str, Row]]:
    """`config` / `split`: for a Hub dataset id (its configuration, one split; default all)."""
    if path == jsonl.STDIO:
        yield from _jsonl_rows(path)
        return
    dataset = hub_id(path)
    if dataset is not None:
        try:
            yield from _hub_rows(dataset, config, split)
        except McError as e:
            if path.startswith("hf:"):
                raise
            raise McError(f"{e.message} (read as a Hub id: there is no file or folder {path} here)", e.hint) from None
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
        yield from _loaded_rows(path, loaded)
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


def _hub_rows(dataset: str, config: str | None, split: str | None) -> Iterator[tuple[str, Row]]:
    """Rows of a Hub dataset, split by split (each row tagged with its split), through
    datasets' cache: a dataset loaded once before reads offline (HF_HUB_OFFLINE=1)."""
    import datasets

    from mc.console import stdout_to_stderr

    try:
        with stdout_to_stderr():
            loaded = datasets.load_dataset(dataset, config, split=split)
    except ConnectionError as e:
        raise McError(f"cannot load {dataset} from the Hugging Face Hub: the hub cannot be reached and the dataset is not "
                      f"in the local datasets cache ({datasets.config.HF_DATASETS_CACHE}) ({e})",
                      "load it once where the hub is reachable (the cache then serves it offline), or import a "
                      "save_to_disk folder or the dataset's files") from None
    except datasets.exceptions.DatasetNotFoundError as e:
        raise McError(f"{dataset}: {e}", "check the id (owner/name), or the token for a gated dataset (hf auth login)") from None
    except (ValueError, FileNotFoundError) as e:  # an unknown config or split, or no data files
        raise McError(f"cannot load {dataset}: {e}") from None
    yield from _loaded_rows(dataset, loaded, split)


def _loaded_rows(label: str, loaded, split: str | None = None) -> Iterator[tuple[str, Row]]:
    """Rows of a Dataset, or of each split of a DatasetDict tagged with that split."""
    import datasets

    if isinstance(loaded, datasets.DatasetDict):
        for name, ds in loaded.items():
            for where, row in _dataset_rows(f"{label}[{name}]", ds):
                yield where, {**row, "__split__": name}
    elif split is not None:
        for where, row in _dataset_rows(f"{label}[{split}]", loaded):
            yield where, {**row, "__split__": split}
    else:
        yield from _dataset_rows(label, loaded)


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
