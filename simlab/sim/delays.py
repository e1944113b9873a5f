"""Label delays: how long after serving each row's label arrives (``inf``: never)."""

from __future__ import annotations

import math

import numpy as np

from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_real

__all__ = ["DELAYS", "Delay", "ExponentialDelay", "FixedDelay", "LogNormalDelay"]

DELAYS: Registry = Registry("delay")


class Delay(Component):
    """Base: ``draw(n, rng)`` gives each row's delay in hours; a share `never` never arrives.

    Examples
    --------
    >>> isinstance(FixedDelay(hours=1.0), Delay)
    True
    """

    never: float = 0.0

    def _check_never(self):
        check_real(type(self).__name__, "never", self.never, low=0.0, high=1.0, open_high=False)

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Delays in hours for `n` rows (``inf`` for labels that never arrive).

        Examples
        --------
        >>> import numpy as np
        >>> FixedDelay(hours=24.0, never=0.5).draw(4, np.random.default_rng(0)).tolist()
        [24.0, inf, inf, inf]
        """
        d = self._draw(n, rng)
        if self.never > 0:
            d = np.where(rng.random(n) < self.never, np.inf, d)
        return d

    def expected_hours(self) -> float:
        """Mean delay of the labels that do arrive."""
        raise NotImplementedError


@DELAYS.register("fixed")
class FixedDelay(Delay):
    """Every label arrives exactly `hours` after serving.

    Parameters
    ----------
    hours
        The delay (>= 0).
    never
        Share of labels that never arrive.

    Examples
    --------
    >>> FixedDelay(hours=336.0).expected_hours()
    336.0
    """

    def __init__(self, *, hours: float = 0.0, never: float = 0.0):
        self.hours = hours
        self.never = never
        check_real("FixedDelay", "hours", hours, low=0.0)
        self._check_never()

    def _draw(self, n, rng):
        return np.full(n, float(self.hours))

    def expected_hours(self):
        return float(self.hours)


@DELAYS.register("exponential")
class ExponentialDelay(Delay):
    """Exponentially distributed delays (memoryless: fraud reports, churn confirmations).

    Parameters
    ----------
    mean_hours
        Mean delay (> 0).
    never
        Share of labels that never arrive.

    Examples
    --------
    >>> import numpy as np
    >>> d = ExponentialDelay(mean_hours=10.0).draw(100000, np.random.default_rng(0))
    >>> round(float(d.mean()))
    10
    """

    def __init__(self, *, mean_hours: float = 24.0, never: float = 0.0):
        self.mean_hours = mean_hours
        self.never = never
        check_real("ExponentialDelay", "mean_hours", mean_hours, low=0.0, open_low=True)
        self._check_never()

    def _draw(self, n, rng):
        return rng.exponential(self.mean_hours, n)

    def expected_hours(self):
        return float(self.mean_hours)


@DELAYS.register("lognormal")
class LogNormalDelay(Delay):
    """Log-normal delays: most labels soon, a long tail late (loan defaults, returns).

    Parameters
    ----------
    median_hours
        Median delay (> 0).
    sigma
        Spread of log-delay (> 0).
    never
        Share of labels that never arrive.

    Examples
    --------
    >>> import numpy as np
    >>> d = LogNormalDelay(median_hours=48.0, sigma=1.0).draw(100000, np.random.default_rng(0))
    >>> round(float(np.median(d)) / 48.0, 1)
    1.0
    """

    def __init__(self, *, median_hours: float = 48.0, sigma: float = 1.0, never: float = 0.0):
        self.median_hours = median_hours
        self.sigma = sigma
        self.never = never
        check_real("LogNormalDelay", "median_hours", median_hours, low=0.0, open_low=True)
        check_real("LogNormalDelay", "sigma", sigma, low=0.0, open_low=True)
        self._check_never()

    def _draw(self, n, rng):
        return rng.lognormal(math.log(self.median_hours), self.sigma, n)

    def expected_hours(self):
        return float(self.median_hours * math.exp(self.sigma**2 / 2))
