"""Output comparison: is a program's output an accepted answer for one test?

Under RL the policy is an adversary of this module: whatever it accepts beyond
the right answer is reward for a wrong program. So leniency follows the
problem statement (the rules from `mc.reward.rules`: `float_tol` and
`float_tol_kind`, `case_insensitive`, `unordered`) and the kind of test, and
nothing else is granted.

`--compare microcoder` (default) is an ordered chain of methods; the first that
accepts names itself in `accepted_by`, so leniency can be audited. A method
that fails (or raises: any exception means "this method does not accept") falls
through to the next:

  stdout:  exact -> whitespace -> tokens -> decimal -> float* -> case* -> unordered*
  values:  exact -> json -> decimal -> float* -> case* -> unordered*
  (* only when the statement grants it: rules.float_tol / rules.case_insensitive
   / rules.unordered)

What each grants:

- whitespace: CRLF (or a lone CR) for LF, trailing whitespace on a line,
  trailing blank lines. tokens: any run of whitespace between tokens. Only
  ASCII whitespace (space, \\t, \\r, \\n, \\v, \\f) is whitespace: NBSP, \\x1c-\\x1f,
  \\x85, \\u2028 and the like are characters of a token.
- decimal: a decimal token equal *in exact value* to the expected one
  (2.50 for 2.5, 1e-3 for 0.001, -0.0 for 0.0, 2 for 2.0). Never a tolerance.
- float: only with a statement tolerance: |got - expected| <= tol, or
  <= tol * |expected|; only the one bound where the statement names only an
  absolute (or only a relative) error (rules.float_tol_kind). Computed in
  Decimal: no overflow, no rounding at the bound.
- case: ASCII letters compared case-insensitively (A-Z = a-z). Nothing else
  folds: no Unicode case mapping, so 'ß' is not 'ss' and the Kelvin sign is
  not 'k' (answers granted "any case" are ASCII words like YES/No; a fold
  wider than A-Z would only add ways for other text to match).
- unordered: the same lines as a multiset in any order (a single line: its
  tokens); for values, a returned list or set as a multiset of the expected list.

What is never accepted: a different number of lines or tokens; a different word;
an integer written differently (3.0, 07 or +7 for 3 / 7: an expected integer
token compares as text, with or without a tolerance); a number that is not
plain ASCII decimal (non-ASCII digits, `1_000`, nan/inf/infinity spelled out)
unless it equals the expected token as text; a decimal that differs in value
when the statement grants no tolerance; numbers outside a granted tolerance;
a different order unless order is free.

Functional (call) results are plain JSON from the sandbox. The program's JSON
is parsed strictly (no NaN/Infinity, no float that overflows, no duplicate
keys, nesting deeper than the interpreter allows is a clean rejection).
Integers stay exact and typed (1.0 is not 1, True is not 1); an integer of
equal value stands for an expected float (method "decimal"); a float
tolerance applies only when the statement grants one.

`--compare strict` reproduces LiveCodeBench's grader: stripped line-wise
equality, else Decimal equality of the line's tokens (so it accepts 3.0 for 3,
and never a tolerance); call results compared with Python `==` after tuples
become lists. It deviates from LiveCodeBench only where LiveCodeBench's
`Decimal(token)` / `str.split()` accept what no judge means: a token must be
an ASCII decimal (not `1_000_000`, not non-ASCII digits, not NaN / Infinity /
sNaN) unless it equals the expected token as text, and only ASCII whitespace
separates tokens and lines are stripped of ASCII whitespace only.

Every comparison here is total (never raises, whatever the program printed)
and linear in the output size, apart from the sorting that `unordered` needs.
"""

from __future__ import annotations

import json
import re
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import NamedTuple

MODES = ("microcoder", "strict")

# ASCII whitespace only. str.split() / strip() / splitlines() with no argument
# also treat \x1c-\x1f, \x85, \xa0, \u2028 ... as whitespace: never used here.
WHITESPACE = " \t\n\r\x0b\x0c"
_TOKEN = re.compile(r"[^ \t\n\r\x0b\x0c]+")
# The characters other than ASCII whitespace that str.isspace() (and so
# str.split() / strip()) counts as whitespace; where a text holds none of them,
# the fast str.split() splits exactly as _TOKEN does. (A test checks this list
# against str.isspace over all of Unicode.)
UNICODE_ONLY_SPACE = "\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_UNICODE_ONLY_SPACE = re.compile(f"[{UNICODE_ONLY_SPACE}]")
# Explicit [0-9] (Python's \d matches every Unicode digit); possessive
# quantifiers and an unambiguous shape, so a failing match is linear time.
NUMBER = re.compile(r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+")
# A NUMBER that is not an integer (it has a point or an exponent), in one match:
# an expected integer compares as text.
_NON_INTEGER = re.compile(
    r"[+-]?+(?:[0-9]++(?:\.[0-9]*+(?:[eE][+-]?+[0-9]++)?+|[eE][+-]?+[0-9]++)|\.[0-9]++(?:[eE][+-]?+[0-9]++)?+)"
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Tolerance arithmetic: a private context (no thread-local state), exponents as
# wide as Decimal allows, and anything odd raises (and so rejects).
_CTX = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Overflow, DivisionByZero])


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only (str.lower() also maps 'K' (Kelvin) to 'k', 'İ' to two characters)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


class Tolerance(NamedTuple):
    """A statement's float tolerance: the absolute and / or relative bound it grants."""

    absolute: Decimal | None
    relative: Decimal | None


def statement_tolerance(rules: dict) -> Tolerance | None:
    """The float tolerance the statement grants; None when it grants none.
    `float_tol_kind` ("absolute" / "relative") narrows it to that bound."""
    tol = rules.get("float_tol")
    if tol is None or isinstance(tol, bool):
        return None
    try:
        value = Decimal(repr(float(tol)))
    except (TypeError, ValueError, ArithmeticError):
        return None
    if not (value.is_finite() and value >= 0):
        return None
    kind = rules.get("float_tol_kind")
    return Tolerance(value if kind != "relative" else None, value if kind != "absolute" else None)


def _within(got: Decimal, expected: Decimal, tol: Tolerance) -> bool:
    """|got - expected| <= tol.absolute, or <= tol.relative * |expected|."""
    if not (got.is_finite() and expected.is_finite()):
        return False
    diff = _CTX.abs(_CTX.subtract(got, expected))
    if tol.absolute is not None and diff <= tol.absolute:
        return True
    return tol.relative is not None and diff <= _CTX.multiply(tol.relative, _CTX.abs(expected))


# --- text outputs ---------------------------------------------------------------

def normalise_lines(text: str) -> list[str]:
    """CRLF (or a lone CR) -> LF, trailing ASCII whitespace off every line,
    trailing blank lines dropped."""
    lines = [line.rstrip(WHITESPACE) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def tokenise(line: str) -> list[str]:
    """The tokens of one line, split on ASCII whitespace only."""
    return _TOKEN.findall(line) if _UNICODE_ONLY_SPACE.search(line) else line.split()


def _tokenise_lines(text: str, lines: list[str]) -> list[list[str]]:
    """The tokens of each of `lines` (the normalised lines of `text`)."""
    if _UNICODE_ONLY_SPACE.search(text):
        return [_TOKEN.findall(line) for line in lines]
    return [line.split() for line in lines]  # no space but ASCII's: the same split, faster


def _decimal_pair(got: str, expected: str) -> tuple[Decimal, Decimal] | None:
    """Both tokens as Decimals, when both are plain ASCII decimals and the expected
    one is not an integer (an expected integer compares as text); else None."""
    if not _NON_INTEGER.fullmatch(expected) or not NUMBER.fullmatch(got):
        return None
    try:
        return Decimal(got), Decimal(expected)
    except ArithmeticError:  # an exponent beyond what Decimal holds
        return None


# How lenient a token pair needs the judge to be: the first stdout method that
# accepts a whole output is the one its most demanding token pair needs.
_BY_TOKENS, _BY_DECIMAL, _BY_FLOAT, _BY_CASE = 0, 1, 2, 3


def _token_level(got: str, expected: str, tol: Tolerance | None, fold: bool) -> int | None:
    """The least lenient method that accepts one token pair: _BY_TOKENS (equal
    text), _BY_DECIMAL (ASCII decimals of equal value), _BY_FLOAT (within the
    statement's tolerance), _BY_CASE (equal text once A-Z fold; numbers need no
    fold: 1E5 and 1e5 are already the same decimal); None when none does."""
    if got == expected:
        return _BY_TOKENS
    pair = _decimal_pair(got, expected)
    if pair is not None:
        g, e = pair
        if g == e:
            return _BY_DECIMAL
        if tol is not None and _within(g, e, tol):
            return _BY_FLOAT
    if fold and ascii_lower(got) == ascii_lower(expected):
        return _BY_CASE
    return None


def numbers_close(got: str, expected: str, tol: float | None = None, kind: str | None = None) -> bool:
    """Token equality: integers as text, decimals by exact value, and within
    `tol` (absolute or relative, or only the `kind` named) only when one is given."""
    tolerance = statement_tolerance({"float_tol": tol, "float_tol_kind": kind})
    return _token_level(got, expected, tolerance, fold=False) is not None


class _Text:
    """One output, tokenised once however many methods look at it."""

    __slots__ = ("text", "_lines", "_tokens")

    def __init__(self, text: str):
        self.text = text
        self._lines: list[str] | None = None
        self._tokens: list[list[str]] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = normalise_lines(self.text)
        return self._lines

    @property
    def tokens(self) -> list[list[str]]:
        if self._tokens is None:
            self._tokens = _tokenise_lines(self.text, self.lines)
        return self._tokens


def _lines_level(got: list[list[str]], expected: list[list[str]], tol: Tolerance | None, fold: bool) -> int | None:
    """The most demanding _token_level over all token pairs (lines of equal
    length required), or None when some pair is not equal at all."""
    if len(got) != len(expected):
        return None
    level = _BY_TOKENS
    for g_line, e_line in zip(got, expected):
        if g_line == e_line:
            continue
        if len(g_line) != len(e_line):
            return None
        for g, e in zip(g_line, e_line):
            if g == e:
                continue
            pair = _token_level(g, e, tol, fold)
            if pair is None:
                return None
            if pair > level:
                level = pair
    return level


class _Outputs:
    """A (got, expected) pair; the ordered comparison runs once for all the
    methods that read it (decimal, float, case), so a long output costs one pass."""

    __slots__ = ("got", "expected", "tol", "fold", "_level")

    def __init__(self, got: _Text, expected: _Text, tol: Tolerance | None, fold: bool):
        self.got, self.expected, self.tol, self.fold = got, expected, tol, fold
        self._level: int | None | bool = False

    def level(self) -> int | None:
        if self._level is False:
            self._level = _lines_level(self.got.tokens, self.expected.tokens, self.tol, self.fold)
        return self._level

    def accepts_at(self, most: int) -> bool:
        level = self.level()
        return level is not None and level <= most


def _unordered_text(out: _Outputs) -> bool:
    """Same lines in any order (as a multiset); a single line: same tokens in any order."""
    g, e, fold = out.got.tokens, out.expected.tokens, out.fold
    if len(e) == 1 and len(g) == 1:
        key = ascii_lower if fold else None
        g, e = [sorted(g[0], key=key)], [sorted(e[0], key=key)]
    else:
        # A line's tokens hold no space, so " ".join is a faithful (and fast) sort key.
        key = (lambda line: ascii_lower(" ".join(line))) if fold else " ".join
        g, e = sorted(g, key=key), sorted(e, key=key)
    return _lines_level(g, e, out.tol, fold) is not None


def stdout_methods(rules: dict):
    """The chain for stdout, as (name, function(outputs: _Outputs) -> bool)."""
    chain = [
        ("exact", lambda o: o.got.text == o.expected.text),
        ("whitespace", lambda o: o.got.lines == o.expected.lines),
        ("tokens", lambda o: o.got.tokens == o.expected.tokens),
        ("decimal", lambda o: o.accepts_at(_BY_DECIMAL)),
    ]
    if statement_tolerance(rules) is not None:
        chain.append(("float", lambda o: o.accepts_at(_BY_FLOAT)))
    if rules.get("case_insensitive"):
        chain.append(("case", lambda o: o.accepts_at(_BY_CASE)))
    if rules.get("unordered"):
        chain.append(("unordered", _unordered_text))
    return chain


def compare_stdout(got: bytes, expected: str, rules: dict, mode: str = "microcoder") -> str | None:
    """The name of the method that accepts `got`, or None. Never raises."""
    try:
        # surrogateescape: an invalid byte never equals a character of `expected`
        # (with "replace" it would become U+FFFD, which an expected text may hold).
        text = got.decode("utf-8", "surrogateescape")
        if mode == "strict":
            return "strict" if lcb_stdout_equal(text, expected) else None
        outputs = _Outputs(_Text(text), _Text(expected), statement_tolerance(rules), bool(rules.get("case_insensitive")))
        methods = stdout_methods(rules)
    except Exception:
        return None
    for name, method in methods:
        try:
            if method(outputs):
                return name
        except Exception:  # whatever the program printed: this method does not accept
            continue
    return None


def _lcb_token_equal(got: str, expected: str) -> bool:
    """LiveCodeBench's Decimal(token) equality, for ASCII decimals; any other
    token (1_000, ١٢٣, NaN, Infinity, sNaN) only where it equals the expected
    token as text, and then as LiveCodeBench's Decimal comparison says (NaN != NaN)."""
    if NUMBER.fullmatch(got) and NUMBER.fullmatch(expected):
        return Decimal(got) == Decimal(expected)
    if got != expected:
        return False
    return Decimal(got) == Decimal(expected)  # raises (rejects) for a non-number, as LiveCodeBench


def lcb_stdout_equal(got: str, expected: str) -> bool:
    """LiveCodeBench's grade_stdio rule (ASCII whitespace, ASCII decimals). Never raises."""
    try:
        g_lines = [line.strip(WHITESPACE) for line in got.strip(WHITESPACE).split("\n")]
        e_lines = [line.strip(WHITESPACE) for line in expected.strip(WHITESPACE).split("\n")]
        if len(g_lines) != len(e_lines):
            return False
        for g, e in zip(g_lines, e_lines):
            if g == e:
                continue
            g_tokens, e_tokens = tokenise(g), tokenise(e)
            if len(g_tokens) != len(e_tokens):
                return False
            if not all(_lcb_token_equal(a, b) for a, b in zip(g_tokens, e_tokens)):
                return False
        return True
    except Exception:
        return False


# --- call results (functional tests) ----------------------------------------------

class _NotPlainJSON(ValueError):
    pass


def _no_constant(name: str):
    raise _NotPlainJSON(f"{name} is not a plain JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotPlainJSON(f"{text[:20]} overflows a float")
    return value


def _unique_keys(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotPlainJSON("duplicate key")
    return out


def parse_program_json(text: str):
    """The program's value, strictly: what the sandbox's json.dumps of a plain
    value can produce, nothing more. Raises ValueError (or RecursionError for
    nesting deeper than the interpreter allows: callers treat both as a
    rejection)."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys)


def _strict_type_equal(got, expected) -> bool:
    """Equality that tells 1 from 1.0 from True, recursing into lists and dicts."""
    if type(got) is not type(expected):
        return False
    if isinstance(expected, list):
        return len(got) == len(expected) and all(_strict_type_equal(g, e) for g, e in zip(got, expected))
    if isinstance(expected, dict):
        return got.keys() == expected.keys() and all(_strict_type_equal(got[k], expected[k]) for k in expected)
    return got == expected


def _close_values(got, expected, tol: Tolerance | None, fold: bool) -> bool:
    """Value equality: integers exact and typed, an integer of equal value for an
    expected float, floats exactly equal (or within `tol` when given), strings
    equal (ASCII case folded when `fold`)."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(expected, float):
        if type(got) not in (int, float):
            return False
        if got == expected:  # Python compares int and float exactly, never overflowing
            return True
        return tol is not None and _within(Decimal(got), Decimal(expected), tol)
    if isinstance(expected, int):
        return type(got) is int and got == expected  # integers exact
    if isinstance(expected, str):
        return isinstance(got, str) and (got == expected or (fold and ascii_lower(got) == ascii_lower(expected)))
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(
            _close_values(g, e, tol, fold) for g, e in zip(got, expected)
        )
    if isinstance(expected, dict):  # a set is {"__set__": [...]}: never equal to another mapping's keys
        return isinstance(got, dict) and got.keys() == expected.keys() and all(
            _close_values(got[k], expected[k], tol, fold) for k in expected
        )
    return type(got) is type(expected) and got == expected  # None


def _sort_key(value) -> tuple:
    """A total order on plain values, cheap for scalars: booleans, numbers (an int
    before an equal float), strings, then containers by their canonical JSON."""
    kind = type(value)
    if kind is bool:
        return (1, value)
    if kind is int:
        return (2, value, 0)  # Python orders ints and floats exactly, without overflow
    if kind is float:
        return (2, value, 1)
    if kind is str:
        return (3, value)
    if value is None:
        return (0,)
    return (4, json.dumps(value, sort_keys=True))


def _as_multiset(value):
    """A list or a returned set, as a sorted list; None for anything else."""
    if _is_set(value):
        value = value["__set__"]
    if not isinstance(value, list):
        return None
    return sorted(value, key=_sort_key)


def value_methods(rules: dict):
    """The chain for call results, as (name, function(got, expected) -> bool)."""
    tol = statement_tolerance(rules)
    fold = bool(rules.get("case_insensitive"))
    chain = [
        ("json", _strict_type_equal),
        ("decimal", lambda g, e: _close_values(g, e, None, fold=False)),
    ]
    if tol is not None:
        chain.append(("float", lambda g, e: _close_values(g, e, tol, fold=False)))
    if fold:
        chain.append(("case", lambda g, e: _close_values(g, e, tol, fold=True)))
    if rules.get("unordered"):
        def unordered(g, e):
            gs, es = _as_multiset(g), _as_multiset(e)
            return gs is not None and es is not None and _close_values(gs, es, tol, fold)

        chain.append(("unordered", unordered))
    return chain


def compare_value(got_json: bytes, expected: str, rules: dict, mode: str = "microcoder") -> str | None:
    """Compare a call's plain-JSON return value with the expected JSON text.
    The name of the accepting method, or None. Never raises."""
    try:
        got_text = got_json.decode("utf-8", "surrogateescape")
        if mode != "strict" and got_text.strip(WHITESPACE) == expected.strip(WHITESPACE):
            return "exact"
        got = parse_program_json(got_text)
        want = json.loads(expected)
        if mode == "strict":
            # LiveCodeBench: tuples already lists; Python ==, so 1 == 1.0 == True.
            return "strict" if (got == want and not _is_set(got)) else None
        methods = value_methods(rules)
    except Exception:  # unparseable, too deep, ...: not an accepted answer
        return None
    for name, method in methods:
        try:
            if method(got, want):
                return name
        except Exception:  # RecursionError on deep values, ...: this method does not accept
            continue
    return None


def _is_set(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "__set__" in value
