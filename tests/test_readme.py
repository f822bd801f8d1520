"""Every `$ qwencfg ...` example in README.md shows the real output of that command.

The examples run in order in one folder (later ones use files earlier ones write), as a newcomer
would type them. QWENCFG_UPDATE_SNAPSHOTS=1 rewrites the outputs in README.md.
"""

import os
import re
import shlex
import subprocess
import sys

from .conftest import ROOT

README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n\$ (?P<command>[^\n]+)\n(?P<output>.*?)```", re.S)
TIMINGS = re.compile(r"\b\d+\.\d\ds\b")


def run_example(command: str, cwd) -> str:
    args = shlex.split(command)
    assert args[0] == "qwencfg"
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "qwencfg", *args[1:]], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    return TIMINGS.sub("0.00s", proc.stdout)


def test_readme_examples_show_their_real_output(tmp_path):
    text = README.read_text()
    blocks = list(BLOCK.finditer(text))
    assert len(blocks) >= 10
    updated, position, mismatches = [], 0, []
    for block in blocks:
        output = run_example(block.group("command"), tmp_path)
        if output != block.group("output"):
            mismatches.append(block.group("command"))
        updated.append(text[position : block.start("output")] + output)
        position = block.end("output")
    updated.append(text[position:])
    if os.environ.get("QWENCFG_UPDATE_SNAPSHOTS"):
        README.write_text("".join(updated))
        return
    assert mismatches == [], "README examples out of date; rerun with QWENCFG_UPDATE_SNAPSHOTS=1"
