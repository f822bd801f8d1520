"""`qwencfg estimate` against accelerate's path to the same figures, on the same config.

    python bench/estimate_speed.py [RUNS]

accelerate's path: import transformers, build the model on the meta device, then
`calculate_maximum_sizes` and `estimate_training_usage` (what `accelerate estimate-memory` does,
without its Hub lookup). Prints both medians and the ratio (target: qwencfg well under a second).
In the torch-free install only qwencfg is timed: the baseline needs torch and accelerate.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile

from common import compare, model_folder, qwencfg, run_once


ACCELERATE = """
import sys, torch, transformers
from accelerate.utils import calculate_maximum_sizes
from accelerate.commands.estimate import estimate_training_usage
config = transformers.AutoConfig.from_pretrained(sys.argv[1])
with torch.device("meta"):
    model = transformers.AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
total, largest = calculate_maximum_sizes(model)
print(total, largest, estimate_training_usage(total, "float32"), estimate_training_usage(total, "bfloat16"))
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    with tempfile.TemporaryDirectory() as tmp:
        model = model_folder(tmp)
        ours = qwencfg("estimate", str(model), "--format", "json")
        print(f"estimate on {model / 'config.json'} (Qwen2.5-VL-7B-Instruct)")
        if importlib.util.find_spec("torch") and importlib.util.find_spec("accelerate"):
            result = compare("qwencfg estimate DIR", ours, "accelerate: meta build + calculate_maximum_sizes", [sys.executable, "-c", ACCELERATE, str(model)], runs)
            ratio = result["accelerate: meta build + calculate_maximum_sizes"]["median_s"] / result["qwencfg estimate DIR"]["median_s"]
            print(f"  ratio: qwencfg estimate is {ratio:.1f}x faster")
            print(json.dumps({"ratio": round(ratio, 2), "runs": runs, "qwencfg_median_s": round(result["qwencfg estimate DIR"]["median_s"], 3)}))
        else:
            times = sorted(run_once(ours)[0] for _ in range(runs))
            print(f"  qwencfg estimate DIR   median {times[len(times) // 2]:.3f} s ({runs} runs); torch/accelerate not installed: no baseline")


if __name__ == "__main__":
    main()
