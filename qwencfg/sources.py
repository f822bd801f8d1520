"""Resolve a SOURCE argument to the exact text of a config file and where it came from.

A SOURCE is a local file, a folder holding config.json, `-` for stdin, a bundled preset
(`qwen2.5-vl-7b-instruct` or `preset:NAME`), `defaults:FAMILY`, or a Hub repo id with an
optional `@revision`. Every command reads its configs through `fetch_source()`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NotAQwenConfig, SourceNotFound, SourceUnreadable

# A config.json is a few KB; anything this large is a weights or tokenizer file given by mistake.
MAX_CONFIG_BYTES = 8 * 1024 * 1024
HUB_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[^\s@]+)?$")


@dataclass(frozen=True)
class Origin:
    kind: str  # file | stdin | preset | defaults | hub
    label: str  # how messages and headers name it
    path: Path | None = None  # the local file, when there is one
    repo_id: str | None = None
    revision: str | None = None
    commit: str | None = None
    from_cache: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label}
        if self.path is not None:
            out["path"] = str(self.path)
        for key in ("repo_id", "revision", "commit"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.kind == "hub":
            out["from_cache"] = self.from_cache
        return out


@dataclass(frozen=True)
class RawConfig:
    origin: Origin
    text: str
    data: Any


def fetch_source(source: str) -> RawConfig:
    """Returns the text and parsed JSON of the config SOURCE names; raises a QwencfgError if it can't."""
    from . import presets

    if source == "-":
        return parse_text(_read_stdin(), Origin(kind="stdin", label="<stdin>"))
    if source.startswith("preset:"):
        return presets.load_preset(source.removeprefix("preset:"))
    if source.startswith("defaults:"):
        return _defaults(source.removeprefix("defaults:"))
    path = Path(source).expanduser()
    if path.exists():
        return _read_local(path)
    if presets.is_preset(source):
        return presets.load_preset(source)
    if HUB_REPO_ID.match(source) and not source.startswith((".", "/", "~")):
        from .hub import fetch_hub_config

        return fetch_hub_config(source)
    raise SourceNotFound(f"{source}: no such file, folder or preset", hint=_not_found_hint(source))


def _not_found_hint(source: str) -> str:
    from . import presets

    close = presets.close_matches(source)
    if close:
        return f"did you mean preset {', '.join(close)}? (`qwencfg presets` lists them)"
    return "give a path to config.json, a folder holding one, a preset (`qwencfg presets`) or a Hub repo id like Qwen/Qwen2.5-VL-7B-Instruct"


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise SourceUnreadable(_too_big("<stdin>", len(data)))
    return _decode(data, "<stdin>")


def _read_local(path: Path) -> RawConfig:
    if path.is_dir():
        candidate = path / "config.json"
        if not candidate.is_file():
            raise SourceNotFound(f"{path}: folder has no config.json", hint="point at the model folder or the JSON file itself")
        path = candidate
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise SourceUnreadable(_too_big(str(path), size))
        data = path.read_bytes()
    except PermissionError:
        raise SourceUnreadable(f"{path}: permission denied", hint="check the file's permissions") from None
    except IsADirectoryError:
        raise SourceUnreadable(f"{path}: is a folder") from None
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from None
    return parse_text(_decode(data, str(path)), Origin(kind="file", label=str(path), path=path))


def _too_big(label: str, size: int) -> str:
    return (
        f"{label} is {size / 1e6:.1f} MB; a config.json is a few KB (limit {MAX_CONFIG_BYTES // (1024 * 1024)} MiB). "
        "Is this a weights or tokenizer file?"
    )


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceUnreadable(f"{label} is not UTF-8 text (byte {exc.start})", hint="is it a binary file?") from None


def parse_text(text: str, origin: Origin) -> RawConfig:
    """Parses config text; malformed JSON becomes one message with the line and column."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceUnreadable(
            f"{origin.label}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the file, or check that SOURCE points at config.json",
        ) from None
    except RecursionError:
        raise SourceUnreadable(f"{origin.label}: JSON nested too deeply to be a config") from None
    return RawConfig(origin=origin, text=text, data=data)


def _defaults(family_name: str) -> RawConfig:
    from .schema import load_schema

    schema = load_schema()
    family = schema.families.get(family_name)
    if family is None:
        raise NotAQwenConfig(
            f"defaults:{family_name}: unknown family", hint=f"choose one of: {', '.join(sorted(schema.families))}"
        )
    text = json.dumps(family.defaults, indent=2, sort_keys=True) + "\n"
    return RawConfig(
        origin=Origin(kind="defaults", label=f"defaults:{family_name} ({family.config_class}() of transformers {schema.transformers_version})"),
        text=text,
        data=json.loads(text),
    )
