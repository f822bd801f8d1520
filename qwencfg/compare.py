"""Semantic diff of two configs: what transformers would load, compared by meaning, whatever the layouts.

A flat Hub file and the same config saved by transformers 5 are identical here: both are read
into the canonical view first. A key one side leaves out compares as that family's default.
Differences that change nothing transformers loads (keys it ignores, a sub-config dtype that
from_pretrained overwrites with the top-level one) are listed apart, as having no effect.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import Any

from .canonical import BOOKKEEPING, Config, extra_has_effect
from .count import CheckpointCount, try_count_checkpoint
from .schema import SECTIONS


class ChangeKind(str, Enum):
    CHANGED = "changed"
    ADDED = "added"  # only B has it
    REMOVED = "removed"  # only A has it


class ValueOrigin(str, Enum):
    FILE = "file"  # the file sets it
    DEFAULT = "default"  # left out: the class default (or derived from other keys)
    INHERITED = "inherited"  # left out of the section, taken from the file's top level (a flat file's dtype)


# Dict-valued fields compared key by key, so a changed mrope section is one line.
NESTED_FIELDS = {"rope_parameters"}
# Sub-config dtypes: from_pretrained loads every sub-model in the top-level dtype (`_get_dtype`).
SUB_CONFIG_DTYPES = ("vision.dtype", "text.dtype")


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "text.hidden_size", "text.rope_parameters.mrope_section"
    kind: ChangeKind
    a: Any
    b: Any
    a_from: ValueOrigin = ValueOrigin.FILE
    b_from: ValueOrigin = ValueOrigin.FILE
    no_effect: str | None = None  # why transformers loads the same model either way

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.kind.value,
            "a": self.a,
            "b": self.b,
            "a_from": self.a_from.value,
            "b_from": self.b_from.value,
            "no_effect": self.no_effect,
        }


@dataclass
class DiffResult:
    a: Config
    b: Config
    all_changes: list[Change]
    only_in_a_family: list[str] = field(default_factory=list)  # fields A's family has and B's lacks
    only_in_b_family: list[str] = field(default_factory=list)
    raw: bool = False
    unmatched_ignores: list[str] = field(default_factory=list)  # --ignore patterns that matched no path

    @property
    def changes(self) -> list[Change]:
        """The differences that change what transformers loads."""
        return [c for c in self.all_changes if c.no_effect is None]

    @property
    def without_effect(self) -> list[Change]:
        return [c for c in self.all_changes if c.no_effect is not None]

    @property
    def same(self) -> bool:
        return not self.changes

    @cached_property
    def parameters(self) -> tuple[CheckpointCount | None, CheckpointCount | None]:
        """Parameter counts of A and B (None where a config cannot be counted)."""
        return try_count_checkpoint(self.a)[0], try_count_checkpoint(self.b)[0]


def compared_keys(config: Config, section: str, include_all: bool) -> set[str]:
    """Keys that carry meaning: architecture fields, dtype, unknown keys; bookkeeping only with --all."""
    fields = config.family.sections[section].fields
    keys = {k for k, f in fields.items() if not f.base or k == "dtype" or (include_all and k in config.present[section])}
    keys |= {k for k in config.extras[section] if include_all or not (k.startswith("_") or k in BOOKKEEPING)}
    return keys


def diff(a: Config, b: Config, ignore: list[str] | tuple[str, ...] = (), include_all: bool = False, raw: bool = False) -> DiffResult:
    """Compares two configs by meaning (or, with raw=True, key by key as the files stand)."""
    if raw:
        changes = _raw_changes(a.data, b.data)
        kept = [c for c in changes if not _ignored(c.path, ignore, include_all)]
        return DiffResult(a, b, kept, raw=True, unmatched_ignores=_unmatched(ignore, [c.path for c in changes]))
    changes: list[Change] = []
    paths: list[str] = []
    only_a: list[str] = []
    only_b: list[str] = []
    for section in SECTIONS:
        keys_a, keys_b = compared_keys(a, section, include_all), compared_keys(b, section, include_all)
        fields_a, fields_b = a.family.sections[section].fields, b.family.sections[section].fields
        for key in _ordered(keys_a | keys_b, fields_a, fields_b):
            path = f"{section}.{key}"
            paths += [path] + [f"{path}.{sub}" for sub in _sub_keys(a, b, section, key)]
            if _ignored(path, ignore, include_all):
                continue
            in_a, in_b = key in keys_a, key in keys_b
            if in_a and in_b:
                changes += _compare(section, key, a, b)
            elif key in fields_a and key not in b.extras[section]:
                only_a.append(path)
            elif key in fields_b and key not in a.extras[section]:
                only_b.append(path)
            elif in_a:
                changes.append(Change(path, ChangeKind.REMOVED, a.values[section][key], None, no_effect=_ignored_key(section, key)))
            else:
                changes.append(Change(path, ChangeKind.ADDED, None, b.values[section][key], no_effect=_ignored_key(section, key)))
    changes = [c for c in changes if not _ignored(c.path, ignore, include_all)]  # rope sub-keys too
    return DiffResult(a, b, [_with_effect(c, a, b) for c in changes], only_a, only_b, unmatched_ignores=_unmatched(ignore, paths))


def _sub_keys(a: Config, b: Config, section: str, key: str) -> list[str]:
    if key not in NESTED_FIELDS:
        return []
    subs = [a.values[section].get(key), b.values[section].get(key)]
    return list(dict.fromkeys(k for d in subs if isinstance(d, dict) for k in d))


def _unmatched(patterns: list[str] | tuple[str, ...], paths: list[str]) -> list[str]:
    return [p for p in patterns if not any(fnmatch.fnmatchcase(path, p) for path in paths)]


def _ignored_key(section: str, key: str) -> str | None:
    return None if extra_has_effect(section, key) else "transformers ignores this key"


def _with_effect(change: Change, a: Config, b: Config) -> Change:
    if change.no_effect is None and change.path in SUB_CONFIG_DTYPES and _same(a.model.get("dtype"), b.model.get("dtype")):
        return replace(change, no_effect=f"from_pretrained loads every part in the top-level dtype ({a.model.get('dtype')}) on both sides")
    if change.no_effect is None and change.kind is ChangeKind.CHANGED and _is_extra(change, a) and _is_extra(change, b):
        return replace(change, no_effect=_ignored_key(change.section, change.path.split(".")[1]))
    return change


def _is_extra(change: Change, config: Config) -> bool:
    return change.path.split(".")[1] in config.extras[change.section]


def _ordered(keys: set[str], fields_a: dict, fields_b: dict) -> list[str]:
    """Declared fields in class order, then unknown keys alphabetically."""
    order = list(fields_a) + [k for k in fields_b if k not in fields_a]
    return [k for k in order if k in keys] + sorted(keys - set(order))


def value_origin(config: Config, section: str, key: str) -> ValueOrigin:
    if key in config.inherited.get(section, ()):
        return ValueOrigin.INHERITED
    if key in config.present[section] or key in config.extras[section]:
        return ValueOrigin.FILE
    return ValueOrigin.DEFAULT


def _compare(section: str, key: str, a: Config, b: Config) -> list[Change]:
    va, vb = a.values[section].get(key), b.values[section].get(key)
    fa, fb = value_origin(a, section, key), value_origin(b, section, key)
    if key in NESTED_FIELDS and isinstance(va, dict) and isinstance(vb, dict):
        out = []
        for sub in list(va) + [k for k in vb if k not in va]:
            path = f"{section}.{key}.{sub}"
            if sub not in vb:
                out.append(Change(path, ChangeKind.REMOVED, va[sub], None, fa, fb))
            elif sub not in va:
                out.append(Change(path, ChangeKind.ADDED, None, vb[sub], fa, fb))
            elif not _same(va[sub], vb[sub]):
                out.append(Change(path, ChangeKind.CHANGED, va[sub], vb[sub], fa, fb))
        return out
    if _same(va, vb):
        return []
    if fa is ValueOrigin.DEFAULT and fb is ValueOrigin.DEFAULT and _derived(section, key, a, b):
        return []  # both left to transformers, which derives them from keys compared on their own
    return [Change(f"{section}.{key}", ChangeKind.CHANGED, va, vb, fa, fb)]


def _derived(section: str, key: str, a: Config, b: Config) -> bool:
    """A key both sides leave out, whose defaults differ only because other keys differ (layer_types)."""
    field_a, field_b = a.family.sections[section].fields.get(key), b.family.sections[section].fields.get(key)
    return field_a is not None and field_b is not None and _same(field_a.default, field_b.default)


def _same(x: Any, y: Any) -> bool:
    """Equal as JSON values: 0 and 0.0 are the same number, true and 1 are not."""
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(i, j) for i, j in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    return x == y


def _ignored(path: str, patterns: list[str] | tuple[str, ...], include_all: bool) -> bool:
    if not include_all and path.rsplit(".", 1)[-1] in BOOKKEEPING:
        return True
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _raw_changes(a: Any, b: Any, prefix: str = "") -> list[Change]:
    """Key-by-key differences of two JSON documents as written (nested dicts become dotted paths)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            path = f"{prefix}{key}"
            if key not in b:
                out.append(Change(path, ChangeKind.REMOVED, a[key], None))
            elif key not in a:
                out.append(Change(path, ChangeKind.ADDED, None, b[key]))
            else:
                out += _raw_changes(a[key], b[key], path + ".")
        return out
    return [] if _same(a, b) else [Change(prefix.rstrip("."), ChangeKind.CHANGED, a, b)]
