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
syntax; literal braces doubled).
"""

from __future__ import annotations

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
