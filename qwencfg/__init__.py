"""qwencfg: inspect, diff, edit and validate configs of Qwen vision-language models.

The library is what the CLI runs:

    from qwencfg import load, diff, apply_overrides, validate
    config = load("qwen2.5-vl-7b-instruct")          # any SOURCE the CLI takes
    config.text["hidden_size"]                         # 3584: effective values per section
"""

__version__ = "0.1.0"

from .canonical import Config, read_config  # noqa: E402
from .count import ParameterCount, count_parameters  # noqa: E402
from .errors import QwencfgError  # noqa: E402
from .sources import fetch_source  # noqa: E402


def load(source: str) -> Config:
    """Reads SOURCE (file, folder, -, preset, defaults:FAMILY or Hub repo id) into a Config."""
    return read_config(fetch_source(source))


def __getattr__(name: str):
    # diff, apply_overrides and validate live in their own modules, imported on first use.
    if name == "diff":
        from .compare import diff

        return diff
    if name in ("apply_overrides", "UNSET"):
        from . import overrides

        return getattr(overrides, name)
    if name == "validate":
        from .validation import validate

        return validate
    raise AttributeError(name)


__all__ = ["UNSET", "Config", "ParameterCount", "QwencfgError", "apply_overrides", "count_parameters", "diff", "load", "read_config", "validate"]
