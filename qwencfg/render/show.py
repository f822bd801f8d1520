"""`qwencfg show`: one table per section, derived figures, parameter counts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..compare import ValueOrigin
from ..count import CheckpointCount
from ..derived import Figure
from ..summary import Overview, Row
from . import Format, dump_json, format_bytes, format_count, format_value, md_escape, plain, print_table, printable

SECTION_TITLES = {"vision": "vision", "text": "text", "model": "model (multimodal, top level)"}
ACTIVE_DEFINITION = "total - (experts - experts per token) x one expert's parameters x MoE layers"
# Below these console widths the meaning, then the default column is left out, so values stay whole.
MEANING_WIDTH, DEFAULT_WIDTH = 100, 60


def show_json(view: Overview) -> dict[str, Any]:
    """The documented `show --format json` object."""
    config = view.config
    return {
        "qwencfg_version": __version__,
        "source": config.raw.origin.to_json(),
        "family": config.family.name,
        "architecture": config.family.architecture,
        "layout": config.layout.value,
        "schema_transformers_version": _schema_version(),
        "sections": {
            section: {
                r.key: {"value": r.value, "default": r.default, "set_in_file": r.origin is ValueOrigin.FILE, "from": r.origin.value, "meaning": r.meaning}
                for r in rows
                if not r.unknown
            }
            for section, rows in view.rows.items()
        },
        "unknown_keys": {section: {r.key: r.value for r in rows if r.unknown} for section, rows in view.rows.items()},
        "derived": {
            section: {f.key: ({"value": f.value, "ok": f.ok} if f.ok is not None else f.value) for f in figures}
            for section, figures in view.figures.items()
        },
        "parameters": view.count.to_json() if view.count else None,
        "parameters_unavailable": view.count_unavailable,
        "warnings": [str(w) for w in config.warnings],
    }


def _schema_version() -> str:
    from ..schema import load_schema

    return load_schema().transformers_version


def header(view: Overview) -> str:
    config = view.config
    return f"{config.family.title} ({config.family.name}) · {config.layout.value} layout · {config.raw.origin.label}"


def render_show(view: Overview, fmt: Format, console: Console) -> None:
    if fmt is Format.json:
        console.print(dump_json(show_json(view)), markup=False, soft_wrap=True)
    elif fmt is Format.markdown:
        console.print(show_markdown(view), markup=False, soft_wrap=True)
    else:
        _show_tables(view, console)


def _meaning(row: Row) -> str:
    if row.file_says is not None:
        return f"{row.meaning} (the file says {format_value(row.file_says)}; transformers uses {format_value(row.value)})"
    if row.origin is ValueOrigin.INHERITED:
        return f"{row.meaning} (from the file's top-level dtype)"
    return row.meaning


def _show_tables(view: Overview, console: Console) -> None:
    config = view.config
    marks = plain(console)
    with_meaning, with_default = console.width >= MEANING_WIDTH, console.width >= DEFAULT_WIDTH
    console.print(Text(header(view), style="bold"))
    for section in view.sections:
        class_name = config.family.sections[section].class_name
        table = Table(title=f"{SECTION_TITLES[section]} · {class_name}", title_justify="left", expand=False)
        table.add_column("parameter", overflow="fold", min_width=12)
        table.add_column("value", overflow="fold", max_width=48, min_width=12)
        if with_default:
            table.add_column("default", overflow="fold", max_width=32)
        if with_meaning:
            table.add_column("meaning", overflow="fold", ratio=1)
        for row in view.rows[section]:
            value = Text(format_value(row.value, limit=400) + (" *" if marks and row.differs else ""))
            if row.unknown:
                value.stylize("magenta")
            elif row.differs:
                value.stylize("bold yellow")
            elif row.origin is not ValueOrigin.FILE:
                value.stylize("dim")
            cells: list[Any] = [printable(row.key), value]
            if with_default:
                cells.append(Text("" if row.unknown else format_value(row.default, limit=400), style="dim"))
            if with_meaning:
                cells.append(Text(_meaning(row), style="dim" if row.unknown else ""))
            table.add_row(*cells)
        print_table(console, table)
        if view.figures[section]:
            print_table(console, _figures_table(view.figures[section], with_meaning))
    if view.count is not None:
        print_table(console, count_table(view.count, console.width))
    elif view.count_unavailable:
        console.print(Text(f"parameters: {view.count_unavailable}", style="dim"))
    if marks:
        console.print(Text("*: differs from the transformers default · values left out of the file show the default"))
    else:
        console.print(Text("yellow: differs from the transformers default · dim: left to the default · magenta: unknown key", style="dim"))


def figure_value(figure: Figure) -> str:
    if figure.key.endswith("_bytes_per_token_bf16") and isinstance(figure.value, int):
        return format_bytes(figure.value)
    return str(figure.value)


def _figures_table(items: list[Figure], with_notes: bool) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1, 0, 2))
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(no_wrap=True)
    if with_notes:
        table.add_column(style="dim")
    for f in items:
        mark = "" if f.ok is None else (" ✓" if f.ok else " ✗")
        cells: list[Any] = [f.label, Text(figure_value(f) + mark, style="red" if f.ok is False else "")]
        if with_notes:
            cells.append(f.note)
        table.add_row(*cells)
    return table


def count_table(count: CheckpointCount, width: int, title: str = "parameters (counted from the config)") -> Table:
    model = count.model
    table = Table(title=title, title_justify="left")
    rows: list[tuple[str, str, str]] = []
    for comp, n in model.components.items():
        note = " (tied to text.embed_tokens, counted once)" if comp == "lm_head" and model.tied else ""
        rows.append((comp + note, f"{n:,}", f"{100 * n / model.total:.1f}%" if model.total else ""))
    rows.append(("total" + (" (transformers model)" if count.mtp else ""), format_count(model.total), ""))
    if count.mtp:
        rows.append((f"mtp ({count.mtp_layers} layer{'s' if count.mtp_layers != 1 else ''}, not built by transformers)", f"{count.mtp:,}", ""))
        rows.append(("checkpoint total (model + MTP)", format_count(count.total), ""))
    if model.active is not None:
        rows.append(("active per token (MoE)", format_count(model.active), ""))
    numbers = max(len(r[1]) for r in rows)
    with_share = width >= numbers + 40
    table.add_column("component", overflow="fold", min_width=12)  # names fold on a narrow terminal; numbers never do
    table.add_column("parameters", justify="right", no_wrap=True, min_width=numbers)
    if with_share:
        table.add_column("share", justify="right", no_wrap=True)
    for label, n, share in rows:
        bold = label.startswith(("total", "checkpoint total"))
        table.add_row(Text(label, style="bold" if bold else ""), Text(n, style="bold" if bold else ""), *([share] if with_share else []))
    if model.active is not None:
        table.caption = f"active per token = {ACTIVE_DEFINITION}"
    return table


def show_markdown(view: Overview) -> str:
    config = view.config
    lines = [f"**{md_escape(header(view))}**", ""]
    for section in view.sections:
        lines += [f"### {SECTION_TITLES[section]} · `{config.family.sections[section].class_name}`", ""]
        lines += ["| parameter | value | default | meaning |", "|---|---|---|---|"]
        for row in view.rows[section]:
            value = f"`{md_escape(format_value(row.value, limit=400))}`"
            if row.differs:
                value = f"**{value}**"
            default = "" if row.unknown else f"`{md_escape(format_value(row.default, limit=400))}`"
            lines.append(f"| `{md_escape(row.key)}` | {value} | {default} | {md_escape(_meaning(row))} |")
        lines.append("")
        for f in view.figures[section]:
            mark = "" if f.ok is None else (" ✓" if f.ok else " ✗")
            note = f" ({md_escape(f.note)})" if f.note else ""
            lines.append(f"- {f.label}: **{figure_value(f)}**{mark}{note}")
        if view.figures[section]:
            lines.append("")
    count = view.count
    if count is not None:
        lines += ["### parameters", "", "| component | parameters |", "|---|---:|"]
        lines += [f"| {comp} | {n:,} |" for comp, n in count.model.components.items()]
        lines.append(f"| **total{' (transformers model)' if count.mtp else ''}** | **{count.model.total:,}** |")
        if count.mtp:
            lines.append(f"| mtp ({count.mtp_layers} layers, not built by transformers) | {count.mtp:,} |")
            lines.append(f"| **checkpoint total** | **{count.total:,}** |")
        if count.model.active is not None:
            lines.append(f"| active per token ({ACTIVE_DEFINITION}) | {count.model.active:,} |")
    elif view.count_unavailable:
        lines.append(f"parameters: {view.count_unavailable}")
    return "\n".join(lines).rstrip() + "\n"
