"""Prediction-score monitors: watch the model's outputs, which need no labels."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import (
    PSI_EPS,
    BucketSearch,
    CodeWindow,
    NumericBinner,
    _as_float,
    bincount_2d,
    check_int,
    check_real,
    check_some_finite,
    psi_from_counts,
)
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError, SchemaError

__all__ = ["ScorePSI"]


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
