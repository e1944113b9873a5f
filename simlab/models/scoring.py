"""Per-row quality measures and additive sufficient statistics, shared by offline and online views.

Every online metric is computed from additive per-tick sums so a trailing window is a
difference of cumulative sums: accuracy and log-loss exactly, AUC from class-conditional
score histograms on `N_AUC_BINS` equal bins of [0, 1] (ties inside a bin count one half,
so the error is at most the share of positive-negative pairs that fall in the same bin).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BINARY_METRICS",
    "EPS",
    "N_AUC_BINS",
    "REGRESSION_METRICS",
    "auc_from_hist",
    "binary_sums",
    "metrics_from_sums",
    "regression_sums",
]

N_AUC_BINS = 200
EPS = 1e-15  # log-loss floor on probabilities, as scikit-learn's log_loss uses
BINARY_METRICS = ("accuracy", "log_loss", "auc")
REGRESSION_METRICS = ("mae",)
HIGHER_IS_BETTER = {"accuracy": True, "log_loss": False, "auc": True, "mae": False}


def score_bins(scores: np.ndarray) -> np.ndarray:
    """The AUC bin (0 .. N_AUC_BINS - 1) of each probability; NaN scores get -1.

    Examples
    --------
    >>> import numpy as np
    >>> score_bins(np.array([0.0, 0.5, 1.0, np.nan])).tolist()
    [0, 100, 199, -1]
    """
    s = np.asarray(scores, dtype=float)
    b = np.floor(s * N_AUC_BINS)
    b = np.where(np.isfinite(b), np.clip(b, 0, N_AUC_BINS - 1), -1)
    return b.astype(np.int64)


def binary_sums(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Additive statistics of binary predictions: ``[n, n_correct, sum_log_loss]`` and hist.

    The histogram has shape ``(2, N_AUC_BINS)``: counts of scores among negatives, positives.
    Rows with a NaN score count in ``n`` and as wrong, with the log-loss of the floor.

    Examples
    --------
    >>> import numpy as np
    >>> sums, hist = binary_sums(np.array([1, 0]), np.array([0.9, 0.2]))
    >>> sums.round(4).tolist(), int(hist.sum())
    ([2.0, 2.0, 0.3285], 2)
    """
    y = np.asarray(y)
    s = np.asarray(scores, dtype=float)
    pos = y == 1
    if s.size and s.min() >= 0.0 and s.max() <= 1.0:  # the usual case: no NaN, all in [0, 1]
        q = np.where(pos, s, 1.0 - s)
        np.maximum(q, EPS, out=q)
        b = (s * N_AUC_BINS).astype(np.int64)
        np.minimum(b, N_AUC_BINS - 1, out=b)
        b += pos * N_AUC_BINS
        sums = np.array([y.shape[0], np.count_nonzero((s >= 0.5) == pos), -np.log(q).sum()])
        hist = np.bincount(b, minlength=2 * N_AUC_BINS).reshape(2, N_AUC_BINS)
        return sums, hist
    p = np.clip(np.nan_to_num(s, nan=0.5), EPS, 1 - EPS)
    correct = np.where(pos, s >= 0.5, s < 0.5)
    ll = -np.log(np.where(pos, p, 1.0 - p))
    ll = np.where(np.isnan(s), -np.log(EPS), ll)
    sums = np.array([y.shape[0], correct.sum(), ll.sum()], dtype=float)
    b = score_bins(s)
    ok = b >= 0
    hist = np.bincount(
        pos[ok].astype(np.int64) * N_AUC_BINS + b[ok], minlength=2 * N_AUC_BINS
    ).reshape(2, N_AUC_BINS)
    return sums, hist


def regression_sums(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Additive statistics of regression predictions: ``[n, sum_abs_error]``.

    Examples
    --------
    >>> import numpy as np
    >>> regression_sums(np.array([1.0, 2.0]), np.array([1.5, 2.0])).tolist()
    [2.0, 0.5]
    """
    err = np.abs(np.asarray(y, dtype=float) - np.asarray(predictions, dtype=float))
    return np.array([err.shape[0], np.nansum(err)], dtype=float)


def auc_from_hist(hist: np.ndarray) -> np.ndarray:
    """AUC from class-conditional score histograms ``(..., 2, bins)``; NaN if a class is empty.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([[3, 1, 0], [0, 1, 3]])  # negatives low, positives high
    >>> round(float(auc_from_hist(h)), 4)
    0.9688
    """
    hist = np.asarray(hist, dtype=float)
    neg, pos = hist[..., 0, :], hist[..., 1, :]
    n_neg, n_pos = neg.sum(-1), pos.sum(-1)
    below = np.cumsum(neg, axis=-1) - neg  # negatives strictly below each bin
    wins = (pos * (below + 0.5 * neg)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_neg > 0) & (n_pos > 0), wins / (n_neg * n_pos), np.nan)


def metrics_from_sums(task: str, sums: np.ndarray, hist: np.ndarray | None = None) -> np.ndarray:
    """Metric values (last axis: the task's metrics in order) from additive sums.

    Examples
    --------
    >>> import numpy as np
    >>> sums, hist = binary_sums(np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.4, 0.1]))
    >>> [round(float(v), 3) for v in metrics_from_sums("binary", sums, hist)]
    [0.75, 0.338, 1.0]
    """
    sums = np.asarray(sums, dtype=float)
    n = sums[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        if task == "binary":
            acc = np.where(n > 0, sums[..., 1] / n, np.nan)
            ll = np.where(n > 0, sums[..., 2] / n, np.nan)
            return np.stack([acc, ll, auc_from_hist(hist)], axis=-1)
        return np.where(n > 0, sums[..., 1] / n, np.nan)[..., None]
