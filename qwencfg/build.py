"""Build the real transformers model of a config: on the meta device, then on a real one.

This is the module that imports torch, transformers' modeling code and accelerate, and it does
so inside its functions. The model is constructed under `torch.device("meta")`, so nothing
proportional to its size is ever allocated, not even parameters a module creates before it
registers them. On a real device every parameter gets storage of its dtype, and the storage is
written, so a build that passes has really committed its memory. Weights are never randomly
initialised unless a forward pass asks for them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from .canonical import Config
from .count import ParameterCount, count_from_inventory
from .errors import MissingDependency
from .units import DTYPES

# Room left for buffers, allocator slack and the forward pass when checking that weights fit.
HEADROOM = 1.05
# A CPU build stops (and fails) when available memory falls below this while it commits pages.
CPU_RESERVE = 256 << 20
INSTALL_HINT = "install the build extra: pip install 'qwencfg[build]' (the README has the torch line for CPU-only machines)"


def missing_build_packages() -> list[str]:
    """The packages a model build needs that are not installed (torch, accelerate)."""
    import importlib.util

    return [name for name in ("torch", "accelerate") if importlib.util.find_spec(name) is None]


def require_torch() -> None:
    missing = missing_build_packages()
    if missing:
        raise MissingDependency(f"building the model needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed", hint=INSTALL_HINT)


def import_transformers():
    """transformers, imported without its advice that PyTorch is missing: the stages that need
    torch say so themselves, and the config class needs none."""
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import transformers

    return transformers


def quiet_transformers() -> None:
    transformers = import_transformers()
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)


def transformers_config(config: Config):
    """The transformers config object of `config` (raises what the config class raises)."""
    quiet_transformers()
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return CONFIG_MAPPING[config.family.name].from_dict(dict(config.data))


@dataclass(frozen=True)
class LoggedWarning:
    category: str  # the logger that said it (transformers.configuration_utils, ...)
    message: str


def check_with_transformers(config: Config) -> tuple[Any, list[LoggedWarning]]:
    """Loads the config in its transformers class; returns it and the warnings transformers logged."""
    import warnings

    transformers = import_transformers()
    quiet_transformers()
    records: list[LoggedWarning] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(LoggedWarning(record.name, record.getMessage().splitlines()[0]))

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("transformers")
    transformers.logging.set_verbosity_warning()
    logger.addHandler(handler)
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj = transformers_config(config)
    finally:
        logger.removeHandler(handler)
        transformers.logging.set_verbosity_error()
    records += [LoggedWarning(w.category.__name__, str(w.message).splitlines()[0]) for w in caught]
    unique = list({(r.category, r.message): r for r in records}.values())
    return obj, unique


def model_class(config: Config):
    return getattr(import_transformers(), config.family.architecture)


@dataclass
class MetaModel:
    model: Any
    count: ParameterCount
    inventory: dict[str, tuple[int, ...]]


def build_on_meta(config: Config, hf_config=None) -> MetaModel:
    """The real model with every parameter and buffer on the meta device: no memory of its size."""
    require_torch()
    import torch

    hf_config = hf_config or transformers_config(config)
    with torch.device("meta"), contextlib.redirect_stderr(io.StringIO()):
        model = model_class(config)(hf_config)
    inventory = {name: tuple(p.shape) for name, p in model.named_parameters()}
    output = model.get_output_embeddings()
    tied = output is not None and output.weight is model.get_input_embeddings().weight
    return MetaModel(model, count_from_inventory(inventory, tied=tied, active=None), inventory)


@dataclass
class DevicePlan:
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
        try:
            index = torch.device(device).index or 0
        except RuntimeError:
            raise MissingDependency(f"--device {device}: not a device name", hint="use cuda or cuda:N") from None
        if index >= torch.cuda.device_count():
            raise MissingDependency(f"--device {device}: only {torch.cuda.device_count()} GPU(s) are visible")
        return [f"cuda:{index}"]
    raise MissingDependency(f"--device {device}: use cpu, cuda, cuda:N, auto or meta")


def plan_devices(meta: MetaModel, devices: list[str], dtype: str) -> DevicePlan:
    """Spreads the model over several devices with accelerate's balanced device map."""
    plan = DevicePlan(devices=devices, free_bytes={d: free_memory(d) for d in devices})
    if len(devices) > 1:
        import torch
        from accelerate import infer_auto_device_map

        max_memory = {int(d.split(":")[1]): int(plan.free_bytes[d] / HEADROOM) for d in devices}
        no_split = getattr(meta.model, "_no_split_modules", None) or []
        device_map = infer_auto_device_map(meta.model, max_memory=max_memory, no_split_module_classes=no_split, dtype=getattr(torch, DTYPES[dtype].torch_name))
        plan.device_map = {name: (f"cuda:{d}" if isinstance(d, int) else str(d)) for name, d in device_map.items()}
    return plan


class OutOfMemory(Exception):
    """Committing the weights' pages would leave the machine without memory."""

    def __init__(self, committed: int, needed: int):
        super().__init__(committed, needed)
        self.committed, self.needed = committed, needed


def materialize(meta: MetaModel, plan: DevicePlan, dtype: str, available: Callable[[], int] | None = None) -> dict[str, int]:
    """Gives every parameter storage on its device in `dtype` and writes it; returns bytes per device.

    Writing commits the pages (an untouched CPU allocation is only a promise). On the CPU,
    `available()` is asked between tensors: below CPU_RESERVE the build stops with OutOfMemory
    instead of letting the kernel kill the process."""
    import torch

    torch_dtype = getattr(torch, DTYPES[dtype].torch_name)
    model = meta.model
    needed = DTYPES[dtype].bytes_for(meta.count.total)
    allocated: dict[str, int] = {d: 0 for d in plan.devices}
    fresh: dict[int, torch.nn.Parameter] = {}  # tied parameters stay one tensor
    with torch.no_grad():
        for module_name, module in model.named_modules():
            device = _device_of(module_name, plan)
            for name, param in list(module._parameters.items()):
                if param is None:
                    continue
                if id(param) not in fresh:
                    if device == "cpu" and available is not None and available() < CPU_RESERVE + param.numel() * torch_dtype.itemsize:
                        raise OutOfMemory(sum(allocated.values()), needed)
                    tensor = torch.empty(param.shape, dtype=torch_dtype, device=device)
                    tensor.zero_()  # commits the memory
                    fresh[id(param)] = torch.nn.Parameter(tensor, requires_grad=False)
                    allocated[device] = allocated.get(device, 0) + tensor.numel() * tensor.element_size()
                module._parameters[name] = fresh[id(param)]
            for name, buffer in list(module._buffers.items()):
                if buffer is not None:
                    real = torch.zeros_like(buffer, device=device) if buffer.is_meta else buffer.to(device)
                    module._buffers[name] = real
                    allocated[device] = allocated.get(device, 0) + real.numel() * real.element_size()
        _init_rotary_buffers(model)
    if plan.device_map:
        from accelerate import dispatch_model

        dispatch_model(model, device_map=plan.device_map)
    return allocated


def _init_rotary_buffers(model: Any) -> None:
    """Recomputes the rotary embeddings' frequency buffers, which were built on meta."""
    for module in model.modules():
        if "RotaryEmbedding" in type(module).__name__ and hasattr(module, "original_inv_freq"):
            model._init_weights(module)


def _device_of(module_name: str, plan: DevicePlan) -> str:
    if not plan.device_map:
        return plan.devices[0]
    best = ""
    for prefix in plan.device_map:
        if (module_name == prefix or module_name.startswith(prefix + ".") or prefix == "") and len(prefix) >= len(best):
            best = prefix
    return plan.device_map.get(best, plan.devices[0])


def forward_inputs(config: Config, device: str, dtype: Any) -> dict[str, Any]:
    """A processor-free input: a few text tokens around one random image of 2x2 merged patches."""
    import torch

    vision, model_values = config.vision, config.model
    merge, patch, temporal = vision["spatial_merge_size"], vision["patch_size"], vision["temporal_patch_size"]
    grid = (1, 2 * merge, 2 * merge)  # one frame of 2x2 merged tokens
    patches = grid[0] * grid[1] * grid[2]
    image_tokens = patches // (merge * merge)
    generator = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(patches, vision["in_channels"] * temporal * patch * patch, generator=generator).to(device, dtype)
    vocab = config.text["vocab_size"]
    start, end, image = model_values["vision_start_token_id"], model_values["vision_end_token_id"], model_values["image_token_id"]
    special = {start, end, image, model_values["video_token_id"]}
    text_ids = [i for i in range(1, 64) if i not in special and i < vocab][:3]
    ids = text_ids + [start] + [image] * image_tokens + [end] + text_ids
    input_ids = torch.tensor([ids], device=device)
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        # what the processor returns beside input_ids: 0 for text tokens, 1 for image tokens
        "mm_token_type_ids": (input_ids == image).long(),
        "pixel_values": pixel_values,
        "image_grid_thw": torch.tensor([grid], device=device),
    }


def tiny_forward(meta: MetaModel, config: Config, plan: DevicePlan) -> dict[str, Any]:
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
    inputs = forward_inputs(config, plan.devices[0], next(model.parameters()).dtype)
    with torch.no_grad():
        logits = model(**inputs).logits
    ids = inputs["input_ids"]
    expected = (1, ids.shape[1], config.text["vocab_size"])
    finite = bool(torch.isfinite(logits.float()).all())
    return {
        "tokens": int(ids.shape[1]),
        "image_tokens": int(inputs["mm_token_type_ids"].sum()),
        "logits_shape": list(logits.shape),
        "expected_shape": list(expected),
        "finite": finite,
        "ok": tuple(logits.shape) == expected and finite,
    }
