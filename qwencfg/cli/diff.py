"""`qwencfg diff A B`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import EXIT_FAILED, EXIT_OK
from ..render import Format
from .app import FormatOption, _complete_source, app, finish, handles_errors, warn
from .show import refuse_type_problems


@app.command(
    epilog=(
        "Exit codes, like diff(1): 0 same, 1 different, 2 error. Differences that change nothing transformers loads "
        "(keys it ignores, sub-config dtypes under the same top-level dtype) are listed apart and leave the exit code 0.\n\n"
        "Examples:\n\n  qwencfg diff qwen2.5-vl-3b-instruct qwen2.5-vl-7b-instruct\n\n"
        "  qwencfg diff Qwen/Qwen2.5-VL-7B-Instruct ./my-finetune --ignore 'text.*_token_id' --format markdown\n\n"
        "  qwencfg diff <(git show HEAD~1:config.json) config.json"
    )
)
@handles_errors
def diff(
    a: Annotated[str, typer.Argument(metavar="A", help="First SOURCE (same forms as `show`).", show_default=False, autocompletion=_complete_source)],
    b: Annotated[str, typer.Argument(metavar="B", help="Second SOURCE.", show_default=False, autocompletion=_complete_source)],
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", "-i", help="Skip dotted paths matching this glob, e.g. 'text.*_token_id' (repeatable).")] = None,
    include_all: Annotated[bool, typer.Option("--all", help="Also compare bookkeeping keys such as transformers_version.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Compare the files' keys as written instead of their meaning.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit code tells.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """Compare two configs by meaning: layout alone is never a difference."""
    from .. import load_all
    from ..compare import diff as diff_configs
    from ..render import spinner, stdout_console
    from ..render.diff import render_diff

    config_a, config_b = load_all([a, b], progress=spinner)
    if not raw:
        refuse_type_problems(config_a)
        refuse_type_problems(config_b)
    if not quiet:
        warn([f"A: {w}" for w in config_a.warnings] + [f"B: {w}" for w in config_b.warnings])
    result = diff_configs(config_a, config_b, ignore=ignore or [], include_all=include_all, raw=raw)
    code = EXIT_OK if result.same else EXIT_FAILED
    finish((lambda: None) if quiet else (lambda: render_diff(result, format, stdout_console())), code)
