"""Verdicts you can trust: set refuses what transformers or the model would refuse, validate names the
key, diff compares what transformers loads, --strict and --allow, quiet output, pipes."""

import json
import subprocess
import sys

import pytest

from qwencfg.sources.presets import preset_index

from .conftest import ROOT, one_error, preset_data, run, write_json

DATA = ROOT / "tests" / "data"


# --- set refuses what transformers or the model refuses, before writing -------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["--vision.fullatt_block_indexes", "1,x"], 'vision.fullatt_block_indexes item 1 is a string ("x"); transformers expects list[int] | tuple[int, ...]'),
        (["--text.hidden_act", "relux"], 'text.hidden_act "relux" is not one of the values transformers knows; did you mean relu or relu6 or relu2?'),
        (["--text.rope_scaling.rope_type", "bogus"], 'text.rope_parameters.rope_type "bogus" is not one of the values transformers knows (default, dynamic, linear, llama3, longrope, proportional, yarn, mrope)'),
        (["--vision.depth", "-3"], "vision.depth is -3; the model needs it to be at least 1"),
        (["--text.hidden_size", "0"], "text.hidden_size is 0; the model needs it to be at least 1"),
        (["--text.rms_norm_eps", "NaN"], "NaN is not a finite number, and JSON has no spelling for it. Give a finite value"),
    ],
)
def test_set_refuses_values_transformers_or_the_model_refuse(tmp_path, override, message):
    out = tmp_path / "out.json"
    result = run("set", "qwen2.5-vl-3b-instruct", *override, "-o", str(out))
    assert result.exit_code == 2
    assert one_error(result) in (message + ". Nothing was written", message + " Nothing was written", message)
    assert not out.exists()


def test_the_schema_reads_what_transformers_enforces_from_transformers():
    from qwencfg.schema import load_schema

    schema = load_schema()
    assert "relu" in schema.activations and "gelu_pytorch_tanh" in schema.activations
    fields = schema.families["qwen2_5_vl"].sections
    assert fields["vision"].fields["fullatt_block_indexes"].items == ("int",)
    assert fields["vision"].fields["depth"].positive and fields["text"].fields["num_key_value_heads"].positive
    assert not fields["text"].fields["max_window_layers"].positive  # 0 is a legal value
    assert schema.families["qwen3_5"].sections["text"].fields["layer_types"].choices == ("full_attention", "linear_attention")


def test_a_fix_is_offered_for_root_causes_only_and_is_valid():
    config_heads = preset_data("qwen2.5-vl-7b-instruct") | {"num_attention_heads": 27}
    data = json.loads(run("validate", "-", "-f", "json", input=json.dumps(config_heads)).stdout)
    findings = {f["rule"]: f for r in data["rules"] for f in r["findings"]}
    assert findings["text-heads"]["hint"].startswith("set --text.num_attention_heads 16")
    assert findings["mrope-section"]["consequence_of"] == "text-heads" and findings["mrope-section"]["hint"] == ""
    table = run("validate", "-", input=json.dumps(config_heads)).stdout
    assert "follows from text-heads: fix that first" in table


def test_a_negative_depth_suggests_no_block_indexes_outside_the_tower():
    data = preset_data("qwen2.5-vl-7b-instruct")
    data["vision_config"]["depth"] = -3
    result = json.loads(run("validate", "-", "-f", "json", input=json.dumps(data)).stdout)
    hints = [f["hint"] for r in result["rules"] for f in r["findings"]]
    assert not any("-4" in h for h in hints)
    assert "give vision.depth a value of at least 1" in hints


def test_suggested_fixes_apply_and_fix_the_config(tmp_path):
    broken = preset_data("qwen2.5-vl-7b-instruct") | {"num_key_value_heads": 5}
    broken["vision_config"]["window_size"] = 100
    path = write_json(tmp_path / "config.json", broken)
    data = json.loads(run("validate", str(path), "-f", "json").stdout)
    fixes = [f["hint"] for r in data["rules"] for f in r["findings"] if f["severity"] == "error"]
    assert fixes == ["set --text.num_key_value_heads 4", "set --vision.window_size 112"]
    for fix in fixes:
        assert run(*fix.split(), str(path), "--in-place").exit_code == 0
    assert run("validate", str(path), "--strict").exit_code == 0


# --- validate names the key, never an exception class -------------------------------------------


EXCEPTION_NAMES = ("KeyError", "ValueError", "StrictDataclass", "RuntimeError", "TypeError", "Traceback", "Error:")


def test_stage_failures_are_sentences_that_name_the_key(tmp_path):
    data = preset_data("qwen2.5-vl-3b-instruct")
    data["vision_config"]["fullatt_block_indexes"] = [1, "x"]
    data["hidden_act"] = "relux"
    path = write_json(tmp_path / "config.json", data)
    for fmt in ("table", "json", "junit", "markdown"):
        result = run("validate", str(path), "--keep-going", "-f", fmt)
        assert result.exit_code == 1
        visible = result.stdout
        if fmt == "json":
            stages = json.loads(result.stdout)["stages"]
            visible = " ".join(s["summary"] for s in stages)
            assert "StrictDataclass" in json.dumps([s["details"].get("error", "") for s in stages])  # kept for programs
        if fmt == "junit":
            visible = "\n".join(line for line in visible.splitlines() if "message=" in line)
        assert not any(name in visible for name in EXCEPTION_NAMES), (fmt, visible)
    stages = {s["name"]: s for s in json.loads(run("validate", str(path), "--keep-going", "-f", "json").stdout)["stages"]}
    assert "vision.fullatt_block_indexes" in stages["transformers"]["summary"]


def test_an_unknown_activation_at_the_meta_stage_names_the_key(tmp_path):
    data = preset_data("qwen2.5-vl-3b-instruct") | {"hidden_act": "relux"}
    stages = {s["name"]: s for s in json.loads(run("validate", "-", "--keep-going", "-f", "json", input=json.dumps(data)).stdout)["stages"]}
    assert stages["meta"]["summary"] == "Qwen2_5_VLForConditionalGeneration could not be built: text.hidden_act 'relux' is not a name the modeling code knows"


# --- diff compares what transformers loads ------------------------------------------------------


def test_a_4_53_save_of_the_official_7b_is_the_same_model():
    saved = str(DATA / "qwen2.5-vl-7b-saved-by-transformers-4.53.json")
    result = run("diff", "qwen2.5-vl-7b-instruct", saved, "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["changes"] == []
    assert {c["path"] for c in data["no_effect"]} == {
        "text.image_token_id", "text.video_token_id", "text.vision_end_token_id", "text.vision_start_token_id", "text.vision_token_id",
    }
    assert run("diff", "qwen2.5-vl-7b-instruct", saved, "--raw").exit_code == 1


def test_sub_config_dtypes_under_the_same_top_level_dtype_have_no_effect(tmp_path):
    data = json.loads((DATA / "qwen2.5-vl-7b-saved-by-transformers-4.53.json").read_text())
    data["text_config"]["torch_dtype"] = "float32"
    data["vision_config"]["torch_dtype"] = "float32"
    result = run("diff", "qwen2.5-vl-7b-instruct", str(write_json(tmp_path / "config.json", data)), "-f", "json")
    assert result.exit_code == 0
    dtypes = {c["path"]: c for c in json.loads(result.stdout)["no_effect"] if c["path"].endswith("dtype")}
    assert dtypes["text.dtype"]["a"] == "bfloat16" and dtypes["text.dtype"]["a_from"] == "inherited"  # from the top-level torch_dtype
    assert dtypes["text.dtype"]["no_effect"].startswith("from_pretrained loads every part in the top-level dtype")
    data["torch_dtype"] = "float16"
    assert run("diff", "qwen2.5-vl-7b-instruct", str(write_json(tmp_path / "config.json", data))).exit_code == 1


def test_inherited_values_are_labelled_as_such():
    data = preset_data("qwen2.5-vl-7b-instruct") | {"torch_dtype": "float16"}
    table = run("diff", "qwen2.5-vl-7b-instruct", "-", input=json.dumps(data)).stdout
    assert '"bfloat16" (from the top-level dtype)' in table and '"bfloat16" (default)' not in table


def test_a_file_compared_with_itself_is_always_the_same(tmp_path):
    path = str(write_json(tmp_path / "config.json", preset_data("qwen3.6-27b")))
    assert run("diff", path, path).exit_code == 0


# --- strict, allow, quiet ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(preset_index()))
def test_every_preset_passes_strict(name):
    result = run("validate", name, "--strict", "-f", "json")
    assert result.exit_code == 0, result.stdout


def test_an_effectless_finding_is_info_and_allow_waives_a_rule(tmp_path):
    data = json.loads(run("validate", "qwen2.5-vl-3b-instruct", "--strict", "-f", "json").stdout)
    window = next(f for r in data["rules"] for f in r["findings"] if f["rule"] == "max-window-layers")
    assert window["severity"] == "info"
    typo = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-7b-instruct") | {"pad_tokn_id": 0})
    assert run("validate", str(typo), "--strict").exit_code == 1
    assert run("validate", str(typo), "--strict", "--allow", "unknown-keys").exit_code == 0
    assert one_error(run("validate", str(typo), "--allow", "no-such-rule")).startswith("--allow no-such-rule: no such rule")


def test_quiet_is_one_line_per_valid_config_and_the_hook_uses_it(tmp_path):
    import yaml

    good = write_json(tmp_path / "a" / "config.json", preset_data("qwen2.5-vl-3b-instruct"))
    bad = write_json(tmp_path / "b" / "config.json", preset_data("qwen2.5-vl-7b-instruct") | {"num_key_value_heads": 5})
    result = run("validate", str(good), str(bad), "--quiet")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"valid: {good} (qwen2_5_vl, flat layout)"
    assert any("text-kv-heads" in line for line in lines[1:])
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    assert "--quiet" in hook["args"]


# --- without torch, pipes, hints -----------------------------------------------------------------


def test_the_install_hint_keeps_its_extra(monkeypatch):
    from qwencfg import build

    monkeypatch.setattr(build, "missing_build_packages", lambda: ["torch"])
    assert one_error(run("validate", "qwen2.5-vl-7b-instruct", "--device", "meta")) == (
        "building the model needs torch, which is not installed. "
        "Install the build extra: pip install 'qwencfg[build]' (the README has the torch line for CPU-only machines)"
    )


def _piped(*args: str) -> tuple[int, str]:
    """Runs `qwencfg ARGS | head -1` in a shell and returns qwencfg's exit code and stderr."""
    command = f"{sys.executable} -m qwencfg {' '.join(args)} 2>err | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT / "tests")
    err = (ROOT / "tests" / "err").read_text()
    (ROOT / "tests" / "err").unlink()
    return int(proc.stdout.strip()), err


def test_a_closed_pipe_ends_quietly_with_the_verdicts_exit_code():
    assert _piped("show", "qwen2.5-vl-7b-instruct") == (0, "")
    assert _piped("diff", "qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct") == (1, "")
    assert _piped("presets", "-f", "json") == (0, "")


# --- small ones ----------------------------------------------------------------------------------


def test_force_overwrites_and_allow_invalid_writes_a_refused_config(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("{}\n")
    assert run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "30", "--vision.fullatt_block_indexes", "7,15,23,29", "-o", str(out)).exit_code == 2
    assert run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "30", "--vision.fullatt_block_indexes", "7,15,23,29", "-o", str(out), "--force").exit_code == 0
    refused = run("set", "qwen2.5-vl-3b-instruct", "--text.hidden_size", "4096", "-o", str(out), "--force")
    assert refused.exit_code == 2 and "--allow-invalid writes it anyway" in refused.stderr
    assert run("set", "qwen2.5-vl-3b-instruct", "--text.hidden_size", "4096", "-o", str(out), "--force", "--allow-invalid").exit_code == 0


def test_dry_run_without_a_change_says_so(tmp_path):
    result = run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32", "--dry-run")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "qwencfg: no change: the file already says this\n"


def test_a_key_without_a_section_has_one_period():
    assert one_error(run("set", "qwen2.5-vl-3b-instruct", "--num_hidden_layers", "3")) == (
        "num_hidden_layers: an override path starts with vision., text. or model. Did you mean --text.num_hidden_layers?"
    )


def test_examples_quote_their_brackets():
    for command in ("set", "validate", "diff", "show"):
        examples = [line for line in run(command, "--help").stdout.splitlines() if line.strip().startswith("qwencfg ")]
        assert examples and not any(" [" in line for line in examples)


def test_plain_output_marks_changed_values_and_changed_shows_only_them():
    table = run("show", "qwen2.5-vl-7b-instruct", "-s", "text").stdout
    assert "│ 3584 *" in table and "*: differs from the transformers default" in table and "yellow:" not in table
    changed = run("show", "qwen2.5-vl-7b-instruct", "-s", "text", "--changed").stdout
    assert "hidden_size" in changed and "use_cache" not in changed  # use_cache is the default
