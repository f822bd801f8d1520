"""One canonical view of a config, whatever its layout: vision, text and model sections.

Each section holds the *effective* value of every field, the value transformers' config class
ends up with: defaults filled in, `rope_scaling`/`rope_theta` folded into `rope_parameters`,
`layer_types` derived, `torch_dtype` read as `dtype`, and so on. A test checks these against the
real config classes for every preset in every layout. Nothing here imports transformers.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

from .errors import NotAQwenConfig
from .layout import Layout, Placement, detect_layout
from .schema import SECTIONS, Family, Field, Schema, Section, load_schema
from .sources import RawConfig

# Keys every section may carry that say nothing about the architecture.
BOOKKEEPING = frozenset({"model_type", "transformers_version", "_name_or_path", "_commit_hash"})
# Other spellings transformers accepts for a field in any section.
COMMON_ALIASES = {"torch_dtype": "dtype"}
# Legacy keys transformers folds into rope_parameters.
ROPE_SPELLINGS = ("rope_scaling", "rope_theta", "partial_rotary_factor")
# Keys of official checkpoints that no config class declares: listed, but never taken for typos.
KNOWN_EXTRA_MEANINGS = {
    "in_chans": "legacy spelling of in_channels; transformers 5 ignores it",
    "spatial_patch_size": "legacy duplicate of patch_size; transformers 5 ignores it",
    "vision_token_id": "legacy token id; transformers 5 ignores it",
    "quantization_config": "how the stored weights are quantized; read by from_pretrained, not the config class",
}


@dataclass(frozen=True)
class TypeProblem:
    path: str
    value: Any
    expected: str

    def __str__(self) -> str:
        return f"{self.path} is {describe_value(self.value)}; transformers expects {self.expected}"


@dataclass
class Config:
    """A config read into canonical form. `data` is the file as parsed; `raw` is its exact source."""

    family: Family
    placement: Placement
    raw: RawConfig
    values: dict[str, dict[str, Any]]  # section -> key -> effective value (fields and extras)
    present: dict[str, frozenset[str]]  # section -> canonical keys the file sets
    extras: dict[str, frozenset[str]]  # section -> keys no config class declares
    warnings: list[str] = field(default_factory=list)
    type_problems: list[TypeProblem] = field(default_factory=list)

    @property
    def data(self) -> dict:
        return self.raw.data

    @property
    def layout(self) -> Layout:
        return self.placement.layout

    @property
    def vision(self) -> dict[str, Any]:
        return self.values["vision"]

    @property
    def text(self) -> dict[str, Any]:
        return self.values["text"]

    @property
    def model(self) -> dict[str, Any]:
        return self.values["model"]

    def field(self, section: str, key: str) -> Field | None:
        return self.family.sections[section].fields.get(key)

    def default_of(self, section: str, key: str) -> Any:
        """The value transformers would hold for `key` if the file left it out (the rest as it is)."""
        return _default_of(self, section, key)

    def file_value(self, section: str, key: str) -> Any:
        """The value the file itself writes for a field, under its own spelling (None if absent)."""
        sec = self.family.sections[section]
        raw = self.placement.raw_section(self.data, section)
        return next((v for k, v in raw.items() if _canonical_key(sec, k) == key and k not in ROPE_SPELLINGS), None)

    def shown_keys(self, section: str) -> list[str]:
        """Architecture fields, then bookkeeping fields the file sets, then unknown keys."""
        sec = self.family.sections[section]
        keys = [k for k, f in sec.fields.items() if not f.base]
        keys += [k for k, f in sec.fields.items() if f.base and k in self.present[section]]
        return keys + sorted(self.extras[section])


def describe_value(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}
    if value is None:
        return "null"
    return f"{kind.get(type(value), type(value).__name__)} ({_short_json(value)})"


def _short_json(value: Any) -> str:
    import json

    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_config(raw: RawConfig, schema: Schema | None = None) -> Config:
    """Reads a parsed config file into its canonical form; raises NotAQwenConfig for other models."""
    schema = schema or load_schema()
    data = raw.data
    family, warnings = _detect_family(data, raw.origin.label, schema)
    placement = detect_layout(data, family)
    warnings += _layout_warnings(data, family, placement)

    raws = {s: placement.raw_section(data, s) for s in SECTIONS}
    if placement.layout is Layout.FLAT and family.reads_flat_text:
        # transformers hands the top-level dtype to the text config of a flat file
        dtype = data.get("dtype", data.get("torch_dtype"))
        if dtype is not None:
            raws["text"] = {**raws["text"], "dtype": dtype}
    values, present, extras, problems = {}, {}, {}, []
    for section in SECTIONS:
        sec = family.sections[section]
        values[section], present[section], extras[section] = _read_section(sec, raws[section])
        problems += _type_problems(section, sec, raws[section])
    _normalize_text(values["text"], raws["text"], family.sections["text"], schema)
    _normalize_model(values["model"], raws["text"], family)
    if placement.layout is Layout.FLAT and family.reads_flat_text:
        present["text"] = present["text"] - {"dtype"}
    config = Config(family, placement, raw, values, present, extras, warnings, problems)
    config.warnings += _consistency_warnings(config)
    return config


def _detect_family(data: Any, label: str, schema: Schema) -> tuple[Family, list[str]]:
    supported = ", ".join(sorted(schema.families))
    if not isinstance(data, dict):
        raise NotAQwenConfig(
            f"{label}: the JSON is {describe_value(data)}, not an object with a model_type",
            hint=f"qwencfg reads config.json files of: {supported}",
        )
    model_type = data.get("model_type")
    if isinstance(model_type, str) and model_type in schema.families:
        return schema.families[model_type], []
    architectures = data.get("architectures")
    by_arch = None
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        by_arch = schema.family_for_architecture(architectures[0])
    if model_type is None and by_arch is not None:
        return by_arch, [f"no model_type: read as {by_arch.name} from architectures {architectures[0]}"]
    if model_type is None:
        raise NotAQwenConfig(f"{label} has no model_type", hint=f"a Qwen vision-language config has one of: {supported}")
    close = difflib.get_close_matches(str(model_type), list(schema.families), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise NotAQwenConfig(
        f"{label} has model_type {model_type!r}, which is not a Qwen vision-language family",
        hint=f"{hint}supported: {supported}",
    )


def _layout_warnings(data: dict, family: Family, placement: Placement) -> list[str]:
    warnings = []
    if not isinstance(data.get("vision_config"), dict):
        warnings.append("no vision_config: transformers builds the vision tower from the class defaults")
    if placement.layout is Layout.FLAT and not family.reads_flat_text:
        text_fields = set(family.sections["text"].fields) - set(family.sections["model"].fields)
        stray = sorted(k for k in data if k in text_fields)
        if stray:
            warnings.append(
                f"{family.config_class} reads text keys only from text_config: top-level "
                f"{', '.join(stray[:4])}{'...' if len(stray) > 4 else ''} are ignored and the text "
                "section is the class defaults"
            )
        elif "text_config" not in data:
            warnings.append("no text_config: transformers builds the text model from the class defaults")
    return warnings


def _canonical_key(sec: Section, key: str) -> str:
    if key in ROPE_SPELLINGS and sec.implicit_rope is not None:
        return "rope_parameters"
    if key == "full_attention_interval" and "linear_conv_kernel_dim" in sec.fields:
        return "layer_types"  # read only to derive layer_types
    return COMMON_ALIASES.get(key) or sec.canonical_name(key)


def _read_section(sec: Section, raw: dict) -> tuple[dict, frozenset[str], frozenset[str]]:
    values: dict[str, Any] = {k: copy.deepcopy(f.default) for k, f in sec.fields.items()}
    present, extras = set(), set()
    # transformers sets the declared fields first and other spellings afterwards, so those win.
    for key in sorted(raw, key=lambda k: _canonical_key(sec, k) != k):
        value = raw[key]
        if key in BOOKKEEPING and key not in sec.fields:
            continue
        name = _canonical_key(sec, key)
        if name in sec.fields:
            if name == key or name not in ("rope_parameters", "layer_types"):
                values[name] = copy.deepcopy(value)
            present.add(name)
        else:
            values[key] = copy.deepcopy(value)
            extras.add(key)
    if sec.implicit_rope is not None:
        values["rope_parameters"] = effective_rope(sec, raw)
    return values, frozenset(present), frozenset(extras)


def _type_problems(section: str, sec: Section, raw: dict) -> list["TypeProblem"]:
    problems = []
    for key, value in raw.items():
        name = _canonical_key(sec, key)
        f = sec.fields.get(name)
        if f is None or (name != key and name in ("rope_parameters", "layer_types")) or value_fits(value, f.kinds):
            continue
        problems.append(TypeProblem(f"{section}.{name}", value, f.type))
    return problems


def value_fits(value: Any, kinds: tuple[str, ...]) -> bool:
    """Whether a JSON value fits a field's kinds, as transformers' strict dataclasses check them."""
    if "any" in kinds:
        return True
    if value is None:
        return "null" in kinds
    if isinstance(value, bool):
        return "bool" in kinds
    if isinstance(value, int):
        return "int" in kinds or "float" in kinds
    if isinstance(value, float):
        return "float" in kinds
    if isinstance(value, str):
        return "str" in kinds
    if isinstance(value, list):
        return "list" in kinds
    if isinstance(value, dict):
        return "dict" in kinds
    return False


def effective_rope(sec: Section, raw: dict) -> Any:
    """rope_parameters as transformers standardizes them (legacy rope_scaling/rope_theta folded in)."""
    params = raw.get("rope_scaling") or raw.get("rope_parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return copy.deepcopy(params)  # a wrong type; reported by the type check
    params = copy.deepcopy(params)
    implicit = sec.implicit_rope or {}
    theta = raw.get("rope_theta", implicit.get("rope_theta"))
    partial = raw.get("partial_rotary_factor", implicit.get("partial_rotary_factor"))
    layer_types = raw.get("layer_types") if isinstance(raw.get("layer_types"), list) else []
    nested = [k for k in params if k in layer_types]
    for entry in [params[k] for k in nested] or [params]:
        if not isinstance(entry, dict):
            continue
        entry.setdefault("rope_theta", theta)
        if partial is not None:
            entry.setdefault("partial_rotary_factor", partial)
        if sec.mrope_means_default and entry.get("rope_type", entry.get("type")) == "mrope":
            entry["rope_type"] = "default"
        entry.setdefault("rope_type", entry.get("type", "default"))
        if sec.default_rope_type not in (None, "default") and entry["rope_type"] == "default":
            entry["rope_type"] = sec.default_rope_type
        entry.pop("type", None)  # the legacy spelling; rope_type now says the same
    return params


def _normalize_text(values: dict, raw: dict, sec: Section, schema: Schema) -> None:
    """What the text config's __post_init__ does, for the fields qwencfg reasons about."""
    fields = sec.fields
    try:
        if "use_sliding_window" in fields and not values.get("use_sliding_window"):
            values["sliding_window"] = None
        if "num_key_value_heads" in fields and values.get("num_key_value_heads") is None:
            values["num_key_value_heads"] = values.get("num_attention_heads")
        if "head_dim" in fields and values.get("head_dim") is None:
            values["head_dim"] = values["hidden_size"] // values["num_attention_heads"]
        if "mlp_only_layers" in fields and values.get("mlp_only_layers") is None:
            values["mlp_only_layers"] = []
        if "layer_types" in fields:
            if values.get("layer_types") is None:
                values["layer_types"] = derived_layer_types(values, raw, fields)
            elif isinstance(values["layer_types"], list):
                remap = dict(schema.layer_type_remap)
                if "hc_count" in fields:  # Qwen4-Exp: its checkpoints say full_attention for indexed layers
                    remap["full_attention"] = "indexed_attention"
                values["layer_types"] = [remap.get(t, t) if isinstance(t, str) else t for t in values["layer_types"]]
    except (TypeError, ValueError, ZeroDivisionError, KeyError):
        pass  # values of the wrong type: the type check reports them, transformers would refuse them


def derived_layer_types(values: dict, raw: dict, fields: dict) -> list[str] | None:
    """layer_types as transformers derives them when a file leaves them out."""
    n = values["num_hidden_layers"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > 100_000:
        return None
    if "max_window_layers" in fields:
        window, first = values.get("sliding_window"), values.get("max_window_layers")
        return ["sliding_attention" if window is not None and i >= first else "full_attention" for i in range(n)]
    if "linear_conv_kernel_dim" in fields:
        interval = raw.get("full_attention_interval", 4)
        attention = "indexed_attention" if "hc_count" in fields else "full_attention"
        return ["linear_attention" if (i + 1) % interval else attention for i in range(n)]
    return None


def _normalize_model(values: dict, raw_text: dict, family: Family) -> None:
    if family.reads_flat_text and not values.get("tie_word_embeddings") and raw_text.get("tie_word_embeddings") is True:
        # transformers 5 forwards a pre-v5 text_config.tie_word_embeddings to the top level
        values["tie_word_embeddings"] = True


def _consistency_warnings(config: Config) -> list[str]:
    warnings = []
    shadowed = config.placement.shadowed_text(config.data)
    if shadowed:
        sec = config.family.sections["text"]
        top, top_present, _ = _read_section(sec, shadowed)
        _normalize_text(top, shadowed, sec, load_schema())
        for name in sorted(top_present):
            if top[name] != config.text[name]:
                warnings.append(
                    f"top-level {name}={_short_json(top[name])} differs from text_config.{name}="
                    f"{_short_json(config.text[name])}; transformers uses text_config"
                )
    for section in SECTIONS:
        for key in sorted(config.extras[section]):
            close = likely_typo_of(config, section, key)
            if close:
                warnings.append(
                    f"{section}.{key} is not a field of {config.family.sections[section].class_name} "
                    f"and is ignored; did you mean {close}?"
                )
    return warnings


def likely_typo_of(config: Config, section: str, key: str) -> str | None:
    """The field an unknown key was probably meant to be, if it looks like a typo."""
    if key.startswith("_") or key in KNOWN_EXTRA_MEANINGS:
        return None
    if section == "model" and not config.family.reads_flat_text and key in config.family.sections["text"].fields:
        return None  # reported as an ignored top-level text key
    fields = [k for k in config.family.sections[section].fields if k not in config.present[section]]
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.85)
    return close[0] if close else None


def _default_of(config: Config, section: str, key: str) -> Any:
    sec = config.family.sections[section]
    if key not in sec.fields:
        return None
    if key not in config.present[section]:
        return config.values[section].get(key)
    raw = dict(config.placement.raw_section(config.data, section))
    for spelling in [k for k in raw if _canonical_key(sec, k) == key]:
        del raw[spelling]
    values, _, _ = _read_section(sec, raw)
    if section == "text":
        _normalize_text(values, raw, sec, load_schema())
    return values.get(key)
