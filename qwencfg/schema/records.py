"""The schema's records: the fields, sections and traits of each Qwen vision-language family.

Built from transformers by `build.py`, read back from JSON by `from_json()`. Every module that
needs to know something about a family asks its `Family` record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import QwencfgError

SECTIONS = ("vision", "text", "model")
BUNDLED_SCHEMA = Path(__file__).resolve().parent.parent / "data" / "schema.json"
SCHEMA_FORMAT = 2


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the annotation as transformers declares it, e.g. "int | None"
    kinds: tuple[str, ...]  # JSON kinds it accepts: int, float, bool, str, null, list, dict
    default: Any
    doc: str
    base: bool  # inherited from PreTrainedConfig (bookkeeping, not architecture)
    items: tuple[str, ...] | None = None  # JSON kinds of a list's items, when declared
    choices: tuple[str, ...] | None = None  # the values (or list items) transformers accepts
    positive: bool = False  # the model needs it to be at least 1


@dataclass(frozen=True)
class LayerTypes:
    """How a family's text model lays out its decoder layers (probed from its text config class)."""

    derived_from: str | None  # the key transformers derives layer_types from when a file has none
    interval_default: int | None  # full_attention_interval when the file gives none (hybrid families)
    full_attention: str  # the layer type of the family's full-attention layers
    built: tuple[str, ...]  # the layer types the family's model builds
    remap: dict[str, str]  # legacy names transformers renames on load (global and the family's own)


@dataclass(frozen=True)
class Section:
    name: str
    model_type: str | None
    class_name: str
    fields: dict[str, Field]
    aliases: dict[str, str]  # other spelling -> field name
    default_rope_type: str | None
    implicit_rope: dict[str, Any] | None  # rope_parameters of the class defaults, after standardization
    mrope_means_default: bool  # `"type": "mrope"` is read as rope_type "default" (qwen2 families)
    derives: dict[str, str]  # keys that are no field but are read to derive one (full_attention_interval)

    def canonical_name(self, key: str) -> str:
        return self.aliases.get(key, key)


@dataclass(frozen=True)
class Family:
    name: str  # the model_type, e.g. "qwen2_5_vl"
    architecture: str  # the ...ForConditionalGeneration class
    config_class: str
    reads_flat_text: bool  # transformers pops text keys from the top level when text_config is absent
    flat_text_keys: tuple[str, ...]
    mrope_section_default: list[int] | None  # what the modeling code uses when rope_parameters has none
    tp_plan: dict[str, str]  # the model's whole tensor-parallel plan, as transformers merges it (full names)
    sections: dict[str, Section]
    defaults: dict[str, Any]  # what save_pretrained writes for the class defaults
    layer_types: LayerTypes
    vision_tower: str | None  # the shape of the vision tower, for the parameter formulas
    text_stack: str | None  # the shape of the text decoder (None: no formula, e.g. hyper-connections)
    skipped_checkpoint_keys: tuple[str, ...]  # checkpoint tensors from_pretrained drops (e.g. ^mtp.*)
    no_split_paths: tuple[str, ...]  # modules a device map keeps whole, as name patterns (model.visual.blocks.*)

    @cached_property
    def title(self) -> str:
        return self.config_class.removesuffix("Config")

    @property
    def has_mtp_weights(self) -> bool:
        """Whether the family's checkpoints carry multi-token-prediction weights transformers skips."""
        return any(pattern.lstrip("^").startswith("mtp") for pattern in self.skipped_checkpoint_keys)


@dataclass(frozen=True)
class Schema:
    transformers_version: str
    families: dict[str, Family]
    rope_parameter_kinds: dict[str, tuple[str, ...]]  # keys of rope_parameters and their JSON kinds
    rope_types: tuple[str, ...]  # the rope_type values transformers knows
    activations: tuple[str, ...]  # names of transformers' activation table (hidden_act)
    attention_layer_types: tuple[str, ...]  # what transformers' config classes accept in layer_types
    rope_required: dict[str, tuple[str, ...]]  # rope type -> the keys it needs besides rope_theta
    read_when_present: frozenset[str]  # text-config attributes transformers' cache and masks read when present
    quant_methods: tuple[str, ...]  # the quantization_config.quant_method values from_pretrained knows
    dtypes: tuple[str, ...]  # what a config's dtype may name

    def family_for_architecture(self, architecture: str) -> Family | None:
        return next((f for f in self.families.values() if f.architecture == architecture), None)

    def field_anywhere(self, section: str, key: str) -> Field | None:
        """The field `key` of `section` in the first family that declares it (to type an extra key)."""
        return next((f.sections[section].fields[key] for f in self.families.values() if key in f.sections[section].fields), None)


def from_json(data: dict) -> Schema:
    """The Schema of the JSON form build_schema() writes."""
    if data.get("format") != SCHEMA_FORMAT:
        raise QwencfgError("the bundled schema is of an unknown format; reinstall qwencfg")
    families = {}
    for name, fam in data["families"].items():
        sections = {
            sec_name: Section(
                name=sec_name,
                model_type=sec["model_type"],
                class_name=sec["class_name"],
                fields={k: _field_from_json(k, v) for k, v in sec["fields"].items()},
                aliases=sec["aliases"],
                default_rope_type=sec["default_rope_type"],
                implicit_rope=sec["implicit_rope"],
                mrope_means_default=sec["mrope_means_default"],
                derives=sec["derives"],
            )
            for sec_name, sec in fam["sections"].items()
        }
        families[name] = Family(
            name=name,
            architecture=fam["architecture"],
            config_class=fam["config_class"],
            reads_flat_text=fam["reads_flat_text"],
            flat_text_keys=tuple(fam["flat_text_keys"]),
            mrope_section_default=fam["mrope_section_default"],
            tp_plan=fam["tp_plan"],
            sections=sections,
            defaults=fam["defaults"],
            layer_types=LayerTypes(**{**fam["layer_types"], "built": tuple(fam["layer_types"]["built"])}),
            vision_tower=fam["vision_tower"],
            text_stack=fam["text_stack"],
            skipped_checkpoint_keys=tuple(fam["skipped_checkpoint_keys"]),
            no_split_paths=tuple(fam["no_split_paths"]),
        )
    return Schema(
        transformers_version=data["transformers_version"],
        families=families,
        rope_parameter_kinds={k: tuple(v) for k, v in data["rope_parameter_kinds"].items()},
        rope_types=tuple(data["rope_types"]),
        activations=tuple(data["activations"]),
        attention_layer_types=tuple(data["attention_layer_types"]),
        rope_required={k: tuple(v) for k, v in data["rope_required"].items()},
        read_when_present=frozenset(data["read_when_present"]),
        quant_methods=tuple(data["quant_methods"]),
        dtypes=tuple(data["dtypes"]),
    )


def _field_from_json(name: str, data: dict) -> Field:
    tuples = {k: tuple(v) for k in ("kinds", "items", "choices") if (v := data.get(k)) is not None}
    return Field(name=name, **{**data, **tuples})


