"""Real tensor parallelism: 2 ranks on gloo, transformers' own tp plan, bytes and logits checked;
failures are verdicts, and nothing is left running or on disk."""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from qwencfg.schema import load_schema
from qwencfg.tiny import tiny_config

from .conftest import write_json


def tiny(tmp_path, family: str, **text_sizes):
    return write_json(tmp_path / family / "config.json", tiny_config(load_schema().families[family], **text_sizes))


@pytest.fixture(autouse=True)
def own_temporary_folder(tmp_path, monkeypatch):
    """The run's checkpoint and job files go under this test's folder, so what it leaves is its own."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def validate(*args: str, env: dict | None = None, launcher: list[str] | None = None) -> tuple[int, dict]:
    command = (launcher or [sys.executable, "-m"]) + ["qwencfg", "validate", *args, "-f", "json"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1", **(env or {})}, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # a hung launcher: end it and every rank it started
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, json.loads(out)


def stages(report: dict) -> dict:
    return {s["name"]: s for s in report["stages"]}


@pytest.fixture(autouse=True)
def nothing_left_behind(own_temporary_folder):
    yield
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", str(own_temporary_folder)], capture_output=True, text=True).stdout.split()
    assert left == [], "a rank is still running"
    assert glob.glob(str(own_temporary_folder / "qwencfg-tp-*")) == [], "a temporary checkpoint is left"


def test_the_dense_model_shards_as_predicted_and_computes_the_same(tmp_path):
    code, report = validate(str(tiny(tmp_path, "qwen2_5_vl")), "--device", "cpu", "--tp", "2", "--forward", "--dtype", "fp32")
    assert code == 0, report
    tp, run = stages(report)["tp"], stages(report)["tp-run"]
    predicted = tp["details"]["sizes"][0]["bytes_per_rank"]
    details = run["details"]["runs"][0]
    assert details["backend"] == "gloo" and details["size"] == 2 and details["launched_by"] == "qwencfg"
    assert [r["param_bytes"] for r in details["ranks"]] == [predicted, predicted]
    logits = details["ranks"][0]["logits"]
    assert logits["ok"] and logits["relative_difference"] <= logits["tolerance"] == 1e-4
    assert run["summary"].startswith(f"tp=2 on gloo (qwencfg): rank 0 {predicted:,} B, rank 1 {predicted:,} B, as predicted; logits [1, 12, 512] match")


def test_a_hybrid_moe_model_shards_too(tmp_path):
    code, report = validate(str(tiny(tmp_path, "qwen3_5_moe")), "--device", "cpu", "--tp", "2", "--dtype", "fp32")
    assert code == 0, stages(report)["tp-run"]


def test_the_qwen3_vl_moe_failure_is_a_verdict_that_names_the_expert_weights(tmp_path):
    code, report = validate(str(tiny(tmp_path, "qwen3_vl_moe")), "--device", "cpu", "--tp", "2")
    assert code == 1
    run = stages(report)["tp-run"]
    assert run["status"] == "failed"
    assert run["summary"].startswith("tp=2: ranks 0, 1 failed: transformers could not load the tensor-parallel shards of model.language_model.layers.{0, 1}.mlp.experts.")
    assert "experts.down_proj" in run["summary"] and "experts.gate_up_proj" in run["summary"]


def test_heads_that_do_not_split_are_refused_before_any_rank_starts(tmp_path):
    path = tiny(tmp_path, "qwen2_5_vl", num_key_value_heads=1)  # one KV head cannot be split over two ranks
    code, report = validate(str(path), "--device", "cpu", "--tp", "2")
    assert code == 1
    assert stages(report)["tp"]["status"] == "failed"
    assert stages(report)["tp-run"]["status"] == "skipped"


def test_a_rank_that_fails_is_named_and_every_rank_ends(tmp_path):
    code, report = validate(str(tiny(tmp_path, "qwen2_5_vl")), "--device", "cpu", "--tp", "2", env={"QWENCFG_TEST_FAIL_RANK": "1"})
    assert code == 1
    assert stages(report)["tp-run"]["summary"] == "tp=2: rank 1 failed: rank 1 was told to fail (QWENCFG_TEST_FAIL_RANK)"


def test_under_torchrun_it_joins_the_process_group_and_rank_0_alone_reports(tmp_path):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    launcher = [torchrun, "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(port), "-m"]
    code, report = validate(str(tiny(tmp_path, "qwen2_5_vl")), "--device", "cpu", "--tp", "2", "--forward", "--dtype", "fp32", launcher=launcher)
    assert code == 0, report  # one report: json.loads would have refused two
    details = stages(report)["tp-run"]["details"]["runs"][0]
    assert details["launched_by"] == "launcher" and len(details["ranks"]) == 2 and details["ranks"][0]["logits"]["ok"]


def test_ctrl_c_stops_every_rank_and_removes_the_checkpoint(tmp_path):
    path = tiny(tmp_path, "qwen2_5_vl")
    proc = subprocess.Popen([sys.executable, "-m", "qwencfg", "validate", str(path), "--device", "cpu", "--tp", "2", "--forward"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for _ in range(300):
        if subprocess.run(["pgrep", "-f", "qwencfg.tp_worker"], capture_output=True).stdout:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "qwencfg: error: interrupted\n"
