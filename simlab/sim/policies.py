"""Retraining policies: never, on a fixed period, or when a monitor alarms.

Each policy owns its waiting: ``wait(env, alarms)`` is a simpy generator that returns when the
next training job should start, and ``rest(env)`` one that runs after each job (a cool-down).
The engine's retraining process only calls them; it never asks what kind of policy it has.
"""

from __future__ import annotations

import math

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

    def wait(self, env, alarms):
        """Wait (a simpy generator) until the next training job should start.

        `alarms` is the run's alarm bus: ``alarms.next(name)`` is an event that succeeds at the
        next tick at which monitor `name` alarms.
        """
        yield env.event()  # a base policy never starts a job

    def rest(self, env):
        """Wait (a simpy generator) after a training job, before waiting for the next."""
        yield from ()

    def _check_common(self):
        owner = type(self).__name__
        # a million hours (over a century) bounds every duration: enough for any run
        check_real(owner, "window_hours", self.window_hours, low=0.0, high=1e6, open_low=True)
        check_real(owner, "job_hours", self.job_hours, low=0.0, high=1e6, open_low=True)
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
        check_real("Periodic", "period_hours", period_hours, low=0.0, high=1e6, open_low=True)
        self._check_common()

    def wait(self, env, alarms):
        """Jobs start on a fixed grid: ``period_hours``, twice that, ..."""
        next_start = (math.floor(env.now / self.period_hours + 1e-9) + 1) * self.period_hours
        yield env.timeout(next_start - env.now)


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
        check_real("OnAlarm", "cooldown_hours", cooldown_hours, low=0.0, high=1e6, open_low=True)
        self._check_common()

    def wait(self, env, alarms):
        """Until the named monitor alarms."""
        yield alarms.next(self.detector)

    def rest(self, env):
        """Alarms are ignored for `cooldown_hours` after each job (run, skipped or failed)."""
        yield env.timeout(self.cooldown_hours)
