"""Data-quality monitors: per column, the facts a drift test is the wrong tool for.

A column that disappears or changes type (`SchemaCheck`), fills with nulls (`NullRate`),
leaves the range the reference spanned (`RangeCheck`), takes values the reference never
had (`UnseenCategories`), or collapses to a few values (`Cardinality`). Each gives one
statistic per monitored column, blames exactly the columns that trip it, and never
crashes on NaN, inf, None, empty views, missing columns or unseen values.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from simlab.detectors._kernels import (
    CodeWindow,
    Ring,
    _as_float,
    betabinom_critical,
    check_features,
    check_int,
    check_real,
    is_numeric,
    missing_mask,
)
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError, SchemaError

__all__ = ["Cardinality", "NullRate", "RangeCheck", "SchemaCheck", "UnseenCategories"]

_TAGS = Tags(watches=Watches.QUALITY, per_feature=True)

#: Why every quality monitor is expected to fail the suite's H1 check.
_H1_REASON = (
    "the suite injects its mean shift only into the streams of FEATURES and SCORES "
    "watchers; a QUALITY monitor is fed stationary, clean data there, on which staying "
    "silent is the right answer (tests/test_quality.py tests each monitor on its own "
    "failure, and RangeCheck on the same 3-sigma shift)"
)


# --------------------------------------------------------------------------- helpers


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number, np.bool_))


_NUMBERS = np.frompyfunc(_is_number, 1, 1)


def _numeric_kind(values: np.ndarray) -> bool | None:
    """True for numbers, False for anything else (strings), None if it cannot be told.

    The dtype decides (bool, int and float are numbers; strings, dates and the rest are
    not), except for object columns, where the present values do: numbers if every one
    is a number, not if any is not (a string among numbers is a type change), and None
    when all are missing.
    """
    kind = values.dtype.kind
    if kind in "biuf":
        return True
    if kind != "O":
        return False
    present = values[~missing_mask(values)]
    if present.size == 0:
        return None
    return bool(np.asarray(_NUMBERS(present), dtype=bool).all())


def _check_window(owner: str, window_size, min_samples) -> None:
    check_int(owner, "window_size", window_size, 1)
    check_int(owner, "min_samples", min_samples, 1, window_size)


def _select(owner: str, features, reference: View, kind: str = "any") -> list[str]:
    """The monitored columns: `features` in its order, or the reference's sorted by name.

    `kind` narrows the default to the ``"numeric"`` or the ``"categorical"`` (not
    numeric) columns, and refuses listed columns of the wrong kind (a categorical
    monitor accepts listed integer codes, not floats).
    """
    columns = reference.columns
    missing = [] if features is None else [f for f in features if f not in columns]
    if missing:
        raise ConfigError(
            "features", features, f"names among the reference columns {list(columns)}", owner=owner
        )
    numeric = {f: is_numeric(columns[f]) for f in columns}
    if kind == "numeric":
        default = fits = numeric
        allowed = "numeric columns only"
    elif kind == "categorical":
        default = {f: not numeric[f] for f in columns}
        fits = {f: columns[f].dtype.kind not in "fc" for f in columns}
        allowed = "categorical columns (strings, or integer codes) only"
    else:
        default = fits = dict.fromkeys(columns, True)
        allowed = "columns"
    names = sorted(f for f in columns if default[f]) if features is None else list(features)
    wrong = [f for f in names if not fits[f]]
    if wrong:
        raise ConfigError("features", features, f"{allowed}; {wrong} are not", owner=owner)
    if not names:
        raise ConfigError(
            "reference", f"columns {list(columns)}", f"a reference with {allowed}", owner=owner
        )
    lengths = {columns[f].shape[0] for f in names}
    if len(lengths) > 1:
        raise SchemaError(f"{owner}: the reference columns have different lengths {lengths}")
    if lengths == {0}:
        raise ConfigError(
            "reference", "0 rows", "a reference view with at least one row", owner=owner
        )
    return names


def _present(owner: str, names: list[str], view: View) -> tuple[list[np.ndarray | None], int]:
    """The view's monitored columns (None where absent) and its rows.

    The rows are those of the present monitored columns, checked to be one length, else
    the view's (its scores', or its first column's): a column the view lacks counts as
    all missing in as many rows as the view has.
    """
    columns = [view.columns.get(f) for f in names]
    lengths = {c.shape[0] for c in columns if c is not None}
    if len(lengths) > 1:
        raise SchemaError(f"{owner}: the monitored columns have different lengths {lengths}")
    return columns, lengths.pop() if lengths else view.n


def _blame(names: list[str], over: np.ndarray) -> tuple[str, ...]:
    """The columns whose statistic trips."""
    return tuple(n for n, o in zip(names, over.tolist(), strict=True) if o) if over.any() else ()


def _nan(k: int) -> np.ndarray:
    return np.full(k, np.nan)


# --------------------------------------------------------------------------- schema


@DETECTORS.register("schema")
class SchemaCheck(BaseDetector):
    """Per reference column: 1 if the view lacks it or its kind changed (numbers, strings).

    Parameters
    ----------
    features
        Columns to check, in the order of the statistic; None means every column of the
        reference view, sorted by name.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The checked columns, in the order of the statistic.
    numeric_
        Per column, its kind in the reference: True for numbers, False for strings (or
        anything else), None when it cannot be told (an object column of missing values
        only, which no kind change is reported for).
    new_columns_
        The columns of the last non-empty view that the reference did not have, sorted.
        They have no place in the statistic, which is over the reference's columns (a
        renamed column shows as its old name missing, and its new name here).

    Notes
    -----
    The statistic is 1.0 for a column the view lacks or whose kind changed (numbers in
    the reference and not now, or the reverse), 0.0 otherwise; the threshold is 0.5 and
    the verdict blames every column at 1.0. A column's kind is read from its dtype (bool,
    int and float are numbers; strings, dates and the rest are not), except in an object
    column, where its present values decide: numbers if every one is a number, not if
    any is not (one string among numbers is a type change), unknown if all are missing
    (an all-null column is `NullRate`'s business, not a type change). A change of width
    (int to float, float64 to float32) is not a change of kind.

    No window: each verdict judges the current view alone. A view without rows (no
    scores and empty or no columns) judges nothing: its verdict repeats the last one
    (nan and no alarm before any rows were seen).

    References
    ----------
    .. [1] Breck, E., Polyzotis, N., Roy, S., Whang, S. E. & Zinkevich, M. (2019). Data
       validation for machine learning. *Proceedings of Machine Learning and Systems
       (MLSys)* 1 (TFX data validation: the schema as the contract between producers and
       the model).
    .. [2] Schelter, S., Lange, D., Schmidt, P., Celikel, M., Biessmann, F. & Grafberger,
       A. (2018). Automating large-scale data quality verification. *PVLDB* 11(12),
       1781–1794 (completeness and data-type constraints).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import SchemaCheck, View
    >>> rng = np.random.default_rng(0)
    >>> det = SchemaCheck().fit(View(columns={"x": rng.normal(size=50), "y": rng.normal(size=50)}))
    >>> v = det.update(View(columns={"x": rng.normal(size=5).astype(str), "y_v2": np.zeros(5)}))
    >>> [float(s) for s in v.statistic], v.blame, det.new_columns_
    ([1.0, 1.0], ('x', 'y'), ('y_v2',))
    """

    tags: ClassVar[Tags] = _TAGS
    _xfail_checks: ClassVar[dict] = {"check_detects_shift_h1": _H1_REASON}

    def __init__(self, *, features: tuple[str, ...] | None = None, on: str = "upstream"):
        self.features = features
        self.on = on
        self._check_on()
        check_features("SchemaCheck", features)

    def _fit(self, reference: View) -> None:
        self.features_ = _select("SchemaCheck", self.features, reference)
        self.numeric_ = [_numeric_kind(reference.columns[f]) for f in self.features_]
        self._reference_columns = frozenset(reference.columns)
        self.new_columns_ = ()
        k = len(self.features_)
        self._last = Verdict(_nan(k), np.full(k, 0.5), False)

    def _update(self, view: View) -> Verdict:
        if view.n == 0:
            last = self._last
            return Verdict(last.statistic.copy(), last.threshold.copy(), last.alarm, last.blame)
        statistic = np.zeros(len(self.features_))
        for i, (name, was) in enumerate(zip(self.features_, self.numeric_, strict=True)):
            values = view.columns.get(name)
            if values is None:
                statistic[i] = 1.0
            elif was is not None:
                now = _numeric_kind(values)
                statistic[i] = float(now is not None and now != was)
        self.new_columns_ = tuple(sorted(set(view.columns) - self._reference_columns))
        over = statistic > 0.5
        threshold = np.full(statistic.size, 0.5)
        self._last = Verdict(statistic, threshold, bool(over.any()), _blame(self.features_, over))
        return Verdict(statistic.copy(), threshold.copy(), self._last.alarm, self._last.blame)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"features": ("x1", "c"), "on": "served"}]


# --------------------------------------------------------------------------- nulls


@DETECTORS.register("null_rate")
class NullRate(BaseDetector):
    r"""Share of missing values per column in the window, tested against the reference's.

    Parameters
    ----------
    features
        Columns to monitor, in the order of the statistic; None means every column of
        the reference view, sorted by name.
    alpha
        Family-wise false-alarm probability per tick (Bonferroni over the columns).
    window_size
        The test counts the missing values among the most recent `window_size` rows.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    n_reference_
        Rows of the reference.
    reference_missing_
        Missing values per column in the reference.
    reference_share_
        ``reference_missing_ / n_reference_``.
    window_
        The window's missing flags (a ``(feature, window_size)`` ring of codes 0
        present / 1 missing) and their counts.

    Notes
    -----
    Missing means NaN or None in a numeric column; None, NaN or "" in a string column;
    every row of a column the view lacks (a dropped or renamed column). The statistic
    is the window's share of missing values minus the reference's, ``k / m − r / n``
    (``k`` of the window's ``m`` rows, ``r`` of the reference's ``n``), and a column
    alarms when ``k`` reaches the critical count of a one-sided test that it is higher
    than the reference's share at level ``α / K`` (``K`` columns, Bonferroni). The
    threshold reported is halfway between the last count that passes and the first
    that alarms, on the same scale: ``(k* − ½) / m − r / n``.

    The test: with a uniform prior on the missing rate, the reference's count makes its
    posterior Beta(r + 1, n − r + 1), and the window's count under no change is then
    beta-binomial,

    .. math:: P(K_w \ge k) = \sum_{j \ge k} \binom{m}{j}
              \frac{B(j + r + 1,\ m − j + n − r + 1)}{B(r + 1,\ n − r + 1)},

    which takes into account that the reference's share is itself estimated (with no
    nulls among 5,000 reference rows, three in a window of 1,000 alarm at level 0.01;
    one does not). It needs no normal approximation, so it holds in small counts, where
    one fires far too often, and its false-alarm rates are within about five percent of
    those of Fisher's one-sided exact test. The rate per tick stays under α: tests/test_quality.py
    computes it exactly, summing over the binomial laws of both counts, for missing
    rates from 0.0002 to 0.3, windows of 100 to 1,000 rows and references of 1,000 to
    5,000 (at most about 0.9 α; far less at the smallest rates, where the counts are
    too small to reach the level), and measures it on simulated ticks. Consecutive
    verdicts share their window's rows, so alarms cluster in time; non-overlapping
    windows give independent ticks.

    The critical counts depend on the window's rows alone and are computed once per
    window size (an O(window) sum per column).

    References
    ----------
    .. [1] Breck, E., Polyzotis, N., Roy, S., Whang, S. E. & Zinkevich, M. (2019). Data
       validation for machine learning. *MLSys* 1 (feature presence constraints).
    .. [2] Schelter, S., Lange, D., Schmidt, P., Celikel, M., Biessmann, F. & Grafberger,
       A. (2018). Automating large-scale data quality verification. *PVLDB* 11(12),
       1781–1794 (completeness).
    .. [3] Altham, P. M. E. (1969). Exact Bayesian analysis of a 2 × 2 contingency
       table, and Fisher's "exact" significance test. *JRSS B* 31(2), 261–269.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import NullRate, View
    >>> rng = np.random.default_rng(0)
    >>> ref = View(columns={"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    >>> det = NullRate(window_size=500).fit(ref)
    >>> y = rng.normal(size=500)
    >>> y[rng.uniform(size=500) < 0.2] = np.nan
    >>> v = det.update(View(columns={"x": rng.normal(size=500), "y": y}))
    >>> round(float(v.statistic[1]), 2), round(float(v.threshold[1]), 3), v.blame
    (0.21, 0.007, ('y',))
    """

    tags: ClassVar[Tags] = Tags(
        watches=Watches.QUALITY, per_feature=True, threshold="alpha", direction=-1
    )
    _xfail_checks: ClassVar[dict] = {"check_detects_shift_h1": _H1_REASON}

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
        check_features("NullRate", features)
        check_real("NullRate", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("NullRate", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self.features_ = _select("NullRate", self.features, reference)
        flags = np.stack([missing_mask(reference.columns[f]) for f in self.features_])
        self.n_reference_ = int(flags.shape[1])
        self.reference_missing_ = flags.sum(axis=1)
        self.reference_share_ = self.reference_missing_ / self.n_reference_
        self.window_ = CodeWindow(self.window_size, len(self.features_), 2)
        self._critical_for = -1  # the window size `_critical` holds counts for
        self._critical = None

    def _update(self, view: View) -> Verdict:
        columns, n = _present("NullRate", self.features_, view)
        flags = np.ones((len(columns), n), dtype=np.intp)
        for i, values in enumerate(columns):
            if values is not None:
                flags[i] = missing_mask(values)
        self.window_.push(flags + self.window_.offsets)
        m = self.window_.size
        k = len(self.features_)
        if m < self.min_samples:
            return Verdict(_nan(k), _nan(k), False)
        if m != self._critical_for:
            r = self.reference_missing_
            self._critical = betabinom_critical(
                m, r + 1.0, self.n_reference_ - r + 1.0, self.alpha / k
            )
            self._critical_for = m
        count = self.window_.counts[:, 1]
        statistic = count / m - self.reference_share_
        threshold = (self._critical - 0.5) / m - self.reference_share_
        over = count >= self._critical
        return Verdict(statistic, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"features": ("x0", "c"), "alpha": 0.05, "window_size": 300, "min_samples": 50}]


# --------------------------------------------------------------------------- range


@DETECTORS.register("range")
class RangeCheck(BaseDetector):
    r"""Share of window values outside the reference's [q, 1 − q] range, per numeric column.

    Parameters
    ----------
    features
        Numeric columns to monitor, in the order of the statistic; None means every
        numeric column of the reference view, sorted by name.
    quantile
        ``q``: the range runs from the reference's ``q`` to its ``1 − q`` quantile.
    alpha
        Family-wise false-alarm probability per tick (Bonferroni over the columns).
    window_size
        The test counts the values outside among the most recent `window_size` rows.
    min_samples
        A column whose window holds fewer non-NaN values gets a nan statistic and cannot
        alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    bounds_
        ``(feature, 2)``: the range's lower and upper ends (nan: no range, see Notes).
    expected_share_
        The share of values outside the range expected under no change,
        ``a / (n + 1)`` (about ``2q``).
    window_
        The window's codes (0 inside, 1 outside, 2 NaN) and their counts.

    Notes
    -----
    With ``n`` finite reference values and ``j = max(1, ⌈q n⌉)``, the range runs from
    the ``j``-th smallest to the ``j``-th largest of them. A value is outside if it is
    below or above it (±inf are always outside); NaN is ignored here (it is
    `NullRate`'s job), as are the values of a column that arrives as strings or not at
    all (`SchemaCheck`'s). The statistic is the window's share outside minus the
    expected share, ``k / m − a / (n + 1)``, and the threshold is
    ``(k* − ½) / m − a / (n + 1)`` with ``k*`` the critical count.

    The test is exact for continuous data: the probability mass outside two order
    statistics is Beta(2j, n + 1 − 2j) (Wilks's tolerance limits), so under no change
    the number ``k`` of the window's ``m`` non-NaN values outside is beta-binomial
    ``(m, 2j, n + 1 − 2j)`` whatever the distribution, and a column alarms when
    ``P(K ≥ k) ≤ α / K`` over the ``K`` columns (Bonferroni). The false-alarm rate per
    tick is therefore at most α, averaged over references; testing against ``2q`` as
    if it were known would not be: with a 1,000-row reference and q = 0.001 the range
    is the reference's minimum and maximum, and a window of 1,000 rows would alarm 3.5
    times as often as α = 0.01 allows (10 times at α = 0.001). Reference ±inf count
    as outside values (``a = 2j + #inf``). With ties the mass outside is smaller and
    the test conservative. A column with fewer than ``2j`` finite reference values has
    no range: its statistic is nan.

    References
    ----------
    .. [1] Wilks, S. S. (1941). Determination of sample sizes for setting tolerance
       limits. *Annals of Mathematical Statistics* 12(1), 91–96.
    .. [2] Breck, E., Polyzotis, N., Roy, S., Whang, S. E. & Zinkevich, M. (2019). Data
       validation for machine learning. *MLSys* 1 (value-range constraints; a unit
       change as the example of a silent upstream break).
    .. [3] Schelter, S., Lange, D., Schmidt, P., Celikel, M., Biessmann, F. & Grafberger,
       A. (2018). Automating large-scale data quality verification. *PVLDB* 11(12),
       1781–1794.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import RangeCheck, View
    >>> rng = np.random.default_rng(0)
    >>> ref = View(columns={"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    >>> det = RangeCheck(window_size=500).fit(ref)
    >>> v = det.update(View(columns={"x": rng.normal(size=500), "y": 100 * rng.normal(size=500)}))
    >>> round(float(v.statistic[1]), 2), v.blame
    (0.98, ('y',))
    """

    tags: ClassVar[Tags] = Tags(
        watches=Watches.QUALITY, per_feature=True, threshold="alpha", direction=-1
    )
    _xfail_checks: ClassVar[dict] = {"check_detects_shift_h1": _H1_REASON}

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        quantile: float = 0.001,
        alpha: float = 0.01,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.quantile = quantile
        self.alpha = alpha
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("RangeCheck", features)
        check_real("RangeCheck", "quantile", quantile, low=0.0, high=0.5, open_low=True)
        check_real("RangeCheck", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        _check_window("RangeCheck", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self.features_ = _select("RangeCheck", self.features, reference, "numeric")
        k = len(self.features_)
        self.bounds_ = np.full((k, 2), np.nan)
        a = np.full(k, np.nan)
        b = np.full(k, np.nan)
        for i, f in enumerate(self.features_):
            x = _as_float(reference.columns[f])
            finite = np.sort(x[np.isfinite(x)])
            n = finite.size
            j = max(1, math.ceil(self.quantile * n))
            if 2 * j <= n:
                self.bounds_[i] = finite[j - 1], finite[n - j]
                a[i] = 2 * j + np.isinf(x).sum()
                b[i] = n + 1 - 2 * j
        self._a, self._b = a, b
        self.expected_share_ = a / (a + b)
        self.window_ = CodeWindow(self.window_size, k, 3)
        self._critical_for = np.full(k, -1)  # the window sizes `_critical` holds counts for
        self._critical = np.zeros(k, dtype=np.intp)

    def _values(self, view: View) -> np.ndarray:
        """``(feature, rows)`` floats; NaN for an absent column or one that is not numbers."""
        columns, n = _present("RangeCheck", self.features_, view)
        x = np.full((len(columns), n), np.nan)
        for i, values in enumerate(columns):
            if values is not None and _numeric_kind(values):
                x[i] = _as_float(values)
        return x

    def _update(self, view: View) -> Verdict:
        x = self._values(view)
        low, high = self.bounds_[:, :1], self.bounds_[:, 1:]
        codes = np.where(np.isnan(x), 2, ((x < low) | (x > high)).astype(np.intp))
        self.window_.push(codes + self.window_.offsets)
        counts = self.window_.counts
        outside = counts[:, 1]
        m = counts[:, 0] + outside
        changed = m != self._critical_for
        if changed.any():
            level = self.alpha / len(self.features_)
            for size in np.unique(m[changed]).tolist():
                i = changed & (m == size)
                self._critical[i] = betabinom_critical(size, self._a[i], self._b[i], level)
            self._critical_for = m.copy()
        short = (m < self.min_samples) | np.isnan(self._a)
        with np.errstate(invalid="ignore", divide="ignore"):
            statistic = np.where(short, np.nan, outside / m - self.expected_share_)
            threshold = np.where(short, np.nan, (self._critical - 0.5) / m - self.expected_share_)
        over = ~short & (outside >= self._critical)
        return Verdict(statistic, threshold, bool(over.any()), _blame(self.features_, over))

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {},
            {
                "features": ("x2", "x0"),
                "quantile": 0.01,
                "alpha": 0.05,
                "window_size": 300,
                "min_samples": 50,
            },
        ]


# --------------------------------------------------------------------------- categories


def _strings(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """The values as strings ("" where missing)."""
    if values.dtype.kind == "U":
        return values
    if values.dtype.kind == "O":
        values = np.where(missing, "", values)
    return values.astype(str)


@DETECTORS.register("unseen_categories")
class UnseenCategories(BaseDetector):
    """Share of window values that are not among the reference's categories, per column.

    Parameters
    ----------
    features
        Categorical columns to monitor, in the order of the statistic; None means every
        non-numeric column of the reference view, sorted by name. Integer-coded
        categories may be listed (float columns may not).
    tolerance
        Alarm when a column's share of unseen values exceeds it.
    window_size
        The share is over the most recent `window_size` rows.
    min_samples
        A column whose window holds fewer non-missing values gets a nan statistic and
        cannot alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    categories_
        Per column, the sorted reference categories (as strings, missing excluded).
    missing_mass_
        Per column, the Good–Turing estimate of the share of values under no change
        that the reference lacks: the share of reference values whose category occurs
        once. The tolerance should sit well above it (see Notes).
    window_
        The window's codes (0 seen, 1 unseen, 2 missing) and their counts.

    Notes
    -----
    Values are compared as strings; missing values (None, NaN, "") are excluded from
    both the share and its count (they are `NullRate`'s job), as is every row of a
    column the view lacks (`SchemaCheck`'s). The statistic is ``u / m``, the unseen
    values among the window's ``m`` non-missing ones; the threshold is `tolerance`.

    Why a tolerance rather than a test: under no change, the unseen share is the
    reference's *missing mass*, the probability of the categories it happened not to
    contain. Good–Turing estimates it as ``f₁ / n`` (categories seen once, over the
    values), but the estimate is least reliable exactly where it matters: a rare
    category that the reference missed is not evidence of a broken pipeline, yet a test
    at level α against a near-zero rate fires on its first appearance. The breaks this
    monitor is for (codes remapped or truncated by an ETL step, a new encoding) give
    unseen shares of tens of percent, far above any missing mass of a categorical
    column, so a small fixed margin separates them without a fragile estimate. The
    estimate is kept in `missing_mass_`: a column with a large one (an identifier, a
    free-text field) alarms on every window at a small tolerance, and should be left
    out of `features` or given a tolerance above it.

    References
    ----------
    .. [1] Breck, E., Polyzotis, N., Roy, S., Whang, S. E. & Zinkevich, M. (2019). Data
       validation for machine learning. *MLSys* 1 (domain constraints on categorical
       features, and their out-of-domain share).
    .. [2] Good, I. J. (1953). The population frequencies of species and the estimation
       of population parameters. *Biometrika* 40(3–4), 237–264.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import UnseenCategories, View
    >>> rng = np.random.default_rng(0)
    >>> ref = View(columns={"c": rng.choice(["a", "b"], 500)})
    >>> det = UnseenCategories(window_size=200).fit(ref)
    >>> v = det.update(View(columns={"c": rng.choice(["a", "b", "B"], 200)}))
    >>> round(float(v.statistic[0]), 2), v.blame
    (0.33, ('c',))
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.QUALITY, per_feature=True, threshold="tolerance")
    _xfail_checks: ClassVar[dict] = {"check_detects_shift_h1": _H1_REASON}

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        tolerance: float = 0.01,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.tolerance = tolerance
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("UnseenCategories", features)
        check_real("UnseenCategories", "tolerance", tolerance, low=0.0, high=1.0)
        _check_window("UnseenCategories", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self.features_ = _select("UnseenCategories", self.features, reference, "categorical")
        self.categories_ = []
        mass = []
        for f in self.features_:
            values = reference.columns[f]
            missing = missing_mask(values)
            categories, counts = np.unique(_strings(values, missing)[~missing], return_counts=True)
            self.categories_.append(categories)
            mass.append((counts == 1).sum() / counts.sum() if counts.size else np.nan)
        self.missing_mass_ = np.array(mass, dtype=np.float64)
        self.window_ = CodeWindow(self.window_size, len(self.features_), 3)
        self._threshold = np.full(len(self.features_), float(self.tolerance))

    def _codes(self, view: View) -> np.ndarray:
        columns, n = _present("UnseenCategories", self.features_, view)
        codes = np.full((len(columns), n), 2, dtype=np.intp)
        for i, (values, categories) in enumerate(zip(columns, self.categories_, strict=True)):
            if values is None or n == 0:
                continue
            missing = missing_mask(values)
            strings = _strings(values, missing)
            if categories.size:
                at = np.minimum(np.searchsorted(categories, strings), categories.size - 1)
                seen = categories[at] == strings
            else:
                seen = np.zeros(n, dtype=bool)
            codes[i] = np.where(missing, 2, np.where(seen, 0, 1))
        return codes

    def _update(self, view: View) -> Verdict:
        self.window_.push(self._codes(view) + self.window_.offsets)
        counts = self.window_.counts
        unseen = counts[:, 1]
        m = counts[:, 0] + unseen
        short = m < self.min_samples
        with np.errstate(invalid="ignore", divide="ignore"):
            statistic = np.where(short, np.nan, unseen / m)
        over = ~short & (statistic > self._threshold)
        return Verdict(
            statistic, self._threshold.copy(), bool(over.any()), _blame(self.features_, over)
        )

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"tolerance": 0.05, "window_size": 300, "min_samples": 50}]


# --------------------------------------------------------------------------- cardinality

_MASK64 = (1 << 64) - 1
#: The key of a missing value: the bits of the canonical NaN.
_MISSING_KEY = np.array(np.nan).view(np.uint64)[()]


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """Steele, Lea & Flood's SplitMix64 finaliser: a bijective mix of 64-bit words."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _hash_strings(strings: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each string, vectorised over the rows (a loop over characters).

    Each character's code point is multiplied by a fixed odd weight of its position
    and summed modulo 2⁶⁴, then mixed (SplitMix64): distinct strings collide with
    probability about 2⁻⁶⁴, and the padding of NumPy's fixed-width strings (zeros)
    adds nothing, so a string hashes alike in arrays of any width.
    """
    strings = np.asarray(strings, dtype=str)
    width = strings.dtype.itemsize // 4
    if width == 0 or strings.size == 0:
        return _splitmix64(np.zeros(strings.shape, dtype=np.uint64))
    points = strings.view(np.uint32).reshape(-1, width).astype(np.uint64)
    weights = _splitmix64(np.arange(width, dtype=np.uint64)) | np.uint64(1)
    with np.errstate(over="ignore"):
        return _splitmix64(points @ weights)


def _keys(values: np.ndarray | None, numeric: bool, n: int) -> np.ndarray:
    """A uint64 key per value, equal for equal values; `_MISSING_KEY` for missing ones.

    Numbers are keyed by their float64 bits (``-0.0`` as ``0.0``); anything else, and a
    numeric column's values that arrive as strings, by `_hash_strings`.
    """
    if values is None:
        return np.full(n, _MISSING_KEY)
    missing = missing_mask(values)
    kind = _numeric_kind(values)
    if numeric and kind:
        x = _as_float(values) + 0.0  # -0.0 + 0.0 is 0.0
        keys = x.view(np.uint64)
    else:
        keys = _hash_strings(_strings(values, missing))
    return np.where(missing, _MISSING_KEY, keys)


@DETECTORS.register("cardinality")
class Cardinality(BaseDetector):
    r"""Distinct values per column in the window, against what the reference leads to expect.

    Parameters
    ----------
    features
        Columns to monitor, in the order of the statistic; None means every column of
        the reference view, sorted by name.
    ratio
        Alarm when a column's distinct count is at least `ratio` times fewer or more
        than expected (a stuck sensor collapses to one value; merging categories in
        pairs halves them).
    window_size
        Values are counted over the most recent `window_size` rows.
    min_samples
        A column whose window holds fewer non-missing values gets a nan statistic and
        cannot alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns, in the order of the statistic.
    numeric_
        Per column, True if the reference holds numbers.
    n_reference_
        Per column, the reference's non-missing values ``n``.
    singletons_
        Per column, ``f₁``: the reference's values that occur once.
    window_
        The window's keys (a ``(window_size, feature)`` ring of uint64: float bits or
        string hashes), missing values included as a reserved key.

    Notes
    -----
    The statistic is ``|ln(d / E(m))|``, with ``d`` the distinct values among the
    window's ``m`` non-missing ones (missing values are `NullRate`'s job), and ``E(m)``
    the number expected in ``m`` draws from the reference's law; the threshold is
    ``ln(ratio)``, and a column alarms when the statistic reaches it. With reference
    counts ``c_v`` of the values ``v`` seen at least twice among ``n``, and ``f₁``
    values seen once,

    .. math:: E(m) = \sum_{v: c_v \ge 2} \bigl(1 − (1 − c_v / n)^m\bigr) + m f_1 / n.

    The first term is the expected number of those values that m draws hit; the second
    treats the values seen once as a continuous part whose every draw is new (its mass
    is the Good–Turing estimate ``f₁ / n`` of the mass of values the reference lacks).
    So a column of floats, all distinct, expects ``m``; three categories expect about
    three; floats with a point mass at 0 expect one more than their continuous share.
    ``E`` is computed exactly for the window's current ``m``, so a window that is
    still filling is judged against its own size (no subsampling, no randomness), and
    ``E(m) >= 1`` for ``m >= 1``.

    Small windows: the count of a rare category is noisy in few draws, and the
    statistic waits until ``m >= min_samples``. Once it is there, the test is a fixed
    margin rather than a calibrated level: the distinct count of a healthy column stays
    within a few values of ``E(m)``, a factor of two off it is a broken column.

    Distinct values are counted by sorting the window's keys (numbers by their bits,
    strings by a 64-bit hash), O(window · log window) per column per tick.

    References
    ----------
    .. [1] Schelter, S., Lange, D., Schmidt, P., Celikel, M., Biessmann, F. & Grafberger,
       A. (2018). Automating large-scale data quality verification. *PVLDB* 11(12),
       1781–1794 (distinct-count metrics and constraints).
    .. [2] Good, I. J. (1953). The population frequencies of species and the estimation
       of population parameters. *Biometrika* 40(3–4), 237–264.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import Cardinality, View
    >>> rng = np.random.default_rng(0)
    >>> ref = View(columns={"x": rng.normal(size=1000), "c": rng.choice(["a", "b", "c"], 1000)})
    >>> det = Cardinality(window_size=200).fit(ref)
    >>> stuck = View(columns={"x": np.full(200, 0.5), "c": rng.choice(["a", "b", "c"], 200)})
    >>> v = det.update(stuck)
    >>> [round(float(s), 2) for s in v.statistic], round(float(v.threshold[0]), 2), v.blame
    ([0.0, 5.3], 0.69, ('x',))
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.QUALITY, per_feature=True, threshold="ratio")
    _xfail_checks: ClassVar[dict] = {"check_detects_shift_h1": _H1_REASON}

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        ratio: float = 2.0,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.ratio = ratio
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("Cardinality", features)
        check_real("Cardinality", "ratio", ratio, low=1.0, open_low=True)
        _check_window("Cardinality", window_size, min_samples)

    def _fit(self, reference: View) -> None:
        self.features_ = _select("Cardinality", self.features, reference)
        self.numeric_ = [is_numeric(reference.columns[f]) for f in self.features_]
        n_ref, singletons, groups, sizes, owner = [], [], [], [], []
        for i, (f, numeric) in enumerate(zip(self.features_, self.numeric_, strict=True)):
            values = reference.columns[f]
            keys = _keys(values, numeric, values.shape[0])
            _, counts = np.unique(keys[keys != _MISSING_KEY], return_counts=True)
            size, mult = np.unique(counts[counts >= 2], return_counts=True)
            n_ref.append(counts.sum())
            singletons.append((counts == 1).sum())
            groups.append(mult)
            sizes.append(size)
            owner.append(np.full(size.size, i))
        self.n_reference_ = np.array(n_ref, dtype=np.int64)
        self.singletons_ = np.array(singletons, dtype=np.int64)
        # E(m) = Σ_groups mult · (1 − (1 − size / n)^m) + m · f₁ / n, all columns at once
        self._mult = np.concatenate(groups).astype(np.float64)
        self._owner = np.concatenate(owner).astype(np.intp)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.concatenate(sizes) / self.n_reference_[self._owner]
            self._log_rest = np.log1p(-share)  # -inf where one value is all of a column
            self._new = self.singletons_ / self.n_reference_  # nan for an all-missing column
        self._threshold = np.full(len(self.features_), math.log(self.ratio))
        self.window_ = Ring(self.window_size, len(self.features_), dtype=np.uint64, fill=0)

    def expected(self, m: np.ndarray) -> np.ndarray:
        """``E(m)``: distinct values expected in ``m[i]`` non-missing draws of column ``i``.

        Examples
        --------
        >>> import numpy as np
        >>> from simlab.detectors import Cardinality, View
        >>> det = Cardinality().fit(View(columns={"c": np.array(["a", "b"] * 50)}))
        >>> [round(float(e), 3) for e in det.expected(np.array([1]))]
        [1.0]
        >>> [round(float(e), 3) for e in det.expected(np.array([2]))]
        [1.5]
        """
        m = np.asarray(m, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            at = m[self._owner]
            hit = np.where(at > 0, -np.expm1(at * self._log_rest), 0.0)  # 1 where log is -inf
        total = np.bincount(self._owner, weights=self._mult * hit, minlength=m.size)
        return total + m * self._new

    def _update(self, view: View) -> Verdict:
        columns, n = _present("Cardinality", self.features_, view)
        keys = np.empty((n, len(columns)), dtype=np.uint64)
        for i, (values, numeric) in enumerate(zip(columns, self.numeric_, strict=True)):
            keys[:, i] = _keys(values, numeric, n)
        self.window_.extend(keys)
        k = len(self.features_)
        size = self.window_.size
        if size == 0:
            return Verdict(_nan(k), self._threshold.copy(), False)
        held = np.sort(self.window_.values, axis=0)
        missing = (held == _MISSING_KEY).sum(axis=0)
        distinct = 1 + (held[1:] != held[:-1]).sum(axis=0) - (missing > 0)
        m = size - missing
        short = m < self.min_samples
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = self.expected(m)
            statistic = np.abs(np.log(distinct) - np.log(expected))
        statistic[short] = np.nan
        over = ~short & (statistic >= self._threshold)
        return Verdict(
            statistic, self._threshold.copy(), bool(over.any()), _blame(self.features_, over)
        )

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [{}, {"features": ("c", "x1"), "ratio": 1.5, "window_size": 300, "min_samples": 50}]
