"""Input-feature monitors: one statistic per feature over a sliding window of rows.

PSI, the chi-square test, the Jensen–Shannon and Hellinger distances compare binned
distributions (quantile bins of numeric columns, categories of the others: one binning,
`_Binned`); KS and the Wasserstein distance compare numeric values themselves.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import (
    CORRECTIONS,
    PSI_EPS,
    BucketSearch,
    CategoricalBinner,
    CodeWindow,
    ECDFCoder,
    KSDistance,
    NumericBinner,
    QuantileCoupling,
    Ring,
    _as_float,
    bincount_2d,
    check_features,
    check_int,
    check_real,
    check_some_finite,
    chi2_critical,
    chi2_homogeneity,
    chi2_pvalue,
    corrected_level,
    hellinger,
    is_numeric,
    jensen_shannon,
    ks_critical,
    ks_pvalue,
    psi_from_counts,
)
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError, SchemaError

__all__ = ["KS", "PSI", "ChiSquare", "Hellinger", "JensenShannon", "Wasserstein"]


def _blame(names: list[str], over: np.ndarray) -> tuple[str, ...]:
    """The features whose statistic is over its threshold."""
    return tuple(n for n, o in zip(names, over.tolist(), strict=True) if o) if over.any() else ()


def _check_correction(owner: str, correction) -> None:
    if correction is not None and correction not in CORRECTIONS:
        raise ConfigError(
            "correction", correction, f"None or one of {list(CORRECTIONS)}", owner=owner
        )


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


def _numeric_only(owner: str, features, reference: View) -> list[str]:
    """`_select`, refusing categorical columns (a test of numbers cannot take them)."""
    names = _select(owner, features, reference)
    categorical = [f for f in names if not is_numeric(reference.columns[f])]
    if categorical:
        raise ConfigError(
            "features",
            features,
            f"numeric columns only; {categorical} are categorical (test them with a "
            "chi-square detector, or list the numeric features)",
            owner=owner,
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


class _Binned:
    """The binning the binned monitors share (PSI, ChiSquare, JensenShannon, Hellinger).

    Sets, from a reference view: ``features_``, ``binners_`` (quantile bins of numeric
    columns, categories of the others), ``n_cells_``, ``reference_counts_`` and
    ``reference_props_`` (``(feature, bin)``, padded bins 0), ``window_`` (the window's
    codes and counts), ``numeric_`` and ``search_``; `_codes` bins a view. The class
    using it provides ``features``, ``n_bins`` and ``window_size``.
    """

    def _fit_bins(self, reference: View) -> None:
        owner = type(self).__name__
        self.features_ = _select(owner, self.features, reference)
        for f in self.features_:
            if is_numeric(reference.columns[f]):
                check_some_finite(owner, f, reference.columns[f])
        self.binners_ = [
            NumericBinner(reference.columns[f], self.n_bins)
            if is_numeric(reference.columns[f])
            else CategoricalBinner(reference.columns[f])
            for f in self.features_
        ]
        self.n_cells_ = max(b.n_cells for b in self.binners_)
        columns = [reference.columns[f] for f in self.features_]
        codes = np.stack([b.codes(c) for b, c in zip(self.binners_, columns, strict=True)])
        self.reference_counts_ = bincount_2d(codes.T, self.n_cells_)
        self.reference_props_ = self.reference_counts_ / codes.shape[1]
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
        owner = type(self).__name__
        names = self.features_
        numeric = self.numeric_
        if len(numeric) == len(names):
            return self.search_.search(_block(owner, names, view))
        columns, n = _columns(owner, names, view)
        flat = np.empty((len(names), n), dtype=np.intp)
        if numeric:
            x = _floats(owner, [names[i] for i in numeric], [columns[i] for i in numeric], n)
            flat[numeric] = self.search_.search(x)
        for f, (name, values, binner) in enumerate(zip(names, columns, self.binners_, strict=True)):
            if f not in numeric:
                try:
                    flat[f] = binner.codes(values) + f * self.n_cells_
                except (TypeError, ValueError) as exc:
                    raise _unbinnable(owner, name, values, exc) from exc
        return flat


@DETECTORS.register("psi")
class PSI(_Binned, BaseDetector):
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
        self._fit_bins(reference)
        self._floored = np.maximum(self.reference_props_, PSI_EPS)  # psi's floor, once
        self._threshold = np.full(len(self.features_), float(self.threshold))

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


#: KS reads D from the window's sorted codes (`KSDistance.from_codes`) rather than from the
#: cumulative counts over every cell when the grid has more than this many cells per window
#: row: O(window log window) against O(cells). Measured crossover (1,000-row
#: windows of 10 features, 2026-11-30): between 3.5 and 4 cells per window row.
SORTED_KS_CELLS = 4


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
        Family-wise false-alarm probability per tick (see `correction`); the verdict
        blames every feature over its critical value.
    correction
        None (the default) or ``"bonferroni"``: each feature is tested at ``α / k``
        (``k`` features); ``"fdr"``: Benjamini–Hochberg at false discovery rate α, which
        rejects at least what Bonferroni rejects and, with several features shifted,
        usually more. The default is None rather than ``"bonferroni"`` so that specs
        written before the option (the scenario catalogue's TOML files leave None out)
        stay what they were.
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
    alarms is at most about α. With ``correction="fdr"`` each feature's p-value is read
    from the same one-term tail, ``p = min(1, 2 exp(−2 D² n m / (n + m)))``
    (`ks_pvalue`), and Benjamini–Hochberg finds the level ``a = i* α / k`` (`corrected_level`;
    ``α / k`` when nothing rejects); the critical values reported are ``c(a)`` on the same
    scale, and the features with ``p <= a`` alarm. Under no change at all BH alarms on a
    tick with probability at most about α too (every rejection is then false). NaN
    values are dropped; ±inf are ordinary (extreme) values.

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
        correction: str | None = None,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.alpha = alpha
        self.correction = correction
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("KS", features)
        check_real("KS", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_correction("KS", correction)
        _check_window("KS", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        names = _numeric_only("KS", self.features, reference)
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
        # Many more cells than window rows: D is read from the window's sorted codes, and
        # the window keeps no counts (see SORTED_KS_CELLS).
        self._sorted = self.n_cells_ > SORTED_KS_CELLS * self.window_size
        self.window_ = CodeWindow(
            self.window_size, len(names), self.n_cells_, counting=not self._sorted
        )
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
        if self._sorted:
            stat, m = self.distance_.from_codes(self.window_.data[:, : self.window_.size])
        else:
            stat, m = self.distance_(self.window_.counts)
        if self.correction == "fdr":
            return self._fdr(stat, m)
        threshold, short = self._thresholds(m)
        if short is not None:
            stat[short] = np.nan
        threshold = threshold.copy()
        # nan (a short feature) compares false: the same as testing only the others
        over = stat > threshold
        return Verdict(stat, threshold, bool(over.any()), _blame(self.features_, over))

    def _fdr(self, stat: np.ndarray, m: np.ndarray) -> Verdict:
        """The verdict with Benjamini–Hochberg over the features (``correction="fdr"``)."""
        short = m < self.min_samples
        stat[short] = np.nan
        p = ks_pvalue(stat, self.n_reference_, m)
        cutoff, level = corrected_level(p, self.alpha, "fdr")
        threshold = ks_critical(level, self.n_reference_, m)
        threshold[short] = np.nan
        over = p <= cutoff  # nan (a short feature) compares false
        return Verdict(stat, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {"features": ("x0", "x1", "x2")},
            {
                "features": ("x1", "x0"),
                "alpha": 0.05,
                "correction": "fdr",
                "window_size": 300,
                "min_samples": 50,
            },
        ]


#: Cochran's rule: a cell whose expected count is below this is pooled (see `ChiSquare`).
MIN_EXPECTED = 5.0


def _pooling(reference_counts: np.ndarray, n_cells: list[int], window_size: int) -> np.ndarray:
    """``(feature, cell)`` group of every cell for the chi-square test (see `ChiSquare`).

    Groups are numbered ``0 .. G - 1`` per feature; padding cells (beyond a feature's own
    cells) join group 0, where they add nothing.
    """
    k, width = reference_counts.shape
    groups = np.zeros((k, width), dtype=np.intp)
    for f in range(k):  # a loop over features, at fit
        counts = reference_counts[f, : n_cells[f]].astype(np.float64)
        n = counts.sum()
        expected = min(n, window_size) * counts / n  # in the smaller of the two samples
        rare = expected < MIN_EXPECTED
        kept = np.flatnonzero(~rare)
        ids = np.empty(n_cells[f], dtype=np.intp)
        ids[kept] = np.arange(kept.size)
        other = kept.size  # the pooled cell: every rare one, unseen and empty ones
        pooled = expected[rare].sum()
        if 0.0 < pooled < MIN_EXPECTED and kept.size:
            other = int(kept[np.argmin(counts[kept])])  # too small alone: join the smallest
            other = int(ids[other])
        ids[rare] = other
        groups[f, : n_cells[f]] = ids
    return groups


@DETECTORS.register("chi_square")
class ChiSquare(_Binned, BaseDetector):
    r"""Chi-square test of each feature's category (or bin) counts: window against reference.

    Parameters
    ----------
    features
        Columns to test, in the order of the statistic; None means every column of the
        reference view, sorted by name. Categorical columns are tested on their
        categories, numeric ones on the `n_bins` quantile bins `PSI` uses.
    n_bins
        Quantile bins per numeric feature (tied quantiles merge bins).
    alpha
        False-alarm probability per tick under no change (see `correction`).
    correction
        None (the default, as `KS`'s) or ``"bonferroni"``: each feature is tested at
        ``α / k`` (``k`` features); ``"fdr"``: Benjamini–Hochberg at false discovery rate
        α, which rejects at least what Bonferroni rejects and, with several features
        shifted, usually more.
    window_size
        The test counts the most recent `window_size` rows seen.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The tested columns, in the order of the statistic.
    binners_
        One binner per feature (categories, or quantile edges).
    reference_counts_
        ``(feature, bin)`` reference counts, in the binners' cells.
    groups_
        ``(feature, bin)``: the test cell each bin counts in (the pooling below).
    pooled_reference_
        ``(feature, cell)`` reference counts in the test cells.
    pvalues_
        The last verdict's p-value per feature (nan where untested).
    window_
        The window's bin codes (a ``(feature, window_size)`` ring) and their counts.

    Notes
    -----
    The cells of a feature are its reference categories (or quantile bins), an *unseen*
    cell for categories the reference never had and a *missing* cell (NaN, None; a
    column the view lacks counts as all missing). With reference counts ``R_c`` (``n``
    rows) and window counts ``W_c`` (``m`` rows), the statistic is Pearson's test of
    homogeneity of the two samples,

    .. math:: X^2 = \sum_c \frac{(R_c m - W_c n)^2}{n\, m\, (R_c + W_c)},

    over the cells with ``R_c + W_c > 0``, the number `scipy.stats.chi2_contingency`
    gives for the ``2 × C`` table (without Yates' correction), with ``C − 1`` degrees of
    freedom. It treats the reference as the sample it is: a goodness-of-fit test
    against the reference's proportions taken as exact (`scipy.stats.chisquare`) would
    ignore their own noise and alarm more than α under no change when the window is
    not much smaller than the reference (twice as often with 1,000 rows each).

    Small expected counts are pooled, once, at fit (Cochran's rule, expected counts of
    at least 5): a cell is *rare* if the smaller of the two samples, ``min(n,
    window_size)`` rows, would expect fewer than 5 values in it at the reference's
    proportion. Rare cells, the unseen cell and empty ones pool into one *other* cell;
    if that still expects fewer than 5 but more than 0 values, it joins the least
    frequent kept cell instead. An *other* cell with no reference values at all stays
    its own cell: under no change it stays empty (and adds nothing), while values that
    land there (unseen categories, missing values the reference never had) add
    ``W n / m`` to the statistic. A feature left with a single cell cannot be tested
    (statistic 0, no alarm).

    Each feature's p-value is the chi-square upper tail, and the feature alarms when it
    is at most ``α / k`` (Bonferroni) or at most Benjamini–Hochberg's level
    ``i* α / k`` (``"fdr"``, `corrected_level`). The threshold reported is the
    chi-square quantile at that level for the feature's degrees of freedom (the least
    level ``α / k`` when nothing rejects), so a feature alarms when its statistic
    exceeds it. Counting is `PSI`'s: O(rows) per tick, vectorised over the features.

    References
    ----------
    .. [1] Pearson, K. (1900). On the criterion that a given system of deviations from
       the probable ... *Philosophical Magazine* 50(302), 157–175.
    .. [2] Cochran, W. G. (1954). Some methods for strengthening the common χ² tests.
       *Biometrics* 10(4), 417–451 (the rule of expected counts of at least 5).
    .. [3] Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. *JRSS B* 57(1), 289–300.
    .. [4] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS* (univariate tests with
       corrections over features).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import ChiSquare, View
    >>> rng = np.random.default_rng(0)
    >>> ref = View(columns={"c": rng.choice(["a", "b", "c"], size=2000, p=[0.5, 0.3, 0.2])})
    >>> det = ChiSquare(window_size=500).fit(ref)
    >>> v = det.update(View(columns={"c": rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2])}))
    >>> round(float(v.threshold[0]), 2), v.alarm
    (9.21, False)
    >>> v = det.update(View(columns={"c": rng.choice(["a", "b", "c"], 500, p=[0.3, 0.3, 0.4])}))
    >>> v.alarm, v.blame
    (True, ('c',))
    """

    tags: ClassVar[Tags] = Tags(
        watches=Watches.FEATURES, per_feature=True, threshold="alpha", direction=-1
    )

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        n_bins: int = 10,
        alpha: float = 0.01,
        correction: str | None = None,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.n_bins = n_bins
        self.alpha = alpha
        self.correction = correction
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("ChiSquare", features)
        check_int("ChiSquare", "n_bins", n_bins, 2)
        check_real("ChiSquare", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_correction("ChiSquare", correction)
        _check_window("ChiSquare", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self._fit_bins(reference)
        k = len(self.features_)
        cells = [b.n_cells for b in self.binners_]
        self.groups_ = _pooling(self.reference_counts_, cells, self.window_size)
        self._n_groups = int(self.groups_.max()) + 1
        self._flat = (self.groups_ + np.arange(k)[:, None] * self._n_groups).ravel()
        self.pooled_reference_ = self._pool(self.reference_counts_)
        self.pvalues_ = np.full(k, np.nan)
        self._critical_key = None  # (level, df) that `_critical` answers for

    def _pool(self, counts: np.ndarray) -> np.ndarray:
        """``(feature, cell)`` counts in the test cells."""
        k = len(self.features_)
        pooled = np.bincount(self._flat, weights=counts.ravel(), minlength=k * self._n_groups)
        return pooled.reshape(k, self._n_groups)

    def _update(self, view: View) -> Verdict:
        self.window_.push(self._codes(view))
        k = len(self.features_)
        if self.window_.size < self.min_samples:
            self.pvalues_ = np.full(k, np.nan)
            return Verdict(np.full(k, np.nan), np.full(k, np.nan), False)
        statistic, df = chi2_homogeneity(self.pooled_reference_, self._pool(self.window_.counts))
        p = chi2_pvalue(statistic, df)
        self.pvalues_ = p
        cutoff, level = corrected_level(p, self.alpha, self.correction or "bonferroni")
        key = (level, df.tobytes())
        if key != self._critical_key:
            self._critical_key, self._critical = key, chi2_critical(level, df)
        over = p <= cutoff  # nan compares false
        return Verdict(
            statistic, self._critical.copy(), bool(over.any()), _blame(self.features_, over)
        )

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {},
            {
                "features": ("c", "x0"),
                "n_bins": 5,
                "alpha": 0.05,
                "correction": "fdr",
                "window_size": 300,
                "min_samples": 50,
            },
        ]


@DETECTORS.register("wasserstein")
class Wasserstein(BaseDetector):
    r"""Wasserstein-1 (earth mover's) distance of each numeric feature, in reference sds.

    Parameters
    ----------
    features
        Numeric columns to monitor, in the order of the statistic; None means every
        column of the reference view, sorted by name (categorical columns are then
        refused, as `KS` refuses them).
    threshold
        Alarm when a feature's distance exceeds this many reference standard deviations;
        the verdict blames every feature over it.
    window_size
        The statistic compares the most recent `window_size` rows seen with the reference.
    min_samples
        A feature whose window holds fewer non-NaN values gets a nan statistic and
        cannot alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    reference_sorted_
        ``(feature, rows)``: each feature's reference values sorted, NaN last.
    n_reference_
        Non-NaN reference values per feature.
    scale_
        Per feature, the reference's standard deviation (of its finite values): the
        unit of the statistic.
    window_
        The window's raw values (a `Ring` of ``(rows, feature)``).

    Notes
    -----
    With reference values ``r`` (``n`` non-NaN) and window values ``x`` (``m`` non-NaN),

    .. math:: W_1 = \int |F_n(t) - G_m(t)|\, dt = \int_0^1 |F_n^{-1}(u) - G_m^{-1}(u)|\, du,

    what `scipy.stats.wasserstein_distance` computes; the statistic is ``W_1 / s`` with
    ``s`` the reference's standard deviation (population formula, finite values). A
    shift of the mean by ``δ`` standard deviations moves it by exactly ``δ``, whatever
    the law, so the threshold reads as "the window moved this many standard deviations
    of mass". Under no change ``W_1/s`` is about ``1.3 \sqrt{1/n + 1/m}`` for normal
    data (``\sqrt{2/π} ∫ \sqrt{Φ(1 − Φ)}``): 0.058 on average for ``n = m = 1000``, with
    a 99.9% quantile of 0.13, and 0.2 at ``m = 250``; the default 0.2 sd stays above that
    noise for windows of 250 rows or more, and a 0.5-sd shift gives 0.5. A constant
    reference (``s = 0``) makes the statistic 0 while the window equals it and inf
    otherwise.

    NaN values are dropped (a column the view lacks reads as all NaN: nothing left to
    compare, so nan and no alarm, as for `KS`; `NullRate` sees it). ±inf are ordinary
    values: ``W_1`` is inf exactly when the two samples put different shares of their
    values at +inf (or at −inf), and such a feature alarms.

    Each tick sorts the window (``(feature, window)`` at once) and sums
    ``|r_(i) − x_(j)|`` over the ``n + m − 1`` segments of the two quantile functions,
    whose indices and widths depend on ``(n, m)`` alone and are kept (`QuantileCoupling`).

    References
    ----------
    .. [1] Vaserstein, L. N. (1969). Markov processes over denumerable products of
       spaces describing large systems of automata. *Problems of Information
       Transmission* 5(3), 47–52.
    .. [2] Ramdas, A., García Trillos, N. & Cuturi, M. (2017). On Wasserstein two-sample
       testing and related families of nonparametric tests. *Entropy* 19(2), 47.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import View, Wasserstein
    >>> rng = np.random.default_rng(0)
    >>> det = Wasserstein(window_size=500).fit(View(columns={"x": rng.normal(size=2000)}))
    >>> v = det.update(View(columns={"x": rng.normal(size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.05, False)
    >>> v = det.update(View(columns={"x": rng.normal(0.5, size=500)}))
    >>> round(float(v.statistic[0]), 1), v.alarm
    (0.5, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.FEATURES, per_feature=True, threshold="threshold")

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        threshold: float = 0.2,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.threshold = threshold
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("Wasserstein", features)
        check_real("Wasserstein", "threshold", threshold, low=0.0, open_low=True)
        _check_window("Wasserstein", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        names = _numeric_only("Wasserstein", self.features, reference)
        x = _floats("Wasserstein", names, [reference.columns[f] for f in names], reference.n)
        for f, name in enumerate(names):
            check_some_finite("Wasserstein", name, x[f])
        self.features_ = names
        self.reference_sorted_ = np.sort(x, axis=1)
        self.n_reference_ = np.count_nonzero(~np.isnan(x), axis=1)
        finite = np.where(np.isfinite(x), x, np.nan)
        self.scale_ = np.nanstd(finite, axis=1)
        self._threshold = np.full(len(names), float(self.threshold))
        self.window_ = Ring(self.window_size, len(names), dtype=np.float64, fill=np.nan)
        self._couplings = {}  # (n, m) -> QuantileCoupling, for the sizes seen

    def _coupling(self, n: int, m: int) -> QuantileCoupling:
        coupling = self._couplings.get((n, m))
        if coupling is None:
            if len(self._couplings) >= 16:  # ragged NaN counts: keep the cache small
                self._couplings.clear()
            coupling = self._couplings[n, m] = QuantileCoupling(n, m)
        return coupling

    def _update(self, view: View) -> Verdict:
        x = _block("Wasserstein", self.features_, view)
        if x.shape[1]:
            self.window_.extend(x.T)
        k = len(self.features_)
        statistic = np.full(k, np.nan)
        if self.window_.size:
            window = np.ascontiguousarray(self.window_.values.T)
            window.sort(axis=1)  # NaN last
            m = window.shape[1] - np.count_nonzero(np.isnan(window[:, -1:]), axis=1)
            if m.min() < window.shape[1]:  # some NaN: count them
                m = window.shape[1] - np.count_nonzero(np.isnan(window), axis=1)
            n = self.n_reference_
            testable = m >= self.min_samples
            if testable.all() and (n == n[0]).all() and (m == m[0]).all():  # one (n, m)
                coupling = self._coupling(int(n[0]), int(m[0]))
                statistic = coupling.distance(self.reference_sorted_, window)
            else:
                pairs = np.stack((n, m), axis=1)[testable]
                for nm in np.unique(pairs, axis=0):  # one group per (n, m)
                    rows = np.flatnonzero(testable & (n == nm[0]) & (m == nm[1]))
                    coupling = self._coupling(int(nm[0]), int(nm[1]))
                    statistic[rows] = coupling.distance(self.reference_sorted_[rows], window[rows])
            with np.errstate(divide="ignore", invalid="ignore"):
                scaled = statistic / self.scale_
            statistic = np.where(
                self.scale_ > 0, scaled, np.where(statistic > 0, np.inf, statistic)
            )
        threshold = self._threshold.copy()
        over = statistic > threshold
        return Verdict(statistic, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {"features": ("x0", "x1", "x2")},
            {"features": ("x1", "x0"), "threshold": 0.3, "window_size": 300, "min_samples": 50},
        ]


class _BinnedDistance(_Binned):
    """`_Binned` plus the update of a distance between window and reference proportions."""

    def _init(self, features, n_bins, threshold, window_size, min_samples, on) -> None:
        owner = type(self).__name__
        self.features = features
        self.n_bins = n_bins
        self.threshold = threshold
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features(owner, features)
        check_int(owner, "n_bins", n_bins, 2)
        check_real(owner, "threshold", threshold, low=0.0, high=1.0, open_low=True, open_high=False)
        _check_window(owner, window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self._fit_bins(reference)
        self._threshold = np.full(len(self.features_), float(self.threshold))

    def _update(self, view: View) -> Verdict:
        self.window_.push(self._codes(view))
        threshold = self._threshold.copy()
        size = self.window_.size
        if size < self.min_samples:
            return Verdict(np.full(threshold.size, np.nan), threshold, False)
        statistic = self._distance(self.window_.counts / size, self.reference_props_)
        over = statistic > threshold
        return Verdict(statistic, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"features": ("x0", "c"), "n_bins": 5, "window_size": 300, "min_samples": 50}]


@DETECTORS.register("jensen_shannon")
class JensenShannon(_BinnedDistance, BaseDetector):
    r"""Jensen–Shannon distance of each feature's binned distribution: window against reference.

    Parameters
    ----------
    features
        Columns to monitor, in the order of the statistic; None means every column of
        the reference view, sorted by name.
    n_bins
        Quantile bins per numeric feature (tied quantiles merge bins): `PSI`'s bins.
    threshold
        Alarm when any feature's distance (in [0, 1]) exceeds it; the verdict blames
        every feature over it.
    window_size
        The statistic compares the most recent `window_size` rows seen with the reference.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    binners_
        One binner per feature (quantile edges or categories), as `PSI`'s.
    reference_props_
        ``(feature, bin)`` reference proportions (padded bins are 0).
    counts_
        ``(feature, bin)`` counts of the window.
    window_
        The window's bin codes (a ``(feature, window_size)`` ring) and their counts.

    Notes
    -----
    On `PSI`'s cells (numeric quantile bins, or categories plus *unseen*; a *missing*
    cell for NaN and None, and for a column the view lacks), with window proportions
    ``p``, reference proportions ``q`` and ``μ = (p + q) / 2``,

    .. math:: \mathrm{JS}(p, q) = \sqrt{\tfrac12 \mathrm{KL}(p\|μ) + \tfrac12 \mathrm{KL}(q\|μ)},

    logarithms in base 2 (so the distance is in [0, 1]), ``0 log 0 = 0``: no floor is
    needed, a cell empty on one side adds a finite amount. For small changes the
    divergence is about ``χ² / 8`` (``χ² = Σ (p − q)² / q``, in nats), as PSI is about
    ``χ²``: under no change the distance is about ``sqrt((B − 1)(1/n + 1/m) / (8 ln 2))``
    (0.057 on average for ``B = 10`` bins and ``n = m = 1000``, 99.9% quantile 0.09; at
    ``m = 250``, 0.087 and 0.15). The default 0.15 sits at PSI ≈ 0.125, between PSI's
    "watch" and "act" levels; a 0.5-sd shift of a normal feature gives about 0.21.
    Updates cost what `PSI`'s do.

    References
    ----------
    .. [1] Lin, J. (1991). Divergence measures based on the Shannon entropy. *IEEE
       Transactions on Information Theory* 37(1), 145–151.
    .. [2] Endres, D. M. & Schindelin, J. E. (2003). A new metric for probability
       distributions. *IEEE Transactions on Information Theory* 49(7), 1858–1860.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import JensenShannon, View
    >>> rng = np.random.default_rng(0)
    >>> det = JensenShannon(window_size=500).fit(View(columns={"x": rng.normal(size=2000)}))
    >>> v = det.update(View(columns={"x": rng.normal(size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.04, False)
    >>> v = det.update(View(columns={"x": rng.normal(1.0, size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.39, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.FEATURES, per_feature=True, threshold="threshold")

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        n_bins: int = 10,
        threshold: float = 0.15,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self._init(features, n_bins, threshold, window_size, min_samples, on)

    _distance = staticmethod(jensen_shannon)


@DETECTORS.register("hellinger")
class Hellinger(_BinnedDistance, BaseDetector):
    r"""Hellinger distance of each feature's binned distribution: window against reference.

    Parameters
    ----------
    features
        Columns to monitor, in the order of the statistic; None means every column of
        the reference view, sorted by name.
    n_bins
        Quantile bins per numeric feature (tied quantiles merge bins): `PSI`'s bins.
    threshold
        Alarm when any feature's distance (in [0, 1]) exceeds it; the verdict blames
        every feature over it.
    window_size
        The statistic compares the most recent `window_size` rows seen with the reference.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    binners_
        One binner per feature (quantile edges or categories), as `PSI`'s.
    reference_props_
        ``(feature, bin)`` reference proportions (padded bins are 0).
    counts_
        ``(feature, bin)`` counts of the window.
    window_
        The window's bin codes (a ``(feature, window_size)`` ring) and their counts.

    Notes
    -----
    On `PSI`'s cells (numeric quantile bins, or categories plus *unseen*; a *missing*
    cell for NaN and None, and for a column the view lacks), with window proportions
    ``p`` and reference proportions ``q``,

    .. math:: H(p, q) = \sqrt{\tfrac12 \sum_i (\sqrt{p_i} - \sqrt{q_i})^2}
              = \sqrt{1 - \sum_i \sqrt{p_i q_i}},

    in [0, 1], computed in the first form (no cancellation when ``p ≈ q``). For small
    changes ``H² ≈ χ² / 8`` with ``χ² = Σ (p − q)² / q``, as PSI ≈ χ²: under no change
    ``H`` is about ``sqrt((B − 1)(1/n + 1/m) / 8)`` (0.047 on average for ``B = 10``
    bins and ``n = m = 1000``, 99.9% quantile 0.076; at ``m = 250``, 0.075 and 0.127).
    The default 0.125 sits at PSI ≈ 0.125, as `JensenShannon`'s 0.15 does; a 0.5-sd
    shift of a normal feature gives about 0.18. Updates cost what `PSI`'s do.

    References
    ----------
    .. [1] Hellinger, E. (1909). Neue Begründung der Theorie quadratischer Formen von
       unendlichvielen Veränderlichen. *Journal für die reine und angewandte Mathematik*
       136, 210–271.
    .. [2] Webb, G. I., Lee, L. K., Goethals, B. & Petitjean, F. (2018). Analyzing concept
       drift and shift from sample data. *Data Mining and Knowledge Discovery* 32(5),
       1179–1199 (Hellinger distance as a drift magnitude).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import Hellinger, View
    >>> rng = np.random.default_rng(0)
    >>> det = Hellinger(window_size=500).fit(View(columns={"x": rng.normal(size=2000)}))
    >>> v = det.update(View(columns={"x": rng.normal(size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.04, False)
    >>> v = det.update(View(columns={"x": rng.normal(1.0, size=500)}))
    >>> round(float(v.statistic[0]), 2), v.alarm
    (0.33, True)
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.FEATURES, per_feature=True, threshold="threshold")

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        n_bins: int = 10,
        threshold: float = 0.125,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self._init(features, n_bins, threshold, window_size, min_samples, on)

    _distance = staticmethod(hellinger)
