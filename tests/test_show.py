"""`qwencfg show`: every preset, every format; layouts show the same values; snapshots of the tables."""

import json

import pytest

from qwencfg.sources.presets import preset_index

from .conftest import assert_snapshot, preset_data, run, write_json
from .transformers_view import saved_by_transformers

PRESETS = sorted(preset_index())


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_shows_in_every_format(name, fmt):
    result = run("show", name, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["source"]["kind"] == "preset"
        assert set(data["sections"]) == {"vision", "text", "model"}


@pytest.mark.parametrize("name", ["qwen2.5-vl-7b-instruct", "qwen2.5-vl-3b-instruct"])
def test_table_snapshot(name):
    assert_snapshot(f"show-{name}.txt", run("show", name).stdout)


def test_markdown_snapshot():
    assert_snapshot("show-qwen2.5-vl-7b-instruct.md", run("show", "qwen2.5-vl-7b-instruct", "-f", "markdown", "-s", "text").stdout)


def test_flat_file_and_its_transformers_5_save_show_the_same_values(tmp_path):
    flat = write_json(tmp_path / "flat" / "config.json", preset_data("qwen2.5-vl-7b-instruct"))
    v5 = write_json(tmp_path / "v5" / "config.json", saved_by_transformers(preset_data("qwen2.5-vl-7b-instruct")))
    a = json.loads(run("show", str(flat), "-f", "json").stdout)
    b = json.loads(run("show", str(v5), "-f", "json").stdout)
    assert (a["layout"], b["layout"]) == ("flat", "transformers-5")
    flat_values = {(s, k): v["value"] for s, keys in a["sections"].items() for k, v in keys.items()}
    v5_values = {(s, k): v["value"] for s, keys in b["sections"].items() for k, v in keys.items()}
    # transformers 5 also writes the dtype into text_config; the flat file leaves it to the top level
    assert set(v5_values) - set(flat_values) == {("text", "dtype")} and v5_values["text", "dtype"] == "bfloat16"
    assert set(flat_values) - set(v5_values) == set()
    shared = set(flat_values) - {("model", "transformers_version")}
    assert {k: flat_values[k] for k in shared} == {k: v5_values[k] for k in shared}
    assert a["derived"] == b["derived"]
    assert a["parameters"] == b["parameters"]
    assert a["parameters"]["total"] == 8_292_166_656


def test_json_object_is_stable():
    data = json.loads(run("show", "qwen2.5-vl-7b-instruct", "-f", "json", "-s", "text").stdout)
    assert list(data) == [
        "qwencfg_version",
        "source",
        "family",
        "architecture",
        "layout",
        "schema_transformers_version",
        "sections",
        "unknown_keys",
        "derived",
        "parameters",
        "parameters_unavailable",
        "warnings",
    ]
    assert data["sections"]["text"]["num_hidden_layers"] == {
        "value": 28,
        "default": 80,
        "set_in_file": True,
        "from": "file",
        "meaning": "Number of hidden layers in the Transformer decoder",
    }
    assert data["derived"]["text"] == {
        "head_dim": 128,
        "gqa_group": 7,
        "kv_cache_bytes_per_token_bf16": 57344,
        "mrope_section_sum": {"value": 64, "ok": True},
    }
    assert data["unknown_keys"] == {"text": {}}
    assert data["parameters"]["components"]["lm_head"] == 544_997_376


def test_section_filter_repeats():
    data = json.loads(run("show", "qwen2.5-vl-3b-instruct", "-f", "json", "-s", "vision", "-s", "model").stdout)
    assert list(data["sections"]) == ["vision", "model"]
    assert data["derived"]["vision"]["vision_tokens_448x448"] == 256
    assert data["unknown_keys"] == {"vision": {"in_chans": 3, "spatial_patch_size": 14}, "model": {"vision_token_id": 151654}}


def test_stdin_source():
    text = json.dumps(preset_data("qwen2.5-vl-3b-instruct"))
    data = json.loads(run("show", "-", "-f", "json", input=text).stdout)
    assert data["source"] == {"kind": "stdin", "label": "<stdin>"}
    assert data["parameters"]["total"] == 3_754_622_976


def test_defaults_source_shows_the_class_defaults():
    data = json.loads(run("show", "defaults:qwen2_5_vl", "-f", "json").stdout)
    assert data["sections"]["text"]["hidden_size"]["value"] == 8192
    assert all(not v["set_in_file"] or v["value"] == v["default"] for v in data["sections"]["vision"].values())


def test_typo_in_a_key_is_warned_and_listed(tmp_path):
    data = preset_data("qwen2.5-vl-7b-instruct")
    data["vision_config"]["fullatt_block_index"] = data["vision_config"].pop("fullatt_block_indexes")
    result = run("show", str(write_json(tmp_path / "config.json", data)), "-s", "vision", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr.strip() == (
        "qwencfg: warning: vision.fullatt_block_index is not a field of Qwen2_5_VLVisionConfig and is ignored; "
        "did you mean vision.fullatt_block_indexes?"
    )
    shown = json.loads(result.stdout)
    assert shown["unknown_keys"]["vision"] == {"fullatt_block_index": [7, 15, 23, 31], "in_chans": 3, "spatial_patch_size": 14}
    assert shown["sections"]["vision"]["fullatt_block_indexes"]["set_in_file"] is False


def test_wrong_type_is_one_line_and_exit_2(tmp_path):
    data = preset_data("qwen2.5-vl-7b-instruct")
    data["hidden_size"] = "3584"
    result = run("show", str(write_json(tmp_path / "config.json", data)))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"qwencfg: error: {tmp_path / 'config.json'}: text.hidden_size is a string (\"3584\"); transformers expects int. "
        "Fix the value; `qwencfg validate` lists every problem\n"
    )
