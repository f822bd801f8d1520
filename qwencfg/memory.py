"""Memory a config needs: weights per dtype, training with Adam, the KV cache, tensor-parallel ranks.

From the config alone, offline, without torch: what `accelerate estimate-memory` answers, with
bytes labelled by the dtype they are in. Conventions follow accelerate where it has them:
- the largest layer is the biggest module a device map cannot split (a decoder layer, a vision
  block, or a leaf module such as the embedding or lm_head);
- training with Adam (`estimate_training_usage`): in fp32, gradients = weights, optimizer = 2x,
  peak = 4x the fp32 weights; in bf16/fp16 mixed precision, gradients = 1.5x, optimizer = 2x,
  peak = 2x the fp32 weights.
accelerate counts buffers (rotary frequencies, a few KB) too; these figures are parameters only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .canonical import Config, positive_int
from .count import CheckpointCount, CountUnavailable, count_checkpoint, mtp_inventory, parameter_inventory
from .derived import attention_layers, text_head_dim, vision_tokens
from .errors import BadValue
from .parallel import check_tensor_parallel
from .quantization import QuantizedBytes, quantized_bytes
from .units import DTYPE_OF_CONFIG, DTYPES

WEIGHT_DTYPES = ("fp32", "bf16", "fp8", "int4")  # bf16 stands for fp16 too, fp8 for int8
# transformers' Qwen2VLImageProcessor defaults (size.shortest_edge / longest_edge), which every
# Qwen vision-language processor in transformers uses unless a checkpoint's preprocessor_config says otherwise.
MIN_PIXELS, MAX_PIXELS = 56 * 56, 28 * 28 * 1280
# accelerate's estimate_training_usage, in multiples of the fp32 weight bytes.
TRAINING = {
    "fp32": {"weights": 1.0, "gradients": 1.0, "optimizer": 2.0, "peak": 4.0},
    "mixed": {"weights": 1.0, "gradients": 1.5, "optimizer": 2.0, "peak": 2.0},
}


@dataclass(frozen=True)
class LargestLayer:
    names: list[str]  # every module of that size (an untied embedding and lm_head are often twins)
    parameters: int


@dataclass(frozen=True)
class KVCache:
    tokens: int
    batch: int
    dtype: str
    attention_bytes: int  # K and V of the full- and sliding-attention layers
    linear_state_bytes: int  # conv and recurrent states of linear-attention layers (a fixed size)
    attention_layers: int
    linear_layers: int

    @property
    def total(self) -> int:
        return self.attention_bytes + self.linear_state_bytes


@dataclass(frozen=True)
class VisionTokens:
    width: int
    height: int
    resized: tuple[int, int]  # width, height after transformers' smart_resize
    tokens: int
    min_pixels: int
    max_pixels: int


@dataclass(frozen=True)
class RankShare:
    size: int
    ok: bool
    bytes_per_rank: int
    replicated_bytes: int
    problems: list[str]


@dataclass
class Estimate:
    config: Config
    count: CheckpointCount
    weights: dict[str, int]  # dtype -> bytes of the transformers model
    checkpoint_weights: dict[str, int]  # dtype -> bytes of the checkpoint (with MTP layers)
    largest: LargestLayer
    training: dict[str, dict[str, int]]  # fp32 | mixed -> weights, gradients, optimizer, peak
    groups: dict[str, int]  # where the parameters are: vision, text layers, embeddings, lm_head, mtp
    kv: KVCache | None
    vision: VisionTokens | None
    tp: list[RankShare] = field(default_factory=list)
    tp_dtype: str = "bf16"
    quantized: QuantizedBytes | None = None


def estimate(
    config: Config,
    context: int = 32768,
    batch: int = 1,
    image: tuple[int, int] | None = (448, 448),
    tp: tuple[int, ...] = (),
    dtype: str | None = None,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = MAX_PIXELS,
) -> Estimate:
    """Memory figures for `config`; `dtype` (default: the config's, else bf16) prices the KV cache and tp ranks."""
    for name, value in (("--context", context), ("--batch", batch)):
        if not (isinstance(value, int) and 1 <= value <= 2**40):
            raise BadValue(f"{name} {value} must be a whole number from 1 to 2^40")
    if not 1 <= min_pixels <= max_pixels:
        raise BadValue(f"--min-pixels {min_pixels} and --max-pixels {max_pixels}: the smallest image must be at least 1 pixel and no larger than the largest")
    try:
        count = count_checkpoint(config)
    except CountUnavailable as exc:
        raise BadValue(f"{config.raw.origin.label}: cannot estimate: {exc}") from None
    inventory = parameter_inventory(config)
    dtype = dtype or DTYPE_OF_CONFIG.get(str(config.model.get("dtype")), "bf16")
    if dtype not in DTYPES:
        raise BadValue(f"--dtype {dtype}: use one of {', '.join(DTYPES)}")
    fp32 = DTYPES["fp32"].bytes_for(count.model.total)
    shares = check_tensor_parallel(config, inventory, list(tp), DTYPES[dtype]) if tp else []
    return Estimate(
        config=config,
        count=count,
        weights={d: DTYPES[d].bytes_for(count.model.total) for d in WEIGHT_DTYPES},
        checkpoint_weights={d: DTYPES[d].bytes_for(count.total) for d in WEIGHT_DTYPES},
        largest=largest_layer(config, inventory),
        training={mode: {k: int(v * fp32) for k, v in factors.items()} for mode, factors in TRAINING.items()},
        groups=parameter_groups(count),
        kv=kv_cache(config, context, batch, dtype),
        vision=image_tokens(config, image, min_pixels, max_pixels) if image else None,
        tp=[RankShare(c.size, c.ok, c.bytes_per_rank, c.replicated_bytes, c.problems) for c in shares],
        tp_dtype=dtype,
        quantized=quantized_bytes({**inventory, **mtp_inventory(config)}, config.model.get("quantization_config"), config.model.get("dtype")),
    )


def largest_layer(config: Config, inventory: dict[str, tuple[int, ...]]) -> LargestLayer:
    """The biggest module a device map cannot split: a no-split module or a leaf module."""
    patterns = [re.compile("^" + re.escape(p).replace(r"\*", r"\d+") + r"\.") for p in config.family.no_split_paths]
    sizes: dict[str, int] = {}
    for name, shape in inventory.items():
        match = next((m for m in (p.match(name) for p in patterns) if m), None)
        module = match.group(0)[:-1] if match else name.rsplit(".", 1)[0]
        sizes[module] = sizes.get(module, 0) + math.prod(shape)
    largest = max(sizes.values())
    return LargestLayer([m for m, n in sizes.items() if n == largest], largest)


def parameter_groups(count: CheckpointCount) -> dict[str, int]:
    """Parameters by where they are: the vision tower, the text layers, the embeddings, lm_head, MTP."""
    components = count.model.components
    groups = {
        "vision": count.model.group("vision"),
        "text layers": sum(components.get(c, 0) for c in ("text.layers", "text.norm", "other")),  # decoder layers and the final norm
        "embeddings": components.get("text.embed_tokens", 0),
        "lm_head": components.get("lm_head", 0),
    }
    if count.mtp:
        groups["mtp"] = count.mtp
    return groups


def kv_cache(config: Config, tokens: int, batch: int, dtype: str) -> KVCache | None:
    """Cache bytes for `batch` sequences of `tokens` tokens: K and V per attention layer (a sliding
    layer holds at most its window), plus the fixed-size state of each linear-attention layer."""
    head_dim, kv_heads = text_head_dim(config), positive_int(config.text.get("num_key_value_heads"))
    if not head_dim or not kv_heads:
        return None
    full, sliding, linear = attention_layers(config)
    window = positive_int(config.text.get("sliding_window")) or tokens
    per_token = DTYPES[dtype].bytes_for(2 * kv_heads * head_dim)
    attention = per_token * batch * (full * tokens + sliding * min(tokens, window))
    state = 0
    if linear:
        t = config.text
        key_dim = t["linear_num_key_heads"] * t["linear_key_head_dim"]
        value_dim = t["linear_num_value_heads"] * t["linear_value_head_dim"]
        conv = (2 * key_dim + value_dim) * t["linear_conv_kernel_dim"]
        recurrent = t["linear_num_value_heads"] * t["linear_key_head_dim"] * t["linear_value_head_dim"]
        state = DTYPES[dtype].bytes_for(conv + recurrent) * batch * linear
    return KVCache(tokens, batch, dtype, attention, state, full + sliding, linear)


def image_tokens(config: Config, image: tuple[int, int], min_pixels: int, max_pixels: int) -> VisionTokens | None:
    width, height = image
    resized = vision_tokens(config, height, width, min_pixels, max_pixels)
    if resized is None:
        return None
    h, w, tokens = resized
    return VisionTokens(width, height, (w, h), tokens, min_pixels, max_pixels)


def parse_image(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*", text)
    if not match or not all(int(n) > 0 for n in match.groups()):
        raise BadValue(f"--image {text!r} is not WIDTHxHEIGHT", hint="e.g. --image 1280x720")
    return int(match.group(1)), int(match.group(2))


def to_json(result: Estimate) -> dict[str, Any]:
    count = result.count
    out: dict[str, Any] = {
        "parameters": count.to_json(),
        "weights_bytes": result.weights,
        "largest_layer": {"names": result.largest.names, "parameters": result.largest.parameters, "bytes": {d: DTYPES[d].bytes_for(result.largest.parameters) for d in WEIGHT_DTYPES}},
        "training_adam_bytes": result.training,
        "parameter_groups": result.groups,
    }
    if count.mtp:
        out["checkpoint_weights_bytes"] = result.checkpoint_weights
    if result.kv:
        kv = result.kv
        out["kv_cache"] = {"tokens": kv.tokens, "batch": kv.batch, "dtype": kv.dtype, "bytes": kv.total, "attention_bytes": kv.attention_bytes,
                           "linear_state_bytes": kv.linear_state_bytes, "attention_layers": kv.attention_layers, "linear_layers": kv.linear_layers}
    if result.vision:
        v = result.vision
        out["vision_tokens"] = {"image": [v.width, v.height], "resized": list(v.resized), "tokens": v.tokens, "min_pixels": v.min_pixels, "max_pixels": v.max_pixels}
    if result.tp:
        out["tensor_parallel"] = {"dtype": result.tp_dtype, "sizes": [{"size": s.size, "ok": s.ok, "bytes_per_rank": s.bytes_per_rank, "replicated_bytes": s.replicated_bytes, "problems": s.problems} for s in result.tp]}
    if result.quantized:
        out["quantized"] = result.quantized.to_json()
    return out
