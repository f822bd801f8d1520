"""`qwencfg set SOURCE OVERRIDES... [-o OUT | --in-place]`."""

from __future__ import annotations

import difflib
from typing import Annotated, Optional

import typer

from .. import load
from ..errors import BadValue, RuleFailed, WriteRefused
from ..render import stderr_console, stdout_console
from .app import app, handles_errors
from .complete import OverrideCommand
from .show import warn

EPILOG = """Overrides: --section.key VALUE, --section.key=VALUE or section.key=VALUE; --unset section.key removes one.
Values are typed like the field: 36, 1e-06, true, null, [7,15,23,31] or 7,15,23,31, '{"rope_type": "default"}'.

Examples:

  qwencfg set ./ckpt --text.num_hidden_layers 40 --in-place

  qwencfg set qwen2.5-vl-3b-instruct --text.num_hidden_layers 4 --vision.depth 4 --vision.fullatt_block_indexes [1,3] -o tiny/

  qwencfg set config.json --text.rope_scaling.mrope_section 16,24,24 --dry-run
"""


@app.command(
    "set",
    cls=OverrideCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="SOURCE OVERRIDES... [OPTIONS]",
    epilog=EPILOG,
)
@handles_errors
def set_(
    ctx: typer.Context,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to this file, or PATH/config.json for a folder (end with / to create it).")] = None,
    in_place: Annotated[bool, typer.Option("--in-place", help="Replace the local SOURCE file (atomically).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Write even if rules fail, and overwrite an existing -o file.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the changes as a diff of the file and write nothing.")] = False,
) -> None:
    """Apply typed, validated overrides and write the config back in its own layout, touching nothing else."""
    from ..overrides import apply_overrides, parse_override_words
    from ..write import output_path, write_atomic
    source, words = split_source(ctx.args)
    overrides = parse_override_words(words)
    if not overrides:
        raise BadValue("no overrides given", hint="e.g. qwencfg set SOURCE --vision.depth 36")
    if output and in_place:
        raise BadValue("choose one of -o and --in-place")
    config = load(source)
    warn(config.warnings)
    edit = apply_overrides(config, overrides)
    if edit.errors and not force:
        count = len(edit.errors)
        raise RuleFailed(
            f"the result breaks {count} rule{'s' if count > 1 else ''}, so nothing was written (--force writes it anyway):\n"
            + "\n".join(f"  {f}" for f in edit.errors)
        )
    for finding in edit.errors:
        warn([f"written despite: {finding}"])
    if dry_run:
        print_file_diff(config.raw.text, edit.text, config.raw.origin.label)
    elif in_place:
        if config.raw.origin.path is None:
            raise WriteRefused(f"--in-place needs a local file; {config.raw.origin.label} is not one", hint="use -o PATH")
        write_atomic(config.raw.origin.path, edit.text, replace=True)
    elif output:
        write_atomic(output_path(output), edit.text, replace=force)
    else:
        stdout_console().file.write(edit.text)
    report(edit, written_to=None if dry_run else (config.raw.origin.path if in_place else (output_path(output) if output else None)))


def split_source(words: list[str]) -> tuple[str, list[str]]:
    """Separates SOURCE from the override words, wherever it stands."""
    source, rest, i = None, [], 0
    while i < len(words):
        word = words[i]
        takes_value = word.startswith("-") and word not in ("-",) and "=" not in word
        if takes_value:
            rest += words[i : i + 2]
            i += 2
            continue
        if "=" in word and not word.startswith("-") and word.split("=", 1)[0].split(".")[0] in ("vision", "text", "model"):
            rest.append(word)
        elif word.startswith("--"):
            rest.append(word)
        elif source is None:
            source = word
        else:
            raise BadValue(f"{word!r}: only one SOURCE is allowed (the first was {source!r})", hint="write overrides as --section.key VALUE")
        i += 1
    if source is None:
        raise BadValue("missing SOURCE", hint="e.g. qwencfg set config.json --vision.depth 36")
    return source, rest


def print_file_diff(old: str, new: str, label: str) -> None:
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), fromfile=f"{label} (before)", tofile=f"{label} (after)")
    stdout_console().file.write("".join(lines))


def report(edit, written_to) -> None:
    """A summary on stderr, so stdout stays the config (or the diff)."""
    from ..render.diff import cell

    console = stderr_console()
    for note in edit.notes:
        console.print(f"[cyan]qwencfg:[/] {note}", soft_wrap=True)
    for change in edit.changes.changes:
        console.print(f"  {change.path}: {cell(change.a, change.a_is_default, change.change != 'added')} -> {cell(change.b, change.b_is_default, change.change != 'removed')}", markup=False, soft_wrap=True)
    if written_to is not None:
        console.print(f"[green]qwencfg:[/] wrote {written_to} ({len(edit.changes.changes)} change{'s' if len(edit.changes.changes) != 1 else ''})", soft_wrap=True)
