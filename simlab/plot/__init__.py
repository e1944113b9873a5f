"""Plots: matplotlib figures of Runs, each ``f(run, *, ax=None, ...) -> Axes``."""

from __future__ import annotations

from simlab.plot.bench import delay_vs_oracle, lead_time_distributions, lead_time_heatmap
from simlab.plot.timeline import format_hours, run_figure, score_heatmap, timeline

__all__ = [
    "delay_vs_oracle",
    "format_hours",
    "lead_time_distributions",
    "lead_time_heatmap",
    "run_figure",
    "score_heatmap",
    "timeline",
]
