"""`qwencfg show SOURCE`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..errors import EXIT_OK, BadValue
from ..schema import SECTIONS
from .app import FormatOption, SourceArg, app, finish, handles_errors, warn
from ..render import Format


class SectionName(str, Enum):
    vision = "vision"
    text = "text"
    model = "model"


@app.command(
    epilog="Examples:\n\n  qwencfg show qwen2.5-vl-7b-instruct\n\n  qwencfg show ./checkpoint --changed\n\n"
    "  qwencfg show ./checkpoint --section text --format json | jq .derived"
)
@handles_errors
def show(
    source: SourceArg,
    section: Annotated[Optional[list[SectionName]], typer.Option("--section", "-s", help="Only this section (repeatable).")] = None,
    changed: Annotated[bool, typer.Option("--changed", help="Only the values that differ from the transformers default.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """Show a config's vision, text and model parameters with defaults, meanings and derived figures."""
    from .. import load
    from ..overview import overview
    from ..render import spinner, stdout_console
    from ..render.show import render_show

    config = load(source, progress=spinner)
    refuse_type_problems(config)
    warn(config.warnings)
    view = overview(config, [s.value for s in section] if section else list(SECTIONS))
    if changed:
        view = view.changed_only
    finish(lambda: render_show(view, format, stdout_console()), EXIT_OK)


def refuse_type_problems(config) -> None:
    """A value of the wrong type makes every figure meaningless: say which, and stop."""
    if config.type_problems:
        first = config.type_problems[0]
        more = f" (and {len(config.type_problems) - 1} more)" if len(config.type_problems) > 1 else ""
        raise BadValue(f"{config.raw.origin.label}: {first}{more}", hint="fix the value; `qwencfg validate` lists every problem")
