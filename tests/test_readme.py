"""Every `$ qwencfg ...` example in README.md and docs/ shows the real output of that command.

The examples of one file run in order in one folder (later ones use files earlier ones write), as a
newcomer would type them. QWENCFG_UPDATE_SNAPSHOTS=1 rewrites the outputs in the files.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest

from .conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```console\n\$ (?P<command>[^\n]+)\n(?P<output>.*?)```", re.S)
# Figures that change from run to run: stage times in tables and in JSON.
TIMINGS = [(re.compile(r"\b\d+\.\d\ds\b"), "0.00s"), (re.compile(r'"seconds": \d+(\.\d+)?'), '"seconds": 0.0')]


def run_example(command: str, cwd) -> str:
    args = shlex.split(command)
    assert args[0] == "qwencfg"
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "qwencfg", *args[1:]], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    output = proc.stdout
    for pattern, replacement in TIMINGS:
        output = pattern.sub(replacement, output)
    return output


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_show_their_real_output(page, tmp_path):
    text = page.read_text()
    blocks = list(BLOCK.finditer(text))
    updated, position, mismatches = [], 0, []
    for block in blocks:
        output = run_example(block.group("command"), tmp_path)
        if output != block.group("output"):
            mismatches.append(block.group("command"))
        updated.append(text[position : block.start("output")] + output)
        position = block.end("output")
    updated.append(text[position:])
    if os.environ.get("QWENCFG_UPDATE_SNAPSHOTS"):
        page.write_text("".join(updated))
        return
    assert mismatches == [], f"{page.name}: examples out of date; rerun with QWENCFG_UPDATE_SNAPSHOTS=1"


def test_the_readme_is_a_newcomers_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 300
    assert "python -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 -e '.[build,test]' && python -m pytest" in lines
    run_ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install torch==2.13.0 -e '.[build,test]' && python -m pytest" in run_ci
    for link in re.findall(r"\]\((docs/[^)]+)\)", "\n".join(lines)):
        assert (ROOT / link).is_file(), link


def test_the_python_api_page_runs():
    code = "\n".join(re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "python-api.md").read_text(), re.S))
    assert "apply_overrides" in code
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
