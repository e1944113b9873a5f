"""Data-quality monitors: each catches its own failure, blames only its column, keeps its level.

The generic conformance checks run over every registered detector in test_detectors.py;
here: what each monitor is for (a fault matrix), their false-alarm rates (computed
exactly where the law is known, and measured on simulated ticks), edge cases that must
not crash, and the engine.
"""

from __future__ import annotations

import inspect
import math
import pickle

import numpy as np
import pytest
from scipy import special, stats

from simlab.detectors import (
    DETECTORS,
    BaseDetector,
    Cardinality,
    NullRate,
    RangeCheck,
    SchemaCheck,
    UnseenCategories,
    View,
    Watches,
    quality,
)
from simlab.detectors._kernels import betabinom_critical, missing_mask
from simlab.detectors.base import watches_of
from simlab.errors import ConfigError, SchemaError
from simlab.faults import DropColumn, Faulted
from simlab.sim import Constant, FixedDelay, Scenario, simulate
from simlab.testing._detector_checks import H1_MAX_TICKS, H1_SHIFT, make_stream
from simlab.testing.checks import check_run
from simlab.world import logistic

QUALITY = (SchemaCheck, NullRate, RangeCheck, UnseenCategories, Cardinality)
NAMES = {
    SchemaCheck: "schema",
    NullRate: "null_rate",
    RangeCheck: "range",
    UnseenCategories: "unseen_categories",
    Cardinality: "cardinality",
}
CATEGORIES = np.array(["a", "b", "c", "d"])


def _draw(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """One tick of a clean source: x1 has 2% nulls at all times, c four categories."""
    x1 = rng.normal(10.0, 2.0, n)
    x1[rng.uniform(size=n) < 0.02] = np.nan
    return {
        "x0": rng.normal(size=n),
        "x1": x1,
        "x2": rng.lognormal(size=n),
        "c": rng.choice(CATEGORIES, n, p=[0.4, 0.3, 0.2, 0.1]),
    }


# --------------------------------------------------------------------------- registry


def test_every_quality_monitor_is_registered_tagged_and_declares_its_h1_xfail():
    classes = [
        c
        for _, c in inspect.getmembers(quality, inspect.isclass)
        if issubclass(c, BaseDetector) and c.__module__ == quality.__name__
    ]
    assert set(classes) == set(QUALITY)
    for cls in classes:
        assert DETECTORS.get(NAMES[cls]) is cls
        assert cls.name == NAMES[cls]
        assert cls.tags.watches is Watches.QUALITY
        assert cls.tags.per_feature
        assert 1 <= len(cls._test_params()) <= 3
        assert set(cls._xfail_checks) == {"check_detects_shift_h1"}
        assert cls.__name__ in quality.__all__


@pytest.mark.parametrize("cls", QUALITY)
def test_on_served_makes_the_engine_feed_served_features(cls):
    assert watches_of(cls()) is Watches.QUALITY
    assert watches_of(cls(on="served")) is Watches.SERVED
    assert DETECTORS.make({"kind": NAMES[cls], "on": "served"}) == cls(on="served")
    assert repr(cls(on="served")) == f"{cls.__name__}(on='served')"


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (SchemaCheck, {"on": "both"}, "SchemaCheck: on='both' is not allowed; expected one of"),
        (SchemaCheck, {"features": "x"}, "SchemaCheck: features='x' is not allowed"),
        (NullRate, {"alpha": 0.0}, "NullRate: alpha=0.0 is not allowed; expected a number in"),
        (NullRate, {"window_size": 50}, "NullRate: min_samples=100 is not allowed"),
        (RangeCheck, {"quantile": 0.5}, "RangeCheck: quantile=0.5 is not allowed"),
        (RangeCheck, {"quantile": 0.0}, "RangeCheck: quantile=0.0 is not allowed"),
        (UnseenCategories, {"tolerance": 1.0}, "UnseenCategories: tolerance=1.0 is not allowed"),
        (UnseenCategories, {"tolerance": -0.1}, "UnseenCategories: tolerance=-0.1 is not"),
        (Cardinality, {"ratio": 1.0}, "Cardinality: ratio=1.0 is not allowed; expected a finite"),
        (Cardinality, {"min_samples": 0}, "Cardinality: min_samples=0 is not allowed"),
    ],
)
def test_config_errors_name_key_value_and_allowed(cls, kwargs, message):
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(message)


def test_fit_refuses_columns_of_the_wrong_kind_or_missing():
    ref = View(columns={"x": np.zeros(10), "c": np.array(["a"] * 10), "k": np.arange(10)})
    with pytest.raises(ConfigError, match=r"numeric columns only; \['c'\] are not"):
        RangeCheck(features=("x", "c")).fit(ref)
    with pytest.raises(ConfigError, match=r"\['x'\] are not"):
        UnseenCategories(features=("x",)).fit(ref)
    assert UnseenCategories().fit(ref).features_ == ["c"]
    assert UnseenCategories(features=("k", "c")).fit(ref).features_ == ["k", "c"]  # int codes
    with pytest.raises(ConfigError, match="names among the reference columns"):
        NullRate(features=("nope",)).fit(ref)
    with pytest.raises(ConfigError, match="a reference with categorical columns"):
        UnseenCategories().fit(View(columns={"x": np.zeros(3)}))
    with pytest.raises(ConfigError, match="at least one row"):
        SchemaCheck().fit(View(columns={"x": np.zeros(0)}))


# --------------------------------------------------------------------------- never crash


def _nasty_views(rng) -> list[View]:
    """Everything upstream can throw at a monitor, one view at a time."""
    n = 7
    obj = np.array([np.nan, np.inf, -np.inf, None, "s", 1, ""], dtype=object)
    return [
        View(),
        View(scores=np.zeros(3)),  # rows, but no columns at all
        View(columns={"x": np.zeros(0), "c": np.array([], dtype=str)}),
        View(columns={"x": np.array([np.nan]), "c": np.array([None], dtype=object)}),
        View(columns={"x": np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e308, 5e-324])}),
        View(columns={"x": obj, "c": obj, "new": np.zeros(n)}),
        View(columns={"x": np.full(n, None, dtype=object), "c": np.full(n, "", dtype=str)}),
        View(columns={"x": np.arange(n), "c": np.arange(n)}),  # ints everywhere
        View(columns={"x": np.array(["1.5"] * n), "c": np.array(["never seen"] * n)}),
        View(columns={"x": rng.normal(size=300), "c": rng.choice(["a", "b", "zz"], 300)}),
        View(columns={"x": rng.normal(size=1)}),
    ]


@pytest.mark.parametrize("cls", QUALITY)
@pytest.mark.parametrize("params", [{}, {"window_size": 5, "min_samples": 1}])
def test_nan_inf_none_empty_missing_columns_and_strings_never_crash(cls, params):
    if cls is SchemaCheck:
        params = {}
    rng = np.random.default_rng(1)
    ref = View(columns={"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    det = cls(**params).fit(ref)
    k = len(det.features_)
    for view in _nasty_views(rng):
        v = det.update(view)
        assert type(v.alarm) is bool
        for value in (v.statistic, v.threshold):
            assert value.shape == (k,)
            assert value.dtype == np.float64
        assert set(v.blame) <= set(det.features_)
        assert v.alarm == bool(v.blame)
    restored = pickle.loads(pickle.dumps(det))
    view = _nasty_views(rng)[-2]
    a, b = det.update(view), restored.update(view)
    assert np.array_equal(a.statistic, b.statistic, equal_nan=True)


def test_a_column_of_another_length_is_a_schema_error():
    det = NullRate().fit(View(columns={"x": np.zeros(10), "y": np.zeros(10)}))
    with pytest.raises(SchemaError, match="different lengths"):
        det.update(View(columns={"x": np.zeros(3), "y": np.zeros(2)}))


def test_missing_mask_reads_none_nan_empty_and_nat():
    assert missing_mask(np.array([1.0, np.nan, np.inf])).tolist() == [False, True, False]
    assert missing_mask(np.array(["a", ""])).tolist() == [False, True]
    mixed = np.array(["a", "", None, np.nan, 0, 0.0], dtype=object)
    assert missing_mask(mixed).tolist() == [False, True, True, True, False, False]
    assert missing_mask(np.array([0, 1])).tolist() == [False, False]
    assert missing_mask(np.array(["2024-01-01", "NaT"], dtype="M8[D]")).tolist() == [False, True]


# --------------------------------------------------------------------------- the fault matrix


def _drop(c):
    return {k: v for k, v in c.items() if k != "x1"}


def _strings(c):
    return {**c, "x0": c["x0"].astype(str)}


def _null_spike(c, rng):
    x = c["x2"].copy()
    x[rng.uniform(size=x.size) < 0.2] = np.nan
    return {**c, "x2": x}


def _unit(c):
    return {**c, "x0": 100.0 * c["x0"]}  # dollars to cents


def _remap(c):
    return {**c, "c": np.char.add("k", c["c"])}  # every code remapped to a new one


def _stuck(c):
    return {**c, "x2": np.full(c["x2"].size, 1.0)}  # x2's median: inside its range


#: fault -> {monitor: (the column it must blame, ticks from onset to its first alarm)};
#: every other monitor must stay silent. 0 ticks: caught on the first faulty tick. The
#: stuck sensor needs the window (1,000 rows, ticks of 250) to be more than half stuck:
#: after k faulty ticks x2 has 1000 − 250k + 1 distinct values against E = 1000, a
#: factor 2 first at k = 3 (tick 2 from onset).
FAULTS = {
    "no_fault": (lambda c, rng: c, {}),
    "column_dropped": (lambda c, rng: _drop(c), {"schema": ("x1", 0), "null_rate": ("x1", 0)}),
    "strings_in_numeric": (lambda c, rng: _strings(c), {"schema": ("x0", 0)}),
    "null_spike_20pct": (_null_spike, {"null_rate": ("x2", 0)}),
    "unit_change_x100": (lambda c, rng: _unit(c), {"range": ("x0", 0)}),
    "categories_remapped": (lambda c, rng: _remap(c), {"unseen_categories": ("c", 0)}),
    "stuck_sensor": (lambda c, rng: _stuck(c), {"cardinality": ("x2", 2)}),
}
ONSET, N_TICKS, TICK_ROWS = 8, 16, 250


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_monitor_catches_its_own_failure_and_blames_only_that_column(fault):
    # Default settings (α = 0.01, window 1,000): clean ticks first, then the fault.
    apply, expected = FAULTS[fault]
    rng = np.random.default_rng(0)
    reference = View(columns=_draw(rng, 5000))
    monitors = [cls().fit(reference) for cls in QUALITY]
    blames = {m.name: [] for m in monitors}
    for t in range(N_TICKS):
        columns = _draw(rng, TICK_ROWS)
        if t >= ONSET:
            columns = apply(columns, rng)
        view = View(t=float(t), columns=columns)
        for m in monitors:
            blames[m.name].append(m.update(view).blame)
    for name, seen in blames.items():
        assert not any(seen[:ONSET]), (fault, name, "alarm before the fault")
        after = seen[ONSET:]
        if name not in expected:
            assert not any(after), (fault, name, after)
            continue
        column, delay = expected[name]
        first = next(i for i, b in enumerate(after) if b)
        assert first == delay, (fault, name, first)
        assert all(b == (column,) for b in after[first:]), (fault, name, after)


def test_range_check_also_sees_the_suites_mean_shift():
    # The suite's H1 check feeds QUALITY monitors unshifted data (hence the xfail); fed
    # the same 3-sigma shift, the range check alarms at once (P(N(3, 1) > q_0.999) ≈ 0.46).
    reference, _ = make_stream(0, 0)
    _, views = make_stream(1, H1_MAX_TICKS, shift=H1_SHIFT)
    det = RangeCheck().fit(reference)
    first = det.update(views[0])
    assert first.alarm
    assert first.blame == ("x0", "x1", "x2")


# --------------------------------------------------------------------------- SchemaCheck


def test_schema_check_kinds_renames_and_new_columns():
    ref = View(
        columns={
            "x": np.array([1.0, 2.0, np.nan]),
            "k": np.array([1, 2, 3]),
            "s": np.array(["a", "b", "c"]),
            "o": np.array([1.0, None, 3], dtype=object),  # numbers with a null: numeric
            "void": np.array([None, None, None], dtype=object),  # kind unknown
        }
    )
    det = SchemaCheck().fit(ref)
    assert det.features_ == ["k", "o", "s", "void", "x"]
    assert det.numeric_ == [True, True, False, None, True]
    same = {
        "x": np.array([1, 2], dtype=np.int32),  # width changed, kind not
        "k": np.array([1.5, np.nan]),
        "s": np.array(["z", None], dtype=object),
        "o": np.array([None, None], dtype=object),  # all null: not a type change
        "void": np.array(["now", "text"]),  # unknown before: no change to report
    }
    v = det.update(View(columns=same))
    assert not v.alarm
    assert v.statistic.tolist() == [0.0] * 5
    changed = {
        **same,
        "x": np.array(["1.0", "2.0"]),  # numbers arrive as strings
        "s": np.array([1, 2]),  # strings arrive as numbers
        "o": np.array([1.0, "2"], dtype=object),  # one string among numbers
        "k_v2": np.array([1, 2]),
    }
    del changed["k"]  # renamed to k_v2
    v = det.update(View(columns=changed))
    assert v.statistic.tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]
    assert v.threshold.tolist() == [0.5] * 5
    assert v.blame == ("k", "o", "s", "x")
    assert det.new_columns_ == ("k_v2",)


def test_schema_check_empty_view_repeats_the_last_verdict():
    det = SchemaCheck().fit(View(columns={"x": np.zeros(5), "y": np.zeros(5)}))
    first = det.update(View(columns={"x": np.zeros(0)}))  # nothing seen yet
    assert np.isnan(first.statistic).all()
    assert not first.alarm
    dropped = det.update(View(columns={"x": np.zeros(4)}))
    assert dropped.blame == ("y",)
    again = det.update(View())
    assert again.blame == ("y",)
    assert again.alarm
    assert again.statistic.tolist() == [0.0, 1.0]
    again.statistic[:] = 7.0  # the verdict is the caller's: the state is not shared
    assert det.update(View()).statistic.tolist() == [0.0, 1.0]


# --------------------------------------------------------------------------- NullRate


def _exact_false_alarm_rate(n: int, m: int, p: float, level: float) -> float:
    """P(alarm) of one column under no change, summed over both counts' binomial laws.

    The critical count for each reference count r is the kernel's (the one `NullRate`
    uses, checked below), so this is the monitor's own rate, with no simulation error.
    """
    r = np.arange(n + 1)
    weight = stats.binom.pmf(r, n, p)
    keep = weight > 1e-14
    critical = betabinom_critical(m, r[keep] + 1.0, n - r[keep] + 1.0, level)
    return float(np.sum(weight[keep] * stats.binom.sf(critical - 1, m, p)))


@pytest.mark.parametrize(("n", "m"), [(5000, 1000), (1000, 1000), (1000, 100)])
@pytest.mark.parametrize("p", [0.0002, 0.001, 0.01, 0.05, 0.3])
def test_null_rate_false_alarm_rate_is_at_most_alpha_exactly(n, m, p):
    for alpha in (0.01, 0.001):
        rate = _exact_false_alarm_rate(n, m, p, alpha)
        assert rate <= alpha, (n, m, p, alpha, rate / alpha)


def test_null_rate_uses_those_critical_counts_and_reports_them_as_shares():
    rng = np.random.default_rng(3)
    x = rng.normal(size=2000)
    x[:30] = np.nan  # reference share 0.015
    det = NullRate(window_size=400, alpha=0.02).fit(View(columns={"x": x, "y": np.ones(2000)}))
    v = det.update(View(columns={"x": rng.normal(size=400), "y": np.ones(400)}))
    critical = betabinom_critical(400, np.array([31.0, 1.0]), np.array([1971.0, 2001.0]), 0.01)
    share = np.array([0.015, 0.0])
    assert v.threshold == pytest.approx((critical - 0.5) / 400 - share, abs=1e-15)
    assert v.statistic == pytest.approx(-share, abs=1e-15)
    # the critical count is where the beta-binomial tail first drops to the level
    for c, a, b in zip(critical, (31, 1), (1971, 2001), strict=True):
        assert stats.betabinom.sf(c - 1, 400, a, b) <= 0.01 < stats.betabinom.sf(c - 2, 400, a, b)


def test_null_rate_small_counts_against_a_reference_without_nulls():
    # No nulls among 5,000 reference rows: in a window of 1,000 one null is not evidence,
    # a handful is (a normal approximation with the reference share as known would alarm
    # on the first null: its variance is 0).
    rng = np.random.default_rng(4)
    det = NullRate().fit(View(columns={"x": rng.normal(size=5000)}))
    x = rng.normal(size=1000)
    x[0] = np.nan
    assert not det.update(View(columns={"x": x})).alarm
    x[:6] = np.nan
    assert det.update(View(columns={"x": x})).blame == ("x",)


def test_null_rate_counts_none_nan_empty_strings_and_absent_columns():
    ref = View(columns={"s": np.array(["a", "b"] * 100), "x": np.zeros(200)})
    det = NullRate(window_size=10, min_samples=1).fit(ref)
    det.update(View(columns={"s": np.array(["a", "", None, np.nan, "b"], dtype=object)}))
    assert det.window_.counts[:, 1].tolist() == [3, 5]  # x is absent: all 5 rows missing


def test_null_rate_false_alarm_rate_on_simulated_ticks():
    # Independent trials (a fresh 2,000-row reference and a fresh 500-row window each), so
    # the alarm count is binomial: under the per-tick bound α the rate stays below
    # α + 3·sqrt(α(1 − α)/N) = 0.0167 for N = 2,000 but with probability about 0.1%.
    alpha, n_trials, n, m = 0.01, 2000, 2000, 500
    rates = np.array([0.002, 0.02, 0.1])
    rng = np.random.default_rng(5)
    alarms = 0
    for _ in range(n_trials):
        x = rng.normal(size=(3, n + m))
        x[rng.uniform(size=x.shape) < rates[:, None]] = np.nan
        names = ("a", "b", "c")
        ref = View(columns=dict(zip(names, x[:, :n], strict=True)))
        det = NullRate(alpha=alpha, window_size=m).fit(ref)
        alarms += det.update(View(columns=dict(zip(names, x[:, n:], strict=True)))).alarm
    rate = alarms / n_trials
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / n_trials), rate


# --------------------------------------------------------------------------- RangeCheck


def test_range_check_bounds_inf_nan_and_strings():
    ref = np.arange(1.0, 1001.0)
    det = RangeCheck(window_size=8, min_samples=1).fit(View(columns={"x": ref}))
    assert det.bounds_.tolist() == [[1.0, 1000.0]]  # q·n = 1: the minimum and maximum
    assert det.expected_share_[0] == pytest.approx(2 / 1001)
    det = RangeCheck(quantile=0.01, window_size=20, min_samples=1)
    det.fit(View(columns={"x": np.concatenate((ref, [np.inf, np.nan]))}))
    assert det.bounds_.tolist() == [[10.0, 991.0]]  # j = 10 from each end of the finite ones
    assert det.expected_share_[0] == pytest.approx((20 + 1) / 1002)  # +inf counts as outside
    v = det.update(
        View(columns={"x": np.array([np.inf, -np.inf, 9.9, 10.0, 991.0, 992.0, np.nan])})
    )
    assert det.window_.counts.tolist() == [[2, 4, 1]]  # inside, outside, NaN (ignored)
    assert v.statistic[0] == pytest.approx(4 / 6 - 21 / 1002)
    before = det.window_.counts.copy()
    det.update(View(columns={"x": np.array(["1e9", "2e9"])}))  # strings: SchemaCheck's job
    assert (det.window_.counts - before).tolist() == [[0, 0, 2]]  # counted as NaN


def test_range_check_false_alarm_rate_on_simulated_ticks_and_the_naive_test():
    # Fresh 1,000-row references (q = 0.001: the range is each column's min and max) and
    # fresh 1,000-row windows, three columns of different shapes (the test is
    # distribution-free). Binomial trials, bound α + 3 SE as for NullRate. The same
    # counts tested against 2q as if it were known alarm at about 3.5 α (exact value
    # computed in the docstring's claim): far above the bound.
    alpha, n_trials, n, m = 0.01, 2000, 1000, 1000
    rng = np.random.default_rng(6)
    alarms = naive = 0
    for _ in range(n_trials):
        x = np.stack(
            [
                rng.normal(size=n + m),
                rng.lognormal(size=n + m),
                np.round(rng.standard_t(3, size=n + m), 2),  # heavy tails and ties
            ]
        )
        names = ("a", "b", "c")
        det = RangeCheck(alpha=alpha).fit(View(columns=dict(zip(names, x[:, :n], strict=True))))
        alarms += det.update(View(columns=dict(zip(names, x[:, n:], strict=True)))).alarm
        outside = det.window_.counts[:, 1]
        naive += bool(np.any(special.bdtrc(outside - 1, m, 0.002) <= alpha / 3))
    bound = alpha + 3 * math.sqrt(alpha * (1 - alpha) / n_trials)
    assert alarms / n_trials <= bound, alarms / n_trials
    assert naive / n_trials > bound, naive / n_trials


def test_range_check_reference_too_small_for_a_range_is_nan():
    x = np.full(100, np.nan)
    x[:2] = 1.0, np.inf  # one finite value: no range from it
    det = RangeCheck(window_size=5, min_samples=1)
    det.fit(View(columns={"x": x, "y": np.arange(100.0)}))
    v = det.update(View(columns={"x": np.full(5, 1e9), "y": np.full(5, 1e9)}))
    assert np.isnan(v.statistic[0])
    assert v.blame == ("y",)


# --------------------------------------------------------------------------- UnseenCategories


def test_unseen_categories_share_excludes_missing_values():
    ref = View(columns={"c": np.array(["a", "a", "b", "b", "c", None], dtype=object)})
    det = UnseenCategories(window_size=10, min_samples=4).fit(ref)
    assert det.categories_[0].tolist() == ["a", "b", "c"]
    assert det.missing_mass_[0] == pytest.approx(1 / 5)  # "c" seen once among 5 values
    v = det.update(View(columns={"c": np.array(["a", "zz", None, "", np.nan], dtype=object)}))
    assert np.isnan(v.statistic[0])  # 2 non-missing values < min_samples
    v = det.update(View(columns={"c": np.array(["b", "yy", "b"])}))
    assert v.statistic[0] == pytest.approx(2 / 5)
    assert v.threshold[0] == 0.01
    assert v.blame == ("c",)
    v = det.update(View(columns={"x": np.zeros(10)}))  # c absent: all missing, nothing left
    assert np.isnan(v.statistic[0])
    assert not v.alarm


def test_unseen_categories_tolerance_is_a_strict_margin():
    det = UnseenCategories(tolerance=0.1, window_size=10, min_samples=10)
    det.fit(View(columns={"c": np.array(["a", "b"] * 10)}))
    assert not det.update(View(columns={"c": np.array(["a"] * 9 + ["new"])})).alarm  # 0.1
    assert det.update(View(columns={"c": np.array(["a"] * 8 + ["new"] * 2)})).alarm  # 0.2


# --------------------------------------------------------------------------- Cardinality


def test_cardinality_expected_count_matches_subsampling_the_reference():
    # E(m) against the mean distinct count of m draws (with replacement) from the
    # reference, over 4,000 draws: within 4 standard errors of that mean.
    rng = np.random.default_rng(7)
    p = np.array([0.5, 0.25, 0.15, 0.06, 0.03, 0.01])
    c = rng.choice(np.array(list("abcdef")), 3000, p=p)
    det = Cardinality().fit(View(columns={"c": c}))
    for m in (5, 50, 300):
        draws = rng.choice(c, size=(4000, m))
        distinct = np.array([np.unique(row).size for row in draws])
        se = distinct.std() / math.sqrt(distinct.size)
        assert abs(det.expected(np.array([m]))[0] - distinct.mean()) < 4 * se + 1e-9, m
    # floats, all distinct: every draw is new; a point mass at 0 adds one value
    x = rng.normal(size=3000)
    assert Cardinality().fit(View(columns={"x": x})).expected(np.array([700]))[0] == 700.0
    x[:1500] = 0.0
    e = Cardinality().fit(View(columns={"x": x})).expected(np.array([700]))[0]
    assert e == pytest.approx(1.0 + 700 * 0.5)


def test_cardinality_merged_categories_and_stuck_values():
    rng = np.random.default_rng(8)
    c = rng.choice(CATEGORIES, 5000, p=[0.4, 0.3, 0.2, 0.1])
    det = Cardinality(window_size=500).fit(View(columns={"c": c, "x": rng.normal(size=5000)}))
    healthy = {"c": rng.choice(CATEGORIES, 500), "x": rng.normal(size=500)}
    v = det.update(View(columns=healthy))
    assert v.statistic.tolist() == [0.0, 0.0]
    merged = {**healthy, "c": np.where(np.isin(healthy["c"], ["a", "b"]), "ab", "cd")}
    v = det.update(View(columns=merged))  # 4 categories become 2: exactly a factor 2
    assert v.statistic[0] == pytest.approx(math.log(2.0))
    assert v.blame == ("c",)
    stuck = {**healthy, "x": np.full(500, -0.0)}
    stuck["x"][::2] = 0.0  # -0.0 and 0.0 are one value
    v = det.update(View(columns=stuck))
    assert v.statistic[1] == pytest.approx(math.log(500))
    assert v.blame == ("x",)


def test_cardinality_counts_strings_of_any_width_and_waits_for_min_samples():
    det = Cardinality(window_size=6, min_samples=4).fit(
        View(columns={"c": np.array(["ab", "cd", "ab", "cd", "ef", "ef"])})
    )
    v = det.update(View(columns={"c": np.array(["ab", None, "cd"], dtype=object)}))
    assert np.isnan(v.statistic[0])  # 2 non-missing values < 4
    v = det.update(View(columns={"c": np.array(["ab", "cd", "ab"], dtype="U20")}))
    # the window: ab, None, cd, ab, cd, ab: 2 distinct among 5, against E(5)
    assert v.statistic[0] == pytest.approx(abs(math.log(2) - math.log(det.expected([5])[0])))


def test_cardinality_stays_silent_on_rare_categories_and_small_windows():
    # Not a calibrated level but a margin: a healthy column's distinct count stays within
    # a few values of E(m), here about 4.6 of five categories in windows of 100, where a
    # factor 2 would need 2 or fewer (or 10 or more) distinct values.
    rng = np.random.default_rng(9)
    cats, p = np.array(list("abcde")), [0.5, 0.3, 0.15, 0.04, 0.01]
    det = Cardinality(window_size=100).fit(View(columns={"c": rng.choice(cats, 5000, p=p)}))
    alarms = [det.update(View(columns={"c": rng.choice(cats, 100, p=p)})).alarm for _ in range(500)]
    assert not any(alarms)


# --------------------------------------------------------------------------- kernels


def test_betabinom_critical_matches_scipy():
    rng = np.random.default_rng(10)
    for _ in range(30):
        m = int(rng.integers(0, 400))
        a, b = rng.uniform(0.5, 50, size=3), rng.uniform(1, 5000, size=3)
        level = float(rng.choice([0.05, 0.01, 1e-4]))
        critical = betabinom_critical(m, a, b, level)
        for c, ai, bi in zip(critical, a, b, strict=True):
            if c <= m:
                assert stats.betabinom.sf(c - 1, m, ai, bi) <= level * (1 + 1e-9)
            if c >= 1:  # one fewer would not alarm
                assert stats.betabinom.sf(c - 2, m, ai, bi) > level * (1 - 1e-9)
    assert betabinom_critical(10, [np.nan], [1.0], 0.05).tolist() == [11]


# --------------------------------------------------------------------------- the engine


def test_in_the_engine_a_dropped_column_is_blamed_upstream_and_its_fallback_served():
    world = Faulted(world=logistic(n_features=3), fault=DropColumn(column="x0"), start=40.0)
    scenario = Scenario(
        world=world,
        horizon_hours=96.0,
        train_rows=2000,
        traffic=Constant(rate_per_hour=300.0),
        delay=FixedDelay(hours=6.0),
        monitors=(
            SchemaCheck(),
            NullRate(),
            RangeCheck(),
            SchemaCheck(on="served"),
            Cardinality(on="served"),
        ),
    )
    run = simulate(scenario, seed=0)
    check_run(run)
    alarm = run.alarm.values
    blamed = run.blamed.sel(feature=["x0", "x1", "x2"]).values
    names = list(run.detector.values)
    assert names == ["schema", "null_rate", "range", "schema_served", "cardinality_served"]
    # upstream: x0 is gone from hour 40 on, and only x0 is blamed
    for j in (0, 1):
        assert not alarm[:40, j].any()
        assert alarm[40:, j].all()
        assert blamed[40:, j].tolist() == [[True, False, False]] * (alarm.shape[0] - 40)
    assert not alarm[:, 2].any()  # NaN is not out of range
    # served: the pipeline fills x0 with its training mean, so the schema looks intact,
    # but the constant is one value where there were 1,000 (ticks of 300 rows: the window
    # is more than half constant from the second faulty tick)
    assert not alarm[:, 3].any()
    assert not alarm[:41, 4].any()
    assert alarm[41:, 4].all()
    assert blamed[41:, 4, 0].all()
    assert not blamed[:, 4, 1:].any()
