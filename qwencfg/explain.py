"""One sentence for an exception transformers, torch or accelerate raised about a config.

A stage failure names the key and what is wrong, never an exception class or a repr: the
sentence is what people and CI reports show; the original text is kept beside it for programs.
"""

from __future__ import annotations

import re
from typing import Any

from .canonical import Config
from .schema import SECTIONS

# Prefixes of messages that name the exception instead of the problem.
_CLASS_PREFIX = re.compile(r"^(?:[\w.]*(?:Error|Exception|Warning)\s*:\s*)+")
_QUOTED = re.compile(r"[`'\"](\w+)[`'\"]")


def original_text(exc: BaseException) -> str:
    """The exception as Python prints it, for JSON and JUnit consumers."""
    return f"{type(exc).__name__}: {exc}"


def last_line(exc: BaseException) -> str:
    """The exception's last non-empty line, without the class names it starts with (at most 300 characters)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return _CLASS_PREFIX.sub("", lines[-1] if lines else "").strip()[:300]


def explain(exc: BaseException, config: Config) -> str:
    """A one-sentence reason: `section.key: what is wrong`, or what is wrong when no key is named."""
    if isinstance(exc, KeyError) and exc.args:
        path = _path_holding_value(config, exc.args[0])
        if path:
            return f"{path} {exc.args[0]!r} is not a name the modeling code knows"
        return f"the modeling code looked up {exc.args[0]!r} and found nothing"
    if isinstance(exc, ZeroDivisionError):
        return "a size the model divides by is 0"
    text = last_line(exc).rstrip(".")
    field = next((name for name in _QUOTED.findall(str(exc)) if _path_of_key(config, name)), None)
    if field:
        path = _path_of_key(config, field)
        return text if path in text else f"{path}: {text}"
    return text or "it failed without saying why"


def _path_of_key(config: Config, key: str) -> str | None:
    for section in ("text", "vision", "model"):
        if key in config.family.sections[section].fields:
            return f"{section}.{key}"
    return None


def _path_holding_value(config: Config, value: Any) -> str | None:
    for section in SECTIONS:
        for key, held in config.values[section].items():
            if held == value and isinstance(value, str):
                return f"{section}.{key}"
    return None
