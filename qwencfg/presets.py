"""Bundled configs of the official checkpoints, kept byte for byte as published.

`data/presets/index.json` records, for each preset, the Hub repo it belongs to, where the copy was
taken from, and the parameter count the publisher states (with where it is stated).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import SourceNotFound
from .sources import Origin, RawConfig, parse_text

PRESET_DIR = Path(__file__).parent / "data" / "presets"


@dataclass(frozen=True)
class PresetInfo:
    name: str
    repo_id: str
    copied_from: str
    published_params: int | None
    published_params_source: str | None

    @property
    def path(self) -> Path:
        return PRESET_DIR / f"{self.name}.json"


@lru_cache(maxsize=1)
def preset_index() -> dict[str, PresetInfo]:
    entries = json.loads((PRESET_DIR / "index.json").read_text())
    return {name: PresetInfo(name=name, **entry) for name, entry in entries.items()}


def is_preset(name: str) -> bool:
    return name.lower() in preset_index()


def close_matches(name: str) -> list[str]:
    return difflib.get_close_matches(name.lower(), list(preset_index()), n=3, cutoff=0.6)


def load_preset(name: str) -> RawConfig:
    info = preset_index().get(name.lower())
    if info is None:
        close = close_matches(name)
        hint = f"did you mean {', '.join(close)}?" if close else "`qwencfg presets` lists them"
        raise SourceNotFound(f"no preset named {name!r}", hint=hint)
    return parse_text(
        info.path.read_text(encoding="utf-8"),
        Origin(kind="preset", label=f"preset {info.name} ({info.repo_id})", path=None, repo_id=info.repo_id),
    )
