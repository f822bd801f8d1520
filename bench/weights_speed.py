"""`validate --weights` on a multi-shard checkpoint against loading it with transformers.

    python bench/weights_speed.py [RUNS]

Writes a ~0.4B-parameter Qwen2.5-VL checkpoint (bf16, 100 MB shards) once, then times:
- qwencfg validate DIR --weights (rules, config class, meta build, and the headers);
- from_pretrained(DIR, device_map="meta") (transformers' lazy load: it still opens every shard);
- from_pretrained(DIR) (a full load into memory).
Prints medians, ratios, and the bytes each one reads from the checkpoint.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ENV, compare, qwencfg

WRITE = """
import sys, torch, transformers
from qwencfg.schema import load_schema
from qwencfg.tiny import tiny_config
from transformers.models.auto.configuration_auto import CONFIG_MAPPING
transformers.logging.set_verbosity_error()
family = load_schema().families["qwen2_5_vl"]
data = tiny_config(family, hidden_size=1024, intermediate_size=4096, num_hidden_layers=16, num_attention_heads=16,
                   num_key_value_heads=4, vocab_size=32000)
data["vision_config"].update({"hidden_size": 512, "intermediate_size": 2048, "depth": 8, "num_heads": 8, "fullatt_block_indexes": [7]})
data["text_config"]["dtype"] = "bfloat16"
model = transformers.Qwen2_5_VLForConditionalGeneration(CONFIG_MAPPING["qwen2_5_vl"].from_dict(data)).to(torch.bfloat16)
model.save_pretrained(sys.argv[1], max_shard_size="100MB")
print(sum(p.numel() for p in model.parameters()))
"""
LOAD = """
import sys, transformers
transformers.logging.set_verbosity_error()
kwargs = {"device_map": "meta"} if sys.argv[2] == "meta" else {}
model = transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(sys.argv[1], **kwargs)
print(sum(p.numel() for p in model.parameters()))
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ckpt"
        params = int(subprocess.run([sys.executable, "-c", WRITE, str(folder)], env=ENV, check=True, capture_output=True, text=True).stdout.split()[-1])
        shards = sorted(folder.glob("*.safetensors"))
        total = sum(p.stat().st_size for p in shards)
        headers = sum(8 + struct.unpack("<Q", p.read_bytes()[:8])[0] for p in shards)
        print(f"checkpoint: {params:,} parameters, {len(shards)} shards, {total / 2**20:.0f} MiB; headers {headers:,} bytes")
        ours = qwencfg("validate", str(folder), "--weights", "-f", "json")
        report = json.loads(subprocess.run(ours, env=ENV, capture_output=True, text=True).stdout)
        weights = next(s for s in report["stages"] if s["name"] == "weights")
        read = weights["details"]["checkpoint"]["header_bytes_read"]
        print(f"  qwencfg reads {read:,} bytes (the index and each shard's header); the weights stage alone takes {weights['seconds']:.3f} s ({weights['status']})")
        result = compare("qwencfg validate DIR --weights", ours, "from_pretrained(DIR, device_map='meta')", [sys.executable, "-c", LOAD, str(folder), "meta"], runs)
        full = compare("qwencfg validate DIR --weights", ours, "from_pretrained(DIR) (full load)", [sys.executable, "-c", LOAD, str(folder), "full"], max(2, runs // 2))
        for label, data in (("meta", result), ("full", full)):
            other = [k for k in data if not k.startswith("qwencfg")][0]
            print(f"  ratio vs {label}: qwencfg takes {data['qwencfg validate DIR --weights']['median_s'] / data[other]['median_s']:.2f}x the time; "
                  f"qwencfg reads {read:,} bytes, transformers {total:,}+ ({100 * read / total:.4f}%)")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
