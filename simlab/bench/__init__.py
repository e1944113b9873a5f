"""Benchmarks at scale: scenario x detector x seed grids, calibrated, scored, resumable."""

from __future__ import annotations

from simlab.bench.adapters import FunctionDetector, RiverDetector
from simlab.bench.cells import BASELINES, calibration_cell, evaluation_cell, oracle_for
from simlab.bench.grid import Grid, load_grid
from simlab.bench.report import leaderboard, leaderboard_markdown, markdown_table, summarise
from simlab.bench.runner import EXECUTORS, Progress, run_grid
from simlab.bench.store import Store, assemble

__all__ = [
    "BASELINES",
    "EXECUTORS",
    "FunctionDetector",
    "Grid",
    "Progress",
    "RiverDetector",
    "Store",
    "assemble",
    "calibration_cell",
    "evaluation_cell",
    "leaderboard",
    "leaderboard_markdown",
    "load_grid",
    "markdown_table",
    "oracle_for",
    "run_grid",
    "summarise",
]
