"""`qwencfg show SOURCE`."""

from __future__ import annotations

import click

from ..errors import EXIT_OK, BadValue
from ..schema import SECTIONS
from .app import SOURCE_HELP, app, finish, format_option, handles_errors, source_argument, warn


@app.command(help="Show a config's vision, text and model parameters with defaults, meanings and derived figures.\n\nSOURCE is " + SOURCE_HELP, epilog="""Examples:

\b
  qwencfg show qwen2.5-vl-7b-instruct
  qwencfg show ./checkpoint --changed
  qwencfg show ./checkpoint --section text --format json | jq .derived""")
@source_argument()
@click.option("--section", "-s", "sections", multiple=True, type=click.Choice(SECTIONS), help="Only this section (repeatable).")
@click.option("--changed", is_flag=True, help="Only the values that differ from the transformers default.")
@format_option()
@handles_errors
def show(source: str, sections: tuple[str, ...], changed: bool, output_format: str) -> None:
    from .. import load
    from ..render import Format, spinner, stdout_console
    from ..render.show import render_show
    from ..summary import overview

    config = load(source, progress=spinner)
    refuse_type_problems(config)
    warn(config.warnings)
    view = overview(config, list(sections) if sections else list(SECTIONS))
    if changed:
        view = view.changed_only
    finish(lambda: render_show(view, Format(output_format.lower()), stdout_console()), EXIT_OK)


def refuse_type_problems(config) -> None:
    """A value of the wrong type makes every figure meaningless: say which, and stop."""
    if config.type_problems:
        first = config.type_problems[0]
        more = f" (and {len(config.type_problems) - 1} more)" if len(config.type_problems) > 1 else ""
        raise BadValue(f"{config.raw.origin.label}: {first}{more}", hint="fix the value; `qwencfg validate` lists every problem")
