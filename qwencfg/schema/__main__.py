"""python -m qwencfg.schema > qwencfg/data/schema.json"""

import json

from .build import build_schema

print(json.dumps(build_schema(), indent=1, sort_keys=True))
