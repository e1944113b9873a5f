"""Label shift from a black-box model's predictions: black-box shift estimation (BBSE).

Under *label shift* the class prior moves, ``q(y) ≠ p(y)``, while the class-conditional
inputs stay put, ``q(x | y) = p(x | y)`` (an anticausal world: the label comes first). Then
a fixed model's hard predictions ``ŷ = f(x)`` keep their class-conditional law too, and the
distribution of predicted classes in production is a known linear image of the new prior.
Lipton, Wang & Smola (2018) invert it with the model's confusion matrix on held-out
reference data: no label from production is needed, and the model may be any black box.

The estimator is K-class (`bbse_weights`, `label_shift_accuracy`, `joint_confusion`); the
`BBSE` monitor applies it to a binary model's scores, cut at `simlab.scoring.CUTOFF`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import chdtri

from simlab.detectors._kernels import CodeWindow, _as_float, check_int, check_real
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.detectors.scores import _check_probabilities, _reference_scores, _tick_scores
from simlab.errors import ConfigError, SchemaError
from simlab.scoring import CUTOFF

__all__ = ["BBSE", "bbse_weights", "joint_confusion", "label_shift_accuracy"]

#: A confusion matrix whose condition number exceeds this is treated as singular: its
#: inverse would turn rounding errors into weights (at 1e12, about 1e-4 of relative error
#: in float64 before any sampling error).
MAX_CONDITION = 1e12


def joint_confusion(predicted, labels, n_classes: int) -> np.ndarray:
    """The joint distribution of predicted and true classes: ``C[i, j] = P(ŷ = i, y = j)``.

    Parameters
    ----------
    predicted, labels
        Integer classes in ``[0, n_classes)``, aligned.
    n_classes
        K.

    Returns
    -------
    np.ndarray
        ``(K, K)``, rows predicted classes, columns true classes, summing to 1 (all zeros
        when there are no rows).

    Examples
    --------
    >>> import numpy as np
    >>> C = joint_confusion(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1]), 2)
    >>> C.tolist()
    [[0.25, 0.0], [0.25, 0.5]]
    """
    predicted = np.asarray(predicted, dtype=np.intp)
    labels = np.asarray(labels, dtype=np.intp)
    k = int(n_classes)
    counts = np.bincount(predicted * k + labels, minlength=k * k).reshape(k, k)
    n = predicted.shape[0]
    return counts / n if n else counts.astype(np.float64)


def bbse_weights(confusion, predicted) -> np.ndarray:
    """Class weights ``w_j = q(y = j) / p(y = j)`` from ``C w = μ`` (Lipton et al., 2018).

    Parameters
    ----------
    confusion
        ``(K, K)`` joint counts or probabilities on the reference: rows predicted class,
        columns true class (`joint_confusion`); normalised here to sum to 1.
    predicted
        ``(K,)`` counts or proportions of each predicted class on the target data;
        normalised here to sum to 1.

    Returns
    -------
    np.ndarray
        ``(K,)`` weights, ``>= 0``; all nan when the confusion matrix is singular (or has
        no rows), because then the weights are not identified.

    Notes
    -----
    Under label shift ``q(ŷ | y) = p(ŷ | y)``, so the target's predicted-class
    distribution is ``μ_i = Σ_j p(ŷ = i | y = j) q(y = j) = Σ_j C_ij w_j``: ``μ = C w``,
    and ``ŵ = Ĉ⁻¹ μ̂`` (solved, not inverted). The error of ``ŵ`` is
    ``O(1/√n + 1/√m)`` with ``n`` reference and ``m`` target rows, times the inverse of
    ``C``'s smallest singular value (the paper's Theorem 3): a model whose predictions
    barely depend on the class (nearly singular ``C``) gives noisy weights.

    Sampling error can make a weight negative, which no prior allows: negative weights
    are set to 0, and the weights then scaled so that the implied target prior
    ``q(y = j) = p(y = j) w_j`` sums to 1 (before clipping it does so exactly, since
    ``Σ_j p(y = j) w_j = 1ᵀ C w = 1ᵀ μ = 1``; clipping only raises the sum, so the scale
    is at most 1). A matrix that is singular or whose condition number exceeds
    `MAX_CONDITION` (a class the model never predicts, or a class absent from the
    reference) gives nan weights.

    References
    ----------
    .. [1] Lipton, Z. C., Wang, Y.-X. & Smola, A. J. (2018). Detecting and correcting for
       label shift with black box predictors. *ICML*, PMLR 80, 3122–3130.

    Examples
    --------
    A model right 90% of the time on either class; the reference prior is (0.5, 0.5) and
    the target's (0.2, 0.8):

    >>> import numpy as np
    >>> C = np.array([[0.45, 0.05], [0.05, 0.45]])
    >>> mu = C @ np.array([0.4, 1.6])  # the target's predicted classes: (0.26, 0.74)
    >>> [round(float(w), 3) for w in bbse_weights(C, mu)]
    [0.4, 1.6]
    """
    c = np.asarray(confusion, dtype=np.float64)
    mu = np.asarray(predicted, dtype=np.float64)
    k = c.shape[0]
    nan = np.full(k, np.nan)
    total, mass = c.sum(), mu.sum()
    if c.shape != (k, k) or mu.shape != (k,) or not (total > 0 and mass > 0):
        return nan
    c = c / total
    mu = mu / mass
    if not np.isfinite(c).all() or np.linalg.cond(c) > MAX_CONDITION:
        return nan
    w = np.linalg.solve(c, mu)
    np.maximum(w, 0.0, out=w)
    return w / np.dot(c.sum(axis=0), w)


def label_shift_accuracy(confusion, weights) -> float:
    """The accuracy expected on the target under label shift: ``Σ_j w_j C_jj``.

    Parameters
    ----------
    confusion
        ``(K, K)`` joint counts or probabilities on the reference (normalised here).
    weights
        ``(K,)`` class weights ``q(y) / p(y)`` (`bbse_weights`).

    Returns
    -------
    float
        ``Σ_j q(y = j) p(ŷ = j | y = j)``: each class's recall on the reference, weighted
        by the target's prior ``q(y = j) = p(y = j) w_j``. With weights of 1 it is the
        reference accuracy ``Σ_j C_jj``; nan if a weight is.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[0.4, 0.1], [0.1, 0.4]])  # 80% right on either class
    >>> round(label_shift_accuracy(C, np.array([0.4, 1.6])), 3)
    0.8
    >>> C = np.array([[0.45, 0.2], [0.05, 0.3]])  # recall 0.9 and 0.6
    >>> [round(label_shift_accuracy(C, w), 3) for w in (np.ones(2), np.array([0.4, 1.6]))]
    [0.75, 0.66]
    """
    c = np.asarray(confusion, dtype=np.float64)
    c = c / c.sum()
    return float(np.dot(np.diagonal(c), np.asarray(weights, dtype=np.float64)))


def _chi_square(reference: np.ndarray, window: np.ndarray) -> float:
    """Pearson's X² of homogeneity of two count vectors (a 2 × K table).

    Cells whose column is empty on both sides have no expected count and add nothing.
    """
    table = np.stack((reference, window)).astype(np.float64)
    columns = table.sum(axis=0)
    rows = table.sum(axis=1, keepdims=True)
    keep = columns > 0
    expected = rows * columns[keep] / table.sum()
    return float((((table[:, keep] - expected) ** 2) / expected).sum())


@DETECTORS.register("bbse")
class BBSE(BaseDetector):
    r"""Black-box shift estimation: tests a binary model's predicted classes for label shift.

    Parameters
    ----------
    alpha
        Significance level of the chi-square test of "no label shift".
    window_size
        The window holds the most recent `window_size` rows served.
    min_samples
        Until the window holds this many scores that are not NaN, the statistic, the
        threshold and the estimates are nan and there is no alarm.

    Attributes
    ----------
    confusion_
        ``(2, 2)`` joint distribution of predicted class (rows: ``score >= 0.5``) and
        label (columns) on the reference's labelled rows (`joint_confusion`).
    reference_counts_
        Reference rows per predicted class (from the reference's scores).
    reference_accuracy_
        ``trace(confusion_)``: the accuracy on the reference's labelled rows.
    predicted_
        The window's share of each predicted class (nan before `min_samples`).
    weights_
        The latest estimated class weights ``q(y) / p(y)`` (`bbse_weights`; nan before
        `min_samples`, or when ``confusion_`` is singular).
    corrected_accuracy_
        The accuracy expected in the window under label shift,
        ``Σ_j w_j C_jj`` (`label_shift_accuracy`).
    window_
        The window's predicted classes (NaN scores in a third code) and their counts.

    Notes
    -----
    Fit: with the model's hard predictions ``ŷ = 1{p >= 0.5}`` (`simlab.scoring.CUTOFF`)
    on the reference's labelled rows, ``C_ij = P̂(ŷ = i, y = j)``. Update: ``μ̂``, the
    window's distribution of predicted classes, gives the weights ``ŵ = Ĉ⁻¹ μ̂``
    (clipped at 0 and renormalised; nan for a singular ``Ĉ``: see `bbse_weights`) and the
    corrected accuracy ``Σ_j ŵ_j Ĉ_jj``, the accuracy the labels will show if the shift
    is a label shift. Neither needs a label from production.

    The test. If ``C`` is invertible, ``q(y) = p(y)`` exactly when the predicted-class
    distributions agree, so "no label shift" is tested as the paper's black-box shift
    *detection* does: Pearson's chi-square test of homogeneity of the 2 × K table of
    predicted-class counts, reference against window,

    .. math:: X^2 = \sum_{s, i} (O_{si} − E_{si})^2 / E_{si}, \quad
              E_{si} = R_s K_i / N,

    which alarms above the ``1 − α`` quantile of χ² with ``K − 1 = 1`` degree of freedom
    (it accounts for the reference's own sampling error). The test is on predictions, so
    it fires on any change in the predicted-class mix, label shift or not (covariate
    shift moves it too); the weights and the corrected accuracy mean something only
    under label shift. NaN scores have no predicted class: they keep a place in the
    window but are not counted (nor are reference rows with a NaN score or label).

    References
    ----------
    .. [1] Lipton, Z. C., Wang, Y.-X. & Smola, A. J. (2018). Detecting and correcting for
       label shift with black box predictors. *ICML*, PMLR 80, 3122–3130.
    .. [2] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS* (black-box shift
       detection with a chi-square test on hard predictions).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import BBSE, View
    >>> rng = np.random.default_rng(0)
    >>> def draw(n, prior):  # a model that is right 90% of the time on either class
    ...     y = (rng.uniform(size=n) < prior).astype(int)
    ...     right = rng.uniform(size=n) < 0.9
    ...     return y, np.where(right == (y == 1), 0.8, 0.2)
    >>> y, s = draw(4000, 0.5)
    >>> det = BBSE(window_size=1000).fit(View(scores=s, labels=y, label_scores=s))
    >>> y, s = draw(1000, 0.2)  # the prior of class 1 falls from 0.5 to 0.2
    >>> v = det.update(View(scores=s))
    >>> v.alarm, [round(float(w), 1) for w in det.weights_]
    (True, [1.6, 0.4])
    >>> round(det.corrected_accuracy_, 2)
    0.9
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.SCORES, threshold="alpha", direction=-1)

    def __init__(self, *, alpha: float = 0.01, window_size: int = 1000, min_samples: int = 100):
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        check_real("BBSE", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        check_int("BBSE", "window_size", window_size, 1)
        check_int("BBSE", "min_samples", min_samples, 1, window_size)

    @staticmethod
    def _scores(view: View) -> np.ndarray:
        scores = _tick_scores("BBSE", view)
        _check_probabilities("BBSE", scores)
        return scores

    @staticmethod
    def _codes(scores: np.ndarray) -> np.ndarray:
        """Predicted class of each score (0 or 1), 2 for NaN."""
        codes = (scores >= CUTOFF).view(np.uint8).astype(np.intp)
        codes[np.isnan(scores)] = 2
        return codes

    def _fit(self, reference: View) -> None:
        scores = _reference_scores("BBSE", reference, probabilities=True)
        if reference.labels is None:
            raise ConfigError(
                "reference", "no labels", "a reference view with labels", owner="BBSE"
            )
        y = _as_float(reference.labels)
        s = _as_float(reference.label_scores)
        _check_probabilities("BBSE", s)
        known = ~(np.isnan(y) | np.isnan(s))
        y, s = y[known], s[known]
        if not ((y == 0.0) | (y == 1.0)).all():
            bad = np.unique(y[(y != 0.0) & (y != 1.0)])[:5].tolist()
            raise SchemaError(f"BBSE: reference labels {bad} are not 0 or 1")
        if y.shape[0] == 0:
            raise ConfigError(
                "reference",
                "no row with both a score and a label",
                "a reference view with labelled, scored rows",
                owner="BBSE",
            )
        self.confusion_ = joint_confusion((s >= CUTOFF).astype(np.intp), y.astype(np.intp), 2)
        self.reference_counts_ = np.bincount(self._codes(scores), minlength=3)[:2]
        self.reference_accuracy_ = float(np.trace(self.confusion_))
        self.window_ = CodeWindow(self.window_size, 1, 3)
        self.critical_ = float(chdtri(1, self.alpha))
        self._forget()

    def _forget(self) -> None:
        self.predicted_ = np.full(2, np.nan)
        self.weights_ = np.full(2, np.nan)
        self.corrected_accuracy_ = float("nan")

    def _update(self, view: View) -> Verdict:
        scores = self._scores(view)
        if scores.shape[0]:
            self.window_.push(self._codes(scores)[None, :])
        counts = self.window_.counts[0, :2]
        m = int(counts.sum())
        if m < self.min_samples:
            self._forget()
            return Verdict(statistic=float("nan"), threshold=float("nan"), alarm=False)
        self.predicted_ = counts / m
        self.weights_ = bbse_weights(self.confusion_, self.predicted_)
        self.corrected_accuracy_ = label_shift_accuracy(self.confusion_, self.weights_)
        statistic = _chi_square(self.reference_counts_, counts)
        return Verdict(statistic, self.critical_, statistic > self.critical_)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"alpha": 0.05, "window_size": 300, "min_samples": 50}]
