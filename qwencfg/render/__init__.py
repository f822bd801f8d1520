"""Turn finished results into text: rich tables for people, JSON for programs, markdown for pull requests.

Renderers only format: they never count, read presets or normalise a config again.
"""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import nullcontext
from enum import Enum
from typing import Any

from rich.console import Console
from rich.text import Text

from ..units import format_bytes, format_count, layer_runs

__all__ = ["Format", "dump_json", "format_bytes", "format_count", "format_value", "md_escape", "plain", "print_table", "printable", "spinner", "stderr_console", "stdout_console"]


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class _ResultConsole(Console):
    """A console that lets a closed pipe reach the CLI, which ends with the verdict's exit code
    (rich's own handling exits with 1, which means "failed" to validate and diff users)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError()


def stdout_console() -> Console:
    """The console results go to: colour only on a terminal (and never with NO_COLOR), wide when piped."""
    terminal = sys.stdout.isatty()
    width = None if terminal else _columns(140)
    return _ResultConsole(file=sys.stdout, width=width, highlight=False, soft_wrap=False, emoji=False)


def _columns(default: int) -> int:
    try:
        return max(20, int(os.environ.get("COLUMNS", default)))
    except ValueError:
        return default


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False)


def print_table(console: Console, table: Any) -> None:
    """A table at the console's width, or wider when its numbers need more: a narrow terminal then
    wraps the lines, but a count is never cut."""
    from rich.measure import Measurement

    needed = Measurement.get(console, console.options.update(width=10_000), table).minimum
    if needed <= console.width:
        console.print(table)
        return
    width = console.width
    console.width = needed  # rich never draws wider than its console
    try:
        console.print(table, crop=False)
    finally:
        console.width = width


def plain(console: Console) -> bool:
    """Whether the output has no colour, so marks must be spelled out (* for a changed value)."""
    return console.color_system is None or console.no_color


def spinner(message: str):
    """A spinner on stderr while something slow runs; nothing when stderr is not a terminal."""
    if sys.stderr is None or not sys.stderr.isatty():
        return nullcontext()
    return stderr_console().status(Text(message))


def format_value(value: Any, limit: int = 60) -> str:
    """A value in JSON spelling, with runs in long lists collapsed (`28 x "full_attention"`)."""
    if isinstance(value, list) and len(value) > 2 and all(isinstance(v, str) for v in value) and len(set(value)) < len(value):
        return layer_runs(value)
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters spelled out (\\x1b), so a key in a file cannot move the terminal's
    cursor, colour the screen or break an XML report."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def md_escape(text: str) -> str:
    return printable(text).replace("|", "\\|")


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
