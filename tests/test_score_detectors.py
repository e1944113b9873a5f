"""Prediction-score monitors, CBPE and BBSE: what each is for, where it is blind, its error rates.

The generic conformance checks run over every registered detector in test_detectors.py
(these included); here: exactness against scipy, end-to-end simulations showing that CBPE
tracks covariate shift and is blind to concept drift, BBSE's estimator (its error rate in
n, and the accuracy it corrects) on a three-class set-up and on a binary label-shift world,
HistogramShape's two directions, and the false-alarm rates of the tests. Every tolerance is
derived from the statistics, in the comment beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simlab.detectors import (
    BBSE,
    CBPE,
    DETECTORS,
    HistogramShape,
    MeanConfidence,
    ScoreEntropy,
    ScoreKS,
    View,
    WindowedMetric,
)
from simlab.detectors._kernels import ks_critical
from simlab.detectors.label_shift import bbse_weights, joint_confusion, label_shift_accuracy
from simlab.errors import ConfigError, SchemaError
from simlab.models.adapter import ModelAdapter
from simlab.rng import Rngs
from simlab.scoring import row_values
from simlab.sim import Constant, Scenario, simulate
from simlab.world import (
    ConceptShift,
    CovariateShift,
    Incremental,
    LabelShift,
    Sudden,
    gaussian_classes,
    logistic,
)

NEW = {
    ScoreKS: "score_ks",
    MeanConfidence: "mean_confidence",
    ScoreEntropy: "score_entropy",
    HistogramShape: "histogram_shape",
    CBPE: "cbpe",
    BBSE: "bbse",
}
#: The alpha-level tests whose false-alarm rate is checked against alpha.
Z_TESTS = (MeanConfidence, ScoreEntropy, HistogramShape)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --------------------------------------------------------------------------- registry


def test_new_detectors_are_registered_exported_and_declare_their_calibration():
    import simlab.detectors as detectors

    for cls, name in NEW.items():
        assert DETECTORS.get(name) is cls
        assert cls.__name__ in detectors.__all__
        assert cls.tags.watches.value == "scores"
        assert cls.tags.threshold in cls().get_params()
        assert not cls.tags.randomised
    # The only expected failure: CBPE is one-sided, and the H1 check's shift is a gain.
    declared = {cls: getattr(cls, "_xfail_checks", {}) for cls in NEW}
    assert {c: set(x) for c, x in declared.items() if x} == {CBPE: {"check_detects_shift_h1"}}


@pytest.mark.parametrize("cls", list(NEW))
def test_empty_nan_and_out_of_range_scores(cls):
    rng = np.random.default_rng(0)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(np.int64)
    det = cls(window_size=200, min_samples=50).fit(View(scores=p, labels=y, label_scores=p))
    for n in (0, 1):  # too few scores: nan, no alarm
        v = det.update(View(scores=p[:n]))
        assert math.isnan(v.statistic)
        assert not v.alarm
    all_nan = det.update(View(scores=np.full(300, np.nan)))  # the window is all missing
    if cls is CBPE:  # a failed prediction is a wrong one: estimated accuracy 0
        assert det.estimate_ == 0.0
        assert all_nan.alarm
    else:  # nothing to test
        assert math.isnan(all_nan.statistic)
        assert not all_nan.alarm
    with pytest.raises(SchemaError, match="rows but no scores"):
        det.update(View(columns={"x": np.zeros(3)}))
    if cls is not ScoreKS:  # it compares any numbers; the others need probabilities
        with pytest.raises(SchemaError, match=r"\[1.5\] are not probabilities"):
            det.update(View(scores=np.array([0.2, 1.5, np.nan])))
    with pytest.raises(ConfigError, match="reference='scores'"):
        cls().fit(View(scores=np.full(10, np.nan), labels=y[:10], label_scores=p[:10]))


# --------------------------------------------------------------------------- ScoreKS


@pytest.mark.parametrize("seed", range(4))
def test_score_ks_matches_scipy_over_a_sliding_window(seed):
    # ties (rounded scores), NaN in the window, ragged ticks including empty and one-row
    rng = np.random.default_rng(seed)
    digits = 2 if seed % 2 else 12
    ref = np.round(_sigmoid(rng.normal(size=700)), digits)
    det = ScoreKS(alpha=0.05, window_size=250, min_samples=1).fit(View(scores=ref))
    seen = np.empty(0)
    for r in (40, 0, 1, 250, 130, 300, 77):
        x = np.round(_sigmoid(rng.normal(0.3 * seed, size=r)), digits)
        x[::9] = np.nan
        if r >= 3:
            x[:3] = rng.choice(ref, size=3)  # exact ties with the reference
        seen = np.concatenate((seen, x))
        v = det.update(View(scores=x))
        window = seen[-250:]
        window = window[~np.isnan(window)]
        if window.size == 0:
            assert math.isnan(v.statistic)
            continue
        assert abs(v.statistic - stats.ks_2samp(ref, window).statistic) < 1e-12
        critical = float(ks_critical(0.05, np.array([700]), np.array([window.size]))[0])
        assert v.threshold == critical
        assert v.alarm == (v.statistic > critical)


# --------------------------------------------------------------------------- z-tests


@pytest.mark.parametrize("cls", Z_TESTS)
def test_false_alarm_rate_of_the_alpha_tests_is_about_alpha(cls):
    # Each tick pushes a whole window of fresh scores, so the windows do not overlap, and
    # the 50,000-row reference makes its own error negligible (1/n = 1/100 of 1/m): the
    # alarms are nearly independent Bernoulli(α') with α' ≈ α by the normal approximation
    # of each test. Over N ticks the rate has standard error sqrt(α(1 − α)/N); the bound is
    # α + 4 of them (a correct test exceeds it with probability about 3e-5).
    alpha, n_ticks, m = 0.05, 1000, 500
    rng = np.random.default_rng(1)
    det = cls(alpha=alpha, window_size=m, min_samples=m)
    det.fit(View(scores=_sigmoid(rng.normal(0.0, 0.8, 50_000))))
    alarms = [
        det.update(View(scores=_sigmoid(rng.normal(0.0, 0.8, m)))).alarm for _ in range(n_ticks)
    ]
    rate = float(np.mean(alarms))
    assert rate <= alpha + 4 * math.sqrt(alpha * (1 - alpha) / n_ticks), rate


def test_mean_confidence_and_entropy_hand_values():
    ref = np.array([0.1, 0.5, 0.9, 0.7])  # confidences 0.9, 0.5, 0.9, 0.7
    conf = MeanConfidence(window_size=2, min_samples=2).fit(View(scores=ref))
    assert conf.reference_mean_ == pytest.approx(0.75)
    assert conf.reference_std_ == pytest.approx(np.std([0.9, 0.5, 0.9, 0.7], ddof=1))
    v = conf.update(View(scores=np.array([0.5, 0.5])))
    assert v.statistic == pytest.approx(0.25)
    z = stats.norm.ppf(1 - 0.01 / 2)
    assert v.threshold == pytest.approx(z * conf.reference_std_ * math.sqrt(1 / 2 + 1 / 4))
    ent = ScoreEntropy(window_size=2, min_samples=2).fit(View(scores=ref))
    h = [stats.entropy([p, 1 - p]) for p in ref]
    assert ent.reference_mean_ == pytest.approx(np.mean(h))
    v = ent.update(View(scores=np.array([0.0, 1.0])))  # certain: entropy 0
    assert ent.difference_ == pytest.approx(-np.mean(h))


# --------------------------------------------------------------------------- HistogramShape


def test_histogram_shape_alarms_when_scores_flatten_and_when_they_spike():
    # The reference: a model's scores spread around 0.5, sigmoid(N(0, 0.8)), on 10 bins.
    # Flat: uniform scores (the entropy rises to about ln 10); spike: sigmoid(N(0, 0.1))
    # puts nearly everything in the two middle bins (about ln 2). Both are many standard
    # errors away (SE about 0.02 nats at m = 1000), so the first full window alarms.
    rng = np.random.default_rng(2)
    ref = View(scores=_sigmoid(rng.normal(0.0, 0.8, 5000)))
    det = HistogramShape(window_size=1000, min_samples=1000).fit(ref)
    h0 = det.reference_entropy_
    assert 1.0 < h0 < math.log(10) - 0.2
    v = det.update(View(scores=rng.uniform(size=1000)))
    assert v.alarm
    assert det.entropy_ > h0 + 5 * v.threshold / stats.norm.ppf(0.995)  # it flattened
    v = det.update(View(scores=_sigmoid(rng.normal(0.0, 0.1, 1000))))
    assert v.alarm
    assert det.entropy_ < h0 - 5 * v.threshold / stats.norm.ppf(0.995)  # it spiked
    assert det.entropy_ < math.log(2) + 0.1


def test_histogram_shape_is_quiet_without_change_and_blind_to_a_pure_move():
    # No change: non-overlapping windows of 1000 fresh scores, reference 50,000; the rate
    # of alarms is binomial around α' ≈ α: the bound is α + 4 standard errors.
    alpha, n_ticks, m = 0.01, 800, 1000
    rng = np.random.default_rng(3)
    det = HistogramShape(alpha=alpha, window_size=m, min_samples=m)
    det.fit(View(scores=rng.beta(2, 5, 50_000)))
    rate = np.mean([det.update(View(scores=rng.beta(2, 5, m))).alarm for _ in range(n_ticks)])
    assert rate <= alpha + 4 * math.sqrt(alpha * (1 - alpha) / n_ticks)
    # A move by exactly one bin keeps the histogram's shape (the 0.1-wide bins of uniform
    # scores on [0.2, 0.6) become those of [0.3, 0.7)): its entropy, so the statistic, is
    # unchanged, while KS sees the move at once.
    scores = rng.uniform(0.2, 0.6, m)
    det = HistogramShape(window_size=m).fit(View(scores=scores))
    ks = ScoreKS(window_size=m).fit(View(scores=scores))
    moved = View(scores=rng.uniform(0.3, 0.7, m))
    assert not det.update(moved).alarm
    assert ks.update(moved).alarm


# --------------------------------------------------------------------------- CBPE

RATE = 250  # rows per hour, constant (no Poisson noise), so a tick is exactly 250 rows
WINDOW_TICKS = 24  # the Run's true_metric window (window_hours = 24 at 1-hour ticks)
M = RATE * WINDOW_TICKS  # CBPE's window: exactly the rows of the Run's true_metric window
TRAIN_ROWS = 20_000  # 80% train the model (16,000 rows), 20% are its labelled reference
N_TRAIN = 16_000
HORIZON = 144
COEF = (3.0, -1.0, 0.5)  # x0 matters most, so that moving it moves the accuracy
FEATURES = ("x0", "x1", "x2")


def _cbpe_run(shift, *monitors):
    world = logistic(n_features=3, coef=COEF, shifts=(shift,))
    scenario = Scenario(
        world=world,
        traffic=Constant(rate_per_hour=float(RATE), poisson=False),
        horizon_hours=float(HORIZON),
        train_rows=TRAIN_ROWS,
        window_hours=float(WINDOW_TICKS),
        monitors=(CBPE(window_size=M, min_samples=M), *monitors),
    )
    run = simulate(scenario, seed=0)
    true = run.true_metric.sel(metric="accuracy").values
    # CBPE's reference accuracy is the deployed model's accuracy on its held-out rows: the
    # Run's offline accuracy on the time split (the same rows, the same definition).
    reference = float(run.offline_metric.sel(metric="accuracy", split="time").values[0])
    estimate = reference - run.statistic.sel(detector="cbpe").values
    return run, world, true, reference, estimate


def _model_sd(world, times, rows=200_000):
    """Standard deviation of CBPE's error that the fitted model's coefficients cause.

    CBPE estimates ``E[max(p̂, 1 − p̂)]`` where the truth is ``E[c(x)]``,
    ``c = p if p̂ >= 0.5 else 1 − p``; their difference is ``E[s (p̂ − p)]`` with ``s`` the
    sign of ``p̂ − 0.5``. To first order ``p̂ − p = p(1 − p) x̃ᵀ Δβ`` (``x̃ = (1, x)``), and the
    maximum-likelihood error is ``Δβ ~ N(0, I⁻¹ / n_train)`` with ``I = E_ref[p(1 − p) x̃ x̃ᵀ]``
    (scikit-learn's default L2 penalty, C = 1, biases β by about ``I⁻¹β / n_train``, a
    thousandth of it here: negligible). So the error is ``gᵀ Δβ`` with
    ``g = E_t[s p(1 − p) x̃]``, standard deviation ``sqrt(gᵀ I⁻¹ g / n_train)``; the
    expectations are Monte Carlo means over `rows` draws from the world itself.
    """

    def design(t, seed):
        batch = world.sample(rows, t, rng=seed)
        x = np.column_stack([np.ones(rows), *(batch.columns[f] for f in FEATURES)])
        return x, world.proba(batch.columns, t)

    x, p = design(-1.0, 1)
    cov = np.linalg.inv((x * (p * (1 - p))[:, None]).T @ x / rows) / N_TRAIN
    out = []
    for t in times:
        x, p = design(float(t), 2)
        g = (x * (np.sign(p - 0.5) * p * (1 - p))[:, None]).mean(axis=0)
        out.append(math.sqrt(g @ cov @ g))
    return max(out)


def _tracking_tolerance(true, model_sd):
    """Per tick: how far CBPE's estimate may be from the window's true accuracy.

    Given the window's scores, its true accuracy is a mean of M Bernoulli(c_i) draws, so it
    differs from ``mean(c_i)`` by a standard deviation ``sqrt(mean(c(1 − c)) / M)``, at most
    ``sqrt(a(1 − a) / M)`` by Jensen (a: the accuracy, from the Run); the model's
    coefficient error adds `model_sd` (`_model_sd`; the window's is an average of per-hour
    ones, and a norm of an average is at most the largest norm). Four standard deviations
    of the sum: over the run's 121 full windows a correct estimate exceeds it with
    probability at most 121 · 6.3e-5 < 1% (a union bound; overlapping windows make it
    smaller).
    """
    return 4 * np.sqrt(true * (1 - true) / M + model_sd**2)


@pytest.mark.parametrize(
    ("shift", "direction"),
    [
        (CovariateShift(features=("x0",), mean=1.5, schedule=Incremental(start=48, width=48)), 1),
        (CovariateShift(features=("x0",), scale=0.2, schedule=Incremental(start=48, width=48)), -1),
    ],
    ids=["mean_up", "scale_down"],
)
def test_cbpe_tracks_true_accuracy_under_covariate_shift(shift, direction):
    run, world, true, _, estimate = _cbpe_run(shift)
    full = np.arange(WINDOW_TICKS - 1, HORIZON)  # ticks whose window holds M rows
    tol = _tracking_tolerance(true[full], _model_sd(world, range(0, HORIZON, 12)))
    gap = np.abs(estimate[full] - true[full])
    assert np.all(gap <= tol), (gap.max(), tol.min())
    # The accuracy really moved, in the shift's direction: by more than twice the widest
    # tolerance, so no constant (the reference accuracy included) is within tolerance of
    # both the first and the last window; three times, for a margin.
    moved = direction * (true[full][-1] - true[full][0])
    assert moved > 3 * tol.max(), (moved, tol.max())
    if direction < 0:  # a real loss, estimated without labels: CBPE alarms
        alarms = run.alarm.sel(detector="cbpe").values
        assert alarms[full][-1]
        assert not alarms[:48].any()


def test_cbpe_is_blind_to_concept_drift():
    # P(Y|X) turns by 90° in the plane of x0 and x1 at hour 48; P(X) does not move, so the
    # scores do not, and neither does CBPE's estimate, while the accuracy collapses. The
    # labels (WindowedMetric) see it; CBPE never does: its assumption (P(Y|X) unchanged, so
    # the scores stay calibrated) is exactly what broke.
    drift = ConceptShift(rotate=90.0, schedule=Sudden(start=48.0))
    labels = WindowedMetric(window_size=2000, min_samples=2000)
    run, world, true, reference, estimate = _cbpe_run(drift, labels)
    before = np.arange(WINDOW_TICKS - 1, 48)  # full windows before the drift
    after = np.arange(48 + WINDOW_TICKS - 1, HORIZON)  # full windows after it
    model_sd = _model_sd(world, [0.0, 24.0, 47.0])
    tol = _tracking_tolerance(true, model_sd)
    assert np.all(np.abs(estimate[before] - true[before]) <= tol[before])
    # After: the estimate is a mean of max(p, 1 − p) over M rows from the same P(X) as
    # before, so it differs from the last one before the drift by at most 4 standard
    # deviations of a difference of two such means: 4 · sd · sqrt(2/M), and sd <= 0.25
    # because max(p, 1 − p) lies in [0.5, 1].
    steady = 4 * 0.25 * math.sqrt(2 / M)
    assert np.all(np.abs(estimate[after] - estimate[before[-1]]) <= steady)
    # It stays at the reference accuracy: the two differ by the estimate's noise (sd at
    # most 0.25/sqrt(M)), the reference accuracy's (a binomial share of its 4,000 labelled
    # rows) and the model's calibration error (model_sd): four standard deviations.
    n_reference = TRAIN_ROWS - N_TRAIN
    stay = 4 * math.sqrt(0.25**2 / M + reference * (1 - reference) / n_reference + model_sd**2)
    assert np.all(np.abs(estimate[after] - reference) <= stay)
    # ... while the true accuracy falls far below it: the gap is many tolerances wide.
    assert np.all(true[after] < reference - 0.25)
    assert np.all(estimate[after] - true[after] > 10 * tol[after])
    assert not run.alarm.sel(detector="cbpe").values.any()
    label_alarms = run.alarm.sel(detector="windowed_metric").values
    assert not label_alarms[:48].any()
    assert label_alarms[after].all()


def test_cbpe_reference_accuracy_is_the_label_monitors_and_nan_scores_count_as_wrong():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=3000)
    y = (rng.uniform(size=3000) < p).astype(np.int64)
    ref = View(scores=p, labels=y, label_scores=p)
    det = CBPE(window_size=4, min_samples=4).fit(ref)
    assert det.reference_accuracy_ == WindowedMetric().fit(ref).reference_metric_
    # calibrated scores: the estimate on the reference is within 4 SE of its accuracy
    assert abs(det.reference_estimate_ - det.reference_accuracy_) < 4 * math.sqrt(0.25 / 3000)
    v = det.update(View(scores=np.array([0.9, 0.2, 0.5, np.nan])))
    assert det.estimate_ == pytest.approx((0.9 + 0.8 + 0.5 + 0.0) / 4)
    assert v.statistic == pytest.approx(det.reference_accuracy_ - det.estimate_)


# --------------------------------------------------------------------------- BBSE, K classes

#: P(ŷ = i | y = j) (columns sum to 1): recalls 0.9, 0.7, 0.5; a source prior and a
#: target prior that moves mass to the class the model recognises worst.
RECALL = np.array([[0.90, 0.20, 0.10], [0.07, 0.70, 0.40], [0.03, 0.10, 0.50]])
SOURCE = np.array([0.5, 0.3, 0.2])
TARGET = np.array([0.2, 0.3, 0.5])


def _three_class_trials(n, reps, rng):
    """`reps` reference confusions and target predicted-class counts of `n` rows each."""
    confusions, predicted = [], []
    mu = RECALL @ TARGET  # the target's predicted-class distribution, C w
    for _ in range(reps):
        per_class = rng.multinomial(n, SOURCE)
        confusions.append(
            np.stack([rng.multinomial(per_class[j], RECALL[:, j]) for j in range(3)], axis=1)
        )
        predicted.append(rng.multinomial(n, mu))
    return confusions, predicted


def test_bbse_weights_error_falls_like_one_over_n():
    c = RECALL * SOURCE  # the joint P(ŷ, y)
    w = TARGET / SOURCE
    inv = np.linalg.inv(c)
    sizes, reps = (500, 2000, 8000), 1000
    rng = np.random.default_rng(5)
    mse, rel_se = [], []
    for n in sizes:
        errors = np.array(
            [
                np.sum((bbse_weights(cm, q) - w) ** 2)
                for cm, q in zip(*_three_class_trials(n, reps, rng), strict=True)
            ]
        )
        mse.append(errors.mean())
        rel_se.append(errors.std(ddof=1) / math.sqrt(reps) / errors.mean())
    slope = np.polyfit(np.log(sizes), np.log(mse), 1)[0]
    # Statistical tolerance: log(MSE_n) has standard error rel_se_n (delta method); with
    # three sizes equally spaced in log n (step h = ln 4) the least-squares slope is
    # (y_3 − y_1) / (2h), standard error sqrt(se_1² + se_3²) / (2h). Four of them.
    h = math.log(4)
    stat_tol = 4 * math.sqrt(rel_se[0] ** 2 + rel_se[2] ** 2) / (2 * h)
    # Small-sample term: ŵ − w = C⁻¹(Δμ − ΔC w) + C⁻¹ΔC C⁻¹(ΔC w − Δμ) + ..., so the MSE is
    # A/n times 1 + O(κ(n)), κ(n) = E‖C⁻¹ΔC‖²_F = (Σ_i r_i ‖C⁻¹e_i‖² − K) / n exactly
    # (multinomial cells; r_i the predicted-class shares). The correction (the square of
    # the second-order term plus twice its product with the third, each up to κ with a
    # Gaussian fourth-moment factor of about 3) can steepen the slope from 500 to 8000 by
    # up to 3 (κ(500) − κ(8000)) / ln 16.
    k_const = float(c.sum(axis=1) @ (inv**2).sum(axis=0) - 3)
    small_n = 3 * (k_const / sizes[0] - k_const / sizes[-1]) / math.log(16)
    assert abs(slope + 1) <= stat_tol + small_n, (slope, stat_tol, small_n)
    # And the level is the delta method's: Cov(ŵ) ≈ C⁻¹ (Σ_μ + L Σ_C Lᵀ) C⁻¹ᵀ / n, with
    # Σ_μ, Σ_C the multinomial covariances of the target's and the reference's cells and
    # L vec(ΔC) = ΔC w. At n = 8000 the measured MSE is that trace within four of its
    # standard errors plus the 3 κ(8000) small-sample term.
    mu = c @ w
    cells = c.ravel()
    lin = np.kron(np.eye(3), w)  # row i picks Σ_j ΔC_ij w_j from vec(ΔC), row-major
    cov = (
        inv
        @ (np.diag(mu) - np.outer(mu, mu) + lin @ (np.diag(cells) - np.outer(cells, cells)) @ lin.T)
        @ inv.T
    )
    predicted_mse = np.trace(cov) / sizes[-1]
    assert abs(mse[-1] / predicted_mse - 1) <= 4 * rel_se[-1] + 3 * k_const / sizes[-1]


def test_bbse_corrects_the_accuracy_under_three_class_label_shift():
    # Under the shift the accuracy falls from Σ ν_j r_j = 0.76 to Σ π_j r_j = 0.64 (recalls
    # r = 0.9, 0.7, 0.5): not correcting is off by 0.12. The corrected estimate's error is
    # O(1/sqrt(n)) (its spread over the trials, about 0.02 at n = 2000): the uncorrected
    # error is more than five of those spreads, and the corrected estimate is the closer of
    # the two in every trial.
    recalls = np.diagonal(RECALL)
    truth, uncorrected = float(TARGET @ recalls), float(SOURCE @ recalls)
    rng = np.random.default_rng(6)
    corrected = np.array(
        [
            label_shift_accuracy(cm, bbse_weights(cm, q))
            for cm, q in zip(*_three_class_trials(2000, 400, rng), strict=True)
        ]
    )
    assert abs(uncorrected - truth) > 5 * corrected.std(ddof=1)
    assert np.all(np.abs(corrected - truth) < abs(uncorrected - truth))


def test_bbse_estimator_edge_cases():
    c = np.array([[0.45, 0.05], [0.05, 0.45]])
    # counts or proportions alike; a negative solution is clipped and the prior renormalised
    assert np.allclose(bbse_weights(c * 1000, np.array([26, 74])), [0.4, 1.6])
    w = bbse_weights(c, np.array([0.0, 1.0]))  # beyond any prior: w_0 = -0.25 before clipping
    assert w[0] == 0.0
    assert c.sum(axis=0) @ w == pytest.approx(1.0)
    # singular: a model that always predicts 1, or a class absent from the reference
    for singular in ([[0.0, 0.0], [0.5, 0.5]], [[0.9, 0.0], [0.1, 0.0]]):
        assert np.isnan(bbse_weights(np.array(singular), np.array([0.5, 0.5]))).all()
        assert math.isnan(label_shift_accuracy(np.array(singular), np.full(2, np.nan)))
    assert joint_confusion(np.array([], dtype=int), np.array([], dtype=int), 3).sum() == 0.0


# --------------------------------------------------------------------------- BBSE, binary world


def _label_shift_world(onset=48.0):
    # Two Gaussian classes close together (separation 1 per feature): trained at prior 0.3,
    # the model favours class 0 (recall about 0.9) over class 1 (about 0.55), so a shift of
    # the prior to 0.8 costs accuracy, which is what BBSE must correct for.
    shift = LabelShift(prior=0.8, schedule=Sudden(start=onset))
    return gaussian_classes(prior=0.3, separation=1.0, shifts=(shift,))


def test_bbse_estimates_weights_and_accuracy_under_binary_label_shift():
    world = _label_shift_world()
    rngs = Rngs(0)
    model = ModelAdapter().train(world.sample(TRAIN_ROWS, -1.0, rngs), version=0, rng=0)
    det = BBSE(window_size=M, min_samples=M).fit(model.reference)
    n = model.reference.n_labels
    batch = world.sample(M, 60.0, rngs)  # after the shift
    scores = model.scores(batch.columns)
    verdict = det.update(View(scores=scores))
    truth = float(np.mean(row_values("accuracy", batch.y, scores)))
    assert verdict.alarm
    # Tolerance: a parametric bootstrap of the estimator's own sampling error (the
    # reference's n cells from its confusion matrix, the window's M predictions from its
    # predicted-class shares) gives its spread; the window's realised accuracy differs from
    # its expectation by sqrt(a(1 − a)/M). Four standard deviations of the sum.
    rng = np.random.default_rng(7)
    boot_acc, boot_w = [], []
    for _ in range(400):
        cm = rng.multinomial(n, det.confusion_.ravel()).reshape(2, 2)
        w = bbse_weights(cm, rng.multinomial(M, det.predicted_))
        boot_w.append(w)
        boot_acc.append(label_shift_accuracy(cm, w))
    tol = 4 * math.sqrt(np.var(boot_acc, ddof=1) + truth * (1 - truth) / M)
    assert abs(det.corrected_accuracy_ - truth) <= tol
    # ... and the uncorrected figure, the reference accuracy, is further off than that.
    assert abs(det.reference_accuracy_ - truth) > tol
    assert abs(det.corrected_accuracy_ - truth) < abs(det.reference_accuracy_ - truth)
    # The weights: the true ones are the window's prior over the reference's label shares.
    # The window's realised prior π̂ is itself a binomial share of M rows, which moves the
    # target by sqrt(π(1 − π)/M)/ν_j; with the bootstrap spread, four standard deviations.
    prior = np.array([1 - batch.y.mean(), batch.y.mean()])
    shares = det.confusion_.sum(axis=0)
    true_w = prior / shares
    w_var = np.var(boot_w, axis=0, ddof=1) + prior * (1 - prior) / M / shares**2
    assert np.all(np.abs(det.weights_ - true_w) <= 4 * np.sqrt(w_var)), (det.weights_, true_w)


def test_bbse_in_the_engine_alarms_after_a_label_shift_and_not_before():
    # alpha = 0.001: over the 25 full windows before the onset a correct test raises a
    # false alarm with probability at most 25 · 0.001 = 2.5% (union bound). After it, the
    # predicted share of class 1 moves from about 0.25 to 0.45: X² in the hundreds once a
    # few ticks of the 24 are post-shift, far above the χ²₁ critical value 10.8.
    scenario = Scenario(
        world=_label_shift_world(),
        traffic=Constant(rate_per_hour=float(RATE), poisson=False),
        horizon_hours=96.0,
        train_rows=TRAIN_ROWS,
        window_hours=float(WINDOW_TICKS),
        monitors=(BBSE(alpha=0.001, window_size=M, min_samples=M),),
    )
    run = simulate(scenario, seed=0)
    alarms = run.alarm.sel(detector="bbse").values
    assert not alarms[:48].any()
    assert alarms[48 + WINDOW_TICKS // 4 :].all()
    assert run.statistic.sel(detector="bbse").values[-1] > 100
