"""`qwencfg show`: one table per section, derived figures, parameter counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..canonical import KNOWN_EXTRA_MEANINGS, Config, likely_typo_of
from ..count import ParameterCount, try_count_parameters
from ..derived import Figure, figures
from . import Format, dump_json, format_bytes, format_count, format_value, md_escape

SECTION_TITLES = {"vision": "vision", "text": "text", "model": "model (multimodal, top level)"}


@dataclass(frozen=True)
class Row:
    key: str
    value: Any
    default: Any
    meaning: str
    set_in_file: bool
    unknown: bool

    @property
    def differs(self) -> bool:
        return not self.unknown and self.value != self.default


def rows(config: Config, section: str) -> list[Row]:
    out = []
    for key in config.shown_keys(section):
        field = config.field(section, key)
        if field is None:
            typo = likely_typo_of(config, section, key)
            meaning = KNOWN_EXTRA_MEANINGS.get(key) or "not a field: ignored by transformers" + (f" (did you mean {typo}?)" if typo else "")
            out.append(Row(key, config.values[section][key], None, meaning, True, True))
        else:
            value, meaning = config.values[section][key], field.doc
            written = config.file_value(section, key)
            if key in config.present[section] and not isinstance(written, (dict, list)) and written is not None and written != value:
                meaning += f" (the file says {format_value(written)}; transformers uses {format_value(value)})"
            out.append(Row(key, value, config.default_of(section, key), meaning, key in config.present[section], False))
    return out


def show_json(config: Config, sections: list[str]) -> dict[str, Any]:
    """The documented `show --format json` object."""
    count, why = try_count_parameters(config)
    derived = figures(config)
    return {
        "qwencfg_version": __version__,
        "source": config.raw.origin.to_json(),
        "family": config.family.name,
        "architecture": config.family.architecture,
        "layout": config.layout.value,
        "schema_transformers_version": _schema_version(),
        "sections": {
            section: {
                r.key: {"value": r.value, "default": r.default, "set_in_file": r.set_in_file, "meaning": r.meaning}
                for r in rows(config, section)
                if not r.unknown
            }
            for section in sections
        },
        "unknown_keys": {section: {k: config.values[section][k] for k in sorted(config.extras[section])} for section in sections},
        "derived": {
            section: {f.key: ({"value": f.value, "ok": f.ok} if f.ok is not None else f.value) for f in derived[section]}
            for section in sections
        },
        "parameters": count.to_json() if count else None,
        "parameters_unavailable": why,
        "warnings": config.warnings,
    }


def _schema_version() -> str:
    from ..schema import load_schema

    return load_schema().transformers_version


def header(config: Config) -> str:
    return f"{config.family.title} ({config.family.name}) · {config.layout.value} layout · {config.raw.origin.label}"


def render_show(config: Config, sections: list[str], fmt: Format, console: Console) -> None:
    if fmt is Format.json:
        console.print(dump_json(show_json(config, sections)), markup=False, soft_wrap=True)
    elif fmt is Format.markdown:
        console.print(show_markdown(config, sections), markup=False, soft_wrap=True)
    else:
        _show_tables(config, sections, console)


def _show_tables(config: Config, sections: list[str], console: Console) -> None:
    console.print(Text(header(config), style="bold"))
    derived = figures(config)
    for section in sections:
        class_name = config.family.sections[section].class_name
        table = Table(title=f"{SECTION_TITLES[section]} · {class_name}", title_justify="left", expand=False)
        table.add_column("parameter", no_wrap=True)
        table.add_column("value", overflow="fold", max_width=48)
        table.add_column("default", overflow="fold", max_width=32)
        table.add_column("meaning", overflow="fold", ratio=1)
        for row in rows(config, section):
            value = Text(format_value(row.value, limit=400))
            if row.unknown:
                value.stylize("magenta")
            elif row.differs:
                value.stylize("bold yellow")
            elif not row.set_in_file:
                value.stylize("dim")
            default = "" if row.unknown else format_value(row.default)
            table.add_row(row.key, value, Text(default, style="dim"), Text(row.meaning, style="dim" if row.unknown else ""))
        console.print(table)
        if derived[section]:
            console.print(_figures_table(derived[section]))
    count, why = try_count_parameters(config)
    if count is not None:
        console.print(_count_table(count))
    elif why:
        console.print(Text(f"parameters: {why}", style="dim"))
    console.print(Text("yellow: differs from the transformers default · dim: left to the default · magenta: unknown key", style="dim"))


def figure_value(figure: Figure) -> str:
    if figure.key.endswith("_bytes_per_token_bf16") and isinstance(figure.value, int):
        return format_bytes(figure.value)
    return str(figure.value)


def _figures_table(items: list[Figure]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1, 0, 2))
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(style="dim")
    for f in items:
        mark = "" if f.ok is None else (" ✓" if f.ok else " ✗")
        table.add_row(f.label, Text(figure_value(f) + mark, style="red" if f.ok is False else ""), f.note)
    return table


def _count_table(count: ParameterCount) -> Table:
    table = Table(title="parameters (counted from the config)", title_justify="left")
    table.add_column("component")
    table.add_column("parameters", justify="right")
    table.add_column("share", justify="right")
    for comp, n in count.components.items():
        note = " (tied to text.embed_tokens, counted once)" if comp == "lm_head" and count.tied else ""
        table.add_row(comp + note, f"{n:,}", f"{100 * n / count.total:.1f}%" if count.total else "")
    table.add_row(Text("total", style="bold"), Text(format_count(count.total), style="bold"), "")
    if count.active is not None:
        table.add_row("active per token (MoE)", format_count(count.active), "")
    return table


def show_markdown(config: Config, sections: list[str]) -> str:
    lines = [f"**{md_escape(header(config))}**", ""]
    derived = figures(config)
    for section in sections:
        lines += [f"### {SECTION_TITLES[section]} · `{config.family.sections[section].class_name}`", ""]
        lines += ["| parameter | value | default | meaning |", "|---|---|---|---|"]
        for row in rows(config, section):
            value = f"`{md_escape(format_value(row.value, limit=400))}`"
            if row.differs:
                value = f"**{value}**"
            default = "" if row.unknown else f"`{md_escape(format_value(row.default))}`"
            lines.append(f"| `{row.key}` | {value} | {default} | {md_escape(row.meaning)} |")
        lines.append("")
        for f in derived[section]:
            mark = "" if f.ok is None else (" ✓" if f.ok else " ✗")
            note = f" ({md_escape(f.note)})" if f.note else ""
            lines.append(f"- {f.label}: **{figure_value(f)}**{mark}{note}")
        if derived[section]:
            lines.append("")
    count, why = try_count_parameters(config)
    if count is not None:
        lines += ["### parameters", "", "| component | parameters |", "|---|---:|"]
        lines += [f"| {comp} | {n:,} |" for comp, n in count.components.items()]
        lines.append(f"| **total** | **{count.total:,}** |")
        if count.active is not None:
            lines.append(f"| active per token | {count.active:,} |")
    elif why:
        lines.append(f"parameters: {why}")
    return "\n".join(lines).rstrip() + "\n"

