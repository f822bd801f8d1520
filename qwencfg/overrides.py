"""Typed overrides (`vision.depth=36`), applied to a config in the file's own layout.

`vision.`, `text.` and `model.` address the sections whatever the layout: in a flat file
`text.hidden_size` is the top-level key, in a nested one `text_config.hidden_size`, in a hybrid
one both. Values are coerced to the type transformers declares; the edited text keeps every
untouched byte of the original.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from .canonical import COMMON_ALIASES, Config, derived_layer_types, read_config, value_fits, value_problem
from .compare import DiffResult, diff
from .errors import BadValue, UnknownKey, WriteRefused
from .jsonedit import JsonDocument
from .layout import Layout
from .rules import Finding, Severity, findings_of
from .schema import SECTIONS, Field, Section, load_schema
from .sources import RawConfig, parse_text


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()  # the value that removes a key: apply_overrides(config, {"text.sliding_window": UNSET})

# Other names users write for a (section, key, sub-key).
PATH_ALIASES = {
    ("text", "rope_scaling"): ("text", "rope_parameters"),
    ("text", "rope_theta"): ("text", "rope_parameters", "rope_theta"),
    ("text", "partial_rotary_factor"): ("text", "rope_parameters", "partial_rotary_factor"),
}
ROPE_SUBKEY_ALIASES = {"type": "rope_type"}


@dataclass(frozen=True)
class Override:
    """One override as the user wrote it: `path` and the value's text (None with unset)."""

    path: str
    text: str | None
    unset: bool = False


@dataclass(frozen=True)
class Target:
    section: str
    key: str
    sub: str | None = None

    @property
    def path(self) -> str:
        return ".".join(p for p in (self.section, self.key, self.sub) if p)


@dataclass
class Edit:
    before: Config
    after: Config
    text: str  # the edited file
    changes: DiffResult
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    findings_before: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """Rule errors the edit brings in, as root causes (their consequences go with them)."""
        before = {(f.rule, f.message) for f in self.findings_before}
        return [f for f in self._root_errors(self.findings) if (f.rule, f.message) not in before]

    @property
    def still_broken(self) -> list[Finding]:
        """Rule errors the file had before the edit and still has (the edit is not refused for them)."""
        after = {(f.rule, f.message) for f in self.findings}
        return [f for f in self._root_errors(self.findings_before) if (f.rule, f.message) in after]

    @staticmethod
    def _root_errors(findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if f.severity is Severity.ERROR and f.cause is None]

    @property
    def changed(self) -> bool:
        return self.text != self.before.raw.text


def parse_set_arguments(words: list[str]) -> tuple[str, list[Override]]:
    """SOURCE and the overrides of `qwencfg set`, wherever SOURCE stands among them.

    Overrides are `--vision.depth 36`, `--text.hidden_size=4096`, `vision.depth=36` and
    `--unset PATH`; `--` ends the options, so a file named `-dash.json` can follow it."""
    source, overrides, i, options_done = None, [], 0, False
    while i < len(words):
        word = words[i]
        if not options_done and word.startswith("-") and word not in ("-", "--") and not _looks_like_override(word):
            raise BadValue(f"{word}: not an option of set nor an override", hint="overrides are --vision.KEY, --text.KEY or --model.KEY; a file whose name starts with - is ./NAME")
        if options_done or (not _looks_like_override(word) and word != "--"):
            if source is not None:
                raise BadValue(f"{word!r}: only one SOURCE is allowed (the first was {source!r})", hint="write overrides as --section.key VALUE")
            source = word
            i += 1
            continue
        if word == "--":
            options_done = True
            i += 1
            continue
        if word in ("--unset", "-u"):
            if i + 1 >= len(words):
                raise BadValue("--unset needs a dotted path, e.g. --unset text.sliding_window")
            overrides.append(Override(words[i + 1], None, unset=True))
            i += 2
            continue
        if word.startswith("--unset="):
            overrides.append(Override(word.split("=", 1)[1], None, unset=True))
        elif word.startswith("--") and "=" in word:
            path, text = word[2:].split("=", 1)
            overrides.append(Override(path, text))
        elif word.startswith("--"):
            if i + 1 >= len(words) or (words[i + 1].startswith("--") and not _is_negative_number(words[i + 1])):
                raise BadValue(f"{word} needs a value, e.g. {word} 36 (or --unset {word[2:]} to remove it)")
            overrides.append(Override(word[2:], words[i + 1]))
            i += 1
        elif "=" in word:
            path, text = word.split("=", 1)
            overrides.append(Override(path, text))
        i += 1
    if source is None:
        raise BadValue("missing SOURCE", hint="e.g. qwencfg set config.json --vision.depth 36")
    return source, overrides  # none at all: the file as it is (`set PRESET -o DIR/` copies a preset)


def _looks_like_override(word: str) -> bool:
    if word == "-u" or (word.startswith("--") and word != "--"):
        return True
    return "=" in word and word.split("=", 1)[0].split(".")[0] in SECTIONS


def _is_negative_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False


def resolve(config: Config, path: str) -> Target:
    """The field a dotted path names; an unknown one raises UnknownKey with the closest names."""
    parts = path.split(".")
    section = parts[0]
    if section not in SECTIONS or len(parts) < 2:
        owners = [s for s in SECTIONS if parts[0] in config.family.sections[s].fields]
        hint = f"did you mean --{owners[0]}.{path}?" if owners else "e.g. --vision.depth 36 or --text.hidden_size 4096"
        raise UnknownKey(f"{path}: an override path starts with vision., text. or model", hint=hint)
    sec = config.family.sections[section]
    key, rest = parts[1], parts[2:]
    alias = PATH_ALIASES.get((section, key))
    if alias:
        section, key, rest = alias[0], alias[1], [*alias[2:], *rest]
    key = COMMON_ALIASES.get(key) or sec.canonical_name(key)
    if key in config.inherited.get(section, ()):
        raise UnknownKey(f"{path}: in a {config.layout.value} file the {section} section takes its {key} from the top level", hint=f"set model.{key} instead")
    if key not in sec.fields and key not in config.extras[section]:
        raise UnknownKey(f"{path}: {_unknown_key_reason(config, section, key)}", hint=_suggestion(config, section, key))
    if rest:
        if key != "rope_parameters" or len(rest) != 1:
            raise UnknownKey(f"{path}: {section}.{key} has no part {'.'.join(rest)!r}", hint=f"set the whole value with --{section}.{key}")
        sub = ROPE_SUBKEY_ALIASES.get(rest[0], rest[0])
        known = load_schema().rope_parameter_kinds
        current = config.text.get("rope_parameters") or {}
        if sub not in known and sub not in current:
            close = difflib.get_close_matches(sub, list(known), n=3)
            raise UnknownKey(f"{path}: {sub!r} is not a rope parameter", hint=f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(known))}")
        return Target(section, key, sub)
    return Target(section, key)


def _unknown_key_reason(config: Config, section: str, key: str) -> str:
    others = [name for name, fam in load_schema().families.items() if key in fam.sections[section].fields and name != config.family.name]
    if others:
        return f"{key} is a {section} field of {', '.join(others)}, not of {config.family.name}"
    return f"{config.family.sections[section].class_name} has no field {key}"


def _suggestion(config: Config, section: str, key: str) -> str:
    fields = config.family.sections[section].fields
    architecture = [k for k, f in fields.items() if not f.base]  # bookkeeping fields are rarely what was meant
    close = difflib.get_close_matches(key, architecture, n=3, cutoff=0.6) or difflib.get_close_matches(key, list(fields), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"{section}.{c}" for c in close) + "?"
    elsewhere = [s for s in SECTIONS if s != section and key in config.family.sections[s].fields]
    if elsewhere:
        return f"did you mean {elsewhere[0]}.{key}?"
    return f"`qwencfg show SOURCE -s {section}` lists the {config.family.name} fields"


def target_field(config: Config, target: Target) -> Field | None:
    """The schema field a target sets (a rope parameter is a field of its own), or None for an unknown key."""
    if target.sub:
        schema = load_schema()
        kinds = schema.rope_parameter_kinds.get(target.sub, ("any",))
        choices = schema.rope_types if target.sub == "rope_type" else None
        if choices and config.family.sections["text"].mrope_means_default:
            choices = (*choices, "mrope")  # the legacy spelling these families read as "default"
        items = ("int",) if target.sub == "mrope_section" else None
        return Field(target.sub, " or ".join(kinds), kinds, None, "", False, items=items, choices=choices)
    return config.family.sections[target.section].fields.get(target.key)


def coerce(config: Config, target: Target, text: str) -> Any:
    """Parses an override's text into the type transformers declares for the target, and checks it.

    A value transformers or the model would refuse (wrong type, unknown name, a size below 1,
    NaN) raises BadValue naming the key, the value and the closest allowed values."""
    field_ = target_field(config, target)
    kinds, expected = (field_.kinds, field_.type) if field_ else (("any",), "any JSON value")
    items = field_.items if field_ else None
    candidates = _candidates(text, kinds)
    for candidate in candidates:
        if value_fits(candidate, kinds, items):
            value = float(candidate) if kinds == ("float",) and isinstance(candidate, int) else candidate
            check_value(config, target, value)
            return value
    as_list = next((c for c in candidates if isinstance(c, list)), None)
    if field_ is not None and as_list is not None and "list" in kinds:
        raise BadValue(value_problem(target.path, field_, as_list) or f"{target.path} expects {expected}", hint="nothing was written")
    raise BadValue(f"{target.path} expects {expected}, got {text!r}", hint=_example(kinds))


def check_value(config: Config, target: Target, value: Any) -> None:
    """Refuses a typed value that transformers or the model would refuse, before anything is written."""
    field_ = target_field(config, target)
    problem = value_problem(target.path, field_, value) if field_ else None
    if problem is None and target.key == "rope_parameters" and target.sub is None and isinstance(value, dict):
        for sub, item in value.items():  # the whole dict: each rope parameter as if set on its own
            check_value(config, Target(target.section, target.key, ROPE_SUBKEY_ALIASES.get(sub, sub)), item)
            if ROPE_SUBKEY_ALIASES.get(sub, sub) not in load_schema().rope_parameter_kinds:
                close = difflib.get_close_matches(sub, list(load_schema().rope_parameter_kinds), n=3)
                raise BadValue(f"{target.path}.{sub}: {sub!r} is not a rope parameter", hint=f"did you mean {', '.join(close)}?" if close else "nothing was written")
    if problem:
        raise BadValue(problem, hint="nothing was written")


def _candidates(text: str, kinds: tuple[str, ...]) -> list[Any]:
    """Readings of the text, most specific first: JSON, Python spellings, comma lists, the plain string."""
    stripped = text.strip()
    out: list[Any] = []
    try:
        out.append(json.loads(stripped, parse_constant=_refuse_constant))
    except RecursionError:
        raise BadValue(f"{text[:20]}...: nested too deeply to be a config value") from None
    except ValueError:
        pass
    lowered = stripped.lower()
    if lowered in ("none", "null"):
        out.append(None)
    if lowered in ("true", "yes", "on"):
        out.append(True)
    if lowered in ("false", "no", "off"):
        out.append(False)
    if "list" in kinds and stripped and not stripped.startswith("["):
        items = []
        for item in stripped.split(","):
            try:
                items.append(json.loads(item.strip(), parse_constant=_refuse_constant))
            except ValueError:
                items.append(item.strip())
        out.append(items)
    if "str" in kinds:
        out.append(text)
    return out


def _refuse_constant(name: str) -> Any:
    raise BadValue(f"{name} is not a finite number, and JSON has no spelling for it", hint="give a finite value")


def _example(kinds: tuple[str, ...]) -> str:
    examples = {"int": "36", "float": "1e-06", "bool": "true", "null": "null", "list": "[7,15,23,31] or 7,15,23,31", "dict": '\'{"rope_type": "default"}\'', "str": "silu"}
    return "e.g. " + " or ".join(examples[k] for k in kinds if k in examples)


def apply_overrides(config: Config, overrides: list[Override] | dict[str, Any]) -> Edit:
    """Applies overrides (typed values, or CLI text) and returns the edited config and file text."""
    pairs: list[tuple[Target, Any]] = []
    if isinstance(overrides, dict):
        for path, value in overrides.items():
            target = resolve(config, path)
            if value is not UNSET and isinstance(value, str) and not _accepts_str(config, target):
                value = coerce(config, target, value)
            elif value is not UNSET:
                check_value(config, target, value)
                if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
                    raise BadValue(f"{target.path}: {value} is not a finite number", hint="give a finite value")
            pairs.append((target, value))
    else:
        for override in overrides:
            target = resolve(config, override.path)
            pairs.append((target, UNSET if override.unset else coerce(config, target, override.text or "")))
    seen = [t.path for t, _ in pairs]
    twice = next((p for p in seen if seen.count(p) > 1), None)
    if twice:
        raise BadValue(f"{twice} is given more than once", hint="give each key one value (or one --unset)")
    writer = _JsonWriter(config)
    notes = []
    for target, value in pairs:
        notes += writer.apply(target, value)
    notes += writer.rederive_layer_types({t.key for t, _ in pairs if t.section == "text"})
    raw = parse_text(writer.doc.text, config.raw.origin)
    if raw.data != writer.data:  # a bug in the text editor must never reach a file
        raise AssertionError("edited text does not parse to the edited config")
    after = read_config(raw)
    return Edit(before=config, after=after, text=writer.doc.text, changes=diff(config, after), findings=findings_of(after), notes=notes, findings_before=findings_of(config))


def _accepts_str(config: Config, target: Target) -> bool:
    if target.sub:
        return "str" in load_schema().rope_parameter_kinds.get(target.sub, ("str",))
    field_ = config.family.sections[target.section].fields.get(target.key)
    return field_ is None or "str" in field_.kinds


class _JsonWriter:
    """Writes canonical targets into the dicts the layout names (and keeps the parsed copy in step)."""

    def __init__(self, config: Config):
        self.config = config
        self.doc = JsonDocument(config.raw.text)
        self.data = copy.deepcopy(config.raw.data)

    def _locations(self, section: str) -> list[tuple[str, ...]]:
        return self.config.sections.write_paths(self.data, section)

    def _dict_at(self, path: tuple[str, ...], create: bool) -> dict | None:
        node = self.data
        for i, key in enumerate(path):
            if not isinstance(node.get(key), dict):
                if not create:
                    return None
                if key in node:
                    raise WriteRefused(f"{'.'.join(path[: i + 1])} is {type(node[key]).__name__}, not an object; cannot write into it")
                node[key] = {}
                self.doc.set(path[: i + 1], {})
            node = node[key]
        return node

    def _spellings(self, section: Section, key: str) -> list[str]:
        spellings = [key] + [alias for alias, name in section.aliases.items() if name == key]
        spellings += [alias for alias, name in COMMON_ALIASES.items() if name == key]
        return spellings

    def _set(self, path: tuple[str, ...], value: Any) -> None:
        parent = self._dict_at(path[:-1], create=True)
        parent[path[-1]] = value
        self.doc.set(path, value)

    def _delete(self, path: tuple[str, ...]) -> bool:
        parent = self._dict_at(path[:-1], create=False)
        if parent is None or path[-1] not in parent:
            return False
        del parent[path[-1]]
        self.doc.delete(path)
        return True

    def apply(self, target: Target, value: Any) -> list[str]:
        sec = self.config.family.sections[target.section]
        locations = self._locations(target.section)
        if self.config.layout is Layout.HYBRID and target.section == "text":
            # the top-level copy is kept in step only where the file has one
            locations = [locations[0]] + [p for p in locations[1:] if self._holds(p, sec, target.key)]
        if target.key == "rope_parameters":
            for location in locations:
                self._apply_rope(location, target.sub, value)
            return []
        touched = False
        for location in locations:
            holder = self._dict_at(location, create=False) or {}
            present = [s for s in self._spellings(sec, target.key) if s in holder]
            if value is UNSET:
                touched |= any([self._delete((*location, s)) for s in present])
            else:
                for spelling in present or [target.key]:
                    self._set((*location, spelling), value)
        if value is UNSET and not touched:
            return [f"{target.path} was not set in the file; nothing to remove"]
        return []

    def _holds(self, location: tuple[str, ...], sec: Section, key: str) -> bool:
        holder = self._dict_at(location, create=False) or {}
        names = self._spellings(sec, key) + (["rope_scaling", "rope_theta"] if key == "rope_parameters" else [])
        return any(n in holder for n in names)

    def _apply_rope(self, location: tuple[str, ...], sub: str | None, value: Any) -> None:
        holder = self._dict_at(location, create=False) or {}
        # transformers reads rope_scaling over rope_parameters; a file with both gets the edit in both
        rope_keys = [k for k in ("rope_scaling", "rope_parameters") if isinstance(holder.get(k), dict)]
        if sub is None:  # the whole dict
            if value is UNSET:
                for key in ("rope_parameters", "rope_scaling", "rope_theta"):
                    self._delete((*location, key))
                return
            for rope_key in rope_keys or ["rope_parameters"]:
                self._set((*location, rope_key), value)
            if isinstance(value, dict) and "rope_theta" in value and "rope_theta" in holder:
                self._set((*location, "rope_theta"), value["rope_theta"])
            return
        spellings = [sub] + [k for k, v in ROPE_SUBKEY_ALIASES.items() if v == sub]
        if sub == "rope_theta" and "rope_theta" in holder:  # a legacy top-level rope_theta beside rope_scaling
            if value is UNSET:
                self._delete((*location, "rope_theta"))
            else:
                self._set((*location, "rope_theta"), value)
            rope_keys = [k for k in rope_keys if "rope_theta" in holder[k]]
        if not rope_keys and not (sub == "rope_theta" and "rope_theta" in holder):
            if value is not UNSET:
                self._set((*location, "rope_parameters"), {sub: value})
            return
        for rope_key in rope_keys:
            present = [s for s in spellings if s in holder[rope_key]]
            if value is UNSET:
                for s in present:
                    self._delete((*location, rope_key, s))
            else:
                for s in present or [sub]:
                    self._set((*location, rope_key, s), value)

    def rederive_layer_types(self, touched: set[str]) -> list[str]:
        """Keeps a written-out layer_types in step when the keys it derives from change."""
        sec = self.config.family.sections["text"]
        if "layer_types" in touched or "layer_types" not in sec.fields:
            return []
        notes = []
        for location in self._locations("text"):
            holder = self._dict_at(location, create=False) or {}
            written = holder.get("layer_types")
            if not isinstance(written, list):
                continue
            before = self.config.text
            family = self.config.family
            if written != derived_layer_types(before, self.config.sections.raw_section(self.config.data, "text"), family):
                continue  # hand-written: leave it, the rules say if it no longer fits
            after = read_config(RawConfig(self.config.raw.origin, json.dumps(self.data), self.data))
            derived = derived_layer_types(dict(after.text, layer_types=None), holder, family)
            if derived is not None and derived != written:
                self._set((*location, "layer_types"), derived)
                notes.append(f"text.layer_types follows the other text keys: re-derived for {len(derived)} layers")
        return notes
