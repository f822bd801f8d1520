"""The analytic parameter inventory is the real model's, tensor by tensor."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwencfg.canonical import read_config
from qwencfg.count import count_checkpoint, count_parameters, mtp_inventory, parameter_inventory
from qwencfg.schema import load_schema
from qwencfg.sources.presets import preset_index
from qwencfg.sources import Origin, RawConfig, fetch_source

from .meta_model import meta_inventory


def read(data):
    return read_config(RawConfig(Origin(kind="file", label="test"), json.dumps(data), data))


@pytest.mark.parametrize("name", sorted(preset_index()))
def test_preset_inventory_is_the_meta_models(name):
    data = fetch_source(name).data
    assert parameter_inventory(read(data)) == meta_inventory(data)


@pytest.mark.parametrize("name", [n for n, p in sorted(preset_index().items()) if p.published_params])
def test_preset_count_is_the_published_count(name):
    """The published totals are those of the weight files: the model, plus MTP layers where a checkpoint has them."""
    assert count_checkpoint(read(fetch_source(name).data)).total == preset_index()[name].published_params


def test_qwen3_6_checkpoint_is_the_transformers_model_plus_one_mtp_layer():
    count = count_checkpoint(read(fetch_source("qwen3.6-27b").data))
    assert (count.model.total, count.mtp, count.mtp_layers, count.total) == (27_356_728_560, 424_699_392, 1, 27_781_427_952)
    mtp = mtp_inventory(read(fetch_source("qwen3.6-27b").data))
    assert mtp["mtp.fc.weight"] == (5120, 10240)  # the concatenated embedding and hidden states, back to hidden
    assert mtp["mtp.layers.0.self_attn.q_proj.weight"] == (24 * 256 * 2, 5120)  # a gated full-attention layer
    assert mtp["mtp.layers.0.mlp.gate_proj.weight"] == (17408, 5120)
    assert {n for n in mtp if "norm" in n and ".layers." not in n} == {"mtp.pre_fc_norm_embedding.weight", "mtp.pre_fc_norm_hidden.weight", "mtp.norm.weight"}
    assert "mtp.embed_tokens.weight" not in mtp  # mtp_use_dedicated_embeddings is false


def test_dedicated_mtp_embeddings_are_counted_when_declared():
    data = fetch_source("qwen3.6-27b").data
    data["text_config"] |= {"mtp_use_dedicated_embeddings": True, "mtp_num_hidden_layers": 2}
    count = count_checkpoint(read(data))
    layer = sum(__import__("math").prod(s) for n, s in mtp_inventory(read(data)).items() if n.startswith("mtp.layers.0."))
    assert count.mtp == 424_699_392 + layer + 248_320 * 5120 and count.mtp_layers == 2


def test_moe_active_parameters_per_token():
    count = count_parameters(read(fetch_source("qwen3-vl-30b-a3b-instruct").data))
    one_expert = 3 * 2048 * 768  # gate, up and down of one expert
    assert count.active == count.total - (128 - 8) * one_expert * 48 == 3_891_664_112


def test_qwen2_5_vl_7b_components():
    count = count_parameters(read(fetch_source("qwen2.5-vl-7b-instruct").data))
    assert count.components == {
        "vision.patch_embed": 1_505_280,
        "vision.blocks": 630_470_400,  # 32 x 19,702,200
        "vision.merger": 44_574_464,  # ln_q 1,280 + 5120x5120+5120 + 3584x5120+3584
        "text.embed_tokens": 544_997_376,
        "text.layers": 6_525_618_176,  # 28 x 233,057,792
        "text.norm": 3_584,
        "lm_head": 544_997_376,
    }
    assert (count.total, count.tied, count.active) == (8_292_166_656, False, None)


def test_tied_embeddings_are_counted_once():
    count = count_parameters(read(fetch_source("qwen2.5-vl-3b-instruct").data))
    assert count.tied and count.components["lm_head"] == 0
    assert count.total == 3_754_622_976


@st.composite
def small_config(draw, family: str) -> dict:
    """A small valid config of `family` in the transformers-5 layout."""
    heads = draw(st.sampled_from([2, 4]))
    kv_heads = draw(st.sampled_from([h for h in (1, 2, 4) if heads % h == 0]))
    head_dim = draw(st.sampled_from([8, 16]))
    layers = draw(st.integers(1, 4))
    text = {
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "hidden_size": heads * head_dim,
        "intermediate_size": draw(st.integers(8, 64)),
        "vocab_size": draw(st.integers(16, 128)),
        "head_dim": head_dim,
        "attention_bias": draw(st.booleans()),
        "rope_parameters": {"rope_type": "default", "mrope_section": [head_dim // 4, head_dim // 8, head_dim // 8]},
    }
    if family in ("qwen3_vl_moe", "qwen3_5_moe"):
        experts = draw(st.integers(1, 6))
        text |= {"num_experts": experts, "num_experts_per_tok": draw(st.integers(1, experts)), "moe_intermediate_size": draw(st.integers(4, 32))}
    if family == "qwen3_vl_moe":
        text |= {"decoder_sparse_step": draw(st.integers(1, 2)), "mlp_only_layers": draw(st.lists(st.integers(0, layers - 1), unique=True, max_size=2))}
    if family in ("qwen3_5", "qwen3_5_moe"):
        text |= {
            "linear_num_key_heads": 2,
            "linear_num_value_heads": draw(st.sampled_from([2, 4])),
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 8,
            "linear_conv_kernel_dim": draw(st.integers(2, 4)),
            "layer_types": draw(st.lists(st.sampled_from(["linear_attention", "full_attention"]), min_size=layers, max_size=layers)),
        }
    if family == "qwen3_5_moe":
        text["shared_expert_intermediate_size"] = draw(st.integers(4, 32))
    vision_heads = draw(st.sampled_from([1, 2]))
    depth = draw(st.integers(1, 3))
    vision = {
        "depth": depth,
        "num_heads": vision_heads,
        "hidden_size": vision_heads * draw(st.sampled_from([8, 16])),
        "intermediate_size": draw(st.integers(8, 48)),
        "patch_size": draw(st.sampled_from([2, 4])),
        "temporal_patch_size": draw(st.sampled_from([1, 2])),
        "spatial_merge_size": draw(st.sampled_from([1, 2])),
        "out_hidden_size": text["hidden_size"],
    }
    if family == "qwen2_vl":
        vision |= {"embed_dim": vision["hidden_size"], "hidden_size": text["hidden_size"], "mlp_ratio": draw(st.integers(1, 4))}
    if family == "qwen2_5_vl":
        vision["fullatt_block_indexes"] = [depth - 1]
    if family.startswith("qwen3"):
        vision["num_position_embeddings"] = draw(st.sampled_from([4, 16]))
    if family in ("qwen3_vl", "qwen3_vl_moe"):
        vision["deepstack_visual_indexes"] = draw(st.lists(st.integers(0, depth - 1), unique=True, max_size=depth))
    return {
        "model_type": family,
        "text_config": text,
        "vision_config": vision,
        "tie_word_embeddings": draw(st.booleans()),
    }


COUNTED_FAMILIES = sorted(name for name, f in load_schema().families.items() if f.vision_tower and f.text_stack)


@pytest.mark.parametrize("family", COUNTED_FAMILIES)
def test_analytic_count_equals_meta_count_for_random_small_configs(family):
    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(small_config(family))
    def check(data):
        assert parameter_inventory(read(data)) == meta_inventory(data)

    check()
