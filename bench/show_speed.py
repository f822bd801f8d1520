"""`qwencfg show` against `AutoConfig.from_pretrained` on the same local config.json.

    python bench/show_speed.py [RUNS]

Prints both medians and the ratio (target: qwencfg at least 10x faster), then checks that
`show` on a preset, a local file and a cached Hub file imports neither torch nor transformers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ENV, PRESET_7B, compare, model_folder, qwencfg



def heavy_imports(args: list[str], env: dict) -> list[str]:
    """Modules of torch or transformers that a run of `qwencfg ARGS` imports."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "qwencfg", *args], env=env, capture_output=True, text=True)
    modules = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    return sorted({m.split(".")[0] if m.startswith("torch") else m for m in modules if m.startswith(("torch", "transformers"))})


def fake_hub_cache(folder: Path) -> dict:
    """A Hugging Face cache holding config.json of one repo, as hf_hub_download leaves it."""
    repo = folder / "hub" / "models--Qwen--Qwen2.5-VL-7B-Instruct"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    shutil.copy(PRESET_7B, repo / "snapshots" / commit / "config.json")
    return {**ENV, "HF_HOME": str(folder), "HF_HUB_OFFLINE": "1"}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as tmp:
        model = model_folder(tmp)
        print(f"show vs AutoConfig on {model / 'config.json'} (Qwen2.5-VL-7B-Instruct, flat layout)")
        result = compare(
            "qwencfg show DIR",
            qwencfg("show", str(model)),
            "AutoConfig.from_pretrained(DIR)",
            [sys.executable, "-c", f"from transformers import AutoConfig; AutoConfig.from_pretrained({str(model)!r})"],
            runs,
        )
        ratio = result["AutoConfig.from_pretrained(DIR)"]["median_s"] / result["qwencfg show DIR"]["median_s"]
        print(f"  ratio: qwencfg show is {ratio:.1f}x faster (target >= 10x)")
        cache_env = fake_hub_cache(Path(tmp) / "hf")
        print("imports of torch / transformers while showing:")
        for label, args, env in (
            ("preset", ["show", "qwen2.5-vl-7b-instruct"], ENV),
            ("local file", ["show", str(model / "config.json")], ENV),
            ("cached Hub file", ["show", "Qwen/Qwen2.5-VL-7B-Instruct"], cache_env),
            ("diff", ["diff", "qwen2.5-vl-3b-instruct", str(model)], ENV),
            ("set", ["set", str(model), "--vision.depth", "30"], ENV),
        ):
            found = heavy_imports(args, env)
            print(f"  {label:<16} {'none' if not found else ', '.join(found)}")
        print(json.dumps({"ratio": round(ratio, 2), "runs": runs}))


if __name__ == "__main__":
    main()
