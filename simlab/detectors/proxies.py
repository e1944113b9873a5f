"""Rate monitors: how often something happens, against how often it happened in the reference.

A team watches rates long before it can compute a metric: the click-through rate of a
recommender (the labels that arrive are clicks on what it showed), the approval rate of a
lender (the share of scores above the cut-off). In a feedback loop these rates move
before, with or instead of the quality they stand for, which is what makes them worth
comparing with the other monitors at the same false-alarm rate.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import check_real
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.detectors.scores import (
    _check_window,
    _fit_mean,
    _mean_verdict,
    _reference_scores,
    _tick_scores,
)
from simlab.errors import ConfigError, SchemaError

__all__ = ["ActionRate", "LabelRate"]


def _label_bits(owner: str, labels) -> np.ndarray:
    """Arrived labels as 0.0/1.0 floats (NaN: no label); anything else is refused."""
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
