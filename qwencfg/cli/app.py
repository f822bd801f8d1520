"""The command group, the arguments every command shares, and the one place errors become exit codes.

The CLI is plain click (which huggingface_hub already depends on): a command line parses in
milliseconds, which is most of what `show` costs.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from typing import Callable, NoReturn

import click

from .. import __version__
from ..errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, QwencfgError

EPILOG = """Examples:

\b
  qwencfg show qwen2.5-vl-7b-instruct
  qwencfg diff Qwen/Qwen2.5-VL-7B-Instruct ./my-finetune
  qwencfg set ./ckpt --text.num_hidden_layers 40 --in-place
  qwencfg validate ./ckpt --expect-params 8.29B --format junit
  qwencfg estimate qwen2.5-vl-7b-instruct --context 32768

A file whose name starts with - is ./NAME (or put it after --).

Exit codes: 0 success, 1 the config is invalid or the configs differ, 2 bad input or usage,
3 internal error, 130 interrupted."""

SOURCE_HELP = "config.json, a folder holding one, - for stdin, a preset (qwencfg presets), defaults:FAMILY, tiny:FAMILY, or a Hub repo id[@revision]."
FORMATS = ("table", "json", "markdown")


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from ..schema import installed_transformers_version

        click.echo(f"qwencfg {__version__} (transformers {installed_transformers_version() or 'not installed'})")
        ctx.exit()


@click.group(
    name="qwencfg",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version, help="Print the version and exit.")
def app() -> None:
    """Inspect, diff, edit and validate Hugging Face configs of Qwen vision-language models."""


def _complete_source(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    from .complete import complete_source

    return complete_source(incomplete)


def source_argument(name: str = "source", metavar: str = "SOURCE", **kwargs) -> Callable:
    return click.argument(name, metavar=metavar, shell_complete=_complete_source, **kwargs)


def format_option(choices: tuple[str, ...] = FORMATS) -> Callable:
    return click.option("--format", "-f", "output_format", type=click.Choice(choices, case_sensitive=False), default="table", show_default=True, help="Output format.")


def print_error(message: str) -> None:
    """One error line on stderr (red on a terminal); only a list of broken rules goes on below it."""
    from ..render import printable, stderr_console

    lines = message.split("\n")
    first = "\\n".join([lines[0]] + [line for line in lines[1:] if not line.startswith("  [")])  # a newline in a path stays on the line
    rules = [line for line in lines[1:] if line.startswith("  [")]
    stderr_console().print(f"[bold red]qwencfg: error:[/] {escape(printable(first))}", highlight=False, markup=True, soft_wrap=True)
    for line in rules:
        stderr_console().print(escape(printable(line)), highlight=False, markup=True, soft_wrap=True)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def fail(message: str, code: int) -> NoReturn:
    print_error(message)
    sys.exit(code)


def report_error(exc: QwencfgError) -> int:
    """Prints an error without stopping (commands that go on with their other inputs); returns its exit code."""
    print_error(str(exc))
    return exc.exit_code


def warn(warnings: list) -> None:
    from ..render import printable, stderr_console

    console = stderr_console()
    for message in warnings:
        console.print(f"[yellow]qwencfg: warning:[/] {escape(printable(str(message)))}", soft_wrap=True)


def finish(render: Callable[[], None], code: int) -> NoReturn:
    """Writes the result and exits with the verdict's code, also when the reader went away (| head)."""
    try:
        render()
        sys.stdout.flush()
    except BrokenPipeError:
        _detach_stdout()
        sys.exit(code)
    except OSError as exc:
        _detach_stdout()
        fail(f"cannot write the output: {exc.strerror or exc}", EXIT_BAD_INPUT)
    sys.exit(code)


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
        except (click.exceptions.Exit, click.Abort, click.ClickException, SystemExit):
            raise
        except QwencfgError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)
        except BrokenPipeError:
            _detach_stdout()
            sys.exit(0)
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
