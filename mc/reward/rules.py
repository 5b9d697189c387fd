"""Judge rules read from a problem statement.

A real judge is lenient exactly where the statement says so, and strict
elsewhere. These rules are extracted once (at `mc data import`, into
`tests.rules`) or on the fly by `mc reward` for problems that arrive without
them. Nothing is granted by default: a key is present only when the statement
grants it, and `mc.reward.compare` is lenient only through these keys.

- `float_tol`: "absolute or relative error ... 10^{-6}" -> 1e-06: a decimal
  answer within that absolute or relative distance is accepted (stdout tokens
  and functional float values). When absent there is NO tolerance: a decimal
  is accepted only when equal in exact value (2.50 for 2.5, 1e-3 for 0.001),
  never merely close. With or without it, an expected integer compares as text
  (stdout) or as an exact, typed integer (functional values). Also read:
  "answers within 10^-5 of the actual answer will be accepted" (LeetCode).
- `float_tol_kind`: "absolute" or "relative" when the statement names only
  that error ("if the absolute error ... is at most 10^{-8}", "within 10^-5
  of the actual answer"): only that bound applies. Absent with `float_tol`:
  either bound ("absolute or relative error").
- `case_insensitive`: "you can print each letter in any case", "yEs and YES
  are all recognized": ASCII letters compare case-insensitively (A-Z only, no
  Unicode folding: 'ß' is not 'ss'). When absent, case matters.
- `unordered`: "in any order" about the output ("print them in any order",
  "return the answer in any order"): lines (one line: its tokens), or a
  returned list / set, compare as multisets. When absent, order matters.
- `needs_checker`: "if there are several/multiple answers, print any of them":
  comparison with one expected output can reject correct programs, so such a
  problem needs a checker program (`tests.checker`).
"""

from __future__ import annotations

import re
from functools import lru_cache

_NUMBER = r"(?:10\s*\^\s*\{?\s*(?P<exp>[-−]\s*[0-9]+)\s*\}?|1\s*[eE]\s*(?P<exp2>[-−]?[0-9]+)|(?P<dec>0\.0*1)\b)"
_FLOAT_TOL = re.compile(
    r"(?:absolute|relative)\s+(?:or\s+(?:absolute|relative)\s+)?(?:error|difference)"
    r"[^.]{0,80}?" + _NUMBER,
    re.I | re.S,
)
_CASE = re.compile(
    r"in\s+any\s+(?:letter\s+)?case|any\s+(?:combination\s+of\s+)?(?:upper|lower)\s*(?:case|-case)?"
    r"(?:\s+(?:and|or)\s+(?:upper|lower)\s*(?:case|-case)?)?\s+letters|case[-\s]insensitive"
    r"|(?:upper|lower)case\s+or\s+(?:upper|lower)case\s+(?:letters\s+)?(?:is|are)\s+(?:acceptable|allowed|accepted)"
    r"|will\s+(?:all\s+)?be\s+recogni[sz]ed\s+as\s+(?:a\s+)?(?:positive|negative|correct)",
    re.I,
)
_UNORDERED = re.compile(
    r"(?:print|output|return|list|report|answer)[^.\n]{0,80}?\bin\s+any\s+order"
    r"|\bin\s+any\s+order\b[^.\n]{0,40}?(?:print|output|return)",
    re.I,
)
_ANY_ANSWER = re.compile(
    r"(?:if|when)\s+there\s+(?:are|is|exist)\s+(?:several|multiple|many|more\s+than\s+one)[^.\n]{0,60}?"
    r"(?:answers|solutions|ways|possible|optimal)[^.\n]{0,60}?(?:print|output|return|find)\s+any"
    r"|(?:print|output|return)\s+any\s+(?:one\s+)?(?:of\s+them|valid|such|correct|possible|suitable)"
    r"|any\s+(?:of\s+(?:them|the\s+\w+)|valid\s+\w+)\s+(?:will\s+be|is|are)\s+(?:accepted|considered\s+correct)",
    re.I,
)


# LeetCode's phrasing: "Answers within 10^-5 of the actual answer will be
# accepted" (an absolute tolerance). Scraped statements lose the superscript
# ("within 10-5 of the actual value"): in this phrase that can only mean 10^-5.
_WITHIN_TOL = re.compile(
    r"\bwithin\s+(?:10\s*\^?\s*\{?\s*(?P<exp>[-−]\s*[0-9]+)\s*\}?|1\s*[eE]\s*(?P<exp2>[-−]?[0-9]+)|(?P<dec>0\.0*1)\b)"
    r"\s+of\s+the\s+(?:actual|true|correct|exact|expected|real|right)\s+(?:answer|value|result|solution)",
    re.I,
)


def _tolerance_value(match: re.Match) -> float:
    """The number a tolerance phrase names; 0.0 (no tolerance) when it is out of range."""
    exp = match.group("exp") or match.group("exp2")
    try:
        if exp is not None:
            return 10.0 ** int(exp.replace("−", "-").replace(" ", ""))
        return float(match.group("dec"))
    except (OverflowError, ValueError):
        return 0.0


def float_rule(statement: str) -> tuple[float, str | None] | None:
    """(tolerance, kind) a statement grants for real-valued answers, or None.
    kind is "absolute" or "relative" when the statement names only that error,
    None when it grants either ("absolute or relative error")."""
    for match in _FLOAT_TOL.finditer(statement):
        value = _tolerance_value(match)
        if 0 < value < 1:
            # The kinds named in the phrase or the rest of its sentence ("... absolute
            # error at most 10^{-6}, or its relative error at most 10^{-6}").
            sentence = match.group(0) + re.split(r"\.\s|\n", statement[match.end():match.end() + 120], maxsplit=1)[0]
            words = {w.lower() for w in re.findall(r"absolute|relative", sentence, re.I)}
            return value, (words.pop() if len(words) == 1 else None)
    for match in _WITHIN_TOL.finditer(statement):
        value = _tolerance_value(match)
        if 0 < value < 1:
            return value, "absolute"
    return None


def float_tolerance(statement: str) -> float | None:
    """The tolerance a statement grants for real-valued answers, if it names one."""
    rule = float_rule(statement)
    return rule[0] if rule else None


@lru_cache(maxsize=4096)
def _extract_cached(statement: str) -> tuple:
    return tuple(sorted(extract_rules_uncached(statement).items()))


def extract_rules(statement: str) -> dict:
    """The judge rules a statement grants (keys only when granted); cached, since
    every sample of a group asks about the same statement."""
    return dict(_extract_cached(statement))


def extract_rules_uncached(statement: str) -> dict:
    rules: dict = {}
    rule = float_rule(statement)
    if rule is not None:
        rules["float_tol"] = rule[0]
        if rule[1] is not None:
            rules["float_tol_kind"] = rule[1]
    if _CASE.search(statement):
        rules["case_insensitive"] = True
    if _UNORDERED.search(statement):
        rules["unordered"] = True
    if _ANY_ANSWER.search(statement):
        rules["needs_checker"] = True
    return rules


def rules_for(problem: dict) -> dict:
    """`tests.rules` when the problem carries them, else read from its statement."""
    tests = problem.get("tests") or {}
    if isinstance(tests.get("rules"), dict):
        return tests["rules"]
    return extract_rules(problem.get("question") or "")
