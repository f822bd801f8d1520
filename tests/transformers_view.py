"""What transformers itself makes of a config dict: the reference the canonical view is checked against."""

import json
import logging
import tempfile
from pathlib import Path

from qwencfg.schema import load_schema


def _config_class(model_type: str):
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    return CONFIG_MAPPING[model_type]


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if type(value).__module__ == "torch":  # torch.dtype
        return str(value).removeprefix("torch.")
    return value


def transformers_object(data: dict):
    return _config_class(data["model_type"]).from_dict(json.loads(json.dumps(data)))


def transformers_values(data: dict) -> dict[str, dict]:
    """Every schema field of each section, as the transformers config object holds it."""
    config = transformers_object(data)
    family = load_schema().families[data["model_type"]]
    objects = {"vision": config.vision_config, "text": config.text_config, "model": config}
    out = {}
    for section, obj in objects.items():
        values = {}
        for key, field in family.sections[section].fields.items():
            if field.base and key != "dtype":
                continue  # bookkeeping such as id2label, which transformers fills with derived values
            value = _jsonable(getattr(obj, key))
            if key == "rope_parameters" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "type"}
            values[key] = value
        out[section] = values
    return out


def saved_by_transformers(data: dict) -> dict:
    """The file transformers 5 writes for `data` with save_pretrained."""
    config = transformers_object(data)
    with tempfile.TemporaryDirectory() as folder:
        config.save_pretrained(folder)
        return json.loads((Path(folder) / "config.json").read_text())
