"""Code extraction and judge rules read from statements."""

from __future__ import annotations

import pytest

from mc.reward.extract import extract_code
from mc.reward.rules import extract_rules, float_tolerance


@pytest.mark.parametrize(
    "text, code",
    [
        ("```python\nprint(1)\n```", "print(1)"),
        ("First try:\n```python\nprint(1)\n```\nBetter:\n```py\nprint(2)\n```\nDone.", "print(2)"),
        ("<think>maybe ```python\nprint(0)\n``` hmm</think>\n```python\nprint(3)\n```", "print(3)"),
        ("<think>```python\nprint(0)\n```</think>The answer needs no code.", None),
        ("reasoning cut</think>\n```python\nprint(4)\n```", "print(4)"),
        ("```cpp\nint main(){}\n```", None),
        ("```python\nprint(5)\n```\n```text\n5\n```", "print(5)"),
        ("```\nprint(6)\n```", "print(6)"),
        ("````python\nprint('```')\n````", "print('```')"),
        ("print(7)", "print(7)"),
        ("The answer is seven.", None),
        ("", None),
        ("```python\n\n```", None),
        ("```python\nprint(8)\n", "print(8)"),  # a forgotten closing fence
    ],
)
def test_extract_code(text, code):
    assert extract_code(text) == code


def test_truncated_responses_do_not_yield_half_programs():
    text = "```python\nprint(1)\n```\nNow faster:\n```python\nfor i in range("
    assert extract_code(text, truncated=True) == "print(1)"
    assert extract_code("```python\nprint(1", truncated=True) is None


@pytest.mark.parametrize(
    "statement, tol",
    [
        ("Your answer is considered correct if its absolute or relative error does not exceed 10^{-6}.", 1e-6),
        ("if the relative or absolute error from the true value is at most 10 ^ {-5}.", 1e-5),
        ("if the absolute error from the true value is at most 10^{-8}.", 1e-8),
        ("checked with absolute or relative error of at most 1e-9", 1e-9),
        ("Print the answer with an absolute error of at most 0.001.", 1e-3),
        ("Print the number of ways modulo 10^9+7.", None),
        ("Note that 10^{-6} < x.", None),
    ],
)
def test_float_tolerance(statement, tol):
    assert float_tolerance(statement) == tol


def test_rules_from_real_statement_phrasings():
    assert extract_rules('You can output the answer in any case (for example, "yEs", "yes" will be recognized)') == {"case_insensitive": True}
    assert extract_rules("Return an array that consists of indices of peaks in the given array in any order.") == {"unordered": True}
    assert extract_rules("If there are multiple solutions, print any of them.") == {"needs_checker": True}
    assert extract_rules("You can do the following actions any number of times in any order:") == {}
    assert extract_rules("Print Yes if it is possible, and No otherwise.") == {}
    assert extract_rules("Each test consists of multiple test cases.") == {}
