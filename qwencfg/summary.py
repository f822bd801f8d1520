"""What `show` reports about one config, built once: rows per section, derived figures, counts.

Renderers only format an `Overview`; everything here is computed a single time per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .canonical import Config, extra_meaning, likely_typo_of
from .compare import ValueOrigin, value_origin
from .count import CheckpointCount, try_count_checkpoint
from .derived import Figure, figures


@dataclass(frozen=True)
class Row:
    key: str
    value: Any
    default: Any
    meaning: str
    origin: ValueOrigin  # set in the file, left to the default, or inherited from the top level
    unknown: bool  # no config class declares it (transformers ignores it)
    file_says: Any = None  # what the file writes, where transformers reads something else

    @property
    def differs(self) -> bool:
        """The value is not the transformers default (what yellow, or * in plain text, marks)."""
        return not self.unknown and self.value != self.default


@dataclass(frozen=True)
class Overview:
    config: Config
    sections: list[str]
    rows: dict[str, list[Row]]
    figures: dict[str, list[Figure]]
    count: CheckpointCount | None
    count_unavailable: str | None

    @property
    def changed_only(self) -> "Overview":
        """The same overview with only the rows whose value differs from the default."""
        rows = {s: [r for r in rows if r.differs or r.unknown] for s, rows in self.rows.items()}
        return Overview(self.config, self.sections, rows, self.figures, self.count, self.count_unavailable)


def overview(config: Config, sections: list[str]) -> Overview:
    count, why = try_count_checkpoint(config)
    derived = figures(config)
    return Overview(config, sections, {s: _rows(config, s) for s in sections}, {s: derived[s] for s in sections}, count, why)


def _rows(config: Config, section: str) -> list[Row]:
    out = []
    for key in config.shown_keys(section):
        field = config.field(section, key)
        value = config.values[section][key]
        if field is None:
            typo = likely_typo_of(config, section, key)
            meaning = extra_meaning(section, key) or "not a field: ignored by transformers" + (f" (did you mean {typo}?)" if typo else "")
            out.append(Row(key, value, None, meaning, ValueOrigin.FILE, unknown=True))
            continue
        origin = value_origin(config, section, key)
        written = config.file_value(section, key) if origin is ValueOrigin.FILE else None
        says = written if written is not None and not isinstance(written, (dict, list)) and written != value else None
        out.append(Row(key, value, config.default_of(section, key), field.doc, origin, unknown=False, file_says=says))
    return out
