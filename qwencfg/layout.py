"""The shapes a config file comes in, and where each section's keys are read from and written to.

- flat:    text keys at the top level beside `vision_config` (the original Hub files);
- nested:  a `text_config` sub-dict and no text keys at the top level;
- hybrid:  both (files saved by transformers 4.5x); transformers reads `text_config`;
- transformers-5: nested, with `rope_parameters` instead of `rope_scaling` and `dtype`.

A `SectionMap` answers, for one file, "which dict holds section S" for reading, and "which dicts
must an edit of S change" for writing it back in the file's own shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .schema import Family

Path = tuple[str, ...]  # keys from the top of the file down to a dict
# Top-level keys transformers reads for every config, whatever the family.
TOP_ONLY = {"model_type", "text_config", "vision_config"}
DTYPE_SPELLINGS = ("dtype", "torch_dtype")


class Layout(str, Enum):
    FLAT = "flat"
    NESTED = "nested"
    HYBRID = "hybrid"
    V5 = "transformers-5"


@dataclass(frozen=True)
class SectionMap:
    """Where the vision, text and model keys of one file live."""

    family: Family
    layout: Layout
    flat_text_keys: frozenset[str]  # top-level keys that are text keys in this file (flat and hybrid)

    @property
    def text_is_nested(self) -> bool:
        return self.layout is not Layout.FLAT

    def raw_section(self, data: dict, section: str) -> dict[str, Any]:
        """The keys of `section` as transformers reads them from the file (before defaults)."""
        if section == "vision":
            vision = data.get("vision_config")
            return vision if isinstance(vision, dict) else {}
        if section == "text":
            if self.text_is_nested:
                text = data.get("text_config")
                return text if isinstance(text, dict) else {}
            text = {k: data[k] for k in self.flat_text_keys if k in data}
            if self.family.reads_flat_text:
                # transformers hands a flat file's top-level dtype to its text config
                text.update({k: data[k] for k in DTYPE_SPELLINGS if k in data})
            return text
        return {k: v for k, v in data.items() if k not in TOP_ONLY and k not in self.flat_text_keys}

    def inherited_text_keys(self) -> frozenset[str]:
        """Text keys a flat file does not set itself but passes down from the top level (its dtype)."""
        return frozenset({"dtype"}) if self.layout is Layout.FLAT and self.family.reads_flat_text else frozenset()

    def shadowed_text(self, data: dict) -> dict[str, Any]:
        """Top-level copies of text keys that transformers ignores because text_config wins (hybrid)."""
        if self.layout is not Layout.HYBRID:
            return {}
        return {k: data[k] for k in self.flat_text_keys if k in data}

    def write_paths(self, data: dict, section: str) -> list[Path]:
        """The dicts an edit of `section` must change: the one transformers reads first, then copies.

        A hybrid file's top-level copy of a text key is kept in step (by the caller) only where the
        file has one. A flat file of a family that never reads top-level text keys gets the
        text_config it lacks, so the edit means what it says."""
        if section == "vision":
            return [("vision_config",)]
        if section == "model":
            return [()]
        if self.layout is Layout.FLAT:
            if self.family.reads_flat_text:
                return [()]
            return [("text_config",)]
        if self.layout is Layout.HYBRID:
            return [("text_config",), ()]
        return [("text_config",)]


def flat_text_keys_in(data: dict, family: Family) -> frozenset[str]:
    """Top-level keys of `data` that transformers would treat as text keys in a flat file.

    Families whose config class never reads text keys from the top level (qwen3_vl and later)
    have none: there such keys are ignored extras of the model section.
    """
    if not family.reads_flat_text:
        return frozenset()
    model_fields = set(family.sections["model"].fields)
    return frozenset(k for k in family.flat_text_keys if k in data and k not in model_fields)


def detect_layout(data: dict, family: Family) -> SectionMap:
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
    return SectionMap(family=family, layout=layout, flat_text_keys=flat_keys)
