"""Delayed-label monitors: performance measured on the labels that have arrived."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import Ring, check_int, check_real
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError, SchemaError
from simlab.scoring import row_values

__all__ = ["WindowedMetric"]

#: The allowed metrics; accuracy is better when larger, the others when smaller.
_METRICS = ("accuracy", "log_loss", "mae")


def _per_row(metric: str, labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-row correctness (accuracy), loss (log_loss) or absolute error (mae).

    The values are `simlab.scoring.row_values`, the definitions the Run uses; rows whose
    label is NaN carry no label and are dropped.
    """
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    unlabelled = np.isnan(y)
    if unlabelled.any():
        keep = ~unlabelled
        y, s = y[keep], s[keep]
    if metric != "mae":
        binary = y == 0.0
        binary |= y == 1.0
        if not binary.all():
            bad = np.unique(y[~binary])[:5].tolist()
            raise SchemaError(f"WindowedMetric({metric}): labels {bad} are not 0 or 1")
    if metric == "log_loss" and ((s < 0.0) | (s > 1.0)).any():
        bad = np.unique(s[(s < 0.0) | (s > 1.0)])[:5].tolist()
        raise SchemaError(f"WindowedMetric(log_loss): scores {bad} are not probabilities in [0, 1]")
    return row_values(metric, y, s)


@DETECTORS.register("windowed_metric")
class WindowedMetric(BaseDetector):
    """The delayed-label baseline: a metric over the last arrived labels versus the reference.

    Parameters
    ----------
    metric
        ``"accuracy"`` (a score >= 0.5 predicts 1) or ``"log_loss"`` for classifiers,
        ``"mae"`` for regressors.
    window_size
        The window holds the most recent `window_size` arrived labels.
    tolerance
        Alarm when the window is worse than the reference by more than this.
    min_samples
        Until the window holds this many labels the statistic is nan and there is no alarm.

    Attributes
    ----------
    reference_metric_
        The metric on the reference labels.
    window_
        The ring buffer of per-row correctness, loss or absolute error.

    Notes
    -----
    Each arrived label contributes one number, defined once in `simlab.scoring.row_values`
    (the same definitions the Run's true and observed metrics use): ``1[1{s >= 0.5} = y]``
    (accuracy), ``−ln q`` with ``q`` the score's probability of the true class floored at
    1e-15 (log loss; scores outside [0, 1] are refused) or ``|y − s|`` (MAE). Labels
    other than 0 and 1 are refused for accuracy and log loss (`SchemaError`).
    The window's metric is their mean, and the statistic is the degradation in the
    worse direction:
    ``reference − window`` for accuracy, ``window − reference`` for the losses. It
    alarms when the statistic exceeds `tolerance`. Rows whose label is NaN are ignored; a
    NaN score is a failed prediction and counts as the worst value (wrong, ``−ln 1e-15``,
    an infinite error), as in the Run; ±inf scores are ordinary values for accuracy (they
    predict a class) and MAE (an infinite absolute error). A tick with no arrived labels
    leaves the window, and so the statistic, as it is. Under no change the window's
    accuracy has standard error ``sqrt(a(1 − a)/w)`` (0.013 for a = 0.8, w = 1000), so
    the default tolerance of 0.05 sits near four standard errors.

    This is what "wait for the labels" costs: the statistic can only move once the
    affected rows' labels have arrived, which is the baseline every label-free monitor's
    lead time is measured against.

    References
    ----------
    .. [1] Gama, J., Žliobaitė, I., Bifet, A., Pechenizkiy, M. & Bouchachia, A. (2014).
       A survey on concept drift adaptation. *ACM Computing Surveys* 46(4), 44
       (monitoring performance over a sliding window).
    .. [2] Klinkenberg, R. & Renz, I. (1998). Adaptive information filtering: learning in
       the presence of concept drifts. *AAAI Workshop on Learning for Text
       Categorization* (windowed accuracy as a drift indicator).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import View, WindowedMetric
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)
    >>> ref = View(labels=rng.uniform(size=2000) < p, label_scores=p)
    >>> det = WindowedMetric(window_size=500, min_samples=100).fit(ref)
    >>> round(det.reference_metric_, 2)
    0.75
    >>> q = rng.uniform(size=500)
    >>> v = det.update(View(labels=rng.uniform(size=500) < 0.5, label_scores=q))
    >>> round(v.statistic, 2), v.alarm
    (0.24, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.LABELS, threshold="tolerance")

    def __init__(
        self,
        *,
        metric: str = "accuracy",
        window_size: int = 1000,
        tolerance: float = 0.05,
        min_samples: int = 200,
    ):
        self.metric = metric
        self.window_size = window_size
        self.tolerance = tolerance
        self.min_samples = min_samples
        if metric not in _METRICS:
            raise ConfigError(
                "metric", metric, f"one of {', '.join(map(repr, _METRICS))}", owner="WindowedMetric"
            )
        check_int("WindowedMetric", "window_size", window_size, 1)
        check_real("WindowedMetric", "tolerance", tolerance, low=0.0)
        check_int("WindowedMetric", "min_samples", min_samples, 1, window_size)

    def _fit(self, reference: View) -> None:
        if reference.labels is None:
            raise ConfigError(
                "reference", "no labels", "a reference view with labels", owner="WindowedMetric"
            )
        values = _per_row(self.metric, reference.labels, reference.label_scores)
        if values.size == 0:
            raise ConfigError(
                "reference",
                "no non-NaN labels",
                "a reference view with at least one labelled row",
                owner="WindowedMetric",
            )
        self.reference_metric_ = float(np.mean(values))
        if not np.isfinite(self.reference_metric_):
            raise ConfigError(
                "reference",
                f"{self.metric}={self.reference_metric_}",
                "a reference whose metric is finite (an infinite one could never be beaten: "
                "the monitor would be blind)",
                owner="WindowedMetric",
            )
        self.window_ = Ring(self.window_size, 1, dtype=np.float64, fill=np.nan)

    def _update(self, view: View) -> Verdict:
        if view.n_labels:
            self.window_.extend(_per_row(self.metric, view.labels, view.label_scores)[:, None])
        threshold = float(self.tolerance)
        size = self.window_.size
        if size < self.min_samples:
            return Verdict(statistic=float("nan"), threshold=threshold, alarm=False)
        # np.mean's own sum and division, without its Python-level bookkeeping
        window = float(np.add.reduce(self.window_.values, axis=None)) / size
        if self.metric == "accuracy":
            statistic = self.reference_metric_ - window
        else:
            statistic = window - self.reference_metric_
        return Verdict(statistic, threshold, statistic > threshold)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {},
            {"metric": "log_loss", "tolerance": 0.1, "window_size": 500, "min_samples": 100},
        ]
