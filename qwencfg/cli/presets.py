"""`qwencfg presets`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import EXIT_OK, BadValue
from ..render import Format
from .app import FormatOption, app, finish, handles_errors


@app.command(epilog="Example:\n\n  qwencfg presets --family qwen3_vl")
@handles_errors
def presets(
    family: Annotated[Optional[str], typer.Option("--family", help="Only presets of this family, e.g. qwen2_5_vl.")] = None,
    format: FormatOption = Format.table,
) -> None:
    """List the bundled configs of official checkpoints: family, layout, our count and the published total."""
    from ..catalog import list_presets
    from ..render import stdout_console
    from ..render.presets import render_presets
    from ..schema import load_schema

    if family is not None and family not in load_schema().families:
        raise BadValue(f"--family {family}: no such family", hint=f"families: {', '.join(sorted(load_schema().families))}")
    entries = list_presets(family)
    finish(lambda: render_presets(entries, format, stdout_console()), EXIT_OK)
