"""Schedules: how far a change has gone at time t, a weight in [0, 1].

A schedule also says how the weight is applied (``blend``): ``"mix"`` draws each row
from the new regime with probability w(t) (river's gradual drift), ``"interpolate"``
moves the parameters themselves to w(t) of the way (incremental drift).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import as_tuple, check_int, check_real

__all__ = [
    "SCHEDULES",
    "Gradual",
    "Incremental",
    "Recurring",
    "Schedule",
    "Seasonal",
    "Sequence",
    "Sudden",
    "Wander",
]

SCHEDULES: Registry[Schedule] = Registry("schedule")


def _out(w):
    """A Python float for a scalar time, an array for an array of times."""
    w = np.asarray(w, dtype=float)
    return float(w) if w.ndim == 0 else w


_SCALARS = (float, int, np.floating, np.integer)


def _scalar(t) -> float | None:
    """`t` as a Python float if it is one finite number (the engine's case), else None.

    The scalar branches of the schedules below do the same IEEE operations as their
    array branches, one number at a time, so they answer bit for bit the same weight
    without the cost of a 0-d array per operation; NaN and infinite times, and arrays,
    take the array branch.
    """
    if isinstance(t, _SCALARS) and not isinstance(t, (bool, np.bool_)):
        t = float(t)
        if math.isfinite(t):
            return t
    return None


class Schedule(Component):
    """Base: ``weight(t)`` in [0, 1] and the episodes in which it changes.

    Examples
    --------
    >>> s = Gradual(start=10.0, width=4.0)
    >>> isinstance(s, Schedule), s.blend, s.episodes(100.0)
    (True, 'mix', [(10.0, 14.0)])
    """

    blend: str = "mix"

    def weight(self, t):
        """Weight at time(s) `t` (hours); an array for an array."""
        raise NotImplementedError

    def episodes(self, horizon: float) -> list[tuple[float, float]]:
        """The (start, end) windows, within `horizon`, in which the weight moves or is on."""
        raise NotImplementedError


@SCHEDULES.register("sudden")
class Sudden(Schedule):
    """An abrupt change: 0 before `start`, 1 from `start` on.

    Parameters
    ----------
    start
        Onset in hours.

    Examples
    --------
    >>> s = Sudden(start=10.0)
    >>> s.weight(9.9), s.weight(10.0)
    (0.0, 1.0)
    """

    blend = "mix"

    def __init__(self, *, start: float):
        self.start = start
        check_real("Sudden", "start", start)

    def weight(self, t):
        x = _scalar(t)
        if x is not None:
            return 1.0 if x >= self.start else 0.0
        return _out(np.where(np.asarray(t) >= self.start, 1.0, 0.0))

    def episodes(self, horizon):
        return [(self.start, self.start)] if self.start <= horizon else []


class _Ramp(Schedule):
    def __init__(self, *, start: float, width: float):
        self.start = start
        self.width = width
        check_real(type(self).__name__, "start", start)
        check_real(type(self).__name__, "width", width, low=0.0, open_low=True)

    def _edge(self, t) -> float | None:
        """0.0 or 1.0 for a scalar time outside the ramp (the engine's common case), else None."""
        if np.ndim(t) == 0:
            if t <= self.start:
                return 0.0
            if t >= self.start + self.width:
                return 1.0
        return None

    def _scalar_u(self, t) -> float | None:
        """``_u(t)`` for one finite time, as a Python float (same operations); else None."""
        x = _scalar(t)
        if x is None:
            return None
        if x >= self.start + self.width:
            return 1.0
        u = (x - self.start) / self.width
        return 0.0 if u <= 0.0 else (1.0 if u >= 1.0 else u)

    def _u(self, t):
        # exactly 0 up to the start and exactly 1 from the end on (no rounding at the edges)
        t = np.asarray(t, dtype=float)
        u = np.clip((t - self.start) / self.width, 0.0, 1.0)
        return np.where(t >= self.start + self.width, 1.0, u)

    def episodes(self, horizon):
        if self.start > horizon:
            return []
        return [(self.start, self.start + self.width)]


@SCHEDULES.register("gradual")
class Gradual(_Ramp):
    """A gradual change: rows come from the new regime with a probability that rises as a sigmoid.

    The sigmoid is rescaled to be exactly 0 at `start` and 1 at ``start + width``,
    so the onset is a true first moment of change (river's sigmoid never reaches 0).

    Parameters
    ----------
    start
        Onset in hours.
    width
        Hours from onset until every row follows the new regime; must be > 0.

    Examples
    --------
    >>> g = Gradual(start=0.0, width=10.0)
    >>> float(g.weight(0.0)), float(g.weight(5.0)), float(g.weight(10.0))
    (0.0, 0.5, 1.0)
    """

    blend = "mix"
    _k = 8.0

    def weight(self, t):
        u = self._scalar_u(t)
        if u is not None:
            if u <= 0.0 or u >= 1.0:
                return u
            lo = 1.0 / (1.0 + math.exp(self._k / 2))
            # np.exp, not math.exp: the same exponential as the array branch, to the bit
            s = 1.0 / (1.0 + float(np.exp(-self._k * (u - 0.5))))
            return min(max((s - lo) / (1.0 - 2.0 * lo), 0.0), 1.0)
        edge = self._edge(t)
        if edge is not None:
            return edge
        u = self._u(t)
        lo = 1.0 / (1.0 + math.exp(self._k / 2))
        s = 1.0 / (1.0 + np.exp(-self._k * (u - 0.5)))
        w = np.clip((s - lo) / (1.0 - 2.0 * lo), 0.0, 1.0)  # guards an ulp either side
        return _out(np.where(u >= 1.0, 1.0, np.where(u <= 0.0, 0.0, w)))


@SCHEDULES.register("incremental")
class Incremental(_Ramp):
    """An incremental change: the parameters move linearly from old to new over `width` hours.

    Parameters
    ----------
    start
        Onset in hours.
    width
        Duration of the ramp in hours; must be > 0.

    Examples
    --------
    >>> float(Incremental(start=0.0, width=4.0).weight(1.0))
    0.25
    """

    blend = "interpolate"

    def weight(self, t):
        u = self._scalar_u(t)
        if u is not None:
            return u
        edge = self._edge(t)
        return edge if edge is not None else _out(self._u(t))


@SCHEDULES.register("recurring")
class Recurring(Schedule):
    """Switches to the new regime and back, again and again (recurring concepts).

    Parameters
    ----------
    start
        First switch, in hours.
    period
        Hours of one on/off cycle; > 0.
    duty
        Share of each period spent in the new regime, in (0, 1).
    n_cycles
        Number of cycles, or None for forever.

    Examples
    --------
    >>> r = Recurring(start=0.0, period=10.0, duty=0.3)
    >>> r.weight(2.0), r.weight(5.0), r.weight(12.0)
    (1.0, 0.0, 1.0)
    >>> r.episodes(25.0)
    [(0.0, 3.0), (10.0, 13.0), (20.0, 23.0)]
    """

    blend = "mix"

    def __init__(
        self, *, start: float, period: float, duty: float = 0.5, n_cycles: int | None = None
    ):
        self.start = start
        self.period = period
        self.duty = duty
        self.n_cycles = n_cycles
        check_real("Recurring", "start", start)
        check_real("Recurring", "period", period, low=0.0, open_low=True)
        check_real("Recurring", "duty", duty, low=0.0, high=1.0, open_low=True)
        if n_cycles is not None:
            check_int("Recurring", "n_cycles", n_cycles, 1)

    def weight(self, t):
        # the same arithmetic as `episodes` (start + k period, + duty period), so the
        # weight and the logged episodes agree to the last bit at every edge
        x = _scalar(t)
        if x is not None:
            k = float(math.floor((x - self.start) / self.period))
            if self.start + k * self.period > x:
                k = k - 1
            if self.start + (k + 1) * self.period <= x:
                k = k + 1
            begin = self.start + k * self.period
            on = k >= 0 and x >= begin and x < begin + self.duty * self.period
            if self.n_cycles is not None:
                on = on and k < self.n_cycles
            return 1.0 if on else 0.0
        t = np.asarray(t, dtype=float)
        k = np.floor((t - self.start) / self.period)
        k = np.where(self.start + k * self.period > t, k - 1, k)
        k = np.where(self.start + (k + 1) * self.period <= t, k + 1, k)
        begin = self.start + k * self.period
        on = (k >= 0) & (t >= begin) & (t < begin + self.duty * self.period)
        if self.n_cycles is not None:
            on &= k < self.n_cycles
        return _out(np.where(on, 1.0, 0.0))

    def episodes(self, horizon):
        if self.n_cycles is None and not math.isfinite(horizon):
            raise ConfigError(
                "horizon",
                horizon,
                "a finite number of hours (this schedule recurs forever; or set n_cycles)",
                owner="Recurring",
            )
        out = []
        k = 0
        while self.start + k * self.period <= horizon:
            if self.n_cycles is not None and k >= self.n_cycles:
                break
            s = self.start + k * self.period
            out.append((s, s + self.duty * self.period))
            k += 1
        return out


@SCHEDULES.register("seasonal")
class Seasonal(Schedule):
    """A periodic, smooth swing: ``w = amplitude * (1 - cos(2π (t - start) / period)) / 2``.

    Parameters
    ----------
    period
        Hours per cycle (24 for daily, 168 for weekly); > 0.
    start
        When the cycle starts (weight 0 there and before).
    amplitude
        Peak weight, in (0, 1].

    Examples
    --------
    >>> s = Seasonal(period=24.0)
    >>> float(s.weight(0.0)), float(s.weight(12.0))
    (0.0, 1.0)
    """

    blend = "interpolate"

    def __init__(self, *, period: float, start: float = 0.0, amplitude: float = 1.0):
        self.period = period
        self.start = start
        self.amplitude = amplitude
        check_real("Seasonal", "period", period, low=0.0, open_low=True)
        check_real("Seasonal", "start", start)
        check_real(
            "Seasonal", "amplitude", amplitude, low=0.0, high=1.0, open_low=True, open_high=False
        )

    def weight(self, t):
        x = _scalar(t)
        if x is not None:
            if not x >= self.start:
                return 0.0
            c = float(np.cos(2.0 * np.pi * (x - self.start) / self.period))  # numpy's cos
            return self.amplitude * (1.0 - c) / 2.0
        t = np.asarray(t, dtype=float)
        w = self.amplitude * (1.0 - np.cos(2.0 * np.pi * (t - self.start) / self.period)) / 2.0
        return _out(np.where(t >= self.start, w, 0.0))

    def episodes(self, horizon):
        return [(self.start, math.inf)] if self.start <= horizon else []


@SCHEDULES.register("wander")
class Wander(Schedule):
    """An autocorrelated wander: a stationary random path, for inputs that drift and return.

    The path is a stationary Gaussian AR(1) process on whole hours, ``z(k+1) = ρ z(k) +
    sqrt(1 - ρ²) e(k)`` with ``ρ = exp(-1 / correlation_hours)``, mapped to [0, 1] by the
    normal CDF (so the weight is uniform on [0, 1] at every hour) and joined linearly between
    hours. It is drawn from its own `seed`, not from the run's: the same path in every run,
    defined for negative hours too (the training history). Used as normal life (in an
    `Ambient` world), it makes inputs whose hours are not independent: what a detector that
    assumes independent rows flags wrongly.

    Parameters
    ----------
    correlation_hours
        How long the path remembers (the AR(1) time constant), > 0.
    seed
        The path's own seed.

    Examples
    --------
    >>> w = Wander(correlation_hours=24.0)
    >>> a, b = float(w.weight(0.0)), float(w.weight(1.0))
    >>> 0.0 <= a <= 1.0, abs(a - b) < 0.2, a == Wander(correlation_hours=24.0).weight(0.0)
    (True, True, True)
    """

    blend = "interpolate"
    _BLOCK = 4096  # hours drawn at a time

    def __init__(self, *, correlation_hours: float = 24.0, seed: int = 0):
        self.correlation_hours = correlation_hours
        self.seed = seed
        check_real("Wander", "correlation_hours", correlation_hours, low=0.0, open_low=True)
        check_int("Wander", "seed", seed, 0)
        self._paths = None

    def _grow(self, side: int, need: int) -> np.ndarray:
        """The path on hours 0, 1, ... (side 0) or 0, -1, ... (side 1), at least `need` long."""
        from scipy.signal import lfilter

        if self._paths is None:
            z0 = np.random.default_rng([self.seed, 0]).standard_normal()
            self._paths = [np.array([z0]), np.array([z0])]
        path = self._paths[side]
        rho = math.exp(-1.0 / self.correlation_hours)
        while path.size < need:  # fixed blocks, each from its own seed: one path whatever asks
            block = (path.size - 1) // self._BLOCK
            g = np.random.default_rng([self.seed, 1 + side, block])
            e = g.standard_normal(self._BLOCK) * math.sqrt(1.0 - rho * rho)
            more, _ = lfilter([1.0], [1.0, -rho], e, zi=[rho * path[-1]])
            self._paths[side] = path = np.concatenate([path, more])
        return path

    def _z(self, k: np.ndarray) -> np.ndarray:
        k = k.astype(np.int64)
        out = np.empty(k.shape)
        pos = k >= 0
        if pos.any():
            out[pos] = self._grow(0, int(k[pos].max()) + 1)[k[pos]]
        if (~pos).any():
            out[~pos] = self._grow(1, int(-k[~pos].min()) + 1)[-k[~pos]]
        return out

    def weight(self, t):
        from scipy.special import ndtr

        t = np.asarray(t, dtype=float)
        finite = np.isfinite(t)
        x = np.where(finite, t, 0.0)
        k = np.floor(x)
        frac = x - k
        z = (1.0 - frac) * self._z(k) + frac * self._z(k + 1)
        return _out(np.where(finite, ndtr(z), 0.5))

    def episodes(self, horizon):
        return [(0.0, math.inf)] if horizon >= 0.0 else []  # wandering from the start

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_paths"] = None  # redrawn on demand: the same path from the same seed
        return state


@SCHEDULES.register("sequence")
class Sequence(Schedule):
    """Schedules chained in time: the first goes 0→1, the next back 1→0, and so on.

    Drift then recovery is ``Sequence(parts=(Gradual(...), Sudden(...)))``. Parts must
    not overlap and must share one blend.

    Parameters
    ----------
    parts
        Schedules with non-overlapping episodes, in time order.

    Examples
    --------
    >>> s = Sequence(parts=(Incremental(start=0.0, width=10.0), Sudden(start=20.0)))
    >>> float(s.weight(5.0)), float(s.weight(15.0)), float(s.weight(25.0))
    (0.5, 1.0, 0.0)
    """

    def __init__(self, *, parts: tuple[Schedule, ...]):
        self.parts = parts = as_tuple("Sequence", "parts", parts, "a non-empty tuple of schedules")
        if not parts or not all(isinstance(p, Schedule) for p in parts):
            raise ConfigError("parts", parts, "a non-empty tuple of schedules", owner="Sequence")
        # a sudden step is 0 or 1, so either blend describes it
        blends = {p.blend for p in parts if not isinstance(p, Sudden)} or {"mix"}
        if len(blends) > 1:
            raise ConfigError("parts", parts, "schedules with one blend", owner="Sequence")
        bad = [p for p in parts if isinstance(p, (Recurring, Seasonal, Sequence))]
        if bad:
            raise ConfigError("parts", bad[0], "sudden, gradual or incremental", owner="Sequence")
        for a, b in itertools.pairwise(parts):
            if b.start < a.episodes(math.inf)[0][1]:
                raise ConfigError(
                    "parts",
                    b,
                    f"a part starting after the previous one ends ({a})",
                    owner="Sequence",
                )
        self.blend = blends.pop()

    def weight(self, t):
        x = _scalar(t)
        if x is not None:
            w = 0.0
            for i, part in enumerate(self.parts):
                if x >= part.start:
                    pw = part.weight(x)
                    w = pw if i % 2 == 0 else 1.0 - pw
            return w
        t = np.asarray(t, dtype=float)
        w = np.zeros_like(t)
        for i, part in enumerate(self.parts):
            pw = np.asarray(part.weight(t))
            active = t >= part.start
            w = np.where(active, pw if i % 2 == 0 else 1.0 - pw, w)
        return _out(w)

    def episodes(self, horizon):
        return [e for p in self.parts for e in p.episodes(horizon)]
