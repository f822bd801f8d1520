"""One canonical view of a config, whatever its layout: vision, text and model sections.

Each section holds the *effective* value of every field, the value transformers' config class
ends up with: defaults filled in, `rope_scaling`/`rope_theta` folded into `rope_parameters`,
`layer_types` derived, `torch_dtype` read as `dtype`, and so on. A test checks these against the
real config classes for every preset in every layout. Nothing here imports transformers.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator

from .errors import NotAQwenConfig
from .layout import Layout, SectionMap, detect_layout
from .schema import SECTIONS, Family, Field, Schema, Section, load_schema
from .sources import RawConfig

# Keys any section may carry that say nothing about the model: never compared (unless asked),
# never taken for typos.
BOOKKEEPING = frozenset({"model_type", "transformers_version", "_name_or_path", "_commit_hash", "architectures"})
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
    "mtp_num_hidden_layers": "multi-token-prediction layers the checkpoint holds for speculative decoding; transformers does not build them",
    "mtp_use_dedicated_embeddings": "whether the multi-token-prediction module has its own token embeddings",
}

# Of those, the ones that change what is loaded (a diff never calls their changes "no effect").
EXTRAS_WITH_EFFECT = frozenset({"quantization_config", "mtp_num_hidden_layers", "mtp_use_dedicated_embeddings"})


def extra_has_effect(section: str, key: str) -> bool:
    """Whether a key no config class declares still changes the model: a text key transformers'
    cache and masks read when present (sliding_window, attention_chunk_size), or qwencfg's own."""
    return key in EXTRAS_WITH_EFFECT or (section == "text" and key in load_schema().read_when_present)


def extra_meaning(section: str, key: str) -> str | None:
    """What a key no config class declares is, when qwencfg knows."""
    if key in KNOWN_EXTRA_MEANINGS:
        return KNOWN_EXTRA_MEANINGS[key]
    if section == "text" and key in load_schema().read_when_present:
        return "not declared by this config class, but transformers' cache and attention masks read it when present"
    return None


class NoticeKind(str, Enum):
    LAYOUT = "layout"  # the file's shape changes what transformers reads
    SHADOWED = "shadowed"  # a hybrid file's top-level copy disagrees with text_config, which wins
    TYPO = "typo"  # an unknown key that looks like a misspelt field
    NO_MODEL_TYPE = "no-model-type"  # read by its architectures; transformers' AutoConfig refuses it


@dataclass(frozen=True)
class Notice:
    """Something a reader of the file should know about how transformers reads it."""

    kind: NoticeKind
    message: str

    def __str__(self) -> str:
        return self.message


def is_int(value: Any) -> bool:
    """An integer as JSON means it (true and false are not numbers)."""
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(value: Any) -> int | None:
    """The value if it is an integer of at least 1, else None."""
    return value if is_int(value) and value > 0 else None


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
    sections: SectionMap
    raw: RawConfig
    values: dict[str, dict[str, Any]]  # section -> key -> effective value (fields and extras)
    present: dict[str, frozenset[str]]  # section -> canonical keys the file sets
    extras: dict[str, frozenset[str]]  # section -> keys no config class declares
    warnings: list[Notice] = field(default_factory=list)
    type_problems: list[TypeProblem] = field(default_factory=list)
    inherited: dict[str, frozenset[str]] = field(default_factory=dict)  # section -> keys it takes from the top level

    def __repr__(self) -> str:
        return f"Config({self.family.name}, {self.layout.value}, {self.raw.origin.label!r})"

    @property
    def data(self) -> dict:
        return self.raw.data

    @property
    def layout(self) -> Layout:
        return self.sections.layout

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
        raw = self.sections.raw_section(self.data, section)
        return next((v for k, v in raw.items() if _canonical_key(sec, k) == key and k not in ROPE_SPELLINGS), None)

    def sizes(self, sections: tuple[str, ...] = SECTIONS) -> Iterator[tuple[str, int]]:
        """(path, value) of every size, count or dimension the model is built around that holds an integer."""
        for section in sections:
            for key, f in self.family.sections[section].fields.items():
                value = self.values[section].get(key)
                if f.positive and is_int(value):
                    yield f"{section}.{key}", value

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
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_config(raw: RawConfig, schema: Schema | None = None) -> Config:
    """Reads a parsed config file into its canonical form; raises NotAQwenConfig for other models."""
    schema = schema or load_schema()
    data = raw.data
    family, warnings = _detect_family(data, raw.origin.label, schema)
    sections = detect_layout(data, family)
    warnings += _layout_warnings(data, family, sections)
    raws = {s: sections.raw_section(data, s) for s in SECTIONS}
    values, present, extras, problems = {}, {}, {}, _section_type_problems(data)
    for section in SECTIONS:
        sec = family.sections[section]
        values[section], present[section], extras[section] = _read_section(sec, raws[section])
        problems += _type_problems(section, sec, raws[section], schema)
    _normalize_text(values["text"], raws["text"], family)
    _normalize_model(values["model"], raws["text"], family)
    inherited = {"text": sections.inherited_text_keys()}
    present["text"] = present["text"] - inherited["text"]
    config = Config(family, sections, raw, values, present, extras, warnings, problems, inherited)
    config.warnings += _consistency_warnings(config)
    return config


def _section_type_problems(data: dict) -> list[TypeProblem]:
    """vision_config and text_config must be objects (or absent); transformers refuses anything else."""
    return [
        TypeProblem(key, data[key], "an object (dict) of the sub-config's keys")
        for key in ("vision_config", "text_config")
        if data.get(key) is not None and not isinstance(data[key], dict)
    ]


def _detect_family(data: Any, label: str, schema: Schema) -> tuple[Family, list[Notice]]:
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
        return by_arch, [Notice(NoticeKind.NO_MODEL_TYPE, f"no model_type: read as {by_arch.name} from architectures {architectures[0]}; transformers' AutoConfig refuses a file without one")]
    if model_type is None:
        raise NotAQwenConfig(f"{label} has no model_type", hint=f"a Qwen vision-language config has one of: {supported}")
    close = difflib.get_close_matches(str(model_type), list(schema.families), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise NotAQwenConfig(
        f"{label} has model_type {model_type!r}, which is not a Qwen vision-language family",
        hint=f"{hint}supported: {supported}",
    )


def _layout_warnings(data: dict, family: Family, sections: SectionMap) -> list[Notice]:
    warnings = []
    if "vision_config" not in data or data["vision_config"] is None:
        warnings.append(Notice(NoticeKind.LAYOUT, "no vision_config: transformers builds the vision tower from the class defaults"))
    if sections.layout is Layout.FLAT and not family.reads_flat_text:
        text_fields = set(family.sections["text"].fields) - set(family.sections["model"].fields)
        stray = sorted(k for k in data if k in text_fields)
        if stray:
            warnings.append(Notice(
                NoticeKind.LAYOUT,
                f"{family.config_class} reads text keys only from text_config: top-level "
                f"{', '.join(stray[:4])}{'...' if len(stray) > 4 else ''} are ignored and the text "
                "section is the class defaults",
            ))
        elif "text_config" not in data:
            warnings.append(Notice(NoticeKind.LAYOUT, "no text_config: transformers builds the text model from the class defaults"))
    return warnings


def _canonical_key(sec: Section, key: str) -> str:
    if key in ROPE_SPELLINGS and sec.implicit_rope is not None:
        return "rope_parameters"
    if key in sec.derives:
        return sec.derives[key]  # read only to derive that field (full_attention_interval -> layer_types)
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


def _type_problems(section: str, sec: Section, raw: dict, schema: Schema) -> list["TypeProblem"]:
    problems = []
    for key, value in raw.items():
        name = _canonical_key(sec, key)
        f = sec.fields.get(name)
        if f is None and section == "text" and key in schema.read_when_present:
            f = schema.field_anywhere(section, key)  # read by transformers anyway: typed as where it is declared
        if f is None or (name != key and name in ("rope_parameters", "layer_types")) or value_fits(value, f.kinds, f.items):
            continue
        problems.append(TypeProblem(f"{section}.{name}", value, f.type))
    return problems


def value_fits(value: Any, kinds: tuple[str, ...], items: tuple[str, ...] | None = None) -> bool:
    """Whether a JSON value fits a field's kinds (and a list its item kinds), as transformers'
    strict dataclasses check them."""
    if isinstance(value, list) and items and "list" in kinds:
        return all(value_fits(item, items) for item in value)
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


def value_problem(path: str, field: Field, value: Any) -> str | None:
    """What is wrong with `value` for `field` (its type, its items, its allowed values, its sign), or None."""
    if not value_fits(value, field.kinds, field.items):
        if isinstance(value, list) and field.items and "list" in field.kinds:
            index, item = next((i, v) for i, v in enumerate(value) if not value_fits(v, field.items))
            return f"{path} item {index} is {describe_value(item)}; transformers expects {field.type}"
        return f"{path} is {describe_value(value)}; transformers expects {field.type}"
    if field.choices:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item not in field.choices:
                return f"{path} {json.dumps(item)} is not one of the values transformers knows{did_you_mean(item, field.choices)}"
    if field.positive and is_int(value) and value < 1:
        return f"{path} is {value}; the model needs it to be at least 1"
    return None


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """'; did you mean relu?' for the closest allowed values, or the list when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if close:
        return f"; did you mean {' or '.join(close)}?"
    return f" ({', '.join(choices[:12])}{', ...' if len(choices) > 12 else ''})"


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


def _normalize_text(values: dict, raw: dict, family: Family) -> None:
    """What the text config's __post_init__ does, for the fields qwencfg reasons about.

    Each step stands alone: a value of the wrong type in one (reported by the type check) leaves
    the others to run."""
    fields = family.sections["text"].fields
    if "use_sliding_window" in fields and not values.get("use_sliding_window"):
        values["sliding_window"] = None
    if "num_key_value_heads" in fields and values.get("num_key_value_heads") is None:
        values["num_key_value_heads"] = values.get("num_attention_heads")
    if "head_dim" in fields and values.get("head_dim") is None:
        hidden, heads = positive_int(values.get("hidden_size")), positive_int(values.get("num_attention_heads"))
        values["head_dim"] = hidden // heads if hidden and heads else None
    if "mlp_only_layers" in fields and values.get("mlp_only_layers") is None:
        values["mlp_only_layers"] = []
    if "layer_types" in fields:
        if values.get("layer_types") is None:
            values["layer_types"] = derived_layer_types(values, raw, family)
        elif isinstance(values["layer_types"], list):
            remap = family.layer_types.remap
            values["layer_types"] = [remap.get(t, t) if isinstance(t, str) else t for t in values["layer_types"]]


def derived_layer_types(values: dict, raw: dict, family: Family) -> list[str] | None:
    """layer_types as transformers derives them when a file leaves them out (None if it can't)."""
    traits = family.layer_types
    n = values.get("num_hidden_layers")
    if not is_int(n) or n < 0 or n > 100_000:
        return None
    if traits.derived_from == "max_window_layers":
        window, first = values.get("sliding_window"), values.get("max_window_layers")
        if window is not None and not is_int(first):
            return None
        return ["sliding_attention" if window is not None and i >= first else traits.full_attention for i in range(n)]
    if traits.derived_from == "full_attention_interval":
        interval = raw.get("full_attention_interval", traits.interval_default)
        if not positive_int(interval):
            return None
        return ["linear_attention" if (i + 1) % interval else traits.full_attention for i in range(n)]
    return None


def _normalize_model(values: dict, raw_text: dict, family: Family) -> None:
    if family.reads_flat_text and not values.get("tie_word_embeddings") and raw_text.get("tie_word_embeddings") is True:
        # transformers 5 forwards a pre-v5 text_config.tie_word_embeddings to the top level
        values["tie_word_embeddings"] = True


def _consistency_warnings(config: Config) -> list[Notice]:
    warnings = []
    shadowed = config.sections.shadowed_text(config.data)
    if shadowed:
        sec = config.family.sections["text"]
        top, top_present, _ = _read_section(sec, shadowed)
        _normalize_text(top, shadowed, config.family)
        for name in sorted(top_present):
            if top[name] != config.text[name]:
                warnings.append(Notice(
                    NoticeKind.SHADOWED,
                    f"top-level {name}={_short_json(top[name])} differs from text_config.{name}="
                    f"{_short_json(config.text[name])}; transformers uses text_config",
                ))
    for section in SECTIONS:
        for key in sorted(config.extras[section]):
            close = likely_typo_of(config, section, key)
            if close:
                warnings.append(Notice(
                    NoticeKind.TYPO,
                    f"{section}.{key} is not a field of {config.family.sections[section].class_name} and is ignored; did you mean {close}?",
                ))
    return warnings


def likely_typo_of(config: Config, section: str, key: str) -> str | None:
    """The field (`section.key`) an unknown key was probably meant to be, if it looks like a typo.

    In a flat file the top level holds text keys too, so a top-level typo may be of either."""
    if key.startswith("_") or extra_meaning(section, key) or key in BOOKKEEPING:
        return None
    if section == "model" and not config.family.reads_flat_text and key in config.family.sections["text"].fields:
        return None  # reported as an ignored top-level text key
    neighbours = [section] + (["text"] if section == "model" and config.layout is Layout.FLAT and config.family.reads_flat_text else [])
    fields = {k: f"{s}.{k}" for s in neighbours for k in config.family.sections[s].fields if k not in config.present[s]}
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.85)
    return fields[close[0]] if close else None


# Fields whose default depends on other keys of the file: the only ones worth reading again.
DERIVED_FIELDS = frozenset({"rope_parameters", "sliding_window", "num_key_value_heads", "head_dim", "mlp_only_layers", "layer_types", "tie_word_embeddings", "dtype"})


def _default_of(config: Config, section: str, key: str) -> Any:
    sec = config.family.sections[section]
    if key not in sec.fields:
        return None
    if key not in config.present[section]:
        return config.values[section].get(key)
    if key not in DERIVED_FIELDS:
        return copy.deepcopy(sec.fields[key].default)
    raw = dict(config.sections.raw_section(config.data, section))
    for spelling in [k for k in raw if _canonical_key(sec, k) == key]:
        del raw[spelling]
    values, _, _ = _read_section(sec, raw)
    if section == "text":
        _normalize_text(values, raw, config.family)
    return values.get(key)
