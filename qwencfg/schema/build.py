"""Builds the schema from the installed transformers: its config classes, probed once.

Slow (imports transformers and, for the positivity probe, torch); `python -m qwencfg.schema`
writes the bundled copy, `load_schema()` a cached one for another transformers version.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import types
import typing
from typing import Any

from .records import SCHEMA_FORMAT

_KIND_OF_TYPE = {int: "int", float: "float", bool: "bool", str: "str", type(None): "null", dict: "dict"}


def _kinds(annotation: Any) -> list[str]:
    """The JSON kinds a dataclass annotation accepts, e.g. `int | list[int]` -> ["int", "list"]."""
    if isinstance(annotation, str):
        return _kinds_of_text(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
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


def _item_kinds(annotation: Any) -> list[str] | None:
    """The JSON kinds of a list's items, e.g. `list[int] | tuple[int, ...] | None` -> ["int"]."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found = [k for arg in typing.get_args(annotation) for k in (_item_kinds(arg) or [])]
        return list(dict.fromkeys(found)) or None
    if origin in (list, tuple):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return list(dict.fromkeys(k for a in args for k in _kinds(a))) if args else None
    return None


def _literal_choices(annotation: Any) -> list[str] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [str(a) for a in typing.get_args(annotation)]
    if origin in (typing.Union, types.UnionType):
        found = [c for arg in typing.get_args(annotation) for c in (_literal_choices(arg) or [])]
        return found or None
    return None


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


def _section(cls: type, name: str, base_names: set[str], base_docs: dict[str, str], activations: list[str], dtypes: list[str]) -> dict:
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
        kinds = _kinds(annotation)
        choices = _literal_choices(annotation)
        if f.name.endswith("hidden_act") and "str" in kinds:
            choices = activations  # the modeling code looks the name up in ACT2FN
        if f.name == "dtype" and "str" in kinds:
            choices = dtypes  # torch.<name>, or "auto"
        fields[f.name] = {
            "type": _annotation_text(annotation),
            "kinds": kinds,
            "items": _item_kinds(annotation),
            "choices": choices,
            "positive": False,  # set by probes.probe_positive_sizes
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
        "default_rope_type": getattr(cls, "default_rope_type", None),
        "implicit_rope": _implicit_rope(cls) if "rope_parameters" in fields else None,
        "mrope_means_default": _mrope_means_default(cls) if "rope_parameters" in fields else False,
        "derives": {},  # filled for the text section from the layer-type probe
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


def _sub_config_class(config_cls: type, name: str) -> type:
    """The class of a sub-config (`text_config`, `vision_config`) of a vision-language config class."""
    sub = config_cls.sub_configs_defaults[name]
    return getattr(sub, "config_class", sub)


def _flat_text_keys(config_cls: type) -> list[str]:
    text_cls = _sub_config_class(config_cls, "text_config")
    base = {f.name for f in dataclasses.fields(_pretrained_config())}
    own = [f.name for f in dataclasses.fields(text_cls) if f.name not in base]
    return own + ["rope_scaling", "rope_theta"]


def _layer_types(text_cls: type, remap: dict[str, str]) -> dict[str, Any]:
    """How the text config derives layer_types, probed by building it with a few layer counts."""
    names = {f.name for f in dataclasses.fields(text_cls)}
    if "layer_types" not in names:
        return {"derived_from": None, "interval_default": None, "full_attention": "full_attention", "built": ["full_attention"], "remap": remap}
    full = text_cls(num_hidden_layers=1, layer_types=["full_attention"]).layer_types[0]
    family_remap = {**remap, **({"full_attention": full} if full != "full_attention" else {})}
    if "max_window_layers" in names:
        probe = text_cls(num_hidden_layers=4, use_sliding_window=True, sliding_window=16, max_window_layers=2).layer_types
        return {"derived_from": "max_window_layers", "interval_default": None, "full_attention": full, "built": sorted(set(probe)), "remap": family_remap}
    probe = text_cls(num_hidden_layers=64).layer_types
    interval = probe.index(full) + 1 if full in probe else None
    return {"derived_from": "full_attention_interval", "interval_default": interval, "full_attention": full, "built": sorted(set(probe)), "remap": family_remap}


def _vision_tower(vision_fields: dict) -> str | None:
    """Which parameter formula fits the vision tower, told apart by the keys its config declares."""
    if "embed_dim" in vision_fields:
        return "qwen2_vl"  # fc1/fc2 MLP sized by mlp_ratio, merger to hidden_size
    if "num_position_embeddings" in vision_fields:
        return "qwen3_vl"  # learned position embeddings, deepstack mergers
    if "fullatt_block_indexes" in vision_fields:
        return "qwen2_5_vl"  # gated MLP, window attention
    return None


def _text_stack(text_fields: dict) -> str | None:
    """Which parameter formula fits the text decoder, told apart by the keys its config declares."""
    if "hc_count" in text_fields:
        return None  # hyper-connections and n-gram embeddings: counted on the meta device only
    if "linear_conv_kernel_dim" in text_fields:
        return "qwen3_5_moe" if "shared_expert_intermediate_size" in text_fields else "qwen3_5"
    if "num_experts" in text_fields:
        return "qwen3_moe"
    return "qwen3" if "head_dim" in text_fields else "qwen2"


def _pretrained_config() -> type:
    from transformers import PreTrainedConfig

    return PreTrainedConfig


def vision_language_families() -> list[str]:
    """Model types of the installed transformers that are Qwen vision-language families."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING, CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

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
    from transformers import configuration_utils
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    base_cls = _pretrained_config()
    base_names = {f.name for f in dataclasses.fields(base_cls)}
    base_docs = _arg_docs(base_cls)
    activations = _activation_names()
    dtypes = _dtype_names()
    remap = dict(getattr(configuration_utils, "_LEGACY_LAYER_TYPE_REMAP", {}))
    families = {}
    for model_type in vision_language_families():
        config_cls = CONFIG_MAPPING[model_type]
        text_cls, vision_cls = _sub_config_class(config_cls, "text_config"), _sub_config_class(config_cls, "vision_config")
        architecture = MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES[model_type]
        sections = {
            "vision": _section(vision_cls, "vision", base_names, base_docs, activations, dtypes),
            "text": _section(text_cls, "text", base_names, base_docs, activations, dtypes),
            "model": _section(config_cls, "model", base_names, base_docs, activations, dtypes),
        }
        layer_types = _layer_types(text_cls, remap)
        if "layer_types" in sections["text"]["fields"]:
            sections["text"]["fields"]["layer_types"]["choices"] = layer_types["built"]
        if layer_types["derived_from"] == "full_attention_interval" and "full_attention_interval" not in sections["text"]["fields"]:
            sections["text"]["derives"] = {"full_attention_interval": "layer_types"}
        model_cls = getattr(transformers, architecture)
        families[model_type] = {
            "architecture": architecture,
            "config_class": config_cls.__name__,
            "reads_flat_text": _reads_flat_text(config_cls),
            "flat_text_keys": _flat_text_keys(config_cls),
            "mrope_section_default": _mrope_section_default(architecture, text_cls),
            "tp_plan": {},  # filled by the probes
            "sections": sections,
            "defaults": json.loads(config_cls().to_json_string()),
            "layer_types": layer_types,
            "vision_tower": _vision_tower(sections["vision"]["fields"]),
            "text_stack": _text_stack(sections["text"]["fields"]),
            "skipped_checkpoint_keys": list(getattr(model_cls, "_keys_to_ignore_on_load_unexpected", None) or []),
            "no_split_paths": [],  # filled by the probes
        }
    data = {
        "format": SCHEMA_FORMAT,
        "transformers_version": transformers.__version__,
        "families": families,
        "rope_parameter_kinds": _rope_parameter_kinds(),
        "rope_types": _rope_types(),
        "activations": activations,
        "attention_layer_types": list(getattr(configuration_utils, "ALLOWED_ATTN_LAYER_TYPES", ())),
        "rope_required": _rope_required_keys(families),
        "read_when_present": _generic_config_attributes(),
        "quant_methods": _quant_methods(),
        "dtypes": dtypes,
    }
    from .probes import probe_models

    probe_models(data)
    return data


def _activation_names() -> list[str]:
    """The keys of transformers' activation table; read from its source when torch is missing."""
    try:
        from transformers.activations import ACT2CLS
    except ImportError:  # the module imports torch at its top
        import ast
        import importlib.util

        tree = ast.parse(open(importlib.util.find_spec("transformers.activations").origin).read())
        table = next(n.value for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "ACT2CLS" for t in n.targets))
        return sorted(key.value for key in table.keys)
    return sorted(ACT2CLS)


def _rope_required_keys(families: dict) -> dict[str, list[str]]:
    """The keys each rope type needs besides rope_theta, asked of a text config class."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model_type = next(name for name, fam in families.items() if "rope_parameters" in fam["sections"]["text"]["fields"])
    text_cls = _sub_config_class(CONFIG_MAPPING[model_type], "text_config")
    required = {}
    for rope_type in _rope_types():
        try:
            text_cls(rope_parameters={"rope_type": rope_type, "rope_theta": 10000.0, "mrope_section": [1, 1, 1]})
            required[rope_type] = []
        except KeyError as exc:
            required[rope_type] = sorted(re.findall(r"'(\w+)'", str(exc).split(":", 1)[-1]))
        except Exception:  # noqa: BLE001 - refused for another reason: nothing to learn
            required[rope_type] = []
    return required


# transformers' model-independent modules that read the decoder's (text) config for the cache and masks
_GENERIC_MODULES = ("cache_utils", "masking_utils")


def _generic_config_attributes() -> list[str]:
    """Text-config attributes transformers' cache and masks read when a config has them
    (`getattr(config, "sliding_window", None)`): set in a file, one changes the model even where no
    class declares it."""
    import ast
    import importlib.util

    names: set[str] = set()
    for module in _GENERIC_MODULES:
        spec = importlib.util.find_spec(f"transformers.{module}")
        if spec is None or spec.origin is None:
            continue
        for node in ast.walk(ast.parse(open(spec.origin).read())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and len(node.args) >= 2:
                holder, name = node.args[0], node.args[1]
                if "config" in ast.unparse(holder) and isinstance(name, ast.Constant) and isinstance(name.value, str) and not name.value.startswith("_"):
                    names.add(name.value)
    return sorted(names)


def _quant_methods() -> list[str]:
    """The quant_method values from_pretrained knows."""
    try:
        from transformers.quantizers.auto import AUTO_QUANTIZATION_CONFIG_MAPPING
    except ImportError:
        return _bundled_list("quant_methods")
    return sorted(AUTO_QUANTIZATION_CONFIG_MAPPING)


def _dtype_names() -> list[str]:
    """What a config's dtype may say: a torch dtype's name, or "auto"."""
    try:
        import torch
    except ImportError:
        return _bundled_list("dtypes")
    return sorted({"auto", *(name for name in dir(torch) if isinstance(getattr(torch, name), torch.dtype))})


def _bundled_list(key: str) -> list[str]:
    from .records import BUNDLED_SCHEMA

    return json.loads(BUNDLED_SCHEMA.read_text()).get(key, [])


def _rope_types() -> list[str]:
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    return sorted({"default", *ROPE_INIT_FUNCTIONS})


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


