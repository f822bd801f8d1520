"""The canonical view holds exactly what transformers' config classes hold, in every layout."""

import copy
import json

import pytest

from qwencfg.canonical import read_config
from qwencfg.layout import Layout
from qwencfg.sources.presets import preset_index
from qwencfg.schema import load_schema
from qwencfg.sources import Origin, RawConfig, fetch_source

from .transformers_view import saved_by_transformers, transformers_values

PRESETS = sorted(preset_index())
FAMILIES = sorted(load_schema().families)


def read_data(data: dict):
    return read_config(RawConfig(Origin(kind="file", label="test"), json.dumps(data), data))


def assert_same_as_transformers(data: dict) -> None:
    ours = read_data(data)
    theirs = transformers_values(data)
    for section, values in theirs.items():
        for key, value in values.items():
            assert ours.values[section][key] == value, f"{section}.{key}"


@pytest.mark.parametrize("name", PRESETS)
def test_preset_as_published_reads_like_transformers(name):
    assert_same_as_transformers(fetch_source(name).data)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_saved_by_transformers_5_reads_like_transformers(name):
    saved = saved_by_transformers(fetch_source(name).data)
    assert read_data(saved).layout is Layout.V5
    assert_same_as_transformers(saved)


@pytest.mark.parametrize("family", FAMILIES)
def test_class_defaults_read_like_transformers(family):
    assert_same_as_transformers(fetch_source(f"defaults:{family}").data)


def test_hybrid_file_reads_text_config_like_transformers():
    flat = fetch_source("qwen2.5-vl-7b-instruct").data
    hybrid = copy.deepcopy(flat)
    text_keys = load_schema().families["qwen2_5_vl"].flat_text_keys
    hybrid["text_config"] = {k: v for k, v in flat.items() if k in text_keys and k != "rope_scaling"}
    # transformers 4.53 wrote the mrope sections with "type": "default"; it means the same
    hybrid["text_config"]["rope_scaling"] = {"type": "default", "mrope_section": [16, 24, 24], "rope_type": "default"}
    hybrid["text_config"]["num_hidden_layers"] = 20  # differs from the top level: text_config wins
    config = read_data(hybrid)
    assert config.layout is Layout.HYBRID
    assert config.text["num_hidden_layers"] == 20
    assert [str(w) for w in config.warnings] == ["top-level num_hidden_layers=28 differs from text_config.num_hidden_layers=20; transformers uses text_config"]
    assert_same_as_transformers(hybrid)


@pytest.mark.parametrize(
    "text_changes",
    [
        {"use_sliding_window": True, "max_window_layers": 20},
        {"use_sliding_window": True, "sliding_window": 4096, "max_window_layers": 0},
        {"num_key_value_heads": None},
        {"rope_scaling": {"type": "mrope", "mrope_section": [8, 28, 28]}, "rope_theta": 5000.0},
        {"rope_scaling": None, "rope_parameters": {"rope_type": "default", "mrope_section": [16, 24, 24]}},
    ],
)
def test_flat_variants_read_like_transformers(text_changes):
    data = {**fetch_source("qwen2.5-vl-7b-instruct").data, **text_changes}
    assert_same_as_transformers(data)


def test_alias_spellings_read_like_transformers():
    data = fetch_source("defaults:qwen3_vl_moe").data
    data["text_config"]["num_local_experts"] = 8
    data["vision_config"]["num_attention_heads"] = 8
    config = read_data(data)
    assert config.text["num_experts"] == 8 and config.vision["num_heads"] == 8
    assert_same_as_transformers(data)


def test_qwen3_vl_ignores_top_level_text_keys_and_says_so():
    data = {"model_type": "qwen3_vl", "hidden_size": 1024, "vision_config": {}}
    config = read_data(data)
    assert config.text["hidden_size"] == 4096  # the class default, as transformers builds it
    assert [str(w) for w in config.warnings] == [
        "Qwen3VLConfig reads text keys only from text_config: top-level hidden_size are ignored and the text section is the class defaults"
    ]
    assert_same_as_transformers(data)
