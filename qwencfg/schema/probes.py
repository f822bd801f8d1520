"""What the schema learns by building tiny models of each family (needs torch; without it the
answers of the bundled schema are kept).

- Which integer keys must be positive. transformers' config classes accept `hidden_size: 0`; the
  modeling code does not. For every integer field, a tiny model is built with that field set to
  0: if the build or a forward pass fails, or the model comes out with other tensors, the field
  is a size or a count the model is built around, and `set` and the rules require it to be >= 1.
- Where the modules a device map cannot split live (`_no_split_modules`: decoder layers, vision
  blocks), as parameter-name patterns, for the largest-layer figure of `estimate`.
- The model's whole tensor-parallel plan, as transformers merges it from the model class, the
  text config and its own additions (it shards the input embeddings too).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import re
import warnings
from typing import Any

from ..tiny import tiny_config
from .records import BUNDLED_SCHEMA, SECTIONS, from_json


def probe_models(data: dict) -> None:
    """Sets `positive` on the fields and `no_split_paths` on the families of `data` (the schema's JSON form)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        _copy_bundled_answers(data)
        return
    probe_positive_sizes(data)
    for family in from_json(data).families.values():
        model = _meta_model(family)
        if model is None:  # a family whose tiny model cannot be built has none recorded
            continue
        classes = set(getattr(type(model), "_no_split_modules", None) or [])
        paths = {re.sub(r"\.\d+$", ".*", name) for name, module in model.named_modules() if type(module).__name__ in classes}
        data["families"][family.name]["no_split_paths"] = sorted(paths)
        data["families"][family.name]["tp_plan"] = dict(model.tp_plan or {})


def _meta_model(family: Any) -> Any:
    import torch
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    try:
        with contextlib.redirect_stderr(io.StringIO()), torch.device("meta"):
            return getattr(transformers, family.architecture)(CONFIG_MAPPING[family.name].from_dict(tiny_config(family)))
    except Exception:  # noqa: BLE001
        return None


def probe_positive_sizes(data: dict) -> None:
    """Sets `positive` on the fields of `data` (the schema's JSON form) in place."""
    schema = from_json(data)
    found: dict[str, set[tuple[str, str]]] = {}  # family -> (section, key) the model needs positive
    for family in schema.families.values():
        base = tiny_config(family)
        try:
            baseline = _outcome(family, base)
        except Exception:  # noqa: BLE001 - a family whose tiny model cannot be built takes the others' answers
            continue
        found[family.name] = set()
        for section in SECTIONS:
            for key, field in family.sections[section].fields.items():
                if field.base or "int" not in field.kinds or key.endswith("token_id"):
                    continue
                try:
                    outcome = _outcome(family, _with_zero(base, section, key))
                except Exception:  # noqa: BLE001 - refused: the model needs it positive
                    outcome = None
                if outcome != baseline:
                    found[family.name].add((section, key))
    union = set().union(*found.values())
    for name, family in data["families"].items():
        positive = found.get(name, union)
        for section, sec in family["sections"].items():
            for key, field in sec["fields"].items():
                field["positive"] = (section, key) in positive


def _with_zero(base: dict, section: str, key: str) -> dict:
    data = copy.deepcopy(base)
    holder = {"vision": data["vision_config"], "text": data["text_config"], "model": data}[section]
    holder[key] = 0
    if section == "text":
        holder.pop("layer_types", None)
    return data


def _outcome(family: Any, data: dict) -> tuple:
    """The model's tensor shapes and the shape of one forward pass's logits."""
    import torch
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    model_class = getattr(transformers, family.architecture)
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a size of 0 is the point of the probe: torch says so
        config = CONFIG_MAPPING[family.name].from_dict(json.loads(json.dumps(data)))
        with torch.device("meta"):
            shapes = tuple((n, tuple(p.shape)) for n, p in model_class(config).named_parameters())
        torch.manual_seed(0)
        model = model_class(config).eval()
        logits = _forward(model, data)
    return shapes, logits


def _forward(model: Any, data: dict) -> tuple[int, ...]:
    import torch

    vision, text = data["vision_config"], data["text_config"]
    merge, patch, temporal = vision["spatial_merge_size"], vision["patch_size"], vision["temporal_patch_size"]
    grid = (1, 2 * merge, 2 * merge)
    patches = grid[0] * grid[1] * grid[2]
    pixel_values = torch.randn(patches, vision["in_channels"] * temporal * patch * patch)
    ids = [5, 6, data["vision_start_token_id"]] + [data["image_token_id"]] * (patches // merge**2) + [data["vision_end_token_id"], 7]
    input_ids = torch.tensor([ids])
    token_types = (input_ids == data["image_token_id"]).long()
    with torch.no_grad():
        out = model(input_ids=input_ids, mm_token_type_ids=token_types, pixel_values=pixel_values, image_grid_thw=torch.tensor([grid]))
    if not torch.isfinite(out.logits).all() or text["vocab_size"] != out.logits.shape[-1]:
        raise ValueError("the forward pass gave no usable logits")
    return tuple(out.logits.shape)


def _copy_bundled_answers(data: dict) -> None:
    bundled = json.loads(BUNDLED_SCHEMA.read_text())
    for name, family in data["families"].items():
        family["no_split_paths"] = bundled["families"].get(name, {}).get("no_split_paths", [])
        family["tp_plan"] = bundled["families"].get(name, {}).get("tp_plan", {})
    positive = {
        (section, key)
        for family in bundled["families"].values()
        for section, sec in family["sections"].items()
        for key, field in sec["fields"].items()
        if field.get("positive")
    }
    for family in data["families"].values():
        for section, sec in family["sections"].items():
            for key, field in sec["fields"].items():
                field["positive"] = (section, key) in positive
