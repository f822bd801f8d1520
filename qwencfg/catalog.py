"""The bundled presets as `qwencfg presets` lists them: family, layout, our count, the published total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .canonical import read_config
from .count import try_count_checkpoint
from .sources.presets import load_preset, preset_index


@dataclass(frozen=True)
class PresetEntry:
    name: str
    family: str
    layout: str
    repo_id: str
    model_params: int | None  # what transformers builds, counted from the config
    checkpoint_params: int | None  # what the weight files hold (the model plus MTP layers)
    published_params: int | None  # the total published for the checkpoint
    published_params_source: str | None
    copied_from: str

    @property
    def agrees(self) -> bool | None:
        """Whether our checkpoint count equals the published total (None when none is published)."""
        if self.published_params is None or self.checkpoint_params is None:
            return None
        return self.checkpoint_params == self.published_params

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "layout": self.layout,
            "repo_id": self.repo_id,
            "parameters": self.model_params,
            "checkpoint_parameters": self.checkpoint_params,
            "published_parameters": self.published_params,
            "published_parameters_source": self.published_params_source,
            "agrees": self.agrees,
            "copied_from": self.copied_from,
        }


def list_presets(family: str | None = None) -> list[PresetEntry]:
    """Every bundled preset (of one family), counted, sorted by family and size."""
    entries = []
    for name, info in preset_index().items():
        config = read_config(load_preset(name))
        if family and config.family.name != family:
            continue
        count, _ = try_count_checkpoint(config)
        entries.append(PresetEntry(
            name=name,
            family=config.family.name,
            layout=config.layout.value,
            repo_id=info.repo_id,
            model_params=count.model.total if count else None,
            checkpoint_params=count.total if count else None,
            published_params=info.published_params,
            published_params_source=info.published_params_source,
            copied_from=info.copied_from,
        ))
    return sorted(entries, key=lambda e: (e.family, e.model_params or 0, e.name))
