"""Prompts: what the policy is asked, per test kind.

The instruction differs by how the answer will be judged: a stdin problem needs
a whole program that reads stdin and prints; a functional problem needs the
given starter code completed; an assert problem needs the function the tests
call. The answer format is always one ```python block, the form the reward's
code extraction reads. When the tokenizer has a chat template the prompt is a
system + user conversation rendered by it; otherwise the plain text below.
`--system-prompt TEXT` replaces the system message ('' leaves it out).

`--prompt-template FILE` replaces the user message: a text with `{question}`,
`{starter_code}`, `{fn_name}`, `{instruction}` placeholders (Python format
syntax; literal braces doubled). `check_template` reads it once, before any
model loads, so a misspelt field or a stray brace is a usage error naming it
rather than a crash at the first problem.
"""

from __future__ import annotations

import re

from mc.errors import McUsageError

SYSTEM = "You are an expert Python programmer. You write correct, efficient code."

INSTRUCTIONS = {
    "stdin": (
        "Write a complete Python 3 program that reads the input from standard input and writes the answer "
        "to standard output. Put the whole program in one ```python code block."
    ),
    "functional": (
        "Complete the starter code below: implement the method so that it returns the answer (do not read input "
        "or print). Put the whole solution, starter code included, in one ```python code block."
    ),
    "assert": (
        "Write the Python function described above; it will be called by tests. Put the whole function in one "
        "```python code block."
    ),
}


FIELDS = ("question", "starter_code", "fn_name", "instruction")
# What str.format sees: a doubled brace (a literal one), a {field...}, or a lone brace.
_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def check_template(template: str, where: str = "--prompt-template") -> None:
    """Usage error unless `template` formats with exactly FIELDS ({{ and }} for literal braces)."""
    allowed = ", ".join("{%s}" % f for f in FIELDS)
    for match in _BRACES.finditer(template):
        if match.group(0) in ("{{", "}}"):
            continue
        at = f"{where} line {template.count(chr(10), 0, match.start()) + 1}"
        inside = match.group(1)
        if inside is None:
            raise McUsageError(f"{at}: a single {match.group(0)!r} (write a literal brace as {{{{ or }}}})",
                               f"the fields are {allowed}")
        name = re.split(r"[.\[!:]", inside, maxsplit=1)[0]
        if name not in FIELDS:
            raise McUsageError(f"{at}: unknown field {{{inside}}}", f"the fields are {allowed}; write a literal brace as {{{{ or }}}}")
        if inside[len(name):len(name) + 1] in (".", "["):
            raise McUsageError(f"{at}: {{{inside}}}: fields are plain text, without attributes or indexes",
                               f"the fields are {allowed}")
    try:  # what the scan cannot see: a bad conversion or format spec, e.g. {question:d}
        template.format_map(dict.fromkeys(FIELDS, ""))
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise McUsageError(f"{where}: {e}", f"the fields are {allowed}") from None


def user_message(problem: dict, template: str | None = None) -> str:
    tests = problem.get("tests") or {}
    kind = tests.get("type", "stdin")
    instruction = INSTRUCTIONS.get(kind, INSTRUCTIONS["stdin"])
    starter = problem.get("starter_code") or ""
    fields = {
        "question": (problem.get("question") or "").strip(),
        "starter_code": starter,
        "fn_name": tests.get("fn_name") or "",
        "instruction": instruction,
    }
    if template is not None:
        check_template(template)  # cheap; callers that skipped the up-front check still get a clear error
        return template.format_map(fields)
    parts = [fields["question"], "", instruction]
    if starter.strip() and kind != "assert":
        parts += ["", "```python", starter.rstrip(), "```"]
    elif kind == "assert" and fields["fn_name"]:
        parts += ["", f"The function must be named `{fields['fn_name']}`."]
    return "\n".join(parts)


def render_prompt(problem: dict, tokenizer, template: str | None = None, system: str = SYSTEM) -> str:
    """The prompt text the model continues."""
    user = user_message(problem, template)
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{system}\n\n{user}\n\nAnswer:\n" if system else f"{user}\n\nAnswer:\n"
