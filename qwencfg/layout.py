"""The shapes a config file comes in, and where each section's keys live in one.

- flat:    text keys at the top level beside `vision_config` (the original Hub files);
- nested:  a `text_config` sub-dict and no text keys at the top level;
- hybrid:  both (files saved by transformers 4.5x); transformers reads `text_config`;
- transformers-5: nested, with `rope_parameters` instead of `rope_scaling` and `dtype`.

A `Placement` answers "which dict of this file holds section S" both for reading and for writing
an edit back in the file's own shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .schema import Family

# Top-level keys transformers reads for every config, whatever the family.
TOP_ONLY = {"model_type", "text_config", "vision_config"}
ROPE_KEYS = ("rope_parameters", "rope_scaling")


class Layout(str, Enum):
    FLAT = "flat"
    NESTED = "nested"
    HYBRID = "hybrid"
    V5 = "transformers-5"

    @property
    def description(self) -> str:
        return {
            Layout.FLAT: "flat: text keys at the top level",
            Layout.NESTED: "nested: text keys in text_config",
            Layout.HYBRID: "hybrid: text keys both at the top level and in text_config",
            Layout.V5: "transformers 5: text_config with rope_parameters",
        }[self]


@dataclass(frozen=True)
class Placement:
    """Where the vision, text and model keys of one file live."""

    family: Family
    layout: Layout
    # Top-level keys that are text keys in this file (flat and hybrid files).
    flat_text_keys: frozenset[str]

    @property
    def text_is_nested(self) -> bool:
        return self.layout is not Layout.FLAT

    def text_paths(self) -> list[tuple[str, ...]]:
        """Dicts that hold text keys, the one transformers reads first."""
        if self.layout is Layout.FLAT:
            return [()]
        if self.layout is Layout.HYBRID:
            return [("text_config",), ()]
        return [("text_config",)]

    def raw_section(self, data: dict, section: str) -> dict[str, Any]:
        """The keys of `section` as written in the file (before defaults and normalization)."""
        if section == "vision":
            vision = data.get("vision_config")
            return vision if isinstance(vision, dict) else {}
        if section == "text":
            if self.text_is_nested:
                text = data.get("text_config")
                return text if isinstance(text, dict) else {}
            return {k: data[k] for k in self.flat_text_keys if k in data}
        return {k: v for k, v in data.items() if k not in TOP_ONLY and k not in self.flat_text_keys}

    def shadowed_text(self, data: dict) -> dict[str, Any]:
        """Top-level copies of text keys that transformers ignores because text_config wins (hybrid)."""
        if self.layout is not Layout.HYBRID:
            return {}
        return {k: data[k] for k in self.flat_text_keys if k in data}


def flat_text_keys_in(data: dict, family: Family) -> frozenset[str]:
    """Top-level keys of `data` that transformers would treat as text keys in a flat file.

    Families whose config class never reads text keys from the top level (qwen3_vl and later)
    have none: there such keys are ignored extras of the model section.
    """
    if not family.reads_flat_text:
        return frozenset()
    model_fields = set(family.sections["model"].fields)
    return frozenset(k for k in family.flat_text_keys if k in data and k not in model_fields)


def detect_layout(data: dict, family: Family) -> Placement:
    flat_keys = flat_text_keys_in(data, family)
    has_nested = isinstance(data.get("text_config"), dict)
    if has_nested and flat_keys:
        layout = Layout.HYBRID
    elif has_nested:
        text = data["text_config"]
        layout = Layout.V5 if "rope_parameters" in text or ("dtype" in data and "torch_dtype" not in data) else Layout.NESTED
    else:
        layout = Layout.FLAT
    if layout is Layout.NESTED or layout is Layout.V5:
        flat_keys = frozenset()
    return Placement(family=family, layout=layout, flat_text_keys=flat_keys)
