"""Prediction-score monitors: watch the model's outputs, which need no labels.

Every monitor here compares the last `window_size` scores served with the scores of its
reference (the model's held-out rows), through one statistic and one threshold: the
distribution (`ScorePSI`, `ScoreKS`), how confident the model is (`MeanConfidence`,
`ScoreEntropy`), the shape of the score histogram (`HistogramShape`), and the accuracy
those scores promise if they are calibrated (`CBPE`, which also reads the reference's
labels when it is fitted). None of them reads a label at run time, so each can warn
before the labels arrive, and each says nothing by itself about P(Y|X).

**Missing scores** (NaN: the serving request failed) take a place in the window but carry
no value: the distribution and confidence monitors test the scores that exist (their
``min_samples`` counts those), while `CBPE` counts a failed prediction as a wrong one, as
`simlab.scoring` does, so a broken pipeline lowers the accuracy it estimates. Scores must be
probabilities in [0, 1] except for `ScorePSI` and `ScoreKS`, which compare any numbers (a
regressor's predictions too).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy.special import entr, ndtri

from simlab.detectors._kernels import (
    PSI_EPS,
    BucketSearch,
    CodeWindow,
    ECDFCoder,
    KSDistance,
    NumericBinner,
    Ring,
    _as_float,
    bincount_2d,
    check_int,
    check_real,
    check_some_finite,
    ks_critical,
    psi_from_counts,
)
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError, SchemaError
from simlab.scoring import CUTOFF, row_values

__all__ = ["CBPE", "HistogramShape", "MeanConfidence", "ScoreEntropy", "ScoreKS", "ScorePSI"]


@DETECTORS.register("score_psi")
class ScorePSI(BaseDetector):
    """Population stability index of the model's scores: the sliding window against the reference.

    Parameters
    ----------
    n_bins
        Quantile bins of the reference scores (tied quantiles merge bins).
    threshold
        Alarm when the PSI exceeds it.
    window_size
        The statistic compares the most recent `window_size` scores with the reference.
    min_samples
        Until the window holds this many scores the statistic is nan and there is no alarm.

    Attributes
    ----------
    binner_
        The quantile bins of the reference scores, plus a missing bin for NaN.
    reference_props_
        Reference proportions per bin.
    counts_
        Window counts per bin.
    window_
        The window's bin codes (a ring buffer) and their counts.
    search_
        Bins a tick's scores (a `BucketSearch` over the bins' edges).

    Notes
    -----
    The same statistic as `PSI` on one numeric column, the score:
    ``Σ (p_i − q_i) ln(p_i / q_i)`` with proportions floored at ε = 1e-4. A view with
    no rows leaves the window as it is. A shift in the scores can come from covariate
    drift, from the serving pipeline, or from a new model version; it says nothing by
    itself about accuracy (the concept may not have moved), which is why it is
    compared with the label-based monitors.

    References
    ----------
    .. [1] Yurdakul, B. (2018). *Statistical Properties of Population Stability Index*.
       PhD dissertation, Western Michigan University.
    .. [2] Breck, E., Cai, S., Nielsen, E., Salib, M. & Sculley, D. (2017). The ML test
       score: a rubric for ML production readiness. *IEEE Big Data* (monitor the
       prediction distribution).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import ScorePSI, View
    >>> rng = np.random.default_rng(0)
    >>> det = ScorePSI(window_size=500).fit(View(scores=rng.beta(2, 5, size=2000)))
    >>> v = det.update(View(scores=rng.beta(2, 5, size=500)))
    >>> round(v.statistic, 2) < 0.05, v.alarm
    (True, False)
    >>> v = det.update(View(scores=rng.beta(5, 2, size=500)))
    >>> v.statistic > 1.0, v.alarm
    (True, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="threshold")

    def __init__(
        self,
        *,
        n_bins: int = 10,
        threshold: float = 0.2,
        window_size: int = 1000,
        min_samples: int = 100,
    ):
        self.n_bins = n_bins
        self.threshold = threshold
        self.window_size = window_size
        self.min_samples = min_samples
        check_int("ScorePSI", "n_bins", n_bins, 2)
        check_real("ScorePSI", "threshold", threshold, low=0.0, open_low=True)
        check_int("ScorePSI", "window_size", window_size, 1)
        check_int("ScorePSI", "min_samples", min_samples, 1, window_size)

    @staticmethod
    def _scores(view: View) -> np.ndarray:
        if view.scores is None:
            if view.n == 0:
                return np.empty(0)
            raise SchemaError(f"ScorePSI: the view has {view.n} rows but no scores")
        return view.scores

    def _fit(self, reference: View) -> None:
        scores = self._scores(reference)
        if scores.shape[0] == 0:
            raise ConfigError(
                "reference", "0 scores", "a reference view with scores", owner="ScorePSI"
            )
        check_some_finite("ScorePSI", "scores", scores)
        self.binner_ = NumericBinner(scores, self.n_bins)
        codes = self.binner_.codes(scores)[:, None]
        self.reference_props_ = bincount_2d(codes, self.binner_.n_cells)[0] / codes.shape[0]
        self._floored = np.maximum(self.reference_props_, PSI_EPS)  # psi's floor, once
        self.window_ = CodeWindow(self.window_size, 1, self.binner_.n_cells)
        self.search_ = BucketSearch([self.binner_.edges_], [self.binner_.n_cells - 1], [0], steps=1)

    @property
    def counts_(self) -> np.ndarray:
        """Window counts per bin."""
        return self.window_.counts[0]

    def _update(self, view: View) -> Verdict:
        self.window_.push(self.search_.search(_as_float(self._scores(view))[None, :]))
        threshold = float(self.threshold)
        size = self.window_.size
        if size < self.min_samples:
            return Verdict(statistic=float("nan"), threshold=threshold, alarm=False)
        statistic = float(psi_from_counts(self.window_.counts[0], size, self._floored))
        return Verdict(statistic, threshold, statistic > threshold)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"n_bins": 5, "window_size": 300, "min_samples": 50}]


# --------------------------------------------------------------------------- shared helpers


def _check_window(owner: str, window_size, min_samples) -> None:
    check_int(owner, "window_size", window_size, 1)
    check_int(owner, "min_samples", min_samples, 1, window_size)


def _tick_scores(owner: str, view: View) -> np.ndarray:
    """The view's scores as float64; an empty array for a view with no rows."""
    if view.scores is None:
        if view.n == 0:
            return np.empty(0)
        raise SchemaError(f"{owner}: the view has {view.n} rows but no scores")
    return _as_float(view.scores)


def _check_probabilities(owner: str, scores: np.ndarray) -> None:
    """Refuse scores outside [0, 1] (NaN is a missing score, and allowed)."""
    if scores.size == 0 or (scores.min() >= 0.0 and scores.max() <= 1.0):
        return  # the usual case; a NaN makes both comparisons false and takes the slow path
    bad = scores[(scores < 0.0) | (scores > 1.0)]
    if bad.size:
        raise SchemaError(
            f"{owner}: scores {np.unique(bad)[:5].tolist()} are not probabilities in [0, 1]"
        )


def _reference_scores(owner: str, reference: View, *, probabilities: bool) -> np.ndarray:
    """The reference's scores: present, with at least one that is not NaN, and checked."""
    scores = _tick_scores(owner, reference)
    if scores.shape[0] == 0:
        raise ConfigError("reference", "0 scores", "a reference view with scores", owner=owner)
    check_some_finite(owner, "scores", scores)
    if probabilities:
        _check_probabilities(owner, scores)
    return scores


def _confidence(scores: np.ndarray) -> np.ndarray:
    """Each score's probability of the class it predicts: ``p`` if ``p >= CUTOFF``, else ``1 - p``.

    At the 0.5 cut-off this is ``max(p, 1 - p)``; NaN stays NaN.
    """
    return np.where(scores >= CUTOFF, scores, 1.0 - scores)


def _binary_entropy(scores: np.ndarray) -> np.ndarray:
    """``-p ln p - (1 - p) ln(1 - p)`` in nats (0 at p = 0 and 1); NaN stays NaN."""
    return entr(scores) + entr(1.0 - scores)


class _ValueWindow:
    """The last `capacity` per-row values of a score monitor (NaN: the row has none).

    Parameters
    ----------
    capacity
        Rows kept.

    Attributes
    ----------
    ring
        The values (a `Ring` of one column).
    """

    def __init__(self, capacity: int):
        self.ring = Ring(capacity, 1, dtype=np.float64, fill=np.nan)

    def push(self, values: np.ndarray) -> None:
        """Append a tick's values (the ring may keep `values` itself)."""
        if values.shape[0]:
            self.ring.extend(values[:, None])

    def mean(self) -> tuple[float, int]:
        """The mean of the values that are not NaN, and how many there are (nan, 0 if none)."""
        v = self.ring.values.reshape(-1)
        missing = np.isnan(v)
        n_missing = int(np.count_nonzero(missing))
        if n_missing:
            v = v[~missing]
        m = v.shape[0]
        return (float(np.add.reduce(v)) / m if m else float("nan")), m


def _z_critical(alpha: float) -> float:
    """``z`` with ``P(|Z| > z) = alpha`` for a standard normal ``Z``."""
    return float(-ndtri(alpha / 2.0))


def _mean_verdict(det, mean: float, m: int) -> Verdict:
    """The two-sided z-test of `MeanConfidence` and `ScoreEntropy` (see their Notes)."""
    if m < det.min_samples:
        det.difference_ = float("nan")
        return Verdict(statistic=float("nan"), threshold=float("nan"), alarm=False)
    det.difference_ = mean - det.reference_mean_
    statistic = abs(det.difference_)
    threshold = det._z * det.reference_std_ * math.sqrt(1.0 / m + 1.0 / det.n_reference_)
    return Verdict(statistic, threshold, statistic > threshold)


def _fit_mean(det, values: np.ndarray) -> None:
    """Reference mean, spread and size of a per-row value (NaN dropped), and a fresh window."""
    values = values[~np.isnan(values)]
    det.n_reference_ = int(values.shape[0])
    det.reference_mean_ = float(np.mean(values))
    det.reference_std_ = float(np.std(values, ddof=1)) if values.shape[0] > 1 else 0.0
    det.window_ = _ValueWindow(det.window_size)
    det.difference_ = float("nan")
    det._z = _z_critical(det.alpha)


# --------------------------------------------------------------------------- ScoreKS


@DETECTORS.register("score_ks")
class ScoreKS(BaseDetector):
    r"""Two-sample Kolmogorov–Smirnov test of the model's scores: the window against the reference.

    Parameters
    ----------
    alpha
        Significance level: alarm when the statistic exceeds the test's critical value.
    window_size
        The statistic compares the most recent `window_size` scores with the reference.
    min_samples
        Until the window holds this many scores that are not NaN, the statistic and the
        threshold are nan and there is no alarm.

    Attributes
    ----------
    coder_
        Codes a score by its place among the sorted reference scores (`ECDFCoder`).
    n_reference_
        Reference scores that are not NaN.
    window_
        The window's codes (a ring buffer) and their counts.
    search_
        Codes a tick's scores (a `BucketSearch` over the coder's keys).
    distance_
        Reads the statistic from the window's counts (`KSDistance`).

    Notes
    -----
    With reference ECDF ``F_n`` and window ECDF ``G_m`` (over the scores that are not
    NaN), the statistic is ``D = sup_s |F_n(s) − G_m(s)|``, exactly what
    `scipy.stats.ks_2samp` reports, and it alarms above the asymptotic critical value

    .. math:: c(α) \sqrt{(n + m) / (n m)}, \quad c(α) = \sqrt{-\ln(α/2)/2}.

    It is the `KS` feature monitor on one column, the score, with the same machinery
    (codes in the sorted reference, a sliding histogram of codes, no sort of the window).
    A NaN score keeps its place in the window but is not tested; ±inf are ordinary
    values, so it also watches a regressor's predictions. Like every score monitor it
    sees covariate shift, pipeline faults and new model versions alike, and nothing of a
    change in P(Y|X) that leaves the inputs alone.

    References
    ----------
    .. [1] Smirnov, N. (1948). Table for estimating the goodness of fit of empirical
       distributions. *Annals of Mathematical Statistics* 19(2), 279–281.
    .. [2] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS* (two-sample tests on a
       model's outputs).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import ScoreKS, View
    >>> rng = np.random.default_rng(0)
    >>> det = ScoreKS(window_size=500).fit(View(scores=rng.beta(2, 5, size=2000)))
    >>> v = det.update(View(scores=rng.beta(2, 5, size=500)))
    >>> round(v.threshold, 3), v.alarm
    (0.081, False)
    >>> v = det.update(View(scores=rng.beta(3, 5, size=500)))
    >>> round(v.statistic, 2), v.alarm
    (0.24, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="alpha", direction=-1)

    def __init__(self, *, alpha: float = 0.01, window_size: int = 1000, min_samples: int = 100):
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("ScoreKS", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("ScoreKS", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("ScoreKS", reference, probabilities=False)
        self.coder_ = ECDFCoder(scores)
        self.n_reference_ = self.coder_.n_
        self.window_ = CodeWindow(self.window_size, 1, self.coder_.n_cells)
        self.search_ = BucketSearch([self.coder_.keys_], [self.coder_.n_cells - 1], [0], pairs=True)
        self.distance_ = KSDistance(self.coder_.table_[None, :-1, 0])
        self._m_key = -1  # the window size the critical value was last computed for
        self._critical = float("nan")

    def _update(self, view: View) -> Verdict:
        scores = _tick_scores("ScoreKS", view)
        self.window_.push(self.search_.search(scores[None, :]))
        stat, m = self.distance_(self.window_.counts)
        m = int(m[0])
        if m < self.min_samples:
            return Verdict(statistic=float("nan"), threshold=float("nan"), alarm=False)
        if m != self._m_key:  # it depends on the window's size alone
            self._critical = float(ks_critical(self.alpha, self.n_reference_, m))
            self._m_key = m
        statistic = float(stat[0])
        return Verdict(statistic, self._critical, statistic > self._critical)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"alpha": 0.05, "window_size": 300, "min_samples": 50}]


# --------------------------------------------------------------------------- confidence


@DETECTORS.register("mean_confidence")
class MeanConfidence(BaseDetector):
    r"""The model's mean confidence ``max(p, 1 − p)`` over the window, against the reference's.

    Parameters
    ----------
    alpha
        Significance level of the two-sided z-test (see Notes).
    window_size
        The statistic compares the most recent `window_size` scores with the reference.
    min_samples
        Until the window holds this many scores that are not NaN, the statistic and the
        threshold are nan and there is no alarm.

    Attributes
    ----------
    reference_mean_, reference_std_, n_reference_
        Mean and standard deviation of the confidence over the reference's scores, and
        how many there are (NaN dropped).
    difference_
        The latest window mean minus the reference mean (signed; nan before
        `min_samples`).
    window_
        The window's confidences.

    Notes
    -----
    A row's confidence ``g(p) = max(p, 1 − p)`` is the probability the model gives the
    class it predicts (at the 0.5 cut-off, `simlab.scoring.CUTOFF`), from 0.5 (a coin
    flip) to 1. It falls when inputs drift toward the decision boundary or away from
    anything seen in training (a flattening of the scores), and rises when they drift
    into regions the model is sure of, or when a fault saturates the scores.

    The statistic is ``|ḡ_w − ḡ_r|``, the absolute difference of the window's mean of
    ``g`` (over its ``m`` scores that are not NaN) and the reference's (over ``n``), and
    the threshold is a two-sided two-sample z-test's critical difference

    .. math:: z_{1-α/2} \, s_r \sqrt{1/m + 1/n},

    with ``s_r`` the standard deviation of ``g`` over the reference's scores: under no
    change the window's mean has variance ``σ²/m`` and the reference's ``σ²/n``, and the
    reference's ``s_r`` stands for ``σ`` (the window's own spread would move the threshold
    with the very change being tested). By the central limit theorem a tick alarms with
    probability about ``α`` when nothing changed and windows do not overlap; the engine's
    windows overlap from tick to tick, so the rate of false alarms per tick stays about
    ``α`` but they come in runs (calibrate ``alpha`` on a no-change twin for a target
    ARL0). A test rather than a fixed tolerance, so that one ``alpha`` means the same
    false-alarm rate whatever the model's spread of scores and the window's size.

    NaN scores hold a place in the window but are not averaged.

    References
    ----------
    .. [1] Hendrycks, D. & Gimpel, K. (2017). A baseline for detecting misclassified and
       out-of-distribution examples in neural networks. *ICLR* (maximum softmax
       probability).
    .. [2] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS*.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import MeanConfidence, View
    >>> rng = np.random.default_rng(0)
    >>> det = MeanConfidence(window_size=500).fit(View(scores=rng.beta(2, 5, size=2000)))
    >>> round(det.reference_mean_, 2)
    0.73
    >>> v = det.update(View(scores=rng.beta(2, 5, size=500)))
    >>> v.alarm
    False
    >>> v = det.update(View(scores=rng.beta(5, 5, size=500)))  # closer to 0.5
    >>> round(det.difference_, 2), v.alarm
    (-0.11, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="alpha", direction=-1)

    def __init__(self, *, alpha: float = 0.01, window_size: int = 1000, min_samples: int = 100):
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("MeanConfidence", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("MeanConfidence", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("MeanConfidence", reference, probabilities=True)
        _fit_mean(self, _confidence(scores))

    def _update(self, view: View) -> Verdict:
        scores = _tick_scores("MeanConfidence", view)
        _check_probabilities("MeanConfidence", scores)
        self.window_.push(_confidence(scores))
        return _mean_verdict(self, *self.window_.mean())

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"alpha": 0.05, "window_size": 300, "min_samples": 50}]


@DETECTORS.register("score_entropy")
class ScoreEntropy(BaseDetector):
    r"""Mean binary entropy of the model's scores over the window, against the reference's.

    Parameters
    ----------
    alpha
        Significance level of the two-sided z-test (see Notes).
    window_size
        The statistic compares the most recent `window_size` scores with the reference.
    min_samples
        Until the window holds this many scores that are not NaN, the statistic and the
        threshold are nan and there is no alarm.

    Attributes
    ----------
    reference_mean_, reference_std_, n_reference_
        Mean and standard deviation of the entropy over the reference's scores (nats),
        and how many there are (NaN dropped).
    difference_
        The latest window mean minus the reference mean (signed, nats; nan before
        `min_samples`).
    window_
        The window's entropies.

    Notes
    -----
    A row's entropy ``g(p) = −p ln p − (1 − p) ln(1 − p)`` (nats, ``0 ln 0 = 0``) is the
    uncertainty of the model's prediction: ln 2 ≈ 0.693 at p = 0.5, 0 at p = 0 or 1. It
    moves as `MeanConfidence` does, in the other direction, but weighs the scores near
    0 and 1 differently (the entropy is steep there, the confidence linear), so a
    saturating fault shows more in it.

    The statistic is ``|ḡ_w − ḡ_r|``, the absolute difference of the window's mean of
    ``g`` (over its ``m`` scores that are not NaN) and the reference's (over ``n``), and
    the threshold is a two-sided two-sample z-test's critical difference

    .. math:: z_{1-α/2} \, s_r \sqrt{1/m + 1/n},

    with ``s_r`` the standard deviation of ``g`` over the reference's scores: under no
    change the window's mean has variance ``σ²/m`` and the reference's ``σ²/n``, and the
    reference's ``s_r`` stands for ``σ`` (the window's own spread would move the threshold
    with the very change being tested). By the central limit theorem a tick alarms with
    probability about ``α`` when nothing changed and windows do not overlap; the engine's
    windows overlap from tick to tick, so the rate of false alarms per tick stays about
    ``α`` but they come in runs (calibrate ``alpha`` on a no-change twin for a target
    ARL0). A test rather than a fixed tolerance, so that one ``alpha`` means the same
    false-alarm rate whatever the model's spread of scores and the window's size.

    NaN scores hold a place in the window but are not averaged.

    References
    ----------
    .. [1] Shannon, C. E. (1948). A mathematical theory of communication. *Bell System
       Technical Journal* 27(3), 379–423.
    .. [2] Wang, D., Shelhamer, E., Liu, S., Olshausen, B. & Darrell, T. (2021). Tent:
       fully test-time adaptation by entropy minimization. *ICLR* (prediction entropy
       rises under distribution shift).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import ScoreEntropy, View
    >>> rng = np.random.default_rng(0)
    >>> det = ScoreEntropy(window_size=500).fit(View(scores=rng.beta(2, 5, size=2000)))
    >>> round(det.reference_mean_, 2)
    0.53
    >>> v = det.update(View(scores=rng.beta(2, 5, size=500)))
    >>> v.alarm
    False
    >>> v = det.update(View(scores=rng.beta(1, 9, size=500)))  # surer, closer to 0
    >>> round(det.difference_, 2), v.alarm
    (-0.25, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="alpha", direction=-1)

    def __init__(self, *, alpha: float = 0.01, window_size: int = 1000, min_samples: int = 100):
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("ScoreEntropy", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("ScoreEntropy", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("ScoreEntropy", reference, probabilities=True)
        _fit_mean(self, _binary_entropy(scores))

    def _update(self, view: View) -> Verdict:
        scores = _tick_scores("ScoreEntropy", view)
        _check_probabilities("ScoreEntropy", scores)
        self.window_.push(_binary_entropy(scores))
        return _mean_verdict(self, *self.window_.mean())

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"alpha": 0.05, "window_size": 300, "min_samples": 50}]


# --------------------------------------------------------------------------- histogram shape


def _histogram_entropy(counts: np.ndarray, m: int) -> tuple[float, int]:
    """Plug-in entropy (nats) of a histogram of `m` values, and its number of occupied bins."""
    occupied = counts[counts > 0]
    p = occupied / m
    return float(-np.dot(p, np.log(p))), int(occupied.shape[0])


@DETECTORS.register("histogram_shape")
class HistogramShape(BaseDetector):
    r"""Change in the entropy of the score histogram: alarms when it flattens and when it spikes.

    Parameters
    ----------
    n_bins
        Equal-width bins of [0, 1] (the last one closed: a score of 1 is in it).
    alpha
        Significance level of the two-sided test (see Notes).
    window_size
        The statistic compares the most recent `window_size` scores with the reference.
    min_samples
        Until the window holds this many scores that are not NaN, the statistic and the
        threshold are nan and there is no alarm.

    Attributes
    ----------
    reference_counts_
        Reference scores per bin (NaN dropped).
    reference_entropy_
        The reference histogram's entropy (nats, bias-corrected: see Notes).
    entropy_
        The latest window histogram's entropy (nats; nan before `min_samples`).
    n_reference_
        Reference scores that are not NaN.
    window_
        The window's bin codes (NaN in a last code of its own) and their counts.

    Notes
    -----
    The seed's "a flat or spiking histogram of output probabilities is a reliable early
    warning" as one two-sided statistic. The scores are cut into ``B`` equal-width bins
    of [0, 1] (fixed bins: quantile bins of the reference would make its histogram flat
    by construction, and a flattening invisible). With proportions ``p_b`` the
    histogram's entropy ``H = −Σ p_b ln p_b`` is at most ``ln B`` (every bin alike:
    *flat*) and 0 (one bin: a *spike*), so the change ``H_w − H_r`` is positive when the
    scores spread out and negative when they collapse onto a few values. The statistic
    is ``|H_w − H_r|`` (nats). Each entropy carries the Miller–Madow correction
    ``(K − 1)/(2N)`` (``K`` occupied bins, ``N`` scores), which removes the first-order
    bias of the plug-in estimate, so windows and reference of different sizes compare
    fairly.

    The threshold is ``z_{1−α/2} · SE`` with, by the delta method around the reference
    proportions,

    .. math:: SE^2 = V (1/m + 1/n) + \tfrac{K_r - 1}{2} (1/m^2 + 1/n^2),
              \quad V = \sum_b p_b (\ln p_b)^2 - H_r^2,

    (``m`` window, ``n`` reference scores). ``V/N`` is the first-order variance of a
    plug-in entropy; the second term is its second-order variance, which is what
    remains when ``V`` vanishes (a reference spread evenly over its bins, where
    ``2N(\ln K − \hat H)`` is about χ² with ``K − 1`` degrees of freedom). A test rather
    than a fixed tolerance in nats, because the same change in nats is noise for one
    histogram and window and a large change for another: this way one ``alpha`` gives
    about the same false-alarm rate per tick whatever the model's histogram.

    It watches the shape alone: a shift that moves the histogram without changing its
    spread (all scores up by one bin) leaves it quiet, which is what `ScorePSI` and
    `ScoreKS` are for. NaN scores hold a place in the window but are not binned.

    References
    ----------
    .. [1] Miller, G. A. (1955). Note on the bias of information estimates. In
       *Information Theory in Psychology*, Free Press, 95–100.
    .. [2] Paninski, L. (2003). Estimation of entropy and mutual information. *Neural
       Computation* 15(6), 1191–1253 (bias and variance of the plug-in estimate).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import HistogramShape, View
    >>> rng = np.random.default_rng(0)
    >>> det = HistogramShape(window_size=500).fit(View(scores=rng.beta(2, 5, size=2000)))
    >>> round(det.reference_entropy_, 2)
    1.8
    >>> det.update(View(scores=rng.beta(2, 5, size=500))).alarm
    False
    >>> v = det.update(View(scores=rng.uniform(size=500)))  # flat
    >>> round(det.entropy_, 2), v.alarm
    (2.3, True)
    >>> v = det.update(View(scores=rng.beta(40, 60, size=500)))  # a spike near 0.4
    >>> round(det.entropy_, 2), v.alarm
    (0.9, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="alpha", direction=-1)

    def __init__(
        self,
        *,
        n_bins: int = 10,
        alpha: float = 0.01,
        window_size: int = 1000,
        min_samples: int = 100,
    ):
        self.n_bins = n_bins
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_int("HistogramShape", "n_bins", n_bins, 2)
        check_real("HistogramShape", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("HistogramShape", window_size, min_samples)

    def _codes(self, scores: np.ndarray) -> np.ndarray:
        """Each score's bin (``n_bins`` for NaN)."""
        b = np.minimum(scores * self.n_bins, self.n_bins - 1)  # NaN stays NaN
        b[np.isnan(b)] = self.n_bins
        return b.astype(np.intp)

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("HistogramShape", reference, probabilities=True)
        counts = np.bincount(self._codes(scores), minlength=self.n_bins + 1)
        self.reference_counts_ = counts[: self.n_bins]
        n = int(self.reference_counts_.sum())
        self.n_reference_ = n
        h, k = _histogram_entropy(self.reference_counts_, n)
        self.reference_entropy_ = h + (k - 1) / (2.0 * n)
        p = self.reference_counts_[self.reference_counts_ > 0] / n
        self._variance = max(float(np.dot(p, np.log(p) ** 2)) - h * h, 0.0)
        self._second = (k - 1) / 2.0
        self._z = _z_critical(self.alpha)
        self.entropy_ = float("nan")
        self.window_ = CodeWindow(self.window_size, 1, self.n_bins + 1)

    def _update(self, view: View) -> Verdict:
        scores = _tick_scores("HistogramShape", view)
        _check_probabilities("HistogramShape", scores)
        if scores.shape[0]:
            self.window_.push(self._codes(scores)[None, :])
        counts = self.window_.counts[0]
        m = self.window_.size - int(counts[self.n_bins])
        if m < self.min_samples:
            self.entropy_ = float("nan")
            return Verdict(statistic=float("nan"), threshold=float("nan"), alarm=False)
        h, k = _histogram_entropy(counts[: self.n_bins], m)
        self.entropy_ = h + (k - 1) / (2.0 * m)
        statistic = abs(self.entropy_ - self.reference_entropy_)
        n = self.n_reference_
        se = math.sqrt(
            self._variance * (1.0 / m + 1.0 / n) + self._second * (1.0 / m**2 + 1.0 / n**2)
        )
        threshold = self._z * se
        return Verdict(statistic, threshold, statistic > threshold)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"n_bins": 20, "alpha": 0.05, "window_size": 300, "min_samples": 50}]


# --------------------------------------------------------------------------- CBPE


def _expected_correct(scores: np.ndarray) -> np.ndarray:
    """Each row's probability of being right if its score is calibrated; 0 for a NaN score."""
    c = _confidence(scores)
    c[np.isnan(c)] = 0.0  # a failed prediction is a wrong one (simlab.scoring)
    return c


@DETECTORS.register("cbpe")
class CBPE(BaseDetector):
    r"""Confidence-based performance estimation: the accuracy the scores promise, without labels.

    Parameters
    ----------
    tolerance
        Alarm when the estimated accuracy is below the reference's accuracy by more than
        this.
    window_size
        The estimate covers the most recent `window_size` rows served.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.

    Attributes
    ----------
    reference_accuracy_
        Accuracy on the reference's labels (`simlab.scoring` rows: a score >= 0.5 predicts
        1; a NaN score is wrong).
    reference_estimate_
        The estimate on the reference's own scores: if the model is calibrated there it
        is close to `reference_accuracy_`; the gap is the offset the statistic carries
        from the start.
    estimate_
        The latest estimated accuracy (nan before `min_samples`).
    window_
        Each window row's expected correctness.

    Notes
    -----
    If the scores are calibrated, ``P(Y = 1 | p) = p``, a row with score ``p`` is right
    with probability ``p`` when the model predicts 1 (``p >= 0.5``, `simlab.scoring.CUTOFF`)
    and ``1 − p`` when it predicts 0: ``max(p, 1 − p)``. The window's estimated accuracy
    is the mean of that over its ``m`` rows,

    .. math:: \widehat{acc} = \frac{1}{m} \sum_i \max(p_i, 1 - p_i),

    an unbiased estimate of the accuracy the labels will show, with no label in sight
    (a row whose score is NaN, a failed prediction, counts 0: wrong, as in the Run). The
    statistic is ``reference_accuracy_ − \widehat{acc}``, positive when the model is
    estimated to have lost accuracy, and it alarms above `tolerance` (one-sided: an
    estimated gain does not alarm). Given the scores, the window's true accuracy differs
    from the estimate by a mean of ``m`` independent Bernoulli deviations, standard
    deviation ``sqrt(mean(c(1 − c))/m)`` (about 0.013 at an accuracy of 0.8 and ``m`` =
    1000), and the reference accuracy carries ``sqrt(a(1 − a)/n)``; the default tolerance
    of 0.05, the engine's harm tolerance, sits several of these above noise.

    The estimate stands on two assumptions, and is blind where they fail:

    - *calibration on the window's inputs*: P(Y | X) is unchanged, so a model that was
      calibrated on the reference stays calibrated wherever P(X) moves. Covariate shift
      is what it tracks: scores that drift toward 0.5 lower the estimate, as they lower
      the accuracy.
    - *no concept drift*: if P(Y | X) moves while P(X) does not (a rotated concept), the
      scores, hence the estimate, do not move, while the accuracy falls. Only labels
      (`WindowedMetric`) see that.

    NannyML's CBPE first recalibrates the scores on the reference (isotonic regression);
    this one takes them as they are and shows any miscalibration at the reference as
    ``reference_accuracy_ − reference_estimate_``.

    References
    ----------
    .. [1] NannyML (2022). *Confidence-based Performance Estimation (CBPE)*. NannyML
       documentation, "How it works: performance estimation".
    .. [2] Guo, C., Pleiss, G., Sun, Y. & Weinberger, K. Q. (2017). On calibration of
       modern neural networks. *ICML* (calibration: confidence equals accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import CBPE, View
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)  # calibrated: labels drawn with these probabilities
    >>> det = CBPE(window_size=500).fit(View(scores=p, labels=rng.uniform(size=2000) < p,
    ...                                      label_scores=p))
    >>> round(det.reference_accuracy_, 2), round(det.reference_estimate_, 2)
    (0.75, 0.75)
    >>> v = det.update(View(scores=rng.uniform(0.3, 0.7, size=500)))  # less sure
    >>> round(det.estimate_, 2), round(v.statistic, 2), v.alarm
    (0.6, 0.15, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="tolerance")
    _xfail_checks: ClassVar[dict] = {
        "check_detects_shift_h1": (
            "the check's 3-sigma shift pushes its calibrated scores toward 0 and 1, so the "
            "model becomes more accurate (labels are drawn from the scores); CBPE estimates "
            "that gain and, being one-sided (it alarms on estimated loss), rightly stays quiet"
        )
    }

    def __init__(self, *, tolerance: float = 0.05, window_size: int = 1000, min_samples: int = 100):
        self.tolerance = tolerance
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("CBPE", "tolerance", tolerance, low=0.0)
        _check_window("CBPE", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("CBPE", reference, probabilities=True)
        if reference.labels is None:
            raise ConfigError(
                "reference", "no labels", "a reference view with labels", owner="CBPE"
            )
        y = _as_float(reference.labels)
        labelled = ~np.isnan(y)
        y, s = y[labelled], _as_float(reference.label_scores)[labelled]
        if y.shape[0] == 0:
            raise ConfigError(
                "reference",
                "no non-NaN labels",
                "a reference view with at least one labelled row",
                owner="CBPE",
            )
        if not ((y == 0.0) | (y == 1.0)).all():
            bad = np.unique(y[(y != 0.0) & (y != 1.0)])[:5].tolist()
            raise SchemaError(f"CBPE: reference labels {bad} are not 0 or 1")
        _check_probabilities("CBPE", s)
        self.reference_accuracy_ = float(np.mean(row_values("accuracy", y, s)))
        self.reference_estimate_ = float(np.mean(_expected_correct(scores)))
        self.estimate_ = float("nan")
        self.window_ = _ValueWindow(self.window_size)

    def _update(self, view: View) -> Verdict:
        scores = _tick_scores("CBPE", view)
        _check_probabilities("CBPE", scores)
        self.window_.push(_expected_correct(scores))
        threshold = float(self.tolerance)
        estimate, m = self.window_.mean()  # no NaN in it: every row counts
        if m < self.min_samples:
            self.estimate_ = float("nan")
            return Verdict(statistic=float("nan"), threshold=threshold, alarm=False)
        self.estimate_ = estimate
        statistic = self.reference_accuracy_ - estimate
        return Verdict(statistic, threshold, statistic > threshold)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"tolerance": 0.02, "window_size": 300, "min_samples": 50}]
