"""Bytes of a checkpoint stored with a quantization scheme (AWQ, GPTQ, FP8 blocks), from the config.

Only the linear layers a scheme converts change: their weights are packed, and scales (and
zero points) are added per group of inputs or per block. Everything else (embeddings, norms,
convolutions, routers, the modules a config leaves out) stays in the config's dtype.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass
from typing import Any

from .canonical import describe_value, did_you_mean, is_int, positive_int
from .errors import BadValue
from .schema import load_schema
from .units import DTYPE_OF_CONFIG, DTYPES

SCHEMES = ("awq", "gptq", "fp8")


@dataclass(frozen=True)
class QuantizedBytes:
    scheme: str  # e.g. "awq 4-bit, groups of 128"
    total: int
    quantized_params: int  # parameters in converted layers
    kept_params: int  # parameters left in `kept_dtype`
    kept_dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "bytes": self.total, "quantized_parameters": self.quantized_params, "kept_parameters": self.kept_params, "kept_dtype": self.kept_dtype}


def quantized_bytes(inventory: dict[str, tuple[int, ...]], quantization: Any, config_dtype: Any) -> QuantizedBytes | None:
    """Stored bytes under the config's `quantization_config`, or None for a scheme not modelled here.

    A quantization_config from_pretrained would refuse raises BadValue naming the key."""
    if quantization is None:
        return None
    problems = quantization_problems(quantization)
    if problems:
        raise BadValue(problems[0], hint="`qwencfg validate` lists every problem")
    method = str(quantization.get("quant_method", "")).lower()
    if method not in SCHEMES:
        return None
    kept_dtype = DTYPE_OF_CONFIG.get(str(config_dtype), "fp16" if method in ("awq", "gptq") else "bf16")
    skipped = [str(m) for m in (quantization.get("modules_to_not_convert") or []) + (quantization.get("ignored_layers") or [])]
    total = quantized = kept = 0
    for name, shape in inventory.items():
        if not _converted(name, shape, skipped):
            kept += math.prod(shape)
            total += DTYPES[kept_dtype].bytes_for(math.prod(shape))
            continue
        experts = shape[0] if len(shape) == 3 else 1
        rows, columns = shape[-2], shape[-1]  # out_features, in_features
        quantized += math.prod(shape)
        total += experts * _linear_bytes(method, quantization, rows, columns)
    return QuantizedBytes(_describe(method, quantization), total, quantized, kept, kept_dtype)


def quantization_problems(quantization: Any) -> list[str]:
    """What from_pretrained would refuse in a quantization_config (empty: nothing)."""
    if not isinstance(quantization, dict):
        return [f"model.quantization_config is {describe_value(quantization)}; it must be an object"]
    problems = []
    method = quantization.get("quant_method")
    known = load_schema().quant_methods
    if not isinstance(method, str) or method.lower() not in known:
        problems.append(f"model.quantization_config.quant_method {json.dumps(method)} is not a method transformers knows{did_you_mean(str(method), known)}")
    for key in ("bits", "group_size"):
        if key in quantization and not is_int(quantization[key]):
            problems.append(f"model.quantization_config.{key} is {describe_value(quantization[key])}; it must be an integer")
    block = quantization.get("weight_block_size")
    if block is not None and not (isinstance(block, list) and len(block) == 2 and all(positive_int(b) for b in block)):
        problems.append(f"model.quantization_config.weight_block_size is {json.dumps(block)}; it must be two positive integers")
    for key in ("modules_to_not_convert", "ignored_layers"):
        names = quantization.get(key)
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            problems.append(f"model.quantization_config.{key} is {describe_value(names)}; it must be a list of module names")
    return problems


def _converted(name: str, shape: tuple[int, ...], skipped: list[str]) -> bool:
    """A linear layer the scheme converts: a 2-D (or per-expert 3-D) weight, not an embedding or router."""
    if not name.endswith((".weight", "_proj")) or len(shape) not in (2, 3) or "embed" in name or name.startswith("lm_head"):
        return False
    if name.endswith((".gate.weight", "shared_expert_gate.weight")):
        return False  # routers stay in full precision
    module = name.removesuffix(".weight")
    return not any(module == s or module.startswith(s + ".") or fnmatch.fnmatchcase(module, s) or f".{s}." in f".{module}." for s in skipped)


def _linear_bytes(method: str, quantization: dict, rows: int, columns: int) -> int:
    if method == "fp8":
        block = quantization.get("weight_block_size") or [128, 128]
        scales = math.ceil(rows / block[0]) * math.ceil(columns / block[1])
        return rows * columns + scales * 4  # e4m3 weights, float32 block scales
    bits = int(quantization.get("bits", 4))
    group = int(quantization.get("group_size") or columns)
    group = columns if group <= 0 else group
    groups = math.ceil(columns / group)
    packed = rows * columns * bits // 8
    scales = groups * rows * 2  # float16
    zeros = groups * rows * bits // 8
    g_idx = columns * 4 if method == "gptq" else 0
    return packed + scales + zeros + g_idx


def _describe(method: str, quantization: dict) -> str:
    if method == "fp8":
        block = quantization.get("weight_block_size") or [128, 128]
        return f"fp8 ({quantization.get('fmt', 'e4m3')}), {block[0]}x{block[1]} blocks"
    return f"{method} {quantization.get('bits', 4)}-bit, groups of {quantization.get('group_size')}"
