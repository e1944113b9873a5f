"""Detectors: the generic conformance checks over every registered detector, then specifics."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import stats

from simlab.detectors import DETECTORS, KS, PSI, ScorePSI, View, WindowedMetric
from simlab.detectors._kernels import (
    PSI_EPS,
    BucketSearch,
    CodeWindow,
    ECDFCoder,
    Ring,
    bincount_2d,
    psi,
)
from simlab.errors import ConfigError, NotFittedError, SchemaError
from simlab.testing._detector_checks import check_detector, make_stream, yield_detector_checks


def _cases():
    for name in DETECTORS.names():
        cls = DETECTORS.get(name)
        xfail = getattr(cls, "_xfail_checks", {})
        for i, params in enumerate(cls._test_params()):
            det = cls(**params)
            for check in yield_detector_checks(det):
                marks = []
                if check.__name__ in xfail:
                    marks = [pytest.mark.xfail(reason=xfail[check.__name__], strict=True)]
                suffix = f"#{i}" if i else ""
                yield pytest.param(det, check, id=f"{name}:{check.__name__}{suffix}", marks=marks)


@pytest.mark.parametrize(("det", "check"), list(_cases()))
def test_conformance(det, check):
    check(det)


def test_every_detector_is_covered():
    assert {"psi", "ks", "score_psi", "windowed_metric"} <= set(DETECTORS.names())
    for name in DETECTORS.names():
        assert 1 <= len(DETECTORS.get(name)._test_params()) <= 3


def test_check_detector_runs_everything():
    check_detector(ScorePSI(window_size=300, min_samples=50))


# --------------------------------------------------------------------------- kernels


def test_ring_keeps_the_last_rows_and_reports_evictions():
    ring = Ring(4, 1, dtype=np.int64, fill=-1)
    counts = np.zeros((1, 10), dtype=np.int64)
    pushed = []
    for chunk in ([1, 2, 3], [4], [5, 6], [7, 8, 9, 0, 1, 2], []):
        rows = np.array(chunk, dtype=np.int64)[:, None]
        evicted = ring.push(rows)
        counts += bincount_2d(rows, 10) - bincount_2d(evicted, 10)
        pushed += chunk
        assert sorted(ring.values[:, 0].tolist()) == sorted(pushed[-4:])
        assert counts[0].tolist() == np.bincount(pushed[-4:], minlength=10).tolist()


def _awkward(rng, n, kind):
    """Values that stress a search: ties, ±inf, NaN, -0.0, subnormals, clusters, outliers."""
    if kind == "normal":
        x = rng.normal(size=n)
    elif kind == "ties":
        x = np.round(rng.normal(size=n), 1)
    elif kind == "heavy":
        x = rng.standard_cauchy(n) * 1e3
    elif kind == "cluster":  # everything within 1e-9, plus extreme outliers
        x = rng.normal(size=n) * 1e-9
        x[:3] = [1e300, -1.7e308, 5e-324][: min(n, 3)]
    else:  # "constant"
        x = np.full(n, 3.0)
    u = rng.uniform(size=n)
    x[u < 0.03] = np.nan
    x[(u >= 0.03) & (u < 0.04)] = np.inf
    x[(u >= 0.04) & (u < 0.05)] = -np.inf
    x[(u >= 0.05) & (u < 0.06)] = -0.0
    return x


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("kind", ["normal", "ties", "heavy", "cluster", "constant"])
def test_bucket_search_equals_searchsorted(kind, steps):
    rng = np.random.default_rng(11)
    keys = []
    for size in (0, 1, 7, 600):
        k = _awkward(rng, size, kind)
        k = np.sort(k[~np.isnan(k)])
        if k.size:
            k = np.concatenate((k, np.nextafter(k[-1:], np.inf)))  # duplicates allowed
        keys.append(np.sort(k))
    offsets = np.cumsum([0] + [k.size + 3 for k in keys[:-1]])
    nan_codes = [k.size + 1 for k in keys]
    search = BucketSearch(keys, nan_codes, offsets, steps=steps)
    for n in (0, 1, 500):
        x = np.stack([_awkward(rng, n, kind) for _ in keys])
        # Values equal to keys, on both sides of each key and beyond all of them.
        for f, k in enumerate(keys):
            if k.size and n:
                picks = rng.choice(k, size=n // 4)
                x[f, : n // 4] = picks
                x[f, n // 4 : n // 2] = np.nextafter(picks, -np.inf)
        got = search.search(x)
        for f, k in enumerate(keys):
            want = np.searchsorted(k, x[f], side="right") + offsets[f]
            want[np.isnan(x[f])] = offsets[f] + nan_codes[f]
            assert np.array_equal(got[f], want), (kind, f, n)


@pytest.mark.parametrize("kind", ["normal", "ties", "heavy", "cluster", "constant"])
def test_bucket_search_pairs_equals_ecdf_coder_codes(kind):
    # KS's search: ECDFCoder keys (pairs u, u⁺), crowded buckets, ±inf, NaN, ticks of
    # varying size (the scratch buffers grow and are reused as views), pickled mid-way.
    rng = np.random.default_rng(16)
    refs = [_awkward(rng, size, kind) for size in (1, 9, 700, 3000)]
    n_cells = max(2 * np.unique(r[~np.isnan(r)]).size + 2 for r in refs)
    coders = [ECDFCoder(r, n_cells) for r in refs]
    offsets = np.arange(len(refs)) * n_cells
    search = BucketSearch([c.keys_ for c in coders], [n_cells - 1] * len(refs), offsets, pairs=True)
    for i, n in enumerate((500, 0, 1, 1200, 37, 1200)):
        if i == 4:
            search = pickle.loads(pickle.dumps(search))
        x = np.stack([_awkward(rng, n, kind) for _ in refs])
        for f, r in enumerate(refs):  # reference values, and the floats just below them
            finite = r[np.isfinite(r)]
            if finite.size and n >= 4:
                x[f, : n // 4] = rng.choice(finite, size=n // 4)
                x[f, n // 4 : n // 2] = np.nextafter(x[f, : n // 4], -np.inf)
        got = search.search(x)
        for f, coder in enumerate(coders):
            assert np.array_equal(got[f], coder.codes(x[f]) + offsets[f]), (kind, n, f)


def test_ring_extend_keeps_what_push_keeps():
    rng = np.random.default_rng(17)
    pushed, extended = (
        Ring(5, 1, dtype=np.float64, fill=np.nan),
        Ring(5, 1, dtype=np.float64, fill=np.nan),
    )
    for r in (2, 0, 4, 5, 1, 7, 3):
        rows = rng.normal(size=(r, 1))
        pushed.push(rows)
        extended.extend(rows.copy())
        assert extended.size == pushed.size
        assert np.array_equal(extended.values, pushed.values)


def test_ecdf_coder_codes_match_their_definition():
    rng = np.random.default_rng(12)
    ref = np.concatenate((np.round(rng.normal(size=300), 1), [np.inf, -np.inf, 0.0, np.nan]))
    coder = ECDFCoder(ref, n_cells=700)
    x = np.concatenate((np.round(rng.normal(size=300), 2), [np.inf, -np.inf, -0.0, np.nan]))
    u = coder.values_
    i = np.searchsorted(u, x, side="left")
    equal = (i < u.size) & (u[np.minimum(i, u.size - 1)] == x)
    want = np.where(np.isnan(x), 699, 2 * i + equal)
    assert np.array_equal(coder.codes(x), want)


def test_code_window_counts_the_last_capacity_codes():
    rng = np.random.default_rng(13)
    window = CodeWindow(7, 3, n_cells=5)
    pushed = np.empty((3, 0), dtype=np.intp)
    for r in (0, 3, 2, 1, 4, 7, 9, 5, 6, 0, 2):
        codes = rng.integers(0, 5, size=(3, r))
        window.push(codes + window.offsets)
        pushed = np.concatenate((pushed, codes), axis=1)
        last = pushed[:, -7:]
        assert window.size == last.shape[1]
        want = [np.bincount(row, minlength=5).tolist() for row in last]
        assert window.counts.tolist() == want
        held = window.data[:, : window.size] - window.offsets
        assert sorted(held.ravel().tolist()) == sorted(last.ravel().tolist())


def test_psi_kernel_hand_value_and_floor():
    assert psi(np.array([0.25, 0.75]), np.array([0.5, 0.5])) == pytest.approx(0.25 * math.log(3))
    # A bin empty on both sides adds nothing; empty on one side adds (p − ε) ln(p / ε).
    assert psi(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.5, 0.0])) == 0.0
    value = psi(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    expected = 2 * (1.0 - PSI_EPS) * math.log(1.0 / PSI_EPS)
    assert value == pytest.approx(expected)


# --------------------------------------------------------------------------- PSI


def test_psi_identical_distributions_is_near_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    det = PSI(window_size=5000).fit(View(columns={"x": x}))
    v = det.update(View(columns={"x": x}))
    assert v.statistic.shape == (1,)
    assert v.statistic[0] == pytest.approx(0.0, abs=1e-12)
    # Fresh draws from the same law: PSI ≈ (B − 1)(1/n + 1/m) = 9 · 2/5000.
    v = det.update(View(columns={"x": rng.normal(size=5000)}))
    assert 0.0 < v.statistic[0] < 0.02
    assert not v.alarm


def test_psi_hand_computed_categorical_example():
    ref = View(columns={"c": np.array(["a", "b"] * 50)})
    det = PSI(window_size=100, min_samples=10).fit(ref)
    v = det.update(View(columns={"c": np.array(["a"] * 25 + ["b"] * 75)}))
    # p = (0.25, 0.75), q = (0.5, 0.5); unseen and missing bins are ε on both sides.
    assert v.statistic[0] == pytest.approx(0.25 * math.log(3), rel=1e-12)
    assert v.alarm  # 0.2747 > 0.2


def test_psi_hand_computed_numeric_example():
    ref = View(columns={"x": np.arange(100.0)})  # quartile edges 24.75, 49.5, 74.25
    det = PSI(n_bins=4, window_size=100, min_samples=10).fit(ref)
    assert det.binners_[0].edges_.tolist() == [24.75, 49.5, 74.25]
    window = np.array([0.0] * 50 + [30.0] * 25 + [60.0] * 25)  # p = (.5, .25, .25, 0)
    v = det.update(View(columns={"x": window}))
    q = 0.25
    expected = (0.5 - q) * math.log(0.5 / q) + (PSI_EPS - q) * math.log(PSI_EPS / q)
    assert v.statistic[0] == pytest.approx(expected, rel=1e-12)


def test_psi_window_slides_and_min_samples():
    rng = np.random.default_rng(1)
    det = PSI(window_size=200, min_samples=150).fit(View(columns={"x": rng.normal(size=2000)}))
    v = det.update(View(columns={"x": rng.normal(size=100)}))
    assert np.isnan(v.statistic[0])
    assert not v.alarm
    v = det.update(View(columns={"x": rng.normal(5.0, size=100)}))
    assert v.alarm  # half the window is shifted
    for _ in range(2):
        v = det.update(View(columns={"x": rng.normal(size=100)}))
    assert not v.alarm  # the shifted rows have left the window
    assert det.window_.size == 200


def test_psi_nan_inf_none_and_unseen_categories():
    rng = np.random.default_rng(2)
    ref = View(columns={"x": rng.normal(size=1000), "c": rng.choice(["a", "b"], size=1000)})
    det = PSI(window_size=100, min_samples=1).fit(ref)
    assert det.features_ == ["c", "x"]
    x = np.array([np.nan, np.inf, -np.inf, 0.0])
    c = np.array([None, "zz", "a", float("nan")], dtype=object)
    v = det.update(View(columns={"x": x, "c": c}))
    assert np.all(np.isfinite(v.statistic))
    # x: one missing, one in each outer bin, one middle; c: two missing, one unseen.
    assert det.counts_[1, -1] == 1
    assert det.counts_[1, 0] == 1
    assert det.counts_[1, det.binners_[1].n_cells - 2] == 1
    cat = det.binners_[0]
    assert det.counts_[0, cat.n_cells - 1] == 2
    assert det.counts_[0, cat.n_cells - 2] == 1
    assert v.alarm  # missing values and an unseen category are a real change


def test_psi_numeric_column_arriving_as_object_with_none():
    rng = np.random.default_rng(3)
    det = PSI(window_size=10, min_samples=1).fit(View(columns={"x": rng.normal(size=100)}))
    v = det.update(View(columns={"x": np.array([None, 1.0], dtype=object)}))
    assert det.counts_[0, -1] == 1
    assert np.isfinite(v.statistic[0])


def test_a_missing_column_reads_as_all_missing_and_alarms():
    # a column dropped upstream must not crash the monitor: every row counts as missing
    rng = np.random.default_rng(4)
    ref = View(columns={"x": rng.normal(size=500), "y": rng.normal(size=500)})
    psi = PSI(window_size=100, min_samples=50).fit(ref)
    ks = KS(window_size=100, min_samples=50).fit(ref)
    v = psi.update(View(columns={"x": rng.normal(size=100)}))
    assert psi.counts_[1, -1] == 100  # all 100 rows of y in the missing bin
    assert v.alarm
    assert v.statistic[1] > 1.0
    assert v.statistic[0] < 0.2
    w = ks.update(View(columns={"x": rng.normal(size=100)}))
    assert np.isnan(w.statistic[1])  # KS drops NaN: nothing left to test
    assert not w.alarm


def test_a_column_of_the_wrong_length_is_a_schema_error():
    det = PSI().fit(View(columns={"x": np.zeros(10), "y": np.zeros(10)}))
    with pytest.raises(SchemaError, match="'y' has 2 rows, not 3"):
        det.update(View(columns={"x": np.zeros(3), "y": np.zeros(2)}))


def test_update_before_fit_raises():
    with pytest.raises(NotFittedError):
        PSI().update(View(columns={"x": np.zeros(3)}))


# --------------------------------------------------------------------------- KS


@pytest.mark.parametrize("seed", range(6))
def test_ks_statistic_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    n, m = 400, 250
    ref = np.round(rng.normal(size=n), 1 if seed % 2 else 8)  # odd seeds: many ties
    ref[:3] = [-np.inf, np.inf, ref[3]]
    win = np.round(rng.normal(0.2 * seed, size=m), 1 if seed % 2 else 8)
    win[:2] = [np.inf, ref[5]]
    det = KS(window_size=m, min_samples=1).fit(View(columns={"x": ref}))
    v = det.update(View(columns={"x": win}))
    assert abs(v.statistic[0] - stats.ks_2samp(ref, win).statistic) < 1e-12


def test_ks_matches_scipy_over_a_sliding_window_with_nan():
    rng = np.random.default_rng(7)
    ref = rng.normal(size=(2, 800))
    det = KS(window_size=300, min_samples=10).fit(View(columns={"a": ref[0], "b": ref[1]}))
    seen = np.empty((2, 0))
    for shift in (0.0, 0.3, 0.6, 0.9):
        x = rng.normal(shift, size=(2, 130))
        x[0, ::7] = np.nan
        seen = np.concatenate((seen, x), axis=1)
        v = det.update(View(columns={"a": x[0], "b": x[1]}))
        for j in range(2):
            w = seen[j, -300:]
            w = w[~np.isnan(w)]
            assert abs(v.statistic[j] - stats.ks_2samp(ref[j], w).statistic) < 1e-12
            crit = math.sqrt(-math.log(0.01 / 2 / 2) / 2) * math.sqrt(
                (800 + w.size) / (800 * w.size)
            )
            assert v.threshold[j] == pytest.approx(crit, rel=1e-12)


@pytest.mark.parametrize("kind", ["normal", "ties", "heavy", "cluster"])
def test_ks_matches_scipy_with_ragged_ticks_and_awkward_values(kind):
    rng = np.random.default_rng(14)
    ref = np.stack([_awkward(rng, 700, kind) for _ in range(3)])
    names = ("a", "b", "c")
    det = KS(window_size=250, min_samples=1).fit(View(columns=dict(zip(names, ref, strict=True))))
    seen = np.empty((3, 0))
    for r in (40, 1, 0, 250, 130, 300, 77, 199):
        x = np.stack([_awkward(rng, r, kind) for _ in range(3)])
        if r:  # ties with the reference
            x[:, : r // 3] = rng.choice(ref[0][~np.isnan(ref[0])], size=(3, r // 3))
        seen = np.concatenate((seen, x), axis=1)
        v = det.update(View(columns=dict(zip(names, x, strict=True))))
        for j in range(3):
            w = seen[j, -250:]
            w = w[~np.isnan(w)]
            if w.size == 0:
                assert np.isnan(v.statistic[j])
                continue
            expected = stats.ks_2samp(ref[j][~np.isnan(ref[j])], w).statistic
            assert abs(v.statistic[j] - expected) < 1e-12, (kind, r, j)


def test_psi_with_categorical_and_numeric_features_slides_its_counts():
    rng = np.random.default_rng(15)
    ref = View(columns={"x": rng.normal(size=800), "c": rng.choice(["a", "b", "c"], 800)})
    det = PSI(window_size=150, min_samples=1).fit(ref)
    seen_x, seen_c = np.empty(0), np.empty(0, dtype=object)
    for r in (60, 0, 100, 1, 300, 40):
        x = rng.normal(0.5, size=r)
        x[::9] = np.nan
        c = rng.choice(np.array(["a", "b", "zz", None], dtype=object), r)
        det.update(View(columns={"x": x, "c": c}))
        seen_x, seen_c = np.concatenate((seen_x, x)), np.concatenate((seen_c, c))
        for f, (name, seen) in enumerate((("c", seen_c), ("x", seen_x))):
            binner = det.binners_[f]
            want = np.bincount(binner.codes(seen[-150:]), minlength=det.n_cells_)
            assert det.counts_[det.features_.index(name)].tolist() == want.tolist()


def test_ks_false_alarm_rate_is_close_to_alpha():
    # Non-overlapping windows: each tick pushes window_size rows, so ticks are independent
    # given the (large) reference. The rate is binomial: tolerance 4 standard errors,
    # plus 0.01 for the asymptotic critical value at m = 200 (slightly conservative).
    alpha, n_ticks, m = 0.05, 1500, 200
    rng = np.random.default_rng(0)
    det = KS(alpha=alpha, window_size=m, min_samples=m)
    det.fit(View(columns={"x": rng.normal(size=50_000)}))
    alarms = [det.update(View(columns={"x": rng.normal(size=m)})).alarm for _ in range(n_ticks)]
    rate = float(np.mean(alarms))
    se = math.sqrt(alpha * (1 - alpha) / n_ticks)
    assert abs(rate - alpha) < 4 * se + 0.01, rate


def test_ks_nan_window_below_min_samples_gives_nan_and_no_alarm():
    rng = np.random.default_rng(4)
    det = KS(window_size=100, min_samples=50).fit(View(columns={"x": rng.normal(size=500)}))
    x = np.full(100, np.nan)
    x[:10] = 9.0
    v = det.update(View(columns={"x": x}))
    assert np.isnan(v.statistic[0])
    assert np.isnan(v.threshold[0])
    assert not v.alarm


def test_ks_refuses_categorical_features_unless_excluded():
    ref = View(columns={"x": np.zeros(10), "c": np.array(["a"] * 10)})
    with pytest.raises(ConfigError, match=r"KS: features=None .*\['c'\] are categorical"):
        KS().fit(ref)
    assert KS(features=("x",)).fit(ref).features_ == ["x"]


# --------------------------------------------------------------------------- ScorePSI


def test_score_psi_matches_psi_on_the_scores():
    rng = np.random.default_rng(5)
    ref_scores = rng.beta(2, 5, size=3000)
    win = rng.beta(2, 4, size=400)
    a = ScorePSI(window_size=400).fit(View(scores=ref_scores)).update(View(scores=win))
    b = PSI(window_size=400).fit(View(columns={"s": ref_scores})).update(View(columns={"s": win}))
    assert a.statistic == b.statistic[0]
    assert isinstance(a.statistic, float)


def test_score_psi_nan_and_missing_scores():
    rng = np.random.default_rng(6)
    det = ScorePSI(window_size=10, min_samples=1).fit(View(scores=rng.uniform(size=100)))
    v = det.update(View(scores=np.array([np.nan, np.inf, -np.inf])))
    assert math.isfinite(v.statistic)
    assert v.alarm
    assert det.update(View()).statistic == v.statistic  # nothing served: window unchanged
    with pytest.raises(SchemaError, match="no scores"):
        det.update(View(columns={"x": np.zeros(3)}))


# --------------------------------------------------------------------------- WindowedMetric


def test_windowed_metric_hand_example_accuracy():
    ref = View(labels=np.array([1, 0, 1, 0]), label_scores=np.array([0.9, 0.2, 0.6, 0.7]))
    det = WindowedMetric(window_size=4, min_samples=2).fit(ref)
    assert det.reference_metric_ == 0.75
    v = det.update(View(labels=np.array([1]), label_scores=np.array([0.4])))  # wrong
    assert math.isnan(v.statistic)
    assert not v.alarm
    v = det.update(View(labels=np.array([0, 1]), label_scores=np.array([0.1, 0.5])))  # right
    assert v.statistic == pytest.approx(0.75 - 2 / 3)
    v = det.update(View())  # no labels arrived: the window stays
    assert v.statistic == pytest.approx(0.75 - 2 / 3)
    v = det.update(View(labels=np.array([1, 1]), label_scores=np.array([0.0, 0.0])))
    # window: wrong, right, right, wrong... last four = [right, right, wrong, wrong]
    assert v.statistic == pytest.approx(0.25)
    assert v.alarm


def test_windowed_metric_log_loss_and_mae():
    ref = View(labels=np.array([1.0, 0.0]), label_scores=np.array([0.8, 0.2]))
    det = WindowedMetric(metric="log_loss", window_size=2, min_samples=1).fit(ref)
    assert det.reference_metric_ == pytest.approx(-math.log(0.8))
    v = det.update(View(labels=np.array([1.0]), label_scores=np.array([0.5])))
    assert v.statistic == pytest.approx(math.log(2) + math.log(0.8))
    v = det.update(View(labels=np.array([1.0]), label_scores=np.array([0.0])))  # clipped
    assert math.isfinite(v.statistic)
    assert v.alarm
    det = WindowedMetric(metric="mae", window_size=3, min_samples=1, tolerance=0.5)
    det.fit(View(labels=np.array([1.0, 2.0]), label_scores=np.array([1.5, 2.5])))
    v = det.update(
        View(labels=np.array([0.0, 1.0, np.nan]), label_scores=np.array([1.0, 3.0, 1.0]))
    )
    assert v.statistic == pytest.approx(1.5 - 0.5)
    assert v.alarm
    v = det.update(View(labels=np.array([0.0]), label_scores=np.array([np.inf])))
    assert v.statistic == math.inf
    assert v.alarm


def test_windowed_metric_needs_reference_labels():
    with pytest.raises(ConfigError, match="reference"):
        WindowedMetric().fit(View(scores=np.zeros(3)))


def test_pickled_detector_keeps_its_window():
    ref, views = make_stream(0, 3)
    det = KS(features=("x0",), window_size=300, min_samples=50).fit(ref)
    det.update(views[0])
    clone = pickle.loads(pickle.dumps(det))
    assert np.array_equal(clone.update(views[1]).statistic, det.update(views[1]).statistic)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (PSI, {"n_bins": 1}, "PSI: n_bins=1 is not allowed; expected an int >= 2"),
        (PSI, {"n_bins": True}, "PSI: n_bins=True is not allowed; expected an int >= 2"),
        (
            PSI,
            {"threshold": 0.0},
            "PSI: threshold=0.0 is not allowed; expected a finite number > 0.0",
        ),
        (PSI, {"features": "x"}, "PSI: features='x' is not allowed; expected None or a non-empty"),
        (PSI, {"features": ("x", "x")}, "PSI: features=('x', 'x') is not allowed"),
        (PSI, {"window_size": 0}, "PSI: window_size=0 is not allowed; expected an int >= 1"),
        (
            PSI,
            {"window_size": 50},
            "PSI: min_samples=100 is not allowed; expected an int in [1, 50]",
        ),
        (KS, {"alpha": 0.0}, "KS: alpha=0.0 is not allowed; expected a number in (0.0, 1.0)"),
        (KS, {"alpha": float("nan")}, "KS: alpha=nan is not allowed"),
        (ScorePSI, {"n_bins": 2.5}, "ScorePSI: n_bins=2.5 is not allowed; expected an int >= 2"),
        (
            WindowedMetric,
            {"metric": "auc"},
            "WindowedMetric: metric='auc' is not allowed; expected one of 'accuracy', 'log_loss'",
        ),
        (
            WindowedMetric,
            {"tolerance": -0.1},
            "WindowedMetric: tolerance=-0.1 is not allowed; expected a finite number >= 0.0",
        ),
    ],
)
def test_config_errors_name_key_value_and_allowed(cls, kwargs, message):
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(message)


def test_registry_builds_detectors_and_suggests_names():
    det = DETECTORS.make({"kind": "psi", "n_bins": 20})
    assert det == PSI(n_bins=20)
    assert repr(det) == "PSI(n_bins=20)"
    with pytest.raises(ConfigError, match="Did you mean 'psi'"):
        DETECTORS.make({"kind": "pis"})
