"""The Typer app, its shared options, and the one place errors become exit codes."""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated, Callable

import typer

from .. import __version__
from ..errors import QwencfgError
from ..render import Format, stderr_console

EXIT_INTERNAL = 3

app = typer.Typer(
    name="qwencfg",
    help="Inspect, diff, edit and validate Hugging Face configs of Qwen vision-language models.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Examples:\n\n  qwencfg show qwen2.5-vl-7b-instruct\n\n  qwencfg diff Qwen/Qwen2.5-VL-7B-Instruct ./my-finetune\n\n"
        "  qwencfg set ./ckpt --text.num_hidden_layers 40 --in-place\n\n  qwencfg validate ./ckpt --expect-params 8.29B --format junit\n\n"
        "Exit codes: 0 success, 1 the config is invalid or the configs differ, 2 bad input or usage, 3 internal error."
    ),
)

def _complete_source(incomplete: str) -> list[str]:
    from .complete import complete_source

    return complete_source(incomplete)


SOURCE_HELP = "config.json, a folder holding one, - for stdin, a preset (qwencfg presets), defaults:FAMILY, or a Hub repo id[@revision]."
SourceArg = Annotated[
    str,
    typer.Argument(metavar="SOURCE", help=SOURCE_HELP, show_default=False, autocompletion=_complete_source),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]


def fail(message: str, code: int) -> None:
    """Prints one red error line (`message` is rich markup) and exits with `code`."""
    stderr_console().print(f"[bold red]qwencfg: error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def fail_soft(exc: QwencfgError) -> int:
    """Prints an error without stopping (commands that go on with their other inputs); returns its exit code."""
    stderr_console().print(f"[bold red]qwencfg: error:[/] {_escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
    return exc.exit_code


def handles_errors(command: Callable) -> Callable:
    """Turns every failure into one red line on stderr and a documented exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except QwencfgError as exc:
            fail(_escape(str(exc)), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (| head); nothing left to say
            raise typer.Exit(0)
        except Exception as exc:  # noqa: BLE001 - a bug: say so in one line
            if os.environ.get("QWENCFG_DEBUG"):
                raise
            fail(
                _escape(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0])
                + " (a qwencfg bug; QWENCFG_DEBUG=1 shows the traceback)",
                EXIT_INTERNAL,
            )

    return wrapper


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def version_callback(value: bool) -> None:
    if value:
        from ..schema import installed_transformers_version

        typer.echo(f"qwencfg {__version__} (transformers {installed_transformers_version() or 'not installed'})")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Inspect, diff, edit and validate Hugging Face configs of Qwen vision-language models."""
