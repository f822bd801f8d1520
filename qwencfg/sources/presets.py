"""Bundled configs of the official checkpoints, kept byte for byte as published.

`data/presets/index.json` records, for each preset, the Hub repo it belongs to, the kind of public
page its text was read from, and the parameter total published for the checkpoint.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import SourceNotFound
from .raw import Origin, RawConfig, parse_bytes

PRESET_DIR = Path(__file__).resolve().parent.parent / "data" / "presets"


@dataclass(frozen=True)
class PresetInfo:
    name: str
    repo_id: str
    copied_from: str  # where the text was read, for people: the kind of public page and its address
    published_params: int | None  # the checkpoint's published parameter total (its weight files)
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


def preset_for_repo(repo_id: str) -> PresetInfo | None:
    """The bundled preset of a Hub repo, if there is one (repo ids are case-insensitive on the Hub)."""
    return next((info for info in preset_index().values() if info.repo_id.lower() == repo_id.lower()), None)


def load_preset(name: str) -> RawConfig:
    info = preset_index().get(name.lower())
    if info is None:
        close = close_matches(name)
        hint = f"did you mean {', '.join(close)}?" if close else "`qwencfg presets` lists them"
        raise SourceNotFound(f"no preset named {name!r}", hint=hint)
    return parse_bytes(info.path.read_bytes(), Origin(kind="preset", label=f"preset {info.name} ({info.repo_id})", repo_id=info.repo_id))
