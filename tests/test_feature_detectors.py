"""The feature monitors beyond PSI and KS, univariate and multivariate.

ChiSquare, Wasserstein, JensenShannon and Hellinger give one statistic per feature; MMD,
DomainClassifier and PCAReconstruction one for the joint law of the numeric features.
The generic conformance checks run over them in test_detectors.py (they are registered
with test params). Here: each statistic against an independent computation (scipy,
scikit-learn, plain loops), false-alarm rates against the nominal level over independent
windows, power on the change each is for (and blindness where it should be blind), and
Benjamini–Hochberg against Bonferroni. Seeds are fixed; every tolerance says where it
comes from.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon, pdist
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

import simlab.detectors as detectors
from simlab.detectors import (
    DETECTORS,
    KS,
    MMD,
    PSI,
    ChiSquare,
    DomainClassifier,
    Hellinger,
    JensenShannon,
    PCAReconstruction,
    View,
    Wasserstein,
)
from simlab.detectors._kernels import corrected_level
from simlab.errors import ConfigError

UNIVARIATE = (ChiSquare, Wasserstein, JensenShannon, Hellinger)
MULTIVARIATE = (MMD, DomainClassifier, PCAReconstruction)

#: Float64 rounding: a sum of N terms is exact to N · EPS of the sum of their magnitudes
#: (Higham, Accuracy and Stability of Numerical Algorithms, §4.2).
EPS = np.finfo(np.float64).eps


def rate_bound(alpha: float, n: int) -> float:
    """alpha + 3 binomial standard errors: a correct level-alpha test exceeds it over n
    independent trials with probability about 0.0013 (one-sided normal tail at 3)."""
    return alpha + 3.0 * math.sqrt(alpha * (1.0 - alpha) / n)


def normal_view(rng, n: int, d: int, *, shift: dict | None = None, rho: float = 0.0) -> View:
    """`n` rows of `d` standard-normal features x0..x{d-1}; x0, x1 with correlation `rho`.

    The marginals stay N(0, 1) whatever `rho` (x1 = rho x0 + sqrt(1 - rho²) e), so only
    the joint law of x0 and x1 moves with it; `shift` adds a constant to named columns.
    """
    x = rng.normal(size=(d, n))
    x[1] = rho * x[0] + math.sqrt(1.0 - rho * rho) * x[1]
    columns = {f"x{j}": x[j] for j in range(d)}
    for name, delta in (shift or {}).items():
        columns[name] = columns[name] + delta
    return View(columns=columns)


# --------------------------------------------------------------------------- the family


def test_every_new_monitor_is_registered_exported_and_tagged():
    for cls in UNIVARIATE + MULTIVARIATE:
        assert DETECTORS.get(cls.name) is cls
        assert cls.__name__ in detectors.__all__
        assert 1 <= len(cls._test_params()) <= 3
        assert cls.tags.per_feature is (cls in UNIVARIATE)
        assert cls.tags.threshold in cls().get_params()
    assert detectors.__all__ == sorted(detectors.__all__, key=lambda s: (not s.isupper(), s))
    assert [c.tags.randomised for c in MULTIVARIATE] == [True, True, False]
    assert not any(c.tags.randomised for c in UNIVARIATE)


@pytest.mark.parametrize("cls", UNIVARIATE + MULTIVARIATE)
def test_hostile_views_never_crash_and_behave_as_documented(cls):
    rng = np.random.default_rng(1)
    ref = {"x0": rng.normal(size=600), "x1": rng.normal(size=600), "x2": rng.normal(size=600)}
    numeric_only = cls in (Wasserstein, *MULTIVARIATE)
    if not numeric_only:
        ref["c"] = rng.choice(["a", "b"], size=600)
    params = {"window_size": 200}
    if cls is MMD:
        params.update(sample_size=100, reference_size=200, n_permutations=99, alpha=0.05)
    elif cls is DomainClassifier:
        params.update(min_samples=100, reference_size=400)
    else:
        params["min_samples"] = 50
    det = cls(**params).fit(View(columns=ref))
    n_out = len(det.features_)

    def check(verdict):
        assert type(verdict.alarm) is bool
        for value in (verdict.statistic, verdict.threshold):
            if cls.tags.per_feature:
                assert value.shape == (n_out,)
                assert value.dtype == np.float64
            else:
                assert isinstance(value, float)
        assert set(verdict.blame) <= set(det.features_)

    x = rng.normal(size=(3, 150))
    x[0, ::5] = np.nan
    x[1, ::7] = np.inf
    x[1, 1::7] = -np.inf
    hostile = {"x0": x[0], "x1": x[1], "x2": np.array([None] * 150, dtype=object)}
    if not numeric_only:
        hostile["c"] = np.array(["a", "zz", None, "b", ""] * 30, dtype=object)
    for view in (
        View(),
        View(columns={k: v[:0] for k, v in hostile.items()}),
        View(columns={k: v[:1] for k, v in hostile.items()}),
        View(columns=hostile),
        View(columns={"x0": rng.normal(size=150)}),  # the others missing
        View(columns={k: v[:1] for k, v in hostile.items()}),
    ):
        check(det.update(view))
    # After rows that far from the reference, every monitor that can see them alarms:
    # ±inf and missing values are a change (Wasserstein: x1's share at ±inf moved, so
    # its distance is inf).
    assert det.update(View(columns=hostile)).alarm


# --------------------------------------------------------------------------- ChiSquare


def test_chi_square_matches_scipy_with_pooling_unseen_and_missing():
    # Reference: a 50%, b 30%, c 19%, d 1% over 3,000 rows; windows of 400. d is rare
    # (min(3000, 400) · 0.01 = 4 expected < 5), so it pools with the unseen and missing
    # cells into "other", which still expects 4 < 5 and therefore joins c, the least
    # frequent kept cell: the test has three cells, {a}, {b}, {c, d, unseen, missing}.
    rng = np.random.default_rng(2)
    ref = rng.choice(np.array(["a", "b", "c", "d"]), size=3000, p=[0.5, 0.3, 0.19, 0.01])
    det = ChiSquare(window_size=400, min_samples=10).fit(View(columns={"c": ref}))
    seen = np.empty(0, dtype=object)
    for r in (150, 0, 300, 1, 250):
        values = np.array(["a", "b", "c", "d", "zz", None], dtype=object)
        win = rng.choice(values, size=r, p=[0.4, 0.3, 0.15, 0.05, 0.05, 0.05])
        seen = np.concatenate((seen, win))[-400:]
        v = det.update(View(columns={"c": win}))
        if seen.size < 10:
            assert np.isnan(v.statistic[0])
            continue

        def cells(values):
            s = np.array(["<missing>" if x is None else str(x) for x in values])
            return np.array([(s == "a").sum(), (s == "b").sum(), (~np.isin(s, ["a", "b"])).sum()])

        table = np.array([cells(ref), cells(seen)])
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
        # Both sum 6 terms of size <= chi2: rounding is within 6 · EPS · chi2 (use 1e-12).
        assert v.statistic[0] == pytest.approx(chi2, rel=1e-12)
        assert det.pvalues_[0] == pytest.approx(p, rel=1e-9, abs=1e-300)  # chdtrc vs chi2.sf
        # The same statistic as scipy.stats.chisquare on the 2 × 3 table's six cells with
        # the homogeneity expectations (row total × pooled share); dof 2 = 6 − 1 − 3.
        expected = table.sum(1, keepdims=True) * table.sum(0) / table.sum()
        gof = stats.chisquare(table.ravel(), expected.ravel(), ddof=3)
        assert v.statistic[0] == pytest.approx(gof.statistic, rel=1e-12)
        assert det.pvalues_[0] == pytest.approx(gof.pvalue, rel=1e-9, abs=1e-300)
        assert v.threshold[0] == pytest.approx(stats.chi2.isf(0.01, dof), rel=1e-9)
        assert v.alarm == (p <= 0.01)


def test_chi_square_numeric_feature_uses_psi_bins_and_a_missing_cell():
    # Numeric columns are tested on PSI's quantile bins; the reference has no NaN, so
    # the missing cell is empty there and stays its own cell (it expects 0, not "< 5").
    rng = np.random.default_rng(3)
    ref = rng.normal(size=2000)
    det = ChiSquare(n_bins=5, window_size=500, min_samples=10).fit(View(columns={"x": ref}))
    win = rng.normal(0.2, size=500)
    win[::50] = np.nan
    v = det.update(View(columns={"x": win}))
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 6)[1:-1]))
    assert np.array_equal(det.binners_[0].edges_, edges)

    def cells(x):
        c = np.bincount(np.searchsorted(edges, x[~np.isnan(x)], side="right"), minlength=5)
        return np.append(c, np.isnan(x).sum())

    table = np.array([cells(ref), cells(win)])
    table = table[:, table.sum(0) > 0]
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert dof == 5  # five bins and the missing cell
    assert v.statistic[0] == pytest.approx(chi2, rel=1e-12)
    assert det.pvalues_[0] == pytest.approx(p, rel=1e-9)


def test_chi_square_detects_a_category_proportion_change_and_blames_it():
    rng = np.random.default_rng(4)
    cats = np.array(["a", "b", "c"])

    def view(n, pc):
        return View(
            columns={
                "c": rng.choice(cats, size=n, p=pc),
                "d": rng.choice(cats, size=n, p=[0.6, 0.3, 0.1]),
            }
        )

    det = ChiSquare(window_size=1000).fit(view(5000, [0.5, 0.3, 0.2]))
    tick, blame = _first_alarm(det, [view(250, [0.4, 0.3, 0.3]) for _ in range(5)])
    # c's shares move by 0.1. With m window rows the statistic is noncentral χ² on 2 df
    # with λ = m n / (n + m) · Σ (p − q)² / q = m · 0.95 · (0.01/0.5 + 0.01/0.2)
    # = 0.067 m: λ = 17 after one tick, 33 after two, against the critical value 10.6
    # (α / 2 = 0.005 on 2 df); P(χ²(2, 33) < 10.6) ≈ 0.002, so it alarms by tick 2.
    assert tick is not None
    assert tick <= 2
    assert blame == ("c",)  # d is unchanged: its chance to reject is α / 2 per tick


# --------------------------------------------------------------------------- Wasserstein


@pytest.mark.parametrize("seed", range(4))
def test_wasserstein_matches_scipy_over_a_sliding_window(seed):
    rng = np.random.default_rng(10 + seed)
    decimals = 1 if seed % 2 else 8  # odd seeds: many ties
    ref = np.round(rng.standard_t(4, size=(2, 700)), decimals)
    ref[1, :20] = np.nan
    names = ("a", "b")
    det = Wasserstein(window_size=300, min_samples=5).fit(
        View(columns=dict(zip(names, ref, strict=True)))
    )
    sd = [np.std(r[~np.isnan(r)]) for r in ref]
    seen = np.empty((2, 0))
    for r in (120, 0, 1, 300, 77, 450):
        x = np.round(rng.standard_t(4, size=(2, r)) + 0.3 * seed, decimals)
        x[0, ::9] = np.nan
        seen = np.concatenate((seen, x), axis=1)[:, -300:]
        v = det.update(View(columns=dict(zip(names, x, strict=True))))
        for j in range(2):
            w = seen[j][~np.isnan(seen[j])]
            if w.size < 5:
                assert np.isnan(v.statistic[j])
                continue
            expected = stats.wasserstein_distance(ref[j][~np.isnan(ref[j])], w) / sd[j]
            # Both sum n + m − 1 <= 1,000 non-negative terms: rounding <= 1000 · EPS
            # relative (2.2e-13); scipy's cumulative sums differ in order, hence 1e-12.
            assert v.statistic[j] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_wasserstein_infinities_and_constant_reference():
    ref = np.concatenate((np.arange(100.0), [np.inf]))  # 1 of 101 values at +inf
    det = Wasserstein(window_size=101, min_samples=1).fit(View(columns={"x": ref}))
    v = det.update(View(columns={"x": ref.copy()}))
    assert v.statistic[0] == 0.0  # the same mass at +inf: the infinities pair up
    v = det.update(View(columns={"x": np.concatenate((np.arange(100.0), [99.0]))}))
    assert v.statistic[0] == np.inf  # mass at +inf moved: infinitely far
    assert v.alarm
    det = Wasserstein(window_size=10, min_samples=1).fit(View(columns={"x": np.full(50, 2.0)}))
    assert det.update(View(columns={"x": np.full(10, 2.0)})).statistic[0] == 0.0
    assert det.update(View(columns={"x": np.full(10, 2.5)})).statistic[0] == np.inf


def test_wasserstein_refuses_categorical_columns():
    ref = View(columns={"x": np.zeros(10), "c": np.array(["a"] * 10)})
    with pytest.raises(ConfigError, match=r"Wasserstein: features=None .*\['c'\] are categorical"):
        Wasserstein().fit(ref)


# --------------------------------------------------------------------------- JS, Hellinger


def _psi_cells_numeric(ref, x, n_bins):
    """Proportions on PSI's cells, computed directly: quantile bins of the finite
    reference values (±inf in the outer bins) and a last cell for NaN."""
    finite = ref[np.isfinite(ref)]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))

    def props(v):
        c = np.bincount(
            np.searchsorted(edges, v[~np.isnan(v)], side="right"), minlength=edges.size + 1
        )
        return np.append(c, np.isnan(v).sum()) / v.size

    return props(x), props(ref)


def _psi_cells_categorical(ref, x):
    """Proportions on PSI's cells: the reference categories, unseen, missing."""
    cats = np.unique(ref)

    def props(v):
        s = np.array(["" if u is None else str(u) for u in v])
        c = [(s == k).sum() for k in cats]
        return np.array([*c, (~np.isin(s, cats) & (s != "")).sum(), (s == "").sum()]) / v.size

    return props(x), props(ref)


@pytest.mark.parametrize("cls", [JensenShannon, Hellinger])
def test_binned_distances_match_a_direct_computation_on_the_same_bins(cls):
    rng = np.random.default_rng(20)
    ref_x = rng.normal(size=1500)
    ref_x[:3] = [np.inf, -np.inf, 0.0]
    ref_c = rng.choice(np.array(["a", "b", "c"]), size=1500, p=[0.6, 0.3, 0.1])
    det = cls(n_bins=8, window_size=400, min_samples=1)
    det.fit(View(columns={"x": ref_x, "c": ref_c}))
    assert det.features_ == ["c", "x"]
    for shift in (0.0, 0.4, 1.5):
        x = rng.normal(shift, size=400)
        x[::13] = np.nan
        x[1::17] = np.inf
        c = rng.choice(np.array(["a", "b", "zz", None], dtype=object), 400, p=[0.5, 0.3, 0.1, 0.1])
        v = det.update(View(columns={"x": x, "c": c}))
        for j, (p, q) in enumerate(
            (_psi_cells_categorical(ref_c, c), _psi_cells_numeric(ref_x, x, 8))
        ):
            if cls is JensenShannon:
                expected = jensenshannon(p, q, base=2)
                # scipy's rel_entr sums (at most 11 terms of size <= 1): within
                # 11 · EPS of the divergence, and the square root halves relative error
                # away from 0; at 0.02 or more that is far below 1e-12.
                assert v.statistic[j] == pytest.approx(expected, rel=1e-12)
            else:
                # The textbook form sqrt(1 − Σ √(p q)) cancels: 1 − BC is exact to
                # ~11 · EPS absolute, so its square root H to ~11 · EPS / (2 H) ≈ 1e-14
                # at H >= 0.02: compare within 1e-12 absolute.
                expected = math.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(p * q))))
                assert v.statistic[j] == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- MMD


def _direct_mmd2(x, y, sigma):
    """The unbiased MMD², term by term (O(n²) Python loops over pairs)."""

    def k(a, b):
        return math.exp(-float(np.sum((a - b) ** 2)) / (2.0 * sigma * sigma))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2.0 * xy


def test_mmd_statistic_bandwidth_and_permutations_match_a_direct_computation():
    rng = np.random.default_rng(30)
    ref = {f"x{j}": rng.normal(j, 1.0 + j, size=120) for j in range(3)}
    det = MMD(reference_size=40, sample_size=25, window_size=25, n_permutations=19, alpha=0.1)
    det.fit(View(columns=ref))
    # Standardisation by the reference's own mean and (population) standard deviation.
    raw = np.array([ref[f] for f in det.features_])
    mean, sd = raw.mean(axis=1), raw.std(axis=1)
    assert np.allclose(det.mean_, mean, rtol=1e-14)
    assert np.allclose(det.scale_, sd, rtol=1e-14)
    y = det.reference_sample_
    assert y.shape == (40, 3)
    # σ is the median of Y's pairwise distances (scipy's pdist): the same floats up to
    # the distance formula's rounding (|x|² + |y|² − 2x·y against a direct difference:
    # ~8 · EPS · |x|² over the small norms here), within 1e-10.
    assert det.bandwidth_ == pytest.approx(np.median(pdist(y)), rel=1e-10)
    for shift in (0.0, 0.5):
        win = {
            f: rng.normal(int(f[1:]), 1.0 + int(f[1:]), size=25) + shift * det.scale_[i]
            for i, f in enumerate(det.features_)
        }
        v = det.update(View(columns=win))
        x = (np.array([win[f] for f in det.features_]).T - mean) / sd
        expected = _direct_mmd2(x, y, det.bandwidth_)
        # Kernel sums of ≤ 1,600 terms in [0, 1] each: rounding ≤ 1600 · EPS ≈ 4e-13
        # absolute per mean, and the squared distances agree to ~1e-15 relative.
        assert v.statistic == pytest.approx(expected, abs=1e-11)
    # The permutation statistics (one matrix product for all) against direct loops over
    # the same relabellings of the same pooled rows (replayed from the same stream).
    gen = np.random.default_rng(0)
    order = gen.permutation(120)
    z = (raw.T - mean) / sd
    pooled = z[np.concatenate((order[:40], order[40:65]))]
    labels = np.zeros((19, 65))
    labels[:, :25] = 1.0
    labels = gen.permuted(labels, axis=1).astype(bool)
    direct = np.sort([_direct_mmd2(pooled[a], pooled[~a], det.bandwidth_) for a in labels])
    assert np.allclose(det.null_, direct, rtol=0, atol=1e-11)
    # α (B + 1) = 2: the threshold is the second largest permuted statistic.
    assert det.threshold_ == pytest.approx(direct[-2], abs=1e-11)


def test_mmd_false_alarm_rate_is_at_most_alpha_over_independent_windows():
    # Each trial: a fresh reference and a fresh window from one law (independent trials).
    # B = 99 permutations and alpha = 0.05: k = 5 and the permutation p-value level is
    # exactly 5 / 100. The rate must stay under alpha + 3 standard errors.
    alpha, n_trials = 0.05, 400
    rng = np.random.default_rng(31)
    alarms = []
    for _ in range(n_trials):
        det = MMD(
            alpha=alpha, n_permutations=99, reference_size=150, sample_size=100, window_size=100
        ).fit(normal_view(rng, 300, 4, rho=0.5))
        alarms.append(det.update(normal_view(rng, 100, 4, rho=0.5)).alarm)
    rate = float(np.mean(alarms))
    assert rate <= rate_bound(alpha, n_trials), rate


# --------------------------------------------------------------------------- DomainClassifier


def test_domain_classifier_auc_matches_sklearn_and_the_mann_whitney_bound():
    rng = np.random.default_rng(40)
    det = DomainClassifier(reference_size=600, window_size=300, min_samples=300, every=3)
    det.fit(normal_view(rng, 800, 3))
    for tick in range(5):
        v = det.update(normal_view(rng, 120 if tick else 300, 3, shift={"x2": 0.2}))
        d = len(det.features_)
        held = det.window_.values
        unseen = held[held[:, d] == 0.0, :d]
        neg = det._reference_test
        scores = det.estimator_.decision_function(np.concatenate((neg, unseen)))
        labels = np.r_[np.zeros(len(neg)), np.ones(len(unseen))]
        # Both count pairs (ties as ½) and divide once: exact up to one division.
        assert v.statistic == pytest.approx(roc_auc_score(labels, scores), rel=1e-12)
        n0, n1 = len(neg), len(unseen)
        z = stats.norm.isf(0.01)
        assert v.threshold == pytest.approx(0.5 + z * math.sqrt((n0 + n1 + 1) / (12 * n0 * n1)))
    assert det.n_trainings_ == 2  # at ticks 1 and 4 (every 3 ticks)


def test_domain_classifier_false_alarm_rate_is_at_most_alpha_over_independent_windows():
    # Each trial: a fresh reference (400 rows: 200 train, 200 test) and one window of
    # 400 rows (200 train, 200 test) from the same correlated law; the default quadratic
    # classifier. Exchangeable held-out scores make the AUC Mann–Whitney distributed,
    # so the rate must stay under alpha + 3 standard errors. One thread: small fits are
    # faster so (the verdicts do not depend on it beyond the last bits).
    alpha, n_trials = 0.05, 300
    rng = np.random.default_rng(41)
    alarms = []
    with threadpool_limits(1):
        for _ in range(n_trials):
            det = DomainClassifier(
                alpha=alpha, reference_size=400, window_size=400, min_samples=400
            ).fit(normal_view(rng, 400, 4, rho=0.6))
            alarms.append(det.update(normal_view(rng, 400, 4, rho=0.6)).alarm)
    rate = float(np.mean(alarms))
    assert rate <= rate_bound(alpha, n_trials), rate


# --------------------------------------------------------------------------- PCA


def test_pca_reconstruction_matches_sklearn():
    rng = np.random.default_rng(50)
    ref_view = normal_view(rng, 1500, 6, rho=0.9)
    det = PCAReconstruction(variance=0.8, window_size=400, min_samples=10).fit(ref_view)
    raw = np.array([ref_view.columns[f] for f in det.features_]).T
    mean, sd = raw.mean(axis=0), raw.std(axis=0)
    z_ref = (raw - mean) / sd
    pca = PCA(n_components=0.8, svd_solver="full").fit(z_ref)
    assert det.components_.shape[0] == pca.n_components_  # the same k for variance 0.8
    k = pca.n_components_
    assert np.allclose(det.explained_variance_ratio_[:k], pca.explained_variance_ratio_, atol=1e-12)
    ref_err = np.mean(np.sum((z_ref - pca.inverse_transform(pca.transform(z_ref))) ** 2, axis=1))
    for rho in (0.9, 0.0):
        w = normal_view(rng, 400, 6, rho=rho)
        v = det.update(w)
        z = (np.array([w.columns[f] for f in det.features_]).T - mean) / sd
        err = np.mean(np.sum((z - pca.inverse_transform(pca.transform(z))) ** 2, axis=1))
        # The kept subspace from eigh(covariance) and from an SVD agree to about
        # EPS · ‖C‖ / gap (Davis–Kahan) with an eigenvalue gap of at least 0.1 after
        # k here: ~1e-14; errors are means of 6-term sums: 1e-9 relative is ample.
        assert v.statistic == pytest.approx(err / ref_err, rel=1e-9)


def test_pca_keeps_at_most_one_fewer_component_than_features():
    rng = np.random.default_rng(51)
    det = PCAReconstruction(variance=1.0).fit(normal_view(rng, 500, 3))
    assert det.components_.shape == (2, 3)
    one = PCAReconstruction(window_size=100).fit(View(columns={"x": rng.normal(size=500)}))
    assert one.components_.shape == (0, 1)  # the error is then the squared z-score
    v = one.update(View(columns={"x": rng.normal(size=100) * 2.0}))
    assert v.statistic == pytest.approx(4.0, rel=0.3)  # variance ratio 4 ± 3 sd (0.28·4)


# --------------------------------------------------------------------------- ChiSquare level


def test_chi_square_false_alarm_rate_is_at_most_alpha_over_independent_windows():
    # Each trial: a fresh reference (2,000 rows) and one window (500 rows) of three
    # categorical features (one with a rare category that gets pooled) and a numeric
    # one; Bonferroni over the four. The homogeneity test accounts for the reference's
    # own noise, so the rate must stay under alpha + 3 standard errors.
    alpha, n_trials = 0.05, 1000
    rng = np.random.default_rng(60)
    cats = np.array(["a", "b", "c", "d"])

    def view(n):
        return View(
            columns={
                "u": rng.choice(cats, size=n, p=[0.25, 0.25, 0.25, 0.25]),
                "v": rng.choice(cats, size=n, p=[0.7, 0.2, 0.098, 0.002]),
                "w": rng.choice(cats[:2], size=n, p=[0.9, 0.1]),
                "x": rng.normal(size=n),
            }
        )

    alarms = [
        ChiSquare(alpha=alpha, window_size=500).fit(view(2000)).update(view(500)).alarm
        for _ in range(n_trials)
    ]
    rate = float(np.mean(alarms))
    assert rate <= rate_bound(alpha, n_trials), rate


# --------------------------------------------------------------------------- power


def _first_alarm(det, views):
    for tick, view in enumerate(views, start=1):
        v = det.update(view)
        if v.alarm:
            return tick, v.blame
    return None, ()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Wasserstein(window_size=1000),
        lambda: KS(window_size=1000),
        lambda: KS(window_size=1000, correction="fdr"),
        lambda: JensenShannon(window_size=1000),
        lambda: Hellinger(window_size=1000),
        lambda: ChiSquare(window_size=1000),
        lambda: PSI(window_size=1000),
    ],
    ids=["wasserstein", "ks", "ks_fdr", "jensen_shannon", "hellinger", "chi_square", "psi"],
)
def test_univariate_monitors_see_a_half_sd_shift_of_one_feature_and_blame_it(make):
    # 10 features, a 1,000-row reference, ticks of 250 rows in which x3 moves by 0.5 sd.
    # After two ticks the window holds 500 shifted rows: W1 = 0.5 sd (threshold 0.1),
    # KS's D ≈ Φ(0.25) − Φ(−0.25) = 0.20 against a critical value of 0.11 (alpha 0.01/10,
    # n = 1000, m = 500), PSI ≈ 0.25 · 0.8 ≈ 0.2 (the binned χ²/N): each alarms by the
    # third tick, and blames x3 alone.
    rng = np.random.default_rng(70)
    det = make().fit(normal_view(rng, 1000, 10))
    views = [normal_view(rng, 250, 10, shift={"x3": 0.5}) for _ in range(3)]
    tick, blame = _first_alarm(det, views)
    assert tick is not None
    assert tick <= 3
    assert blame == ("x3",)


def _correlation_stream(rng, n_ticks, rows):
    """Reference: x0, x1 correlated 0.8 (x2 independent); ticks: x0, x1 uncorrelated.

    Every marginal stays N(0, 1). Three features: MMD's median-heuristic bandwidth grows
    with the dimension, and with six features its power on this change drops to
    0.1–0.8 per tick (see MMD's Notes); three keep the comparison about the change.
    """
    return normal_view(rng, 2000, 3, rho=0.8), [
        normal_view(rng, rows, 3, rho=0.0) for _ in range(n_ticks)
    ]


@pytest.mark.parametrize(
    "make",
    [
        lambda: MMD(window_size=500),
        lambda: DomainClassifier(window_size=500, min_samples=500),
        lambda: PCAReconstruction(window_size=500),
    ],
    ids=["mmd", "domain_classifier", "pca_reconstruction"],
)
def test_multivariate_monitors_see_a_correlation_change_with_unchanged_marginals(make):
    # x0 and x1 go from correlation 0.8 to 0 at once; every marginal stays N(0, 1).
    # Over 10 non-overlapping windows of 500 rows: PCA's statistic is about
    # 1 / 0.2 = 5 (the discarded axis x0 − x1 had variance 0.2, now 1) against 1.5, and
    # the classifier's AUC about 0.7 against a bound of 0.54: they alarm on every tick.
    # MMD alarmed on 49 of 50 such ticks over 5 references (power ≈ 0.98), so fewer
    # than 8 of 10 would happen with probability below 0.1%: it must alarm at the
    # first or second tick and on at least 8 of 10. Each blames x0 and x1 where it blames.
    rng = np.random.default_rng(80)
    ref, views = _correlation_stream(rng, 10, 500)
    det = make().fit(ref)
    verdicts = [det.update(v) for v in views]
    alarms = [v.alarm for v in verdicts]
    if isinstance(det, MMD):
        assert alarms[0] or alarms[1]
        assert sum(alarms) >= 8
        assert all(v.blame == () for v in verdicts)  # the kernel does not say which
    else:
        assert all(alarms)
        assert all(set(v.blame) == {"x0", "x1"} for v in verdicts)


@pytest.mark.parametrize(
    "make",
    [
        lambda: KS(window_size=500),
        lambda: Wasserstein(window_size=500),
        lambda: ChiSquare(window_size=500),
        lambda: JensenShannon(window_size=500),
        lambda: Hellinger(window_size=500),
        lambda: PSI(window_size=500),
    ],
    ids=["ks", "wasserstein", "chi_square", "jensen_shannon", "hellinger", "psi"],
)
def test_univariate_monitors_do_not_see_a_correlation_change(make):
    # The same change: each feature's marginal law is unchanged, so each univariate
    # monitor is under its null. 40 non-overlapping windows: the alarm rate must stay
    # under the H0 bound of a level-0.01 test, 0.01 + 3 sqrt(0.01 · 0.99 / 40) = 0.057
    # (two alarms at most); the fixed thresholds sit above their noise's 99.9% quantile
    # at n = 2000, m = 500 (see each one's Notes).
    rng = np.random.default_rng(81)
    ref, views = _correlation_stream(rng, 40, 500)
    det = make().fit(ref)
    rate = float(np.mean([det.update(v).alarm for v in views]))
    assert rate <= rate_bound(0.01, 40), rate


# --------------------------------------------------------------------------- FDR vs Bonferroni


def _many_features(rng, n, shifted=(), delta=0.0, k=40):
    x = rng.normal(size=(k, n))
    x[list(shifted)] += delta
    return View(columns={f"f{j:02d}": x[j] for j in range(k)})


@pytest.mark.parametrize("cls", [KS, ChiSquare])
def test_fdr_blames_more_shifted_features_than_bonferroni_at_the_same_alpha(cls):
    # 40 features, 8 shifted by 0.2 sd, windows of 500 rows (fresh, non-overlapping)
    # against a 20,000-row reference. BH's cutoff is never below Bonferroni's α/k, so
    # it blames a superset on every tick; with 8 real effects it must blame more of them
    # on average (strictly), and its false discoveries stay a small share.
    alpha, n_ticks = 0.05, 60
    shifted = range(0, 40, 5)
    rng = np.random.default_rng(90)
    ref = _many_features(rng, 20_000)
    bonf = cls(alpha=alpha, window_size=500).fit(ref)
    fdr = cls(alpha=alpha, correction="fdr", window_size=500).fit(ref)
    names = {bonf.features_[i] for i in shifted}
    hits = {"bonferroni": [], "fdr": []}
    false_share = []
    for _ in range(n_ticks):
        view = _many_features(rng, 500, shifted, 0.2)
        b, f = bonf.update(view).blame, fdr.update(view).blame
        assert set(b) <= set(f)
        hits["bonferroni"].append(len(names & set(b)))
        hits["fdr"].append(len(names & set(f)))
        if f:
            false_share.append(len(set(f) - names) / len(f))
    mean_b, mean_f = np.mean(hits["bonferroni"]), np.mean(hits["fdr"])
    assert mean_f > mean_b, (mean_b, mean_f)
    # BH bounds the false discovery rate by α · k0 / k = 0.05 · 32 / 40 = 0.04 for
    # independent tests; over 60 ticks the mean share has a standard error of at most
    # sqrt(0.25 / 60) ≈ 0.065 (a share is in [0, 1]), so 0.04 + 3 · 0.065 bounds it.
    assert np.mean(false_share) <= 0.04 + 3 * math.sqrt(0.25 / n_ticks)


@pytest.mark.parametrize("cls", [KS, ChiSquare])
def test_fdr_keeps_the_family_wise_rate_near_alpha_under_no_change(cls):
    # Under no change every rejection is false, so BH's chance that a tick alarms at all
    # is at most α for independent tests (it equals the FDR then). 400 non-overlapping
    # windows of 500 rows against a 20,000-row reference: the reference's own noise is
    # m / (n + m) = 2.4% of each test's variance, so each window is a nearly independent
    # trial at the nominal level; the rate must stay under α + 3 standard errors.
    alpha, n_ticks = 0.05, 400
    rng = np.random.default_rng(91)
    ref = _many_features(rng, 20_000)
    det = cls(alpha=alpha, correction="fdr", window_size=500).fit(ref)
    rate = float(np.mean([det.update(_many_features(rng, 500)).alarm for _ in range(n_ticks)]))
    assert rate <= rate_bound(alpha, n_ticks), rate


def test_corrected_level_is_benjamini_hochberg():
    rng = np.random.default_rng(92)
    for _ in range(200):
        p = rng.uniform(size=12) ** rng.uniform(0.2, 3.0)
        cutoff, level = corrected_level(p, 0.1, "fdr")
        ranked = np.sort(p)
        passed = [i for i in range(1, 13) if ranked[i - 1] <= i * 0.1 / 12]
        # i · (α / k) against (i · α) / k: the same number up to one rounding.
        assert cutoff == pytest.approx(max(passed) * 0.1 / 12 if passed else 0.0, rel=4 * EPS)
        assert level == (cutoff or 0.1 / 12)
        assert corrected_level(p, 0.1, "bonferroni") == (0.1 / 12, 0.1 / 12)


def test_ks_default_is_bonferroni_bit_for_bit():
    rng = np.random.default_rng(93)
    ref = _many_features(rng, 2000, k=5)
    a = KS(window_size=300).fit(ref)
    b = KS(window_size=300, correction="bonferroni").fit(ref)
    for _ in range(5):
        view = _many_features(rng, 200, (1,), 0.3, k=5)
        u, v = a.update(view), b.update(view)
        assert np.array_equal(u.statistic, v.statistic, equal_nan=True)
        assert np.array_equal(u.threshold, v.threshold, equal_nan=True)
        assert (u.alarm, u.blame) == (v.alarm, v.blame)
    # None stays out of scenario TOML files, so the catalogue's files are unchanged.
    assert repr(KS()) == "KS()"
    assert KS().get_params()["correction"] is None


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: KS(correction="holm"), "KS: correction='holm' is not allowed; expected None or"),
        (lambda: ChiSquare(correction="by"), "ChiSquare: correction='by' is not allowed"),
        (lambda: Wasserstein(threshold=0.0), "Wasserstein: threshold=0.0 is not allowed"),
        (lambda: Hellinger(threshold=1.5), "Hellinger: threshold=1.5 is not allowed"),
        (lambda: MMD(alpha=0.001), "MMD: alpha=0.001 is not allowed; expected a number in [1 / ("),
        (lambda: MMD(sample_size=2000), "MMD: sample_size=2000 is not allowed"),
        (lambda: DomainClassifier(estimator=3), "DomainClassifier: estimator=3 is not allowed"),
        (lambda: DomainClassifier(threshold=0.4), "DomainClassifier: threshold=0.4"),
        (lambda: PCAReconstruction(variance=1.2), "PCAReconstruction: variance=1.2"),
        (lambda: PCAReconstruction(variance=0.0), "PCAReconstruction: variance=0.0"),
    ],
)
def test_config_errors_name_key_value_and_allowed(make, message):
    with pytest.raises(ConfigError) as info:
        make()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("cls", MULTIVARIATE)
def test_multivariate_monitors_read_numeric_columns_only(cls):
    rng = np.random.default_rng(94)
    cols = {"x": rng.normal(size=600), "y": rng.normal(size=600), "c": np.array(["a"] * 600)}
    assert cls().fit(View(columns=cols)).features_ == ["x", "y"]
    with pytest.raises(ConfigError, match=r"\['c'\] are categorical"):
        cls(features=("x", "c")).fit(View(columns=cols))
    with pytest.raises(ConfigError, match="numeric columns"):
        cls().fit(View(columns={"c": cols["c"]}))


def test_mmd_refuses_a_reference_too_small_to_calibrate():
    cols = {"x": np.random.default_rng(95).normal(size=100)}
    with pytest.raises(ConfigError, match="at least sample_size \\+ 2 = 252 rows"):
        MMD().fit(View(columns=cols))


def test_randomised_monitors_draw_only_from_their_stream():
    # The same stream gives the same verdicts, another stream others; fit never advances
    # rng_ (a refit replays the same draws).
    rng = np.random.default_rng(96)
    ref, views = _correlation_stream(rng, 3, 300)
    for cls in (MMD, DomainClassifier):
        params = {"sample_size": 100} if cls is MMD else {"min_samples": 300}
        a, b, c = (
            cls(window_size=300, **params).seed(np.random.default_rng(seed)).fit(ref)
            for seed in (1, 1, 2)
        )
        state = a.rng_.bit_generator.state
        a.fit(ref)
        assert a.rng_.bit_generator.state == state
        sa = [a.update(v).statistic for v in views]
        assert sa == [b.update(v).statistic for v in views]
        assert sa != [c.update(v).statistic for v in views]
