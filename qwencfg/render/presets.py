"""`qwencfg presets`: the bundled official configs, with our count beside the published total."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..catalog import PresetEntry
from . import Format, dump_json, md_escape, print_table

AGREES = {True: "yes", False: "NO", None: "-"}


def render_presets(entries: list[PresetEntry], fmt: Format, console: Console) -> None:
    if fmt is Format.json:
        console.print(dump_json([e.to_json() for e in entries]), markup=False, soft_wrap=True)
        return
    if fmt is Format.markdown:
        lines = ["| preset | family | layout | parameters (ours) | published | agrees | Hub repo |", "|---|---|---|---:|---:|---|---|"]
        lines += [
            f"| `{e.name}` | {e.family} | {e.layout} | {_ours(e)} | {_published(e)} | {AGREES[e.agrees]} | {md_escape(e.repo_id)} |"
            for e in entries
        ]
        console.print("\n".join(lines), markup=False, soft_wrap=True)
        return
    if not entries:
        console.print("no bundled preset of this family (`qwencfg presets` lists them all)")
        return
    table = Table(title=f"{len(entries)} bundled preset{'s' if len(entries) != 1 else ''} (qwencfg show NAME)", title_justify="left")
    columns = [("preset", "left"), ("family", "left"), ("layout", "left"), ("parameters (ours)", "right"), ("published", "right"), ("agrees", "left")]
    if console.width >= 150:
        columns.append(("Hub repo", "left"))
    numbers = {"parameters (ours)": max([len(_ours(e)) for e in entries] + [1]), "published": max([len(_published(e)) for e in entries] + [1])}
    for column, justify in columns:
        # numbers keep their full width; names fold onto more lines when the terminal is narrow
        table.add_column(column, justify=justify, no_wrap=column in numbers, min_width=numbers.get(column), overflow="fold")
    for e in entries:
        cells = [e.name, e.family, e.layout, _ours(e), _published(e), Text(AGREES[e.agrees], style={True: "green", False: "bold red", None: "dim"}[e.agrees])]
        table.add_row(*cells, *([e.repo_id] if len(columns) > 6 else []))
    print_table(console, table)


def _ours(entry: PresetEntry) -> str:
    if entry.checkpoint_params is not None and entry.checkpoint_params != entry.model_params:
        return f"{entry.checkpoint_params:,} (with MTP)"
    return f"{entry.model_params:,}" if entry.model_params is not None else "n/a"


def _published(entry: PresetEntry) -> str:
    return f"{entry.published_params:,}" if entry.published_params is not None else "-"
