"""Tensor parallelism: does each tensor the config's tp plan shards split evenly over N ranks?

The plan is transformers' own: the model's whole `tp_plan` as transformers merges it (the model
class's, the text config's, and the embedding sharding it adds), read into the schema. Heads must
split whole, not just their rows; sharded tensors cost 1/N of their bytes per rank, everything
else (the vision tower has no plan) is replicated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import prod
from typing import Any

from .canonical import Config
from .units import Dtype

# tp style -> which dimension of a weight it splits (None: replicated). Biases split with
# column-parallel weights and are replicated with row-parallel ones.
SPLIT_DIM = {
    "colwise": -2,
    "colwise_gather_output": -2,
    "packed_colwise": -2,
    "rowwise": -1,
    "rowwise_split_input": -1,
    "embedding_rowwise": 0,
    "embedding_colwise": 1,
}
# Which config value each sharded projection divides, so a failure names the key to change.
HEAD_KEYS = {
    "self_attn.q_proj": "text.num_attention_heads",
    "self_attn.o_proj": "text.num_attention_heads",
    "self_attn.k_proj": "text.num_key_value_heads",
    "self_attn.v_proj": "text.num_key_value_heads",
}


@dataclass
class ParallelCheck:
    size: int
    problems: list[str] = field(default_factory=list)
    bytes_per_rank: int = 0
    replicated_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "ok": self.ok, "bytes_per_rank": self.bytes_per_rank, "replicated_bytes": self.replicated_bytes, "problems": self.problems}


def tp_plan(config: Config) -> list[tuple[re.Pattern, str, str]]:
    """(pattern over full parameter names, style, plan key), most specific first."""
    compiled = [(re.compile("^" + re.escape(key).replace(r"\*", r"\d+") + r"(\.weight|\.bias)?$"), style, key) for key, style in config.family.tp_plan.items()]
    return sorted(compiled, key=lambda e: -len(e[2]))


def _style_of(name: str, plan: list[tuple[re.Pattern, str, str]]) -> tuple[str | None, str | None]:
    for pattern, style, key in plan:
        if pattern.match(name):
            return style, key
    return None, None


def check_tensor_parallel(config: Config, inventory: dict[str, tuple[int, ...]], sizes: list[int], dtype: Dtype) -> list[ParallelCheck]:
    """For each tp size: whether every sharded tensor splits evenly, and the bytes each rank holds."""
    plan = tp_plan(config)
    styles = {name: _style_of(name, plan) for name in inventory}
    checks = []
    for size in sizes:
        check = ParallelCheck(size)
        head_problems: dict[str, list[str]] = {}  # config key -> the projections it breaks
        for name, shape in inventory.items():
            style, key = styles[name]
            dim = SPLIT_DIM.get(style) if style else None
            if dim is not None and name.endswith(".bias") and style in ("rowwise", "rowwise_split_input"):
                dim = None
            numel = prod(shape)
            if dim is None or not shape:
                check.bytes_per_rank += dtype.bytes_for(numel)
                check.replicated_bytes += dtype.bytes_for(numel)
                continue
            if len(shape) == 1:
                dim = 0  # the bias of a column-parallel projection splits with its rows
            length = shape[dim] // 2 if style == "packed_colwise" else shape[dim]
            heads = _head_key(key)
            if heads and isinstance(config.text.get(heads), int) and config.text[heads] % size:
                projections = head_problems.setdefault(heads, [])
                if key.rsplit(".", 1)[-1] not in projections:
                    projections.append(key.rsplit(".", 1)[-1])
            elif length % size:
                problem = f"{key} ({style}): dimension {length} does not split over {size} ranks"
                if problem not in check.problems:
                    check.problems.append(problem)
            check.bytes_per_rank += dtype.bytes_for(-(-numel // size))
        check.problems[:0] = [
            f"text.{heads} {config.text[heads]} does not split over {size} ranks ({', '.join(projections)} shard by head)"
            for heads, projections in head_problems.items()
        ]
        checks.append(check)
    return checks


def _head_key(plan_key: str | None) -> str | None:
    """The text key whose heads a sharded attention projection splits (q_proj -> num_attention_heads)."""
    for suffix, path in HEAD_KEYS.items():
        if plan_key and plan_key.endswith(suffix):
            return path.split(".", 1)[1]
    return None
