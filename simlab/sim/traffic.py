"""Traffic: how many rows arrive per tick (Poisson counts around a rate that may vary)."""

from __future__ import annotations

import numpy as np

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_bool, check_real

__all__ = ["TRAFFIC", "Bursts", "Constant", "Diurnal", "Traffic"]

TRAFFIC: Registry = Registry("traffic")


class Traffic(Component):
    """Base: ``rate(t)`` rows per hour; ``counts(t, tick_hours, rng)`` rows per tick.

    Examples
    --------
    >>> isinstance(Constant(), Traffic)
    True
    """

    poisson: bool = True

    def peak_rate(self) -> float:
        """The most rows per hour this traffic ever sends (for sizing a run before it starts)."""
        return float(self.rate_per_hour)

    def rate(self, t):
        """Expected rows per hour at time(s) `t`."""
        raise NotImplementedError

    def counts(self, t: np.ndarray, tick_hours: float, rng: np.random.Generator) -> np.ndarray:
        """Rows per tick for ticks starting at `t` (Poisson, or rounded when ``poisson=False``).

        Examples
        --------
        >>> import numpy as np
        >>> Constant(rate_per_hour=10.0, poisson=False).counts(np.zeros(3), 2.0, None).tolist()
        [20, 20, 20]
        """
        lam = np.asarray(self.rate(np.asarray(t, dtype=float)), dtype=float) * tick_hours
        lam = np.broadcast_to(lam, np.shape(t))
        if self.poisson:
            return rng.poisson(lam).astype(np.int64)
        return np.rint(lam).astype(np.int64)


@TRAFFIC.register("constant")
class Constant(Traffic):
    """A constant rate of rows per hour.

    Parameters
    ----------
    rate_per_hour
        Expected rows per hour (> 0).
    poisson
        Draw Poisson counts (True) or use the rounded expectation (False).

    Examples
    --------
    >>> Constant(rate_per_hour=1000.0).rate(5.0)
    1000.0
    """

    def __init__(self, *, rate_per_hour: float = 1000.0, poisson: bool = True):
        self.rate_per_hour = rate_per_hour
        self.poisson = poisson
        check_real("Constant", "rate_per_hour", rate_per_hour, low=0.0, open_low=True)
        check_bool("Constant", "poisson", poisson)

    def rate(self, t):
        return (
            np.full(np.shape(t), float(self.rate_per_hour))[()]
            if np.ndim(t)
            else float(self.rate_per_hour)
        )


@TRAFFIC.register("diurnal")
class Diurnal(Traffic):
    """A daily cycle: ``rate · (1 + amplitude · cos(2π (t - peak_hour) / 24))``.

    Parameters
    ----------
    rate_per_hour
        Mean rows per hour (> 0).
    amplitude
        Relative swing, in [0, 1].
    peak_hour
        Hour of the day with the most traffic.
    poisson
        Poisson counts (True) or rounded expectations.

    Examples
    --------
    >>> d = Diurnal(rate_per_hour=100.0, amplitude=0.5, peak_hour=12.0)
    >>> round(float(d.rate(12.0))), round(float(d.rate(0.0)))
    (150, 50)
    """

    def __init__(
        self,
        *,
        rate_per_hour: float = 1000.0,
        amplitude: float = 0.5,
        peak_hour: float = 14.0,
        poisson: bool = True,
    ):
        self.rate_per_hour = rate_per_hour
        self.amplitude = amplitude
        self.peak_hour = peak_hour
        self.poisson = poisson
        check_real("Diurnal", "rate_per_hour", rate_per_hour, low=0.0, open_low=True)
        check_bool("Diurnal", "poisson", poisson)
        check_real("Diurnal", "amplitude", amplitude, low=0.0, high=1.0, open_high=False)
        check_real("Diurnal", "peak_hour", peak_hour, low=0.0, high=24.0)

    def peak_rate(self) -> float:
        return float(self.rate_per_hour) * (1.0 + float(self.amplitude))

    def rate(self, t):
        t = np.asarray(t, dtype=float)
        r = self.rate_per_hour * (
            1 + self.amplitude * np.cos(2 * np.pi * (t - self.peak_hour) / 24)
        )
        return float(r) if r.ndim == 0 else r


@TRAFFIC.register("bursts")
class Bursts(Traffic):
    """A base rate with periodic bursts (a campaign, a bot, a retry storm).

    Parameters
    ----------
    rate_per_hour
        Rows per hour outside bursts (> 0).
    factor
        Rate multiplier inside a burst (>= 1).
    every_hours
        Hours between burst starts (> 0).
    duration_hours
        Length of each burst (> 0, < every_hours).
    start
        First burst start.
    poisson
        Poisson counts (True) or rounded expectations.

    Examples
    --------
    >>> b = Bursts(rate_per_hour=10.0, factor=5.0, every_hours=24.0, duration_hours=2.0)
    >>> b.rate(1.0), b.rate(5.0)
    (50.0, 10.0)
    """

    def __init__(
        self,
        *,
        rate_per_hour: float = 1000.0,
        factor: float = 5.0,
        every_hours: float = 168.0,
        duration_hours: float = 2.0,
        start: float = 0.0,
        poisson: bool = True,
    ):
        self.rate_per_hour = rate_per_hour
        self.factor = factor
        self.every_hours = every_hours
        self.duration_hours = duration_hours
        self.start = start
        self.poisson = poisson
        check_real("Bursts", "rate_per_hour", rate_per_hour, low=0.0, open_low=True)
        check_bool("Bursts", "poisson", poisson)
        check_real("Bursts", "every_hours", every_hours, low=0.0, open_low=True)
        check_real("Bursts", "duration_hours", duration_hours, low=0.0, open_low=True)
        check_real("Bursts", "factor", factor, low=1.0)
        check_real("Bursts", "start", start)
        if duration_hours >= every_hours:
            raise ConfigError(
                "duration_hours",
                duration_hours,
                f"less than every_hours={every_hours}",
                owner="Bursts",
            )

    def peak_rate(self) -> float:
        return float(self.rate_per_hour) * max(1.0, float(self.factor))

    def rate(self, t):
        t = np.asarray(t, dtype=float)
        phase = (t - self.start) % self.every_hours
        on = (t >= self.start) & (phase < self.duration_hours)
        r = np.where(on, self.rate_per_hour * self.factor, float(self.rate_per_hour))
        return float(r) if r.ndim == 0 else r
