"""Retraining policies: never, on a fixed period, or when a monitor alarms."""

from __future__ import annotations

import math

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry

__all__ = ["POLICIES", "Never", "OnAlarm", "Periodic", "Policy"]

POLICIES: Registry = Registry("policy")


def _hours(owner, key, value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        raise ConfigError(key, value, "a finite number of hours > 0", owner=owner)


class Policy(Component):
    """Base: when to retrain, on how much labelled history, and how long a training job takes.

    Examples
    --------
    >>> isinstance(Periodic(period_hours=24.0), Policy), Never().retrains
    (True, False)
    """

    retrains = True

    def _check_common(self):
        owner = type(self).__name__
        _hours(owner, "window_hours", self.window_hours)
        _hours(owner, "job_hours", self.job_hours)
        if not (isinstance(self.min_rows, int) and self.min_rows >= 10):
            raise ConfigError("min_rows", self.min_rows, "an int >= 10", owner=owner)


@POLICIES.register("never")
class Never(Policy):
    """Never retrain: the model deployed at the start serves to the horizon.

    Examples
    --------
    >>> Never().retrains
    False
    """

    retrains = False

    def __init__(self):
        pass


@POLICIES.register("periodic")
class Periodic(Policy):
    """Retrain every `period_hours` on the labelled rows of the last `window_hours`.

    Parameters
    ----------
    period_hours
        Hours between training jobs.
    window_hours
        History used: rows served in this window whose labels have arrived.
    job_hours
        How long a training job runs before its model is deployed.
    min_rows
        A job with fewer labelled rows is skipped (and logged).

    Examples
    --------
    >>> Periodic(period_hours=168.0)
    Periodic(period_hours=168.0)
    """

    def __init__(
        self,
        *,
        period_hours: float,
        window_hours: float = 336.0,
        job_hours: float = 1.0,
        min_rows: int = 500,
    ):
        self.period_hours = period_hours
        self.window_hours = window_hours
        self.job_hours = job_hours
        self.min_rows = min_rows
        _hours("Periodic", "period_hours", period_hours)
        self._check_common()


@POLICIES.register("on_alarm")
class OnAlarm(Policy):
    """Retrain when the named monitor alarms, then wait `cooldown_hours` before listening again.

    Parameters
    ----------
    detector
        Name of the monitor (its entry in the scenario's monitors).
    cooldown_hours
        Hours after a deployment during which alarms are ignored.
    window_hours, job_hours, min_rows
        As for `Periodic`.

    Examples
    --------
    >>> OnAlarm(detector="score_psi", cooldown_hours=48.0).detector
    'score_psi'
    """

    def __init__(
        self,
        *,
        detector: str,
        cooldown_hours: float = 24.0,
        window_hours: float = 336.0,
        job_hours: float = 1.0,
        min_rows: int = 500,
    ):
        self.detector = detector
        self.cooldown_hours = cooldown_hours
        self.window_hours = window_hours
        self.job_hours = job_hours
        self.min_rows = min_rows
        if not isinstance(detector, str) or not detector:
            raise ConfigError("detector", detector, "a monitor's name", owner="OnAlarm")
        _hours("OnAlarm", "cooldown_hours", cooldown_hours)
        self._check_common()
