"""Field names, types, defaults and meanings of every Qwen vision-language config family.

The one source of truth is the installed transformers: `build_schema()` reads its config classes
(strict dataclasses in transformers 5). Importing transformers costs seconds, so the result is kept
as JSON: the copy bundled in the package when the installed transformers is the version it was
built from, otherwise a copy built once and cached per transformers version.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import typing
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from .errors import QwencfgError

SECTIONS = ("vision", "text", "model")
BUNDLED_SCHEMA = Path(__file__).parent / "data" / "schema.json"
SCHEMA_FORMAT = 1


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the annotation as transformers declares it, e.g. "int | None"
    kinds: tuple[str, ...]  # JSON kinds it accepts: int, float, bool, str, null, list, dict
    default: Any
    doc: str
    base: bool  # inherited from PreTrainedConfig (bookkeeping, not architecture)


@dataclass(frozen=True)
class Section:
    name: str
    model_type: str | None
    class_name: str
    fields: dict[str, Field]
    aliases: dict[str, str]  # other spelling -> field name
    default_theta: float | None
    default_rope_type: str | None
    implicit_rope: dict[str, Any] | None  # rope_parameters of the class defaults, after standardization
    mrope_means_default: bool  # `"type": "mrope"` is read as rope_type "default" (qwen2 families)
    tp_plan: dict[str, str]

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
    model_tp_plan: dict[str, str]
    sections: dict[str, Section]
    defaults: dict[str, Any]  # what save_pretrained writes for the class defaults

    @cached_property
    def title(self) -> str:
        return self.config_class.removesuffix("Config")


@dataclass(frozen=True)
class Schema:
    transformers_version: str
    families: dict[str, Family]
    layer_type_remap: dict[str, str]  # legacy layer type names transformers renames on load
    rope_parameter_kinds: dict[str, tuple[str, ...]]  # keys of rope_parameters and their JSON kinds

    def family(self, name: str) -> Family:
        return self.families[name]

    def family_for_architecture(self, architecture: str) -> Family | None:
        return next((f for f in self.families.values() if f.architecture == architecture), None)


def installed_transformers_version() -> str | None:
    """The installed transformers version, read from its dist-info folder (importlib.metadata is slow)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("transformers-") and name.endswith((".dist-info", ".egg-info")):
                return name[len("transformers-") :].rsplit(".", 1)[0]
    import importlib.metadata

    try:
        return importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return None


def _cache_dir() -> Path:
    root = os.environ.get("QWENCFG_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qwencfg"
    )
    return Path(root)


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """Returns the schema of the installed transformers, building and caching it when needed."""
    bundled = json.loads(BUNDLED_SCHEMA.read_text())
    installed = installed_transformers_version()
    if installed is None or installed == bundled["transformers_version"]:
        return _from_json(bundled)
    cached = _cache_dir() / f"schema-transformers-{installed}.json"
    if cached.is_file():
        try:
            data = json.loads(cached.read_text())
            if data.get("format") == SCHEMA_FORMAT:
                return _from_json(data)
        except (OSError, ValueError):
            pass  # a damaged cache is rebuilt below
    print(
        f"qwencfg: reading the config classes of transformers {installed} (once; cached in {cached.parent})",
        file=sys.stderr,
    )
    data = build_schema()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, cached)
    except OSError:
        pass  # an unwritable cache only costs speed
    return _from_json(data)


def _from_json(data: dict) -> Schema:
    if data.get("format") != SCHEMA_FORMAT:
        raise QwencfgError("the bundled schema is of an unknown format; reinstall qwencfg")
    families = {}
    for name, fam in data["families"].items():
        sections = {
            sec_name: Section(
                name=sec_name,
                model_type=sec["model_type"],
                class_name=sec["class_name"],
                fields={k: Field(name=k, **{**v, "kinds": tuple(v["kinds"])}) for k, v in sec["fields"].items()},
                aliases=sec["aliases"],
                default_theta=sec["default_theta"],
                default_rope_type=sec["default_rope_type"],
                implicit_rope=sec["implicit_rope"],
                mrope_means_default=sec["mrope_means_default"],
                tp_plan=sec["tp_plan"],
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
            model_tp_plan=fam["model_tp_plan"],
            sections=sections,
            defaults=fam["defaults"],
        )
    return Schema(
        transformers_version=data["transformers_version"],
        families=families,
        layer_type_remap=data["layer_type_remap"],
        rope_parameter_kinds={k: tuple(v) for k, v in data["rope_parameter_kinds"].items()},
    )


# --- building from transformers (slow: imports transformers' config classes) ---------------------

_KIND_OF_TYPE = {int: "int", float: "float", bool: "bool", str: "str", type(None): "null", dict: "dict"}


def _kinds(annotation: Any) -> list[str]:
    """The JSON kinds a dataclass annotation accepts, e.g. `int | list[int]` -> ["int", "list"]."""
    if isinstance(annotation, str):
        return _kinds_of_text(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        kinds: list[str] = []
        for arg in typing.get_args(annotation):
            kinds += [k for k in _kinds(arg) if k not in kinds]
        return kinds
    if origin in (list, tuple):
        return ["list"]
    if origin is dict or annotation is dict:
        return ["dict"]
    if origin is typing.Literal:
        return ["str"]
    if annotation in _KIND_OF_TYPE:
        return [_KIND_OF_TYPE[annotation]]
    if isinstance(annotation, type) and issubclass(annotation, dict):  # TypedDicts such as RopeParameters
        return ["dict"]
    return ["any"]


def _annotation_text(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    text = re.sub(r"\b(?:typing|builtins|torch|transformers\.[\w.]+)\.", "", text)
    return text.replace("NoneType", "None")


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _arg_docs(cls: type) -> dict[str, str]:
    """First sentence of each argument's description in the class's (auto-generated) docstring."""
    docs: dict[str, str] = {}
    lines = (cls.__doc__ or "").splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)(\w+) \(`", line)
        if not match or match.group(2) in docs:
            continue
        indent = len(match.group(1))
        body = []
        for nxt in lines[i + 1 :]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt.strip())
        text = re.sub(r"\s+", " ", " ".join(body)).strip()
        text = re.sub(r"\[`?([^\]`]+)`?\]\([^)]*\)", r"\1", text)  # markdown links -> their text
        text = text.replace("`", "")
        sentence = re.split(r"(?<=[a-z0-9)\]])\. ", text, maxsplit=1)[0].rstrip(".")
        docs[match.group(2)] = sentence
    return docs


# Keys transformers writes but documents nowhere; everything else comes from its docstrings.
_UNDOCUMENTED = {"transformers_version": "Version of transformers that saved the file"}


def _section(cls: type, name: str, base_names: set[str], base_docs: dict[str, str]) -> dict:
    hints = _type_hints(cls)
    docs = {**_UNDOCUMENTED, **base_docs, **_arg_docs(cls)}
    fields = {}
    for f in dataclasses.fields(cls):
        if name == "model" and f.name in ("text_config", "vision_config"):
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        annotation = hints.get(f.name, f.type)
        fields[f.name] = {
            "type": _annotation_text(annotation),
            "kinds": _kinds(annotation),
            "default": _jsonable(default),
            "doc": docs.get(f.name, ""),
            "base": f.name in base_names,
        }
    attribute_map = getattr(cls, "attribute_map", {}) or {}
    aliases = {}
    for alias, target in attribute_map.items():
        # transformers maps `alias` onto `target`; we name the declared field and accept the other
        if target in fields:
            aliases[alias] = target
        elif alias in fields:
            aliases[target] = alias
    return {
        "model_type": getattr(cls, "model_type", None) or None,
        "class_name": cls.__name__,
        "fields": fields,
        "aliases": aliases,
        "default_theta": getattr(cls, "default_theta", None),
        "default_rope_type": getattr(cls, "default_rope_type", None),
        "implicit_rope": _implicit_rope(cls) if "rope_parameters" in fields else None,
        "mrope_means_default": _mrope_means_default(cls) if "rope_parameters" in fields else False,
        "tp_plan": dict(getattr(cls, "base_model_tp_plan", None) or {}),
    }


def _implicit_rope(cls: type) -> dict[str, Any] | None:
    """The rope parameters transformers fills in when a file gives none (theta, type, partial factor)."""
    if cls.__name__.endswith("Config") and "text_config" in getattr(cls, "sub_configs_defaults", {}):
        return None
    rope = cls().rope_parameters
    return {k: v for k, v in _jsonable(rope).items() if k != "type"} if isinstance(rope, dict) else None


def _mrope_means_default(cls: type) -> bool:
    probe = cls(rope_parameters={"type": "mrope", "mrope_section": [1, 1, 1]})
    return (probe.rope_parameters or {}).get("rope_type") == "default"


def _type_hints(cls: type) -> dict[str, Any]:
    """Resolved field annotations; one naming an unimported module (torch) stays a string."""
    try:
        return typing.get_type_hints(cls)
    except NameError:
        hints: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if not isinstance(f.type, str):
                hints[f.name] = f.type
                continue
            owner = next(k for k in cls.__mro__ if f.name in getattr(k, "__annotations__", {}))
            try:
                hints[f.name] = eval(f.type, vars(sys.modules[owner.__module__]))  # noqa: S307 (library source)
            except Exception:
                hints[f.name] = f.type
        return hints


def _kinds_of_text(annotation: str) -> list[str]:
    """Kinds of an annotation left as text, e.g. "str | torch.dtype | None" -> ["str", "null"]."""
    names = {"int": "int", "float": "float", "bool": "bool", "str": "str", "None": "null", "dict": "dict"}
    kinds = [names[part.strip()] for part in annotation.split("|") if part.strip() in names]
    return kinds or ["any"]


def _reads_flat_text(config_cls: type) -> bool:
    """Probes whether the family reads text keys from the top level when text_config is absent."""
    probe = config_cls(num_hidden_layers=3)
    return getattr(probe.text_config, "num_hidden_layers", None) == 3


def _flat_text_keys(config_cls: type) -> list[str]:
    text_cls = config_cls.sub_configs_defaults["text_config"]
    text_cls = getattr(text_cls, "config_class", text_cls)
    base = {f.name for f in dataclasses.fields(_pretrained_config())}
    own = [f.name for f in dataclasses.fields(text_cls) if f.name not in base]
    return own + ["rope_scaling", "rope_theta"]


def _pretrained_config() -> type:
    from transformers import PreTrainedConfig

    return PreTrainedConfig


def vision_language_families() -> list[str]:
    """Model types of the installed transformers that are Qwen vision-language families."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    found = []
    for model_type in CONFIG_MAPPING_NAMES:
        if not model_type.startswith("qwen") or model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            continue
        subs = getattr(CONFIG_MAPPING[model_type], "sub_configs_defaults", None) or {}
        if set(subs) == {"vision_config", "text_config"}:
            found.append(model_type)
    return sorted(found)


def build_schema() -> dict:
    """Reads the installed transformers' config classes into the schema's JSON form."""
    import logging

    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    base_cls = _pretrained_config()
    base_names = {f.name for f in dataclasses.fields(base_cls)}
    base_docs = _arg_docs(base_cls)
    families = {}
    for model_type in vision_language_families():
        config_cls = CONFIG_MAPPING[model_type]
        subs = config_cls.sub_configs_defaults
        text_cls = getattr(subs["text_config"], "config_class", subs["text_config"])
        vision_cls = getattr(subs["vision_config"], "config_class", subs["vision_config"])
        architecture = MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES[model_type]
        families[model_type] = {
            "architecture": architecture,
            "config_class": config_cls.__name__,
            "reads_flat_text": _reads_flat_text(config_cls),
            "flat_text_keys": _flat_text_keys(config_cls),
            "mrope_section_default": _mrope_section_default(architecture, text_cls),
            "model_tp_plan": _model_tp_plan(architecture),
            "sections": {
                "vision": _section(vision_cls, "vision", base_names, base_docs),
                "text": _section(text_cls, "text", base_names, base_docs),
                "model": _section(config_cls, "model", base_names, base_docs),
            },
            "defaults": json.loads(config_cls().to_json_string()),
        }
    from transformers import configuration_utils

    return {
        "format": SCHEMA_FORMAT,
        "transformers_version": transformers.__version__,
        "families": families,
        "layer_type_remap": dict(getattr(configuration_utils, "_LEGACY_LAYER_TYPE_REMAP", {})),
        "rope_parameter_kinds": _rope_parameter_kinds(),
    }


def _rope_parameter_kinds() -> dict[str, list[str]]:
    from transformers.modeling_rope_utils import RopeParameters

    kinds = {key: _kinds(annotation) for key, annotation in typing.get_type_hints(RopeParameters).items()}
    # Qwen3-VL's interleaving flag is one of the keys transformers skips when validating rope
    # parameters, so RopeParameters does not type it.
    kinds.setdefault("mrope_interleaved", ["bool", "null"])
    return kinds


def _mrope_section_default(architecture: str, text_cls: type) -> list[int] | None:
    """The mrope_section the text rotary embedding falls back to (a default of the modeling code)."""
    import transformers

    module = sys.modules[getattr(transformers, architecture).__module__]
    for name, obj in vars(module).items():
        if name.endswith("RotaryEmbedding") and "Vision" not in name and isinstance(obj, type):
            try:
                section = getattr(obj(config=text_cls()), "mrope_section", None)
            except Exception:  # noqa: BLE001 - a rotary class of another shape: not this one
                continue
            if section is not None:
                return list(section)
    return None


def _model_tp_plan(architecture: str) -> dict[str, str]:
    """The top model's own tp plan (e.g. lm_head); reading it imports the modeling code."""
    import transformers

    return dict(getattr(getattr(transformers, architecture), "_tp_plan", None) or {})


if __name__ == "__main__":  # python -m qwencfg.schema > qwencfg/data/schema.json
    print(json.dumps(build_schema(), indent=1, sort_keys=True))
