"""The Typer app, the arguments every command shares, and the one place errors become exit codes."""

from __future__ import annotations

import errno
import functools
import os
import sys
from typing import Annotated, Callable, NoReturn

import typer

from .. import __version__
from ..errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, QwencfgError
from ..render import Format, stderr_console

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
        "  qwencfg estimate qwen2.5-vl-7b-instruct --context 32768\n\n"
        "A file whose name starts with - is ./NAME (or put it after --).\n\n"
        "Exit codes: 0 success, 1 the config is invalid or the configs differ, 2 bad input or usage, 3 internal error, 130 interrupted."
    ),
)


def _complete_source(incomplete: str) -> list[str]:
    from .complete import complete_source

    return complete_source(incomplete)


SOURCE_HELP = "config.json, a folder holding one, - for stdin, a preset (qwencfg presets), defaults:FAMILY, or a Hub repo id[@revision]."
SourceArg = Annotated[str, typer.Argument(metavar="SOURCE", help=SOURCE_HELP, show_default=False, autocompletion=_complete_source)]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def print_error(message: str) -> None:
    """One red error line on stderr (`message` is plain text, never markup)."""
    stderr_console().print(f"[bold red]qwencfg: error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


def report_error(exc: QwencfgError) -> int:
    """Prints an error without stopping (commands that go on with their other inputs); returns its exit code."""
    print_error(str(exc))
    return exc.exit_code


def warn(warnings: list) -> None:
    console = stderr_console()
    for message in warnings:
        console.print(f"[yellow]qwencfg: warning:[/] {escape(str(message))}", soft_wrap=True)


def finish(render: Callable[[], None], code: int) -> NoReturn:
    """Writes the result and exits with the verdict's code, also when the reader went away (| head)."""
    try:
        render()
        sys.stdout.flush()
    except BrokenPipeError:
        _detach_stdout()
        raise typer.Exit(code) from None
    except OSError as exc:
        _detach_stdout()
        fail(f"cannot write the output: {exc.strerror or exc}", EXIT_BAD_INPUT)
    raise typer.Exit(code)


def _detach_stdout() -> None:
    """Points stdout at /dev/null, so Python's last flush at exit has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def handles_errors(command: Callable) -> Callable:
    """Turns every failure into one red line on stderr and a documented exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except QwencfgError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)
        except BrokenPipeError:
            _detach_stdout()
            raise typer.Exit(0) from None
        except Exception as exc:  # noqa: BLE001 - a bug: say so in one line
            if os.environ.get("QWENCFG_DEBUG"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0] + " (a qwencfg bug; QWENCFG_DEBUG=1 shows the traceback)", EXIT_INTERNAL)

    return wrapper


class _ClosedStream:
    """Stands in for a standard stream the parent closed: writing to it is an error we can report."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def guard_standard_streams() -> None:
    """A closed stdout becomes an error on write; a closed stderr, silence (nobody could read it)."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:
        sys.stdout = _ClosedStream()


def version_callback(value: bool) -> None:
    if value:
        from ..schema import installed_transformers_version

        typer.echo(f"qwencfg {__version__} (transformers {installed_transformers_version() or 'not installed'})")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Inspect, diff, edit and validate Hugging Face configs of Qwen vision-language models."""
