"""Every experiment script runs at its --smoke size (as Mesa's test_examples does)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXPERIMENTS = sorted((Path(__file__).parents[1] / "experiments").glob("[0-9][0-9][0-9]_*.py"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_smoke(path, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--smoke", "--workers", "1", "--out", str(tmp_path)]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    assert written, "the smoke run wrote nothing"
    assert capsys.readouterr().out.strip()


def test_every_experiment_has_committed_results():
    results = Path(__file__).parents[1] / "experiments" / "results"
    for path in EXPERIMENTS:
        folder = results / path.stem
        assert folder.is_dir(), f"{path.name} has no results under experiments/results/"
        assert (folder / "README.md").exists(), f"{folder} says not how it was made"
