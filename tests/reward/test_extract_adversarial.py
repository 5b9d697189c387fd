"""Code extraction on adversarial completions: total, linear, bounded.

Extraction runs in the `mc reward` controller on text the policy wrote, outside
any sandbox or time limit: one completion must not crash it (every record of the
run would be lost), stall it or bloat it. The "does not stall" tests use inputs
for which the previous, quadratic code took minutes (its measured times are in
the comments) and assert completion within a generous 10 s, so machine load
cannot fail them; linear code takes milliseconds.

The previous implementation is kept below as the reference: on honest
completions (and on random short texts, where it is fast) the new code must
return exactly what it did.
"""

from __future__ import annotations

import ast
import random
import re
import subprocess
import sys
import time
import tracemalloc
import warnings

import pytest

from mc.reward.extract import MAX_UNFENCED_CHARS, extract_code, fenced_blocks, strip_reasoning

# --- reference: the implementation before the adversarial rewrite (verbatim) ---
# Quadratic on some inputs and raises on others; only ever called on short or
# honest texts here.

_REF_THINK_CLOSED = re.compile(r"<think>.*?</think>", re.S | re.I)
_REF_THINK_OPEN = re.compile(r"<think>.*\Z", re.S | re.I)
_REF_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n", re.M)
_REF_PYTHON_TAGS = {"", "python", "py", "python3", "py3", "python 3"}


def reference_strip_reasoning(text: str) -> str:
    text = _REF_THINK_CLOSED.sub("", text)
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>") :]
    return _REF_THINK_OPEN.sub("", text)


def reference_fenced_blocks(text: str, keep_unterminated: bool = True) -> list[tuple[str, str]]:
    blocks = []
    pos = 0
    while True:
        opening = _REF_FENCE.search(text, pos)
        if not opening:
            return blocks
        ticks = opening.group("ticks")
        closing = re.compile(rf"^[ \t]*{re.escape(ticks[0])}{{{len(ticks)},}}[ \t]*$", re.M)
        end = closing.search(text, opening.end())
        if not end:
            if keep_unterminated:
                blocks.append((opening.group("info").strip().lower(), text[opening.end() :]))
            return blocks
        blocks.append((opening.group("info").strip().lower(), text[opening.end() : end.start()]))
        pos = end.end()


def _reference_is_python_tag(info: str) -> bool:
    tag = info.split()[0] if info.split() else ""
    return tag in _REF_PYTHON_TAGS or info in _REF_PYTHON_TAGS


def reference_extract_code(completion: str, truncated: bool = False) -> str | None:
    text = reference_strip_reasoning(completion)
    blocks = reference_fenced_blocks(text, keep_unterminated=not truncated)
    python = [body for info, body in blocks if _reference_is_python_tag(info)]
    if python:
        code = python[-1].strip("\n")
        return code if code.strip() else None
    if blocks or truncated or _REF_FENCE.search(text):
        return None
    candidate = text.strip()
    if not candidate:
        return None
    try:
        ast.parse(candidate)
    except (SyntaxError, ValueError):
        return None
    return candidate


# --- honest completions: exactly the reference's results ---

HONEST = [
    # prose, one block, explanation after
    "We read n and the array, sort it and print the median.\n\n```python\nn = int(input())\n"
    "a = sorted(map(int, input().split()))\nprint(a[n // 2])\n```\n\nSorting costs O(n log n), which fits.",
    # a draft, then the final version (the last Python block wins), tagged differently
    "First attempt:\n```python\ndef solve(s):\n    return s[::-1]\n```\nThat fails on palindromes. Fixed:\n\n"
    "```python3\nimport sys\n\ndef solve(s):\n    return s if s == s[::-1] else s[::-1]\n\n"
    "print(solve(sys.stdin.readline().strip()))\n```\n",
    # code, then sample output and a shell command (never taken)
    "```py\nprint(sum(range(int(input()) + 1)))\n```\nFor input 3 it prints:\n```text\n6\n```\n"
    "Run it with:\n```bash\npython3 solution.py < in.txt\n```",
    # reasoning with code inside, closed, then the answer
    "<think>\nThe user wants a BFS. Maybe:\n```python\nfrom collections import deque\n```\nbut a plain loop works "
    "too.\n</think>\n\nHere is the solution:\n\n```python\nfrom collections import deque\n\ndef bfs(g, s):\n"
    "    seen = {s}\n    q = deque([s])\n    while q:\n        u = q.popleft()\n        for v in g[u]:\n"
    "            if v not in seen:\n                seen.add(v)\n                q.append(v)\n    return seen\n```",
    # reasoning cut at the start by the prompt (only the closer is in the completion)
    "so the answer is the xor of all elements.\n</think>\n```python\nfrom functools import reduce\n"
    "print(reduce(lambda x, y: x ^ y, map(int, input().split())))\n```",
    # reasoning never closed: no program
    "<think>\nLet me think about the constraints. n is up to 1e5, so O(n^2) is too slow.\n```python\nprint(1)\n```\n",
    # an untagged block and a title in the info string
    "Solution:\n\n```\nx = int(input())\nprint(x * 2)\n```\n\nand a variant:\n\n```python title=\"main.py\"\n"
    "x = int(input())\nprint(x + x)\n```",
    # an indented fence inside a list item, and a capitalised tag
    "Steps:\n1. Read input.\n2. Print it:\n\n   ```Python\n   print(input())\n   ```\n",
    # a tilde fence, a longer backtick fence holding ``` in its body
    "~~~python\nprint('tilde')\n~~~\n\n````python\ns = '''```'''\nprint(s)\n````\n",
    # only another language
    "```cpp\n#include <cstdio>\nint main() { puts(\"hi\"); }\n```\nThis is C++.",
    # a bare program, no fence, no prose
    "import sys\n\nfor line in sys.stdin:\n    print(line.strip()[::-1])\n",
    # prose only
    "I am not sure how to solve this problem, sorry.",
    # CRLF line endings
    "Answer:\r\n```python\r\nprint(42)\r\n```\r\nDone.\r\n",
    # mixed-case think tags, two reasoning sections
    "<THINK>plan A</THINK>Draft:\n```python\nprint('a')\n```\n<Think>no, plan B</Think>\n```python\nprint('b')\n```",
    # a forgotten closing fence
    "Here you go:\n```python\nn = int(input())\nprint(n * (n + 1) // 2)\n",
]


@pytest.mark.parametrize("text", HONEST)
@pytest.mark.parametrize("truncated", [False, True])
def test_honest_completions_match_the_reference(text, truncated):
    assert extract_code(text, truncated) == reference_extract_code(text, truncated)
    assert strip_reasoning(text) == reference_strip_reasoning(text)
    assert fenced_blocks(text) == reference_fenced_blocks(text)
    assert fenced_blocks(text, False) == reference_fenced_blocks(text, False)


def test_honest_completions_spot_checks():
    assert extract_code(HONEST[0]).startswith("n = int(input())")
    assert extract_code(HONEST[1]).startswith("import sys")
    assert extract_code(HONEST[2]) == "print(sum(range(int(input()) + 1)))"
    assert extract_code(HONEST[3]).startswith("from collections import deque\n\ndef bfs")
    assert extract_code(HONEST[4]).startswith("from functools import reduce")
    assert extract_code(HONEST[5]) is None
    assert extract_code(HONEST[6]) == "x = int(input())\nprint(x + x)"
    assert extract_code(HONEST[7]) == "   print(input())"  # the indent stays, as before
    assert extract_code(HONEST[8]) == "s = '''```'''\nprint(s)"
    assert extract_code(HONEST[9]) is None
    assert extract_code(HONEST[10]) == HONEST[10].strip()
    assert extract_code(HONEST[11]) is None
    assert extract_code(HONEST[13]) == "print('b')"
    assert extract_code(HONEST[14]) == "n = int(input())\nprint(n * (n + 1) // 2)"
    assert extract_code(HONEST[14], truncated=True) is None


FRAGMENTS = [
    "```", "~~~", "`", "~", "````", "~~~~", "\n", "\n", "\n", " ", "\t", "\r", "python", "py", "cpp", "Python 3",
    " text", "print(1)", "x = 2", "(", ")", "<think>", "</think>", "<THINK>", "</Think>", "<thi", "nk>", "</",
    "think>", "<", ">", "/", "a", "#", ":", "1", "+", "'", '"', "\x00", "\ud800", "é", "\x85", "\x0b", "\u2028",
    "if 1:", "    ", "pass", "ﬀ", "\u212a",
]


def test_random_short_texts_match_the_reference():
    """Random texts built from fence, tag, whitespace and code fragments (short,
    so the reference is fast): the same blocks, reasoning and program."""
    rng = random.Random(1234)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's parser warnings
        for _ in range(4000):
            text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 30)))
            assert strip_reasoning(text) == reference_strip_reasoning(text), text
            assert fenced_blocks(text) == reference_fenced_blocks(text), text
            assert fenced_blocks(text, False) == reference_fenced_blocks(text, False), text
            for truncated in (False, True):
                assert extract_code(text, truncated) == reference_extract_code(text, truncated), text


def test_a_length_changing_lowercase_no_longer_shifts_the_cut():
    # 'İ'.lower() is two characters: the reference found </think> in text.lower()
    # and cut the original text at that index, one character too far here,
    # breaking the fence after it. The tags are now found in the text itself.
    text = "İ</think>```python\nprint(1)\n```"
    assert reference_extract_code(text) is None
    assert extract_code(text) == "print(1)"


# --- totality: no input raises ---

MB = 2**20
DEEP = {
    "1+1+... (6 KB)": "1+" * 3000 + "1",  # reference: RecursionError (ast construction)
    "- x 10000": "-" * 10000 + "1",  # reference: MemoryError (parser stack)
    "1+1+... at the cap": "1+" * (MAX_UNFENCED_CHARS // 2 - 1) + "1",
    "~ x cap": "~" * (MAX_UNFENCED_CHARS - 1) + "1",
    "not x 5000": "not " * 5000 + "x",
    "lambda x 3000": "lambda: " * 3000 + "0",  # reference: MemoryError
    "a if b else ... x 3000": "a if b else " * 3000 + "a",  # reference: RecursionError
    "2** x 5000": "2**" * 5000 + "2",  # reference: MemoryError
    "a.a.a x 5000": "a" + ".a" * 5000,
    "f()() x 5000": "f" + "()" * 5000,
    "a[0][0] x 5000": "a" + "[0]" * 5000,
    "elif x 3000": "if a: pass\n" + "elif a: pass\n" * 3000,  # reference: RecursionError
    "( x 10000": "(" * 10000 + "1" + ")" * 10000,
    "[ x 10000, unclosed": "[" * 10000,
    "{ x 199 closed": "{" * 199 + "1" + "}" * 199,
    "nested f-strings": "f'{" * 200 + "1" + "}'" * 200,
    "await x 5000": "await " * 5000 + "x",
    "decimal literal, 60K digits": "1" * 60000,
    "NUL": "print(1)\x00",
    "lone surrogate": "print('\ud800')",
    "surrogate identifier": "\udcff = 1",
    "invalid escape": "print('\\d')",
    "1if": "x = 1if 1 else 2",
}


@pytest.mark.parametrize("text", list(DEEP.values()), ids=list(DEEP))
@pytest.mark.timeout(60)
def test_unfenced_deep_or_odd_programs_do_not_raise(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # see test_parser_warnings_are_not_printed
        code = extract_code(text)
    assert code is None or code == text.strip()
    assert extract_code(text, truncated=True) is None
    fenced = f"```python\n{text}\n```"
    assert extract_code(fenced) == text.strip("\n")  # fenced code is never parsed


def test_deep_programs_are_not_programs():
    assert extract_code("1+" * 3000 + "1") is None
    assert extract_code("-" * 10000 + "1") is None
    assert extract_code("if a: pass\n" + "elif a: pass\n" * 3000) is None
    assert extract_code("print(1)\x00") is None
    assert extract_code("print('\ud800')") is None
    assert extract_code("1+" * 100 + "1") == "1+" * 100 + "1"


def test_an_unfenced_program_over_the_cap_is_not_tried():
    fits = "x = 1\n" * (MAX_UNFENCED_CHARS // 6)
    assert extract_code(fits) == fits.strip()
    over = "x = 1\n" * (MAX_UNFENCED_CHARS // 6 + 1)
    assert extract_code(over) is None
    assert extract_code(f"```python\n{over}```") == over.strip("\n")  # fenced: no cap


@pytest.mark.parametrize("flags", [[], ["-W", "error"], ["-W", "always"]])
def test_parser_warnings_are_not_printed_and_do_not_decide(flags):
    """"invalid decimal literal" is a SyntaxWarning printed once a use: a
    completion could fill the controller's stderr with them; and under -W error
    the same text would stop parsing. In a fresh interpreter (the filter is
    added at import; pytest imports test modules inside catch_warnings, which
    drops it again, hence the subprocess)."""
    text = "x = [1if 1 else 2 for _ in 'ab']\nprint('\\d')\n" * 200
    script = f"from mc.reward.extract import extract_code; print(extract_code({text!r}) == {text.strip()!r})"
    run = subprocess.run([sys.executable, *flags, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "True"
    assert run.stderr == ""


def test_a_raised_recursion_limit_does_not_overflow_the_c_stack():
    """3.11 builds the Python AST recursively, bounded by the recursion limit; a
    controller that raised it to 10**6 still cannot be made to segfault by a
    chain at the cap (~32K levels), in a thread with the default 8 MiB stack
    (judging runs on worker threads). Over the cap nothing is parsed."""
    script = (
        "import sys, threading\n"
        "from mc.reward.extract import extract_code, MAX_UNFENCED_CHARS as C\n"
        "sys.setrecursionlimit(10**6)\n"
        "threading.stack_size(8 << 20)\n"
        "out = []\n"
        "def run():\n"
        "    out.append(extract_code('1+' * (C // 2 - 1) + '1') is not None)\n"
        "    out.append(extract_code('a' + '.a' * (C // 2 - 1)) is not None)\n"
        "    out.append(extract_code('1+' * 10**6 + '1') is None)\n"
        "t = threading.Thread(target=run); t.start(); t.join()\n"
        "print(out)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert run.stdout.strip() == "[True, True, True]"


@pytest.mark.parametrize(
    "value", [None, 5, 1.5, b"```python\nprint(1)\n```", ["print(1)"], {"text": "print(1)"}]
)
def test_a_completion_that_is_not_text_holds_no_code(value):
    assert extract_code(value) is None


ODD = {
    "CR-only lines": "Answer:\r```python\rprint(1)\r```\rDone.",
    "CR-only unfenced": "x = 1\ry = 2\rprint(x + y)\r",
    "CRLF closing fence (does not close)": "```python\r\nprint(1)\r\n```\r\nmore\r\n",
    "fence at the very end, no newline": "text\n```python",
    "unclosed ```": "```\nprint(1)",
    "unclosed ````python": "````python\nprint(1)\n```\n",
    "unclosed ~~~": "~~~\nprint(1)\n```",
    "unclosed ~~~~py indented": "   ~~~~py\nprint(1)\n~~~\n",
    "backtick in info": "```py`thon\nprint(1)\n```",
    "tilde info with backtick": "~~~ a`b\nprint(1)\n~~~",
    "closer with trailing text": "```python\nprint(1)\n``` x\nprint(2)\n",
    "tilde closer for backticks": "```python\nprint(1)\n~~~\nprint(2)\n```",
    "only fences": "```\n```\n~~~\n~~~\n",
    "alternating ``` and ~~~": "```\n~~~\n```\n~~~\n```\n",
    "NULs everywhere": "\x00```python\x00\nprint(1)\x00\n```\x00",
    "lone surrogates": "\ud800```python\n\udfff = 1\n```\ud800\n",
    "surrogates in tags": "<think>\ud800</think>```\n\ud800\n```",
    "mixed-case tags": "<tHiNk>x</ThInK>```python\nprint(1)\n```<THINK>",
    "closers before openers": "</think></think><think>```python\nprint(1)\n```",
    "nested think": "<think><think>a</think>```python\nprint(1)\n```</think>```python\nprint(2)\n```",
    "tag split by a pair": "<thi<think>x</think>nk>```python\nprint(1)\n```",
    "Kelvin sign in tags": "<thin\u212a>x</thin\u212a>```python\nprint(1)\n```",
    "unicode whitespace info": "```\u3000python\u00a0\nprint(1)\n```",
    "line separators": "```python\u2028print(1)\u2029```\x85",
}


@pytest.mark.parametrize("text", list(ODD.values()), ids=list(ODD))
@pytest.mark.parametrize("truncated", [False, True])
def test_odd_texts_match_the_reference(text, truncated):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert extract_code(text, truncated) == reference_extract_code(text, truncated)


# --- linear time on inputs the reference took minutes on ---

LIMIT_S = 10.0


def _timed(text: str, truncated: bool = False):
    started = time.monotonic()
    result = extract_code(text, truncated)
    elapsed = time.monotonic() - started
    assert elapsed < LIMIT_S, f"{elapsed:.1f}s on {len(text)} characters"
    return result


@pytest.mark.timeout(120)
def test_a_fence_followed_by_a_long_run_of_blanks():
    # Reference: 15.7 s for 30,000 spaces, quadratic: ~12 min for 200,000.
    assert _timed("```" + " " * 200_000) is None
    assert _timed("~~~" + "\t" * 200_000 + "x") is None
    assert _timed("```" + " \t" * 100_000 + "`\n") is None
    assert _timed("```" + " " * 200_000 + "\nprint(1)\n```") == "print(1)"
    assert _timed(("```" + " " * 20_000 + "\n") * 10) is None  # ten empty blocks


@pytest.mark.timeout(120)
def test_many_unclosed_think_tags():
    # Reference: 15.7 s for 20,000 openers, quadratic: ~15 min for 150,000.
    assert _timed("<think>" * 150_000) is None
    assert _timed("```python\nprint(1)\n```" + "<ThInK>" * 150_000) == "print(1)"
    assert _timed("<think>" * 150_000 + "</think>```python\nprint(2)\n```") == "print(2)"


@pytest.mark.timeout(120)
def test_think_tags_in_odd_orders():
    patterns = ["</think><think>", "<think><think></think>", "<think></think></think>", "<THINK></tHiNk>", "<think>x"]
    for pattern in patterns:
        text = pattern * (MB // len(pattern)) + "\n```python\nprint(3)\n```"
        assert _timed(text) == (None if pattern.endswith(("<think>", "x")) else "print(3)"), pattern


@pytest.mark.timeout(120)
def test_ten_megabyte_single_lines():
    for line in ["a" * (10 * MB), "`" * (10 * MB), "~" * (10 * MB), " " * (10 * MB), "(" * (10 * MB),
                 "```" + " " * (10 * MB), "~~~" + "x" * (10 * MB), "\ud800" * (10 * MB), "\x00" * (10 * MB),
                 "é\u2028" * (5 * MB), "<" * (10 * MB)]:
        assert _timed(line) is None
        assert _timed(line, truncated=True) is None


@pytest.mark.timeout(120)
def test_huge_info_strings():
    assert _timed("```" + "python " * (MB // 7) + "\nprint(1)\n```") == "print(1)"
    assert _timed("```" + "x" * (10 * MB) + "\nprint(1)\n```") is None
    # A closer must be at least as long as its opener: one tilde short does not close.
    opener = "~" * (10 * MB)
    assert _timed(f"{opener} python\nprint(1)\n{opener[1:]}") == f"print(1)\n{opener[1:]}"
    assert _timed(f"{opener} python\nprint(1)\n{opener[1:]}", truncated=True) is None
    assert _timed(f"{opener} python\nprint(1)\n{opener}~\n") == "print(1)"


@pytest.mark.timeout(120)
def test_many_fences():
    # Linear in the reference too, but a list of every block: now nothing kept.
    half = MB // 2
    texts = ["```\n" * (half // 4), "```\n~~~\n" * (half // 8), "  ```py\n" * (half // 8), "````\n```\n" * (half // 9),
             "~~~~\n" * (half // 5) + "print(1)", "```python\rprint(1)\r```\r" * (half // 24)]
    for text in texts:
        _timed(text)
        _timed(text, truncated=True)
    assert _timed("```python\nprint(0)\n```\n" * (half // 24)) == "print(0)"


@pytest.mark.timeout(120)
def test_many_blocks_are_not_all_kept_in_memory():
    text = "```\n```\n" * (MB // 64)  # 16,384 empty blocks
    tracemalloc.start()
    try:
        assert extract_code(text) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(text) // 2, peak  # the reference: a list of every block, ~10x this text


@pytest.mark.timeout(120)
def test_random_long_texts_are_linear_and_total():
    rng = random.Random(99)
    for _ in range(5):
        pieces = [rng.choice(FRAGMENTS) * rng.randint(1, 2000) for _ in range(400)]
        text = "".join(pieces)
        for truncated in (False, True):
            result = _timed(text, truncated)
            assert result is None or isinstance(result, str)
