"""`qwencfg show SOURCE`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from .. import load
from ..errors import BadValue
from ..render import Format, stderr_console, stdout_console
from ..render.show import render_show
from ..schema import SECTIONS
from .app import FormatOption, SourceArg, _escape, app, handles_errors


class SectionName(str, Enum):
    vision = "vision"
    text = "text"
    model = "model"


@app.command(
    epilog="Examples:\n\n  qwencfg show qwen2.5-vl-7b-instruct\n\n  qwencfg show ./checkpoint --section text --format json | jq .derived"
)
@handles_errors
def show(
    source: SourceArg,
    section: Annotated[
        Optional[list[SectionName]], typer.Option("--section", "-s", help="Only this section (repeatable).")
    ] = None,
    format: FormatOption = Format.table,
) -> None:
    """Show a config's vision, text and model parameters with defaults, meanings and derived figures."""
    config = load(source)
    refuse_type_problems(config)
    warn(config.warnings)
    sections = [s.value for s in section] if section else list(SECTIONS)
    render_show(config, sections, format, stdout_console())


def refuse_type_problems(config) -> None:
    """A value of the wrong type makes every figure meaningless: say which, and stop."""
    if config.type_problems:
        first = config.type_problems[0]
        more = f" (and {len(config.type_problems) - 1} more)" if len(config.type_problems) > 1 else ""
        raise BadValue(f"{config.raw.origin.label}: {first}{more}", hint="fix the value; `qwencfg validate` lists every problem")


def warn(warnings: list[str]) -> None:
    console = stderr_console()
    for message in warnings:
        console.print(f"[yellow]qwencfg: warning:[/] {_escape(message)}", soft_wrap=True)
