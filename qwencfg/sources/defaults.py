"""`defaults:FAMILY`: the config a family's class gives with no arguments, from the schema."""

from __future__ import annotations

import json

from ..errors import NotAQwenConfig
from ..schema import load_schema
from .raw import Origin, RawConfig, parse_text


def load_defaults(family_name: str) -> RawConfig:
    schema = load_schema()
    family = schema.families.get(family_name)
    if family is None:
        raise NotAQwenConfig(f"defaults:{family_name}: unknown family", hint=f"choose one of: {', '.join(sorted(schema.families))}")
    text = json.dumps(family.defaults, indent=2, sort_keys=True) + "\n"
    label = f"defaults:{family_name} ({family.config_class}() of transformers {schema.transformers_version})"
    return parse_text(text, Origin(kind="defaults", label=label))
