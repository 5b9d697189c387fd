"""`mc model init`: build the built-in default policy (logic in mc/model.py)."""

from __future__ import annotations

import typer

from mc.commands.common import one_of

app = typer.Typer(help="Build the built-in default policy (a tokenizer trained here, a small Qwen3 model).", no_args_is_help=True)


@app.command("init")
def init(
    directory: str = typer.Argument(..., metavar="DIR", help="Where to write the Hugging Face model folder."),
    size: str = typer.Option("tiny", "--size", autocompletion=lambda: ["tiny", "small", "0.6b"], callback=one_of("tiny", "small", "0.6b"), help="tiny (~0.9M parameters, 512-token vocabulary), small (~7M), or 0.6b (Qwen3-0.6B's layers, random init: GPU smoke tests)."),
    seed: int = typer.Option(0, "--seed", help="Weights seed: the same seed builds the same model, byte for byte."),
    corpus: list[str] = typer.Option([], "--corpus", metavar="PROBLEMS", help="Problem records (statements and first solutions, as prompt and answer) that join the tokenizer's training text, weighted to a quarter of it. Repeatable."),
    force: bool = typer.Option(False, "--force", help="Replace DIR if it exists."),
) -> None:
    """Build a small Qwen3-architecture policy and its tokenizer, saved as a normal HF folder.

    Examples:

    \b
      mc model init tiny/
      mc model init small/ --size small --corpus train.jsonl --seed 1
      mc rollout --model tiny/ --n 4 problems.jsonl
    """
    from mc.commands.common import problems_in

    from mc import console
    from mc.model import init_model, problem_text

    texts = [problem_text(p) for p in problems_in(corpus)] if corpus else []
    summary = init_model(directory, size=size, seed=seed, corpus=texts, force=force)
    console.log(f"built {summary['size']} model in {summary['path']}: {summary['parameters']:,} parameters, "
                f"{summary['vocab']}-token vocabulary, {summary['layers']} layers (seed {summary['seed']})")
