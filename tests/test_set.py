"""`qwencfg set`: typed overrides, validated, written back in the file's own shape and nothing else."""

import json
import os
from pathlib import Path

import pytest

from qwencfg import UNSET, apply_overrides, load
from qwencfg.errors import UnknownKey

from .conftest import ROOT, one_error, preset_data, run, write_json
from .transformers_view import saved_by_transformers

PRESET_7B = Path(__file__).resolve().parent.parent / "qwencfg" / "data" / "presets" / "qwen2.5-vl-7b-instruct.json"


@pytest.fixture
def flat(tmp_path) -> Path:
    path = tmp_path / "model" / "config.json"
    path.parent.mkdir()
    path.write_bytes(PRESET_7B.read_bytes())
    return path


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), "lines were added or removed"
    return [(x, y) for x, y in zip(a, b) if x != y]


def test_overrides_change_only_their_lines(flat):
    before = flat.read_text()
    result = run("set", str(flat), "--text.num_hidden_layers", "40", "--vision.depth=36", "vision.window_size=224", "--in-place")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert changed_lines(before, flat.read_text()) == [
        ('  "num_hidden_layers": 28,', '  "num_hidden_layers": 40,'),
        ('    "depth": 32,', '    "depth": 36,'),
        ('    "window_size": 112,', '    "window_size": 224,'),
    ]
    assert result.stderr.splitlines() == [
        "  vision.depth: 32 -> 36",
        "  vision.window_size: 112 -> 224",
        "  text.num_hidden_layers: 28 -> 40",
        f"qwencfg: wrote {flat} (3 changes)",
    ]


def test_set_then_diff_differs_only_in_the_overridden_paths(flat, tmp_path):
    out = tmp_path / "out.json"
    assert run("set", str(flat), "--text.rms_norm_eps", "1e-5", "--model.tie_word_embeddings", "true", "-o", str(out)).exit_code == 0
    data = json.loads(run("diff", str(flat), str(out), "-f", "json").stdout)
    assert [(c["path"], c["a"], c["b"]) for c in data["changes"]] == [
        ("text.rms_norm_eps", 1e-06, 1e-05),
        ("model.tie_word_embeddings", False, True),
    ]


def test_lists_and_rope_sections_keep_their_shape(flat):
    before = flat.read_text()
    assert run("set", str(flat), "--vision.fullatt_block_indexes", "[7,15,23,31]", "--text.rope_scaling.mrope_section", "16,24,24", "--in-place").exit_code == 0
    assert flat.read_text() == before  # the same values: byte-identical
    assert run("set", str(flat), "--text.rope_scaling.mrope_section", "8,28,28", "--in-place").exit_code == 0
    assert changed_lines(before, flat.read_text()) == [("      16,", "      8,"), ("      24,", "      28,"), ("      24", "      28")]


def test_tiny_model_from_a_preset_into_a_new_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("set", "qwen2.5-vl-3b-instruct", "--text.num_hidden_layers", "4", "--vision.depth", "4", "--vision.fullatt_block_indexes", "[1,3]", "-o", "tiny/")
    assert result.exit_code == 0, result.stderr
    written = (tmp_path / "tiny" / "config.json").read_text()
    expected = (PRESET_7B.parent / "qwen2.5-vl-3b-instruct.json").read_text()
    expected = expected.replace('"num_hidden_layers": 36,', '"num_hidden_layers": 4,').replace('"depth": 32,', '"depth": 4,')
    expected = expected.replace('[\n      7,\n      15,\n      23,\n      31\n    ]', "[\n      1,\n      3\n    ]")
    assert written == expected
    shown = json.loads(run("show", "tiny", "-f", "json").stdout)
    assert shown["parameters"]["total"] == 736_497_632


def test_stdout_when_no_output_is_given(flat):
    result = run("set", str(flat), "--vision.depth", "40")
    assert json.loads(result.stdout)["vision_config"]["depth"] == 40
    assert result.stdout == flat.read_text().replace('"depth": 32,', '"depth": 40,')


def test_transformers_5_file_keeps_its_layout_and_rederives_layer_types(tmp_path):
    path = write_json(tmp_path / "config.json", saved_by_transformers(preset_data("qwen2.5-vl-7b-instruct")))
    result = run("set", str(path), "--text.num_hidden_layers", "4", "--text.max_window_layers", "4", "--in-place")
    assert result.exit_code == 0, result.stderr
    assert "qwencfg: text.layer_types follows the other text keys: re-derived for 4 layers" in result.stderr
    text = json.loads(path.read_text())["text_config"]
    assert text["num_hidden_layers"] == 4 and text["layer_types"] == ["full_attention"] * 4
    assert "num_hidden_layers" not in json.loads(path.read_text())  # still nested


def test_hybrid_file_keeps_both_copies_in_step(tmp_path):
    data = preset_data("qwen2.5-vl-7b-instruct")
    text_keys = load("qwen2.5-vl-7b-instruct").family.flat_text_keys
    data["text_config"] = {k: v for k, v in data.items() if k in text_keys}  # as transformers 4.53 saved them
    path = write_json(tmp_path / "config.json", data)
    assert run("set", str(path), "--text.num_hidden_layers", "6", "--text.rope_theta", "2e6", "--in-place").exit_code == 0
    written = json.loads(path.read_text())
    assert (written["num_hidden_layers"], written["text_config"]["num_hidden_layers"]) == (6, 6)
    assert (written["rope_theta"], written["text_config"]["rope_theta"]) == (2e6, 2e6)


def test_absent_key_is_added_beside_its_section(flat):
    assert run("set", str(flat), "--vision.in_channels", "3", "--text.pad_token_id=151643", "--in-place").exit_code == 0
    lines = flat.read_text().splitlines()
    assert lines[lines.index('    "temporal_patch_size": 2,') + 1] == '    "in_channels": 3'
    assert lines[-3:] == ['  "vocab_size": 152064,', '  "pad_token_id": 151643', "}"]  # a flat file: text keys are top-level


def test_unset_removes_the_key(flat):
    assert run("set", str(flat), "--unset", "text.sliding_window", "--unset=vision.in_chans", "--in-place").exit_code == 0
    data = json.loads(flat.read_text())
    assert "sliding_window" not in data and "in_chans" not in data["vision_config"]


@pytest.mark.parametrize(
    ("override", "path", "value"),
    [
        (["--text.use_sliding_window", "yes"], ("use_sliding_window",), True),
        (["--text.sliding_window", "null"], ("sliding_window",), None),
        (["--text.rms_norm_eps", "1e-5"], ("rms_norm_eps",), 1e-05),
        (["--text.attention_dropout", "0"], ("attention_dropout",), 0),
        (["--vision.hidden_act", "gelu"], ("vision_config", "hidden_act"), "gelu"),
        (["--text.eos_token_id", "[151645,151643]"], ("eos_token_id",), [151645, 151643]),
        (["--text.rope_scaling", '{"type": "mrope", "mrope_section": [8, 28, 28]}'], ("rope_scaling",), {"type": "mrope", "mrope_section": [8, 28, 28]}),
        (["--text.max_position_embeddings=-1", "--force"], ("max_position_embeddings",), -1),
    ],
)
def test_values_are_coerced_to_the_declared_type(flat, override, path, value):
    result = run("set", str(flat), *override)
    assert result.exit_code == 0, result.stderr
    node = json.loads(result.stdout)
    for key in path:
        node = node[key]
    assert node == value and type(node) is type(value)


def error_of(*args) -> str:
    return one_error(run(*args))


def test_unknown_key_suggests_the_closest(flat):
    assert error_of("set", str(flat), "--text.num_hiden_layers", "4") == (
        "text.num_hiden_layers: Qwen2_5_VLTextConfig has no field num_hiden_layers. Did you mean text.num_hidden_layers or text.max_window_layers?"
    )


def test_key_of_another_family_says_so(flat):
    assert error_of("set", str(flat), "--vision.deepstack_visual_indexes", "1,2") == (
        "vision.deepstack_visual_indexes: deepstack_visual_indexes is a vision field of qwen3_vl, qwen3_vl_moe, not of qwen2_5_vl. "
        "`qwencfg show SOURCE -s vision` lists the qwen2_5_vl fields"
    )


def test_key_in_another_section(flat):
    assert error_of("set", str(flat), "--text.depth", "4").endswith("Did you mean vision.depth?")


def test_wrong_type_names_the_expected_type(flat):
    assert error_of("set", str(flat), "--text.num_hidden_layers", "four") == "text.num_hidden_layers expects int, got 'four'. E.g. 36"
    assert error_of("set", str(flat), "--model.tie_word_embeddings", "maybe") == "model.tie_word_embeddings expects bool, got 'maybe'. E.g. true"


def test_invalid_result_is_refused_with_each_rule_and_its_fix(flat):
    before = flat.read_bytes()
    result = run("set", str(flat), "--text.hidden_size", "4096", "--text.num_attention_heads", "32", "--text.num_key_value_heads", "8", "--in-place")
    assert result.exit_code == 2
    assert result.stderr == (
        "qwencfg: error: the result breaks 1 rule, so nothing was written (--allow-invalid writes it anyway):\n"
        "  [vision-out-hidden-size] text.hidden_size 4096 but vision.out_hidden_size 3584: set --vision.out_hidden_size 4096\n"
    )
    assert flat.read_bytes() == before
    forced = run("set", str(flat), "--text.hidden_size", "4096", "--text.num_attention_heads", "32", "--text.num_key_value_heads", "8", "--in-place", "--allow-invalid")
    assert forced.exit_code == 0
    assert "qwencfg: warning: written despite: [vision-out-hidden-size]" in forced.stderr


def test_existing_output_needs_force(flat, tmp_path):
    out = tmp_path / "existing.json"
    out.write_text("keep me\n")
    assert error_of("set", str(flat), "--vision.depth", "40", "-o", str(out)) == f"{out} exists. Pass --force to overwrite it, or choose another -o"
    assert out.read_text() == "keep me\n"
    assert run("set", str(flat), "--vision.depth", "40", "-o", str(out), "--force").exit_code == 0
    assert json.loads(out.read_text())["vision_config"]["depth"] == 40


def test_dry_run_prints_the_diff_and_writes_nothing(flat):
    before = flat.read_bytes()
    result = run("set", str(flat), "--vision.depth", "40", "--dry-run", "--in-place")
    assert result.exit_code == 0
    assert flat.read_bytes() == before
    assert f"--- {flat} (before)\n+++ {flat} (after)\n" in result.stdout
    assert '-    "depth": 32,\n+    "depth": 40,\n' in result.stdout


def test_in_place_needs_a_local_file():
    assert error_of("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "40", "--in-place") == (
        "--in-place needs a local file; qwen2.5-vl-3b-instruct is not one. Use -o PATH to write a local copy"
    )


def test_missing_output_folder(flat, tmp_path):
    target = tmp_path / "no" / "such" / "out.json"
    assert error_of("set", str(flat), "--vision.depth", "40", "-o", str(target)) == (
        f"folder {target.parent} does not exist. Create it first, or end -o with / to write PATH/config.json"
    )


def test_no_overrides_copies_and_stray_words_are_refused(flat, tmp_path):
    copied = run("set", "qwen3.6-27b", "-o", f"{tmp_path}/copy/")  # a preset as a local file, byte for byte
    assert (copied.exit_code, copied.stderr) == (0, f"qwencfg: no change: the file already says this; wrote it unchanged to {tmp_path}/copy/config.json\n")
    assert (tmp_path / "copy" / "config.json").read_bytes() == (ROOT / "qwencfg" / "data" / "presets" / "qwen3.6-27b.json").read_bytes()
    assert error_of("set", str(flat), "--vision.depth") == "--vision.depth needs a value, e.g. --vision.depth 36 (or --unset vision.depth to remove it)"
    assert error_of("set", str(flat), "other.json", "--vision.depth", "4").startswith("'other.json': only one SOURCE is allowed")


def test_source_may_follow_the_overrides(flat):
    result = run("set", "--vision.depth", "40", str(flat))
    assert result.exit_code == 0 and json.loads(result.stdout)["vision_config"]["depth"] == 40


def test_python_api():
    edit = apply_overrides(load("qwen2.5-vl-3b-instruct"), {"text.num_hidden_layers": 4, "vision.depth": 4, "vision.fullatt_block_indexes": [1, 3], "text.sliding_window": UNSET})
    assert [c.path for c in edit.changes.changes] == ["vision.depth", "vision.fullatt_block_indexes", "text.num_hidden_layers"]
    assert edit.errors == []
    assert "sliding_window" not in json.loads(edit.text)
    with pytest.raises(UnknownKey):
        apply_overrides(load("qwen2.5-vl-3b-instruct"), {"text.depth": 4})


def test_in_place_keeps_the_file_mode(flat):
    flat.chmod(0o640)
    assert run("set", str(flat), "--vision.depth", "40", "--in-place").exit_code == 0
    assert flat.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in flat.parent.iterdir()] == ["config.json"]  # no temporary file left
    assert os.access(flat, os.R_OK)
