"""`mc data predict-difficulty`: a model rates each problem on named dimensions.

MicroCoder-Dataset predicts difficulty with an LLM over five weighted
dimensions; the paper does not publish them, so mc's rubric names its own
(`DEFAULT_RUBRIC`: algorithmic depth, implementation length, edge cases,
mathematics, constraint scale) and any of it can be replaced by a JSON file
(`--rubric`; `--show-rubric` prints the default to start from).

A rating is read from the model's next-token distribution, not from a sample:
the prompt ends at "<dimension> (1-9):" and the rating is the expected digit
under the model's probabilities of the nine digit tokens, renormalised over
them (as G-Eval weights scores by their probabilities). It is deterministic,
it needs no answer parsing that a small model would fail, and a model unsure
between 3 and 7 says 5 rather than whichever it happened to sample. The
problem's score is the weighted mean of its dimensions, mapped to [0, 1]
(1 = hardest). `meta.predicted_difficulty` keeps the score, each dimension's
rating and the raw answer (each dimension's nine probabilities and its most
likely digit), the model and the rubric's name.

The score is a ranking, not a pass rate: `mc data calibrate` maps it onto
measured pass rates (mc.data.calibrate).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator

from mc.errors import McUsageError

DIGITS = [str(d) for d in range(1, 10)]

DEFAULT_RUBRIC = {
    "name": "mc-5",
    "system": "You are an experienced competitive programmer who judges how hard problems are.",
    "template": ("{question}\n\n"
                 "Rate the programming problem above on one dimension: {description}\n"
                 "Answer with a single digit from 1 (lowest) to 9 (highest)."),
    "answer": "{name} (1-9):",
    "dimensions": [
        {"name": "algorithmic depth", "weight": 0.30,
         "description": "how advanced are the algorithms and data structures a solution needs (1: direct simulation "
                        "or a formula anyone knows; 9: an advanced technique such as flows, heavy dynamic programming "
                        "or a non-obvious insight)?"},
        {"name": "implementation length", "weight": 0.20,
         "description": "how long and intricate is a correct implementation (1: a few lines; 9: hundreds of lines "
                        "with many cases)?"},
        {"name": "edge cases", "weight": 0.15,
         "description": "how many tricky special cases must a solution get right (1: none; 9: many subtle ones)?"},
        {"name": "mathematics", "weight": 0.15,
         "description": "how much mathematical reasoning does it need (1: none; 9: olympiad-level number theory, "
                        "combinatorics or geometry)?"},
        {"name": "constraint scale", "weight": 0.20,
         "description": "how much do the input limits demand an efficient solution (1: brute force fits easily; "
                        "9: only a near-optimal complexity passes)?"},
    ],
}


def check_rubric(rubric: object, where: str = "--rubric") -> dict:
    """The rubric, checked: usage errors name what is wrong before any model loads."""
    if not isinstance(rubric, dict):
        raise McUsageError(f"{where}: expected a JSON object with template, answer and dimensions")
    for key in ("template", "answer"):
        if not isinstance(rubric.get(key), str) or not rubric[key].strip():
            raise McUsageError(f"{where}: {key!r} must be a non-empty string")
    for key, fields in (("template", ("question", "description", "name")), ("answer", ("name",))):
        try:
            rubric[key].format_map({f: "" for f in fields})
        except (KeyError, ValueError, IndexError) as e:
            raise McUsageError(f"{where}: {key} uses an unknown field or a stray brace ({e})",
                               f"its fields are {', '.join('{%s}' % f for f in fields)}; write a literal brace as {{{{ or }}}}")
    if "{question}" not in rubric["template"] or "{description}" not in rubric["template"]:
        raise McUsageError(f"{where}: the template must contain {{question}} and {{description}}")
    dimensions = rubric.get("dimensions")
    if not isinstance(dimensions, list) or not dimensions:
        raise McUsageError(f"{where}: 'dimensions' must be a non-empty list")
    names = set()
    for i, d in enumerate(dimensions):
        if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"].strip() \
                or not isinstance(d.get("description"), str):
            raise McUsageError(f"{where}: dimension {i + 1} needs a 'name' and a 'description' (strings)")
        weight = d.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise McUsageError(f"{where}: dimension {d['name']!r}: weight must be a positive number, got {weight!r}")
        if d["name"] in names:
            raise McUsageError(f"{where}: dimension {d['name']!r} appears twice")
        names.add(d["name"])
    system = rubric.get("system", "")
    if not isinstance(system, str):
        raise McUsageError(f"{where}: 'system' must be a string")
    return rubric


def read_rubric(path: str | None) -> dict:
    if path is None:
        return DEFAULT_RUBRIC
    try:
        with open(path, encoding="utf-8") as f:
            rubric = json.load(f)
    except OSError as e:
        raise McUsageError(f"cannot read --rubric {path}: {e.strerror}") from None
    except ValueError as e:
        raise McUsageError(f"--rubric {path}: not JSON ({e})", "start from `mc data predict-difficulty --show-rubric`") from None
    return check_rubric(rubric, f"--rubric {path}")


def rubric_id(rubric: dict) -> str:
    """The rubric's name and a hash of its content: scores from different rubrics are not comparable."""
    digest = hashlib.sha256(json.dumps(rubric, sort_keys=True).encode()).hexdigest()[:8]
    return f"{rubric.get('name', 'custom')}@{digest}"


def rating_prompt(problem: dict, dimension: dict, rubric: dict, tokenizer,
                  digits_of: dict | None = None) -> tuple[list[int], list[int]]:
    """(prompt token ids, the nine digit tokens that can follow it): the chat-rendered
    question with the answer's start ("algorithmic depth (1-9):") as the assistant's
    first words. The digits are the tokens that extend exactly this text, with a space
    before them if the tokenizer has such tokens (" 7"), else bare ("7"). `digits_of`
    caches them per dimension: every prompt of a dimension ends in the same words, so
    the first one's check holds for the rest (and 18 tokenizations a prompt are saved)."""
    user = rubric["template"].format_map({"question": (problem.get("question") or "").strip(),
                                          "description": dimension["description"], "name": dimension["name"]})
    answer = rubric["answer"].format_map({"name": dimension["name"]})
    system = rubric.get("system", "")
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + answer
    else:
        text = (f"{system}\n\n" if system else "") + f"{user}\n\n{answer}"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if digits_of is not None and dimension["name"] in digits_of:
        return ids, digits_of[dimension["name"]]
    for space in (" ", ""):
        digits = []
        for d in DIGITS:
            extended = tokenizer(text + space + d, add_special_tokens=False)["input_ids"]
            if len(extended) != len(ids) + 1 or extended[: len(ids)] != ids:
                break
            digits.append(extended[-1])
        if len(set(digits)) == len(DIGITS):
            if digits_of is not None:
                digits_of[dimension["name"]] = digits
            return ids, digits
    raise McUsageError("the tokenizer has no single token for each digit 1-9 after the rubric's answer text",
                       "end the rubric's 'answer' differently (e.g. without a trailing space)")


def expected_rating(logprobs: list[float]) -> float:
    """The expected digit (1..9) under a distribution over the nine digits (log-probs)."""
    probs = [math.exp(lp) for lp in logprobs]
    total = sum(probs)
    return sum((k + 1) * p for k, p in enumerate(probs)) / total


def weighted_score(ratings: dict[str, float], rubric: dict) -> float:
    """The weighted mean rating mapped from 1..9 to 0..1 (1: hardest on every dimension)."""
    weights = {d["name"]: float(d.get("weight", 1.0)) for d in rubric["dimensions"]}
    mean = sum(weights[name] * r for name, r in ratings.items()) / sum(weights.values())
    return (mean - 1.0) / 8.0


def predict_difficulty(problems: Iterable[dict], backend, rubric: dict, model: str, batch_problems: int = 8) -> Iterator[dict]:
    """Problems with `meta.predicted_difficulty`, in input order, rated `batch_problems`
    at a time (each problem: one next-token distribution per dimension)."""
    batch: list[dict] = []
    for problem in problems:
        batch.append(problem)
        if len(batch) >= batch_problems:
            yield from _rate(batch, backend, rubric, model)
            batch = []
    if batch:
        yield from _rate(batch, backend, rubric, model)


def _rate(problems: list[dict], backend, rubric: dict, model: str) -> list[dict]:
    prompts, choices = [], []
    digits_of: dict = {}
    for problem in problems:
        for dimension in rubric["dimensions"]:
            ids, digits = rating_prompt(problem, dimension, rubric, backend.tokenizer, digits_of)
            prompts.append(ids)
            choices.append(digits)
    logprobs = backend.choice_logprobs(prompts, choices)
    out, k = [], 0
    name = rubric_id(rubric)
    for problem in problems:
        ratings, raw = {}, {}
        for dimension in rubric["dimensions"]:
            lps = logprobs[k]
            k += 1
            ratings[dimension["name"]] = round(expected_rating(lps), 4)
            best = max(range(len(lps)), key=lambda i: lps[i])
            raw[dimension["name"]] = {"digit": best + 1, "probs": [round(math.exp(lp), 4) for lp in lps]}
        prediction = {"score": round(weighted_score(ratings, rubric), 4), "dimensions": ratings, "raw": raw,
                      "model": model, "rubric": name}
        out.append({**problem, "meta": {**(problem.get("meta") or {}), "predicted_difficulty": prediction}})
    return out
