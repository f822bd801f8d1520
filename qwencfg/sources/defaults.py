"""`defaults:FAMILY` and `tiny:FAMILY`: a family's class defaults, or the same architecture at a
size that builds in milliseconds (for trying `--device`, `--tp` and `--forward`)."""

from __future__ import annotations

import json

from ..errors import NotAQwenConfig
from ..schema import load_schema
from .raw import Origin, RawConfig, parse_text


def load_defaults(family_name: str, tiny: bool = False) -> RawConfig:
    schema = load_schema()
    prefix = "tiny" if tiny else "defaults"
    family = schema.families.get(family_name)
    if family is None:
        raise NotAQwenConfig(f"{prefix}:{family_name}: unknown family", hint=f"choose one of: {', '.join(sorted(schema.families))}")
    if tiny:
        from ..tiny import tiny_config

        data, label = tiny_config(family), f"tiny:{family_name} (a tiny {family.config_class})"
    else:
        data, label = family.defaults, f"defaults:{family_name} ({family.config_class}() of transformers {schema.transformers_version})"
    return parse_text(json.dumps(data, indent=2, sort_keys=True) + "\n", Origin(kind="defaults", label=label))
