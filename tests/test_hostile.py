"""Hostile input, filesystems and networks: nothing hangs, nothing escapes its folder, no edit is
lost, and every failure is one line with exit code 1 or 2 (never 3, the code for a qwencfg bug)."""

import json
import os
import resource
import stat
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, one_error, preset_data, run, run_process, write_json

REPO = "Qwen/Some-Finetune"


# --- revisions and repo ids never reach the cache unchecked --------------------------------------


@pytest.mark.parametrize("revision", ["../../../../pwned_ref", "a b", "x..y", "main@{1}", "v1.lock", "/main", "refs/heads/", "ma\\in", "x:y"])
def test_a_revision_git_would_refuse_never_reaches_the_hub(fake_hub, hub_env, tmp_path, revision):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    before = set(os.listdir(tmp_path))
    message = one_error(run_process("show", f"{REPO}@{revision}", env=hub_env))
    assert message.startswith(f"{REPO}@{revision}: {revision!r} is not a branch, tag or commit name")
    assert fake_hub.requests == []
    assert set(os.listdir(tmp_path)) == before  # nothing written beside HF_HOME (which was not even created)


@pytest.mark.parametrize("revision", ["v1.0", "refs/pr/1", "a" * 40])
def test_real_revisions_are_fetched(fake_hub, hub_env, revision):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"), revision=revision)
    assert run_process("show", f"{REPO}@{revision}", "-f", "json", env=hub_env).exit_code == 0


def test_hub_text_gets_the_size_limit_before_it_is_cached(fake_hub, hub_env, tmp_path):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    fake_hub.declared_size = 300 * 10**6
    assert one_error(run_process("show", REPO, env=hub_env)).startswith(f"{REPO}/config.json is 300.0 MB; a config.json is a few KB")
    assert not any((tmp_path / "hf_home").rglob("*config.json*"))


def test_hub_text_gets_the_utf8_check(fake_hub, hub_env):
    fake_hub.add(REPO, json.dumps(preset_data("qwen2.5-vl-7b-instruct")).encode("utf-16"))
    assert "is not UTF-8 text (byte 0)" in one_error(run_process("show", REPO, env=hub_env))


def test_a_hub_that_drips_bytes_meets_the_deadline(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    fake_hub.drip_seconds = 0.5
    started = time.monotonic()
    message = one_error(run_process("show", REPO, env=hub_env | {"QWENCFG_HUB_TIMEOUT": "3", "HF_HUB_DOWNLOAD_TIMEOUT": "10"}))
    assert time.monotonic() - started < 20
    assert message.startswith(f"{REPO}: the Hub did not send config.json within 3 s (QWENCFG_HUB_TIMEOUT)")


def test_a_body_cut_short_is_one_line(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    fake_hub.cut_body = True
    message = one_error(run_process("show", REPO, env=hub_env))
    assert message.startswith(f"{REPO}: ")


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_a_bad_hub_timeout_variable_is_bad_input_everywhere(fake_hub, hub_env, value):
    env = hub_env | {"HF_HUB_ETAG_TIMEOUT": value}
    assert one_error(run_process("show", REPO, env=env)) == f"HF_HUB_ETAG_TIMEOUT={value!r} is not a whole number of seconds (at most 1,000,000). Unset HF_HUB_ETAG_TIMEOUT, or give e.g. 10"
    assert one_error(run_process("validate", "qwen2.5-vl-7b-instruct", env=env)).startswith("HF_HUB_ETAG_TIMEOUT=")


def test_hf_home_that_is_a_file(fake_hub, hub_env, tmp_path):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    (tmp_path / "home_file").write_text("not a folder")
    assert one_error(run_process("show", REPO, env=hub_env | {"HF_HOME": str(tmp_path / "home_file")})).startswith(REPO)


# --- reads are bounded, whatever the file claims ------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_devices_are_read_up_to_the_limit(device):
    assert one_error(run("show", device)) == f"{device} is more than 8 MiB; a config.json is a few KB (limit 8 MiB). Is this a weights or tokenizer file?"


def test_a_fifo_nobody_writes_to_ends_at_the_deadline(tmp_path):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run_process("show", str(fifo), env={"QWENCFG_READ_TIMEOUT": "1"})
    assert time.monotonic() - started < 15
    assert one_error(result) == f"{fifo}: no writer sent any data within 1 s. Is something writing to this pipe? QWENCFG_READ_TIMEOUT sets the wait"


def test_process_substitution_keeps_working(tmp_path):
    path = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-7b-instruct"))
    command = f"{sys.executable} -m qwencfg diff <(cat {path}) {path}"
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "no differences in meaning" in proc.stdout


def test_stdin_can_be_read_once():
    assert one_error(run("diff", "-", "-", input="{}")) == "- (standard input) is given twice, but stdin can be read once. Save one config to a file"


@pytest.mark.parametrize("stream", ["stdin", "stdout", "stderr"])
def test_closed_standard_streams(stream):
    fd = {"stdin": 0, "stdout": 1, "stderr": 2}[stream]
    args = ["show", "-"] if stream == "stdin" else ["show", "qwen2.5-vl-3b-instruct"]
    proc = subprocess.run([sys.executable, "-m", "qwencfg", *args], capture_output=stream != "stdout", stdout=subprocess.DEVNULL if stream == "stdout" else None,
                          pass_fds=(), preexec_fn=lambda: os.close(fd), timeout=60, text=True) if stream != "stdout" else \
        subprocess.run([sys.executable, "-m", "qwencfg", *args], stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), timeout=60, text=True)
    if stream == "stderr":
        assert proc.returncode == 0
    else:
        assert proc.returncode == 2
        assert proc.stderr.count("qwencfg: error: ") == 1 and "Traceback" not in proc.stderr


def test_a_full_disk_on_stdout():
    proc = subprocess.run(f"{sys.executable} -m qwencfg show qwen2.5-vl-7b-instruct > /dev/full", shell=True, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == "qwencfg: error: cannot write the output: No space left on device\n"


# --- sources that look like paths are paths ----------------------------------------------------


@pytest.mark.parametrize("source", ["ckpt/config.json", "./ckpt", "a/b/c", "~nouser_qwencfg/config.json", "x" * 300 + ".json"])
def test_a_missing_path_is_a_missing_file_at_once(source):
    started = time.monotonic()
    message = one_error(run("show", source))
    assert time.monotonic() - started < 5
    assert "Hub" not in message and ("no such" in message or "too long" in message)


def test_a_symlink_loop(tmp_path):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    assert one_error(run("show", str(loop))) == f"{loop}: a loop of symbolic links. Fix the links"


def test_a_folder_nobody_may_enter(tmp_path):
    folder = tmp_path / "locked"
    write_json(folder / "config.json", preset_data("qwen2.5-vl-3b-instruct"))
    folder.chmod(0)
    try:
        result = run("show", str(folder))
        assert result.exit_code in (0, 2)  # root may enter anyway; anyone else gets one line
    finally:
        folder.chmod(0o755)


def test_a_file_named_like_an_option(tmp_path):
    write_json(tmp_path / "-dash.json", preset_data("qwen2.5-vl-3b-instruct"))
    os.chdir(tmp_path)
    try:
        assert run("show", "./-dash.json").exit_code == 0
        assert run("show", "--", "-dash.json").exit_code == 0
        assert run("set", "./-dash.json", "--vision.depth", "32", "--dry-run").exit_code == 0
    finally:
        os.chdir(ROOT)


# --- what a file says must be what it means ------------------------------------------------------


def test_duplicate_keys_are_refused_by_name(tmp_path):
    text = json.dumps(preset_data("qwen2.5-vl-3b-instruct"))[:-1] + ', "hidden_size": 4096}'
    path = tmp_path / "config.json"
    path.write_text(text)
    for args in (["show", str(path)], ["set", str(path), "--unset", "text.hidden_size", "--in-place"], ["validate", str(path)]):
        assert one_error(run(*args)) == f"{path}: the key 'hidden_size' appears twice in one object; transformers would silently take the last. Fix the file"
    assert path.read_text() == text


def test_nan_in_a_file_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(preset_data("qwen2.5-vl-3b-instruct") | {"rms_norm_eps": float("nan")}))
    assert one_error(run("diff", str(path), str(path))) == f"{path}: NaN is not a JSON number; give a finite value. Fix the file"


def test_a_section_of_the_wrong_type_is_an_error(tmp_path):
    path = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-3b-instruct") | {"vision_config": "x"})
    assert one_error(run("show", str(path))).startswith(f'{path}: vision_config is a string ("x"); transformers expects an object')
    assert run("validate", str(path)).exit_code == 1


def test_deep_overrides_and_huge_counts_are_bad_input():
    assert one_error(run("set", "qwen2.5-vl-3b-instruct", "--vision.fullatt_block_indexes", "[" * 50_000 + "]" * 50_000)).endswith("nested too deeply to be a config value")
    assert one_error(run("validate", "qwen2.5-vl-3b-instruct", "--expect-params", "")) == "--expect-params '' is not a count. Write 8292166656 or 8.29B"
    result = run("validate", "qwen2.5-vl-3b-instruct", "--expect-params", "9" * 30)
    assert result.exit_code == 2 or result.exit_code == 1


def test_a_long_output_name(tmp_path):
    assert "too long" in one_error(run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32", "-o", str(tmp_path / ("x" * 300 + ".json"))))


# --- every stage has a bound --------------------------------------------------------------------


def test_keep_going_with_absurd_sizes_is_bounded(tmp_path):
    path = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-7b-instruct") | {"num_hidden_layers": 2**64})
    started = time.monotonic()
    result = run_process("validate", str(path), "--keep-going", "-f", "json", timeout=120)
    assert time.monotonic() - started < 60 and result.exit_code == 1
    stages = {s["name"]: s for s in json.loads(result.stdout)["stages"]}
    assert stages["transformers"]["summary"] == "not run: text.num_hidden_layers is 18,446,744,073,709,551,616; at most 10,000 can be built"


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (4_000_000 * 1024, 4_000_000 * 1024))  # ulimit -v 4000000


def test_a_235b_shaped_moe_builds_on_meta_in_4_gb_of_address_space(tmp_path):
    data = preset_data("qwen3-vl-30b-a3b-instruct")
    data["text_config"] |= {"hidden_size": 4096, "num_hidden_layers": 94, "num_experts": 128, "moe_intermediate_size": 1536,
                            "num_attention_heads": 64, "num_key_value_heads": 4}
    data["vision_config"]["out_hidden_size"] = 4096
    path = write_json(tmp_path / "config.json", data)
    proc = subprocess.run([sys.executable, "-m", "qwencfg", "validate", str(path), "--device", "meta", "-f", "json"], capture_output=True, text=True,
                          preexec_fn=_limit_memory, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    meta = next(s for s in json.loads(proc.stdout)["stages"] if s["name"] == "meta")
    assert meta["status"] == "passed" and meta["details"]["parameters"]["total"] > 230e9


def test_twenty_thousand_experts_build_on_meta(tmp_path):
    data = preset_data("qwen3-vl-30b-a3b-instruct")
    data["text_config"]["num_experts"] = 20_000
    result = run("validate", str(write_json(tmp_path / "config.json", data)), "--device", "meta", "-f", "json")
    assert result.exit_code == 0, result.stdout


def test_a_cpu_build_commits_its_memory(tmp_path):
    from qwencfg.tiny import tiny_config
    from qwencfg.schema import load_schema

    path = write_json(tmp_path / "config.json", tiny_config(load_schema().families["qwen2_5_vl"], vocab_size=300_000))
    stage = next(s for s in json.loads(run("validate", str(path), "--device", "cpu", "--dtype", "fp32", "-f", "json").stdout)["stages"] if s["name"] == "device")
    assert stage["status"] == "passed"
    weights = stage["details"]["weight_bytes"]
    assert stage["details"]["resident_bytes_added"] >= 0.9 * weights  # written, so really committed
    assert stage["summary"].startswith("allocated and wrote ")


def test_force_past_the_guard_cannot_turn_an_impossible_build_into_a_pass(monkeypatch, tmp_path):
    import psutil

    from qwencfg import build

    class Low:
        available = 280 << 20  # what "the machine" has left

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Low)
    monkeypatch.setattr(build, "free_memory", lambda device: 1 << 40)  # the guard believes it fits
    from qwencfg.tiny import tiny_config
    from qwencfg.schema import load_schema

    path = write_json(tmp_path / "config.json", tiny_config(load_schema().families["qwen2_5_vl"], vocab_size=300_000))
    result = run("validate", str(path), "--device", "cpu", "--force", "-f", "json")
    stage = next(s for s in json.loads(result.stdout)["stages"] if s["name"] == "device")
    assert result.exit_code == 1 and stage["status"] == "failed"
    assert stage["summary"].startswith("out of memory: ")


# --- no edit is lost, no file is damaged ---------------------------------------------------------


def test_concurrent_in_place_edits_keep_both(tmp_path):
    path = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-7b-instruct"))
    for attempt in range(5):
        procs = [
            subprocess.Popen([sys.executable, "-m", "qwencfg", "set", str(path), f"--text.{key}", str(value + attempt), "--in-place"], stderr=subprocess.PIPE)
            for key, value in (("rms_norm_eps", 1), ("max_position_embeddings", 4096))
        ]
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
        data = json.loads(path.read_text())
        assert (data["rms_norm_eps"], data["max_position_embeddings"]) == (1 + attempt, 4096 + attempt)


def test_in_place_writes_through_a_symlink_and_keeps_links_mode_and_owner(tmp_path):
    target = write_json(tmp_path / "real" / "config.json", preset_data("qwen2.5-vl-7b-instruct"))
    os.chmod(target, 0o640)
    os.chown(target, 1234, 5678)
    twin = tmp_path / "twin.json"
    os.link(target, twin)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert run("set", str(link), "--vision.depth", "30", "--vision.fullatt_block_indexes", "7,15,23,29", "--in-place").exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["vision_config"]["depth"] == 30
    assert os.path.samefile(target, twin)  # the hard link is still one file
    st = os.stat(target)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 5678)


def test_read_only_files_need_force(tmp_path):
    path = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-7b-instruct"))
    os.chmod(path, 0o444)
    before = path.read_bytes()
    assert one_error(run("set", str(path), "--text.rms_norm_eps", "1e-5", "--in-place")) == f"{path} is read-only. Pass --force to write it anyway, or write a copy with -o"
    assert path.read_bytes() == before
    assert run("set", str(path), "--text.rms_norm_eps", "1e-5", "--in-place", "--force").exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444


def test_a_link_into_the_hugging_face_cache_is_refused(tmp_path):
    blob = write_json(tmp_path / "hub" / "models--Qwen--X" / "blobs" / "0123abcd", preset_data("qwen2.5-vl-7b-instruct"))
    snapshot = tmp_path / "hub" / "models--Qwen--X" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").symlink_to(blob)
    assert one_error(run("set", str(snapshot / "config.json"), "--text.rms_norm_eps", "1e-5", "--in-place")) == (
        f"{snapshot / 'config.json'} is a link into the Hugging Face cache. Write an edited copy with -o PATH instead"
    )


def test_outputs_that_are_not_regular_files(tmp_path):
    assert run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32", "-o", "/dev/null", "--force").exit_code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert one_error(run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32", "-o", str(fifo), "--force")) == f"{fifo} is a pipe that nobody reads. Start the reader first, or choose another -o"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    assert "does not exist" in one_error(run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32", "-o", str(dangling), "--force"))
    assert dangling.is_symlink()


def test_a_byte_order_mark_is_kept(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(preset_data("qwen2.5-vl-7b-instruct"), indent=2).encode())
    assert run("set", str(path), "--text.rms_norm_eps", "1e-05", "--in-place").exit_code == 0
    assert path.read_bytes().startswith(b"\xef\xbb\xbf{")


# --- narrow terminals ----------------------------------------------------------------------------


def test_narrow_terminals_fold_columns_and_never_cut_numbers():
    show = run_process("show", "qwen2.5-vl-7b-instruct", "-s", "text", env={"COLUMNS": "20"}).stdout
    assert "8,292,166,656" in show
    assert max(len(line) for line in show.splitlines()) <= 60
    assert len(show.splitlines()) < 200
    presets = run_process("presets", env={"COLUMNS": "40"}).stdout
    assert "27,781,427,952" in presets and "8,767,123,696" in presets


# --- found by probing: wrong verdicts that are errors now ----------------------------------------


def _validate_code(data: dict, tmp_path, *args: str) -> int:
    return run("validate", str(write_json(tmp_path / "config.json", data)), *args).exit_code


def test_a_hybrid_model_without_a_full_attention_layer_is_invalid(tmp_path):
    assert run("set", "qwen3.6-27b", "--text.num_hidden_layers", "3", "-o", str(tmp_path / "l3.json")).exit_code == 2  # set refuses it
    data = preset_data("qwen3.6-27b")
    data["text_config"]["num_hidden_layers"] = 3
    data["text_config"]["layer_types"] = ["linear_attention"] * 3
    assert _validate_code(data, tmp_path) == 1


@pytest.mark.parametrize(("key", "value"), [("rms_norm_eps", -1), ("rope_theta", 0), ("attention_dropout", 1.5), ("initializer_range", -0.02)])
def test_numbers_outside_the_models_arithmetic_are_invalid(tmp_path, key, value):
    assert _validate_code(preset_data("qwen2.5-vl-7b-instruct") | {key: value}, tmp_path, "--device", "meta") == 1
    assert run("set", "qwen2.5-vl-7b-instruct", f"--text.{key}", str(value), "-o", str(tmp_path / "out.json")).exit_code == 2


def test_moe_needs_an_expert_per_token_and_distinct_token_ids(tmp_path):
    data = preset_data("qwen3-vl-30b-a3b-instruct")
    data["text_config"]["num_experts_per_tok"] = -1
    assert _validate_code(data, tmp_path) == 1
    assert _validate_code(preset_data("qwen3-vl-8b-instruct") | {"image_token_id": 151652}, tmp_path) == 1


def test_sliding_layers_without_a_window_are_invalid(tmp_path):
    data = preset_data("qwen2.5-vl-7b-instruct") | {"layer_types": ["sliding_attention"] + ["full_attention"] * 27}
    assert _validate_code(data, tmp_path) == 1


def test_quantization_configs_from_pretrained_would_refuse(tmp_path):
    assert _validate_code(preset_data("qwen2.5-vl-7b-instruct") | {"quantization_config": {"quant_method": "bogus"}}, tmp_path) == 1
    data = preset_data("qwen3-vl-30b-a3b-instruct-fp8")
    data["quantization_config"]["weight_block_size"] = [0, 128]
    path = write_json(tmp_path / "fp8.json", data)
    assert run("validate", str(path)).exit_code == 1
    assert one_error(run("estimate", str(path))).startswith("model.quantization_config.weight_block_size is [0, 128]; it must be two positive integers")
    assert "not readable" in run("show", str(path), "-s", "model").stdout


def test_set_refuses_what_the_config_class_refuses(tmp_path):
    out = str(tmp_path / "out.json")
    assert "is not one of the values transformers knows" in one_error(run("set", "qwen3-vl-8b-instruct", "--text.dtype", "bogus", "-o", out))
    refused = run("set", "qwen3-vl-8b-instruct", "--text.rope_parameters.rope_type", "linear", "-o", out)
    assert refused.exit_code == 2 and "[rope-parameters] text.rope_parameters of rope_type 'linear' needs factor" in refused.stderr
    assert one_error(run("set", "qwen3-vl-8b-instruct", "--text.vocab_size", "1", "--text.vocab_size", "2", "-o", out)) == "text.vocab_size is given more than once. Give each key one value (or one --unset)"


def test_an_edit_reaches_the_rope_dict_transformers_reads(tmp_path):
    data = preset_data("qwen3-vl-8b-instruct")
    data["text_config"]["rope_parameters"] = {"rope_type": "default", "rope_theta": 5.0, "mrope_section": [2, 3, 3]}
    path = write_json(tmp_path / "config.json", data)
    assert run("set", str(path), "--text.rope_parameters.rope_theta", "77", "--in-place").exit_code == 0
    from qwencfg import load

    assert load(str(path)).text["rope_parameters"]["rope_theta"] == 77  # rope_scaling, which transformers reads, changed too


def test_a_key_the_cache_reads_is_not_called_ignored(tmp_path):
    data = preset_data("qwen3-vl-8b-instruct")
    data["text_config"]["sliding_window"] = 2
    path = str(write_json(tmp_path / "config.json", data))
    result = run("diff", "qwen3-vl-8b-instruct", path, "-f", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["changes"][0]["path"] == "text.sliding_window"
    data["text_config"]["sliding_window"] = "x"
    assert _validate_code(data, tmp_path) == 1


def test_damaged_and_endless_checkpoint_files(tmp_path):
    from qwencfg.tiny import tiny_config
    from qwencfg.schema import load_schema

    folder = tmp_path / "cut"
    write_json(folder / "config.json", tiny_config(load_schema().families["qwen2_5_vl"]))
    header = json.dumps({"lm_head.weight": {"dtype": "F32", "shape": [512, 64], "data_offsets": [0, 131072]}}).encode()
    (folder / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)  # the data is missing
    assert "is cut short" in one_error(run("validate", str(folder), "--weights"))
    fifo = tmp_path / "fifo"
    write_json(fifo / "config.json", tiny_config(load_schema().families["qwen2_5_vl"]))
    os.mkfifo(fifo / "model.safetensors")
    started = time.monotonic()
    assert "is not a regular file" in one_error(run_process("validate", str(fifo), "--weights", timeout=120))
    assert time.monotonic() - started < 60


def test_a_hub_that_hides_the_size_is_refused_before_the_cache(fake_hub, hub_env, tmp_path):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    fake_hub.hide_size = True
    assert "the Hub did not say how large the file is" in one_error(run_process("show", REPO, env=hub_env))
    assert not any((tmp_path / "hf_home").rglob("*.incomplete"))


@pytest.mark.parametrize(("variable", "value"), [("QWENCFG_READ_TIMEOUT", "1e300"), ("HF_ENDPOINT", "http://[::1"), ("QWENCFG_HUB_TIMEOUT", "99999999999")])
def test_environment_values_out_of_range(tmp_path, variable, value):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    source = str(fifo) if variable == "QWENCFG_READ_TIMEOUT" else REPO
    assert variable in one_error(run_process("show", source, env={variable: value}))


def test_output_to_standard_output(tmp_path):
    proc = subprocess.run(f"{sys.executable} -m qwencfg set qwen2.5-vl-3b-instruct --vision.depth 32 -o /dev/stdout | cat", shell=True, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["vision_config"]["depth"] == 32
    result = run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32", "-o", "-")
    assert json.loads(result.stdout)["model_type"] == "qwen2_5_vl" and not (ROOT / "-").exists()


def test_control_characters_are_spelled_out(tmp_path):
    import xml.etree.ElementTree as ET

    path = write_json(tmp_path / "config.json", preset_data("qwen2.5-vl-3b-instruct") | {"weird\u0001key\u001b[31m": 1})
    ET.fromstring(run("validate", str(path), "-f", "junit").stdout)
    table = run("show", str(path), "-s", "model").stdout
    assert "\x1b" not in table and "weird\\x01key\\x1b[31m" in table


def test_usage_errors_are_one_line():
    assert one_error(run_process("estimate", "x", "--context", "1.5")) == "Invalid value for '--context': '1.5' is not a valid integer; see `qwencfg estimate --help`"
    assert one_error(run_process("validate", "qwen2.5-vl-3b-instruct", "--tp", "")).startswith("--tp ''")
    assert one_error(run_process("validate", "qwen2.5-vl-3b-instruct", "--weights-from", "")) == "--weights-from is empty. Give a folder or REPO[@REV]"
