"""Command-line interface: thin wrappers that call the library and hand results to `render`."""

import sys

import click

from ..errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from . import diff, estimate, presets, set, show, validate  # noqa: F401 - registers the commands
from .app import app, guard_standard_streams, print_error


def main() -> None:
    guard_standard_streams()
    try:
        code = app.main(prog_name="qwencfg", standalone_mode=False)  # the same name under `python -m qwencfg`
    except click.exceptions.NoArgsIsHelpError as exc:  # `qwencfg` alone: the overview
        click.echo(exc.format_message())
        code = 0
    except click.UsageError as exc:  # one line, like every other error: what is wrong and where to look
        command = exc.ctx.command_path if exc.ctx else "qwencfg"
        print_error(f"{exc.format_message().rstrip('.')}; see `{command} --help`")
        code = EXIT_BAD_INPUT
    except click.Abort:
        print_error("interrupted")
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        print_error(exc.format_message())
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)
