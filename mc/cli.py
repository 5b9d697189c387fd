"""The `mc` command: builds the typer app from mc.commands and maps errors to exit codes.

Exit codes: 0 ok, 1 runtime failure (an McError, rendered as one line), 2 usage
error. A broken pipe (`mc ... | head`) ends quietly with 0. Tracebacks only with
`--debug` (or MC_DEBUG=1).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from typing import Optional

import typer

from mc import __version__
from mc.commands import completions as completions_command
from mc.commands import data as data_command
from mc.commands import eval as eval_command
from mc.commands import model as model_command
from mc.commands import reward as reward_command
from mc.commands import rollout as rollout_command
from mc.commands import sft as sft_command
from mc.commands import train as train_command
from mc.commands import train_step as train_step_command
from mc.errors import McError
from mc.jsonl import StdoutClosed

HELP = """\
Train code LLMs with reinforcement learning from execution feedback (MicroCoder).

Each command reads and writes JSONL records (stdin/stdout by default), so
stages compose with pipes and files. Logs and tables go to stderr.

Examples:

\b
  mc data import ../shared/data/mbpp/mbpp.jsonl > mbpp.jsonl
  mc data import lcb.json | mc data filter --dedup --before 2024-08-01 | mc data stats
"""

app = typer.Typer(
    name="mc",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
app.add_typer(data_command.app, name="data")
app.add_typer(model_command.app, name="model")
app.command("rollout")(rollout_command.rollout)
app.command("reward")(reward_command.reward)
app.command("train-step")(train_step_command.train_step)
app.add_typer(eval_command.app, name="eval")
app.command("train")(train_command.train)
app.command("sft")(sft_command.sft)
app.command("completions")(completions_command.completions)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bars on stderr even when it is not a terminal (mc --progress train ... 2>&1 | tee log), or no progress at all. Default: bars on a terminal, an occasional line in a log. Also MC_PROGRESS=force|0.", show_default=False),
) -> None:
    """Train code LLMs with RL from execution feedback."""
    if progress is not None:  # read by mc.console, and by mc commands this one starts
        os.environ["MC_PROGRESS"] = "force" if progress else "0"


def _error(prefix: str, message: str) -> None:
    from mc.console import escape, stderr

    stderr().print(f"[bold red]{prefix}:[/] {escape(message)}")


def _quiet_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the final flush cannot raise."""
    if sys.stdout is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO)


class Terminated(BaseException):
    """SIGTERM (kill, timeout, a job scheduler): unwind like Ctrl-C, so temporaries,
    sandbox folders and half-written outputs are cleaned up, then exit 143."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    debug = "--debug" in args or os.environ.get("MC_DEBUG", "") not in ("", "0")
    if debug:
        os.environ["MC_DEBUG"] = "1"  # libraries read it: vLLM's log level
    try:
        code = app(args=args, prog_name="mc", standalone_mode=False)
    except (StdoutClosed, BrokenPipeError):
        _quiet_stdout()
        code = 0
    except McError as e:
        if debug:
            raise
        _error("error", str(e))
        code = e.exit_code
    except typer.Exit as e:
        code = e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _error("error", "interrupted")
        code = 130
    except Terminated:
        _error("error", "terminated")
        code = 143
    except typer.TyperException as e:  # usage errors: bad flag value, missing argument
        show = getattr(e, "show", None)
        show() if show else _error("error", e.format_message())
        code = e.exit_code
    except OSError as e:  # the machine refused: a full disk, an I/O error, a closed stream
        if debug:
            raise
        if e.errno in _WRITE_ERRORS:  # files mc writes name themselves (McError): this was stdout
            _quiet_stdout()
            where = e.filename or "to stdout"
            _error("error", f"cannot write {where}: {e.strerror or e}")
        else:
            _error("error", f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
        code = 1
    except Exception as e:  # a bug in mc: still one line unless --debug
        if debug:
            raise
        _error("internal error", f"{type(e).__name__}: {e} (rerun with --debug for the traceback)")
        code = 1
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    except OSError as e:  # `mc ... > /dev/full`: what was printed never landed
        _error("error", f"cannot write to stdout: {e.strerror or e}")
        _quiet_stdout()
        code = code or 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
