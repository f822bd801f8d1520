"""`qwencfg diff`: changes per section, then their impact on the parameter counts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..compare import Change, ChangeKind, DiffResult, ValueOrigin
from ..count import GROUPS, CheckpointCount
from ..schema import SECTIONS
from . import Format, dump_json, format_count, format_value, md_escape, print_table, printable

MARKS = {ChangeKind.CHANGED: ("~", "yellow"), ChangeKind.ADDED: ("+", "green"), ChangeKind.REMOVED: ("-", "red")}
ORIGIN_NOTES = {ValueOrigin.FILE: "", ValueOrigin.DEFAULT: " (default)", ValueOrigin.INHERITED: " (from the top-level dtype)"}


def side(config) -> dict[str, Any]:
    return {"source": config.raw.origin.to_json(), "family": config.family.name, "layout": config.layout.value}


def cell(value: Any, origin: ValueOrigin, present: bool) -> str:
    if not present:
        return "(absent)"
    return format_value(value) + ORIGIN_NOTES[origin]


def cells(change: Change) -> tuple[str, str]:
    """The A and B cells of a change: the value and where it comes from, or (absent)."""
    return (
        cell(change.a, change.a_from, change.kind is not ChangeKind.ADDED),
        cell(change.b, change.b_from, change.kind is not ChangeKind.REMOVED),
    )


def impact(result: DiffResult) -> dict[str, Any] | None:
    count_a, count_b = result.parameters
    if count_a is None or count_b is None:
        return None
    delta = {"total": count_b.total - count_a.total} | {g: count_b.model.group(g) - count_a.model.group(g) for g in GROUPS}
    if count_a.mtp or count_b.mtp:
        delta["mtp"] = count_b.mtp - count_a.mtp
    return {"a": count_a.to_json(), "b": count_b.to_json(), "delta": delta}


def diff_json(result: DiffResult) -> dict[str, Any]:
    """The documented `diff --format json` object."""
    return {
        "a": side(result.a),
        "b": side(result.b),
        "mode": "raw" if result.raw else "semantic",
        "same": result.same,
        "changes": [c.to_json() for c in result.changes],
        "no_effect": [c.to_json() for c in result.without_effect],
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
    groups = [(s, [c for c in result.changes if c.section == s]) for s in SECTIONS if any(c.section == s for c in result.changes)]
    if result.without_effect:
        groups.append(("no effect on the loaded model", result.without_effect))
    return groups


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
        if any(c.no_effect for c in changes):
            table.add_column("why", overflow="fold", max_width=60)
        for c in changes:
            mark, style = MARKS[c.kind]
            a, b = cells(c)
            table.add_row(Text(mark, style=style), Text(printable(c.path), style=style), Text(printable(a)), Text(printable(b)), *([Text(c.no_effect, style="dim")] if c.no_effect else []))
        print_table(console, table)
    for which, keys in (("A", result.only_in_a_family), ("B", result.only_in_b_family)):
        if keys:
            family = (result.a if which == "A" else result.b).family.name
            console.print(Text(f"only {family} ({which}) has: {', '.join(keys)}", style="cyan"))
    counts = None if result.raw else impact(result)
    if counts and not result.same:
        print_table(console, _impact_table(result.parameters))


def _impact_rows(a: CheckpointCount, b: CheckpointCount) -> list[tuple[str, int, int]]:
    rows = [(group, a.model.group(group), b.model.group(group)) for group in GROUPS]
    if a.mtp or b.mtp:
        rows += [("total (transformers model)", a.model.total, b.model.total), ("mtp (checkpoint only)", a.mtp, b.mtp), ("checkpoint total", a.total, b.total)]
    else:
        rows.append(("total", a.total, b.total))
    return rows


def _impact_table(counts: tuple[CheckpointCount | None, CheckpointCount | None]) -> Table:
    a, b = counts
    rows = _impact_rows(a, b)
    table = Table(title="impact on parameters", title_justify="left")
    table.add_column("component", overflow="fold", min_width=8)
    for column, index in (("A", 1), ("B", 2)):
        table.add_column(column, justify="right", no_wrap=True, min_width=max(len(f"{r[index]:,}") for r in rows))
    table.add_column("delta", justify="right", no_wrap=True, min_width=max(len(f"{r[2] - r[1]:+,}") for r in rows))
    for label, na, nb in rows:
        delta = nb - na
        style = "" if delta == 0 else ("green" if delta > 0 else "red")
        table.add_row(label, f"{na:,}", f"{nb:,}", Text(f"{delta:+,}" if delta else "0", style=style))
    return table


def diff_markdown(result: DiffResult) -> str:
    lines = [f"**A:** {md_escape(_label(result.a))}  ", f"**B:** {md_escape(_label(result.b))}", ""]
    if result.same:
        lines.append("No differences.")
    else:
        lines += ["| | path | A | B |", "|---|---|---|---|"]
        for c in result.changes:
            a, b = (md_escape(x) for x in cells(c))
            lines.append(f"| {MARKS[c.kind][0]} | `{md_escape(c.path)}` | `{a}` | `{b}` |")
    if result.without_effect:
        lines += ["", "No effect on the loaded model:", "", "| | path | A | B | why |", "|---|---|---|---|---|"]
        for c in result.without_effect:
            a, b = (md_escape(x) for x in cells(c))
            lines.append(f"| {MARKS[c.kind][0]} | `{md_escape(c.path)}` | `{a}` | `{b}` | {md_escape(c.no_effect or '')} |")
    for which, keys in (("A", result.only_in_a_family), ("B", result.only_in_b_family)):
        if keys:
            family = (result.a if which == "A" else result.b).family.name
            lines += ["", f"Only {family} ({which}) has: {', '.join(f'`{k}`' for k in keys)}"]
    counts = None if result.raw else impact(result)
    if counts and not result.same:
        a, b = result.parameters
        lines += ["", "| parameters | A | B | delta |", "|---|---:|---:|---:|"]
        lines += [f"| {label} | {na:,} | {nb:,} | {nb - na:+,} |" for label, na, nb in _impact_rows(a, b)]
        lines += ["", f"Total: {format_count(a.total)} → {format_count(b.total)}"]
    return "\n".join(lines) + "\n"
