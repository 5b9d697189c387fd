"""The plain-data encoding between the solution and test processes (mc/reward/sandbox/remote.py)."""

from __future__ import annotations

import collections
import decimal
import fractions
import json

import pytest

from mc.reward.sandbox.remote import decode, encode


def no_handles(obj):
    raise AssertionError(f"unexpected handle for {obj!r}")


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2 ** 300, 1.5, -0.0, float("inf"), float("-inf"), "", "é\ud800", [1, [2]], (1, (2,)), (),
    {1: "a", "1": "b", (1, 2): [3], None: 0, 2.5: True}, {1, 2}, frozenset({3}), b"\x00\xff", bytearray(b"ab"), 1 + 2j,
    collections.Counter("aab"), collections.OrderedDict([(2, 1), (1, 2)]), collections.deque([1, (2, 3)]),
    fractions.Fraction(-3, 4), decimal.Decimal("1.10"), int, len,
])
def test_round_trip_keeps_types_and_values(value):
    data = json.loads(json.dumps(encode(value, no_handles), allow_nan=False))
    back = decode(data, lambda h: pytest.fail("no handle expected"))
    assert type(back) is type(value)
    assert back == value or value != value
    if isinstance(value, (dict, collections.OrderedDict)):
        assert [type(k) for k in back] == [type(k) for k in value] and list(back) == list(value)
    if type(value) is collections.defaultdict:
        assert back.default_factory is None


def test_nan_round_trips_as_nan():
    back = decode(json.loads(json.dumps(encode(float("nan"), no_handles))), None)
    assert type(back) is float and back != back


def test_anything_else_is_a_handle():
    class Mine:
        pass

    class MyInt(int):
        pass

    handles = []
    data = encode([Mine(), MyInt(3), iter([1])], lambda obj: handles.append(obj) or len(handles) - 1)
    assert data == [{"H": 0}, {"H": 1}, {"H": 2}] and type(handles[1]) is MyInt
    assert decode(data, lambda h: f"remote-{h}") == ["remote-0", "remote-1", "remote-2"]


@pytest.mark.parametrize("data", [
    {"X": 1}, {"T": 1}, {"D": [[1]]}, {"D": [[1, 2, 3]]}, {"F": "1.0"}, {"B": "%%%"}, {"C": ["a", 1]}, {"H": "0"},
    {"FR": [1, 0]}, {"N": "__import__x"}, {"N": "open_not_builtin"}, {"T": [], "S": []}, {"M": "os"}, {"S": [[1]]},
])
def test_malformed_data_is_refused(data):
    with pytest.raises((ValueError, TypeError)):
        decode(data, lambda h: h)


def test_depth_is_bounded_both_ways():
    deep = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises((ValueError, RecursionError)):  # whichever comes first; the server answers it as an error
        encode(deep, no_handles)
    nested = "[" * 5000 + "]" * 5000
    with pytest.raises((ValueError, RecursionError)):
        decode(json.loads(nested), None)
