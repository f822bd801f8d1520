"""Parameter counts computed from the config alone, tensor by tensor, without torch.

`parameter_inventory()` lists every parameter tensor the real `...ForConditionalGeneration` model
creates, with its name and shape; a test builds the real model on the meta device and checks the
two lists are identical. `show`, `diff` and `presets` use these counts so they stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Callable

from .canonical import Config, is_int

# Component name -> prefix of the parameter names that belong to it, in display order.
COMPONENTS: dict[str, str] = {
    "vision.patch_embed": "model.visual.patch_embed.",
    "vision.pos_embed": "model.visual.pos_embed.",
    "vision.blocks": "model.visual.blocks.",
    "vision.merger": "model.visual.merger.",
    "vision.deepstack_mergers": "model.visual.deepstack_merger_list.",
    "text.embed_tokens": "model.language_model.embed_tokens.",
    "text.layers": "model.language_model.layers.",
    "text.norm": "model.language_model.norm.",
    "lm_head": "lm_head.",
}
GROUPS = ("vision", "text", "lm_head")
# Beyond these no model is real, and enumerating its tensors would not end.
MAX_LAYERS = 10_000
MAX_DIMENSION = 2**31 - 1


class CountUnavailable(Exception):
    """The config cannot be counted: a value of the wrong type, or a family without a formula."""


@dataclass(frozen=True)
class ParameterCount:
    total: int
    components: dict[str, int]  # every component of COMPONENTS the model has, in order
    tied: bool  # lm_head shares text.embed_tokens and is counted once
    active: int | None  # parameters used per token, for mixture-of-experts models

    def group(self, name: str) -> int:
        """Total of the vision, text or lm_head components."""
        return sum(n for comp, n in self.components.items() if comp.split(".")[0] == name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "total": self.total,
            "vision": self.group("vision"),
            "text": self.group("text"),
            "lm_head": self.group("lm_head"),
            "components": self.components,
            "tied_embeddings": self.tied,
        }
        if self.active is not None:
            out["active_per_token"] = self.active
        return out


def component_of(name: str) -> str:
    return next((comp for comp, prefix in COMPONENTS.items() if name.startswith(prefix)), "other")


def count_from_inventory(tensors: dict[str, tuple[int, ...]], tied: bool, active: int | None = None) -> ParameterCount:
    components: dict[str, int] = {}
    for name, shape in tensors.items():
        components[component_of(name)] = components.get(component_of(name), 0) + prod(shape)
    if tied:
        components["lm_head"] = 0
    ordered = {comp: components[comp] for comp in [*COMPONENTS, "other"] if comp in components}
    return ParameterCount(total=sum(ordered.values()), components=ordered, tied=tied, active=active)


def count_parameters(config: Config) -> ParameterCount:
    """Parameter count of the model `config` describes; raises CountUnavailable if it can't."""
    tensors = parameter_inventory(config)
    return count_from_inventory(tensors, tied=bool(config.model["tie_word_embeddings"]), active=_active(config, tensors))


@dataclass(frozen=True)
class CheckpointCount:
    """What a checkpoint's weight files hold: transformers' model, plus the multi-token-prediction
    (MTP) layers that serving engines load for speculative decoding and transformers skips."""

    model: ParameterCount
    mtp: int  # parameters of the MTP module (0 when the config declares none)
    mtp_layers: int

    @property
    def total(self) -> int:
        return self.model.total + self.mtp

    def matching(self, expected: int, tolerance: int) -> str | None:
        """Which count `expected` matches: "model", "checkpoint", or None."""
        if abs(self.model.total - expected) <= tolerance:
            return "model"
        if self.mtp and abs(self.total - expected) <= tolerance:
            return "checkpoint"
        return None

    def to_json(self) -> dict[str, Any]:
        return {**self.model.to_json(), "mtp": self.mtp, "mtp_layers": self.mtp_layers, "checkpoint_total": self.total}


def count_checkpoint(config: Config) -> CheckpointCount:
    """The model's count and the MTP parameters its checkpoint adds; raises CountUnavailable."""
    model = count_parameters(config)
    mtp = mtp_inventory(config)
    return CheckpointCount(model, sum(prod(shape) for shape in mtp.values()), mtp_layer_count(config))


def try_count_checkpoint(config: Config) -> tuple[CheckpointCount | None, str | None]:
    """The count, or None and the reason it cannot be made (a wrong value, a family without a formula)."""
    try:
        return count_checkpoint(config), None
    except CountUnavailable as exc:
        return None, str(exc)


def mtp_layer_count(config: Config) -> int:
    """MTP layers the config declares, for families whose checkpoints carry them (else 0)."""
    if not config.family.has_mtp_weights:
        return 0
    value = config.text.get("mtp_num_hidden_layers", config.model.get("mtp_num_hidden_layers", 0))
    if value is None:
        return 0
    if not is_int(value) or not 0 <= value <= MAX_LAYERS:
        raise CountUnavailable(f"text.mtp_num_hidden_layers is {value!r}, not a layer count")
    return value


def mtp_inventory(config: Config) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the checkpoint's `mtp.*` tensors, as the published checkpoints lay them out:
    norms of the token embedding and of the last hidden state, a projection of the two
    concatenated back to the hidden size, full-attention decoder layers, a final norm, and token
    embeddings of its own when `mtp_use_dedicated_embeddings` says so."""
    layers = mtp_layer_count(config)
    if not layers:
        return {}
    t = _Values("text", config.text, config.family.sections["text"].fields)
    hidden = t.int("hidden_size")
    tensors: dict[str, tuple[int, ...]] = {}
    if config.text.get("mtp_use_dedicated_embeddings", config.model.get("mtp_use_dedicated_embeddings")):
        tensors["mtp.embed_tokens.weight"] = (t.int("vocab_size"), hidden)
    tensors["mtp.pre_fc_norm_embedding.weight"] = (hidden,)
    tensors["mtp.pre_fc_norm_hidden.weight"] = (hidden,)
    _linear(tensors, "mtp.fc", hidden, 2 * hidden, bias=False)
    layer = LAYERS.get(config.family.text_stack or "")
    if layer is None:
        raise CountUnavailable(f"no formula for the multi-token-prediction layers of {config.family.name}")
    for i in range(layers):
        layer(t, tensors, f"mtp.layers.{i}", "full_attention")
    tensors["mtp.norm.weight"] = (hidden,)
    return tensors


def parameter_inventory(config: Config) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter tensor of the model (a tied lm_head is left out, as torch does)."""
    vision_style, text_style = config.family.vision_tower, config.family.text_stack
    if vision_style is None or text_style is None:
        raise CountUnavailable(f"no parameter formula for {config.family.name}; `qwencfg validate` counts it on the meta device")
    v = _Values("vision", config.vision, config.family.sections["vision"].fields)
    t = _Values("text", config.text, config.family.sections["text"].fields)
    tensors: dict[str, tuple[int, ...]] = {}
    VISION[vision_style](v, t, tensors)
    tensors["model.language_model.embed_tokens.weight"] = (t.int("vocab_size"), t.int("hidden_size"))
    TEXT[text_style](t, tensors)
    tensors["model.language_model.norm.weight"] = (t.int("hidden_size"),)
    if not config.model["tie_word_embeddings"]:
        tensors["lm_head.weight"] = (t.int("vocab_size"), t.int("hidden_size"))
    return tensors


class _Values:
    """Typed access to a section's values; a value of the wrong type makes the count unavailable."""

    def __init__(self, section: str, values: dict[str, Any], fields: Any):
        self.section, self.values, self.fields = section, values, fields

    def int(self, key: str, minimum: int = 1, maximum: int = MAX_DIMENSION) -> int:
        value = self.values.get(key)
        if not is_int(value) or value < minimum:
            raise CountUnavailable(f"{self.section}.{key} is {value!r}, not an integer >= {minimum}")
        if value > maximum:
            raise CountUnavailable(f"{self.section}.{key} is {value}, more than any model has (at most {maximum:,})")
        return value

    def bool(self, key: str) -> bool:
        return bool(self.values.get(key))

    def int_list(self, key: str) -> list[int]:
        value = self.values.get(key)
        if not isinstance(value, list) or not all(is_int(i) for i in value):
            raise CountUnavailable(f"{self.section}.{key} is {value!r}, not a list of integers")
        return value

    def str_list(self, key: str) -> list[str]:
        value = self.values.get(key)
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            raise CountUnavailable(f"{self.section}.{key} is {value!r}, not a list of layer types")
        return value


def _linear(tensors: dict, name: str, out_features: int, in_features: int, bias: bool) -> None:
    tensors[f"{name}.weight"] = (out_features, in_features)
    if bias:
        tensors[f"{name}.bias"] = (out_features,)


def _norm(tensors: dict, name: str, dim: int, bias: bool) -> None:
    tensors[f"{name}.weight"] = (dim,)
    if bias:
        tensors[f"{name}.bias"] = (dim,)


def _patch_embed(v: _Values, width: int, tensors: dict, bias: bool) -> None:
    patch, temporal = v.int("patch_size"), v.int("temporal_patch_size")
    tensors["model.visual.patch_embed.proj.weight"] = (width, v.int("in_channels"), temporal, patch, patch)
    if bias:
        tensors["model.visual.patch_embed.proj.bias"] = (width,)


def _vision_blocks(v: _Values, tensors: dict, width: int, norm_bias: bool, mlp: Callable[[str], None]) -> None:
    """The vision transformer blocks: two norms, fused-qkv attention and an MLP (`mlp(block)`)."""
    for i in range(v.int("depth", minimum=0, maximum=MAX_LAYERS)):
        block = f"model.visual.blocks.{i}"
        _norm(tensors, f"{block}.norm1", width, bias=norm_bias)
        _norm(tensors, f"{block}.norm2", width, bias=norm_bias)
        _linear(tensors, f"{block}.attn.qkv", 3 * width, width, bias=True)
        _linear(tensors, f"{block}.attn.proj", width, width, bias=True)
        mlp(block)


def _merger(tensors: dict, prefix: str, norm: str, norm_dim: int, merged: int, out: int, norm_bias: bool, linears: tuple[str, str]) -> None:
    """A patch merger: a norm, then two linears from the merged patches to the text width."""
    _norm(tensors, f"{prefix}.{norm}", norm_dim, bias=norm_bias)
    _linear(tensors, f"{prefix}.{linears[0]}", merged, merged, bias=True)
    _linear(tensors, f"{prefix}.{linears[1]}", out, merged, bias=True)


def _vision_qwen2_vl(v: _Values, t: _Values, tensors: dict) -> None:
    width, merged = v.int("embed_dim"), v.int("embed_dim") * v.int("spatial_merge_size") ** 2
    _patch_embed(v, width, tensors, bias=False)
    hidden = width * v.int("mlp_ratio")

    def mlp(block: str) -> None:
        _linear(tensors, f"{block}.mlp.fc1", hidden, width, bias=True)
        _linear(tensors, f"{block}.mlp.fc2", width, hidden, bias=True)

    _vision_blocks(v, tensors, width, norm_bias=True, mlp=mlp)
    _merger(tensors, "model.visual.merger", "ln_q", width, merged, v.int("hidden_size"), True, ("mlp.0", "mlp.2"))


def _vision_qwen2_5_vl(v: _Values, t: _Values, tensors: dict) -> None:
    width, merged = v.int("hidden_size"), v.int("hidden_size") * v.int("spatial_merge_size") ** 2
    _patch_embed(v, width, tensors, bias=False)
    hidden = v.int("intermediate_size")

    def mlp(block: str) -> None:
        _linear(tensors, f"{block}.mlp.gate_proj", hidden, width, bias=True)
        _linear(tensors, f"{block}.mlp.up_proj", hidden, width, bias=True)
        _linear(tensors, f"{block}.mlp.down_proj", width, hidden, bias=True)

    _vision_blocks(v, tensors, width, norm_bias=False, mlp=mlp)
    _merger(tensors, "model.visual.merger", "ln_q", width, merged, v.int("out_hidden_size"), False, ("mlp.0", "mlp.2"))


def _vision_qwen3_vl(v: _Values, t: _Values, tensors: dict) -> None:
    width, merged = v.int("hidden_size"), v.int("hidden_size") * v.int("spatial_merge_size") ** 2
    _patch_embed(v, width, tensors, bias=True)
    tensors["model.visual.pos_embed.weight"] = (v.int("num_position_embeddings"), width)
    hidden = v.int("intermediate_size")

    def mlp(block: str) -> None:
        _linear(tensors, f"{block}.mlp.linear_fc1", hidden, width, bias=True)
        _linear(tensors, f"{block}.mlp.linear_fc2", width, hidden, bias=True)

    _vision_blocks(v, tensors, width, norm_bias=True, mlp=mlp)
    out, linears = v.int("out_hidden_size"), ("linear_fc1", "linear_fc2")
    _merger(tensors, "model.visual.merger", "norm", width, merged, out, True, linears)
    if "deepstack_visual_indexes" in v.fields:
        for i in range(len(v.int_list("deepstack_visual_indexes"))):  # normalised after the shuffle
            _merger(tensors, f"model.visual.deepstack_merger_list.{i}", "norm", merged, merged, out, True, linears)


def _attention(t: _Values, tensors: dict, layer: str, head_dim: int, qk_norm: bool, gated: bool, bias_qkv: bool, bias_o: bool) -> None:
    hidden, heads, kv_heads = t.int("hidden_size"), t.int("num_attention_heads"), t.int("num_key_value_heads")
    _linear(tensors, f"{layer}.self_attn.q_proj", heads * head_dim * (2 if gated else 1), hidden, bias_qkv)
    _linear(tensors, f"{layer}.self_attn.k_proj", kv_heads * head_dim, hidden, bias_qkv)
    _linear(tensors, f"{layer}.self_attn.v_proj", kv_heads * head_dim, hidden, bias_qkv)
    _linear(tensors, f"{layer}.self_attn.o_proj", hidden, heads * head_dim, bias_o)
    if qk_norm:
        _norm(tensors, f"{layer}.self_attn.q_norm", head_dim, bias=False)
        _norm(tensors, f"{layer}.self_attn.k_norm", head_dim, bias=False)


def _dense_mlp(t: _Values, tensors: dict, prefix: str, intermediate: int) -> None:
    hidden = t.int("hidden_size")
    _linear(tensors, f"{prefix}.gate_proj", intermediate, hidden, bias=False)
    _linear(tensors, f"{prefix}.up_proj", intermediate, hidden, bias=False)
    _linear(tensors, f"{prefix}.down_proj", hidden, intermediate, bias=False)


def _experts(t: _Values, tensors: dict, mlp: str) -> None:
    hidden, experts, inner = t.int("hidden_size"), t.int("num_experts"), t.int("moe_intermediate_size")
    tensors[f"{mlp}.gate.weight"] = (experts, hidden)
    tensors[f"{mlp}.experts.gate_up_proj"] = (experts, 2 * inner, hidden)
    tensors[f"{mlp}.experts.down_proj"] = (experts, hidden, inner)


def _layer_norms(t: _Values, tensors: dict, layer: str) -> None:
    _norm(tensors, f"{layer}.input_layernorm", t.int("hidden_size"), bias=False)
    _norm(tensors, f"{layer}.post_attention_layernorm", t.int("hidden_size"), bias=False)


def _layers(t: _Values) -> range:
    return range(t.int("num_hidden_layers", minimum=0, maximum=MAX_LAYERS))


def _text_qwen2(t: _Values, tensors: dict) -> None:
    head_dim = t.int("hidden_size") // t.int("num_attention_heads")
    for i in _layers(t):
        layer = f"model.language_model.layers.{i}"
        _attention(t, tensors, layer, head_dim, qk_norm=False, gated=False, bias_qkv=True, bias_o=False)
        _dense_mlp(t, tensors, f"{layer}.mlp", t.int("intermediate_size"))
        _layer_norms(t, tensors, layer)


def _text_qwen3(t: _Values, tensors: dict) -> None:
    bias = t.bool("attention_bias")
    for i in _layers(t):
        layer = f"model.language_model.layers.{i}"
        _attention(t, tensors, layer, t.int("head_dim"), qk_norm=True, gated=False, bias_qkv=bias, bias_o=bias)
        _dense_mlp(t, tensors, f"{layer}.mlp", t.int("intermediate_size"))
        _layer_norms(t, tensors, layer)


def _is_sparse_layer(t: _Values, i: int) -> bool:
    """Whether decoder layer i of a Qwen3-VL-MoE model has experts (else a dense MLP)."""
    return i not in t.values["mlp_only_layers"] and t.values["num_experts"] > 0 and (i + 1) % t.values["decoder_sparse_step"] == 0


def _text_qwen3_moe(t: _Values, tensors: dict) -> None:
    bias = t.bool("attention_bias")
    t.int("decoder_sparse_step")
    t.int_list("mlp_only_layers")
    t.int("num_experts", minimum=0)
    for i in _layers(t):
        layer = f"model.language_model.layers.{i}"
        _attention(t, tensors, layer, t.int("head_dim"), qk_norm=True, gated=False, bias_qkv=bias, bias_o=bias)
        if _is_sparse_layer(t, i):
            _experts(t, tensors, f"{layer}.mlp")
        else:
            _dense_mlp(t, tensors, f"{layer}.mlp", t.int("intermediate_size"))
        _layer_norms(t, tensors, layer)


def _linear_attention(t: _Values, tensors: dict, layer: str) -> None:
    hidden = t.int("hidden_size")
    key_dim = t.int("linear_num_key_heads") * t.int("linear_key_head_dim")
    value_heads = t.int("linear_num_value_heads")
    value_dim = value_heads * t.int("linear_value_head_dim")
    conv_dim = 2 * key_dim + value_dim
    attn = f"{layer}.linear_attn"
    tensors[f"{attn}.dt_bias"] = (value_heads,)
    tensors[f"{attn}.A_log"] = (value_heads,)
    tensors[f"{attn}.conv1d.weight"] = (conv_dim, 1, t.int("linear_conv_kernel_dim"))
    tensors[f"{attn}.norm.weight"] = (t.int("linear_value_head_dim"),)
    _linear(tensors, f"{attn}.out_proj", hidden, value_dim, bias=False)
    _linear(tensors, f"{attn}.in_proj_qkv", conv_dim, hidden, bias=False)
    _linear(tensors, f"{attn}.in_proj_z", value_dim, hidden, bias=False)
    _linear(tensors, f"{attn}.in_proj_b", value_heads, hidden, bias=False)
    _linear(tensors, f"{attn}.in_proj_a", value_heads, hidden, bias=False)


def _hybrid_attention(t: _Values, tensors: dict, layer: str, layer_type: str) -> None:
    if layer_type == "linear_attention":
        _linear_attention(t, tensors, layer)
    elif layer_type == "full_attention":
        bias = t.bool("attention_bias")
        _attention(t, tensors, layer, t.int("head_dim"), qk_norm=True, gated=True, bias_qkv=bias, bias_o=bias)
    else:
        raise CountUnavailable(f"text.layer_types has {layer_type!r}; this family knows linear_attention and full_attention")


def _hybrid_layer_types(t: _Values) -> list[str]:
    layer_types = t.str_list("layer_types")
    if len(layer_types) != t.int("num_hidden_layers", minimum=0):
        raise CountUnavailable(f"text.layer_types has {len(layer_types)} entries for {t.values['num_hidden_layers']} layers")
    return layer_types


def _layer_qwen3_5(t: _Values, tensors: dict, layer: str, layer_type: str) -> None:
    _hybrid_attention(t, tensors, layer, layer_type)
    _dense_mlp(t, tensors, f"{layer}.mlp", t.int("intermediate_size"))
    _layer_norms(t, tensors, layer)


def _layer_qwen3_5_moe(t: _Values, tensors: dict, layer: str, layer_type: str) -> None:
    _hybrid_attention(t, tensors, layer, layer_type)
    _experts(t, tensors, f"{layer}.mlp")
    _dense_mlp(t, tensors, f"{layer}.mlp.shared_expert", t.int("shared_expert_intermediate_size"))
    tensors[f"{layer}.mlp.shared_expert_gate.weight"] = (1, t.int("hidden_size"))
    _layer_norms(t, tensors, layer)


def _hybrid_stack(layer: Callable[[_Values, dict, str, str], None]) -> Callable[[_Values, dict], None]:
    def stack(t: _Values, tensors: dict) -> None:
        for i, layer_type in enumerate(_hybrid_layer_types(t)):
            layer(t, tensors, f"model.language_model.layers.{i}", layer_type)

    return stack


# One decoder layer of the families whose checkpoints carry MTP layers (the same layer shape).
LAYERS = {"qwen3_5": _layer_qwen3_5, "qwen3_5_moe": _layer_qwen3_5_moe}


# The formulas by the shape of the tower and the decoder (Family.vision_tower and .text_stack).
VISION: dict[str, Callable[[_Values, _Values, dict], None]] = {
    "qwen2_vl": _vision_qwen2_vl,
    "qwen2_5_vl": _vision_qwen2_5_vl,
    "qwen3_vl": _vision_qwen3_vl,
}
TEXT: dict[str, Callable[[_Values, dict], None]] = {
    "qwen2": _text_qwen2,
    "qwen3": _text_qwen3,
    "qwen3_moe": _text_qwen3_moe,
    "qwen3_5": _hybrid_stack(_layer_qwen3_5),
    "qwen3_5_moe": _hybrid_stack(_layer_qwen3_5_moe),
}


def _active(config: Config, tensors: dict[str, tuple[int, ...]]) -> int | None:
    """Parameters one token uses in a mixture-of-experts model: all but the unchosen experts."""
    experts = config.text.get("num_experts")
    if not isinstance(experts, int) or experts <= 0 or "num_experts_per_tok" not in config.text:
        return None
    chosen = config.text["num_experts_per_tok"]
    idle = sum(
        prod(shape) * (experts - chosen) // experts
        for name, shape in tensors.items()
        if ".mlp.experts." in name
    )
    total = sum(prod(s) for s in tensors.values())
    return total - idle
