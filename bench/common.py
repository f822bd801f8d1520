"""Shared by the benchmarks: run a command N times in fresh processes, report medians."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PRESET_7B = Path(__file__).resolve().parents[1] / "qwencfg" / "data" / "presets" / "qwen2.5-vl-7b-instruct.json"

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "NO_COLOR": "1"}


def run_once(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident memory (bytes) of one run of `cmd`."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    return seconds, peak_kib * 1024


def compare(label_a: str, cmd_a: list[str], label_b: str, cmd_b: list[str], runs: int) -> dict:
    """Interleaves runs of A and B (after one warm-up each) so drift hits both alike."""
    run_once(cmd_a)
    run_once(cmd_b)
    times = {label_a: [], label_b: []}
    peaks = {label_a: [], label_b: []}
    for _ in range(runs):
        for label, cmd in ((label_a, cmd_a), (label_b, cmd_b)):
            seconds, peak = run_once(cmd)
            times[label].append(seconds)
            peaks[label].append(peak)
    result = {label: {"median_s": statistics.median(t), "min_s": min(t), "peak_rss": max(peaks[label])} for label, t in times.items()}
    for label in (label_a, label_b):
        r = result[label]
        print(f"  {label:<48} median {r['median_s']:.3f} s   min {r['min_s']:.3f} s   peak RSS {r['peak_rss'] / 2**30:.2f} GiB   ({runs} runs)")
    return result


def qwencfg(*args: str) -> list[str]:
    return [sys.executable, "-m", "qwencfg", *args]


def model_folder(tmp: str) -> Path:
    """A model folder in `tmp` holding the Qwen2.5-VL-7B-Instruct config.json (flat layout)."""
    model = Path(tmp) / "model"
    model.mkdir()
    shutil.copy(PRESET_7B, model / "config.json")
    return model
