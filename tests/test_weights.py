"""`validate --weights`: the config against its checkpoint's safetensors headers, with the same verdict
as `from_pretrained` on the same files, locally and through the fake Hub (headers only)."""

import json
import shutil
import struct
from pathlib import Path

import pytest

from qwencfg.count import mtp_inventory
from qwencfg.schema import load_schema
from qwencfg.tiny import tiny_config

from .conftest import run, run_process, write_json


def save_tiny(folder: Path, family: str, max_shard_size: str | None = None, **text_sizes) -> Path:
    """A tiny model of `family` with random weights, saved by transformers' save_pretrained."""
    import torch
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    data = tiny_config(load_schema().families[family], **text_sizes)
    torch.manual_seed(0)
    model = getattr(transformers, load_schema().families[family].architecture)(CONFIG_MAPPING[family].from_dict(data))
    model.save_pretrained(folder, **({"max_shard_size": max_shard_size} if max_shard_size else {}))
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    return {
        "single": save_tiny(root / "single", "qwen2_5_vl"),
        "sharded": save_tiny(root / "sharded", "qwen2_5_vl", max_shard_size="100KB"),
        "moe": save_tiny(root / "moe", "qwen3_vl_moe"),
        "hybrid_moe": save_tiny(root / "hybrid_moe", "qwen3_5_moe"),
    }


def weights_report(path, *args, runner=run) -> tuple[int, dict]:
    result = runner("validate", str(path), "--weights", *args, "-f", "json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def weights_stage(path, *args, runner=run) -> tuple[int, dict]:
    code, report = weights_report(path, *args, runner=runner)
    return code, next(s for s in report["stages"] if s["name"] == "weights")


def transformers_report(folder: Path) -> dict:
    """What from_pretrained itself reports for the same files (loading with mismatched sizes allowed)."""
    import transformers

    from qwencfg import load

    config = load(str(folder))
    model_class = getattr(transformers, config.family.architecture)
    _, info = model_class.from_pretrained(folder, output_loading_info=True, ignore_mismatched_sizes=True)
    return {"missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]), "mismatched": sorted(m[0] for m in info["mismatched_keys"])}


def edit_tensors(folder: Path, change) -> None:
    """Rewrites every safetensors file of `folder` through `change(tensors)`."""
    from safetensors.torch import load_file, save_file

    for path in folder.glob("*.safetensors"):
        tensors = load_file(path)
        change(tensors)
        save_file(tensors, path, metadata={"format": "pt"})


def same_verdict_as_transformers(folder: Path) -> dict:
    code, stage = weights_stage(folder)
    theirs = transformers_report(folder)
    ours = stage["details"]
    assert sorted(ours["missing"]) == theirs["missing"]
    assert sorted(ours["unexpected"]) == theirs["unexpected"]
    assert sorted(m["name"] for m in ours["mismatched"]) == theirs["mismatched"]
    clean = not any(theirs.values())
    assert (code == 0) is clean and (stage["status"] == "passed") is clean
    return stage


@pytest.mark.parametrize("kind", ["single", "sharded", "moe", "hybrid_moe"])
def test_an_intact_checkpoint_passes(checkpoints, kind):
    stage = same_verdict_as_transformers(checkpoints[kind])
    assert stage["summary"].startswith(f"every tensor of {checkpoints[kind]} (")
    details = stage["details"]
    assert all(c["missing"] == c["mismatched"] == c["unexpected"] == 0 for c in details["components"].values())
    _, report = weights_report(checkpoints[kind])
    assert sum(details["parameters_by_dtype"].values()) == report["parameters"]["analytic"]["checkpoint_total"]


def test_the_sharded_checkpoint_reads_headers_only(checkpoints):
    folder = checkpoints["sharded"]
    _, stage = weights_stage(folder)
    shards = sorted(p for p in folder.glob("*.safetensors"))
    assert len(shards) > 2 and stage["details"]["checkpoint"]["files"] == [p.name for p in shards]
    headers = sum(8 + struct.unpack("<Q", p.read_bytes()[:8])[0] for p in shards)
    index = (folder / "model.safetensors.index.json").stat().st_size
    assert stage["details"]["checkpoint"]["header_bytes_read"] == headers + index


@pytest.mark.parametrize("kind", ["single", "sharded"])
def test_a_config_one_vision_block_deeper_names_the_missing_block(checkpoints, tmp_path, kind):
    folder = shutil.copytree(checkpoints[kind], tmp_path / "deeper")
    assert run("set", str(folder), "--vision.depth", "3", "--vision.fullatt_block_indexes", "2", "--in-place").exit_code == 0
    stage = same_verdict_as_transformers(folder)
    assert stage["summary"] == "vision.depth 3 but the checkpoint has blocks 0–1: blocks 2 would be initialised at random"
    assert stage["details"]["components"]["vision.blocks"]["missing"] == 12


def test_a_shallower_config_names_the_blocks_it_would_drop(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["single"], tmp_path / "shallower")
    assert run("set", str(folder), "--text.num_hidden_layers", "1", "--text.max_window_layers", "1", "--in-place").exit_code == 0
    stage = same_verdict_as_transformers(folder)
    assert stage["summary"] == "text.num_hidden_layers 1 but the checkpoint has layers 0–1: layers 1 would be dropped"


def test_a_wider_mlp(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["single"], tmp_path / "wider")
    assert run("set", str(folder), "--text.intermediate_size", "160", "--in-place").exit_code == 0
    stage = same_verdict_as_transformers(folder)
    assert stage["summary"].startswith("text.intermediate_size 160 but the checkpoint has 128 there: 6 tensors differ (e.g. ")


def test_a_missing_lm_head_with_untied_embeddings(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["single"], tmp_path / "headless")
    edit_tensors(folder, lambda tensors: tensors.pop("lm_head.weight"))
    stage = same_verdict_as_transformers(folder)
    assert stage["summary"].startswith("lm_head.weight is missing and model.tie_word_embeddings is false")


def test_extra_tensors(checkpoints, tmp_path):
    import torch

    folder = shutil.copytree(checkpoints["single"], tmp_path / "extra")
    edit_tensors(folder, lambda tensors: tensors.update({"model.extra_thing.weight": torch.zeros(3), "visual.blocks.0.extra.bias": torch.zeros(2)}))
    stage = same_verdict_as_transformers(folder)
    assert "model.visual.blocks.0.extra.bias is in the checkpoint but not in this config's model: it would be dropped" in stage["summary"]


def test_a_changed_dtype_loads_but_is_reported(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["single"], tmp_path / "half")
    edit_tensors(folder, lambda tensors: tensors.update({"lm_head.weight": tensors["lm_head.weight"].half()}))
    stage = same_verdict_as_transformers(folder)
    assert stage["details"]["dtypes"]["lm_head"] == ["F16"] and stage["details"]["dtypes"]["text.layers"] == ["F32"]
    assert set(stage["details"]["parameters_by_dtype"]) == {"F16", "F32"}


def test_mtp_tensors_are_checked_against_qwencfgs_inventory(tmp_path):
    import torch

    from qwencfg import load

    folder = save_tiny(tmp_path / "mtp", "qwen3_5")
    config = json.loads((folder / "config.json").read_text())
    config["text_config"]["mtp_num_hidden_layers"] = 1
    write_json(folder / "config.json", config)
    inventory = mtp_inventory(load(str(folder)))
    edit_tensors(folder, lambda tensors: tensors.update({n: torch.zeros(s) for n, s in inventory.items()}))
    code, stage = weights_stage(folder)
    assert code == 0 and stage["details"]["mtp_tensors_found"] == len(inventory) == 15
    assert "with 15 MTP tensors as declared" in stage["summary"]
    edit_tensors(folder, lambda tensors: tensors.update({"mtp.fc.weight": torch.zeros(3, 3)}))
    code, stage = weights_stage(folder)
    assert code == 1 and stage["summary"].startswith("mtp.fc.weight: [3, 3] in the checkpoint, [64, 128] from this config")


def test_weights_from_another_folder(checkpoints, tmp_path):
    config_only = write_json(tmp_path / "finetune" / "config.json", json.loads((checkpoints["single"] / "config.json").read_text()))
    code, stage = weights_stage(config_only.parent, "--weights-from", str(checkpoints["single"]))
    assert code == 0 and stage["details"]["checkpoint"]["where"] == str(checkpoints["single"])


def test_no_checkpoint_beside_the_config(tmp_path):
    path = write_json(tmp_path / "config.json", json.loads(run("set", "qwen2.5-vl-3b-instruct", "--vision.depth", "32").stdout))
    result = run("validate", str(path), "--weights")
    assert result.exit_code == 2 and result.stderr.startswith(f"qwencfg: error: {tmp_path}: no safetensors checkpoint here")


def test_a_quantized_checkpoint_is_not_checked_rather_than_failed():
    code, stage = weights_stage("qwen3-vl-30b-a3b-instruct-fp8", "--weights-from", "/nonexistent/but/never/read")
    assert code == 0 and stage["status"] == "skipped"
    assert stage["summary"] == "not checked for fp8: its packed tensors are not compared with the config"


def test_the_hub_sends_headers_only(checkpoints, fake_hub, hub_env):
    folder = checkpoints["sharded"]
    fake_hub.add_folder("Qwen/Tiny-Sharded", folder)
    code, stage = weights_stage("Qwen/Tiny-Sharded", runner=lambda *a: run_process(*a, env=hub_env))
    assert code == 0, stage
    shards = sorted(folder.glob("*.safetensors"))
    headers = sum(8 + struct.unpack("<Q", p.read_bytes()[:8])[0] for p in shards)
    index = (folder / "model.safetensors.index.json").stat().st_size
    config = (folder / "config.json").stat().st_size
    assert fake_hub.body_bytes_sent == config + index + headers  # config.json, the index, and each shard's header
    assert stage["details"]["checkpoint"]["header_bytes_read"] == index + headers
    assert len(fake_hub.ranges) == 2 * len(shards) and all(r.split()[0].endswith(".safetensors") for r in fake_hub.ranges)
    weights = sum(p.stat().st_size for p in shards)
    assert fake_hub.body_bytes_sent < weights / 10


def test_a_single_file_hub_checkpoint(checkpoints, fake_hub, hub_env):
    fake_hub.add_folder("Qwen/Tiny", checkpoints["single"])
    code, stage = weights_stage("Qwen/Tiny", runner=lambda *a: run_process(*a, env=hub_env))
    assert code == 0 and stage["details"]["checkpoint"]["files"] == ["model.safetensors"]
