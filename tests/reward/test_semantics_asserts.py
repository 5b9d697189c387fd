"""Assert tests (HumanEval / MBPP) are judged with Python's own `==`: a table against the official harness.

The official human-eval and MBPP harnesses exec the solution and the test code
in one namespace; here that is literally done, in this process, for each row
(the rows are our own benign programs), and mc's verdict through the real
sandbox (the test code in a process of its own) must agree with it. Rows that
were wrong before are marked with what mc used to accept.
"""

from __future__ import annotations

import pytest

from reward_helpers import assert_problem, judge


def official(solution: str, test_code: str) -> bool:
    """human-eval's check: exec(program) in a fresh namespace; any exception fails."""
    try:
        exec(solution + "\n" + test_code, {})  # noqa: S102 - the table's own programs
        return True
    except BaseException:  # noqa: BLE001 - as the official harness does
        return False


ROWS = [
    # (returned expression, assert, why)
    ("[1, 2]", "assert f() == (1, 2)", "a list is not a tuple (HumanEval/148; mc accepted it before)"),
    ("(1, 2)", "assert f() == (1, 2)", "the tuple itself"),
    ("(1, 2)", "assert f() == [1, 2]", "a tuple is not a list either"),
    ("{'1': 1}", "assert f() == {1: 1}", "dict keys keep their types (mc accepted it before)"),
    ("{1: 1}", "assert f() == {1: 1}", "int keys"),
    ("{(1, 2): 'a'}", "assert f() == {(1, 2): 'a'}", "tuple keys"),
    ("'inf'", "assert f() == float('inf')", "a string is not a float (mc accepted it before)"),
    ("float('inf')", "assert f() == float('inf')", "inf equals inf"),
    ("float('nan')", "assert f() == float('nan')", "nan is never equal"),
    ("float('nan')", "import math\nassert math.isnan(f())", "but it is nan"),
    ("1.0", "assert f() == 1", "Python: 1.0 == 1"),
    ("True", "assert f() == 1", "Python: True == 1"),
    ("1", "assert f() is True", "identity with True fails for 1"),
    ("True", "assert f() is True", "bool singletons survive"),
    ("None", "assert f() is None", "None survives"),
    ("-0.0", "assert f() == 0.0", "negative zero equals zero"),
    ("0.1 + 0.2", "assert f() == 0.3", "no tolerance the test does not ask for"),
    ("0.1 + 0.2", "assert abs(f() - 0.3) < 1e-9", "the test's own tolerance"),
    ("{1, 2}", "assert f() == frozenset({1, 2})", "a set equals the frozenset"),
    ("{1, 2}", "assert f() == [1, 2]", "a set is not a list"),
    ("b'ab'", "assert f() == 'ab'", "bytes are not str"),
    ("bytearray(b'ab')", "assert f() == b'ab'", "bytearray equals bytes"),
    ("1 + 0j", "assert f() == 1", "complex equal to int"),
    ("2 ** 200", "assert f() == 2 ** 200", "big ints exact"),
    ("2 ** 200 + 1", "assert f() == 2 ** 200", "big ints exact, off by one"),
    ("__import__('collections').Counter('aab')", "assert f() == {'a': 2, 'b': 1}", "a Counter equals its dict (MBPP 40)"),
    ("__import__('collections').OrderedDict([(1, 2), (3, 4)])",
     "from collections import OrderedDict\nassert f() == OrderedDict([(3, 4), (1, 2)])", "OrderedDicts compare in order"),
    ("__import__('collections').deque([1, 2])", "assert f() == [1, 2]", "a deque is not a list"),
    ("__import__('collections').deque([1, 2])", "from collections import deque\nassert f() == deque([1, 2])", "deques"),
    ("__import__('fractions').Fraction(1, 2)", "assert f() == 0.5", "Fraction equals the float"),
    ("__import__('decimal').Decimal('0.5')", "assert f() == 0.5", "Decimal equals the float"),
    ("__import__('numpy').int64(3)", "assert f() == 3", "numpy scalars compare as their values"),
    ("[[1, 2], (3, {4: (5,)})]", "assert f() == [[1, 2], (3, {4: (5,)})]", "nested types"),
    ("[[1, 2], (3, {4: [5]})]", "assert f() == [[1, 2], (3, {4: (5,)})]", "a list deep inside"),
    ("'abc'", "assert f() in ['abc', 'd']", "membership uses =="),
    ("'abc'", "assert len(f()) == 3 and f().upper() == 'ABC'", "methods of the returned value"),
    ("[3, 1, 2]", "assert sorted(f()) == [1, 2, 3]", "builtins on the returned value"),
    ("[3, 1, 2]", "assert isinstance(f(), list) and type(f()) is list", "exact types"),
    ("int", "assert f() is int", "builtins by name"),
    ("range(3)", "assert list(f()) == [0, 1, 2]", "an object of the solution, iterated"),
    ("(x for x in [1, 2])", "assert list(f()) == [1, 2]", "a generator, iterated"),
    ("ValueError('x')", "assert isinstance(f(), Exception)", "an instance stays in the solution: not an Exception here"),
]


@pytest.mark.parametrize("value, test_code, why", ROWS, ids=[r[2] for r in ROWS])
def test_assert_semantics_match_the_official_harness(sandbox, value, test_code, why):
    solution = f"def f():\n    return {value}"
    expected = official(solution, test_code)
    if why.startswith("an instance stays"):  # the one deliberate difference, documented in sandbox/remote.py
        expected = False
    verdict = judge(sandbox, assert_problem(test_code + "\n", "f"), solution)["verdict"]
    assert (verdict == "pass") == expected, (why, verdict)


def test_exceptions_raised_by_the_solution_keep_their_builtin_type(sandbox):
    test_code = ("try:\n    f(-1)\n    assert False, 'should raise'\nexcept ValueError as e:\n    assert 'negative' in str(e)\n"
                 "assert f(2) == 4\n")
    solution = "def f(x):\n    if x < 0:\n        raise ValueError('negative input')\n    return x * x"
    assert official(solution, test_code)
    assert judge(sandbox, assert_problem(test_code, "f"), solution)["verdict"] == "pass"
    other = "class Oops(Exception):\n    pass\ndef f(x):\n    raise Oops('negative')"
    result = judge(sandbox, assert_problem(test_code, "f"), other)  # not a ValueError: the except clause does not catch it
    assert result["verdict"] == "runtime_error" and "Oops" in result["feedback"]["error"]


def test_failed_asserts_say_what_the_program_returned(sandbox):
    result = judge(sandbox, assert_problem("assert f(2) == (4, 'four')\n", "f"), "def f(x):\n    return [4, 'four']")
    assert result["verdict"] == "wrong_answer"
    assert result["feedback"]["error"] == "AssertionError: assert f(2) == (4, 'four') -- got [4, 'four'] == (4, 'four')"
