"""One definition of each quality metric, shared by offline evaluation, the Run and the monitors.

Per-row values (`row_values`) define every metric: a row is *correct* when its score is on
the side of `CUTOFF` that its label is on, its *log-loss* is ``-ln q`` with ``q`` the
probability the score gave the true class (floored at `EPS`), and its *absolute error* is
``|y - prediction|``. Online metrics are built from additive per-tick sums of these
(`binary_sums`, `regression_sums`), so a trailing window is a difference of cumulative sums:
accuracy and log-loss exactly, AUC from class-conditional score histograms on `N_AUC_BINS`
equal bins of [0, 1] (ties inside a bin count one half, so the error is at most the share of
positive-negative pairs that fall in the same bin). The windowed-metric monitor averages the
same per-row values, so the Run and the monitor can never disagree on a definition.

**A row without a score** (NaN: the serving request failed) is a failed prediction, and
counts in every metric as the worst it can be: wrong for accuracy, ``-ln EPS`` (about 34.5)
for log-loss, and an infinite absolute error (a window holding one has an infinite MAE). It
has no rank, so AUC leaves it out. Hiding such rows would hide the harm a broken pipeline
does.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "BINARY_METRICS",
    "CUTOFF",
    "EPS",
    "HIGHER_IS_BETTER",
    "METRIC_UNITS",
    "N_AUC_BINS",
    "REGRESSION_METRICS",
    "auc_from_hist",
    "binary_sums",
    "binary_sums_into",
    "coarse_scores",
    "metrics_from_sums",
    "regression_sums",
    "row_values",
    "score_bins",
]

N_AUC_BINS = 200
EPS = 1e-15  # log-loss floor on probabilities, as scikit-learn's log_loss uses
CUTOFF = 0.5  # a score at or above it predicts class 1 (accuracy's definition)
BINARY_METRICS = ("accuracy", "log_loss", "auc")
REGRESSION_METRICS = ("mae",)
HIGHER_IS_BETTER = {"accuracy": True, "log_loss": False, "auc": True, "mae": False}
METRIC_UNITS = {"accuracy": "1", "log_loss": "nats", "auc": "1", "mae": "target units"}


@functools.cache  # the import statement costs a microsecond a call
def _kernels():
    """The compiled reductions, imported on first use (numba adds 0.15 s to an import)."""
    from simlab import _compiled

    return _compiled


def row_values(metric: str, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each row's contribution to `metric` (``"accuracy"``, ``"log_loss"`` or ``"mae"``).

    Accuracy gives 1.0 for a correct row and 0.0 otherwise; log-loss gives ``-ln q``; MAE the
    absolute error. A NaN score is a failed prediction (see the module's notes): 0.0, ``-ln
    EPS`` and ``inf``. The metric over any set of rows is the mean of these values.

    Examples
    --------
    >>> import numpy as np
    >>> y, s = np.array([1, 0, 1]), np.array([0.9, 0.2, np.nan])
    >>> row_values("accuracy", y, s).tolist()
    [1.0, 1.0, 0.0]
    >>> [round(float(v), 3) for v in row_values("log_loss", y, s)]
    [0.105, 0.223, 34.539]
    >>> row_values("mae", np.array([1.0, 2.0]), np.array([1.5, np.nan])).tolist()
    [0.5, inf]
    """
    s = np.asarray(scores, dtype=float)
    if metric == "mae":
        err = np.abs(np.asarray(y, dtype=float) - s)
        return np.where(np.isnan(s), np.inf, err)
    pos = np.asarray(y) == 1
    if metric == "accuracy":
        return np.where(pos, s >= CUTOFF, s < CUTOFF).astype(np.float64)  # NaN: both False
    if metric == "log_loss":
        q = np.clip(np.where(pos, s, 1.0 - s), EPS, 1.0)
        return -np.log(np.where(np.isnan(q), EPS, q))
    raise ValueError(f"unknown metric {metric!r}; expected accuracy, log_loss or mae")


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


def binary_sums(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Additive statistics of binary predictions: ``[n, n_correct, sum_log_loss]`` and hist.

    The histogram has shape ``(2, N_AUC_BINS)``: counts of scores among negatives, positives.
    With `weights`, every row counts with its weight (sums and histogram become weighted),
    which is how inverse-propensity estimates are built. Rows follow `row_values`.

    Examples
    --------
    >>> import numpy as np
    >>> sums, hist = binary_sums(np.array([1, 0]), np.array([0.9, 0.2]))
    >>> sums.round(4).tolist(), int(hist.sum())
    ([2.0, 2.0, 0.3285], 2)
    >>> sums, hist = binary_sums(np.array([1, 0]), np.array([0.9, 0.7]), weights=np.array([3, 1]))
    >>> sums.round(4).tolist(), float(hist.sum())
    ([4.0, 3.0, 1.5201], 4.0)
    """
    y = np.asarray(y)
    s = np.asarray(scores, dtype=float)
    if weights is None:
        sums, hist = np.empty(3), np.empty((2, N_AUC_BINS), np.int64)
        if binary_sums_into(y, s, sums, hist):
            return sums, hist
    pos = y == 1
    correct = row_values("accuracy", y, s)
    ll = row_values("log_loss", y, s)
    b = score_bins(s)
    ok = b >= 0
    codes = pos[ok].astype(np.int64) * N_AUC_BINS + b[ok]
    if weights is None:
        sums = np.array([y.shape[0], correct.sum(), ll.sum()], dtype=float)
        hist = np.bincount(codes, minlength=2 * N_AUC_BINS)
    else:
        w = np.asarray(weights, dtype=float)
        sums = np.array([w.sum(), (w * correct).sum(), (w * ll).sum()])
        hist = np.bincount(codes, weights=w[ok], minlength=2 * N_AUC_BINS)
    return sums, hist.reshape(2, N_AUC_BINS)


def binary_sums_into(y: np.ndarray, scores: np.ndarray, sums: np.ndarray, hist: np.ndarray) -> bool:
    """`binary_sums` written into `sums` (3,) and `hist` (2, N_AUC_BINS, int64), if it can.

    The usual case, every score in [0, 1] (no NaN), is one compiled pass that writes the
    same values as `binary_sums` (the logarithms NumPy's) and returns True; otherwise it
    returns False, and what it wrote is to be ignored (take `binary_sums`'s general path).

    Examples
    --------
    >>> import numpy as np
    >>> sums, hist = np.empty(3), np.empty((2, N_AUC_BINS), np.int64)
    >>> binary_sums_into(np.array([1, 0]), np.array([0.9, 0.2]), sums, hist)
    True
    >>> sums.round(4).tolist(), int(hist.sum())
    ([2.0, 2.0, 0.3285], 2)
    >>> binary_sums_into(np.array([1, 0]), np.array([0.9, np.nan]), sums, hist)
    False
    """
    n = y.shape[0]
    if scores.ndim != 1 or y.shape != scores.shape or scores.dtype != np.float64:
        return False
    hist.fill(0)
    if not n:  # no rows: nothing counted
        sums.fill(0.0)
        return True
    q = np.empty(n)
    correct = _kernels().binary_pass(y, scores, CUTOFF, EPS, q, hist)
    if correct < 0:
        return False
    sums[0] = n
    sums[1] = correct
    sums[2] = -np.log(q).sum()
    return True


def regression_sums(
    y: np.ndarray, predictions: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Additive statistics of regression predictions: ``[n, sum_abs_error, n_failed]``.

    The error sum covers the rows with a prediction; ``n_failed`` counts the rows without one
    (NaN), which make the window's MAE infinite (`row_values`). With `weights`, each row
    counts with its weight.

    Examples
    --------
    >>> import numpy as np
    >>> regression_sums(np.array([1.0, 2.0]), np.array([1.5, 2.0])).tolist()
    [2.0, 0.5, 0.0]
    >>> regression_sums(np.array([1.0, 2.0]), np.array([1.5, np.nan])).tolist()
    [2.0, 0.5, 1.0]
    """
    p = np.asarray(predictions, dtype=float)
    failed = np.isnan(p)
    err = np.where(failed, 0.0, np.abs(np.asarray(y, dtype=float) - p))
    if weights is None:
        return np.array([err.shape[0], err.sum(), failed.sum()], dtype=float)
    w = np.asarray(weights, dtype=float)
    return np.array([w.sum(), (w * err).sum(), w[failed].sum()])


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


def metrics_from_sums(
    task: str, sums: np.ndarray, hist: np.ndarray | None = None, *, auc: np.ndarray | None = None
) -> np.ndarray:
    """Metric values (last axis: the task's metrics in order) from additive sums.

    A binary task's AUC comes from `hist`, or is given as `auc` (already computed from the
    histograms, as the Run's trailing windows do with one compiled pass).

    Examples
    --------
    >>> import numpy as np
    >>> sums, hist = binary_sums(np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.4, 0.1]))
    >>> [round(float(v), 3) for v in metrics_from_sums("binary", sums, hist)]
    [0.75, 0.338, 1.0]
    >>> metrics_from_sums("regression", np.array([2.0, 0.5, 1.0])).tolist()
    [inf]
    """
    sums = np.asarray(sums, dtype=float)
    n = sums[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        if task == "binary":
            acc = np.where(n > 0, sums[..., 1] / n, np.nan)
            ll = np.where(n > 0, sums[..., 2] / n, np.nan)
            return np.stack([acc, ll, auc_from_hist(hist) if auc is None else auc], axis=-1)
        mae = np.where(sums[..., 2] > 0, np.inf, sums[..., 1] / n)
        return np.where(n > 0, mae, np.nan)[..., None]


def coarse_scores(true_hist: np.ndarray, n_bins: int) -> np.ndarray:
    """Score histograms ``(..., n_bins)`` from class-conditional AUC histograms ``(..., 2, 200)``.

    Each of the `n_bins` equal bins of [0, 1] gathers ``200 / n_bins`` AUC bins (both
    classes): a binary Run's ``score_hist`` is read this way at the end of the run, not
    computed per tick.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.zeros((1, 2, 200), np.int64)
    >>> h[0, 0, 5], h[0, 1, 150] = 3, 2
    >>> coarse_scores(h, 10)[0].nonzero()[0].tolist(), int(coarse_scores(h, 10).sum())
    ([0, 7], 5)
    """
    scores = true_hist.sum(axis=-2)
    return scores.reshape(*scores.shape[:-1], n_bins, -1).sum(axis=-1)
