"""Resolve a SOURCE argument to the exact text of a config file and where it came from.

A SOURCE is a local file, a folder holding config.json, `-` for stdin, a bundled preset
(`qwen2.5-vl-7b-instruct` or `preset:NAME`), `defaults:FAMILY`, `tiny:FAMILY`, or a Hub repo id
with an optional `@revision`. Every command reads its configs through `fetch_source()`.
"""

from __future__ import annotations

import os

from ..errors import BadValue, SourceNotFound
from .hub import Progress, fetch_hub_config
from .local import expand, lexists, read_local, read_stdin
from .presets import close_matches, is_preset, load_preset
from .raw import MAX_CONFIG_BYTES, Origin, RawConfig, parse_text

__all__ = ["MAX_CONFIG_BYTES", "Origin", "RawConfig", "fetch_source", "fetch_sources", "parse_text", "refuse_stdin_twice"]


def fetch_source(source: str, progress: Progress | None = None) -> RawConfig:
    """Returns the text and parsed JSON of the config SOURCE names; raises a QwencfgError if it can't.

    `progress(message)` is entered around slow work (the Hub fetch), e.g. to show a spinner."""
    if source == "-":
        return read_stdin()
    if source.startswith("preset:"):
        return load_preset(source.removeprefix("preset:"))
    if source.startswith(("defaults:", "tiny:")):
        from .defaults import load_defaults

        kind, _, family = source.partition(":")
        return load_defaults(family, tiny=kind == "tiny")
    path = expand(source)
    if lexists(path):
        return read_local(path)
    if is_preset(source):
        return load_preset(source)
    if looks_like_a_path(source):
        raise SourceNotFound(f"{source}: no such file or folder", hint=_not_found_hint(source))
    if "/" in source:
        return fetch_hub_config(source, progress)
    raise SourceNotFound(f"{source}: no such file, folder or preset", hint=_not_found_hint(source))


def fetch_sources(sources: list[str], progress: Progress | None = None) -> list[RawConfig]:
    """Every SOURCE of one command; standard input can be one of them, once."""
    refuse_stdin_twice(sources)
    return [fetch_source(s, progress) for s in sources]


def refuse_stdin_twice(sources: list[str] | tuple[str, ...]) -> None:
    """Standard input can be read once: `-` twice among one command's SOURCEs is bad usage."""
    if sources.count("-") > 1:
        raise BadValue("- (standard input) is given twice, but stdin can be read once", hint="save one config to a file")


def looks_like_a_path(source: str) -> bool:
    """A SOURCE that names a local file, not a Hub repo: more than owner/name, a .json name, ./ or ~.

    What follows an @ is a revision (which may hold slashes: refs/pr/1), judged by the Hub module."""
    source = source.partition("@")[0]
    return (
        source.startswith((".", "~", os.sep))
        or source.endswith((".json", os.sep))
        or source.count("/") > 1
        or (os.sep != "/" and os.sep in source)
    )


def _not_found_hint(source: str) -> str:
    close = close_matches(source)
    if close:
        return f"did you mean preset {', '.join(close)}? (`qwencfg presets` lists them)"
    if looks_like_a_path(source):
        return "check the path"
    return "give a path to config.json, a folder holding one, a preset (`qwencfg presets`) or a Hub repo id like Qwen/Qwen2.5-VL-7B-Instruct"
