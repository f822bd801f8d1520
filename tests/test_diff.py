"""`qwencfg diff`: by meaning, whatever the layouts; exact change lists; diff(1) exit codes."""

import json

from .conftest import assert_snapshot, preset_data, run, write_json
from .transformers_view import saved_by_transformers


def changes(*args) -> tuple[int, dict]:
    result = run("diff", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def test_3b_vs_7b_exact_change_list():
    code, data = changes("qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct")
    assert code == 1
    assert [(c["path"], c["a"], c["b"]) for c in data["changes"]] == [
        ("vision.out_hidden_size", 2048, 3584),
        ("text.hidden_size", 2048, 3584),
        ("text.intermediate_size", 11008, 18944),
        ("text.max_window_layers", 70, 28),
        ("text.num_attention_heads", 16, 28),
        ("text.num_hidden_layers", 36, 28),
        ("text.num_key_value_heads", 2, 4),
        ("text.vocab_size", 151936, 152064),
        ("model.tie_word_embeddings", True, False),
    ]
    assert data["parameters"]["delta"] == {"total": 4_537_543_680, "vision": 7_865_856, "text": 3_984_680_448, "lm_head": 544_997_376}


def test_preset_vs_its_transformers_5_save_is_identical(tmp_path):
    saved = write_json(tmp_path / "config.json", saved_by_transformers(preset_data("qwen2.5-vl-7b-instruct")))
    result = run("diff", "qwen2.5-vl-7b-instruct", str(saved))
    assert result.exit_code == 0
    assert "no differences in meaning" in result.stdout
    code, data = changes("qwen2.5-vl-7b-instruct", str(saved))
    assert (code, data["same"], data["changes"]) == (0, True, [])


def test_legacy_spellings_mean_the_same(tmp_path):
    legacy = preset_data("qwen2.5-vl-7b-instruct")
    modern = dict(legacy)
    modern.pop("rope_scaling")
    modern.pop("rope_theta")
    modern["rope_parameters"] = {"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1000000.0}
    modern["dtype"] = modern.pop("torch_dtype")
    modern["layer_types"] = ["full_attention"] * 28
    code, data = changes(str(write_json(tmp_path / "a.json", legacy)), str(write_json(tmp_path / "b.json", modern)))
    assert (code, data["changes"]) == (0, [])


def test_transformers_version_only_with_all(tmp_path):
    newer = preset_data("qwen2.5-vl-7b-instruct") | {"transformers_version": "4.57.0"}
    path = str(write_json(tmp_path / "config.json", newer))
    assert changes("qwen2.5-vl-7b-instruct", path)[0] == 0
    code, data = changes("qwen2.5-vl-7b-instruct", path, "--all")
    assert code == 1
    assert data["changes"] == [
        {"path": "model.transformers_version", "change": "changed", "a": "4.41.2", "b": "4.57.0", "a_from": "file", "b_from": "file", "no_effect": None}
    ]


def test_a_left_out_key_compares_as_the_default_and_says_so(tmp_path):
    data = preset_data("qwen2.5-vl-7b-instruct")
    del data["rms_norm_eps"]  # the class default is 1e-05
    code, result = changes("qwen2.5-vl-7b-instruct", str(write_json(tmp_path / "config.json", data)))
    assert code == 1
    assert result["changes"] == [
        {"path": "text.rms_norm_eps", "change": "changed", "a": 1e-06, "b": 1e-05, "a_from": "file", "b_from": "default", "no_effect": None}
    ]
    table = run("diff", "qwen2.5-vl-7b-instruct", str(tmp_path / "config.json")).stdout
    assert "1e-05 (default)" in table and "missing" not in table


def test_raw_compares_keys_as_written(tmp_path):
    saved = write_json(tmp_path / "config.json", saved_by_transformers(preset_data("qwen2.5-vl-3b-instruct")))
    code, data = changes("qwen2.5-vl-3b-instruct", str(saved), "--raw")
    assert code == 1 and data["mode"] == "raw"
    paths = {c["path"]: c["change"] for c in data["changes"]}
    assert paths["rope_scaling"] == "removed" and paths["text_config"] == "added"
    assert paths["torch_dtype"] == "removed" and paths["dtype"] == "added"


def test_families_diff_on_shared_keys_and_list_the_rest():
    code, data = changes("defaults:qwen2_vl", "defaults:qwen2_5_vl")
    assert code == 1
    assert [c["path"] for c in data["changes"]] == ["vision.hidden_act"]
    assert data["only_in_a_family"] == ["vision.embed_dim", "vision.mlp_ratio"]
    assert data["only_in_b_family"] == [
        "vision.fullatt_block_indexes",
        "vision.intermediate_size",
        "vision.out_hidden_size",
        "vision.tokens_per_second",
        "vision.window_size",
    ]


def test_ignore_glob():
    code, data = changes("qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct", "--ignore", "text.*", "--ignore", "vision.out_*")
    assert [c["path"] for c in data["changes"]] == ["model.tie_word_embeddings"]
    code, data = changes("qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct", "-i", "*")
    assert (code, data["changes"]) == (0, [])


def test_quiet_prints_nothing():
    result = run("diff", "qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct", "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")
    same = run("diff", "qwen2.5-vl-3b-instruct", "preset:qwen2.5-vl-3b-instruct", "-q")
    assert (same.exit_code, same.stdout) == (0, "")


def test_errors_exit_2(tmp_path):
    result = run("diff", "qwen2.5-vl-3b-instruct", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"qwencfg: error: {tmp_path / 'missing.json'}: no such file")


def test_markdown_snapshot():
    assert_snapshot("diff-3b-7b.md", run("diff", "qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct", "-f", "markdown").stdout)


def test_table_snapshot():
    assert_snapshot("diff-3b-7b.txt", run("diff", "qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct").stdout)
