"""`qwencfg set SOURCE OVERRIDES... [-o OUT | --in-place]`."""

from __future__ import annotations

import contextlib

import click

from ..errors import EXIT_OK, BadValue, RuleFailed, WriteRefused
from .app import app, finish, handles_errors, warn
from .complete import OverrideCommand

EPILOG = """Overrides: --section.key VALUE, --section.key=VALUE or section.key=VALUE; --unset section.key removes one.
Values are typed like the field and checked before anything is written: 36, 1e-06, true, null,
'[7,15,23,31]' or 7,15,23,31, '{"rope_type": "default"}' (quote brackets: a shell reads [1,3] as a file pattern).

Examples:

\b
  qwencfg set ./ckpt --text.num_hidden_layers 40 --in-place
  qwencfg set qwen2.5-vl-3b-instruct --text.num_hidden_layers 4 --vision.depth 4 --vision.fullatt_block_indexes 1,3 -o tiny/
  qwencfg set config.json --text.rope_scaling.mrope_section 16,24,24 --dry-run
"""


@app.command(
    "set",
    cls=OverrideCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="SOURCE OVERRIDES... [OPTIONS]",
    help="Apply typed, validated overrides and write the config back in its own layout, touching nothing else.",
    epilog=EPILOG,
)
@click.option("--output", "-o", help="Write to this file, or PATH/config.json for a folder (end with / to create it); - is standard output.")
@click.option("--in-place", is_flag=True, help="Replace the local SOURCE file (atomically; through a symbolic link to its target).")
@click.option("--force", is_flag=True, help="Overwrite an existing -o file, or a read-only SOURCE with --in-place.")
@click.option("--allow-invalid", is_flag=True, help="Write even if the result breaks rules (each is reported).")
@click.option("--dry-run", is_flag=True, help="Print the changes as a diff of the file and write nothing.")
@click.pass_context
@handles_errors
def set_(ctx: click.Context, output: str | None, in_place: bool, force: bool, allow_invalid: bool, dry_run: bool) -> None:
    from .. import load
    from ..overrides import apply_overrides, parse_set_arguments
    from ..render import spinner, stderr_console, stdout_console
    from ..render.edit import file_diff, render_edit
    from ..write import edit_target, is_read_only, locked_for_edit, output_path, write_atomic

    source, overrides = parse_set_arguments(ctx.args)
    if output and in_place:
        raise BadValue("choose one of -o and --in-place")
    target = _in_place_target(source, edit_target) if in_place and not dry_run else None
    if target is not None and is_read_only(target) and not force:
        raise WriteRefused(f"{target} is read-only", hint="pass --force to write it anyway, or write a copy with -o")
    with locked_for_edit(target) if target is not None else contextlib.nullcontext():
        config = load(source, progress=spinner)
        warn(config.warnings)
        edit = apply_overrides(config, overrides)
        if edit.errors and not allow_invalid:
            count = len(edit.errors)
            raise RuleFailed(
                f"the result breaks {count} rule{'s' if count > 1 else ''}, so nothing was written (--allow-invalid writes it anyway):\n"
                + "\n".join(f"  {f}" for f in edit.errors)
            )
        written_to = None
        if dry_run:
            text = file_diff(config.raw.text, edit.text, config.raw.origin.label)
        elif target is not None:
            if edit.changed:
                write_atomic(target, edit.text, replace=True, expected=config.raw.text)
                written_to = str(target)
            text = ""
        elif output and output != "-":
            path = output_path(output)
            write_atomic(path, edit.text, replace=force)
            written_to, text = str(path), ""
        else:
            text = edit.text
    render_edit(edit, stderr_console(), written_to)
    finish(lambda: stdout_console().file.write(text), EXIT_OK)


def _in_place_target(source: str, edit_target):
    """The local file `--in-place` rewrites (a link's target); other sources cannot be edited in place."""
    from ..sources import looks_like_a_path
    from ..sources.local import expand, lexists

    path = expand(source)
    if not lexists(path):
        hint = "use -o PATH to write a local copy" if not looks_like_a_path(source) else "check the path"
        raise WriteRefused(f"--in-place needs a local file; {source} is not one", hint=hint)
    if path.is_dir():
        path = path / "config.json"
    return edit_target(path)
