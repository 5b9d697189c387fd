"""What the judge accepts, as tables: one row per case, each with the reason.

The rule under test: leniency follows the problem statement (the rules that
`mc.reward.rules` reads from it: float_tol / float_tol_kind, case_insensitive,
unordered) and the kind of test; nothing else is granted. Under RL the policy
is an adversary of this judge, so most rows are outputs a wrong (or gaming)
program could print; each row names the method that must accept it, or None
where nothing may.
"""

from __future__ import annotations

import sys
import time

import pytest

from mc.reward import compare
from mc.reward.compare import compare_stdout, compare_value, lcb_stdout_equal
from mc.reward.rules import extract_rules

NONE: dict = {}  # the statement grants nothing
TOL6 = {"float_tol": 1e-6}  # "absolute or relative error at most 10^-6"
TOL5 = {"float_tol": 1e-5}
ABS6 = {"float_tol": 1e-6, "float_tol_kind": "absolute"}  # "absolute error at most 10^-6"
REL6 = {"float_tol": 1e-6, "float_tol_kind": "relative"}  # "relative error at most 10^-6"
CASE = {"case_insensitive": True}  # "you may print each letter in any case"
ORDER = {"unordered": True}  # "print them in any order"


def _id(row) -> str:
    return repr(row[0])[:40] + "|" + repr(row[1])[:25]


# --- stdin numbers, no tolerance in the statement -----------------------------------------

NO_TOLERANCE = [
    # got, expected, rules, accepted by
    ("1234567\n", "1234567.5\n", NONE, None),  # within 1e-6 relative, but nothing grants a tolerance
    ("0.3333333\n", "0.333333333\n", NONE, None),  # close is not equal without a statement tolerance
    ("0.50000001\n", "0.5\n", NONE, None),
    ("0.5000000000000000000001\n", "0.5\n", NONE, None),  # equal as floats, not as decimals
    ("2.50\n", "2.5\n", NONE, "decimal"),  # trailing zeros: the same value
    ("2.5\n", "2.50000\n", NONE, "decimal"),
    ("1e-3\n", "0.001\n", NONE, "decimal"),  # exponent form: the same value
    ("1E-3\n", "0.001\n", NONE, "decimal"),
    ("0.001\n", "1e-3\n", NONE, "decimal"),
    ("25e-1\n", "2.5\n", NONE, "decimal"),
    ("2\n", "2.0\n", NONE, "decimal"),  # an integer of the expected decimal's value
    ("2.\n", "2.0\n", NONE, "decimal"),
    (".5\n", "0.5\n", NONE, "decimal"),
    ("0007.5\n", "7.5\n", NONE, "decimal"),  # leading zeros of a decimal: the same value
    ("+0.5\n", "0.5\n", NONE, "decimal"),  # a sign that does not change the value
    ("-0.0\n", "0.0\n", NONE, "decimal"),  # -0 equals 0 in value
    ("0.0\n", "-0.0\n", NONE, "decimal"),
    ("-0.5\n", "0.5\n", NONE, None),  # a sign that does
    ("3.0\n", "3\n", NONE, None),  # an expected integer compares as text
    ("3e0\n", "3\n", NONE, None),
    ("07\n", "7\n", NONE, None),
    ("+7\n", "7\n", NONE, None),
    ("-0\n", "0\n", NONE, None),
    ("123456789012345678901234567891\n", "123456789012345678901234567890\n", NONE, None),  # big integers exact
    ("1e400\n", "1e400\n", NONE, "exact"),
    ("2e400\n", "1e400\n", NONE, None),  # both overflow a float; as decimals they differ
    ("1e999999999999999999999\n", "0.5\n", NONE, None),  # beyond Decimal's exponent: rejected, not raised
    ("0." + "0" * 5000 + "1\n", "0.0\n", NONE, None),  # tiny but not zero
    # nan / inf / infinity: numbers only as text equal to the expected token
    ("nan\n", "nan\n", NONE, "exact"),
    ("NaN\n", "nan\n", NONE, None),
    ("nan\n", "0.5\n", NONE, None),
    ("inf\n", "1e400\n", NONE, None),
    ("Infinity\n", "inf\n", NONE, None),
    ("-inf\n", "-1e400\n", NONE, None),
    ("inf\n", "inf\n", NONE, "exact"),
    # underscores are not part of numbers (float() and Decimal() accept them)
    ("1_000.5\n", "1000.5\n", NONE, None),
    ("1_000\n", "1000\n", NONE, None),
    ("0.000_001\n", "0.000001\n", NONE, None),
    # non-ASCII digits are not digits (\d, float() and Decimal() accept them)
    ("١٢٣.٥\n", "123.5\n", NONE, None),  # Arabic-Indic
    ("１２３.５\n", "123.5\n", NONE, None),  # fullwidth
    ("٣\n", "3\n", NONE, None),
    ("\U0001d7cf.5\n", "1.5\n", NONE, None),  # MATHEMATICAL BOLD DIGIT ONE
    ("1.٥\n", "1.5\n", NONE, None),
    ("١٢٣\n", "١٢٣\n", NONE, "exact"),  # as text, equal is equal
]


@pytest.mark.parametrize("got, expected, rules, method", NO_TOLERANCE, ids=[_id(r) for r in NO_TOLERANCE])
def test_numbers_without_a_statement_tolerance(got, expected, rules, method):
    assert compare_stdout(got.encode(), expected, rules) == method


# --- stdin numbers, with a statement tolerance --------------------------------------------

WITH_TOLERANCE = [
    ("0.3333333\n", "0.333333333\n", TOL6, "float"),  # |diff| < 1e-6
    ("0.334\n", "0.333333333\n", TOL6, None),  # outside
    ("1234567\n", "1234567.5\n", TOL6, "float"),  # relative: 0.5 <= 1e-6 * 1234567.5
    ("1234567\n", "1234567.5\n", ABS6, None),  # the statement grants only an absolute error
    ("0.0000015\n", "0.000001\n", TOL6, "float"),  # absolute: 5e-7 <= 1e-6
    ("0.0000015\n", "0.000001\n", REL6, None),  # only a relative error: 5e-7 > 1e-6 * 1e-6
    ("1.00001\n", "1.0\n", TOL5, "float"),  # exactly at the bound (float arithmetic says 1.0000000000065512e-05)
    ("1.0000100001\n", "1.0\n", TOL5, None),  # just past it
    ("2.50\n", "2.5\n", TOL6, "decimal"),  # exact value: recorded as such, no tolerance used
    ("3.3333333e-1\n", "0.333333333\n", TOL6, "float"),  # exponent forms within the tolerance
    ("3\n", "3.0000001\n", TOL6, "float"),  # an integer token for a decimal within the tolerance
    ("3.0000001\n", "3\n", TOL6, None),  # an expected integer compares as text, even with a tolerance
    ("3.0\n", "3\n", TOL6, None),
    ("-0.5\n", "0.5\n", TOL6, None),  # the sign counts
    ("-0.0000001\n", "0.0\n", TOL6, "float"),
    ("1e400\n", "0.5\n", TOL6, None),  # huge: rejected, not an overflow
    ("0.5e999999999999999999\n", "0.5\n", TOL6, None),
    ("9e999999999999999999\n", "-9e999999999999999999\n", TOL6, None),  # the difference overflows even Decimal
    ("1e-999999999999999999\n", "0.0\n", TOL6, "float"),  # tiny: within the absolute bound
    ("2e400\n", "1e400\n", TOL6, None),  # both are inf as floats (inf - inf); in Decimal a factor 2 apart
    ("1.0000001e400\n", "1e400\n", TOL6, "float"),  # and relative 1e-7 apart at that size
    ("nan\n", "0.5\n", TOL6, None),  # spelled-out specials are never numbers
    ("inf\n", "1e400\n", TOL6, None),
    ("Infinity\n", "1e400\n", TOL6, None),
    ("nan\n", "nan\n", TOL6, "exact"),
    ("1_0.5\n", "10.5\n", TOL6, None),  # underscores
    ("١٠.٥\n", "10.5\n", TOL6, None),  # non-ASCII digits
    ("0.33333333\n", "0.333333333\n", {"float_tol": 1e-9}, None),  # a tighter statement bound
    ("0.33\n", "0.333333\n", {"float_tol": 1e-2}, "float"),  # a looser one
]


@pytest.mark.parametrize("got, expected, rules, method", WITH_TOLERANCE, ids=[_id(r) for r in WITH_TOLERANCE])
def test_numbers_with_a_statement_tolerance(got, expected, rules, method):
    assert compare_stdout(got.encode(), expected, rules) == method


# --- separators, lines, case and order ------------------------------------------------------

TEXT = [
    # only ASCII whitespace (space, \t, \r, \n, \v, \f) separates tokens and lines
    ("1\t2\n", "1 2\n", NONE, "tokens"),
    ("1\x0b2\n", "1 2\n", NONE, "tokens"),  # \v
    ("1\x0c2\n", "1 2\n", NONE, "tokens"),  # \f
    ("1   2\n", "1 2\n", NONE, "tokens"),
    ("  1 2\n", "1 2\n", NONE, "tokens"),  # leading spaces on a line
    ("1\x1c2\n", "1 2\n", NONE, None),  # FILE SEPARATOR: str.split() splits on it, we do not
    ("1\x1f2\n", "1 2\n", NONE, None),  # UNIT SEPARATOR
    ("1\xa02\n", "1 2\n", NONE, None),  # NO-BREAK SPACE
    ("1\x852\n", "1 2\n", NONE, None),  # NEXT LINE (C1)
    ("1\u20282\n", "1 2\n", NONE, None),  # LINE SEPARATOR
    ("1\u30002\n", "1 2\n", NONE, None),  # IDEOGRAPHIC SPACE
    ("1\u2003\u20032\n", "1 2\n", NONE, None),  # EM SPACEs
    ("1\x1c2\n", "1\n2\n", NONE, None),  # ... nor do they separate lines (str.splitlines() would)
    ("1\x1e2\n", "1\n2\n", NONE, None),
    ("1\x852\n", "1\n2\n", NONE, None),
    ("1\u20282\n", "1\n2\n", NONE, None),
    ("1\u20292\n", "1\n2\n", NONE, None),
    ("1 2\xa0\n", "1 2\n", NONE, None),  # nor are they trailing whitespace (str.rstrip() would drop it)
    ("1 2\x1f\n", "1 2\n", NONE, None),
    ("1 2\x0b\n", "1 2\n", NONE, "whitespace"),  # ASCII \v is
    ("\xa01 2\n", "1 2\n", NONE, None),  # nor leading whitespace
    ("1\xa02\n", "1\xa02\n", NONE, "exact"),  # an expected NBSP is a character like any other
    ("1\xa02 3\n", "1\xa02  3\n", NONE, "tokens"),
    ("2.5\xa0\n", "2.5\n", NONE, None),  # nor around numbers
    ("2.50\x1c\n", "2.5\n", NONE, None),
    # CRLF, trailing blank lines, missing final newline
    ("1 2\r\n3\r\n", "1 2\n3\n", NONE, "whitespace"),
    ("1\n", "1\r\n", NONE, "whitespace"),  # CRLF in the expected output
    ("3", "3\n", NONE, "whitespace"),
    ("3\n\n\n", "3\n", NONE, "whitespace"),
    ("3\n \n\t\n", "3\n", NONE, "whitespace"),  # blank lines of ASCII whitespace
    ("3\n\xa0\n", "3\n", NONE, None),  # a line holding NBSP is not blank
    ("3\n\x1c\n", "3\n", NONE, None),
    ("\n3\n", "3\n", NONE, None),  # a leading blank line is a line
    ("1\n\n2\n", "1\n2\n", NONE, None),  # so is one in between
    ("1 2\n3\n", "1\n2 3\n", NONE, None),  # same tokens, other lines
    ("", "0\n", NONE, None),
    ("\n", "0\n", NONE, None),
    (b"\xff\n", "\ufffd\n", NONE, None),  # an invalid byte is not U+FFFD
    # case: only where granted, ASCII letters only
    ("yes\n", "YES\n", NONE, None),
    ("yes\n", "YES\n", CASE, "case"),
    ("No\n", "YES\n", CASE, None),
    ("straße\n", "STRASSE\n", CASE, None),  # casefold() makes ß "ss": not the same word
    ("STRAßE\n", "straße\n", CASE, "case"),  # the ASCII letters fold, ß stays itself
    ("\u212aey\n", "key\n", CASE, None),  # KELVIN SIGN: str.lower() makes it "k"
    ("\u0130\n", "i\n", CASE, None),  # LATIN CAPITAL I WITH DOT: lower() gives "i̇"
    ("ＹＥＳ\n", "YES\n", CASE, None),  # fullwidth letters
    ("1E-3\n", "0.001\n", CASE, "decimal"),  # an exponent letter is no case question
    ("NAN\n", "nan\n", CASE, "case"),  # granted case: the same word (as text, not as a number)
    ("0.5 YES\n", "0.50000001 yes\n", {**CASE, **TOL6}, "case"),  # tolerance and case together
    # order: only where granted, as a multiset
    ("2 1\n", "1 2\n", NONE, None),
    ("2 1\n", "1 2\n", ORDER, "unordered"),  # one line: its tokens in any order
    ("2\n1\n", "1\n2\n", ORDER, "unordered"),  # lines in any order
    ("1 1 2\n", "1 2 2\n", ORDER, None),  # multisets, not sets
    ("2 1\n", "1\n2\n", ORDER, None),  # the lines still count
    ("3 4\n1 2\n", "1 2\n3 4\n", ORDER, "unordered"),
    ("4 3\n1 2\n", "1 2\n3 4\n", ORDER, None),  # lines move, tokens within a line do not
    ("0.50 0.25\n", "0.25 0.5\n", ORDER, "unordered"),  # exact-value decimals in any order
    ("1\xa02 3\n", "3 1 2\n", ORDER, None),  # an NBSP does not split there either
    ("b A\n", "a B\n", {**CASE, **ORDER}, "unordered"),
    ("b A\n", "a B\n", ORDER, None),
    ("A b\n", "b a\n", ORDER, None),  # order granted, case not
    ("YES\n", "yes\n", ORDER, None),
    ("0.5 0.25\n", "0.2500001 0.5\n", ORDER, None),  # order granted, no tolerance
    ("0.5 0.25\n", "0.2500001 0.5\n", {**ORDER, **TOL6}, "unordered"),
]


@pytest.mark.parametrize("got, expected, rules, method", TEXT, ids=[_id(r) for r in TEXT])
def test_separators_lines_case_and_order(got, expected, rules, method):
    raw = got if isinstance(got, bytes) else got.encode()
    assert compare_stdout(raw, expected, rules) == method


def test_the_unicode_only_whitespace_list_is_complete():
    """The fast path (str.split() where no such character occurs) is right only if
    this list holds every character str.isspace() accepts beyond ASCII's six."""
    listed = set(compare._UNICODE_ONLY_SPACE.findall("".join(map(chr, range(sys.maxunicode + 1)))))
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - set(compare.WHITESPACE)
    assert listed == spaces


# --- strict mode (LiveCodeBench's grader) -----------------------------------------------

STRICT = [
    # got, expected, accepted
    ("3.0\n", "3\n", True),  # LiveCodeBench: Decimal equality of the line's tokens
    ("07\n", "7\n", True),
    ("+7\n", "7\n", True),
    ("1e3\n", "1000\n", True),
    ("  3  \n\n", "3", True),  # stripped lines, stripped output
    ("3\r\n", "3\n", True),
    ("1  2\n", "1 2\n", True),
    ("0.3333333\n", "0.333333333\n", False),  # never a tolerance
    ("YES\n", "Yes\n", False),
    ("1 2\n", "1\n2\n", False),
    ("1_000_000\n", "1000000\n", False),  # Decimal('1_000_000') == 1000000: not a number here
    ("1_000 2.0\n", "1_000 2\n", True),  # as text equal to the expected token: as LiveCodeBench
    ("١٢٣\n", "123\n", False),  # Decimal('١٢٣') == 123: not here
    ("１２３\n", "123\n", False),
    ("NaN\n", "NaN\n", True),  # the same line
    ("NaN 1.0\n", "NaN 1\n", False),  # LiveCodeBench's Decimal: NaN != NaN
    ("Infinity\n", "1e999999999\n", False),
    ("inf\n", "Infinity\n", False),  # Decimal('inf') == Decimal('Infinity'): only as equal text
    ("Infinity 1.0\n", "Infinity 1\n", True),  # equal text, then LiveCodeBench's Decimal equality
    ("sNaN\n", "0\n", False),
    ("sNaN 1.0\n", "sNaN 1\n", False),  # comparing sNaN raises: rejected, not raised
    ("abc 3.0\n", "abc 3\n", False),  # LiveCodeBench: 'abc' is no Decimal, so the line differs
    ("1\xa02\n", "1 2\n", False),  # str.split() splits on NBSP; only ASCII whitespace here
    ("1 2\x1c\n", "1 2\n", False),  # str.strip() strips \x1c
    ("1e999999999999999999999\n", "1\n", False),  # Decimal raises: rejected
]


@pytest.mark.parametrize("got, expected, accepted", STRICT, ids=[_id(r) for r in STRICT])
def test_strict_mode(got, expected, accepted):
    assert lcb_stdout_equal(got, expected) is accepted
    assert compare_stdout(got.encode(), expected, {}, "strict") == ("strict" if accepted else None)


# --- functional (call) results -----------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_DICT = '{"a": ' * 100_000 + "1" + "}" * 100_000
NESTED_500 = "[" * 500 + "%d" + "]" * 500

VALUES = [
    # got JSON, expected JSON, rules, accepted by
    ("1", "1", NONE, "exact"),
    ("1.0", "1", NONE, None),  # integers exact and typed
    ("1", "1.0", NONE, "decimal"),  # an integer of equal value for an expected float
    ("true", "1", NONE, None),  # a boolean is not a number
    ("1", "true", NONE, None),
    ("0", "false", NONE, None),
    ("true", "1.0", NONE, None),
    ("true", "1.0", TOL6, None),
    ("0.30000000000000004", "0.3", NONE, None),  # no statement tolerance: floats exactly
    ("0.30000000000000004", "0.3", {"float_tol": 1e-9}, "float"),
    ("0.3000001", "0.3", {"float_tol": 1e-9}, None),
    ("1234567.0", "1234567.5", TOL6, "float"),  # relative
    ("1234567.0", "1234567.5", ABS6, None),  # only an absolute error granted
    ("0.50", "0.5", NONE, "json"),  # the same float
    ("-0.0", "0.0", NONE, "json"),
    # big integers where floats are expected
    (str(10**400), "1.5", NONE, None),  # float(10**400) would raise OverflowError
    (str(10**400), "1.5", TOL6, None),
    (str(10**400), "1e300", TOL6, None),
    ("9007199254740993", "9007199254740992.0", NONE, None),  # 2**53+1: float() would round it to equal
    ("9007199254740993", "9007199254740992.0", TOL6, "float"),  # within relative 1e-6, truly
    ("123456789012345678901234567891", "123456789012345678901234567890", NONE, None),
    ("1" * 5000, "1.5", TOL6, None),  # beyond int()'s digit limit: rejected, not raised
    # non-finite and non-JSON numbers
    ("1e400", "1e400", NONE, "exact"),
    ("2e400", "1e400", NONE, None),  # both parse to inf: a program's float never overflows
    ("Infinity", "1e400", NONE, None),
    ("-Infinity", "-1e400", TOL6, None),
    ("NaN", "0.5", TOL6, None),
    ("١", "1", NONE, None),  # non-ASCII digits are no JSON
    ("1_0", "10", NONE, None),
    # nested and deep values
    ("[[1, 2], [3]]", "[[1, 2], [3]]", NONE, "exact"),
    ("[[1,2],[3]]", "[[1, 2], [3]]", NONE, "json"),
    ("[[[[1.0]]]]", "[[[[1]]]]", NONE, None),
    ("[[[[1]]]]", "[[[[1.0]]]]", NONE, "decimal"),
    (DEEP, "[]", NONE, None),  # json.loads raises RecursionError: rejected, not raised
    (DEEP, "[[]]", TOL6, None),
    (DEEP_DICT, '{"a": 1}', NONE, None),
    (NESTED_500 % 1, NESTED_500 % 2, {**TOL6, **CASE, **ORDER}, None),  # parses; comparing recurses too deep: rejected
    # dicts
    ('{"b": 1, "a": 2}', '{"a": 2, "b": 1}', NONE, "json"),
    ('{"a": 1, "a": 2}', '{"a": 2}', NONE, None),  # duplicate keys: no plain value has them
    ('{"a": 1}', '{"a": 1, "b": 2}', NONE, None),
    ('{"a": 1.0}', '{"a": 1}', NONE, None),
    ('{"a": 1}', '{"a": 1.0}', NONE, "decimal"),
    ('{"A": 1}', '{"a": 1}', CASE, None),  # case applies to string values, not keys
    # sets and lists: order only where granted
    ("[2, 1]", "[1, 2]", NONE, None),
    ("[2, 1]", "[1, 2]", ORDER, "unordered"),
    ('{"__set__": [1, 2]}', "[1, 2]", NONE, None),  # a set where a list is expected
    ('{"__set__": [1, 2]}', "[2, 1]", ORDER, "unordered"),
    ('{"__set__": [1, 2]}', '{"__set__": [1, 2]}', NONE, "exact"),
    ("[1, 2]", '{"__set__": [1, 2]}', NONE, None),  # a list where a set is expected
    ("[2, 1]", '{"__set__": [1, 2]}', ORDER, "unordered"),
    ('{"__set__": [1, 2]}', '{"a": 1}', NONE, None),
    ("[1, 1, 2]", "[1, 2, 2]", ORDER, None),  # multisets
    ("[2.0, 1]", "[1, 2]", ORDER, None),  # integers typed, in any order too
    ("[[3], [1, 2]]", "[[1, 2], [3]]", ORDER, "unordered"),  # the outer order only
    ("[[2, 1], [3]]", "[[1, 2], [3]]", ORDER, None),
    # strings
    ('"ABC"', '"abc"', NONE, None),
    ('"ABC"', '"abc"', CASE, "case"),
    ('"STRASSE"', '"straße"', CASE, None),  # no Unicode folding
    ('"\u212a"', '"k"', CASE, None),
    ('"1"', "1", NONE, None),
    ("null", "[]", NONE, None),
    ("null", "null", NONE, "exact"),
    ('"\\u00e9"', '"é"', NONE, "json"),  # the same string, escaped
    (b'"\xff"', '"\ufffd"', NONE, None),  # an invalid byte is not U+FFFD
    ("", "1", NONE, None),
    ("[1, 2", "[1, 2]", NONE, None),
]


@pytest.mark.parametrize("got, expected, rules, method", VALUES, ids=[_id(r) for r in VALUES])
def test_functional_values(got, expected, rules, method):
    raw = got if isinstance(got, bytes) else got.encode()
    assert compare_value(raw, expected, rules) == method


STRICT_VALUES = [
    ("1.0", "1", True),  # LiveCodeBench: Python ==
    ("true", "1", True),
    ("[2, 1]", "[1, 2]", False),
    (str(10**400), "1e300", False),
    (DEEP, "[]", False),
    ("2e400", "1e400", False),
    ('{"__set__": [1, 2]}', "[1, 2]", False),
]


@pytest.mark.parametrize("got, expected, accepted", STRICT_VALUES, ids=[_id(r) for r in STRICT_VALUES])
def test_strict_values(got, expected, accepted):
    assert compare_value(got.encode(), expected, {"unordered": True}, "strict") == ("strict" if accepted else None)


# --- rules: which statement phrasings grant what -------------------------------------------

PHRASES = [
    # LeetCode's phrasing: absolute
    ("Answers within 10^-5 of the actual answer will be accepted.", {"float_tol": 1e-5, "float_tol_kind": "absolute"}),
    ("Answers within 10-5 of the actual value will be accepted.", {"float_tol": 1e-5, "float_tol_kind": "absolute"}),  # lost superscript
    ("Any answer within 10^{-6} of the correct answer is accepted.", {"float_tol": 1e-6, "float_tol_kind": "absolute"}),
    # AtCoder / Codeforces phrasings
    ("Your answer will be considered correct if the absolute error from the true value is at most 10 ^ {-8}.",
     {"float_tol": 1e-8, "float_tol_kind": "absolute"}),
    ("Your output will be considered correct when the relative or absolute error from the true value is at most 10 ^ {-5}.",
     {"float_tol": 1e-5}),
    ("Your answer is considered correct if its absolute or relative error does not exceed 10^{-6}.", {"float_tol": 1e-6}),
    ("if the absolute error or relative error does not exceed 1e-9", {"float_tol": 1e-9}),
    ("It is accepted if its relative error is at most 10^{-6}.", {"float_tol": 1e-6, "float_tol_kind": "relative"}),
    ("Correct if its absolute error is at most 10^{-6}, or its relative error is at most 10^{-6}.", {"float_tol": 1e-6}),
    ("The absolute error must be at most 10^{-6}. Relative errors are not considered.",
     {"float_tol": 1e-6, "float_tol_kind": "absolute"}),  # the next sentence is another matter
    # not tolerances
    ("The distance is within 10 of the actual answer.", {}),
    ("Print the number of ways modulo 10^9+7.", {}),
    ("Note that 10^{-6} < x.", {}),
    ("if the absolute or relative error is at most 1e999", {}),  # not a tolerance (and no OverflowError)
    ("if the absolute or relative error is at most 10^{-٦}", {}),  # ASCII digits only
    # case and order
    ("The judge is case-insensitive. For example, if the correct answer is Yes, any of yes, YES, and yEs will be accepted.",
     {"case_insensitive": True}),
    ("Return the answer in any order.", {"unordered": True}),
    ("You can do the following operation any number of times in any order.", {}),
]


@pytest.mark.parametrize("statement, rules", PHRASES, ids=[p[0][:40] for p in PHRASES])
def test_rules_phrasings(statement, rules):
    assert extract_rules(statement) == rules


def test_an_absolute_only_statement_grants_no_relative_tolerance():
    """End to end: the rules a statement yields decide what compare accepts."""
    rules = extract_rules("Answers within 10^-5 of the actual answer will be accepted.")
    assert compare_value(b"100000.5", "100000.0", rules) is None  # 0.5 > 1e-5, though <= 1e-5 relative
    assert compare_value(b"100000.000001", "100000.0", rules) == "float"
    assert compare_stdout(b"1000000.5\n", "1000000.0\n", rules) is None
    assert compare_stdout(b"1000000.5\n", "1000000.0\n", extract_rules("absolute or relative error at most 10^{-6}")) == "float"


# --- totality and linear time --------------------------------------------------------------

NASTY = [
    b"", b"\n", b"\x00", b"\xff\xfe", b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"NaN", b"sNaN", b"-sNaN", b"Infinity", b"1e999999999999999999999999", b"1e-999999999999999999999999",
    b"1" * 5000, b"-" + b"9" * 5000 + b".5", b"0x1p3", b"1_0", "١٢٣".encode(), b"[" * 100_000, DEEP.encode(),
    b'{"__set__": 1}', b'{"__set__": [[], {}]}', b'[1e400]', b'[{"a": NaN}]', b'"\\ud800"', b"1\x1c2", "1\u20282".encode(),
    b"\r\r\n\n\r", b" " * 1000 + b"\x0b\x0c",
]
EXPECTED = ["", "0", "1.5", "1e400", "NaN", "[1, 2]", '{"__set__": [1, 2]}', '{"a": 1.0}', '"x"', "1 2\n3 4\n", "[[0.5]]"]
RULES = [NONE, TOL6, REL6, CASE, ORDER, {**TOL6, **CASE, **ORDER}, {"float_tol": "junk"}, {"float_tol": float("nan")}]


def test_nothing_a_program_outputs_raises():
    for got in NASTY:
        for expected in EXPECTED:
            for rules in RULES:
                for mode in ("microcoder", "strict"):
                    assert compare_stdout(got, expected, rules, mode) in (None, "exact", "whitespace", "tokens", "decimal",
                                                                         "float", "case", "unordered", "strict")
                    assert compare_value(got, expected, rules, mode) in (None, "exact", "json", "decimal", "float", "case",
                                                                        "unordered", "strict")


ALL = {"float_tol": 1e-6, "case_insensitive": True, "unordered": True}


@pytest.mark.parametrize(
    "got, expected",
    [
        (b"1" * 3_000_000 + b"x", "0.5"),  # a number-like token that fails late (a backtracking regex: hours)
        (b"1" * 3_000_000 + b".5e", "0.5"),
        (b"1" * 30_000_000 + b".5", "0.5"),  # one line of 30 MB
        (b" ".join([b"1"] * 1_000_000) + b" 2", " ".join(["1"] * 1_000_000) + " 3"),  # 10^6 tokens, wrong at the end
        (b"\n".join([b"0.5"] * 300_000) + b"\n0.7", "\n".join(["0.50"] * 300_000) + "\n0.6"),  # every token a Decimal pair
        (b"\xa0".join([b"1"] * 1_000_000), " ".join(["1"] * 1_000_000)),  # 10^6 NBSPs: the slow tokeniser
    ],
    ids=["3MB-token-x", "3MB-token-e", "30MB-line", "1e6-tokens", "3e5-decimal-lines", "1e6-nbsp"],
)
def test_long_outputs_take_linear_time(got, expected):
    # CPU time of this process (other work on the machine does not count): linear
    # is a few seconds at most here; quadratic (a backtracking regex, a rescan per
    # token) is hours.
    for rules, mode in ((ALL, "microcoder"), (NONE, "microcoder"), (NONE, "strict")):
        start = time.process_time()
        assert compare_stdout(got, expected, rules, mode) is None
        assert time.process_time() - start < 30, (rules, mode)


def test_long_functional_values_take_linear_time():
    got = ("[" + ", ".join(["0.5"] * 300_000) + ", 0.7]").encode()
    expected = "[" + ", ".join(["0.5"] * 300_000) + ", 0.6]"
    start = time.process_time()
    assert compare_value(got, expected, ALL) is None  # parse, json, decimal, float, case, then a sort
    assert time.process_time() - start < 30
