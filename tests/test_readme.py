"""Every Python block in the README runs, and every command it shows works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def simlab_commands():
    lines = re.findall(r"^simlab [^\n#]*", README.read_text(), flags=re.M)
    return [shlex.split(line.strip())[1:] for line in lines]


@pytest.mark.parametrize("code", python_blocks())
def test_readme_python_runs(code, capsys):
    exec(compile(code, str(README), "exec"), {})
    assert capsys.readouterr().out.strip()  # every example shows its result


@pytest.mark.parametrize("argv", simlab_commands(), ids=lambda a: " ".join(a[:2]))
def test_readme_commands_work(argv, tmp_path, monkeypatch):
    from simlab.cli import main

    monkeypatch.chdir(ROOT)  # the README's paths are relative to the repository
    if "--out" in argv:
        argv = [*argv[: argv.index("--out") + 1], str(tmp_path / "out")]
    assert main(argv) == 0


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make demo" in text
    assert "make test" in text
