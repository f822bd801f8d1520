"""`qwencfg validate` on meta and on the CPU, against plain transformers scripts.

    python bench/validate_speed.py [meta|cpu|all] [RUNS]

meta: `validate --device meta` on a 72B Qwen2.5-VL config against a script that imports
      transformers and builds the same model on meta (target: at most 1.3x its time).
cpu:  `validate --device cpu` on a ~2B config against instantiating the model class directly
      (target: at least 10x faster, peak memory at most 1.2x the bf16 weight bytes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ENV, compare, qwencfg

# The shape of Qwen/Qwen2.5-VL-72B-Instruct, as its official AWQ repo's config.json states it
# (huggingface.co/Qwen/Qwen2.5-VL-72B-Instruct-AWQ at 666b8f5). No complete copy of the bf16
# repo's file was found to bundle as a preset, so the benchmark writes it from the 7B preset.
SHAPE_72B = [
    "--text.hidden_size", "8192", "--text.intermediate_size", "29696", "--text.num_hidden_layers", "80",
    "--text.num_attention_heads", "64", "--text.num_key_value_heads", "8", "--text.max_window_layers", "80",
    "--vision.intermediate_size", "3456", "--vision.out_hidden_size", "8192",
]
# A ~2B Qwen2.5-VL: the 3B preset with 13 of its 36 decoder layers.
SHAPE_2B = ["--text.num_hidden_layers", "13"]

BUILD_ON_META = """
import sys, torch, transformers
config = transformers.AutoConfig.from_pretrained(sys.argv[1])
with torch.device("meta"):
    model = transformers.Qwen2_5_VLForConditionalGeneration(config)
print(sum(p.numel() for p in model.parameters()))
"""
BUILD_ON_CPU = """
import sys, transformers
config = transformers.AutoConfig.from_pretrained(sys.argv[1])
model = transformers.Qwen2_5_VLForConditionalGeneration(config)
print(sum(p.numel() for p in model.parameters()))
"""


def write(folder: Path, base: str, overrides: list[str]) -> Path:
    subprocess.run(qwencfg("set", base, *overrides, "-o", f"{folder}/", "--force"), env=ENV, check=True, capture_output=True)
    return folder / "config.json"


def params(path: Path) -> int:
    out = subprocess.run(qwencfg("show", str(path), "-f", "json"), env=ENV, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["parameters"]["total"]


def bench_meta(tmp: Path, runs: int) -> None:
    path = write(tmp / "72b", "qwen2.5-vl-7b-instruct", SHAPE_72B)
    print(f"validate --device meta on a 72B config ({params(path):,} parameters)")
    result = compare(
        "qwencfg validate --device meta",
        qwencfg("validate", str(path), "--device", "meta"),
        "plain script: build on meta",
        [sys.executable, "-c", BUILD_ON_META, str(path)],
        runs,
    )
    ratio = result["qwencfg validate --device meta"]["median_s"] / result["plain script: build on meta"]["median_s"]
    print(f"  ratio: qwencfg takes {ratio:.2f}x the plain script's time (target <= 1.3x)")


def bench_cpu(tmp: Path, runs: int) -> None:
    path = write(tmp / "2b", "qwen2.5-vl-3b-instruct", SHAPE_2B)
    count = params(path)
    weights = count * 2
    print(f"validate --device cpu on a ~2B config ({count:,} parameters, {weights / 2**30:.2f} GiB in bf16)")
    result = compare(
        "qwencfg validate --device cpu (bf16)",
        qwencfg("validate", str(path), "--device", "cpu", "--dtype", "bf16"),
        "instantiate the model class (fp32, random init)",
        [sys.executable, "-c", BUILD_ON_CPU, str(path)],
        runs,
    )
    ours = result["qwencfg validate --device cpu (bf16)"]
    ratio = result["instantiate the model class (fp32, random init)"]["median_s"] / ours["median_s"]
    print(f"  ratio: qwencfg is {ratio:.1f}x faster (target >= 10x)")
    print(f"  peak memory: {ours['peak_rss'] / weights:.2f}x the bf16 weight bytes (target <= 1.2x)")


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        if which in ("meta", "all"):
            bench_meta(Path(tmp), runs)
        if which in ("cpu", "all"):
            bench_cpu(Path(tmp), max(2, runs // 2))


if __name__ == "__main__":
    main()
