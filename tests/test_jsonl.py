import gzip
import json
import os

import pytest

from mc import jsonl
from mc.errors import McError


def write(path, text, gz=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)


def test_reads_plain_gzip_and_skips_blank_lines(tmp_path):
    text = '{"a": 1}\n\n{"a": 2}\r\n'
    for name, gz in [("x.jsonl", False), ("x.jsonl.gz", True), ("no_suffix", True)]:
        path = write(tmp_path / name, text, gz)
        assert [r["a"] for r in jsonl.iter_records(path)] == [1, 2]


def test_malformed_line_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"a": 1}\n{"a": 2, "b": [1, 2\n{"a": 3}\n')
    with pytest.raises(McError, match=r"bad\.jsonl:2: malformed JSON \(truncated line\?\)"):
        list(jsonl.iter_records(path))


def test_non_object_line_is_an_error(tmp_path):
    path = write(tmp_path / "arr.jsonl", "[1, 2]\n")
    with pytest.raises(McError, match=r"arr\.jsonl:1: expected a JSON object per line, got list"):
        list(jsonl.iter_records(path))


def test_validator_errors_carry_location(tmp_path):
    path = write(tmp_path / "v.jsonl", '{"ok": 1}\n{"ok": 0}\n')

    def validate(record):
        if not record["ok"]:
            raise McError("not ok")

    with pytest.raises(McError, match=r"v\.jsonl:2: not ok"):
        list(jsonl.iter_records(path, validate))


def test_unreadable_file(tmp_path):
    with pytest.raises(McError, match="cannot read .*missing.jsonl"):
        list(jsonl.iter_records(str(tmp_path / "missing.jsonl")))


def test_big_integers_survive_a_round_trip(tmp_path):
    # orjson alone would read 2**70 as a float and refuse to write it.
    record = {"n": 2**70, "neg": -(2**80), "small": 3, "text": "1,12345678901234567890"}
    line = jsonl.dumps(record)
    assert jsonl.loads(line) == record
    assert json.loads(line) == record


def test_unknown_fields_and_unicode_pass_through(tmp_path):
    record = {"schema": "x", "émoji": "🙂", "nested": {"k": [1, None, True]}}
    assert jsonl.loads(jsonl.dumps(record)) == record


def test_atomic_write_keeps_old_file_on_crash(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def records():
        yield {"a": 1}
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        jsonl.write_records(records(), str(target))
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]  # no temporary file left behind


def test_atomic_write_replaces_and_gzips(tmp_path):
    target = tmp_path / "out.jsonl.gz"
    assert jsonl.write_records([{"a": 1}, {"a": 2}], str(target)) == 2
    assert gzip.decompress(target.read_bytes()).decode() == '{"a":1}\n{"a":2}\n'
    assert [r["a"] for r in jsonl.iter_records(str(target))] == [1, 2]


def test_writing_into_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(McError, match="does not exist"):
        jsonl.write_records([{"a": 1}], str(tmp_path / "nope" / "x.jsonl"))


def test_a_byte_order_mark_is_not_data(tmp_path):
    """Windows editors and spreadsheet exports begin UTF-8 files with a BOM."""
    text = '\ufeff{"a": 1}\n{"a": 2}\n'
    for name, gz in [("bom.jsonl", False), ("bom.jsonl.gz", True)]:
        assert [r["a"] for r in jsonl.iter_records(write(tmp_path / name, text, gz))] == [1, 2]


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_a_damaged_gzip_file_is_one_clear_error(tmp_path, damage):
    data = bytearray(gzip.compress(b"".join(b'{"a": %d, "pad": "%s"}\n' % (i, b"x" * (i % 97)) for i in range(3000))))
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 3 : len(data) // 3 + 16] = b"\xff" * 16
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(bytes(data))
    # Garbage that still inflates shows as a malformed line before the CRC check can fail.
    with pytest.raises(McError, match=r"x\.jsonl\.gz:\d+: (cannot read.*truncated or corrupt|malformed JSON)"):
        list(jsonl.iter_records(str(path)))


def test_nan_and_infinity_are_not_json_even_beside_big_integers(tmp_path):
    """orjson refuses NaN; the big-integer fallback (the standard library) must too."""
    for line in ('{"a": 12345678901234567890, "b": NaN}', '{"a": 12345678901234567890, "b": -Infinity}',
                 '{"b": NaN}', '{"b": Infinity}'):
        path = write(tmp_path / "x.jsonl", line + "\n")
        with pytest.raises(McError, match=r"x\.jsonl:1: malformed JSON"):
            list(jsonl.iter_records(path))
