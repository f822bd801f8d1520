"""`qwencfg presets`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..render import Format, stdout_console
from .app import FormatOption, app, handles_errors


@app.command(epilog="Example:\n\n  qwencfg presets --family qwen3_vl")
@handles_errors
def presets(
    family: Annotated[Optional[str], typer.Option("--family", help="Only presets of this family, e.g. qwen2_5_vl.")] = None,
    format: FormatOption = Format.table,
) -> None:
    """List the bundled configs of official checkpoints: name, family, parameter count, Hub repo."""
    from ..render.presets import preset_rows, render_presets
    render_presets(preset_rows(family), format, stdout_console())
