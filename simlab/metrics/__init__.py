"""Metrics: degradation (offline vs true vs observed) and detection (delay, lead time, alarms).

Every function is pure, takes a Run (`xarray.Dataset`) and returns a `~xarray.DataArray`;
`evaluate` gathers the detection metrics of one Run into a `~xarray.Dataset`.
"""

from __future__ import annotations

from simlab.metrics.costs import CostModel, excess_errors, oracle_cost, regret, run_cost
from simlab.metrics.degradation import degradation, label_gap, optimism
from simlab.metrics.detection import (
    CHANGE_KINDS,
    alarm_starts,
    blamed_right,
    detection_delay,
    evaluate,
    false_alarm_rate,
    false_alarms,
    first_alarm,
    harm_time,
    label_alarm_time,
    largest_window,
    lead_time,
    missed,
    onset,
)
from simlab.metrics.scoring import BASELINES, alarm_onsets, change_episodes, score

__all__ = [
    "BASELINES",
    "CHANGE_KINDS",
    "CostModel",
    "alarm_onsets",
    "alarm_starts",
    "blamed_right",
    "change_episodes",
    "degradation",
    "detection_delay",
    "evaluate",
    "excess_errors",
    "false_alarm_rate",
    "false_alarms",
    "first_alarm",
    "harm_time",
    "label_alarm_time",
    "label_gap",
    "largest_window",
    "lead_time",
    "missed",
    "onset",
    "optimism",
    "oracle_cost",
    "regret",
    "run_cost",
    "score",
]
