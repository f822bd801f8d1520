"""Numbers people read: parameter counts, byte sizes, and the size of each weight dtype."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import BadValue


@dataclass(frozen=True)
class Dtype:
    name: str  # how the CLI spells it: bf16
    torch_name: str  # the torch dtype: bfloat16
    bits: int

    def bytes_for(self, count: int) -> int:
        """Bytes that `count` values of this dtype take (int4 packs two to a byte)."""
        return count * self.bits // 8


DTYPES = {
    d.name: d
    for d in (
        Dtype("fp32", "float32", 32),
        Dtype("bf16", "bfloat16", 16),
        Dtype("fp16", "float16", 16),
        Dtype("fp8", "float8_e4m3fn", 8),
        Dtype("int8", "int8", 8),
        Dtype("int4", "int4", 4),
    )
}
# The dtypes a model can be built in with torch (the others only exist as stored checkpoints).
BUILD_DTYPES = ("bf16", "fp16", "fp32")
# How config files spell a dtype -> ours.
DTYPE_OF_CONFIG = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "float8_e4m3fn": "fp8"}


def format_count(n: int | None) -> str:
    """8292166656 -> '8.29B (8,292,166,656)'."""
    if n is None:
        return "n/a"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix} ({n:,})"
    return f"{n:,}"


def format_bytes(n: int) -> str:
    """16584333312 -> '15.4 GiB'."""
    for scale, suffix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= scale:
            return f"{n / scale:.1f} {suffix}"
    return f"{n} B"


def layer_runs(values: list[str]) -> str:
    """A list of layer types in a few words: '28 x full_attention', or what a mixed list is made of."""
    runs: list[list] = []
    for v in values:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    if len(runs) > 4:  # an interleaved pattern: say what it is made of
        counts = {v: values.count(v) for v in dict.fromkeys(values)}
        return f"{len(values)} layers: " + ", ".join(f"{n} {v}" for v, n in counts.items())
    return " + ".join(f"{n} x {v}" for v, n in runs)


MAX_SECONDS = 10**6  # a deadline beyond this is no deadline (and beyond the clock's range)


def seconds_setting(variable: str, default: float) -> float:
    """A deadline in seconds from an environment variable (the default when it is unset)."""
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_SECONDS:
        raise BadValue(f"{variable}={text!r} is not a number of seconds up to {MAX_SECONDS:,}", hint=f"unset it, or give e.g. {default:g}")
    return seconds
