"""Bad input never gives a traceback, and a failed write never loses the original."""

import errno
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwencfg import write

from .conftest import preset_data, run, write_json

COMMANDS = {
    "show": lambda path: ["show", path],
    "diff": lambda path: ["diff", "qwen2.5-vl-7b-instruct", path],
    "set": lambda path: ["set", path, "--vision.depth", "28"],
    "validate": lambda path: ["validate", path],
}


def _deep(depth: int) -> str:
    return '{"model_type": "qwen2_5_vl", "vision_config": ' + "[" * depth + "]" * depth + "}"


def _with(**changes) -> dict:
    data = preset_data("qwen2.5-vl-7b-instruct")
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


BAD_CONFIGS = {
    "malformed": '{"model_type": "qwen2_5_vl",, }',
    "truncated": json.dumps(preset_data("qwen2.5-vl-7b-instruct"))[:300],
    "string for int": json.dumps(_with(num_hidden_layers="28")),
    "negative size": json.dumps(_with(hidden_size=-3584)),
    "float for int": json.dumps(_with(num_attention_heads=28.5)),
    "no vision_config": json.dumps(_with(vision_config=None)),
    "vision_config a list": json.dumps(_with(vision_config=[1, 2])),
    "rope_scaling a list": json.dumps(_with(rope_scaling=[16, 24, 24])),
    "text_config a string": json.dumps(_with(text_config="nested")),
    "absurd sizes": json.dumps(_with(num_hidden_layers=10**30, hidden_size=10**40)),
    "nulls everywhere": json.dumps({k: None for k in preset_data("qwen2.5-vl-7b-instruct")} | {"model_type": "qwen2_5_vl"}),
    "other model": json.dumps({"model_type": "llama", "hidden_size": 4096}),
    "not an object": "[1, 2, 3]",
    "empty": "",
    "deeply nested junk": _deep(100_000),
    "NaN": json.dumps(_with(rms_norm_eps=float("nan"))),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_configs_get_a_message_and_an_exit_code(tmp_path, name, command):
    path = tmp_path / "config.json"
    path.write_text(BAD_CONFIGS[name])
    result = run(*COMMANDS[command](str(path)))
    assert result.exit_code in (0, 1, 2), result.stderr  # 3 would be a qwencfg bug
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 2:
        assert_one_error(result)


def assert_one_error(result) -> None:
    """stderr holds warnings and one error (with its broken rules indented under it), stdout nothing."""
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("qwencfg: error: ")], result.stderr
    assert all(line.startswith(("qwencfg: warning: ", "qwencfg: error: ", "  [")) for line in lines), result.stderr
    assert result.stdout == ""


def test_a_50_mb_file_is_refused_by_every_command(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"{" + b" " * (50 * 1024 * 1024) + b"}")
    for command in COMMANDS.values():
        result = run(*command(str(path)))
        assert result.exit_code == 2
        assert "is 52.4 MB; a config.json is a few KB" in result.stderr


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
KEYS = ["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size", "rope_scaling",
        "vision_config", "text_config", "tie_word_embeddings", "model_type", "layer_types", "torch_dtype", "image_token_id"]


@st.composite
def perturbed_configs(draw) -> dict:
    """A real config with a few keys replaced by random JSON, or random JSON altogether."""
    if draw(st.booleans()):
        return draw(json_values)
    data = preset_data(draw(st.sampled_from(["qwen2.5-vl-7b-instruct", "qwen2-vl-7b-instruct-awq"])))
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True)):
        data[key] = draw(json_values)
    if draw(st.booleans()):
        data["vision_config"] = {**preset_data("qwen2.5-vl-7b-instruct")["vision_config"], draw(st.sampled_from(["depth", "num_heads", "patch_size"])): draw(json_values)}
    return data


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_random_json_never_gives_a_traceback(tmp_path, command):
    @settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(perturbed_configs())
    def check(data):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(data))
        result = run(*COMMANDS[command](str(path)))
        assert result.exit_code in (0, 1, 2), result.stderr
        if result.exit_code == 2:
            assert_one_error(result)

    check()


# --- writes --------------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path):
    path = write_json(tmp_path / "model" / "config.json", preset_data("qwen2.5-vl-7b-instruct"))
    return path


def test_a_write_that_fails_half_way_leaves_the_original_byte_identical(config, monkeypatch):
    before = config.read_bytes()

    def half_then_disk_full(handle, text):
        handle.write(text[: len(text) // 2])
        handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write, "write_text", half_then_disk_full)
    result = run("set", str(config), "--vision.depth", "40", "--in-place")
    assert result.exit_code == 2
    assert result.stderr == f"qwencfg: error: cannot write {config}: the disk is full. Free some space; the original file is unchanged\n"
    assert config.read_bytes() == before
    assert os.listdir(config.parent) == ["config.json"]  # the temporary file is gone


def test_a_read_only_folder(config, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(write.tempfile, "mkstemp", refuse)
    before = config.read_bytes()
    result = run("set", str(config), "--vision.depth", "40", "--in-place")
    assert result.exit_code == 2
    assert result.stderr == f"qwencfg: error: cannot write {config.parent}: permission denied. Check the folder's permissions; nothing was changed\n"
    assert config.read_bytes() == before


def test_a_rename_that_fails_leaves_no_temporary_file(config, monkeypatch):
    def refuse(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(write.os, "replace", refuse)
    before = config.read_bytes()
    result = run("set", str(config), "--vision.depth", "40", "--in-place")
    assert result.exit_code == 2 and "permission denied" in result.stderr
    assert config.read_bytes() == before and os.listdir(config.parent) == ["config.json"]


def test_an_unreadable_file(config, monkeypatch):
    from qwencfg.sources import local

    real = os.open

    def refuse(path, *args, **kwargs):
        if str(path) == str(config):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(local.os, "open", refuse)
    result = run("show", str(config))
    assert (result.exit_code, result.stderr) == (2, f"qwencfg: error: {config}: permission denied. Check the file's permissions\n")


def test_weights_that_do_not_fit_are_refused_before_allocating(tmp_path):
    big = tmp_path / "72b"
    assert run(
        "set", "qwen2.5-vl-7b-instruct", "--text.hidden_size", "8192", "--text.intermediate_size", "29696",
        "--text.num_hidden_layers", "80", "--text.num_attention_heads", "64", "--text.num_key_value_heads", "8",
        "--vision.out_hidden_size", "8192", "-o", f"{big}/",
    ).exit_code == 0
    result = run("validate", str(big), "--device", "cpu", "--format", "json")
    assert result.exit_code == 1
    device = next(s for s in json.loads(result.stdout)["stages"] if s["name"] == "device")
    assert device["status"] == "failed"
    assert device["summary"].startswith("refused before allocating: the weights need 137.2 GiB in bf16 (73,658,009,600 x 2 B) but cpu has ")
    assert "allocated_bytes" not in device["details"]
