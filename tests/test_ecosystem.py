"""Completions, pre-commit, colour, --version, --help, the schema and the Python API."""

import json
import os
import pty
import subprocess
import sys

import pytest
import yaml

import qwencfg
from qwencfg import schema
from qwencfg.cli.complete import SHELLS, completion_scripts

from .conftest import ROOT, preset_data, run, run_process, write_json


def test_completion_scripts_are_current():
    for filename, text in completion_scripts().items():
        assert (ROOT / "completions" / filename).read_text() == text, f"rerun: python -m qwencfg.cli.complete ({filename})"
    assert sorted(os.listdir(ROOT / "completions")) == sorted(SHELLS.values())


def complete(words: str) -> list[str]:
    """What bash completion offers for the last word of `qwencfg WORDS`."""
    env = {**os.environ, "_QWENCFG_COMPLETE": "bash_complete", "COMP_WORDS": f"qwencfg {words}", "COMP_CWORD": str(len(words.split()))}
    lines = subprocess.run([sys.executable, "-m", "qwencfg"], env=env, capture_output=True, text=True).stdout.splitlines()
    return [line.split(",", 1)[1] for line in lines]  # click's bash protocol: "type,value" per line


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("show qwen2.5", ["qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct"]),
        ("diff defaults:qwen2", ["defaults:qwen2_5_vl", "defaults:qwen2_vl"]),
        ("set qwen2.5-vl-7b-instruct --vision.dep", ["--vision.depth"]),
        ("set x text.num_hidden", ["text.num_hidden_layers="]),
        ("set x --unset text.slid", ["text.sliding_window"]),
        ("validate x --device cu", ["cuda", "cuda:0"]),
    ],
)
def test_completion_offers_presets_keys_and_devices(words, expected):
    assert complete(words) == expected


def test_pre_commit_hook_validates_every_config_it_is_given(tmp_path):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "qwencfg-validate")
    assert hook["entry"] == "qwencfg validate" and hook["pass_filenames"] is True
    good = write_json(tmp_path / "good" / "config.json", preset_data("qwen2.5-vl-3b-instruct"))
    bad = write_json(tmp_path / "bad" / "config.json", preset_data("qwen2.5-vl-7b-instruct") | {"num_key_value_heads": 5})
    args = hook["entry"].split()[1:] + [str(good), str(bad), "--format", "json"]
    result = run(*args)
    assert result.exit_code == 1
    reports = json.loads(result.stdout)
    assert [(r["source"]["path"], r["valid"]) for r in reports] == [(str(good), True), (str(bad), False)]


def test_several_sources_with_one_unreadable(tmp_path):
    result = run("validate", "qwen2.5-vl-3b-instruct", str(tmp_path / "missing.json"), "--format", "json")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"qwencfg: error: {tmp_path / 'missing.json'}: no such file")
    assert json.loads(result.stdout)[0]["valid"] is True


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"qwencfg {qwencfg.__version__} (transformers {schema.installed_transformers_version()})\n"


@pytest.mark.parametrize("command", ["show", "diff", "set", "validate", "presets"])
def test_every_command_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and f"qwencfg {command}" in result.stdout


def test_root_help_lists_the_commands_and_exit_codes():
    result = run("--help")
    assert result.exit_code == 0
    for word in ("show", "diff", "set", "validate", "presets", "Exit codes"):
        assert word in result.stdout


def in_terminal(*args: str, env: dict) -> bytes:
    """Output of `qwencfg ARGS` run in a pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "qwencfg", *args], {**os.environ, "COLUMNS": "120", **env})
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return b"".join(chunks)


def test_colour_on_a_terminal_only_and_never_with_no_color():
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    os.environ.pop("NO_COLOR", None)
    coloured = in_terminal("show", "qwen2.5-vl-3b-instruct", "-s", "text", env=env | {"TERM": "xterm-256color"})
    assert b"\x1b[33m" in coloured or b"\x1b[1;33m" in coloured  # values that differ from the default: yellow
    plain = in_terminal("show", "qwen2.5-vl-3b-instruct", "-s", "text", env=env | {"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert b"\x1b[33m" not in plain and b"\x1b[1;33m" not in plain
    piped = run_process("show", "qwen2.5-vl-3b-instruct", "-s", "text", env={"NO_COLOR": ""})
    assert "\x1b[" not in piped.stdout


def test_bundled_schema_is_what_the_installed_transformers_gives():
    bundled = json.loads(schema.BUNDLED_SCHEMA.read_text())
    if bundled["transformers_version"] != schema.installed_transformers_version():
        pytest.skip("another transformers is installed; load_schema() builds and caches its schema")
    assert schema.build_schema() == bundled, "regenerate: python -m qwencfg.schema > qwencfg/data/schema.json"


def test_another_transformers_version_gets_a_cached_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("QWENCFG_CACHE", str(tmp_path))
    monkeypatch.setattr(schema, "installed_transformers_version", lambda: "9.9.9")
    built = []
    real_build = schema.build_schema
    monkeypatch.setattr(schema, "build_schema", lambda: built.append(1) or real_build())
    schema.load_schema.cache_clear()
    try:
        first = schema.load_schema()
        schema.load_schema.cache_clear()
        second = schema.load_schema()
    finally:
        schema.load_schema.cache_clear()
    assert built == [1]  # built once, then read from the cache
    assert (tmp_path / "schema-transformers-9.9.9.json").is_file()
    assert first.families.keys() == second.families.keys()


def test_the_python_api_is_what_the_cli_uses():
    from qwencfg import apply_overrides, diff, load, validate
    from qwencfg.validation import Options

    config = load("qwen2.5-vl-3b-instruct")
    edit = apply_overrides(config, {"text.num_hidden_layers": 4, "vision.depth": 4, "vision.fullatt_block_indexes": [1, 3]})
    assert not diff(config, edit.after).same
    report = validate(edit.after, Options(stages=("rules", "transformers", "meta")))
    assert report.valid and report.meta.total == 736_497_632
