"""`qwencfg presets`."""

from __future__ import annotations

import click

from ..errors import EXIT_OK, BadValue
from .app import app, finish, format_option, handles_errors


@app.command(epilog="Example:\n\n\b\n  qwencfg presets --family qwen3_vl")
@click.option("--family", help="Only presets of this family, e.g. qwen2_5_vl.")
@format_option()
@handles_errors
def presets(family: str | None, output_format: str) -> None:
    """List the bundled configs of official checkpoints: family, layout, our count and the published total."""
    from ..catalog import list_presets
    from ..render import Format, stdout_console
    from ..render.presets import render_presets
    from ..schema import load_schema

    if family is not None and family not in load_schema().families:
        raise BadValue(f"--family {family}: no such family", hint=f"families: {', '.join(sorted(load_schema().families))}")
    entries = list_presets(family)
    finish(lambda: render_presets(entries, Format(output_format.lower()), stdout_console()), EXIT_OK)
