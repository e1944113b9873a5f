"""Retraining policies: never, on a fixed period, or when a monitor alarms."""

from __future__ import annotations

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_int, check_real

__all__ = ["POLICIES", "Never", "OnAlarm", "Periodic", "Policy"]

POLICIES: Registry = Registry("policy")


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
        check_real(owner, "window_hours", self.window_hours, low=0.0, open_low=True)
        check_real(owner, "job_hours", self.job_hours, low=0.0, open_low=True)
        check_int(owner, "min_rows", self.min_rows, 10)


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
        check_real("Periodic", "period_hours", period_hours, low=0.0, open_low=True)
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
        check_real("OnAlarm", "cooldown_hours", cooldown_hours, low=0.0, open_low=True)
        self._check_common()
