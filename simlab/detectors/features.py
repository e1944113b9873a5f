"""Input-feature monitors: PSI and KS, one statistic per feature over a sliding window of rows."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import (
    PSI_EPS,
    BucketSearch,
    CategoricalBinner,
    CodeWindow,
    ECDFCoder,
    KSDistance,
    NumericBinner,
    _as_float,
    bincount_2d,
    check_features,
    check_int,
    check_real,
    check_some_finite,
    is_numeric,
    ks_critical,
    psi_from_counts,
)
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError, SchemaError

__all__ = ["KS", "PSI"]


def _blame(names: list[str], over: np.ndarray) -> tuple[str, ...]:
    """The features whose statistic is over its threshold."""
    return tuple(n for n, o in zip(names, over.tolist(), strict=True) if o) if over.any() else ()


def _check_window(owner: str, window_size, min_samples) -> None:
    check_int(owner, "window_size", window_size, 1)
    check_int(owner, "min_samples", min_samples, 1, window_size)


def _select(owner: str, features, reference: View) -> list[str]:
    """The monitored columns: `features` in its order, or every reference column sorted."""
    names = sorted(reference.columns) if features is None else list(features)
    if not names:
        raise ConfigError("reference", "no columns", "a reference view with columns", owner=owner)
    missing = [f for f in names if f not in reference.columns]
    if missing:
        raise ConfigError(
            "features",
            features,
            f"names among the reference columns {list(reference.columns)}",
            owner=owner,
        )
    if reference.n == 0:
        raise ConfigError(
            "reference", "0 rows", "a reference view with at least one row", owner=owner
        )
    return names


def _columns(owner: str, names: list[str], view: View) -> tuple[list[np.ndarray], int]:
    """The view's monitored columns, checked to be of one length.

    A column the view lacks (dropped or renamed upstream) reads as all missing: NaN in every
    row, which the binners count in their *missing* bin. A monitor sees the gap instead of
    crashing on it.
    """
    columns = view.columns
    present = [columns[name] for name in names if name in columns]
    n = present[0].shape[0] if present else view.n
    out = []
    for name in names:
        values = columns.get(name)
        if values is None:
            values = np.full(n, np.nan)
        elif values.shape[0] != n:
            raise SchemaError(f"{owner}: column {name!r} has {values.shape[0]} rows, not {n}")
        out.append(values)
    return out, n


def _unbinnable(owner: str, name: str, values: np.ndarray, exc: Exception) -> SchemaError:
    return SchemaError(f"{owner}: column {name!r} (dtype {values.dtype}) cannot be binned: {exc}")


def _floats(owner: str, names: list[str], columns: list[np.ndarray], n: int) -> np.ndarray:
    """``(features, rows)`` float64 block of numeric columns (None becomes NaN)."""
    if all(values.dtype == np.float64 for values in columns):
        return np.array(columns)
    x = np.empty((len(columns), n))
    for f, (name, values) in enumerate(zip(names, columns, strict=True)):
        try:
            x[f] = _as_float(values)
        except (TypeError, ValueError) as exc:
            raise _unbinnable(owner, name, values, exc) from exc
    return x


def _block(owner: str, names: list[str], view: View) -> np.ndarray:
    """`_floats` of the view's monitored columns, the common case first.

    When every column is present, of one length and numeric (not object), one
    ``np.array`` stacks them, converting as `_floats` does (ints and bools to float64);
    anything else takes the checked path (`_columns`, then `_floats`).
    """
    columns = view.columns
    try:
        x = np.array([columns[name] for name in names])
    except (KeyError, ValueError, TypeError):  # a missing column, ragged or unstackable ones
        x = None
    if x is None or x.ndim != 2 or x.dtype != np.float64:
        values, n = _columns(owner, names, view)
        return _floats(owner, names, values, n)
    return x


@DETECTORS.register("psi")
class PSI(BaseDetector):
    r"""Population stability index of each feature: the sliding window against the reference.

    Parameters
    ----------
    features
        Columns to monitor, in the order of the statistic; None means every column
        of the reference view, sorted by name.
    n_bins
        Quantile bins per numeric feature (tied quantiles merge bins).
    threshold
        Alarm when any feature's PSI exceeds it (0.1 "watch", 0.2–0.25 "act" are
        the customary levels); the verdict blames every feature over it.
    window_size
        The statistic compares the most recent `window_size` rows seen with the reference.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.
    on
        ``"upstream"``: the columns as the world emits them (what every consumer sees);
        ``"served"``: the model's served features, after the serving pipeline, against
        what the training pipeline made of the reference rows (how train/serve skew shows).

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    binners_
        One binner per feature (quantile edges or categories).
    numeric_
        Positions of the numeric features in `features_`.
    search_
        Bins a tick's numeric features (a `BucketSearch` over the binners' edges).
    reference_props_
        ``(feature, bin)`` reference proportions (padded bins are 0).
    counts_
        ``(feature, bin)`` counts of the window (``window_.counts``).
    window_
        The window's bin codes (a ``(feature, window_size)`` ring) and their counts.

    Notes
    -----
    Numeric bins have the reference's ``n_bins``-quantiles as edges (unique ones only),
    with outer edges −∞ and +∞, so ±inf fall into the outer bins; NaN (and None) go to a
    dedicated *missing* bin. Categorical bins are the reference categories plus one
    *unseen* bin and the *missing* bin. With window proportions ``p`` and reference
    proportions ``q`` per bin,

    .. math:: \mathrm{PSI} = \sum_i (p_i - q_i) \ln(p_i / q_i),

    the symmetrised Kullback–Leibler divergence ``KL(p‖q) + KL(q‖p)`` of the binned
    distributions. Each proportion is floored at ε = 1e-4 (`PSI_EPS`) before the sum,
    without renormalising: a bin empty on both sides adds exactly 0 and a bin empty on
    one side adds a finite ``(p − ε) ln(p / ε)``. Under no change, PSI ≈ χ²/N with
    ``B − 1`` degrees of freedom and ``1/N = 1/n + 1/m``, so its mean is about
    ``(B − 1)(1/n + 1/m)`` (0.011 for 10 bins, n = 5000, m = 1000).

    Updates cost O(rows) per feature, in vector operations over all numeric features at
    once: the new rows are binned (`BucketSearch`, the numbers of ``searchsorted`` on
    the edges), pushed into the ring buffer with slice assignments, and the window's
    counts are adjusted in place for the codes that enter and those that leave (or
    recounted when a tick replaces most of the window).

    References
    ----------
    .. [1] Yurdakul, B. (2018). *Statistical Properties of Population Stability Index*.
       PhD dissertation, Western Michigan University.
    .. [2] Siddiqi, N. (2006). *Credit Risk Scorecards*. Wiley, ch. 8 (the 0.1 / 0.25 rule).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import PSI, View
    >>> rng = np.random.default_rng(0)
    >>> det = PSI(window_size=500).fit(View(columns={"x": rng.normal(size=2000)}))
    >>> v = det.update(View(columns={"x": rng.normal(size=500)}))
    >>> round(float(v.statistic[0]), 3) < 0.05, v.alarm
    (True, False)
    >>> v = det.update(View(columns={"x": rng.normal(1.0, size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.94, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.FEATURES, per_feature=True, threshold="threshold")

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        n_bins: int = 10,
        threshold: float = 0.2,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.n_bins = n_bins
        self.threshold = threshold
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("PSI", features)
        check_int("PSI", "n_bins", n_bins, 2)
        check_real("PSI", "threshold", threshold, low=0.0, open_low=True)
        _check_window("PSI", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self.features_ = _select("PSI", self.features, reference)
        for f in self.features_:
            if is_numeric(reference.columns[f]):
                check_some_finite("PSI", f, reference.columns[f])
        self.binners_ = [
            NumericBinner(reference.columns[f], self.n_bins)
            if is_numeric(reference.columns[f])
            else CategoricalBinner(reference.columns[f])
            for f in self.features_
        ]
        self.n_cells_ = max(b.n_cells for b in self.binners_)
        columns = [reference.columns[f] for f in self.features_]
        codes = np.stack([b.codes(c) for b, c in zip(self.binners_, columns, strict=True)])
        self.reference_props_ = bincount_2d(codes.T, self.n_cells_) / codes.shape[1]
        self._floored = np.maximum(self.reference_props_, PSI_EPS)  # psi's floor, once
        self._threshold = np.full(len(self.features_), float(self.threshold))
        self.window_ = CodeWindow(self.window_size, len(self.features_), self.n_cells_)
        numeric = [i for i, b in enumerate(self.binners_) if isinstance(b, NumericBinner)]
        self.numeric_ = numeric
        self.search_ = BucketSearch(
            [self.binners_[i].edges_ for i in numeric],
            [self.binners_[i].n_cells - 1 for i in numeric],
            self.window_.offsets[numeric, 0],
            steps=1,
        )

    @property
    def counts_(self) -> np.ndarray:
        """``(feature, bin)`` counts of the window."""
        return self.window_.counts

    def _codes(self, view: View) -> np.ndarray:
        """Flat ``(feature, rows)`` codes of a view (see `CodeWindow`)."""
        names = self.features_
        numeric = self.numeric_
        if len(numeric) == len(names):
            return self.search_.search(_block("PSI", names, view))
        columns, n = _columns("PSI", names, view)
        flat = np.empty((len(names), n), dtype=np.intp)
        if numeric:
            x = _floats("PSI", [names[i] for i in numeric], [columns[i] for i in numeric], n)
            flat[numeric] = self.search_.search(x)
        for f, (name, values, binner) in enumerate(zip(names, columns, self.binners_, strict=True)):
            if f not in numeric:
                try:
                    flat[f] = binner.codes(values) + f * self.n_cells_
                except (TypeError, ValueError) as exc:
                    raise _unbinnable("PSI", name, values, exc) from exc
        return flat

    def _update(self, view: View) -> Verdict:
        self.window_.push(self._codes(view))
        threshold = self._threshold.copy()
        size = self.window_.size
        if size < self.min_samples:
            return Verdict(
                statistic=np.full(threshold.size, np.nan), threshold=threshold, alarm=False
            )
        statistic = psi_from_counts(self.window_.counts, size, self._floored)
        over = statistic > threshold
        return Verdict(statistic, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"features": ("x0", "c"), "n_bins": 5, "window_size": 300, "min_samples": 50}]


@DETECTORS.register("ks")
class KS(BaseDetector):
    r"""Two-sample Kolmogorov–Smirnov test of each numeric feature: window against reference.

    Parameters
    ----------
    features
        Numeric columns to test, in the order of the statistic; None means every column
        of the reference view, sorted by name (categorical columns are then refused:
        they belong to a chi-square test).
    alpha
        Family-wise false-alarm probability per tick (Bonferroni over the features); the
        verdict blames every feature over its critical value.
    window_size
        The test uses the most recent `window_size` rows seen.
    min_samples
        A feature whose window holds fewer non-NaN values gets a nan statistic and
        cannot alarm.
    on
        ``"upstream"``: the columns as the world emits them (what every consumer sees);
        ``"served"``: the model's served features, after the serving pipeline, against
        what the training pipeline made of the reference rows (how train/serve skew shows).

    Attributes
    ----------
    features_
        The tested columns, in the order of the statistic.
    coders_
        One `ECDFCoder` per feature (the sorted unique reference values).
    distance_
        The statistic from the window's counts (a `KSDistance` over the reference ECDF).
    search_
        Codes a tick's values (a `BucketSearch` over the coders' keys).
    window_
        The window's codes (a ``(feature, window_size)`` ring) and their counts.

    Notes
    -----
    With reference ECDF ``F_n`` (``n`` non-NaN values) and window ECDF ``G_m``
    (``m`` non-NaN values), the statistic is ``D = sup_x |F_n(x) − G_m(x)|``, exactly
    what `scipy.stats.ks_2samp` reports. A feature alarms when ``D`` exceeds the
    asymptotic critical value

    .. math:: c(α/k) \sqrt{(n + m) / (n m)}, \quad c(a) = \sqrt{-\ln(a/2)/2},

    with ``k`` tested features (Bonferroni), so under no change the chance that a tick
    alarms is at most about α. NaN values are dropped; ±inf are ordinary (extreme)
    values.

    Each incoming value is stored as its code in the sorted unique reference values
    (twice its insertion index, plus one if it equals that reference value), found for
    all features at once by `BucketSearch`. Codes are monotone, and the reference ECDF is
    constant across values that share a code, so the supremum can be read from the
    window's histogram of codes alone: ``max_c |F_n(c) − cum_c / m|`` over the code grid,
    with ``cum_c`` the window values of code ``<= c`` (`KSDistance`). The histogram
    slides with the window (the codes that enter are counted, those that leave
    discounted), so an update costs O(rows) to code the new rows (a bucket look-up and
    one comparison with the reference value there) and O(n) vector operations per
    feature for the statistic, with no sort of the window. The critical values depend
    on the window sizes alone and are kept while those do not change.

    References
    ----------
    .. [1] Smirnov, N. (1948). Table for estimating the goodness of fit of empirical
       distributions. *Annals of Mathematical Statistics* 19(2), 279–281.
    .. [2] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS* (univariate KS with
       Bonferroni correction).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import KS, View
    >>> rng = np.random.default_rng(0)
    >>> det = KS(window_size=500).fit(View(columns={"x": rng.normal(size=2000)}))
    >>> v = det.update(View(columns={"x": rng.normal(size=500)}))
    >>> round(float(v.threshold[0]), 3), v.alarm
    (0.081, False)
    >>> v = det.update(View(columns={"x": rng.normal(0.5, size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.2, True)
    """

    tags: ClassVar[Tags] = Tags(
        watches=Watches.FEATURES, per_feature=True, threshold="alpha", direction=-1
    )

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        alpha: float = 0.01,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("KS", features)
        check_real("KS", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("KS", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        names = _select("KS", self.features, reference)
        categorical = [f for f in names if not is_numeric(reference.columns[f])]
        if categorical:
            raise ConfigError(
                "features",
                self.features,
                f"numeric columns only; {categorical} are categorical (test them with a "
                "chi-square detector, or list the numeric features)",
                owner="KS",
            )
        self.features_ = names
        widths = [2 * np.unique(reference.columns[f]).size + 2 for f in names]
        self.n_cells_ = max(widths)
        self.coders_ = [ECDFCoder(reference.columns[f], self.n_cells_) for f in names]
        empty = [f for f, c in zip(names, self.coders_, strict=True) if c.n_ == 0]
        if empty:
            raise ConfigError(
                "reference", f"all NaN in {empty}", "at least one non-NaN value", owner="KS"
            )
        self.table_ = np.stack([c.table_ for c in self.coders_])
        self.distance_ = KSDistance(self.table_[:, :-1, 0])
        self.n_reference_ = np.array([c.n_ for c in self.coders_])
        self.window_ = CodeWindow(self.window_size, len(names), self.n_cells_)
        self._m_key = None  # the window sizes `_thresholds` last answered for
        self.search_ = BucketSearch(
            [c.keys_ for c in self.coders_],
            [self.n_cells_ - 1] * len(names),
            self.window_.offsets[:, 0],
            pairs=True,
        )

    def _thresholds(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Critical values for window sizes `m`, and the mask of features below `min_samples`.

        Short features get nan; the mask is None if there is none. Both depend on `m`
        alone, so they are remembered while it stays put (a full window of finite values).
        """
        key = m.tobytes()
        if key != self._m_key:
            threshold = ks_critical(self.alpha / len(self.features_), self.n_reference_, m)
            short = m < self.min_samples
            threshold[short] = np.nan
            self._m_key, self._critical = key, (threshold, short if short.any() else None)
        return self._critical

    def _update(self, view: View) -> Verdict:
        self.window_.push(self.search_.search(_block("KS", self.features_, view)))
        stat, m = self.distance_(self.window_.counts)
        threshold, short = self._thresholds(m)
        if short is not None:
            stat[short] = np.nan
        threshold = threshold.copy()
        # nan (a short feature) compares false: the same as testing only the others
        over = stat > threshold
        return Verdict(stat, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {"features": ("x0", "x1", "x2")},
            {"features": ("x1", "x0"), "alpha": 0.05, "window_size": 300, "min_samples": 50},
        ]
