"""The comparison chain, case by case: what each method accepts, and what nothing accepts."""

from __future__ import annotations

import pytest

from mc.reward.compare import compare_stdout, compare_value, lcb_stdout_equal, numbers_close


def cmp(got: str, expected: str, **rules) -> str | None:
    return compare_stdout(got.encode(), expected, rules)


@pytest.mark.parametrize(
    "got, expected, method",
    [
        ("3\n", "3\n", "exact"),
        ("3", "3\n", "whitespace"),  # missing final newline
        ("1 2  \r\n3\n\n\n", "1 2\n3\n", "whitespace"),  # trailing spaces, CRLF, blank lines
        ("1   2\n3\n", "1 2\n3\n", "tokens"),  # inner spacing
        ("1\t2\n", "1 2\n", "tokens"),
        ("0.5\n", "0.500000000\n", "decimal"),  # equal in exact value
        ("1e-7\n", "0.0000001\n", "decimal"),
        ("0.3333333\n", "0.333333333\n", None),  # close, but no statement tolerance: no default one
        ("2.0000001 7\n", "2 7\n", None),  # the expected 2 is an integer: compared as text
    ],
)
def test_chain_methods(got, expected, method):
    assert cmp(got, expected) == method


def test_tolerance_only_where_the_statement_grants_one():
    assert cmp("0.3333333\n", "0.333333333\n", float_tol=1e-6) == "float"  # |diff| < 1e-6
    assert cmp("0.5\n", "0.500000000\n", float_tol=1e-6) == "decimal"  # exact value: no tolerance needed
    assert cmp("1234567\n", "1234567.5\n") is None  # within 1e-6 relative, but nothing granted it
    assert cmp("2.0000001 7\n", "2 7\n", float_tol=1e-6) is None  # integers as text even then


def test_relative_tolerance_applies_to_large_values():
    assert cmp("100000000.5\n", "100000000.4\n", float_tol=1e-6) == "float"  # 0.1 <= 1e-6 * 1e8 = 100
    assert cmp("100000000.5\n", "100000000.4\n", float_tol=1e-6, float_tol_kind="absolute") is None


@pytest.mark.parametrize(
    "got, expected",
    [
        ("3\n4\n", "3\n"),  # an extra line
        ("3 4\n", "3\n"),  # an extra token
        ("3\n", "3 4\n"),  # a missing token
        ("1 2\n3\n", "1\n2 3\n"),  # same tokens, different lines
        ("No\n", "Yes\n"),  # a different word
        ("YES\n", "Yes\n"),  # case, when the statement does not free it
        ("3.0\n", "3\n"),  # an integer written differently
        ("07\n", "7\n"),
        ("+7\n", "7\n"),
        ("0.334\n", "0.333333333\n"),  # outside the tolerance
        ("nan\n", "0.5\n"),
        ("inf\n", "1e400\n"),
        ("2 1\n", "1 2\n"),  # order, when the statement does not free it
        ("123456789012345678901234567891\n", "123456789012345678901234567890\n"),  # big integers exact
        ("\n", "0\n"),
        ("", "0\n"),
    ],
)
def test_never_accepted(got, expected):
    assert cmp(got, expected) is None


def test_case_and_order_only_where_the_statement_grants_them():
    assert cmp("yes\n", "YES\n", case_insensitive=True) == "case"
    assert cmp("No\n", "YES\n", case_insensitive=True) is None
    assert cmp("3\n1\n2\n", "1\n2\n3\n", unordered=True) == "unordered"
    assert cmp("3 1 2\n", "1 2 3\n", unordered=True) == "unordered"  # one line: its tokens in any order
    assert cmp("3 1 2\n", "1 2 4\n", unordered=True) is None
    assert cmp("1 1 2\n", "1 2 2\n", unordered=True) is None  # multisets, not sets


def test_statement_tolerance_is_the_only_tolerance():
    assert cmp("0.33\n", "0.333333\n", float_tol=1e-2) == "float"
    assert cmp("0.3333\n", "0.333333\n", float_tol=1e-9) is None
    assert cmp("0.3333\n", "0.333333\n") is None


def test_numbers_close_by_hand():
    # |1.0000005 - 1| = 5e-7 <= 1e-6 (absolute)
    assert numbers_close("1.0000005", "1.0", 1e-6)
    # |2000001 - 2000000| = 1 <= 1e-6 * 2e6 = 2 (relative), expected written as a decimal
    assert numbers_close("2000001", "2000000.0", 1e-6)
    assert not numbers_close("2000001", "2000000", 1e-6)  # integer expected: text only
    assert not numbers_close("abc", "1.5", 1e-6)
    assert not numbers_close("1.0000005", "1.0")  # no tolerance given: exact value only
    assert numbers_close("1.00", "1.0")


def val(got: str, expected: str, **rules) -> str | None:
    return compare_value(got.encode(), expected, rules)


@pytest.mark.parametrize(
    "got, expected, method",
    [
        ("[1, 2]", "[1, 2]", "exact"),
        ("[1,2]", "[1, 2]", "json"),
        ('{"b": 1, "a": 2}', '{"a": 2, "b": 1}', "json"),
        ("0.30000000000000004", "0.3", None),  # no statement tolerance: floats exactly
        ("[0.5, 1]", "[0.50000001, 1]", None),
        ("2", "2.0", "decimal"),  # an integer of equal value for an expected float
        ("[0.5, 1]", "[0.5, 1]", "exact"),
        ("true", "true", "exact"),
        ("[1, 2]", "[1, 2, 3]", None),
        ("1.0", "1", None),  # integers exact
        ("1", "true", None),  # a number is not a boolean
        ("true", "1", None),
        ('"1"', "1", None),
        ("[2, 1]", "[1, 2]", None),
        ('{"__set__": [1, 2]}', "[1, 2]", None),  # a set where a list is expected
        ("null", "[]", None),
        ('"ABC"', '"abc"', None),
    ],
)
def test_value_chain(got, expected, method):
    assert val(got, expected) == method


def test_value_rules():
    assert val("0.30000000000000004", "0.3", float_tol=1e-9) == "float"
    assert val("[0.5, 1]", "[0.50000001, 1]", float_tol=1e-6) == "float"
    assert val("[0.5, 1.0]", "[0.50000001, 1]", float_tol=1e-6) is None  # the integer stays exact
    assert val("[2, 1]", "[1, 2]", unordered=True) == "unordered"
    assert val('{"__set__": [1, 2]}', "[2, 1]", unordered=True) == "unordered"
    assert val('"ABC"', '"abc"', case_insensitive=True) == "case"
    assert val("[[1, 2], [3]]", "[[3], [1, 2]]", unordered=True) == "unordered"


def test_strict_mode_matches_livecodebench():
    assert lcb_stdout_equal("  3  \n\n", "3")
    assert lcb_stdout_equal("3.0\n", "3\n")  # Decimal equality
    assert lcb_stdout_equal("07\n", "7\n")
    assert not lcb_stdout_equal("0.3333333\n", "0.333333333\n")  # no tolerance
    assert not lcb_stdout_equal("YES\n", "Yes\n")
    assert not lcb_stdout_equal("1 2\n", "1\n2\n")
    assert compare_stdout(b"1  2\n", "1 2\n", {}, "strict") == "strict"  # Decimal tokens
    assert compare_value(b"1.0", "1", {}, "strict") == "strict"  # Python ==
    assert compare_value(b"true", "1", {}, "strict") == "strict"
    assert compare_value(b"[2, 1]", "[1, 2]", {"unordered": True}, "strict") is None
