"""Rate monitors: how often something happens, against how often it happened in the reference.

A team watches rates long before it can compute a metric: the click-through rate of a
recommender (the labels that arrive are clicks on what it showed), the approval rate of a
lender (the share of scores above the cut-off). In a feedback loop these rates move
before, with or instead of the quality they stand for, which is what makes them worth
comparing with the other monitors at the same false-alarm rate.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import check_int, check_real, cusum_reflect, cusum_walk
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.detectors.scores import (
    _check_window,
    _fit_mean,
    _mean_verdict,
    _reference_scores,
    _tick_scores,
)
from simlab.errors import ConfigError, SchemaError

__all__ = ["ActionRate", "LabelRate", "ProxyCUSUM", "ProxyRate"]


def _label_bits(owner: str, labels) -> np.ndarray:
    """Binary outcomes as 0.0/1.0 floats (NaN: none, dropped); anything else is refused."""
    y = np.asarray(labels, dtype=np.float64)
    y = y[~np.isnan(y)]
    binary = (y == 0.0) | (y == 1.0)
    if not binary.all():
        bad = np.unique(y[~binary])[:5].tolist()
        raise SchemaError(f"{owner}: labels {bad} are not 0 or 1 (a rate needs binary outcomes)")
    return y


@DETECTORS.register("label_rate")
class LabelRate(BaseDetector):
    r"""The rate of positive labels among those that arrived (a CTR, a conversion rate).

    Parameters
    ----------
    alpha
        Significance level of the two-sided z-test (see Notes).
    window_size
        The statistic compares the rate over the most recent `window_size` arrived labels
        with the reference's.
    min_samples
        Until the window holds this many labels the statistic is nan and there is no alarm.

    Attributes
    ----------
    reference_mean_, reference_std_, n_reference_
        The reference's rate, the standard deviation of its 0/1 outcomes and their count.
    difference_
        The latest window rate minus the reference rate (nan before `min_samples`).

    Notes
    -----
    The statistic is ``|r̂_w − r̂_r|`` and the threshold the two-sample z-test's critical
    difference ``z_{1−α/2} s_r sqrt(1/m + 1/n)`` with ``s_r = sqrt(r̂_r (1 − r̂_r))`` (up to
    the ``n − 1`` correction) the reference's spread, the same test as `MeanConfidence`'s
    on a 0/1 value. It watches only labels that have *arrived*: in a recommender those
    are the clicks on what was shown, so it sees the business proxy a team watches, with
    the exposure bias that comes with it. NaN labels are not counted; labels other than
    0 and 1 are refused (`SchemaError`). A reference with a rate of exactly 0 or 1 has no
    spread, and any change then alarms.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> clicks = lambda p, n: View(labels=rng.random(n) < p, label_scores=np.zeros(n))
    >>> det = LabelRate(window_size=2000).fit(clicks(0.10, 5000))
    >>> round(det.reference_mean_, 3)
    0.105
    >>> det.update(clicks(0.10, 2000)).alarm, det.update(clicks(0.06, 2000)).alarm
    (False, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.LABELS, threshold="alpha", direction=-1)
    _xfail_checks: ClassVar[dict] = {
        "check_detects_shift_h1": (
            "the check flips labels that are about half positive, which leaves the positive "
            "rate where it was: a rate monitor rightly stays quiet (tests/test_proxies.py "
            "checks that it sees a change of rate)"
        )
    }

    def __init__(self, *, alpha: float = 0.01, window_size: int = 1000, min_samples: int = 100):
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("LabelRate", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("LabelRate", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        if reference.labels is None:
            raise ConfigError(
                "reference", "no labels", "a reference view with labels", owner="LabelRate"
            )
        bits = _label_bits("LabelRate", reference.labels)
        if bits.size == 0:
            raise ConfigError(
                "reference", "0 labels", "a reference view with labels", owner="LabelRate"
            )
        _fit_mean(self, bits)

    def _update(self, view: View) -> Verdict:
        if view.n_labels:
            self.window_.push(_label_bits("LabelRate", view.labels))
        return _mean_verdict(self, *self.window_.mean())

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"alpha": 0.05, "window_size": 300, "min_samples": 50}]


@DETECTORS.register("action_rate")
class ActionRate(BaseDetector):
    r"""The share of scores at or above a cut-off (an approval rate, a flag rate).

    Parameters
    ----------
    cutoff
        A row counts as acted on when its score is ``>= cutoff``.
    alpha
        Significance level of the two-sided z-test (as `LabelRate`'s).
    window_size
        The statistic compares the most recent `window_size` scores with the reference's.
    min_samples
        Until the window holds this many scores that are not NaN, there is no alarm.

    Attributes
    ----------
    reference_mean_, reference_std_, n_reference_
        The reference's share at or above the cut-off, its spread and its count.
    difference_
        The latest window share minus the reference's.

    Notes
    -----
    What a lender's dashboard shows first: the approval rate. It is a function of the
    score distribution at one point, so it misses shifts that leave that point's mass
    alone, and moves with every retraining that moves the scores (in a feedback loop,
    often the first thing to move). NaN scores are not counted; ±inf are ordinary scores.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> det = ActionRate(window_size=1000).fit(View(scores=rng.beta(2, 2, size=5000)))
    >>> round(det.reference_mean_, 2)
    0.5
    >>> det.update(View(scores=rng.beta(3, 2, size=1000))).alarm  # more approvals
    True
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="alpha", direction=-1)

    def __init__(
        self,
        *,
        cutoff: float = 0.5,
        alpha: float = 0.01,
        window_size: int = 1000,
        min_samples: int = 100,
    ):
        self.cutoff = cutoff
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("ActionRate", "cutoff", cutoff)
        check_real("ActionRate", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("ActionRate", window_size, min_samples)

    def _bits(self, scores: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(scores), np.nan, (scores >= self.cutoff).astype(np.float64))

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("ActionRate", reference, probabilities=False)
        _fit_mean(self, self._bits(scores))

    def _update(self, view: View) -> Verdict:
        self.window_.push(self._bits(_tick_scores("ActionRate", view)))
        return _mean_verdict(self, *self.window_.mean())

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"cutoff": 0.3, "alpha": 0.05, "window_size": 300, "min_samples": 50}]


def _proxy_bits(view: View) -> np.ndarray:
    """The tick's observed proxies as 0.0/1.0 (NaN: not observed, dropped); others refused."""
    if view.proxies is None:
        return np.empty(0)
    return _label_bits("proxy monitor", view.proxies)


class _WarmUp:
    """The reference rate of a proxy monitor: the reference view's proxies, or the first ones seen.

    Proxies happen after the model acts, so the rows a model is trained on rarely carry
    them; a proxy monitor then learns its reference from the first `warmup` proxies it
    sees after (re)deployment, as a team compares against the weeks after a launch.
    """

    def __init__(self, warmup: int, reference: View):
        self.need = warmup
        ref = _proxy_bits(reference)
        self.values = [ref] if ref.size else []
        self.n = int(ref.size)
        self.done = self.n > 0

    def feed(self, bits: np.ndarray) -> np.ndarray:
        """Take what the reference still needs from `bits`; return the rest (to monitor)."""
        if self.done:
            return bits
        take = min(self.need - self.n, bits.shape[0])
        self.values.append(bits[:take])
        self.n += take
        self.done = self.n >= self.need
        return bits[take:]

    def pooled(self) -> np.ndarray:
        return np.concatenate(self.values) if self.values else np.empty(0)


@DETECTORS.register("proxy_rate")
class ProxyRate(BaseDetector):
    r"""The proxy's rate over a window (a click rate, an early-payment rate) against the reference.

    Parameters
    ----------
    alpha
        Significance level of the two-sided z-test (as `LabelRate`'s).
    window_size
        The statistic compares the rate over the most recent `window_size` observed
        proxies with the reference's.
    min_samples
        Until the window holds this many proxies there is no alarm.
    warmup
        When the reference view carries no proxies, the first `warmup` proxies observed
        after `fit` are the reference (the statistic is nan meanwhile).

    Notes
    -----
    The z-test of `LabelRate` on the proxies: statistic ``|r̂_w − r̂_r|``, threshold
    ``z_{1−α/2} s_r sqrt(1/m + 1/n)``. A proxy arrives within the tick, weeks before the
    label it stands for, so with a strong tie it moves with a change of P(Y|X) that no
    label-free monitor can see; if the tie itself drifts, it moves when nothing that
    matters has (`simlab.world.TieShift`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> clicks = lambda p, n: View(proxies=(rng.random(n) < p) * 1.0)
    >>> det = ProxyRate(window_size=1000, warmup=2000).fit(View())
    >>> det.update(clicks(0.2, 2000)).alarm  # the warm-up: these are the reference
    False
    >>> det.update(clicks(0.2, 1000)).alarm, det.update(clicks(0.12, 1000)).alarm
    (False, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.PROXY, threshold="alpha", direction=-1)

    def __init__(
        self,
        *,
        alpha: float = 0.01,
        window_size: int = 1000,
        min_samples: int = 100,
        warmup: int = 1000,
    ):
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        self.warmup = warmup
        check_real("ProxyRate", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("ProxyRate", window_size, min_samples)
        check_int("ProxyRate", "warmup", warmup, 1)

    def _fit(self, reference: View) -> None:
        self.reference_ = _WarmUp(self.warmup, reference)
        self.started_ = False
        self._start_if_ready()

    def _start_if_ready(self) -> None:
        if self.reference_.done and not self.started_:
            _fit_mean(self, self.reference_.pooled())
            self.started_ = True

    def _update(self, view: View) -> Verdict:
        bits = self.reference_.feed(_proxy_bits(view))
        self._start_if_ready()
        if not self.started_:
            return Verdict(statistic=float("nan"), threshold=float("nan"), alarm=False)
        self.window_.push(bits)
        return _mean_verdict(self, *self.window_.mean())

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"alpha": 0.05, "window_size": 300, "min_samples": 50, "warmup": 200}]


@DETECTORS.register("proxy_cusum")
class ProxyCUSUM(BaseDetector):
    r"""Two-sided Bernoulli CUSUM of the proxy: its rate moving up or down by `shift`.

    Parameters
    ----------
    shift
        The change of the proxy rate to detect, up or down (absolute).
    h
        The decision interval (nats): alarm when either CUSUM exceeds it.
    warmup
        As for `ProxyRate`: the in-control rate is learned from the reference view's
        proxies, or from the first `warmup` proxies observed.

    Attributes
    ----------
    p0_
        The in-control rate.
    s_up_, s_down_
        The CUSUMs for a rise to ``p0 + shift`` and a fall to ``p0 − shift``.

    Notes
    -----
    Each CUSUM is ``S_t = max(0, S_{t−1} + x_t ln(p1/p0) + (1 − x_t) ln((1 − p1)/(1 − p0)))``
    with its own ``p1`` (clipped into (0, 1)); the statistic is the larger of the two at
    the tick's end, and the detector alarms when either exceeds `h` anywhere inside the
    tick, then both restart at 0. A tick's proxies are one vectorised scan (the walk and
    its running minimum). By Lorden's bound each side's in-control run length is at
    least ``e^h`` proxies.

    References
    ----------
    .. [1] Reynolds, M. R. & Stoumbos, Z. G. (1999). A CUSUM chart for monitoring a
       proportion when inspecting continuously. *Journal of Quality Technology* 31(1),
       87–108.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> det = ProxyCUSUM(shift=0.05).fit(View(proxies=(rng.random(5000) < 0.3) * 1.0))
    >>> round(det.p0_, 2)
    0.3
    >>> det.update(View(proxies=(rng.random(500) < 0.3) * 1.0)).alarm
    False
    >>> det.update(View(proxies=(rng.random(500) < 0.2) * 1.0)).alarm
    True
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.PROXY, threshold="h")

    def __init__(self, *, shift: float = 0.05, h: float = 8.0, warmup: int = 1000):
        self.shift = shift
        self.h = h
        self.warmup = warmup
        check_real("ProxyCUSUM", "shift", shift, low=0.0, high=1.0, open_low=True)
        check_real("ProxyCUSUM", "h", h, low=0.0, open_low=True)
        check_int("ProxyCUSUM", "warmup", warmup, 1)

    def _fit(self, reference: View) -> None:
        self.reference_ = _WarmUp(self.warmup, reference)
        self.s_up_ = self.s_down_ = 0.0
        self.n_seen_ = 0
        self.started_ = False
        self._start_if_ready()

    def _start_if_ready(self) -> None:
        if self.reference_.done and not self.started_:
            self.started_ = True
            ref = self.reference_.pooled()
            n = ref.shape[0]
            self.p0_ = min(max(float(ref.mean()), 0.5 / n), 1.0 - 0.5 / n)
            eps = 0.5 / n
            self.weights_ = []
            for p1 in (min(self.p0_ + self.shift, 1 - eps), max(self.p0_ - self.shift, eps)):
                self.weights_.append(
                    (math.log(p1 / self.p0_), math.log((1.0 - p1) / (1.0 - self.p0_)))
                )

    def _side(self, bits: np.ndarray, s: float, weights) -> tuple[float, bool]:
        hit, miss = weights
        walk = cusum_walk(np.where(bits == 1.0, hit, miss), s)
        path = cusum_reflect(walk)
        return float(path[-1]), bool((path > self.h).any())

    def _update(self, view: View) -> Verdict:
        bits = self.reference_.feed(_proxy_bits(view))
        self._start_if_ready()
        if not self.started_:
            return Verdict(statistic=float("nan"), threshold=float(self.h), alarm=False)
        alarm = False
        self.n_seen_ += bits.shape[0]
        if not self.n_seen_:  # nothing monitored yet: no statistic
            return Verdict(statistic=float("nan"), threshold=float(self.h), alarm=False)
        if bits.shape[0]:
            self.s_up_, up = self._side(bits, self.s_up_, self.weights_[0])
            self.s_down_, down = self._side(bits, self.s_down_, self.weights_[1])
            alarm = up or down
        statistic = max(self.s_up_, self.s_down_)
        if alarm:
            self.s_up_ = self.s_down_ = 0.0
        return Verdict(statistic=statistic, threshold=float(self.h), alarm=alarm)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"shift": 0.1, "h": 5.0, "warmup": 200}]
