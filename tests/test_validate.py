"""`qwencfg validate`: rules, transformers, meta and device builds, tensor parallelism, CI formats."""

import json
import xml.etree.ElementTree as ET

import pytest

from qwencfg import build

from .conftest import preset_data, run, write_json

SMALL = [
    "--text.num_hidden_layers", "2", "--text.hidden_size", "128", "--text.intermediate_size", "256",
    "--text.num_attention_heads", "4", "--text.num_key_value_heads", "2", "--text.rope_scaling.mrope_section", "4,6,6",
    "--vision.depth", "2", "--vision.hidden_size", "64", "--vision.num_heads", "2", "--vision.intermediate_size", "128",
    "--vision.out_hidden_size", "128", "--vision.fullatt_block_indexes", "[1]",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A two-layer Qwen2.5-VL written by `qwencfg set` from the 3B preset."""
    path = tmp_path_factory.mktemp("small") / "config.json"
    result = run("set", "qwen2.5-vl-3b-instruct", *SMALL, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def report(*args) -> tuple[int, dict]:
    result = run("validate", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def stage(data: dict, name: str) -> dict:
    return next(s for s in data["stages"] if s["name"] == name)


def test_preset_is_valid_and_its_meta_count_is_the_published_count():
    code, data = report("qwen2.5-vl-7b-instruct", "--expect-params", "8292166656")
    assert code == 0 and data["valid"]
    assert [(s["name"], s["status"]) for s in data["stages"]] == [("rules", "passed"), ("transformers", "passed"), ("meta", "passed")]
    analytic = data["parameters"]["analytic"]
    assert data["parameters"]["meta"] == {k: v for k, v in analytic.items() if k in data["parameters"]["meta"]}
    assert data["parameters"]["meta"]["total"] == analytic["checkpoint_total"] == 8_292_166_656 and analytic["mtp"] == 0
    assert data["parameters"]["meta"]["components"]["vision.blocks"] == 630_470_400


def test_tied_embeddings_are_counted_once_on_meta():
    code, data = report("qwen2.5-vl-3b-instruct", "--expect-params", "3.75B")
    assert code == 0
    assert data["parameters"]["meta"]["tied_embeddings"] is True
    assert data["parameters"]["meta"]["lm_head"] == 0
    assert stage(data, "meta")["summary"].endswith("3,754,622,976 parameters (lm_head tied, counted once); --expect-params 3.75B matches the model")


@pytest.mark.parametrize(("expected", "ok"), [("8.29B", True), ("8.3B", True), ("8.28B", False), ("8292166657", False), ("8_292_166_656", True)])
def test_expect_params_exact_or_rounded(expected, ok):
    code, data = report("qwen2.5-vl-7b-instruct", "--expect-params", expected)
    assert (code == 0) is ok
    if not ok:
        assert stage(data, "meta")["summary"] == f"expected {expected} parameters: the model (transformers) has 8,292,166,656"


def test_bad_expect_params_is_a_usage_error():
    result = run("validate", "qwen2.5-vl-7b-instruct", "--expect-params", "lots")
    assert (result.exit_code, result.stderr) == (2, "qwencfg: error: --expect-params 'lots' is not a count. Write 8292166656 or 8.29B\n")


BROKEN = [
    ({"num_key_value_heads": 5}, "text-kv-heads", "text.num_attention_heads 28 is not a multiple of text.num_key_value_heads 5"),
    ({"hidden_size": 3590, "vision_config": {"out_hidden_size": 3590}}, "text-heads", "text.hidden_size 3590 is not divisible by text.num_attention_heads 28"),
    ({"vision_config": {"out_hidden_size": 4096}}, "vision-out-hidden-size", "text.hidden_size 3584 but vision.out_hidden_size 4096"),
    ({"vision_config": {"fullatt_block_indexes": [7, 15, 15, 40]}}, "vision-block-indexes", "vision.fullatt_block_indexes [7, 15, 15, 40] has [40] outside [0, 32), repeated entries (vision.depth 32)"),
    ({"vision_config": {"window_size": 100}}, "vision-window", "vision.window_size 100 is not a multiple of patch_size x spatial_merge_size = 28"),
    ({"rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 16]}}, "mrope-section", "text.rope_parameters.mrope_section [16, 24, 16] sums to 56, but the rotary half-dimension is 64 (head_dim 128)"),
    ({"use_sliding_window": True, "max_window_layers": 40}, "max-window-layers", "text.max_window_layers 40 > text.num_hidden_layers 28"),
    ({"image_token_id": 152064}, "token-ids", "model.image_token_id 152064 is outside the vocabulary (text.vocab_size 152064)"),
    ({"vision_config": {"num_heads": 12}}, "vision-heads", "vision.hidden_size 1280 is not divisible by vision.num_heads 12"),
    ({"num_hidden_layers": 0}, "positive-sizes", "text.num_hidden_layers is 0; it must be at least 1"),
    ({"vision_config": {"patch_size": [14, 14]}}, "patch-size-int", "vision.patch_size is [14, 14]; the vision tower needs one integer"),
]


def _broken(tmp_path, change: dict) -> str:
    data = preset_data("qwen2.5-vl-7b-instruct")
    for key, value in change.items():
        if key == "vision_config":
            data["vision_config"].update(value)
        else:
            data[key] = value
    return str(write_json(tmp_path / "config.json", data))


@pytest.mark.parametrize(("change", "rule", "message"), BROKEN, ids=[b[1] for b in BROKEN])
def test_each_rule_fails_with_its_id_and_message(tmp_path, change, rule, message):
    code, data = report(_broken(tmp_path, change))
    assert code == 1 and not data["valid"]
    findings = [f for r in data["rules"] for f in r["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["message"]) for f in findings] == [(rule, message)]
    assert [(s["name"], s["status"]) for s in data["stages"]] == [("rules", "failed"), ("transformers", "skipped"), ("meta", "skipped")]


def test_moe_rule(tmp_path):
    data = json.loads(run("set", "defaults:qwen3_vl_moe", "--text.num_experts_per_tok", "64", "--vision.out_hidden_size", "2048", "--allow-invalid").stdout)
    code, result = report(str(write_json(tmp_path / "config.json", data)))
    assert code == 1
    assert [f["message"] for r in result["rules"] for f in r["findings"] if f["severity"] == "error"] == ["text.num_experts_per_tok 64 > text.num_experts 60"]


def test_keep_going_runs_the_transformers_stage_and_reports_its_reason(tmp_path):
    path = _broken(tmp_path, {"hidden_size": "3584"})
    code, data = report(path, "--keep-going")
    assert code == 1
    assert stage(data, "rules")["status"] == "failed"
    transformers_stage = stage(data, "transformers")
    assert transformers_stage["status"] == "failed"
    assert transformers_stage["summary"].startswith("Qwen2_5_VLConfig of transformers 5.24.0 refuses it: ")
    assert "hidden_size" in transformers_stage["summary"] and "\n" not in transformers_stage["summary"]


def test_warnings_fail_only_with_strict(tmp_path):
    path = _broken(tmp_path, {"pad_tokn_id": 0})  # a typo: ignored by transformers, a warning
    assert report(path)[0] == 0
    code, data = report(path, "--strict")
    assert code == 1 and data["strict"]


def test_cpu_build_with_a_forward_pass(small):
    code, data = report(str(small), "--device", "cpu", "--forward", "--dtype", "fp32")
    assert code == 0, data
    device = stage(data, "device")
    total = data["parameters"]["meta"]["total"]
    assert device["details"]["weight_bytes"] == total * 4
    assert device["details"]["allocated_bytes"]["cpu"] >= total * 4
    assert device["details"]["forward"] == {
        "tokens": 12,
        "image_tokens": 4,
        "logits_shape": [1, 12, 151936],
        "expected_shape": [1, 12, 151936],
        "finite": True,
        "ok": True,
    }


def test_refuses_before_allocating_when_the_weights_do_not_fit(monkeypatch):
    monkeypatch.setattr(build, "free_memory", lambda device: 1 << 30)
    allocations = []
    monkeypatch.setattr(build, "materialize", lambda *a, **k: allocations.append(a))
    code, data = report("qwen2.5-vl-7b-instruct", "--device", "cpu")
    assert code == 1 and allocations == []
    assert stage(data, "device")["summary"] == (
        "refused before allocating: the weights need 15.4 GiB in bf16 (8,292,166,656 x 2 B) but cpu has 1.0 GiB free (--force tries anyway)"
    )


def test_forward_needs_a_device():
    result = run("validate", "qwen2.5-vl-7b-instruct", "--forward")
    assert (result.exit_code, result.stderr) == (2, "qwencfg: error: --forward needs --device cpu, cuda, cuda:N or auto\n")


def test_cuda_without_a_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    result = run("validate", "qwen2.5-vl-7b-instruct", "--device", "cuda")
    assert (result.exit_code, result.stderr) == (2, "qwencfg: error: --device cuda: no CUDA GPU is visible to torch. Check CUDA_VISIBLE_DEVICES and that torch is a CUDA build\n")


def test_auto_spreads_over_several_gpus_with_accelerate(small, monkeypatch):
    from qwencfg import load

    meta = build.build_on_meta(load(str(small)))
    monkeypatch.setattr(build, "free_memory", lambda device: 40 << 20)  # two 40 MiB GPUs
    placement = build.plan_devices(meta, ["cuda:0", "cuda:1"], "bf16")
    assert set(placement.device_map.values()) == {"cuda:0", "cuda:1"}
    # the tied lm_head stays with the embeddings it shares
    assert placement.device_map["lm_head"] == placement.device_map["model.language_model.embed_tokens"]


def test_tensor_parallel_sizes():
    code, data = report("qwen2.5-vl-7b-instruct", "--tp", "2,4,8")
    assert code == 1
    sizes = stage(data, "tp")["details"]["sizes"]
    assert [(s["size"], s["ok"]) for s in sizes] == [(2, True), (4, True), (8, False)]
    assert sizes[2]["problems"] == [
        "text.num_attention_heads 28 does not split over 8 ranks (q_proj, o_proj shard by head)",
        "text.num_key_value_heads 4 does not split over 8 ranks (k_proj, v_proj shard by head)",
    ]
    # 7B in bf16. Whole on every rank: the vision tower (676,550,144) and the norms (28 x 2 x 3,584 + 3,584):
    # 676,754,432 parameters. The other 7,615,412,224 split in two, embed_tokens too (transformers adds
    # embedding_rowwise to every non-empty plan; a real 2-rank run in test_tp_run measures the same).
    assert sizes[0]["replicated_bytes"] == 676_754_432 * 2
    assert sizes[0]["bytes_per_rank"] == (676_754_432 + 7_615_412_224 // 2) * 2


def test_without_torch_the_meta_stage_is_skipped(monkeypatch):
    monkeypatch.setattr(build, "missing_build_packages", lambda: ["torch", "accelerate"])
    code, data = report("qwen2.5-vl-7b-instruct")
    assert code == 0
    assert stage(data, "meta")["status"] == "skipped"
    code, data = report("qwen2.5-vl-7b-instruct", "--expect-params", "8.29B")  # counted from the config instead
    assert code == 0 and stage(data, "parameters")["summary"] == "counted from the config; --expect-params 8.29B matches the model"
    result = run("validate", "qwen2.5-vl-7b-instruct", "--device", "meta")
    assert (result.exit_code, result.stderr) == (2, "qwencfg: error: building the model needs torch and accelerate, which are not installed. "
                                                 "Install the build extra: pip install 'qwencfg[build]' (the README has the torch line for CPU-only machines)\n")


def test_junit_has_one_case_per_rule_and_stage(tmp_path):
    result = run("validate", _broken(tmp_path, {"num_key_value_heads": 5}), "--format", "junit", "--keep-going")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    suite = root.find("testsuite")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    assert ("qwencfg.rules", "text-kv-heads") in cases and ("qwencfg.stages", "meta") in cases
    failure = cases["qwencfg.rules", "text-kv-heads"].find("failure")
    assert failure.get("message") == "text.num_attention_heads 28 is not a multiple of text.num_key_value_heads 5"
    assert suite.get("failures") == root.get("failures") == "1"  # the model still builds: only the rule knows
    assert int(suite.get("tests")) == len(cases)


def test_markdown_report():
    result = run("validate", "qwen2.5-vl-7b-instruct", "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:3] == [
        "**valid: preset qwen2.5-vl-7b-instruct (Qwen/Qwen2.5-VL-7B-Instruct) (qwen2_5_vl, flat layout)**",
        "",
        "| stage | status | result |",
    ]
    assert "Parameters: **8.29B (8,292,166,656)**" in result.stdout


def test_forward_initialises_every_parameter_the_way_transformers_does(small):
    import torch

    from qwencfg import load

    config = load(str(small))
    meta = build.build_on_meta(config)
    placement = build.plan_devices(meta, ["cpu"], "bf16")
    build.materialize(meta, placement, "bf16")
    assert build.tiny_forward(meta, config, placement)["ok"]
    parameters = dict(meta.model.named_parameters())
    assert all(torch.isfinite(p.float()).all() for p in parameters.values())
    assert torch.equal(parameters["model.language_model.norm.weight"].float(), torch.ones(128))
    assert torch.equal(parameters["model.visual.blocks.0.attn.qkv.bias"].float(), torch.zeros(192))


def test_tensor_parallel_without_torch_uses_the_analytic_inventory(monkeypatch):
    monkeypatch.setattr(build, "missing_build_packages", lambda: ["torch", "accelerate"])
    code, data = report("qwen2.5-vl-7b-instruct", "--tp", "2")
    assert code == 0
    assert stage(data, "meta")["status"] == "skipped"
    sizes = stage(data, "tp")["details"]["sizes"]
    assert sizes[0]["bytes_per_rank"] == (676_754_432 + 7_615_412_224 // 2) * 2
