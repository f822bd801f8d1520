"""`qwencfg diff A B`."""

from __future__ import annotations

import click

from ..errors import EXIT_FAILED, EXIT_OK
from .app import SOURCE_HELP, app, finish, format_option, handles_errors, source_argument, warn
from .show import refuse_type_problems


@app.command(
    help="Compare two configs by meaning: layout alone is never a difference.\n\nA and B are each " + SOURCE_HELP,
    epilog="""Exit codes, like diff(1): 0 same, 1 different, 2 error. Differences that change nothing transformers
loads (keys it ignores, sub-config dtypes under the same top-level dtype) are listed apart and leave
the exit code 0.

Examples:

\b
  qwencfg diff qwen2.5-vl-3b-instruct qwen2.5-vl-7b-instruct
  qwencfg diff Qwen/Qwen2.5-VL-7B-Instruct ./my-finetune --ignore 'text.*_token_id' --format markdown
  qwencfg diff <(git show HEAD~1:config.json) config.json""",
)
@source_argument("a", metavar="A")
@source_argument("b", metavar="B")
@click.option("--ignore", "-i", multiple=True, help="Skip dotted paths matching this glob, e.g. 'text.*_token_id' (repeatable).")
@click.option("--all", "include_all", is_flag=True, help="Also compare bookkeeping keys such as transformers_version.")
@click.option("--raw", is_flag=True, help="Compare the files' keys as written instead of their meaning.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; only the exit code tells.")
@format_option()
@handles_errors
def diff(a: str, b: str, ignore: tuple[str, ...], include_all: bool, raw: bool, quiet: bool, output_format: str) -> None:
    from .. import load_all
    from ..compare import diff as diff_configs
    from ..render import Format, spinner, stdout_console
    from ..render.diff import render_diff

    config_a, config_b = load_all([a, b], progress=spinner)
    if not raw:
        refuse_type_problems(config_a)
        refuse_type_problems(config_b)
    if not quiet:
        warn([f"A: {w}" for w in config_a.warnings] + [f"B: {w}" for w in config_b.warnings])
    result = diff_configs(config_a, config_b, ignore=list(ignore), include_all=include_all, raw=raw)
    if not quiet:
        warn([f"--ignore {p!r} matches no key of these configs" for p in result.unmatched_ignores])
    code = EXIT_OK if result.same else EXIT_FAILED
    finish((lambda: None) if quiet else (lambda: render_diff(result, Format(output_format.lower()), stdout_console())), code)
