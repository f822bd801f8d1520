"""`qwencfg estimate`: memory tables, and a bar of where the bytes go."""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..memory import WEIGHT_DTYPES, Estimate, to_json
from ..units import DTYPES
from . import Format, dump_json, format_bytes, format_count, md_escape, plain, print_table

DTYPE_LABELS = {"fp32": "float32", "bf16": "bfloat16 / float16", "fp8": "float8 / int8", "int4": "int4"}
BAR_COLOURS = {"vision": "magenta", "text layers": "cyan", "embeddings": "green", "lm_head": "yellow", "mtp": "blue"}
BAR_WIDTH = 60
SHADES = "█▓░▒#"  # one per group when there is no colour to tell them apart


def render_estimate(result: Estimate, fmt: Format, console: Console) -> None:
    if fmt is Format.json:
        console.print(dump_json(to_json(result)), markup=False, soft_wrap=True)
    elif fmt is Format.markdown:
        console.print(estimate_markdown(result), markup=False, soft_wrap=True)
    else:
        _tables(result, console)


def _bytes(n: int) -> str:
    return f"{format_bytes(n)} ({n:,} B)"


def _rows(result: Estimate) -> list[tuple[str, str, str]]:
    """(what, figure, note) rows shared by the table and the markdown."""
    count, rows = result.count, []
    for d in WEIGHT_DTYPES:
        note = f"+ {format_bytes(result.checkpoint_weights[d] - result.weights[d])} of MTP layers in the checkpoint" if count.mtp else ""
        rows.append((f"weights, {DTYPE_LABELS[d]}", _bytes(result.weights[d]), note))
    if result.quantized:
        q = result.quantized
        rows.append((f"weights as stored ({q.scheme})", _bytes(q.total), f"{q.kept_params:,} parameters kept in {q.kept_dtype}"))
    largest = result.largest
    rows.append(("largest no-split layer, bfloat16", _bytes(DTYPES["bf16"].bytes_for(largest.parameters)), f"{_names(largest.names)}: {largest.parameters:,} parameters"))
    for mode, label in (("fp32", "training with Adam, fp32"), ("mixed", "training with Adam, bf16/fp16 mixed")):
        t = result.training[mode]
        rows.append((label, _bytes(t["peak"]), f"peak; gradients {format_bytes(t['gradients'])}, optimizer {format_bytes(t['optimizer'])}"))
    if result.kv:
        kv = result.kv
        note = f"{kv.attention_layers} attention layer{'s' if kv.attention_layers != 1 else ''}"
        if kv.linear_layers:
            note += f"; {kv.linear_layers} linear-attention layers keep {format_bytes(kv.linear_state_bytes)} of fixed-size state"
        rows.append((f"KV cache, {kv.tokens:,} tokens x {kv.batch} ({kv.dtype})", _bytes(kv.total), note))
    if result.vision:
        v = result.vision
        rows.append((f"vision tokens, {v.width}x{v.height} image", f"{v.tokens:,}", f"resized to {v.resized[0]}x{v.resized[1]} (pixels {v.min_pixels:,}..{v.max_pixels:,})"))
    for share in result.tp:
        note = "; ".join(share.problems) if share.problems else f"{format_bytes(share.replicated_bytes)} replicated on every rank"
        rows.append((f"tp={share.size}, per rank ({result.tp_dtype})", _bytes(share.bytes_per_rank) if share.ok else "does not shard", note))
    return rows


def _names(names: list[str]) -> str:
    """'model.language_model.layers.0–47 (each)' for a run of same-size layers; else the names."""
    numbered = [re.fullmatch(r"(.*\.)(\d+)", n) for n in names]
    if len(names) > 2 and all(numbered) and len({m.group(1) for m in numbered}) == 1:
        indexes = sorted(int(m.group(2)) for m in numbered)
        return f"{numbered[0].group(1)}{indexes[0]}–{indexes[-1]} (each)" if indexes == list(range(indexes[0], indexes[-1] + 1)) else f"{len(names)} of {numbered[0].group(1)}* (each)"
    return " and ".join(names)


def _tables(result: Estimate, console: Console) -> None:
    config, count = result.config, result.count
    title = f"{config.family.title} · {config.raw.origin.label} · {format_count(count.model.total)} parameters"
    if count.mtp:
        title += f" (checkpoint {format_count(count.total)} with MTP)"
    table = Table(title=title, title_justify="left")
    table.add_column("memory for", overflow="fold", min_width=12)
    rows = _rows(result)
    table.add_column("bytes", justify="right", no_wrap=True, min_width=max(len(r[1]) for r in rows))
    if console.width >= 100:
        table.add_column("note", style="dim")
    for what, figure, note in rows:
        table.add_row(what, figure, *([note] if console.width >= 100 else []))
    print_table(console, table)
    console.print(_bar(result, plain(console)))


def _bar(result: Estimate, without_colour: bool) -> Text:
    """Where the parameters are, as one bar with a legend: colours on a terminal, shades without."""
    total = sum(result.groups.values())
    bar = Text("where the bytes go: ")
    for index, (group, n) in enumerate(result.groups.items()):
        cells = round(BAR_WIDTH * n / total) if total else 0
        bar.append((SHADES[index % len(SHADES)] if without_colour else "█") * cells, style=BAR_COLOURS.get(group, ""))
    bar.append("\n")
    for index, (group, n) in enumerate(result.groups.items()):
        bar.append(f"{SHADES[index % len(SHADES)] if without_colour else '■'} ", style=BAR_COLOURS.get(group, ""))
        bar.append(f"{group} {100 * n / total:.1f}%   " if total else f"{group}   ")
    return bar


def estimate_markdown(result: Estimate) -> str:
    lines = [f"**{md_escape(result.config.raw.origin.label)}** · {format_count(result.count.model.total)} parameters", "", "| memory for | bytes | note |", "|---|---:|---|"]
    lines += [f"| {md_escape(a)} | {b} | {md_escape(c)} |" for a, b, c in _rows(result)]
    total = sum(result.groups.values()) or 1
    lines += ["", "Where the bytes go: " + ", ".join(f"{g} {100 * n / total:.1f}%" for g, n in result.groups.items())]
    return "\n".join(lines) + "\n"
