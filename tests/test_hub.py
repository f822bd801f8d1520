"""The Hub path, for real, against a fake Hub on 127.0.0.1 (HF_ENDPOINT). Never the real Hub."""

import json
import socket
import time

from .conftest import one_error, preset_data, run_process

REPO = "Qwen/Qwen2.5-VL-7B-Instruct"


def shown(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_pinned_revision_is_fetched_and_named(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    old = preset_data("qwen2.5-vl-7b-instruct") | {"num_hidden_layers": 20}
    commit = fake_hub.add(REPO, old, revision="v1.0", commit="a" * 40)
    data = shown(run_process("show", f"{REPO}@v1.0", "-f", "json", env=hub_env))
    assert data["source"] == {
        "kind": "hub",
        "label": f"{REPO}@{commit[:12]}",
        "repo_id": REPO,
        "revision": "v1.0",
        "commit": commit,
        "from_cache": False,
    }
    assert data["sections"]["text"]["num_hidden_layers"]["value"] == 20


def test_main_branch_by_default(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    assert shown(run_process("show", REPO, "-f", "json", env=hub_env))["parameters"]["total"] == 8_292_166_656


def test_repo_not_found(fake_hub, hub_env):
    assert one_error(run_process("show", "Qwen/Nope-VL", env=hub_env)) == (
        "Qwen/Nope-VL: repository not found on the Hub. Check the spelling; a private repo also needs HF_TOKEN"
    )


def test_revision_not_found(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    assert one_error(run_process("show", f"{REPO}@v9", env=hub_env)) == (
        f"{REPO}: revision 'v9' not found. Check the branch, tag or commit after @"
    )


def test_gated_repo_without_token(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"), gated=True, allowed_token="hf_good")
    assert one_error(run_process("show", REPO, env=hub_env)) == (
        f"{REPO} is gated: it needs a token. Accept its conditions at https://huggingface.co/{REPO}, "
        "then set HF_TOKEN (or run `hf auth login`)"
    )


def test_gated_repo_with_a_token_that_has_no_access(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"), gated=True, allowed_token="hf_good")
    assert one_error(run_process("show", REPO, env=hub_env | {"HF_TOKEN": "hf_other"})) == (
        f"{REPO} is gated and your token has no access to it. "
        f"Accept its conditions at https://huggingface.co/{REPO} with the account of HF_TOKEN"
    )


def test_gated_repo_with_a_good_token(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"), gated=True, allowed_token="hf_good")
    assert shown(run_process("show", REPO, "-f", "json", env=hub_env | {"HF_TOKEN": "hf_good"}))["family"] == "qwen2_5_vl"


OTHER = "Qwen/Some-Finetune"  # a repo no bundled preset holds


def test_server_error_without_cache(fake_hub, hub_env):
    fake_hub.fail_with = 500
    assert one_error(run_process("show", OTHER, env=hub_env)) == (
        f"{OTHER}: the Hub answered 500 (server error), and config.json of this repo is not in the cache. "
        "Check the network or HF_ENDPOINT, or fetch it once while online"
    )


def test_an_unreachable_hub_names_the_preset_that_holds_the_config(fake_hub, hub_env):
    fake_hub.fail_with = 500
    assert one_error(run_process("show", REPO, env=hub_env)) == (
        f"{REPO}: the Hub answered 500 (server error), and config.json of this repo is not in the cache. "
        "The bundled preset qwen2.5-vl-7b-instruct holds this config offline: qwencfg show qwen2.5-vl-7b-instruct"
    )


def test_server_error_with_cache_uses_the_cached_copy(fake_hub, hub_env):
    commit = fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    shown(run_process("show", REPO, "-f", "json", env=hub_env))  # fills the cache
    fake_hub.fail_with = 503
    result = run_process("show", REPO, "-f", "json", env=hub_env)
    assert shown(result)["source"]["from_cache"] is True
    assert result.stderr == f"qwencfg: the Hub answered 503 (server error); using the cached copy of {REPO} (commit {commit})\n"


def test_connection_refused(hub_env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # nothing listens once the socket closes
    result = run_process("show", OTHER, env=hub_env | {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port}"})
    assert one_error(result) == (
        f"{OTHER}: the Hub could not be reached, and config.json of this repo is not in the cache. "
        "Check the network or HF_ENDPOINT, or fetch it once while online"
    )


def test_stalled_response_times_out(fake_hub, hub_env):
    fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    fake_hub.stall_seconds = 10
    started = time.monotonic()
    result = run_process("show", REPO, env=hub_env | {"HF_HUB_ETAG_TIMEOUT": "1"})
    assert time.monotonic() - started < 8
    assert one_error(result).startswith(f"{REPO}: the Hub did not answer in time, and config.json of this repo is not in the cache")


def test_offline_with_cache(fake_hub, hub_env):
    commit = fake_hub.add(REPO, preset_data("qwen2.5-vl-7b-instruct"))
    shown(run_process("show", REPO, "-f", "json", env=hub_env))
    fake_hub.requests.clear()
    result = run_process("show", REPO, "-f", "json", env=hub_env | {"HF_HUB_OFFLINE": "1"})
    assert shown(result)["source"]["commit"] == commit
    assert result.stderr == f"qwencfg: HF_HUB_OFFLINE is set; using the cached copy of {REPO} (commit {commit})\n"
    assert fake_hub.requests == []


def test_offline_without_cache(fake_hub, hub_env):
    assert one_error(run_process("show", OTHER, env=hub_env | {"HF_HUB_OFFLINE": "1"})) == (
        f"{OTHER}: HF_HUB_OFFLINE is set, and config.json of this repo is not in the cache. "
        "Check the network or HF_ENDPOINT, or fetch it once while online (unset HF_HUB_OFFLINE)"
    )


def test_repo_without_config(fake_hub, hub_env):
    fake_hub.add("Qwen/Qwen2.5-VL-Tokenizer", None)
    assert one_error(run_process("show", "Qwen/Qwen2.5-VL-Tokenizer", env=hub_env)) == (
        "Qwen/Qwen2.5-VL-Tokenizer has no config.json. Is it a model repo?"
    )
