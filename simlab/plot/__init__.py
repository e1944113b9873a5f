"""Plots: matplotlib figures of Runs, each ``f(run, *, ax=None, ...) -> Axes``."""

from __future__ import annotations

from simlab.plot.timeline import format_hours, run_figure, score_heatmap, timeline

__all__ = ["format_hours", "run_figure", "score_heatmap", "timeline"]
