"""The only home of the detectors' shared maths: binning, ring buffers, PSI and KS.

Everything here is vectorised NumPy over the rows of a tick (a Python loop over
features is allowed, a loop over rows never). Nothing here knows about `View`,
`Verdict` or parameters' meaning beyond the small argument checks at the bottom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from simlab.errors import ConfigError

__all__ = [
    "PSI_EPS",
    "CategoricalBinner",
    "ECDFCoder",
    "NumericBinner",
    "Ring",
    "bincount_2d",
    "check_features",
    "check_int",
    "check_real",
    "is_numeric",
    "ks_critical",
    "ks_from_codes",
    "psi",
]

#: Floor applied to bin proportions before the PSI logarithm (see `psi`).
PSI_EPS = 1e-4


# --------------------------------------------------------------------------- binning


def is_numeric(values: np.ndarray) -> bool:
    """True if a column is numeric (bool, int, unsigned or float dtype).

    Examples
    --------
    >>> import numpy as np
    >>> is_numeric(np.array([1.0, 2.0])), is_numeric(np.array(["a", "b"]))
    (True, False)
    """
    return np.asarray(values).dtype.kind in "biuf"


def _as_float(values) -> np.ndarray:
    """A float64 copy-or-view of a numeric column (``None`` in object arrays becomes NaN)."""
    a = np.asarray(values)
    if a.dtype.kind == "O":
        a = np.where(np.equal(a, None), np.nan, a)
    return np.asarray(a, dtype=np.float64)


class NumericBinner:
    """Bins from reference quantiles; NaN goes to a dedicated last "missing" bin.

    Parameters
    ----------
    reference
        The reference values (NaN and ±inf allowed; edges use the finite ones).
    n_bins
        The number of quantile bins requested; tied quantiles are merged, so the
        number of value bins is ``len(edges_) + 1 <= n_bins``.

    Attributes
    ----------
    edges_
        Sorted, unique interior edges. Bin ``i`` is ``[edges_[i-1], edges_[i])`` with outer
        edges -inf and +inf, so ±inf fall into the outer bins.
    n_cells
        Value bins plus the missing bin.

    Examples
    --------
    >>> import numpy as np
    >>> b = NumericBinner(np.arange(10.0), n_bins=2)
    >>> [int(c) for c in b.codes(np.array([-np.inf, 4.0, 5.0, np.inf, np.nan]))]
    [0, 0, 1, 1, 2]
    """

    def __init__(self, reference, n_bins: int):
        ref = _as_float(reference)
        finite = ref[np.isfinite(ref)]
        if finite.size:
            probs = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
            self.edges_ = np.unique(np.quantile(finite, probs))
        else:
            self.edges_ = np.empty(0)
        self.n_cells = self.edges_.size + 2

    def codes(self, values) -> np.ndarray:
        """Bin index of every value (``n_cells - 1`` for NaN)."""
        x = _as_float(values)
        codes = np.searchsorted(self.edges_, x, side="right")
        codes[np.isnan(x)] = self.n_cells - 1
        return codes


class CategoricalBinner:
    """One bin per reference category, then an "unseen" bin, then a "missing" bin.

    Values are compared as strings; ``None`` and NaN are missing.

    Parameters
    ----------
    reference
        The reference values.

    Attributes
    ----------
    categories_
        The sorted reference categories (missing excluded).
    n_cells
        ``len(categories_) + 2``.

    Examples
    --------
    >>> import numpy as np
    >>> b = CategoricalBinner(np.array(["b", "a", "b"]))
    >>> [int(c) for c in b.codes(np.array(["a", "b", "zz", None], dtype=object))]
    [0, 1, 2, 3]
    """

    def __init__(self, reference):
        strings, missing = self._strings(reference)
        self.categories_ = np.unique(strings[~missing])
        self.n_cells = self.categories_.size + 2

    @staticmethod
    def _strings(values) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(values)
        if a.dtype.kind == "O":
            missing = np.equal(a, None) | np.not_equal(a, a)
            a = np.where(missing, "", a)
        elif a.dtype.kind == "f":
            missing = np.isnan(a)
        else:
            missing = np.zeros(a.shape, dtype=bool)
        return a.astype(str), np.asarray(missing, dtype=bool)

    def codes(self, values) -> np.ndarray:
        """Bin index of every value (``n_cells - 2`` unseen, ``n_cells - 1`` missing)."""
        strings, missing = self._strings(values)
        n_cat = self.categories_.size
        if n_cat == 0:
            codes = np.zeros(strings.shape, dtype=np.intp)
        else:
            codes = np.searchsorted(self.categories_, strings)
            found = self.categories_[np.minimum(codes, n_cat - 1)] == strings
            codes[~found] = n_cat
        codes[missing] = n_cat + 1
        return codes


class ECDFCoder:
    """Codes that keep exactly what the two-sample KS statistic needs from a value.

    With the sorted unique non-NaN reference values ``u_0 < ... < u_{K-1}``, a value
    ``x`` gets code ``2i + 1`` if ``x == u_i`` and ``2i`` if ``u_{i-1} < x < u_i``
    (``u_{-1} = -inf``, ``u_K = +inf``); NaN gets ``n_cells - 1``. Codes are monotone
    in ``x``, and two values with the same code have the same reference ECDF value and
    nothing of the reference between them, which is all `ks_from_codes` uses.

    Parameters
    ----------
    reference
        The reference values (NaN are dropped; ±inf are ordinary values).
    n_cells
        The total number of cells, at least ``2K + 2``; larger values pad (so that
        several features can share one table width).

    Attributes
    ----------
    n_
        Non-NaN reference values.
    table_
        ``(n_cells, 2)``: per code, the reference ECDF at the value and just below it.

    Examples
    --------
    >>> import numpy as np
    >>> c = ECDFCoder(np.array([1.0, 2.0, 2.0]))
    >>> [int(v) for v in c.codes(np.array([0.5, 1.0, 1.5, 2.0, 3.0, np.nan]))]
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, reference, n_cells: int | None = None):
        ref = _as_float(reference)
        ref = ref[~np.isnan(ref)]
        self.n_ = int(ref.size)
        self.values_, counts = np.unique(ref, return_counts=True)
        k = self.values_.size
        self.n_cells = 2 * k + 2 if n_cells is None else int(n_cells)
        cdf = np.cumsum(counts) / max(self.n_, 1)
        below = np.concatenate(([0.0], cdf))  # ECDF just below u_i, and at u_{i-1}
        right = np.ones(self.n_cells)
        left = np.ones(self.n_cells)
        right[0 : 2 * k + 1 : 2] = below  # strictly between: ECDF is constant
        left[0 : 2 * k + 1 : 2] = below
        right[1 : 2 * k : 2] = cdf  # equal to u_i: the jump
        left[1 : 2 * k : 2] = below[:-1]
        self.table_ = np.stack((right, left), axis=1)

    def codes(self, values) -> np.ndarray:
        """The code of every value."""
        x = _as_float(values)
        k = self.values_.size
        # Searching sorted keys is several times faster (predictable branches).
        order = np.argsort(x)
        i = np.empty(x.shape, dtype=np.intp)
        i[order] = np.searchsorted(self.values_, x[order], side="left")
        if k:
            equal = (i < k) & (self.values_[np.minimum(i, k - 1)] == x)
        else:
            equal = np.zeros(x.shape, dtype=bool)
        codes = (2 * i + equal).astype(np.int32)
        codes[np.isnan(x)] = self.n_cells - 1
        return codes


# --------------------------------------------------------------------------- windows


class Ring:
    """A fixed-capacity FIFO of rows: the last `capacity` rows pushed.

    Parameters
    ----------
    capacity
        Rows kept.
    width
        Columns per row.
    dtype, fill
        Storage type, and the value of slots never written.

    Examples
    --------
    >>> import numpy as np
    >>> r = Ring(3, 1, dtype=np.int64, fill=-1)
    >>> [int(v) for v in r.push(np.array([[1], [2]]))[:, 0]]
    [-1, -1]
    >>> [int(v) for v in r.push(np.array([[3], [4]]))[:, 0]]
    [-1, 1]
    >>> sorted(int(v) for v in r.values[:, 0]), r.size
    ([2, 3, 4], 3)
    """

    def __init__(self, capacity: int, width: int, *, dtype, fill):
        self.capacity = int(capacity)
        self.fill = fill
        self.data = np.full((self.capacity, width), fill, dtype=dtype)
        self.pos = 0  # next slot to write; while not full, pos == size
        self.size = 0

    @property
    def values(self) -> np.ndarray:
        """The rows held, in storage order (not time order)."""
        return self.data if self.size == self.capacity else self.data[: self.size]

    def push(self, rows: np.ndarray) -> np.ndarray:
        """Append rows; return every row that left or never entered (``fill`` for empty slots).

        Pushed rows that are evicted by later rows of the same push are returned too,
        so ``count(held) == count(held before) + count(rows) - count(returned)``.
        """
        rows = np.asarray(rows, dtype=self.data.dtype)
        r = rows.shape[0]
        if r == 0:
            return self.data[:0].copy()
        if r >= self.capacity:
            evicted = np.concatenate((self.data, rows[: r - self.capacity]))
            self.data = rows[r - self.capacity :].copy()
            self.pos, self.size = 0, self.capacity
            return evicted
        idx = (self.pos + np.arange(r)) % self.capacity
        evicted = self.data[idx]
        self.data[idx] = rows
        self.pos = (self.pos + r) % self.capacity
        self.size = min(self.size + r, self.capacity)
        return evicted


def bincount_2d(codes: np.ndarray, n_cells: int) -> np.ndarray:
    """Counts per (column, code) of an ``(rows, columns)`` int array; negative codes ignored.

    Examples
    --------
    >>> import numpy as np
    >>> bincount_2d(np.array([[0, 1], [0, -1]]), 2).tolist()
    [[2, 0], [0, 1]]
    """
    n_cols = codes.shape[1]
    width = n_cells + 1  # cell 0 of each column collects the negative (ignored) codes
    flat = np.maximum(codes, -1) + 1 + np.arange(n_cols) * width
    counts = np.bincount(flat.ravel(), minlength=n_cols * width).reshape(n_cols, width)
    return counts[:, 1:]


# --------------------------------------------------------------------------- statistics


def psi(p: np.ndarray, q: np.ndarray, eps: float = PSI_EPS) -> np.ndarray:
    """Population stability index along the last axis: Σ (p − q) ln(p / q).

    Proportions below `eps` are raised to `eps` first (no renormalisation), so an
    empty bin on one side contributes a large but finite term and a bin empty on
    both sides contributes exactly 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(psi(np.array([0.25, 0.75]), np.array([0.5, 0.5]))), 6)
    0.274653
    """
    p = np.maximum(p, eps)
    q = np.maximum(q, eps)
    return np.sum((p - q) * np.log(p / q), axis=-1)


def ks_from_codes(
    codes: np.ndarray, table: np.ndarray, nan_code: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample KS statistic per feature from a window's `ECDFCoder` codes.

    Parameters
    ----------
    codes
        ``(features, rows)`` window codes (any order).
    table
        ``(features, n_cells, 2)``: the `ECDFCoder.table_` of each feature.
    nan_code
        The code of NaN (dropped), the same for every feature (``n_cells - 1``).

    Returns
    -------
    statistic, m
        The KS statistic (nan where the window has no non-NaN value) and the number of
        non-NaN window values, per feature.

    Examples
    --------
    >>> import numpy as np
    >>> c = ECDFCoder(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> codes = c.codes(np.array([3.5, 4.5]))[None, :]
    >>> d, m = ks_from_codes(codes, c.table_[None], c.n_cells - 1)
    >>> float(d[0]), int(m[0])
    (0.75, 2)
    """
    k, size = codes.shape
    if size == 0:
        return np.full(k, np.nan), np.zeros(k, dtype=np.int64)
    n_cells = table.shape[1]
    m = np.count_nonzero(codes != nan_code, axis=1)
    # Sorted rows plus a per-feature offset: one globally sorted 1-D array.
    flat = (np.sort(codes, axis=1) + (np.arange(k) * n_cells)[:, None]).ravel()
    is_last = np.ones(flat.size, dtype=bool)
    is_last[:-1] = flat[1:] != flat[:-1]
    ends = np.flatnonzero(is_last)  # last position of each group of equal codes
    group = flat[ends]
    feature = group // n_cells
    offset = feature * size
    inv_m = (1.0 / np.maximum(m, 1))[feature]
    at = table.reshape(-1, 2)[group]
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    gap = np.maximum(
        np.abs(at[:, 0] - (ends + 1 - offset) * inv_m),
        np.abs(at[:, 1] - (starts - offset) * inv_m),
    )
    gap[group - feature * n_cells == nan_code] = 0.0
    first_group = np.flatnonzero(np.concatenate(([True], feature[1:] != feature[:-1])))
    stat = np.maximum.reduceat(gap, first_group)
    return np.where(m > 0, stat, np.nan), m


def ks_critical(alpha: float, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Asymptotic two-sample KS critical value c(α)·sqrt((n + m) / (n·m)).

    ``c(α) = sqrt(−ln(α / 2) / 2)``; nan where ``n`` or ``m`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(ks_critical(0.05, np.array([100]), np.array([100]))[0]), 4)
    0.1921
    """
    n = np.asarray(n, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    c = math.sqrt(-math.log(alpha / 2.0) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        crit = c * np.sqrt((n + m) / (n * m))
    return np.where((n > 0) & (m > 0), crit, np.nan)


# --------------------------------------------------------------------------- argument checks


def check_int(owner: str, key: str, value, low: int, high: int | None = None) -> None:
    """Raise `ConfigError` unless `value` is an int (not a bool) in ``[low, high]``.

    Examples
    --------
    >>> check_int("PSI", "n_bins", 1, 2)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: PSI: n_bins=1 is not allowed; expected an int >= 2
    """
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if ok and value >= low and (high is None or value <= high):
        return
    allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
    raise ConfigError(key, value, allowed, owner=owner)


def check_real(
    owner: str, key: str, value, *, low: float, high: float = math.inf, open_low: bool = False
) -> None:
    """Raise `ConfigError` unless `value` is a real number in the given range.

    Examples
    --------
    >>> check_real("KS", "alpha", 1.5, low=0.0, high=1.0, open_low=True)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: KS: alpha=1.5 is not allowed; expected a number in (0.0, 1.0)
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if ok and not math.isnan(value):
        above = value > low if open_low else value >= low
        below = value < high if math.isfinite(high) else math.isfinite(value)
        if above and below:
            return
    left = "(" if open_low else "["
    right = f"{high})" if math.isfinite(high) else "inf)"
    raise ConfigError(key, value, f"a number in {left}{low}, {right}", owner=owner)


def check_features(owner: str, value) -> None:
    """Raise `ConfigError` unless `value` is None or a non-empty sequence of distinct names.

    Examples
    --------
    >>> check_features("PSI", ("x0", "x1"))
    >>> check_features("PSI", "x0")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: PSI: features='x0' is not allowed; expected None or ...
    """
    if value is None:
        return
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(v, str) for v in value)
        and len(set(value)) == len(value)
    )
    if not ok:
        raise ConfigError(
            "features",
            value,
            "None or a non-empty list of distinct column names",
            owner=owner,
        )
