"""Small generated problem families with stdin tests and reference solutions.

For the demo and for smoke-testing pipelines: no download, real tests, real
judging. A family is a task with a constant K drawn per problem (distinct per
problem while the range allows), asked in one of several phrasings,
a reference program, and an input generator; each problem gets `tests` cases
computed by running the reference logic here (in Python, not the sandbox: the
references are ours). A model must read K from the statement, so two problems
of one family differ in more than their tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mc.records import new_problem, new_tests


@dataclass(frozen=True)
class Family:
    name: str
    task: str  # what to print, with {k}: "n + {k}"
    program: str  # with {k}
    make_input: Callable[[random.Random], str]
    answer: Callable[[str, int], str]
    reads: str = "one"  # which input sentence: one integer, two integers, a word
    k_range: tuple[int, int] = (2, 49)
    note: str = ""  # a last sentence of the statement (a judging rule: a float tolerance, "in any case")
    variants: tuple[str, ...] = ()  # more correct programs (with {k}), in other output formats
    input_for_k: Callable[[random.Random, int], str] | None = None  # inputs that depend on K (both answers of yes/no)


# Several phrasings of the same two sentences, drawn per problem, so that a model
# learns to read the task and not one fixed string.
READS = {
    "one": ("Read an integer n.", "You are given an integer n.", "The input is an integer n.", "Input: one integer n."),
    "two": ("Read two integers a and b.", "You are given two integers a and b.", "The input is two integers a and b.",
            "Input: two integers a and b."),
    "word": ("Read a word s.", "You are given a word s.", "The input is a word s.", "Input: one word s."),
}
ASKS = ("Print {task}.", "Output {task}.", "Write {task}.", "Your program prints {task}.")


def _ints(rng: random.Random, count: int, lo: int = 0, hi: int = 99) -> str:
    return " ".join(str(rng.randint(lo, hi)) for _ in range(count)) + "\n"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 6))) + "\n"


def _one(rng: random.Random) -> str:
    return _ints(rng, 1)


def _two(rng: random.Random) -> str:
    return _ints(rng, 2)


FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family("add_k", "n + {k}", "n = int(input())\nprint(n + {k})", _one, lambda s, k: f"{int(s) + k}\n"),
    Family("mul_k", "n * {k}", "n = int(input())\nprint(n * {k})", _one, lambda s, k: f"{int(s) * k}\n"),
    Family("sub_k", "n - {k}", "n = int(input())\nprint(n - {k})", _one, lambda s, k: f"{int(s) - k}\n"),
    Family("mod_k", "n % {k}", "n = int(input())\nprint(n % {k})", _one, lambda s, k: f"{int(s) % k}\n"),
    Family("div_k", "n // {k}", "n = int(input())\nprint(n // {k})", _one, lambda s, k: f"{int(s) // k}\n"),
    Family("sum_k", "a + b + {k}", "a, b = map(int, input().split())\nprint(a + b + {k})", _two,
           lambda s, k: f"{sum(map(int, s.split())) + k}\n", reads="two"),
    Family("max_k", "max(a, b) + {k}", "a, b = map(int, input().split())\nprint(max(a, b) + {k})", _two,
           lambda s, k: f"{max(map(int, s.split())) + k}\n", reads="two"),
    Family("rep_k", "s repeated {k} times", "s = input()\nprint(s * {k})", _word,
           lambda s, k: f"{s.strip() * k}\n", reads="word", k_range=(2, 4)),
    Family("len_k", "len(s) + {k}", "s = input()\nprint(len(s) + {k})", _word,
           lambda s, k: f"{len(s.strip()) + k}\n", reads="word"),
    # The same four programs with the operator in words ("n minus 7"): the demo's
    # warm-up shows only the symbols; the words reach the model through RL, with tests.
    Family("add_k_words", "n plus {k}", "n = int(input())\nprint(n + {k})", _one, lambda s, k: f"{int(s) + k}\n"),
    Family("mul_k_words", "n times {k}", "n = int(input())\nprint(n * {k})", _one, lambda s, k: f"{int(s) * k}\n"),
    Family("sub_k_words", "n minus {k}", "n = int(input())\nprint(n - {k})", _one, lambda s, k: f"{int(s) - k}\n"),
    Family("mod_k_words", "n modulo {k}", "n = int(input())\nprint(n % {k})", _one, lambda s, k: f"{int(s) % k}\n"),
    # Answers a strict comparison misjudges (the evaluator ablation): a real quotient whose
    # statement grants a tolerance, printed as Python prints it (0.3333333333333333: strict
    # rejects it against 0.333333, the tolerance accepts it) or to six places; a yes/no
    # answer "in any case", printed in upper, title or lower case.
    Family("frac_k", "n / {k} as a decimal number", "n = int(input())\nprint(f\"{{n / {k}:.6f}}\")", _one,
           lambda s, k: f"{int(s) / k:.6f}\n", note="Answers within an absolute or relative error of 10^-6 are accepted.",
           variants=("n = int(input())\nprint(n / {k})",)),
    Family("yes_k", "YES if n is divisible by {k}, else NO", "n = int(input())\nprint(\"YES\" if n % {k} == 0 else \"NO\")",
           _one, lambda s, k: "YES\n" if int(s) % k == 0 else "NO\n", k_range=(2, 20),
           input_for_k=lambda rng, k: f"{k * rng.randint(0, 9) + rng.choice((0, 0, 1, k - 1))}\n",
           note="You can print each letter in any case.",
           variants=("n = int(input())\nprint(\"yes\" if n % {k} == 0 else \"no\")",
                     "n = int(input())\nprint(\"Yes\" if n % {k} == 0 else \"No\")")),
]}


def _constants(rng: random.Random, k_range: tuple[int, int], count: int, excluded: set[int]) -> list[int]:
    """`count` values of K, all distinct while the range allows (two problems of one
    family with the same K are one problem twice), never one in `excluded`."""
    values = [k for k in range(k_range[0], k_range[1] + 1) if k not in excluded]
    if not values:
        raise ValueError(f"every K in {k_range[0]}..{k_range[1]} is excluded")
    out: list[int] = []
    while len(out) < count:
        out += rng.sample(values, min(len(values), count - len(out)))
    return out


def same_task(family: str, other: str) -> bool:
    """Two families pose one task when their reference programs are the same (add_k and
    add_k_words): a K held out in one must be held out in the other too."""
    return family in FAMILIES and other in FAMILIES and FAMILIES[family].program == FAMILIES[other].program


def exclusion_pairs(problems: Iterable[dict]) -> tuple[set[tuple[str, int]], int]:
    """The (family, K) pairs of synthetic problems, and how many records were not synthetic."""
    pairs, others = set(), 0
    for problem in problems:
        meta = problem.get("meta") or {}
        family, k = meta.get("family"), meta.get("k")
        if isinstance(family, str) and isinstance(k, int) and not isinstance(k, bool):
            pairs.add((family, k))
        else:
            others += 1
    return pairs, others


def generate(families: list[str], count: int, seed: int, tests: int = 3, prefix: str = "synth",
             exclude: set[tuple[str, int]] = frozenset()) -> list[dict]:
    """`count` problems per family, deterministic in `seed`; no (family, K) pair of `exclude`."""
    rng = random.Random(seed)
    problems = []
    for name in families:
        family = FAMILIES[name]
        for i, k in enumerate(_constants(rng, family.k_range, count, {k for f, k in exclude if same_task(f, name)})):
            inputs = [family.input_for_k(rng, k) if family.input_for_k else family.make_input(rng) for _ in range(tests)]
            cases = [{"input": x, "output": family.answer(x, k)} for x in inputs]
            question = f"{rng.choice(READS[family.reads])} {rng.choice(ASKS).format(task=family.task.format(k=k))}"
            if family.note:
                question += " " + family.note
            problems.append(new_problem(
                id=f"{prefix}/{name}/{seed}-{i}", source="synthetic", platform=None, difficulty="easy",
                question=question, tests=new_tests("stdin", cases),
                solutions=[p.format(k=k) for p in (family.program, *family.variants)], meta={"family": name, "k": k},
            ))
    return problems
