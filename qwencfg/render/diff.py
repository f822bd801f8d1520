"""`qwencfg diff`: changes per section, then their impact on the parameter counts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..count import GROUPS, ParameterCount
from ..compare import ADDED, CHANGED, REMOVED, Change, DiffResult
from ..schema import SECTIONS
from . import Format, dump_json, format_count, format_value, md_escape

MARKS = {CHANGED: ("~", "yellow"), ADDED: ("+", "green"), REMOVED: ("-", "red")}


def side(config) -> dict[str, Any]:
    return {"source": config.raw.origin.to_json(), "family": config.family.name, "layout": config.layout.value}


def cell(value: Any, is_default: bool, present: bool) -> str:
    if not present:
        return "(absent)"
    return format_value(value) + (" (default)" if is_default else "")


def _present(change: Change, which: str) -> bool:
    return not (change.change == ADDED and which == "a") and not (change.change == REMOVED and which == "b")


def impact(result: DiffResult) -> dict[str, Any] | None:
    count_a, count_b = result.parameters
    if count_a is None or count_b is None:
        return None
    delta = {"total": count_b.total - count_a.total} | {g: count_b.group(g) - count_a.group(g) for g in GROUPS}
    return {"a": count_a.to_json(), "b": count_b.to_json(), "delta": delta}


def diff_json(result: DiffResult) -> dict[str, Any]:
    """The documented `diff --format json` object."""
    return {
        "a": side(result.a),
        "b": side(result.b),
        "mode": "raw" if result.raw else "semantic",
        "same": result.same,
        "changes": [c.to_json() for c in result.changes],
        "only_in_a_family": result.only_in_a_family,
        "only_in_b_family": result.only_in_b_family,
        "parameters": None if result.raw else impact(result),
    }


def render_diff(result: DiffResult, fmt: Format, console: Console) -> None:
    if fmt is Format.json:
        console.print(dump_json(diff_json(result)), markup=False, soft_wrap=True)
    elif fmt is Format.markdown:
        console.print(diff_markdown(result), markup=False, soft_wrap=True)
    else:
        _diff_tables(result, console)


def _label(config) -> str:
    return f"{config.raw.origin.label} ({config.family.name}, {config.layout.value})"


def _groups(result: DiffResult) -> list[tuple[str, list[Change]]]:
    if result.raw:
        return [("file keys", result.changes)] if result.changes else []
    return [(s, [c for c in result.changes if c.section == s]) for s in SECTIONS if any(c.section == s for c in result.changes)]


def _diff_tables(result: DiffResult, console: Console) -> None:
    console.print(Text(f"A: {_label(result.a)}", style="bold"))
    console.print(Text(f"B: {_label(result.b)}", style="bold"))
    if result.same:
        console.print(Text("no differences" + (" in the files' keys" if result.raw else " in meaning"), style="green"))
    for title, changes in _groups(result):
        table = Table(title=title, title_justify="left")
        table.add_column("", no_wrap=True)
        table.add_column("path", no_wrap=True)
        table.add_column("A", overflow="fold", max_width=50)
        table.add_column("B", overflow="fold", max_width=50)
        for c in changes:
            mark, style = MARKS[c.change]
            table.add_row(
                Text(mark, style=style),
                Text(c.path, style=style),
                cell(c.a, c.a_is_default, _present(c, "a")),
                cell(c.b, c.b_is_default, _present(c, "b")),
            )
        console.print(table)
    for which, keys in (("A", result.only_in_a_family), ("B", result.only_in_b_family)):
        if keys:
            family = (result.a if which == "A" else result.b).family.name
            console.print(Text(f"only {family} ({which}) has: {', '.join(keys)}", style="cyan"))
    counts = None if result.raw else impact(result)
    if counts and not result.same:
        console.print(_impact_table(result.parameters))


def _impact_table(counts: tuple[ParameterCount | None, ParameterCount | None]) -> Table:
    a, b = counts
    table = Table(title="impact on parameters", title_justify="left")
    for column in ("component", "A", "B", "delta"):
        table.add_column(column, justify="left" if column == "component" else "right")
    for group in (*GROUPS, "total"):
        na, nb = (a.total, b.total) if group == "total" else (a.group(group), b.group(group))
        delta = nb - na
        style = "" if delta == 0 else ("green" if delta > 0 else "red")
        table.add_row(group, f"{na:,}", f"{nb:,}", Text(f"{delta:+,}" if delta else "0", style=style))
    return table


def diff_markdown(result: DiffResult) -> str:
    lines = [f"**A:** {md_escape(_label(result.a))}  ", f"**B:** {md_escape(_label(result.b))}", ""]
    if result.same:
        lines.append("No differences.")
    else:
        lines += ["| | path | A | B |", "|---|---|---|---|"]
        for c in result.changes:
            mark = MARKS[c.change][0]
            a = md_escape(cell(c.a, c.a_is_default, _present(c, "a")))
            b = md_escape(cell(c.b, c.b_is_default, _present(c, "b")))
            lines.append(f"| {mark} | `{c.path}` | `{a}` | `{b}` |")
    for which, keys in (("A", result.only_in_a_family), ("B", result.only_in_b_family)):
        if keys:
            family = (result.a if which == "A" else result.b).family.name
            lines += ["", f"Only {family} ({which}) has: {', '.join(f'`{k}`' for k in keys)}"]
    counts = None if result.raw else impact(result)
    if counts and not result.same:
        a, b = result.parameters
        lines += ["", "| parameters | A | B | delta |", "|---|---:|---:|---:|"]
        for group in (*GROUPS, "total"):
            na, nb = (a.total, b.total) if group == "total" else (a.group(group), b.group(group))
            lines.append(f"| {group} | {na:,} | {nb:,} | {nb - na:+,} |")
        lines += ["", f"Total: {format_count(a.total)} → {format_count(b.total)}"]
    return "\n".join(lines) + "\n"
