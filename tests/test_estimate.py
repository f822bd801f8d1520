"""`qwencfg estimate`: the figures, and accelerate's own functions on the same meta-built model."""

import ast
import importlib.util
import json
import math
import subprocess
import sys

import pytest

from qwencfg import load
from qwencfg.derived import smart_resize
from qwencfg.memory import estimate

from .conftest import preset_data, run, write_json


def figures(*args: str) -> dict:
    result = run("estimate", *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_7b_in_bf16_and_its_kv_cache():
    data = figures("qwen2.5-vl-7b-instruct", "--context", "32768")
    assert data["weights_bytes"] == {"fp32": 33_168_666_624, "bf16": 16_584_333_312, "fp8": 8_292_166_656, "int4": 4_146_083_328}
    assert data["kv_cache"]["bytes"] == 1_879_048_192  # 28 layers x 4 KV heads x 128 x 2 (K, V) x 2 B x 32,768 tokens
    assert data["kv_cache"]["dtype"] == "bf16"
    assert data["largest_layer"] == {
        "names": ["model.language_model.embed_tokens", "lm_head"],
        "parameters": 544_997_376,
        "bytes": {"fp32": 2_179_989_504, "bf16": 1_089_994_752, "fp8": 544_997_376, "int4": 272_498_688},
    }
    assert data["training_adam_bytes"]["fp32"]["peak"] == 4 * 33_168_666_624
    assert data["training_adam_bytes"]["mixed"]["peak"] == 2 * 33_168_666_624


def test_batch_and_context_scale_the_cache():
    one = figures("qwen2.5-vl-7b-instruct", "--context", "1000")["kv_cache"]["bytes"]
    assert figures("qwen2.5-vl-7b-instruct", "--context", "2000", "--batch", "3")["kv_cache"]["bytes"] == 6 * one


def test_linear_attention_layers_keep_a_fixed_state():
    kv = figures("qwen3.6-27b", "--context", "1000")["kv_cache"]
    # 16 full-attention layers x 4 KV heads x 256 x 2 x 2 B per token; 48 linear layers of conv and recurrent state
    assert kv["attention_bytes"] == 16 * 4 * 256 * 2 * 2 * 1000
    conv = (2 * 16 * 128 + 48 * 128) * 4
    recurrent = 48 * 128 * 128
    assert kv["linear_state_bytes"] == 48 * (conv + recurrent) * 2
    assert figures("qwen3.6-27b", "--context", "100000")["kv_cache"]["linear_state_bytes"] == kv["linear_state_bytes"]


def test_a_sliding_window_stops_growing(tmp_path):
    data = preset_data("qwen2.5-vl-7b-instruct") | {"use_sliding_window": True, "sliding_window": 4096, "max_window_layers": 14}
    path = str(write_json(tmp_path / "config.json", data))
    kv = figures(path, "--context", "32768")["kv_cache"]
    per_token = 4 * 128 * 2 * 2
    assert kv["attention_bytes"] == per_token * (14 * 32768 + 14 * 4096)


def test_checkpoint_weights_with_mtp_and_moe():
    data = figures("qwen3.6-27b")
    assert data["parameters"]["checkpoint_total"] == 27_781_427_952
    assert data["checkpoint_weights_bytes"]["bf16"] == 2 * 27_781_427_952
    assert data["parameter_groups"]["mtp"] == 424_699_392
    moe = figures("qwen3-vl-30b-a3b-instruct")
    assert moe["parameters"]["active_per_token"] == 3_891_664_112


def test_tp_shares_are_those_of_validate():
    shares = figures("qwen2.5-vl-7b-instruct", "--tp", "2,8")["tensor_parallel"]
    report = json.loads(run("validate", "qwen2.5-vl-7b-instruct", "--tp", "2,8", "-f", "json").stdout)
    sizes = next(s for s in report["stages"] if s["name"] == "tp")["details"]["sizes"]
    assert [(s["size"], s["ok"], s["bytes_per_rank"]) for s in shares["sizes"]] == [(s["size"], s["ok"], s["bytes_per_rank"]) for s in sizes]


def test_quantized_checkpoints():
    awq = figures("qwen2-vl-7b-instruct-awq")["quantized"]
    assert awq["scheme"] == "awq 4-bit, groups of 128" and awq["kept_dtype"] == "fp16"
    # the vision tower (modules_to_not_convert), the embeddings and lm_head stay in float16
    bf16 = figures("qwen2-vl-7b-instruct-awq")["weights_bytes"]["bf16"]
    assert 0.35 * bf16 < awq["bytes"] < 0.45 * bf16
    assert 0 < awq["kept_parameters"] - (675_759_104 + 2 * 544_997_376) < 1_000_000  # and the norms and biases
    fp8 = figures("qwen3-vl-30b-a3b-instruct-fp8")["quantized"]
    assert fp8["scheme"] == "fp8 (e4m3), 128x128 blocks"
    from qwencfg.quantization import _linear_bytes

    assert _linear_bytes("fp8", {"weight_block_size": [128, 128]}, 300, 200) == 300 * 200 + 3 * 2 * 4
    assert _linear_bytes("awq", {"bits": 4, "group_size": 128}, 256, 256) == 256 * 256 // 2 + 2 * 256 * 2 + 2 * 256 // 2


def _transformers_smart_resize():
    """transformers' own smart_resize, taken from its source (importing the module needs torchvision)."""
    path = importlib.util.find_spec("transformers.models.qwen2_vl.image_processing_qwen2_vl").origin
    tree = ast.parse(open(path).read())
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "smart_resize")
    namespace = {"math": math}
    exec(compile(ast.Module([function], []), path, "exec"), namespace)  # noqa: S102 - the installed library's code
    return namespace["smart_resize"]


@pytest.mark.parametrize("size", [(448, 448), (1080, 1920), (50, 3000), (28, 28), (4000, 3000), (10, 10), (333, 777)])
def test_vision_tokens_use_transformers_resize_rule(size):
    theirs = _transformers_smart_resize()
    height, width = size
    for factor, low, high in ((28, 56 * 56, 28 * 28 * 1280), (32, 65536, 16777216)):
        assert smart_resize(height, width, factor, low, high) == theirs(height, width, factor=factor, min_pixels=low, max_pixels=high)
    data = figures("qwen2.5-vl-7b-instruct", "--image", f"{width}x{height}")["vision_tokens"]
    h, w = theirs(height, width, factor=28, min_pixels=56 * 56, max_pixels=28 * 28 * 1280)
    assert data["tokens"] == (h // 14) * (w // 14) // 4


@pytest.mark.parametrize("name", ["qwen2.5-vl-7b-instruct", "qwen3-vl-30b-a3b-instruct", "qwen3.6-27b", "qwen3-vl-4b-instruct"])
def test_the_same_as_accelerate_on_the_same_meta_built_model(name):
    """accelerate counts buffers (rotary frequencies) too; its largest layer and training figures are ours."""
    import torch
    import transformers
    from accelerate.commands.estimate import estimate_training_usage
    from accelerate.utils import calculate_maximum_sizes

    from qwencfg.build import transformers_config

    config = load(name)
    with torch.device("meta"):
        model = getattr(transformers, config.family.architecture)(transformers_config(config)).to(torch.float32)
    total, (largest, names) = calculate_maximum_sizes(model)
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    ours = estimate(config)
    assert total - buffers == ours.weights["fp32"]
    assert (largest, sorted(names)) == (4 * ours.largest.parameters, sorted(ours.largest.names))
    for mode, theirs in (("fp32", "float32"), ("mixed", "bfloat16"), ("mixed", "float16")):
        usage = estimate_training_usage(total - buffers, theirs)
        assert ours.training[mode] == {"weights": usage["model"], "gradients": usage["gradients"], "optimizer": usage["optimizer"], "peak": max(usage.values())}


def test_accelerates_own_path_builds_the_model_without_its_head():
    """`accelerate estimate-memory` builds AutoModel, which for these families has no lm_head: it leaves out
    the output layer's bytes. qwencfg counts the model from_pretrained loads."""
    import torch
    from accelerate import init_empty_weights
    from accelerate.utils import calculate_maximum_sizes
    from transformers import AutoModel

    from qwencfg.build import transformers_config

    config = load("qwen2.5-vl-7b-instruct")
    with init_empty_weights():
        model = AutoModel.from_config(transformers_config(config), torch_dtype=torch.float32)
    total, _ = calculate_maximum_sizes(model)
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    assert estimate(config).weights["fp32"] - (total - buffers) == 4 * 544_997_376  # lm_head


def test_estimate_needs_no_torch():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "qwencfg", "estimate", "qwen3.6-27b"], capture_output=True, text=True)
    assert proc.returncode == 0
    modules = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" not in modules and "transformers" not in modules


def test_bad_options_are_bad_input():
    assert run("estimate", "qwen2.5-vl-7b-instruct", "--image", "wide").exit_code == 2
    assert run("estimate", "qwen2.5-vl-7b-instruct", "--context", "0").exit_code == 2
    assert run("estimate", "qwen2.5-vl-7b-instruct", "--dtype", "fp64").exit_code == 2
