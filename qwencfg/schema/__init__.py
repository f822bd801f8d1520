"""What transformers declares for every Qwen vision-language family, without importing it.

The one source of truth is the installed transformers: `build_schema()` reads its config classes
(strict dataclasses in transformers 5) and probes them. Importing transformers costs seconds, so
the result is kept as JSON: the copy bundled in the package when the installed transformers is
the version it was built from, otherwise a copy built once and cached per transformers version.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path

from .records import BUNDLED_SCHEMA, SCHEMA_FORMAT, SECTIONS, Family, Field, LayerTypes, Schema, Section, from_json

__all__ = ["BUNDLED_SCHEMA", "SECTIONS", "Family", "Field", "LayerTypes", "Schema", "Section", "build_schema", "installed_transformers_version", "load_schema"]


def build_schema() -> dict:
    """Reads the installed transformers into the schema's JSON form (imports transformers and torch)."""
    from .build import build_schema as build

    return build()


def installed_transformers_version() -> str | None:
    """The installed transformers version, read from its dist-info folder (importlib.metadata is slow)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("transformers-") and name.endswith((".dist-info", ".egg-info")):
                return name[len("transformers-") :].rsplit(".", 1)[0]
    import importlib.metadata

    try:
        return importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return None


def _cache_dir() -> Path:
    root = os.environ.get("QWENCFG_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qwencfg"
    )
    return Path(root)


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """Returns the schema of the installed transformers, building and caching it when needed."""
    bundled = json.loads(BUNDLED_SCHEMA.read_text())
    installed = installed_transformers_version()
    if installed is None or installed == bundled["transformers_version"]:
        return from_json(bundled)
    cached = _cache_dir() / f"schema-transformers-{installed}.json"
    if cached.is_file():
        try:
            data = json.loads(cached.read_text())
            if data.get("format") == SCHEMA_FORMAT:
                return from_json(data)
        except (OSError, ValueError):
            pass  # a damaged cache is rebuilt below
    print(
        f"qwencfg: reading the config classes of transformers {installed} (once; cached in {cached.parent})",
        file=sys.stderr,
    )
    data = build_schema()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, cached)
    except OSError:
        pass  # an unwritable cache only costs speed
    return from_json(data)


