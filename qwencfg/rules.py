"""Static consistency rules: what the modeling code assumes about a config, checked without torch.

Each rule has a stable id (for CI reports and `--allow`), says which keys and values break it,
and gives a fix that can be pasted into `qwencfg set`. A finding whose inputs another error
already blames is shown as that error's consequence, without a fix of its own: fixes are offered
for root causes only. A finding with no effect on the built model is info.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Callable, Iterator

from .canonical import Config, NoticeKind, did_you_mean, is_int, likely_typo_of, positive_int, value_fits
from .derived import mrope_section, rotary_dim, text_head_dim
from .quantization import quantization_problems
from .schema import SECTIONS, load_schema


class Severity(str, Enum):
    ERROR = "error"  # transformers or the modeling code refuses it, or builds something broken
    WARNING = "warning"  # it builds, but probably not as meant
    INFO = "info"  # worth knowing; no effect on the built model


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    hint: str = ""
    keys: tuple[str, ...] = ()  # the config paths this finding blames
    reads: tuple[str, ...] = ()  # the paths its check read (a blamed input makes it a consequence)
    cause: str | None = None  # the rule whose error this one follows from

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "keys": list(self.keys),
            "consequence_of": self.cause,
        }

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


def rule_ids() -> list[str]:
    return [r.id for r in RULES]


def check_rules(config: Config) -> list[tuple[Rule, list[Finding]]]:
    """Every rule with what it found (an empty list: the rule passed), consequences marked.

    A value of the wrong type is the `types` rule's finding; the other rules skip it (they test
    types before they use a value), so an exception here is a bug in a rule and propagates."""
    results = [(r, list(r.check(config))) for r in RULES]
    return _mark_consequences(results)


def findings_of(config: Config) -> list[Finding]:
    return [f for _, found in check_rules(config) for f in found]


def _mark_consequences(results: list[tuple[Rule, list[Finding]]]) -> list[tuple[Rule, list[Finding]]]:
    roots = [f for _, found in results for f in found if f.severity is Severity.ERROR and f.keys]
    marked = []
    for r, found in results:
        out = []
        for f in found:
            cause = next((g for g in roots if g is not f and g.rule != f.rule and set(g.keys) & (set(f.reads) - set(f.keys))), None)
            out.append(replace(f, cause=cause.rule, hint="") if cause else f)
        marked.append((r, out))
    return marked


def _fix(path: str, value: Any) -> str:
    text = json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else json.dumps(value)
    if isinstance(value, (list, dict)):
        text = f"'{text}'"  # a shell would read [1,3] as a glob
    return f"set --{path} {text}"


def _has(config: Config, section: str, key: str) -> bool:
    return key in config.family.sections[section].fields


def _head_dim_inputs(config: Config) -> tuple[str, ...]:
    if _has(config, "text", "head_dim"):
        return ("text.head_dim",)
    return ("text.hidden_size", "text.num_attention_heads")


# --- values --------------------------------------------------------------------------------------


@rule("types", "every value has the type its config class declares")
def _types(config: Config) -> Iterator[Finding]:
    for problem in config.type_problems:
        yield Finding("types", Severity.ERROR, str(problem), f"give {problem.path} a value of type {problem.expected}", keys=(problem.path,))
    rope = config.text.get("rope_parameters")
    if isinstance(rope, dict):
        kinds = load_schema().rope_parameter_kinds
        for key, value in rope.items():
            if key in kinds and not value_fits(value, kinds[key]):
                path = f"text.rope_parameters.{key}"
                yield Finding("types", Severity.ERROR, f"{path} is {value!r}; expected {' or '.join(kinds[key])}", keys=(path,))


@rule("allowed-values", "names (activations, rope types) are ones transformers knows")
def _allowed(config: Config) -> Iterator[Finding]:
    for section in SECTIONS:
        for key, field in config.family.sections[section].fields.items():
            if not field.choices or key == "layer_types" or key not in config.present[section]:
                continue
            value = config.values[section].get(key)
            if isinstance(value, str) and value not in field.choices:
                path = f"{section}.{key}"
                yield Finding("allowed-values", Severity.ERROR, f"{path} {json.dumps(value)} is not one transformers knows{did_you_mean(value, field.choices)}", keys=(path,))
    rope = config.text.get("rope_parameters")
    rope_type = rope.get("rope_type") if isinstance(rope, dict) else None
    rope_types = load_schema().rope_types
    if isinstance(rope_type, str) and rope_type not in rope_types:
        path = "text.rope_parameters.rope_type"
        yield Finding("allowed-values", Severity.ERROR, f"{path} {json.dumps(rope_type)} is not one transformers knows{did_you_mean(rope_type, rope_types)}", keys=(path,))


@rule("positive-sizes", "sizes, counts and dimensions the model is built around are at least 1")
def _positive(config: Config) -> Iterator[Finding]:
    for path, value in config.sizes():
        if value < 1:
            yield Finding("positive-sizes", Severity.ERROR, f"{path} is {value}; it must be at least 1", f"give {path} a value of at least 1", keys=(path,))


@rule("size-limits", "layer counts and dimensions are within what can be built")
def _size_limits(config: Config) -> Iterator[Finding]:
    from .count import MAX_DIMENSION, MAX_LAYERS

    layer_counts = {"text.num_hidden_layers", "vision.depth"}
    for path, value in config.sizes():
        limit = MAX_LAYERS if path in layer_counts else MAX_DIMENSION
        if value > limit:
            yield Finding("size-limits", Severity.ERROR, f"{path} is {value:,}; at most {limit:,} can be built", keys=(path,))


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
            path = f"vision.{key}"
            default = config.family.sections["vision"].fields[key].default
            fix = value[0] if value and positive_int(value[0]) else default
            yield Finding("patch-size-int", Severity.ERROR, f"{path} is {value}; the vision tower needs one integer", _fix(path, fix), keys=(path,))


# --- attention geometry --------------------------------------------------------------------------


@rule("text-heads", "text hidden_size splits evenly into attention heads (when head_dim is not given)")
def _text_heads(config: Config) -> Iterator[Finding]:
    hidden, heads = positive_int(config.text.get("hidden_size")), positive_int(config.text.get("num_attention_heads"))
    if _has(config, "text", "head_dim") or not (hidden and heads):
        return
    if hidden % heads:
        yield Finding("text-heads", Severity.ERROR, f"text.hidden_size {hidden} is not divisible by text.num_attention_heads {heads}",
                      _fix("text.num_attention_heads", _divisor_at_most(hidden, heads)) + f" (or a hidden_size that is a multiple of {heads})",
                      keys=("text.num_attention_heads", "text.hidden_size"))


@rule("text-kv-heads", "attention heads are a multiple of key-value heads (grouped-query attention)")
def _kv_heads(config: Config) -> Iterator[Finding]:
    heads, kv = positive_int(config.text.get("num_attention_heads")), positive_int(config.text.get("num_key_value_heads"))
    if heads and kv and heads % kv:
        yield Finding("text-kv-heads", Severity.ERROR, f"text.num_attention_heads {heads} is not a multiple of text.num_key_value_heads {kv}",
                      _fix("text.num_key_value_heads", _divisor_at_most(heads, kv)), keys=("text.num_key_value_heads",), reads=("text.num_attention_heads",))


@rule("text-head-dim-even", "text head_dim is even (rotary embeddings rotate pairs)")
def _head_dim_even(config: Config) -> Iterator[Finding]:
    head_dim = text_head_dim(config)
    if head_dim and head_dim % 2:
        inputs = _head_dim_inputs(config)
        yield Finding("text-head-dim-even", Severity.ERROR, f"text head_dim is {head_dim}; rotary embeddings need an even head_dim", keys=inputs[:1], reads=inputs)


@rule("vision-heads", "vision width splits evenly into heads, with a head_dim that is a multiple of 4 for 2-D rotary embeddings")
def _vision_heads(config: Config) -> Iterator[Finding]:
    key = "embed_dim" if _has(config, "vision", "embed_dim") else "hidden_size"
    width, heads = positive_int(config.vision.get(key)), positive_int(config.vision.get("num_heads"))
    if not (width and heads):
        return
    if width % heads:
        yield Finding("vision-heads", Severity.ERROR, f"vision.{key} {width} is not divisible by vision.num_heads {heads}",
                      _fix("vision.num_heads", _divisor_at_most(width, heads)), keys=("vision.num_heads",), reads=(f"vision.{key}",))
    elif (width // heads) % 4:
        yield Finding("vision-heads", Severity.ERROR, f"vision head_dim {width // heads} ({key} {width} / {heads} heads) is not a multiple of 4, which the 2-D rotary embedding needs",
                      keys=("vision.num_heads",), reads=(f"vision.{key}",))


@rule("vision-out-hidden-size", "the vision merger outputs the text model's hidden_size")
def _vision_out(config: Config) -> Iterator[Finding]:
    key = "out_hidden_size" if _has(config, "vision", "out_hidden_size") else "hidden_size"
    out, hidden = positive_int(config.vision.get(key)), positive_int(config.text.get("hidden_size"))
    if out and hidden and out != hidden:
        yield Finding("vision-out-hidden-size", Severity.ERROR, f"text.hidden_size {hidden} but vision.{key} {out}", _fix(f"vision.{key}", hidden),
                      keys=(f"vision.{key}",), reads=("text.hidden_size",))


def _spread(count: int, depth: int) -> list[int]:
    """`count` block indexes spread over `depth` blocks, ending at the last one (like 7, 15, 23, 31)."""
    count = max(1, min(count, depth, 1024))
    return sorted({round((i + 1) * depth / count) - 1 for i in range(count)})


@rule("vision-block-indexes", "fullatt_block_indexes and deepstack_visual_indexes are unique, sorted and inside [0, depth)")
def _block_indexes(config: Config) -> Iterator[Finding]:
    depth = config.vision.get("depth")
    if not is_int(depth):
        return
    for key in ("fullatt_block_indexes", "deepstack_visual_indexes"):
        indexes = config.vision.get(key)
        if not _has(config, "vision", key) or not isinstance(indexes, list) or not all(is_int(i) for i in indexes):
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
            path = f"vision.{key}"
            fix = _fix(path, _spread(len(indexes), depth)) if depth > 0 else ""
            yield Finding("vision-block-indexes", Severity.ERROR, f"{path} {indexes} has {', '.join(problems)} (vision.depth {depth})", fix,
                          keys=(path,), reads=(path, "vision.depth"))


@rule("vision-window", "window_size is a multiple of patch_size x spatial_merge_size")
def _window(config: Config) -> Iterator[Finding]:
    window, patch, merge = (positive_int(config.vision.get(k)) for k in ("window_size", "patch_size", "spatial_merge_size"))
    if _has(config, "vision", "window_size") and window and patch and merge:
        unit = patch * merge
        if window % unit:
            yield Finding("vision-window", Severity.ERROR, f"vision.window_size {window} is not a multiple of patch_size x spatial_merge_size = {unit}",
                          _fix("vision.window_size", max(unit, round(window / unit) * unit)), keys=("vision.window_size",),
                          reads=("vision.window_size", "vision.patch_size", "vision.spatial_merge_size"))


# --- rotary position embeddings ------------------------------------------------------------------


@rule("mrope-section", "mrope_section has three parts summing to the rotary half-dimension")
def _mrope(config: Config) -> Iterator[Finding]:
    section, implicit = mrope_section(config)
    head_dim = text_head_dim(config)
    if section is None or not head_dim:
        return
    path = "text.rope_parameters.mrope_section"
    reads = (path, *_head_dim_inputs(config), "text.rope_parameters.partial_rotary_factor")
    if not isinstance(section, list) or len(section) != 3 or not all(is_int(s) and s >= 0 for s in section):
        yield Finding("mrope-section", Severity.ERROR, f"{path} is {section!r}; it needs 3 non-negative integers (t, h, w)", keys=(path,), reads=reads)
        return
    half = rotary_dim(config, head_dim) // 2
    if sum(section) != half:
        fix = [round(half * s / sum(section)) for s in section] if sum(section) else [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
        fix[0] += half - sum(fix)
        where = " (not in the file: the modeling code's default)" if implicit else ""
        yield Finding("mrope-section", Severity.ERROR, f"{path} {section}{where} sums to {sum(section)}, but the rotary half-dimension is {half} (head_dim {head_dim})",
                      _fix(path, fix), keys=(path,), reads=reads)


# --- layers --------------------------------------------------------------------------------------


@rule("max-window-layers", "max_window_layers is at most num_hidden_layers")
def _max_window(config: Config) -> Iterator[Finding]:
    window_layers, layers = config.text.get("max_window_layers"), config.text.get("num_hidden_layers")
    if is_int(window_layers) and is_int(layers) and window_layers > layers:
        sliding = bool(config.text.get("use_sliding_window"))
        message = f"text.max_window_layers {window_layers} > text.num_hidden_layers {layers}"
        if sliding:
            yield Finding("max-window-layers", Severity.ERROR, message, _fix("text.max_window_layers", layers), keys=("text.max_window_layers",), reads=("text.num_hidden_layers",))
        else:
            yield Finding("max-window-layers", Severity.INFO, message + " (no effect while use_sliding_window is false)", keys=("text.max_window_layers",))


@rule("sliding-window", "a sliding window, when used, has a positive size")
def _sliding(config: Config) -> Iterator[Finding]:
    if config.text.get("use_sliding_window") and not positive_int(config.text.get("sliding_window")):
        default = config.family.sections["text"].fields["sliding_window"].default
        fix = default if positive_int(default) else config.text.get("max_position_embeddings")
        yield Finding("sliding-window", Severity.ERROR, f"text.use_sliding_window is true but text.sliding_window is {config.text.get('sliding_window')!r}",
                      _fix("text.sliding_window", fix) if positive_int(fix) else "give text.sliding_window a positive size", keys=("text.sliding_window",))


@rule("layer-types", "layer_types has one entry per decoder layer, each a type this family builds")
def _layer_types(config: Config) -> Iterator[Finding]:
    types, layers = config.text.get("layer_types"), config.text.get("num_hidden_layers")
    if not isinstance(types, list) or not is_int(layers) or "layer_types" not in config.family.sections["text"].fields:
        return
    path = "text.layer_types"
    if len(types) != layers:
        yield Finding("layer-types", Severity.ERROR, f"{path} has {len(types)} entries for {layers} layers",
                      f"set --unset {path} (transformers derives it) or give {layers} entries", keys=(path,), reads=(path, "text.num_hidden_layers"))
    built = config.family.layer_types.built
    unknown: list = []
    for t in types:
        if t not in built and t not in unknown:
            unknown.append(t)
    if unknown:
        yield Finding("layer-types", Severity.ERROR, f"{path} has {unknown}; {config.family.name} builds {', '.join(built)}",
                      f"use {' or '.join(built)}", keys=(path,))
    full = config.family.layer_types.full_attention
    if config.family.layer_types.derived_from == "full_attention_interval" and types and full not in types:
        # the cache measures the sequence on its attention layers: with none, generation fails
        yield Finding("layer-types", Severity.ERROR, f"{path} has no {full} layer; the model's cache needs at least one",
                      f"give text.num_hidden_layers at least {config.family.layer_types.interval_default or 1}, or a {full} entry", keys=(path,), reads=(path, "text.num_hidden_layers"))
    if "sliding_attention" in types and config.text.get("sliding_window") is None:
        yield Finding("layer-types", Severity.ERROR, f"{path} has sliding_attention layers but there is no sliding window (text.use_sliding_window is false)",
                      "set --text.use_sliding_window true and a text.sliding_window, or --unset text.layer_types", keys=(path,), reads=(path, "text.use_sliding_window", "text.sliding_window"))


# --- mixture of experts --------------------------------------------------------------------------


@rule("moe-experts", "experts chosen per token are at most the experts there are")
def _moe(config: Config) -> Iterator[Finding]:
    experts, top_k = config.text.get("num_experts"), config.text.get("num_experts_per_tok")
    if _has(config, "text", "num_experts_per_tok") and is_int(experts) and is_int(top_k) and top_k > experts:
        yield Finding("moe-experts", Severity.ERROR, f"text.num_experts_per_tok {top_k} > text.num_experts {experts}", _fix("text.num_experts_per_tok", experts),
                      keys=("text.num_experts_per_tok",), reads=("text.num_experts",))


@rule("moe-layers", "mlp_only_layers name existing decoder layers")
def _moe_layers(config: Config) -> Iterator[Finding]:
    only, layers = config.text.get("mlp_only_layers"), config.text.get("num_hidden_layers")
    if _has(config, "text", "mlp_only_layers") and isinstance(only, list) and is_int(layers):
        outside = [i for i in only if not (is_int(i) and 0 <= i < layers)]
        if outside:
            yield Finding("moe-layers", Severity.ERROR, f"text.mlp_only_layers has {outside} outside [0, {layers})",
                          _fix("text.mlp_only_layers", [i for i in only if i not in outside]), keys=("text.mlp_only_layers",), reads=("text.num_hidden_layers",))


@rule("linear-attention-heads", "linear-attention value heads are a multiple of key heads")
def _linear_heads(config: Config) -> Iterator[Finding]:
    k, v = positive_int(config.text.get("linear_num_key_heads")), positive_int(config.text.get("linear_num_value_heads"))
    if _has(config, "text", "linear_num_key_heads") and k and v and v % k:
        yield Finding("linear-attention-heads", Severity.ERROR, f"text.linear_num_value_heads {v} is not a multiple of text.linear_num_key_heads {k}",
                      _fix("text.linear_num_value_heads", (v // k + 1) * k), keys=("text.linear_num_value_heads",), reads=("text.linear_num_key_heads",))


# --- numbers the model's arithmetic needs --------------------------------------------------------


def _ranges(config: Config) -> Iterator[tuple[str, Any, str]]:
    """(path, value, what it must be) of every number the modeling code divides or samples by."""
    for section in SECTIONS:
        for key, value in config.values[section].items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key.endswith("_eps") and not value > 0:
                yield f"{section}.{key}", value, "greater than 0 (the norms divide by it)"
            elif key.endswith("dropout") and not 0 <= value <= 1:
                yield f"{section}.{key}", value, "between 0 and 1 (a probability)"
            elif key == "initializer_range" and not value >= 0:
                yield f"{section}.{key}", value, "0 or more (a standard deviation)"
    rope = config.text.get("rope_parameters")
    theta = rope.get("rope_theta") if isinstance(rope, dict) else None
    if isinstance(theta, (int, float)) and not isinstance(theta, bool) and not theta > 0:
        yield "text.rope_parameters.rope_theta", theta, "greater than 0 (the rotary frequencies are its powers)"
    experts, chosen = config.text.get("num_experts"), config.text.get("num_experts_per_tok")
    if is_int(experts) and experts > 0 and is_int(chosen) and chosen < 1:
        yield "text.num_experts_per_tok", chosen, "at least 1 (each token is routed to that many experts)"


@rule("value-ranges", "epsilons, dropouts, the rope base and experts per token are in the range the model's arithmetic needs")
def _value_ranges(config: Config) -> Iterator[Finding]:
    for path, value, needed in _ranges(config):
        yield Finding("value-ranges", Severity.ERROR, f"{path} is {value}; it must be {needed}", keys=(path,))


@rule("rope-parameters", "rope_parameters holds the keys its rope_type needs")
def _rope_keys(config: Config) -> Iterator[Finding]:
    rope = config.text.get("rope_parameters")
    if not isinstance(rope, dict) or not isinstance(rope.get("rope_type"), str):
        return
    missing = [k for k in load_schema().rope_required.get(rope["rope_type"], ()) if k not in rope]
    if missing:
        path = "text.rope_parameters"
        yield Finding("rope-parameters", Severity.ERROR, f"{path} of rope_type {rope['rope_type']!r} needs {', '.join(missing)}",
                      f"set --{path}.{missing[0]} VALUE, or another rope_type", keys=(f"{path}.rope_type",))


MULTIMODAL_TOKENS = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")


@rule("distinct-tokens", "the image, video and vision start/end token ids are four different ids")
def _distinct_tokens(config: Config) -> Iterator[Finding]:
    ids = {key: config.model.get(key) for key in MULTIMODAL_TOKENS if is_int(config.model.get(key))}
    seen: dict[int, str] = {}
    for key, value in ids.items():
        if value in seen:
            yield Finding("distinct-tokens", Severity.ERROR, f"model.{key} {value} is also model.{seen[value]}; the model could not tell them apart",
                          keys=(f"model.{key}",), reads=(f"model.{key}", f"model.{seen[value]}"))
        seen.setdefault(value, key)


# --- how the weights are stored ------------------------------------------------------------------


@rule("quantization", "a quantization_config is one from_pretrained can read")
def _quantization(config: Config) -> Iterator[Finding]:
    if "quantization_config" in config.model:
        for problem in quantization_problems(config.model["quantization_config"]):
            yield Finding("quantization", Severity.ERROR, problem, keys=("model.quantization_config",))


@rule("architectures", "architectures names the family's model class")
def _architectures(config: Config) -> Iterator[Finding]:
    names = config.model.get("architectures")
    if isinstance(names, list) and names and names[0] != config.family.architecture:
        yield Finding("architectures", Severity.WARNING, f"model.architectures names {json.dumps(names[0])}, but {config.family.name} is built by {config.family.architecture}",
                      _fix("model.architectures", [config.family.architecture]), keys=("model.architectures",))


# --- vocabulary ----------------------------------------------------------------------------------


@rule("token-ids", "special and multimodal token ids are inside the vocabulary")
def _token_ids(config: Config) -> Iterator[Finding]:
    vocab = positive_int(config.text.get("vocab_size"))
    if not vocab:
        return
    for section in ("model", "text"):
        for key, value in config.values[section].items():
            ids = value if isinstance(value, list) else [value]
            if key.endswith("token_id") and ids and all(is_int(i) for i in ids):
                bad = [i for i in ids if not 0 <= i < vocab]
                if bad:
                    path = f"{section}.{key}"
                    fix = _fix("text.vocab_size", max(bad) + 1) + f" or a {key} below {vocab}" if min(bad) >= 0 else f"give {path} an id in [0, {vocab})"
                    yield Finding("token-ids", Severity.ERROR, f"{path} {value} is outside the vocabulary (text.vocab_size {vocab})", fix,
                                  keys=(path,), reads=(path, "text.vocab_size"))


# --- the file itself -----------------------------------------------------------------------------


@rule("file-consistency", "what the file says is what transformers reads")
def _file(config: Config) -> Iterator[Finding]:
    for notice in config.warnings:
        if notice.kind is NoticeKind.NO_MODEL_TYPE:  # AutoConfig refuses such a file
            yield Finding("file-consistency", Severity.ERROR, notice.message, _fix("model.model_type", config.family.name), keys=("model.model_type",))
        elif notice.kind is not NoticeKind.TYPO:  # typos are the unknown-keys rule's
            yield Finding("file-consistency", Severity.WARNING, notice.message)


@rule("unknown-keys", "keys no config class declares (ignored by transformers, unless its generic code reads them)")
def _unknown(config: Config) -> Iterator[Finding]:
    schema = load_schema()
    for section in SECTIONS:
        for key in sorted(config.extras[section]):
            typo = likely_typo_of(config, section, key)
            if section == "text" and key in schema.read_when_present:
                yield Finding("unknown-keys", Severity.WARNING, f"{section}.{key} is not a field of {config.family.sections[section].class_name}, but transformers reads it when present: it changes the model",
                              f"set --unset {section}.{key} if that is not meant", keys=(f"{section}.{key}",))
            elif typo:
                yield Finding("unknown-keys", Severity.WARNING, f"{section}.{key} is ignored by transformers", f"did you mean {typo}?", keys=(f"{section}.{key}",))
            elif not key.startswith("_"):
                yield Finding("unknown-keys", Severity.INFO, f"{section}.{key} is ignored by transformers", keys=(f"{section}.{key}",))

