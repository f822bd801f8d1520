"""Builds the real model of a config on the meta device: the reference for the analytic count."""

import logging

import torch

from .transformers_view import transformers_object


def meta_inventory(data: dict) -> dict[str, tuple[int, ...]]:
    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    config = transformers_object(data)
    model_class = getattr(transformers, config.architectures[0] if config.architectures else _architecture(config))
    with torch.device("meta"):
        model = model_class(config)
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def _architecture(config) -> str:
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    return MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES[config.model_type]
