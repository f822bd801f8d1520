"""`qwencfg presets`: the bundled official configs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from ..canonical import read_config
from ..count import try_count_parameters
from ..presets import load_preset, preset_index
from . import Format, dump_json, format_count, md_escape


@dataclass(frozen=True)
class PresetRow:
    name: str
    family: str
    params: int | None
    repo_id: str
    published_params: int | None
    copied_from: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "parameters": self.params,
            "repo_id": self.repo_id,
            "published_parameters": self.published_params,
            "copied_from": self.copied_from,
        }


def preset_rows(family: str | None = None) -> list[PresetRow]:
    rows = []
    for name, info in preset_index().items():
        config = read_config(load_preset(name))
        if family and config.family.name != family:
            continue
        count, _ = try_count_parameters(config)
        params = count.total if count else None
        rows.append(PresetRow(name, config.family.name, params, info.repo_id, info.published_params, info.copied_from))
    return sorted(rows, key=lambda r: (r.family, r.params or 0, r.name))


def render_presets(rows: list[PresetRow], fmt: Format, console: Console) -> None:
    if fmt is Format.json:
        console.print(dump_json([r.to_json() for r in rows]), markup=False, soft_wrap=True)
        return
    if fmt is Format.markdown:
        lines = ["| preset | family | parameters | Hub repo |", "|---|---|---:|---|"]
        lines += [f"| `{r.name}` | {r.family} | {format_count(r.params)} | {md_escape(r.repo_id)} |" for r in rows]
        console.print("\n".join(lines), markup=False, soft_wrap=True)
        return
    table = Table(title=f"{len(rows)} bundled presets (qwencfg show NAME)", title_justify="left")
    for column, justify in (("preset", "left"), ("family", "left"), ("parameters", "right"), ("Hub repo", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    for r in rows:
        table.add_row(r.name, r.family, format_count(r.params), r.repo_id)
    console.print(table)
