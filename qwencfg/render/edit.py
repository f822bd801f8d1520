"""`qwencfg set`: what changed, on stderr (stdout is the config, or the diff of the file)."""

from __future__ import annotations

import difflib

from rich.console import Console
from rich.text import Text

from ..overrides import Edit
from . import printable
from .diff import cells


def file_diff(old: str, new: str, label: str) -> str:
    """A unified diff of the file's text, as `--dry-run` prints it."""
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), fromfile=f"{label} (before)", tofile=f"{label} (after)")
    return "".join(lines)


def render_edit(edit: Edit, console: Console, written_to: str | None) -> None:
    for note in edit.notes:
        console.print(Text.assemble(("qwencfg: ", "cyan"), note), soft_wrap=True)
    for finding in edit.errors:
        console.print(Text.assemble(("qwencfg: warning: ", "yellow"), f"written despite: {finding}"), soft_wrap=True)
    for finding in edit.still_broken:
        console.print(Text.assemble(("qwencfg: warning: ", "yellow"), f"still broken (it was before this edit): {finding}"), soft_wrap=True)
    if not edit.changed:
        copied = f"; wrote it unchanged to {written_to}" if written_to is not None else ""
        console.print(Text.assemble(("qwencfg: ", "cyan"), f"no change: the file already says this{copied}"), soft_wrap=True)
        return
    for change in edit.changes.all_changes:
        a, b = cells(change)
        console.print(Text(printable(f"  {change.path}: {a} -> {b}")), soft_wrap=True)
    if written_to is not None:
        count = len(edit.changes.all_changes)
        console.print(Text.assemble(("qwencfg: ", "green"), f"wrote {written_to} ({count} change{'s' if count != 1 else ''})"), soft_wrap=True)
