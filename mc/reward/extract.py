"""The program inside a model's completion.

Rule: drop any `<think>...</think>` reasoning (and an unclosed trailing
`<think>`), then take the last fenced code block tagged as Python (```python,
```py, ```python3) or left untagged; blocks tagged with another language (```cpp,
```text, ```json) are never taken. A final block without its closing fence
counts, unless the response was cut by the length limit. With no fence at all,
the whole remaining text is the program when it parses as Python; otherwise
there is no code.

Adversarial input. Extraction runs in the `mc reward` controller itself, on
text the policy wrote, outside any sandbox and any time limit, so it is total
and linear: no str input raises (arbitrary unicode, NULs, lone surrogates, a
10 MB line), and every step is one forward pass (or a bounded number of them)
over the text:

- think tags are found with fixed-length literal searches (`<think>`,
  `</think>`, case-insensitive); each pair is matched with the first closer
  after its opener, and one failed search for a closer ends the pass (no later
  opener can close either), instead of `<think>.*?</think>` rescanning to the
  end of the text from every unclosed opener (quadratic);
- fences are found line by line: only lines holding ``` or ~~~ are looked at
  (two cached `str.find`s), and each line is read a constant number of times,
  instead of a regex whose `[ \\t]*` and `[^\\n`]*` split a run of blanks every
  possible way (quadratic in the run after a fence);
- extract_code keeps only the last Python block (no list of every block: 10 MB
  of empty fences is not a million strings);
- the unfenced-parse attempt is capped at MAX_UNFENCED_CHARS and guarded.
  `ast.parse` turns deep nesting into RecursionError or MemoryError (the
  parser's own stack limit), NULs and lone surrogates into ValueError, all of
  which mean "not a program" here. The cap bounds its time and memory (a valid
  1 MB program takes ~6 s and ~600 MB to parse into Python objects; at the cap
  it is ~0.1 s and ~40 MB), and its C stack: 3.11 converts the AST to Python
  objects recursively, about 100 bytes a level, counted against the
  interpreter's recursion limit, so the default limit stops it near 1,000 levels,
  and even a raised limit cannot go past ~32,000 levels (two characters a level,
  `1+1+...`), ~4 MB, inside a default 8 MB thread stack. An honest answer that
  is a bare program longer than that does not occur (answers are fenced, and a
  program of 64K characters is far beyond any solution). The parser's
  warnings on that text are ignored (see _PARSE_FILENAME).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator

# Fixed-length literals: a search costs at most (length of the tag) steps per
# position, whatever the text. Case-insensitive as the tags always were.
_THINK_OPEN = re.compile(re.escape("<think>"), re.I)
_THINK_CLOSE = re.compile(re.escape("</think>"), re.I)
_THINK_CLOSE_REVERSED = re.compile(re.escape("</think>"[::-1]), re.I)  # for the last closer
PYTHON_TAGS = {"", "python", "py", "python3", "py3", "python 3"}
# Longest stripped text (in characters) tried as an unfenced program; see above.
MAX_UNFENCED_CHARS = 65_536
# The file name the unfenced attempt is parsed under. The parser's warnings
# about it (`1if x else y`: "invalid decimal literal", one a use, printed to
# the controller's stderr; invalid escapes) are ignored: a completion cannot
# fill the logs, and whether it parses does not depend on -W flags. (Added at
# import: an import inside warnings.catch_warnings(), as pytest collects test
# modules, loses it again, which only brings the warnings back.)
_PARSE_FILENAME = "<mc.reward.extract completion>"
warnings.filterwarnings("ignore", module=re.escape(_PARSE_FILENAME))


def strip_reasoning(text: str) -> str:
    # Each `<think>` with the first `</think>` after it, and what lies between;
    # the next pair is looked for after that closer.
    parts = []
    pos = 0
    while (opener := _THINK_OPEN.search(text, pos)) is not None:
        closer = _THINK_CLOSE.search(text, opener.end())
        if closer is None:
            break  # this opener never closes, and neither does any later one
        parts.append(text[pos : opener.start()])
        pos = closer.end()
    if parts:
        parts.append(text[pos:])
        text = "".join(parts)
    # Everything after a </think> when its opening tag was cut by the prompt.
    # (The first match in the reversed text is the last closer.)
    if _THINK_CLOSE.search(text) is not None:
        last = _THINK_CLOSE_REVERSED.search(text[::-1])
        text = text[len(text) - last.start() :]
    opener = _THINK_OPEN.search(text)
    return text if opener is None else text[: opener.start()]


def _blocks(text: str, keep_unterminated: bool) -> Iterator[tuple[str, int, int]]:
    """(language tag, body start, body end) of each fenced block, in order.

    An opening fence: a line of optional spaces and tabs, three or more
    backticks or tildes, an info string without backticks, and a newline. Its
    closing fence: the next line of optional spaces and tabs, at least as many
    of the same character, and only spaces and tabs after them.

    Only lines holding ``` or ~~~ are read: the next of each is searched for
    once and kept until the scan passes it, so each character is looked at a
    constant number of times whatever the text."""
    n = len(text)
    find = text.find
    ticks = find("```")
    tildes = find("~~~")
    pos = 0  # the start of a line: 0 or just after a newline
    opening = None  # (fence character, its count, body start, info string)
    while True:
        if 0 <= ticks < pos:
            ticks = find("```", pos)
        if 0 <= tildes < pos:
            tildes = find("~~~", pos)
        if ticks < 0:
            if tildes < 0:
                break
            hit = tildes
        else:
            hit = ticks if tildes < 0 or ticks < tildes else tildes
        newline = text.rfind("\n", pos, hit)
        start = pos if newline < 0 else newline + 1  # of the hit's line
        end = find("\n", hit)
        if end < 0:
            end = n
        # A fence line when only spaces and tabs come before the hit.
        if start == hit or not text[start:hit].strip(" \t"):
            char = text[hit]
            line = text[hit:end]
            rest = line.lstrip(char)  # after the whole run
            if opening is None:
                if end < n and "`" not in rest:
                    opening = (char, len(line) - len(rest), end + 1, rest)
            elif char == opening[0] and len(line) - len(rest) >= opening[1] and not rest.strip(" \t"):
                yield opening[3].strip().lower(), opening[2], start
                opening = None
        if end >= n:
            break
        pos = end + 1
    if opening is not None and keep_unterminated:
        # An unterminated final block: a forgotten closing fence (kept), or
        # a response cut by the length limit (its program is unfinished).
        yield opening[3].strip().lower(), opening[2], n


def fenced_blocks(text: str, keep_unterminated: bool = True) -> list[tuple[str, str]]:
    """(language tag, body) of each fenced block, in order; a final block with
    no closing fence counts unless `keep_unterminated` is False."""
    return [(info, text[start:end]) for info, start, end in _blocks(text, keep_unterminated)]


def _is_python_tag(info: str) -> bool:
    if info in PYTHON_TAGS:
        return True
    words = info.split(None, 1)  # the first word, without splitting a huge info string
    return bool(words) and words[0] in PYTHON_TAGS


def _parses_as_python(candidate: str) -> bool:
    if len(candidate) > MAX_UNFENCED_CHARS:
        return False
    try:
        ast.parse(candidate, _PARSE_FILENAME)
    except Exception:  # SyntaxError, ValueError, RecursionError, MemoryError, OverflowError, ...
        return False
    return True


def extract_code(completion: str, truncated: bool = False) -> str | None:
    """The program to judge, or None when the completion holds none.

    `truncated`: the response hit the length limit, so an unterminated block is
    an unfinished program, not one with a forgotten fence.
    """
    if not isinstance(completion, str):
        return None
    text = strip_reasoning(completion)
    any_block = False
    python = None
    for info, start, end in _blocks(text, keep_unterminated=not truncated):
        any_block = True
        if _is_python_tag(info):
            python = (start, end)
    if python is not None:
        code = text[python[0] : python[1]].strip("\n")
        return code if code.strip() else None
    if any_block or truncated:
        return None  # other languages only, or an unfinished block
    candidate = text.strip()
    if not candidate or not _parses_as_python(candidate):
        return None
    return candidate
