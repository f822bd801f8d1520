"""Figures that follow from a config: attention geometry, KV-cache size, vision tokens per image."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .canonical import Config, is_int, positive_int
from .errors import BadValue
from .quantization import quantization_problems
from .units import DTYPES

SAMPLE_IMAGE = (448, 448)  # height, width in pixels


@dataclass(frozen=True)
class Figure:
    key: str  # stable name, used in JSON output
    label: str
    value: Any
    note: str = ""
    ok: bool | None = None  # for checks such as "mrope sections sum to head_dim/2"


def text_head_dim(config: Config) -> int | None:
    """head_dim of the text attention: declared (qwen3 and later) or hidden_size / heads (qwen2)."""
    if "head_dim" in config.family.sections["text"].fields:
        return positive_int(config.text.get("head_dim"))
    hidden, heads = positive_int(config.text.get("hidden_size")), positive_int(config.text.get("num_attention_heads"))
    return hidden // heads if hidden and heads else None


def mrope_section(config: Config) -> tuple[Any, bool]:
    """The text mrope_section, and whether it is the modeling code's default (the file has none)."""
    rope = config.text.get("rope_parameters")
    section = rope.get("mrope_section") if isinstance(rope, dict) else None
    if section is None:
        return config.family.mrope_section_default, config.family.mrope_section_default is not None
    return section, False


def rotary_dim(config: Config, head_dim: int) -> int:
    rope = config.text.get("rope_parameters") or {}
    factor = rope.get("partial_rotary_factor", 1.0) if isinstance(rope, dict) else 1.0
    return int(head_dim * factor) if isinstance(factor, (int, float)) else head_dim


def attention_layers(config: Config) -> tuple[int, int, int]:
    """Counts of (full-attention, sliding-window, linear-attention) text layers."""
    layers = positive_int(config.text.get("num_hidden_layers")) or 0
    types = config.text.get("layer_types")
    if not isinstance(types, list):
        return layers, 0, 0
    linear = sum(t == "linear_attention" for t in types)
    sliding = sum(t == "sliding_attention" for t in types)
    return len(types) - linear - sliding, sliding, linear


def text_figures(config: Config) -> list[Figure]:
    figures = []
    head_dim = text_head_dim(config)
    heads, kv_heads = positive_int(config.text.get("num_attention_heads")), positive_int(config.text.get("num_key_value_heads"))
    if head_dim:
        figures.append(Figure("head_dim", "head_dim", head_dim))
    if heads and kv_heads and heads % kv_heads == 0:
        group = heads // kv_heads
        kind = "MHA" if group == 1 else ("MQA" if kv_heads == 1 else "GQA")
        figures.append(Figure("gqa_group", "query heads per KV head", group, note=f"{kind}: {heads} query / {kv_heads} KV heads"))
    full, sliding, linear = attention_layers(config)
    if head_dim and kv_heads:
        per_layer = DTYPES["bf16"].bytes_for(2 * kv_heads * head_dim)  # K and V
        note = f"{full + sliding} attention layers x {kv_heads} KV heads x {head_dim} x 2 (K,V) x 2 B"
        if linear:
            note += f"; {linear} linear-attention layers keep a fixed-size state instead"
        if sliding:
            note += f"; {sliding} sliding-window layers stop growing at {config.text.get('sliding_window')} tokens"
        figures.append(Figure("kv_cache_bytes_per_token_bf16", "KV cache per token (bf16)", per_layer * (full + sliding), note=note))
    section, implicit = mrope_section(config)
    if head_dim and isinstance(section, list) and all(is_int(s) for s in section):
        half = rotary_dim(config, head_dim) // 2
        total = sum(section)
        partial = "" if rotary_dim(config, head_dim) == head_dim else f" (rotary dim {rotary_dim(config, head_dim)})"
        figures.append(
            Figure(
                "mrope_section_sum",
                "mrope sections (t, h, w)",
                total,
                note=f"{' + '.join(map(str, section))} = {total}; rotary half-dim{partial} is {half}"
                + ("; the modeling code's default, not in the file" if implicit else ""),
                ok=total == half,
            )
        )
    return figures


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """transformers' resize rule for Qwen vision-language processors (image_processing_qwen2_vl.smart_resize):
    both sides a multiple of `factor`, the pixel count within [min_pixels, max_pixels], the aspect ratio kept."""
    if max(height, width) / min(height, width) > 200:
        raise BadValue(f"--image {width}x{height}: the aspect ratio must be under 200, as the processor requires")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def vision_tokens(config: Config, height: int, width: int, min_pixels: int = 1, max_pixels: int = 1 << 62) -> tuple[int, int, int] | None:
    """(height, width) of one image after the processor's resize rule, and the vision tokens the LLM
    sees for it. Without limits, the rule alone; estimate --image passes the processor's pixel limits."""
    patch, merge = positive_int(config.vision.get("patch_size")), positive_int(config.vision.get("spatial_merge_size"))
    if not patch or not merge:
        return None
    h, w = smart_resize(height, width, patch * merge, min_pixels, max_pixels)
    return h, w, (h // patch) * (w // patch) // (merge * merge)


def vision_figures(config: Config) -> list[Figure]:
    figures = []
    vision = config.vision
    width = positive_int(vision.get("embed_dim") if "embed_dim" in config.family.sections["vision"].fields else vision.get("hidden_size"))
    heads = positive_int(vision.get("num_heads"))
    if width and heads:
        figures.append(Figure("vision_head_dim", "vision head_dim", width // heads if width % heads == 0 else width / heads))
    patch, merge, temporal = (positive_int(vision.get(k)) for k in ("patch_size", "spatial_merge_size", "temporal_patch_size"))
    if patch and merge:
        figures.append(
            Figure(
                "merged_patch_pixels",
                "pixels per vision token",
                f"{patch * merge}x{patch * merge}",
                note=f"{patch}px patches, {merge}x{merge} merged" + (f", {temporal} frames per video token" if temporal else ""),
            )
        )
        h, w = SAMPLE_IMAGE
        figures.append(
            Figure(
                "vision_tokens_448x448",
                f"vision tokens for a {h}x{w} image",
                vision_tokens(config, h, w)[2],
                note=f"resized to multiples of {patch * merge}px, / {merge * merge} merged; before the processor's pixel limits",
            )
        )
    window = positive_int(vision.get("window_size"))
    if window and patch and merge:
        side = window // (patch * merge)
        figures.append(Figure("window_tokens", "window attention", f"{side}x{side} tokens", note=f"window_size {window}px"))
    return figures


def model_figures(config: Config) -> list[Figure]:
    figures = []
    vocab = positive_int(config.text.get("vocab_size"))
    token_ids = {k: v for k, v in config.model.items() if k.endswith("_token_id") and isinstance(v, int)}
    if vocab and token_ids:
        highest = max(token_ids.values())
        figures.append(Figure("highest_token_id", "highest multimodal token id", highest, note=f"vocab_size {vocab}", ok=highest < vocab))
    quantization = config.model.get("quantization_config")
    if quantization is not None and quantization_problems(quantization):
        figures.append(Figure("quantization", "stored weights", "not readable", note=quantization_problems(quantization)[0], ok=False))
    elif isinstance(quantization, dict) and quantization.get("quant_method"):
        bits = quantization.get("bits")
        skipped = quantization.get("modules_to_not_convert") or []
        note = (f"group size {quantization['group_size']}" if quantization.get("group_size") else "") + (
            f"; kept in full precision: {', '.join(map(str, skipped))}" if skipped else ""
        )
        figures.append(Figure("quantization", "stored weights", f"{quantization['quant_method']}" + (f" {bits}-bit" if bits else ""), note=note.strip("; ")))
    return figures


def figures(config: Config) -> dict[str, list[Figure]]:
    return {"vision": vision_figures(config), "text": text_figures(config), "model": model_figures(config)}
