"""Tiny configs of every family: the real architecture at a size that builds in milliseconds.

The schema build probes transformers with them (which sizes the model needs positive), and the
tests use them for real builds, checkpoints and tensor-parallel runs. Every key keeps its family's
meaning; only the sizes shrink, so a tiny config goes through the same code as a 72B one.
"""

from __future__ import annotations

import copy
from typing import Any

# Sizes by field name, for whichever of them a family has.
TEXT_SIZES = {
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "max_position_embeddings": 4096,
    "max_window_layers": 2,
    "moe_intermediate_size": 32,
    "shared_expert_intermediate_size": 32,
    "num_experts": 4,
    "num_experts_per_tok": 2,
    "linear_num_key_heads": 2,
    "linear_num_value_heads": 4,
    "linear_key_head_dim": 16,
    "linear_value_head_dim": 16,
    # Qwen4-Exp's indexer, hyper-connections and n-gram embeddings
    "indexer_n_heads": 2,
    "indexer_head_dim": 16,
    "indexer_kv_heads": 1,
    "indexer_budget": 64,
    "indexer_compress_ratio": 4,
    "ple_embed_dim": 64,
    "hc_lowrank": 8,
    "ngram_vocab_size_base": 1000,
    "split_ngram_parts": 2,
    "heads_per_ngram": 2,
    "make_ngram_vocab_size_divisible_by": 8,
}
VISION_SIZES = {
    "depth": 2,
    "embed_dim": 32,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "num_position_embeddings": 64,
    "fullatt_block_indexes": [1],
    "deepstack_visual_indexes": [0],
}
# Token ids at the top of the tiny vocabulary, clear of the text tokens a forward pass uses.
TOKEN_IDS = {"vision_start_token_id": 508, "vision_end_token_id": 509, "image_token_id": 510, "video_token_id": 511}


def tiny_config(family: Any, **text_sizes: Any) -> dict:
    """A nested (transformers-5 style) config dict of `family` with tiny sizes; `text_sizes` override."""
    defaults = copy.deepcopy(family.defaults)
    text = defaults.setdefault("text_config", {})
    vision = defaults.setdefault("vision_config", {})
    text_section, vision_section = family.sections["text"], family.sections["vision"]
    vision_fields = vision_section.fields
    for section, holder, sizes in ((text_section, text, {**TEXT_SIZES, **text_sizes}), (vision_section, vision, VISION_SIZES)):
        for key, value in sizes.items():
            name = section.canonical_name(key)
            if name in section.fields:
                for alias in [a for a, target in section.aliases.items() if target == name]:
                    holder.pop(alias, None)  # another spelling would win over the field
                holder[name] = copy.deepcopy(value)
    if "out_hidden_size" in vision_fields:
        vision["out_hidden_size"] = text["hidden_size"]
    elif "embed_dim" in vision_fields:  # qwen2_vl: the merger's output is vision hidden_size
        vision["hidden_size"] = text["hidden_size"]
    if "window_size" in vision_fields:
        vision["window_size"] = vision.get("patch_size", 14) * vision.get("spatial_merge_size", 2) * 2
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if text.get(key) is not None:
            text[key] = 1
    defaults.update({k: v for k, v in TOKEN_IDS.items() if k in family.sections["model"].fields})
    text.pop("layer_types", None)  # derived again from the tiny layer count
    if family.layer_types.interval_default:
        text["num_hidden_layers"] = family.layer_types.interval_default  # one full-attention layer
    _fit_rope(family, text)
    return defaults


def _fit_rope(family: Any, text: dict) -> None:
    """An mrope_section that sums to the tiny rotary half-dimension."""
    rope = text.get("rope_parameters")
    if not isinstance(rope, dict) or family.mrope_section_default is None and "mrope_section" not in rope:
        return
    partial = rope.get("partial_rotary_factor", 1.0)
    if "head_dim" in family.sections["text"].fields and partial < 1:
        text["head_dim"] = int(16 / partial)  # a rotary part of 16, whatever the factor
    head_dim = text.get("head_dim") or text["hidden_size"] // text["num_attention_heads"]
    half = int(head_dim * partial) // 2
    third = half // 3
    rope["mrope_section"] = [half - 2 * third, third, third]
