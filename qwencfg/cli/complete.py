"""Shell completion: preset names and sources, section-qualified override keys, and the scripts.

The scripts in completions/ are click's shims; they call back into qwencfg (_QWENCFG_COMPLETE),
which answers with the functions below. `python -m qwencfg.cli.complete` rewrites them; a test
checks they are current.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from ..schema import SECTIONS

SHELLS = {"bash": "qwencfg.bash", "zsh": "_qwencfg", "fish": "qwencfg.fish"}


def complete_source(incomplete: str) -> list[str]:
    """Preset names, defaults:FAMILY and local paths that start with what was typed."""
    from ..schema import load_schema
    from ..sources.presets import preset_index

    candidates = list(preset_index()) + [f"{kind}:{name}" for kind in ("defaults", "tiny") for name in load_schema().families]
    candidates += [f"preset:{name}" for name in preset_index()] if incomplete.startswith("preset:") else []
    paths = [p + ("/" if os.path.isdir(p) else "") for p in glob.glob(os.path.expanduser(incomplete) + "*")]
    return sorted(c for c in candidates if c.startswith(incomplete)) + sorted(paths)


def complete_device(incomplete: str) -> list[str]:
    return [d for d in ("cpu", "cuda", "cuda:0", "auto", "meta") if d.startswith(incomplete)]


def override_keys() -> list[str]:
    """Every section-qualified key any family has, e.g. vision.depth, text.rope_parameters."""
    from ..schema import load_schema

    keys = set()
    for family in load_schema().families.values():
        for section in SECTIONS:
            keys |= {f"{section}.{name}" for name, f in family.sections[section].fields.items() if not f.base}
    keys |= {"text.rope_scaling", "text.rope_theta", "model.dtype"}
    return sorted(keys)


class OverrideCommand(click.Command):
    """`qwencfg set`: completes --section.key overrides beside the declared options."""

    def shell_complete(self, ctx, incomplete):
        items = super().shell_complete(ctx, incomplete)
        if ctx.args and ctx.args[-1] in ("--unset", "-u"):
            items = [CompletionItem(key) for key in override_keys() if key.startswith(incomplete)]
        elif incomplete.startswith("--"):
            items += [CompletionItem(f"--{key}") for key in override_keys() if f"--{key}".startswith(incomplete)]
        elif incomplete and incomplete.split(".")[0] in SECTIONS:
            items += [CompletionItem(f"{key}=") for key in override_keys() if key.startswith(incomplete)]
        else:
            items += [CompletionItem(c) for c in complete_source(incomplete)]
        return items


def completion_scripts() -> dict[str, str]:
    """The text of each shell's completion script, as click generates it."""
    from click.shell_completion import get_completion_class

    # A script only names the program and its variable; the answers come from the real commands.
    return {
        filename: get_completion_class(shell)(click.Group(), {}, "qwencfg", "_QWENCFG_COMPLETE").source()
        for shell, filename in SHELLS.items()
    }


def write_completion_scripts(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for filename, text in completion_scripts().items():
        (folder / filename).write_text(text)


if __name__ == "__main__":  # python -m qwencfg.cli.complete
    write_completion_scripts(Path(__file__).resolve().parents[2] / "completions")
