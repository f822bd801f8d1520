"""Build the real transformers model of a config: on the meta device, then on a real one.

This is the only module that imports torch, transformers' modeling code and accelerate, and it
does so inside its functions. Weights are never randomly initialised: the model is built on
meta, then each parameter gets empty storage of its dtype on its device. That is what makes
`validate --device` fast: on a GPU the memory is reserved at once; on the CPU the kernel commits
pages as they are first written, which is why the stage checks free memory before allocating.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

from .canonical import Config
from .count import ParameterCount, count_from_inventory
from .errors import MissingDependency

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}
# Room left for buffers, allocator slack and the forward pass when checking that weights fit.
HEADROOM = 1.05


def require_torch() -> None:
    try:
        import accelerate  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            f"building the model needs torch and accelerate ({exc.name} is not installed)",
            hint="install the build extra: pip install 'qwencfg[build]' (see the README for a CPU-only torch)",
        ) from None


def _quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)


def transformers_config(config: Config):
    """The transformers config object of `config` (raises what the config class raises)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    _quiet_transformers()
    return CONFIG_MAPPING[config.family.name].from_dict(dict(config.data))


def check_with_transformers(config: Config) -> tuple[Any, list[str]]:
    """Loads the config in its transformers class; returns it and the warnings transformers logged."""
    import transformers

    _quiet_transformers()
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage().splitlines()[0])

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("transformers")
    transformers.logging.set_verbosity_warning()
    logger.addHandler(handler)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            obj = transformers_config(config)
    finally:
        logger.removeHandler(handler)
        transformers.logging.set_verbosity_error()
    return obj, list(dict.fromkeys(records))


def model_class(config: Config):
    import transformers

    return getattr(transformers, config.family.architecture)


@dataclass
class MetaModel:
    model: Any
    count: ParameterCount
    inventory: dict[str, tuple[int, ...]]


def build_on_meta(config: Config, hf_config=None) -> MetaModel:
    """The real model with parameters on the meta device (buffers stay real, they are small)."""
    require_torch()
    from accelerate import init_empty_weights

    hf_config = hf_config or transformers_config(config)
    with init_empty_weights(include_buffers=False), contextlib.redirect_stderr(io.StringIO()):
        model = model_class(config)(hf_config)
    model.tie_weights()  # what from_pretrained does; construction under init_empty_weights skips it
    inventory = {name: tuple(p.shape) for name, p in model.named_parameters()}
    tied = model.get_output_embeddings() is not None and any(
        p is model.get_input_embeddings().weight for p in [model.get_output_embeddings().weight]
    )
    return MetaModel(model, count_from_inventory(inventory, tied=tied, active=None), inventory)


def weight_bytes(count: ParameterCount, dtype: str) -> int:
    return count.total * DTYPE_BYTES[dtype]


@dataclass
class Placement:
    """Where the weights go: one device, or accelerate's device map over several."""

    devices: list[str]
    device_map: dict[str, str] | None = None
    free_bytes: dict[str, int] = field(default_factory=dict)


def free_memory(device: str) -> int:
    """Bytes free on a device: available RAM for cpu, free memory for a GPU."""
    import torch

    if device == "cpu":
        import psutil

        return psutil.virtual_memory().available
    index = torch.device(device).index or 0
    free, _total = torch.cuda.mem_get_info(index)
    return free


def resolve_devices(device: str) -> list[str]:
    """cpu, cuda, cuda:N or auto (every visible GPU, or the CPU when there is none)."""
    import torch

    if device == "cpu":
        return ["cpu"]
    if device == "auto":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [f"cuda:{i}" for i in range(count)] or ["cpu"]
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MissingDependency(f"--device {device}: no CUDA GPU is visible to torch", hint="check CUDA_VISIBLE_DEVICES and that torch is a CUDA build")
        index = torch.device(device).index or 0
        if index >= torch.cuda.device_count():
            raise MissingDependency(f"--device {device}: only {torch.cuda.device_count()} GPU(s) are visible")
        return [f"cuda:{index}"]
    raise MissingDependency(f"--device {device}: use cpu, cuda, cuda:N, auto or meta")


def plan_placement(meta: MetaModel, devices: list[str], dtype: str) -> Placement:
    """Spreads the model over several devices with accelerate's balanced device map."""
    placement = Placement(devices=devices, free_bytes={d: free_memory(d) for d in devices})
    if len(devices) > 1:
        import torch
        from accelerate import infer_auto_device_map

        max_memory = {int(d.split(":")[1]): int(placement.free_bytes[d] / HEADROOM) for d in devices}
        no_split = getattr(meta.model, "_no_split_modules", None) or []
        device_map = infer_auto_device_map(meta.model, max_memory=max_memory, no_split_module_classes=no_split, dtype=getattr(torch, DTYPES[dtype]))
        placement.device_map = {name: (f"cuda:{d}" if isinstance(d, int) else str(d)) for name, d in device_map.items()}
    return placement


def materialize(meta: MetaModel, placement: Placement, dtype: str) -> dict[str, int]:
    """Gives every parameter storage on its device in `dtype`; returns bytes allocated per device."""
    import torch

    torch_dtype = getattr(torch, DTYPES[dtype])
    model = meta.model
    allocated: dict[str, int] = {d: 0 for d in placement.devices}
    fresh: dict[int, torch.nn.Parameter] = {}  # tied parameters stay one tensor
    for module_name, module in model.named_modules():
        device = _device_of(module_name, placement)
        for name, param in list(module._parameters.items()):
            if param is None:
                continue
            if id(param) not in fresh:
                tensor = torch.empty(param.shape, dtype=torch_dtype, device=device)
                fresh[id(param)] = torch.nn.Parameter(tensor, requires_grad=False)
                allocated[device] = allocated.get(device, 0) + tensor.numel() * tensor.element_size()
            module._parameters[name] = fresh[id(param)]
        for name, buffer in list(module._buffers.items()):
            if buffer is not None:
                module._buffers[name] = buffer.to(device)
                allocated[device] = allocated.get(device, 0) + buffer.numel() * buffer.element_size()
    if placement.device_map:
        from accelerate import dispatch_model

        dispatch_model(model, device_map=placement.device_map)
    return allocated


def _device_of(module_name: str, placement: Placement) -> str:
    if not placement.device_map:
        return placement.devices[0]
    best = ""
    for prefix in placement.device_map:
        if (module_name == prefix or module_name.startswith(prefix + ".") or prefix == "") and len(prefix) >= len(best):
            best = prefix
    return placement.device_map.get(best, placement.devices[0])


def tiny_forward(meta: MetaModel, config: Config, placement: Placement) -> dict[str, Any]:
    """One forward pass of a small random image and a few text tokens; checks the logits."""
    import torch

    model = meta.model
    # Construction on meta marked every module initialised; clear that so transformers' own
    # _init_weights gives each parameter real values (paid for only with --forward).
    for module in model.modules():
        module.__dict__.pop("_is_hf_initialized", None)
        for tensor in [*module._parameters.values(), *module._buffers.values()]:
            if tensor is not None:
                tensor.__dict__.pop("_is_hf_initialized", None)
    with torch.no_grad():
        model.init_weights()
    vision, model_values = config.vision, config.model
    merge, patch, temporal = vision["spatial_merge_size"], vision["patch_size"], vision["temporal_patch_size"]
    grid = (1, 2 * merge, 2 * merge)  # one frame of 2x2 merged tokens
    patches = grid[0] * grid[1] * grid[2]
    image_tokens = patches // (merge * merge)
    device = placement.devices[0]
    generator = torch.Generator().manual_seed(0)
    dtype = next(model.parameters()).dtype
    pixel_values = torch.randn(patches, vision["in_channels"] * temporal * patch * patch, generator=generator).to(device, dtype)
    vocab = config.text["vocab_size"]
    special = {model_values["vision_start_token_id"], model_values["vision_end_token_id"], model_values["image_token_id"], model_values["video_token_id"]}
    text_ids = [i for i in range(1, 64) if i not in special and i < vocab][:3]
    ids = text_ids + [model_values["vision_start_token_id"]] + [model_values["image_token_id"]] * image_tokens + [model_values["vision_end_token_id"]] + text_ids
    input_ids = torch.tensor([ids], device=device)
    # what the processor returns beside input_ids: 0 for text tokens, 1 for image tokens
    token_types = torch.tensor([[1 if i == model_values["image_token_id"] else 0 for i in ids]], device=device)
    with torch.no_grad():
        out = model(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            mm_token_type_ids=token_types,
            pixel_values=pixel_values,
            image_grid_thw=torch.tensor([grid], device=device),
        )
    logits = out.logits
    expected = (1, len(ids), vocab)
    return {
        "tokens": len(ids),
        "image_tokens": image_tokens,
        "logits_shape": list(logits.shape),
        "expected_shape": list(expected),
        "finite": bool(torch.isfinite(logits.float()).all()),
        "ok": tuple(logits.shape) == expected and bool(torch.isfinite(logits.float()).all()),
    }
