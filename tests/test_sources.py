"""Every way a SOURCE can be wrong gives one line, exit code 2 and no traceback."""

import json


from .conftest import one_error, preset_data, run, write_json


def error_of(*args, input=None) -> str:
    return one_error(run(*args, input=input))


def test_unknown_preset_lists_close_matches():
    assert error_of("show", "qwen2.5-vl-7b-instruc") == (
        "qwen2.5-vl-7b-instruc: no such file, folder or preset. "
        "Did you mean preset qwen2.5-vl-7b-instruct, qwen2.5-vl-3b-instruct, qwen2-vl-7b-instruct-awq? (`qwencfg presets` lists them)"
    )


def test_forced_unknown_preset():
    assert error_of("show", "preset:qwen9-vl") == "no preset named 'qwen9-vl'. `qwencfg presets` lists them"


def test_missing_file(tmp_path):
    missing = tmp_path / "nope" / "config.json"
    assert error_of("show", str(missing)) == f"{missing}: no such file or folder. Check the path"


def test_folder_without_config(tmp_path):
    assert error_of("show", str(tmp_path)) == f"{tmp_path}: folder has no config.json. Point at the model folder or the JSON file itself"


def test_folder_with_config_is_read(tmp_path):
    write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-3b-instruct"))
    assert json.loads(run("show", str(tmp_path), "-f", "json").stdout)["source"]["path"] == str(tmp_path / "config.json")


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{\n  "model_type": "qwen2_5_vl",\n  "hidden_size": 3584,,\n}\n')
    assert error_of("show", str(path)) == (
        f"{path}: not valid JSON: Expecting property name enclosed in double quotes at line 3, column 23. "
        "Fix the file, or check that SOURCE points at config.json"
    )


def test_json_of_another_model_names_its_model_type(tmp_path):
    path = write_json(tmp_path / "config.json", {"model_type": "llama", "hidden_size": 4096})
    assert error_of("show", str(path)) == (
        f"{path} has model_type 'llama', which is not a Qwen vision-language family. "
        "Supported: qwen2_5_vl, qwen2_vl, qwen3_5, qwen3_5_moe, qwen3_vl, qwen3_vl_moe, qwen4_exp"
    )


def test_close_model_type_is_suggested(tmp_path):
    path = write_json(tmp_path / "config.json", {"model_type": "qwen2.5_vl"})
    assert "Did you mean qwen2_5_vl? supported:" in error_of("show", str(path))


def test_json_that_is_not_an_object(tmp_path):
    path = write_json(tmp_path / "config.json", [1, 2, 3])
    assert error_of("show", str(path)).startswith(f"{path}: the JSON is a list ([1, 2, 3]), not an object with a model_type")


def test_model_type_missing_but_architectures_known(tmp_path):
    data = preset_data("qwen2.5-vl-3b-instruct")
    del data["model_type"]
    path = str(write_json(tmp_path / "config.json", data))
    result = run("show", path, "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ("qwencfg: warning: no model_type: read as qwen2_5_vl from architectures Qwen2_5_VLForConditionalGeneration; "
                             "transformers' AutoConfig refuses a file without one\n")
    assert run("validate", path).exit_code == 1  # what AutoConfig refuses is not valid


def test_a_file_too_big_to_be_a_config(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\0" * (50 * 1024 * 1024))
    assert error_of("show", str(path)) == (
        f"{path} is 52.4 MB; a config.json is a few KB (limit 8 MiB). Is this a weights or tokenizer file?"
    )


def test_binary_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert error_of("show", str(path)) == f"{path} is not UTF-8 text (byte 0). Is it a binary file, or saved as UTF-16?"


def test_empty_stdin():
    assert error_of("show", "-", input="") == "<stdin>: not valid JSON: Expecting value at line 1, column 1. Fix the file, or check that SOURCE points at config.json"



def test_local_path_wins_over_preset_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = preset_data("qwen2.5-vl-3b-instruct")
    data["num_hidden_layers"] = 2
    write_json(tmp_path / "qwen2.5-vl-7b-instruct" / "config.json", data)
    shown = json.loads(run("show", "qwen2.5-vl-7b-instruct", "-f", "json").stdout)
    assert shown["source"]["kind"] == "file"
    assert shown["sections"]["text"]["num_hidden_layers"]["value"] == 2
    forced = json.loads(run("show", "preset:qwen2.5-vl-7b-instruct", "-f", "json").stdout)
    assert forced["source"]["kind"] == "preset"


def test_unknown_defaults_family():
    assert error_of("show", "defaults:qwen9") == (
        "defaults:qwen9: unknown family. Choose one of: qwen2_5_vl, qwen2_vl, qwen3_5, qwen3_5_moe, qwen3_vl, qwen3_vl_moe, qwen4_exp"
    )
