"""What every source yields: the exact text of a config, parsed, and where it came from.

Every kind of source (file, stdin, preset, Hub) passes its bytes through `parse_bytes`, so the
size limit, the UTF-8 check and the JSON rules are the same wherever a config comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SourceUnreadable

# A config.json is a few KB; anything this large is a weights or tokenizer file given by mistake.
MAX_CONFIG_BYTES = 8 * 1024 * 1024


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


def too_big(label: str, size: int) -> SourceUnreadable:
    """`size` is the real size, or MAX_CONFIG_BYTES + 1 for a stream read up to the limit."""
    limit = MAX_CONFIG_BYTES // (1024 * 1024)
    said = f"is more than {limit} MiB" if size == MAX_CONFIG_BYTES + 1 else f"is {size / 1e6:.1f} MB"
    return SourceUnreadable(f"{label} {said}; a config.json is a few KB (limit {limit} MiB)", hint="is this a weights or tokenizer file?")


def parse_bytes(data: bytes, origin: Origin) -> RawConfig:
    """Checks the size and the encoding of config bytes, then parses them."""
    if len(data) > MAX_CONFIG_BYTES:
        raise too_big(origin.label, len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceUnreadable(f"{origin.label} is not UTF-8 text (byte {exc.start})", hint="is it a binary file, or saved as UTF-16?") from None
    return parse_text(text, origin)


class _Refused(ValueError):
    """A JSON construct that json.loads accepts but a config must not have."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key {key!r} appears twice in one object; transformers would silently take the last")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; give a finite value")


def parse_text(text: str, origin: Origin) -> RawConfig:
    """Parses config text; malformed JSON, repeated keys and NaN become one message each.

    A UTF-8 byte-order mark is allowed (and kept in `text`, so an edit writes it back)."""
    try:
        data = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SourceUnreadable(
            f"{origin.label}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the file, or check that SOURCE points at config.json",
        ) from None
    except _Refused as exc:
        raise SourceUnreadable(f"{origin.label}: {exc}", hint="fix the file") from None
    except RecursionError:
        raise SourceUnreadable(f"{origin.label}: JSON nested too deeply to be a config") from None
    return RawConfig(origin=origin, text=text, data=data)
