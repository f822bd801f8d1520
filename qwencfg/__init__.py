"""qwencfg: inspect, diff, edit and validate configs of Qwen vision-language models.

The library is what the CLI runs:

    from qwencfg import load, diff, apply_overrides, validate
    config = load("qwen2.5-vl-7b-instruct")          # any SOURCE the CLI takes
    config.text["hidden_size"]                         # 3584: effective values per section
"""

__version__ = "0.2.0"

from .canonical import Config, read_config  # noqa: E402
from .count import CheckpointCount, ParameterCount, count_checkpoint, count_parameters  # noqa: E402
from .errors import QwencfgError  # noqa: E402
from .sources import fetch_source, fetch_sources  # noqa: E402


def load(source: str, progress=None) -> Config:
    """Reads SOURCE (file, folder, -, preset, defaults:FAMILY or Hub repo id) into a Config."""
    return read_config(fetch_source(source, progress))


def load_all(sources: list[str], progress=None) -> list[Config]:
    """Reads several SOURCEs of one command (standard input can be one of them, once)."""
    return [read_config(raw) for raw in fetch_sources(sources, progress)]


def __getattr__(name: str):
    # The commands' modules are imported on first use, so `show` loads only what it needs.
    if name == "diff":
        from .compare import diff

        return diff
    if name in ("apply_overrides", "UNSET"):
        from . import overrides

        return getattr(overrides, name)
    if name == "validate":
        from .validation import validate

        return validate
    if name == "overview":
        from .summary import overview

        return overview
    if name == "estimate":
        from .memory import estimate

        return estimate
    raise AttributeError(name)


__all__ = [
    "UNSET", "CheckpointCount", "Config", "ParameterCount", "QwencfgError", "apply_overrides", "count_checkpoint",
    "count_parameters", "diff", "estimate", "load", "load_all", "overview", "read_config", "validate",
]
