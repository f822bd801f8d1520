"""Command-line interface: thin wrappers that call the library and hand results to `render`."""

from . import diff, estimate, presets, set, show, validate  # noqa: F401 - registers the commands
from .app import app, guard_standard_streams


def main() -> None:
    guard_standard_streams()
    app(prog_name="qwencfg")  # the same name (and completion variable) under `python -m qwencfg`
