"""Turn results into text: rich tables for people, JSON for programs, markdown for pull requests."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import Any

from rich.console import Console


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


def stdout_console() -> Console:
    """The console results go to: colour only on a terminal (and never with NO_COLOR), wide when piped."""
    terminal = sys.stdout.isatty()
    width = None if terminal else int(os.environ.get("COLUMNS", "140"))
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False, emoji=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False)


def spinner(message: str):
    """A spinner on stderr while something slow runs; nothing when stderr is not a terminal."""
    from contextlib import nullcontext

    return stderr_console().status(message) if sys.stderr.isatty() else nullcontext()


def format_value(value: Any, limit: int = 60) -> str:
    """A value in JSON spelling, with runs in long lists collapsed (`28 x "full_attention"`)."""
    if isinstance(value, list) and len(value) > 2 and all(isinstance(v, str) for v in value) and len(set(value)) < len(value):
        return _runs(value)
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _runs(values: list[str]) -> str:
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


def format_count(n: int | None) -> str:
    """8292166656 -> '8.29B (8,292,166,656)'."""
    if n is None:
        return "n/a"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix} ({n:,})"
    return f"{n:,}"


def format_bytes(n: int) -> str:
    for scale, suffix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= scale:
            return f"{n / scale:.1f} {suffix}"
    return f"{n} B"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
