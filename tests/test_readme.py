"""Every Python block in the README runs, and every command it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("code", python_blocks())
def test_readme_python_runs(code, capsys):
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "lead_hours" in out


def test_readme_commands_are_real(tmp_path):
    from simlab.cli import main

    text = README.read_text()
    assert "make demo" in text
    assert "make test" in text
    for line in re.findall(r"^simlab (list|show \S+)", text, flags=re.M):
        assert main(line.split()) == 0
