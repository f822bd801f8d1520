"""Static consistency rules: what the modeling code assumes about a config, checked without torch.

Each rule has a stable id (for CI reports), says which keys and values break it, and gives a fix
that can be pasted into `qwencfg set`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .canonical import Config, likely_typo_of, value_fits
from .derived import rotary_dim, text_head_dim

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    hint: str = ""

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message, "hint": self.hint}

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}" + (f": {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    check: Callable[[Config], Iterator[Finding]]


RULES: list[Rule] = []


def rule(rule_id: str, description: str):
    def register(check: Callable[[Config], Iterator[Finding]]):
        RULES.append(Rule(rule_id, description, check))
        return check

    return register


def check_rules(config: Config) -> list[tuple[Rule, list[Finding]]]:
    """Every rule with what it found (an empty list: the rule passed)."""
    results = []
    for r in RULES:
        try:
            findings = list(r.check(config))
        except (TypeError, ValueError, KeyError, ZeroDivisionError, AttributeError):
            findings = []  # a value of the wrong type: the `types` rule reports it
        results.append((r, findings))
    return results


def findings_of(config: Config) -> list[Finding]:
    return [f for _, found in check_rules(config) for f in found]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fix(path: str, value: Any) -> str:
    text = json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else json.dumps(value)
    return f"set --{path} {text}"


def _has(config: Config, section: str, key: str) -> bool:
    return key in config.family.sections[section].fields


# --- types ---------------------------------------------------------------------------------------


@rule("types", "every value has the type its config class declares")
def _types(config: Config) -> Iterator[Finding]:
    for problem in config.type_problems:
        yield Finding("types", ERROR, str(problem), f"give {problem.path} a value of type {problem.expected}")
    rope = config.text.get("rope_parameters")
    if isinstance(rope, dict):
        from .schema import load_schema

        kinds = load_schema().rope_parameter_kinds
        for key, value in rope.items():
            if key in kinds and not value_fits(value, kinds[key]):
                yield Finding("types", ERROR, f"text.rope_parameters.{key} is {value!r}; expected {' or '.join(kinds[key])}")


# --- sizes ---------------------------------------------------------------------------------------

POSITIVE = {
    "vision": ("depth", "hidden_size", "embed_dim", "intermediate_size", "num_heads", "in_channels", "patch_size",
               "spatial_merge_size", "temporal_patch_size", "out_hidden_size", "num_position_embeddings", "window_size",
               "mlp_ratio", "tokens_per_second"),
    "text": ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
             "num_key_value_heads", "head_dim", "max_position_embeddings", "moe_intermediate_size",
             "shared_expert_intermediate_size", "num_experts", "num_experts_per_tok", "linear_conv_kernel_dim",
             "linear_key_head_dim", "linear_value_head_dim", "linear_num_key_heads", "linear_num_value_heads",
             "decoder_sparse_step"),
}


@rule("positive-sizes", "sizes, counts and dimensions are positive integers")
def _positive(config: Config) -> Iterator[Finding]:
    for section, keys in POSITIVE.items():
        for key in keys:
            value = config.values[section].get(key)
            if _has(config, section, key) and _is_int(value) and value <= 0:
                yield Finding("positive-sizes", ERROR, f"{section}.{key} is {value}; it must be at least 1", f"give {section}.{key} a positive value")


@rule("size-limits", "layer counts and dimensions are within what can be built")
def _size_limits(config: Config) -> Iterator[Finding]:
    from .count import MAX_DIMENSION, MAX_LAYERS

    layer_counts = {("text", "num_hidden_layers"), ("vision", "depth")}
    for section, key, limit in [(s, k, MAX_LAYERS) for s, k in sorted(layer_counts)] + [
        (section, key, MAX_DIMENSION) for section, keys in POSITIVE.items() for key in keys if (section, key) not in layer_counts
    ]:
        value = config.values[section].get(key)
        if _has(config, section, key) and _is_int(value) and value > limit:
            yield Finding("size-limits", ERROR, f"{section}.{key} is {value}; at most {limit:,} can be built")


def _divisor_at_most(n: int, start: int) -> int:
    """The largest divisor of n that is at most `start` (searching a bounded range)."""
    for candidate in range(min(start, 65_536), 0, -1):
        if n % candidate == 0:
            return candidate
    return 1


@rule("patch-size-int", "patch sizes are single integers (the patch embedding is a cubic Conv3d)")
def _patch_int(config: Config) -> Iterator[Finding]:
    for key in ("patch_size", "temporal_patch_size"):
        value = config.vision.get(key)
        if isinstance(value, list):
            yield Finding("patch-size-int", ERROR, f"vision.{key} is {value}; the vision tower needs one integer", _fix(f"vision.{key}", value[0] if value else 14))


# --- attention geometry --------------------------------------------------------------------------


@rule("text-heads", "text hidden_size splits evenly into attention heads (when head_dim is not given)")
def _text_heads(config: Config) -> Iterator[Finding]:
    hidden, heads = config.text.get("hidden_size"), config.text.get("num_attention_heads")
    if _has(config, "text", "head_dim") or not (_is_int(hidden) and _is_int(heads) and heads > 0):
        return
    if hidden % heads:
        yield Finding("text-heads", ERROR, f"text.hidden_size {hidden} is not divisible by text.num_attention_heads {heads}",
                      _fix("text.num_attention_heads", _divisor_at_most(hidden, heads)) + f" (or a hidden_size that is a multiple of {heads})")


@rule("text-kv-heads", "attention heads are a multiple of key-value heads (grouped-query attention)")
def _kv_heads(config: Config) -> Iterator[Finding]:
    heads, kv = config.text.get("num_attention_heads"), config.text.get("num_key_value_heads")
    if _is_int(heads) and _is_int(kv) and kv > 0 and heads % kv:
        yield Finding("text-kv-heads", ERROR, f"text.num_attention_heads {heads} is not a multiple of text.num_key_value_heads {kv}",
                      _fix("text.num_key_value_heads", _divisor_at_most(heads, kv)))


@rule("text-head-dim-even", "text head_dim is even (rotary embeddings rotate pairs)")
def _head_dim_even(config: Config) -> Iterator[Finding]:
    head_dim = text_head_dim(config)
    if head_dim and head_dim % 2:
        yield Finding("text-head-dim-even", ERROR, f"text head_dim is {head_dim}; rotary embeddings need an even head_dim")


@rule("vision-heads", "vision width splits evenly into heads, with an even head_dim for 2-D rotary embeddings")
def _vision_heads(config: Config) -> Iterator[Finding]:
    key = "embed_dim" if _has(config, "vision", "embed_dim") else "hidden_size"
    width, heads = config.vision.get(key), config.vision.get("num_heads")
    if not (_is_int(width) and _is_int(heads) and heads > 0):
        return
    if width % heads:
        yield Finding("vision-heads", ERROR, f"vision.{key} {width} is not divisible by vision.num_heads {heads}", _fix("vision.num_heads", _divisor_at_most(width, heads)))
    elif (width // heads) % 4:
        yield Finding("vision-heads", ERROR, f"vision head_dim {width // heads} ({key} {width} / {heads} heads) is not a multiple of 4, which the 2-D rotary embedding needs")


@rule("vision-out-hidden-size", "the vision merger outputs the text model's hidden_size")
def _vision_out(config: Config) -> Iterator[Finding]:
    key = "out_hidden_size" if _has(config, "vision", "out_hidden_size") else "hidden_size"
    out, hidden = config.vision.get(key), config.text.get("hidden_size")
    if _is_int(out) and _is_int(hidden) and out != hidden:
        yield Finding("vision-out-hidden-size", ERROR, f"text.hidden_size {hidden} but vision.{key} {out}", _fix(f"vision.{key}", hidden))


def _spread(count: int, depth: int) -> list[int]:
    """`count` block indexes spread over `depth` blocks, ending at the last one (like 7, 15, 23, 31)."""
    count = max(1, min(count, depth, 1024))
    return sorted({round((i + 1) * depth / count) - 1 for i in range(count)})


@rule("vision-block-indexes", "fullatt_block_indexes and deepstack_visual_indexes are unique, sorted and inside [0, depth)")
def _block_indexes(config: Config) -> Iterator[Finding]:
    depth = config.vision.get("depth")
    if not _is_int(depth):
        return
    for key in ("fullatt_block_indexes", "deepstack_visual_indexes"):
        indexes = config.vision.get(key)
        if not _has(config, "vision", key) or not isinstance(indexes, list) or not all(_is_int(i) for i in indexes):
            continue
        outside = [i for i in indexes if not 0 <= i < depth]
        problems = []
        if outside:
            problems.append(f"{outside} outside [0, {depth})")
        if len(set(indexes)) != len(indexes):
            problems.append("repeated entries")
        if indexes != sorted(indexes):
            problems.append("not sorted")
        if problems:
            yield Finding("vision-block-indexes", ERROR, f"vision.{key} {indexes} has {', '.join(problems)} (vision.depth {depth})",
                          _fix(f"vision.{key}", _spread(len(indexes), depth)))


@rule("vision-window", "window_size is a multiple of patch_size x spatial_merge_size")
def _window(config: Config) -> Iterator[Finding]:
    window, patch, merge = (config.vision.get(k) for k in ("window_size", "patch_size", "spatial_merge_size"))
    if _has(config, "vision", "window_size") and all(_is_int(v) and v > 0 for v in (window, patch, merge)):
        unit = patch * merge
        if window % unit:
            yield Finding("vision-window", ERROR, f"vision.window_size {window} is not a multiple of patch_size x spatial_merge_size = {unit}",
                          _fix("vision.window_size", max(unit, round(window / unit) * unit)))


# --- rotary position embeddings ------------------------------------------------------------------


@rule("mrope-section", "mrope_section has three parts summing to the rotary half-dimension")
def _mrope(config: Config) -> Iterator[Finding]:
    rope = config.text.get("rope_parameters")
    section = rope.get("mrope_section") if isinstance(rope, dict) else None
    head_dim = text_head_dim(config)
    implicit = ""
    if section is None:
        section, implicit = config.family.mrope_section_default, " (not in the file: the modeling code's default)"
    if section is None or not head_dim:
        return
    if not isinstance(section, list) or len(section) != 3 or not all(_is_int(s) and s >= 0 for s in section):
        yield Finding("mrope-section", ERROR, f"text.rope_parameters.mrope_section is {section!r}; it needs 3 non-negative integers (t, h, w)")
        return
    half = rotary_dim(config, head_dim) // 2
    if sum(section) != half:
        fix = [round(half * s / sum(section)) for s in section] if sum(section) else [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
        fix[0] += half - sum(fix)
        yield Finding("mrope-section", ERROR, f"text.rope_parameters.mrope_section {section}{implicit} sums to {sum(section)}, but the rotary half-dimension is {half} (head_dim {head_dim})",
                      _fix("text.rope_parameters.mrope_section", fix))


# --- layers --------------------------------------------------------------------------------------


@rule("max-window-layers", "max_window_layers is at most num_hidden_layers")
def _max_window(config: Config) -> Iterator[Finding]:
    window_layers, layers = config.text.get("max_window_layers"), config.text.get("num_hidden_layers")
    if _is_int(window_layers) and _is_int(layers) and window_layers > layers:
        sliding = bool(config.text.get("use_sliding_window"))
        message = f"text.max_window_layers {window_layers} > text.num_hidden_layers {layers}"
        if not sliding:
            message += " (no effect while use_sliding_window is false)"
        yield Finding("max-window-layers", ERROR if sliding else WARNING, message, _fix("text.max_window_layers", layers))


@rule("sliding-window", "a sliding window, when used, has a positive size")
def _sliding(config: Config) -> Iterator[Finding]:
    if config.text.get("use_sliding_window") and not (_is_int(config.text.get("sliding_window")) and config.text["sliding_window"] > 0):
        yield Finding("sliding-window", ERROR, f"text.use_sliding_window is true but text.sliding_window is {config.text.get('sliding_window')!r}", _fix("text.sliding_window", 4096))


LAYER_TYPES = {"full_attention", "sliding_attention", "linear_attention", "indexed_attention"}


@rule("layer-types", "layer_types has one known entry per decoder layer")
def _layer_types(config: Config) -> Iterator[Finding]:
    types, layers = config.text.get("layer_types"), config.text.get("num_hidden_layers")
    if not isinstance(types, list) or not _is_int(layers):
        return
    if len(types) != layers:
        yield Finding("layer-types", ERROR, f"text.layer_types has {len(types)} entries for {layers} layers", f"set --unset text.layer_types (transformers derives it) or give {layers} entries")
    unknown = sorted({t for t in types if t not in LAYER_TYPES}, key=str)
    if unknown:
        yield Finding("layer-types", ERROR, f"text.layer_types has unknown entries {unknown}", f"use {', '.join(sorted(LAYER_TYPES))}")
    if _has(config, "text", "linear_conv_kernel_dim") and "full_attention" not in types and "indexed_attention" not in types and types:
        yield Finding("layer-types", WARNING, "text.layer_types has no full-attention layer")


# --- mixture of experts --------------------------------------------------------------------------


@rule("moe-experts", "experts chosen per token are at most the experts there are")
def _moe(config: Config) -> Iterator[Finding]:
    experts, top_k = config.text.get("num_experts"), config.text.get("num_experts_per_tok")
    if _has(config, "text", "num_experts_per_tok") and _is_int(experts) and _is_int(top_k) and top_k > experts:
        yield Finding("moe-experts", ERROR, f"text.num_experts_per_tok {top_k} > text.num_experts {experts}", _fix("text.num_experts_per_tok", experts))


@rule("moe-layers", "mlp_only_layers name existing decoder layers")
def _moe_layers(config: Config) -> Iterator[Finding]:
    only, layers = config.text.get("mlp_only_layers"), config.text.get("num_hidden_layers")
    if _has(config, "text", "mlp_only_layers") and isinstance(only, list) and _is_int(layers):
        outside = [i for i in only if not (_is_int(i) and 0 <= i < layers)]
        if outside:
            yield Finding("moe-layers", ERROR, f"text.mlp_only_layers has {outside} outside [0, {layers})", _fix("text.mlp_only_layers", [i for i in only if i not in outside]))


@rule("linear-attention-heads", "linear-attention value heads are a multiple of key heads")
def _linear_heads(config: Config) -> Iterator[Finding]:
    k, v = config.text.get("linear_num_key_heads"), config.text.get("linear_num_value_heads")
    if _has(config, "text", "linear_num_key_heads") and _is_int(k) and _is_int(v) and k > 0 and v % k:
        yield Finding("linear-attention-heads", ERROR, f"text.linear_num_value_heads {v} is not a multiple of text.linear_num_key_heads {k}", _fix("text.linear_num_value_heads", (v // k + 1) * k))


# --- vocabulary ----------------------------------------------------------------------------------


@rule("token-ids", "special and multimodal token ids are inside the vocabulary")
def _token_ids(config: Config) -> Iterator[Finding]:
    vocab = config.text.get("vocab_size")
    if not _is_int(vocab):
        return
    for section in ("model", "text"):
        for key, value in config.values[section].items():
            ids = value if isinstance(value, list) else [value]
            if key.endswith("token_id") and all(_is_int(i) for i in ids):
                bad = [i for i in ids if not 0 <= i < vocab]
                if bad:
                    yield Finding("token-ids", ERROR, f"{section}.{key} {value} is outside the vocabulary (text.vocab_size {vocab})", _fix("text.vocab_size", max(bad) + 1) + f" or a {key} below {vocab}")


# --- the file itself -----------------------------------------------------------------------------


@rule("file-consistency", "what the file says is what transformers reads")
def _file(config: Config) -> Iterator[Finding]:
    for warning in config.warnings:
        if "did you mean" not in warning:
            yield Finding("file-consistency", WARNING, warning)


@rule("unknown-keys", "keys no config class declares (ignored by transformers)")
def _unknown(config: Config) -> Iterator[Finding]:
    for section in ("vision", "text", "model"):
        for key in sorted(config.extras[section]):
            typo = likely_typo_of(config, section, key)
            if typo:
                yield Finding("unknown-keys", WARNING, f"{section}.{key} is ignored by transformers", f"did you mean {section}.{typo}?")
            elif not key.startswith("_"):
                yield Finding("unknown-keys", INFO, f"{section}.{key} is ignored by transformers")
