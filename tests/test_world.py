"""Worlds: each knob (P(X), P(Y), P(Y|X)) moves alone, by the configured amount, on its schedule.

Statistical tolerances are derived from standard errors: a mean of n draws with standard
deviation s has SE s/sqrt(n); a proportion p has SE sqrt(p(1-p)/n); a sample variance of n
Gaussian draws has SE s²·sqrt(2/(n-1)). We allow 5 SE (a two-sided miss has probability
~6e-7 under the null), and two-sample KS tests must not reject at alpha = 1e-3. Seeds are
fixed, so every test is deterministic; the tolerances say why the figures are not luck.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simlab import ConfigError, Event, Rngs, UnknownNameError, build, registered
from simlab.faults import DropColumn, Faulted, Float32, RenameColumn, Round
from simlab.feedback import (
    PerformativeGaussian,
    Recommendations,
    SelectiveLabels,
    Strategic,
    lending,
    patrols,
)
from simlab.testing._world_checks import check_world, yield_world_checks
from simlab.testing.fakes import GenericTestWorld, mean_shift_world
from simlab.world import (
    SEA,
    Ambient,
    AnticausalWorld,
    Categorical,
    CausalWorld,
    ConceptShift,
    CovariateShift,
    Friedman,
    Gaussian,
    Gradual,
    Hyperplane,
    Incremental,
    LabelShift,
    Linear,
    Logistic,
    Proxy,
    Recurring,
    Rules,
    Seasonal,
    Sequence,
    Sudden,
    TieShift,
    Uniform,
    Wander,
    credit,
    friedman,
    gaussian_classes,
    hyperplane,
    logistic,
    sea,
)

N = 40_000  # rows per statistical sample
Z = 5.0  # standard errors allowed
ALPHA = 1e-3  # KS tests must not reject at this level


def se_mean(sd: float, n: int = N) -> float:
    return sd / math.sqrt(n)


def se_prop(p: float, n: int = N) -> float:
    return math.sqrt(p * (1.0 - p) / n)


def se_var(var: float, n: int = N) -> float:
    return var * math.sqrt(2.0 / (n - 1))


def ks_same(a, b) -> bool:
    return stats.ks_2samp(a, b).pvalue > ALPHA


# --------------------------------------------------------------------------- covariate shift


def test_covariate_shift_leaves_proba_identical_at_the_same_x():
    w = mean_shift_world(at=100.0, sigmas=3.0)
    x = w.sample(1000, 150.0, Rngs(0)).columns
    before, during, after = (w.proba(x, t) for t in (50.0, 100.0, 500.0))
    assert np.array_equal(before, after)  # exact: P(Y|X) is not touched at all
    assert np.array_equal(before, during)


def test_covariate_shift_gradual_leaves_proba_identical():
    shift = CovariateShift(
        features=("a", "b"), mean=2.0, scale=1.5, schedule=Gradual(start=0.0, width=10.0)
    )
    w = GenericTestWorld(shifts=(shift,))
    x = w.sample(500, 5.0, Rngs(0)).columns
    assert np.array_equal(w.proba(x, 0.0), w.proba(x, 5.0))
    assert np.array_equal(w.proba(x, 0.0), w.proba(x, 50.0))


def test_covariate_shift_moves_the_shifted_marginal_by_the_mean_and_nothing_else():
    w = mean_shift_world(at=100.0, sigmas=3.0, feature="a")
    before = w.sample(N, 50.0, Rngs(1)).columns
    after = w.sample(N, 150.0, Rngs(2)).columns
    # difference of two means of N unit-variance draws: SE sqrt(2/N)
    se = math.sqrt(2.0) * se_mean(1.0)
    assert abs((after["a"].mean() - before["a"].mean()) - 3.0) < Z * se
    assert abs(after["a"].std() - 1.0) < Z * se_var(1.0)  # sd moves much less than its variance SE
    for f in ("b", "c"):
        assert abs(after[f].mean() - before[f].mean()) < Z * se
        assert ks_same(before[f], after[f])
    assert not ks_same(before["a"], after["a"])


def test_covariate_shift_scale_and_corr():
    shift = CovariateShift(features=("a", "b"), scale=2.0, corr=0.6, schedule=Sudden(start=10.0))
    w = GenericTestWorld(shifts=(shift,))
    after = w.sample(N, 20.0, Rngs(3)).columns
    assert abs(after["a"].var() - 4.0) < Z * se_var(4.0)
    # Fisher z of a correlation has SE 1/sqrt(N - 3)
    r = np.corrcoef(after["a"], after["b"])[0, 1]
    assert abs(np.arctanh(r) - np.arctanh(0.6)) < Z / math.sqrt(N - 3)
    assert abs(np.corrcoef(after["a"], after["c"])[0, 1]) < Z / math.sqrt(N - 3)


def test_covariate_shift_of_uniform_features_moves_the_interval():
    w = sea(shifts=(CovariateShift(features="x0", mean=2.0, schedule=Sudden(start=1.0)),))
    x = w.sample(N, 2.0, Rngs(0)).columns["x0"]
    assert x.min() >= 2.0
    assert x.max() < 12.0
    assert abs(x.mean() - 7.0) < Z * se_mean(10.0 / math.sqrt(12.0))


def test_categorical_covariate_shift_moves_category_frequencies_only():
    p_after = (0.1, 0.1, 0.1, 0.7)
    shift = CovariateShift(features="region", p=p_after, schedule=Sudden(start=100.0))
    w = credit(shifts=(shift,))
    before = w.sample(N, 50.0, Rngs(1)).columns
    after = w.sample(N, 150.0, Rngs(2)).columns
    cats = ("north", "south", "east", "west")
    for cat, p0, p1 in zip(cats, (0.4, 0.3, 0.2, 0.1), p_after, strict=True):
        assert abs((before["region"] == cat).mean() - p0) < Z * se_prop(p0)
        assert abs((after["region"] == cat).mean() - p1) < Z * se_prop(p1)
    assert ks_same(before["income"], after["income"])
    x = w.sample(2000, 150.0, Rngs(0)).columns
    assert np.array_equal(w.proba(x, 50.0), w.proba(x, 150.0))


def test_categorical_incremental_shift_interpolates_frequencies():
    # regression test: a block the shift does not touch (income, debt_ratio) broke interpolation
    shift = CovariateShift(
        features="region", p=(0.0, 0.1, 0.2, 0.7), schedule=Incremental(start=0.0, width=10.0)
    )
    w = credit(shifts=(shift,))
    ((weight, blocks),) = w.covariates_at(5.0)
    assert weight == 1.0
    assert blocks[2].p == pytest.approx((0.2, 0.2, 0.2, 0.4))
    assert blocks[0] is w.covariates_at(0.0)[0][1][0]  # untouched blocks are kept as they are
    col = w.sample(N, 5.0, Rngs(0)).columns["region"]
    assert abs((col == "west").mean() - 0.4) < Z * se_prop(0.4)


# --------------------------------------------------------------------------- label shift


def _classes(shift_schedule=None, prior=0.2):
    schedule = shift_schedule or Sudden(start=100.0)
    return gaussian_classes(
        prior=0.5, separation=2.0, shifts=(LabelShift(prior=prior, schedule=schedule),)
    )


def test_label_shift_moves_the_prior_by_the_configured_amount():
    w = _classes()
    before = w.sample(N, 50.0, Rngs(1)).y.mean()
    after = w.sample(N, 150.0, Rngs(2)).y.mean()
    assert abs(before - 0.5) < Z * se_prop(0.5)
    assert abs(after - 0.2) < Z * se_prop(0.2)
    (event,) = w.events(1000.0)
    assert event.kind == "label_shift"
    assert event.magnitude == pytest.approx(0.3)


def test_label_shift_leaves_the_class_conditionals_alone():
    w = _classes()
    before = w.sample(N, 50.0, Rngs(1))
    after = w.sample(N, 150.0, Rngs(2))
    for label in (0, 1):
        for f in ("x0", "x1"):
            a = before.columns[f][before.y == label]
            b = after.columns[f][after.y == label]
            assert ks_same(a, b), (label, f)
    # and the class-conditional means are where the world says (±1)
    x1 = after.columns["x0"][after.y == 1]
    assert abs(x1.mean() - 1.0) < Z * se_mean(1.0, x1.size)


def test_label_shift_proba_follows_bayes_rule():
    w = _classes()
    x = {"x0": np.linspace(-3, 3, 13), "x1": np.linspace(2, -2, 13)}
    for t, pi in ((50.0, 0.5), (150.0, 0.2)):
        f1 = stats.norm.pdf(x["x0"], 1.0) * stats.norm.pdf(x["x1"], 1.0)
        f0 = stats.norm.pdf(x["x0"], -1.0) * stats.norm.pdf(x["x1"], -1.0)
        expected = pi * f1 / (pi * f1 + (1 - pi) * f0)
        np.testing.assert_allclose(w.proba(x, t), expected, rtol=1e-12)


def test_label_shift_proba_is_calibrated_on_samples():
    # E[Y - p(X)] = 0 when p is the true posterior; Y - p has variance <= 1/4
    w = _classes()
    b = w.sample(N, 150.0, Rngs(4))
    assert abs((b.y - w.proba(b.columns, 150.0)).mean()) < Z * se_mean(0.5)


def test_gradual_label_shift_mixes_the_prior():
    w = _classes(Gradual(start=100.0, width=100.0))
    assert w.prior_at(150.0) == pytest.approx(0.35)
    assert abs(w.sample(N, 150.0, Rngs(0)).y.mean() - 0.35) < Z * se_prop(0.35)


def test_label_shift_to_a_certain_class():
    w = _classes(prior=1.0)
    b = w.sample(100, 150.0, Rngs(0))
    assert (b.y == 1).all()
    assert (w.proba(b.columns, 150.0) == 1.0).all()


# --------------------------------------------------------------------------- concept shift


@pytest.mark.parametrize(
    "world",
    [
        sea(
            shifts=(
                ConceptShift(after=SEA(threshold=9.0, noise=0.0), schedule=Sudden(start=100.0)),
            )
        ),
        logistic(n_features=4, shifts=(ConceptShift(rotate=90, schedule=Sudden(start=100.0)),)),
        hyperplane(n_features=5, shifts=(ConceptShift(rotate=45, schedule=Sudden(start=100.0)),)),
    ],
    ids=["sea-to-another", "logistic-rotate", "hyperplane-rotate"],
)
def test_concept_shift_moves_proba_and_leaves_x_alone(world):
    a = world.sample(N, 50.0, Rngs(1))
    b = world.sample(N, 150.0, Rngs(1))
    for f in world.schema.names:  # same seed: the very same X
        assert np.array_equal(a.columns[f], b.columns[f])
    c = world.sample(N, 150.0, Rngs(2))
    for f in world.schema.names:  # another seed: the same distribution
        assert ks_same(a.columns[f], c.columns[f]), f
    p_before, p_after = world.proba(a.columns, 50.0), world.proba(a.columns, 150.0)
    assert np.mean(np.abs(p_before - p_after) > 0.1) > 0.05
    # labels follow the new concept: E[Y - p_after(X)] = 0 (SE <= 0.5/sqrt(N))
    assert abs((c.y - world.proba(c.columns, 150.0)).mean()) < Z * se_mean(0.5)


def test_rotation_turns_the_weight_vector():
    w = logistic(
        n_features=2, coef=(2.0, 0.0), shifts=(ConceptShift(rotate=90, schedule=Sudden(start=1.0)),)
    )
    ((_, after),) = w.concept_at(2.0)
    assert after.coef == pytest.approx((0.0, 2.0))


def test_concept_shift_mid_gradual_is_the_exact_mixture():
    schedule = Gradual(start=100.0, width=100.0)
    w = logistic(n_features=3, shifts=(ConceptShift(rotate=120, schedule=schedule),))
    x = w.sample(2000, 150.0, Rngs(0)).columns
    p0, p1 = w.proba(x, 0.0), w.proba(x, 1000.0)
    weight = schedule.weight(150.0)
    assert weight == pytest.approx(0.5, abs=1e-15)
    np.testing.assert_allclose(w.proba(x, 150.0), 0.5 * p0 + 0.5 * p1, rtol=1e-14, atol=0)
    for t in (110.0, 180.0):
        wt = schedule.weight(t)
        np.testing.assert_allclose(w.proba(x, t), (1 - wt) * p0 + wt * p1, rtol=1e-14, atol=0)


def test_concept_shift_mid_gradual_labels_follow_the_mixture():
    w = sea(
        noise=0.0,
        shifts=(
            ConceptShift(
                after=SEA(threshold=9.0, noise=0.0), schedule=Gradual(start=0.0, width=10.0)
            ),
        ),
    )
    b = w.sample(N, 5.0, Rngs(0))
    s = b.columns["x0"] + b.columns["x1"]
    band = (s > 8.0) & (s <= 9.0)  # where the two concepts disagree: y = 1 with probability 1/2
    assert abs(b.y[band].mean() - 0.5) < Z * se_prop(0.5, band.sum())
    assert (b.y[s <= 8.0] == 1).all()
    assert (b.y[s > 9.0] == 0).all()


def test_incremental_concept_shift_interpolates_parameters():
    w = logistic(
        n_features=2,
        coef=(1.0, 0.0),
        shifts=(ConceptShift(rotate=90, schedule=Incremental(start=0.0, width=10.0)),),
    )
    ((weight, c),) = w.concept_at(5.0)
    assert weight == 1.0
    assert c.coef == pytest.approx((0.5, 0.5))


def test_incremental_hyperplane_rotation_interpolates():
    # regression test: the default threshold (None) blocked interpolation, so rows were mixed
    w = hyperplane(
        n_features=3, shifts=(ConceptShift(rotate=30, schedule=Incremental(start=0.0, width=10.0)),)
    )
    comps = w.concept_at(5.0)
    assert len(comps) == 1
    before, after = w.concept_at(0.0)[0][1], w.concept_at(10.0)[0][1]
    mid = comps[0][1]
    assert mid.weights == pytest.approx(
        tuple((np.array(before.weights) + np.array(after.weights)) / 2)
    )
    assert mid.threshold == pytest.approx(before._threshold)


def test_incremental_sea_threshold_moves_halfway():
    w = sea(
        shifts=(
            ConceptShift(after=SEA(threshold=10.0), schedule=Incremental(start=0.0, width=4.0)),
        )
    )
    ((_, c),) = w.concept_at(2.0)
    assert c.threshold == pytest.approx(9.0)


# ------------------------------------------------------------------- gradual and incremental P(X)


def test_gradual_covariate_shift_is_a_fifty_fifty_mixture_at_the_midpoint():
    shift = CovariateShift(features="a", mean=6.0, schedule=Gradual(start=100.0, width=100.0))
    w = GenericTestWorld(shifts=(shift,))
    assert shift.schedule.weight(150.0) == pytest.approx(0.5, abs=1e-15)
    a = w.sample(N, 150.0, Rngs(0)).columns["a"]
    # rows beyond the midpoint 3: P = 0.5 Φ(-3) + 0.5 Φ(3) = 0.5 exactly for this symmetric mixture
    assert abs((a > 3.0).mean() - 0.5) < Z * se_prop(0.5)
    # mixture variance: 1 + w(1-w) 6² = 10. The SE of a sample variance is sqrt((μ4 - σ⁴)/N);
    # each component sits 3 from the centre, so μ4 = 3⁴ + 6·3² + 3 = 138 and μ4 - σ⁴ = 38.
    assert abs(a.var() - 10.0) < Z * math.sqrt(38.0 / N)
    assert len(w.covariates_at(150.0)) == 2


def test_incremental_covariate_shift_moves_the_mean_halfway_and_keeps_the_variance():
    shift = CovariateShift(features="a", mean=6.0, schedule=Incremental(start=100.0, width=100.0))
    w = GenericTestWorld(shifts=(shift,))
    ((_, (block,)),) = w.covariates_at(150.0)
    assert block.mean[0] == pytest.approx(3.0)
    a = w.sample(N, 150.0, Rngs(0)).columns["a"]
    assert abs(a.mean() - 3.0) < Z * se_mean(1.0)
    assert abs(a.var() - 1.0) < Z * se_var(1.0)


def test_incremental_scale_shift_interpolates_the_scale():
    shift = CovariateShift(features="a", scale=3.0, schedule=Incremental(start=0.0, width=10.0))
    w = GenericTestWorld(shifts=(shift,))
    a = w.sample(N, 5.0, Rngs(0)).columns["a"]
    assert abs(a.var() - 4.0) < Z * se_var(4.0)  # sd halfway from 1 to 3


# --------------------------------------------------------------------------- schedules


def test_gradual_and_incremental_weights():
    g = Gradual(start=10.0, width=20.0)
    assert g.weight(10.0) == 0.0
    assert g.weight(30.0) == 1.0
    assert g.weight(20.0) == pytest.approx(0.5)
    ws = g.weight(np.linspace(0, 40, 41))
    assert (np.diff(ws) >= 0).all()
    assert ws.min() == 0.0
    assert ws.max() == 1.0
    i = Incremental(start=10.0, width=20.0)
    assert i.weight(15.0) == pytest.approx(0.25)
    assert g.episodes(100.0) == [(10.0, 30.0)]
    assert g.episodes(5.0) == []


def test_recurring_weights_and_episodes():
    r = Recurring(start=10.0, period=20.0, duty=0.25, n_cycles=3)
    on = [10.0, 14.9, 30.0, 54.9]
    off = [9.9, 15.0, 29.9, 35.0, 70.0, 75.0]
    assert all(r.weight(t) == 1.0 for t in on)
    assert all(r.weight(t) == 0.0 for t in off)
    assert r.episodes(1000.0) == [(10.0, 15.0), (30.0, 35.0), (50.0, 55.0)]
    assert r.episodes(40.0) == [(10.0, 15.0), (30.0, 35.0)]


def test_recurring_world_switches_concepts_and_reports_each_episode():
    r = Recurring(start=10.0, period=20.0, duty=0.5)
    w = sea(noise=0.0, shifts=(ConceptShift(after=SEA(threshold=9.0, noise=0.0), schedule=r),))
    x = {"x0": [4.5], "x1": [4.0], "x2": [0.0]}  # 8.5: positive only under threshold 9
    assert [float(w.proba(x, t)[0]) for t in (5.0, 15.0, 25.0, 35.0)] == [0.0, 1.0, 0.0, 1.0]
    assert [(e.start, e.end) for e in w.events(60.0)] == [(10.0, 20.0), (30.0, 40.0), (50.0, 60.0)]


def test_recurring_without_cycles_refuses_an_infinite_horizon():
    # regression test: episodes(inf) looped forever
    with pytest.raises(ConfigError, match="horizon=inf"):
        Recurring(start=0.0, period=1.0).episodes(math.inf)
    assert len(Recurring(start=0.0, period=1.0, n_cycles=4).episodes(math.inf)) == 4


def test_seasonal_weight_and_label_prior():
    s = Seasonal(period=24.0, amplitude=0.8)
    assert s.weight(0.0) == 0.0
    assert s.weight(6.0) == pytest.approx(0.4)
    assert s.weight(12.0) == pytest.approx(0.8)
    assert s.weight(24.0) == pytest.approx(0.0, abs=1e-12)
    assert s.weight(36.0) == pytest.approx(0.8)
    w = gaussian_classes(prior=0.5, shifts=(LabelShift(prior=0.1, schedule=s),))
    assert w.prior_at(12.0) == pytest.approx(0.5 + 0.8 * (0.1 - 0.5))
    assert abs(w.sample(N, 12.0, Rngs(0)).y.mean() - 0.18) < Z * se_prop(0.18)


def test_sequence_goes_there_and_back():
    s = Sequence(parts=(Gradual(start=0.0, width=10.0), Sudden(start=20.0)))
    assert s.weight(5.0) == pytest.approx(0.5)
    assert s.weight(15.0) == 1.0
    assert s.weight(25.0) == 0.0
    assert s.episodes(100.0) == [(0.0, 10.0), (20.0, 20.0)]
    w = GenericTestWorld(shifts=(CovariateShift(features="a", mean=5.0, schedule=s),))
    means = [w.sample(N, t, Rngs(0)).columns["a"].mean() for t in (-1.0, 15.0, 25.0)]
    assert abs(means[0]) < Z * se_mean(1.0)
    assert abs(means[1] - 5.0) < Z * se_mean(1.0)
    assert abs(means[2]) < Z * se_mean(1.0)
    assert [e.start for e in w.events(100.0)] == [0.0, 20.0]


def test_sequence_of_incremental_parts_interpolates():
    s = Sequence(parts=(Incremental(start=0.0, width=10.0), Incremental(start=20.0, width=10.0)))
    assert s.blend == "interpolate"
    assert [s.weight(t) for t in (5.0, 15.0, 25.0, 40.0)] == pytest.approx([0.5, 1.0, 0.5, 0.0])


def test_schedules_are_vectorised():
    t = np.array([0.0, 5.0, 10.0])
    for s in (
        Sudden(start=5.0),
        Gradual(start=0.0, width=10.0),
        Recurring(start=0.0, period=4.0),
        Seasonal(period=10.0),
    ):
        w = s.weight(t)
        assert w.shape == (3,)
        assert [float(s.weight(x)) for x in t] == pytest.approx(w.tolist())


# --------------------------------------------------------------------------- rules and regression


def test_rules_concept_with_categoricals():
    w = credit()
    x = {
        "income": np.array([50.0, 20.0, 20.0, 80.0, 20.0]),
        "debt_ratio": np.array([0.6, 0.2, 0.2, 0.2, 0.6]),
        "region": np.array(["north", "south", "north", "east", "west"]),
    }
    assert w.proba(x, 0.0).tolist() == [0.75, 0.6, 0.25, 0.1, 0.75]  # first matching rule wins
    b = w.sample(N, 0.0, Rngs(0))
    rule2 = (
        (b.columns["debt_ratio"] < 0.5)
        & (b.columns["income"] < 30.0)
        & np.isin(b.columns["region"], ["south", "west"])
    )
    assert rule2.sum() > 200
    assert abs(b.y[rule2].mean() - 0.6) < Z * se_prop(0.6, rule2.sum())


def test_rules_concept_shift_to_another_rule_list():
    after = Rules(rules=({"p": 0.9, "region": ["north"]},), default=0.05)
    w = credit(shifts=(ConceptShift(after=after, schedule=Sudden(start=10.0)),))
    b = w.sample(N, 20.0, Rngs(0))
    north = b.columns["region"] == "north"
    assert abs(b.y[north].mean() - 0.9) < Z * se_prop(0.9, north.sum())
    assert abs(b.y[~north].mean() - 0.05) < Z * se_prop(0.05, (~north).sum())


@pytest.mark.parametrize(
    "world",
    [
        friedman(noise=1.0),
        CausalWorld(
            covariates=(Gaussian(features=("a", "b"), mean=(1.0, -2.0), scale=(2.0, 0.5)),),
            concept=Linear(features=("a", "b"), coef=(3.0, -1.0), intercept=4.0, noise=2.0),
        ),
        friedman(
            noise=1.0,
            shifts=(
                ConceptShift(
                    after=Friedman(features=("x5", "x6", "x7", "x8", "x9"), noise=3.0),
                    schedule=Gradual(start=0.0, width=10.0),
                ),
            ),
        ),
    ],
    ids=["friedman", "linear", "friedman-mid-gradual"],
)
def test_regression_worlds_give_the_right_conditional_mean(world):
    t = 5.0
    b = world.sample(N, t, Rngs(0))
    resid = b.y - world.proba(b.columns, t)
    # E[Y - E[Y|X]] = 0; the residual sd is the noise (or at most ~3 plus the concept spread)
    assert abs(resid.mean()) < Z * se_mean(resid.std())
    if len(world.concept_at(t)) == 1:
        assert abs(resid.var() - world.concept.noise**2) < Z * se_var(world.concept.noise**2)


def test_linear_concept_expectation_is_exact():
    c = Linear(features=("a", "b"), coef=(3.0, -1.0), intercept=4.0)
    assert c.proba({"a": np.array([1.0]), "b": np.array([2.0])}).tolist() == [5.0]


# --------------------------------------------------------------------------- randomness


def test_same_seed_same_batches_different_seed_different():
    w = sea(
        shifts=(ConceptShift(after=SEA(threshold=9.0), schedule=Gradual(start=0.0, width=10.0)),)
    )
    a, b, c = (w.sample(100, 5.0, Rngs(s)) for s in (1, 1, 2))
    assert np.array_equal(a.columns["x0"], b.columns["x0"])
    assert np.array_equal(a.y, b.y)
    assert not np.array_equal(a.columns["x0"], c.columns["x0"])


def test_adding_a_component_never_changes_the_worlds_draws():
    w = mean_shift_world()
    quiet, busy = Rngs(9), Rngs(9)
    busy["psi"].random(1000)
    busy["model"].standard_normal(7)
    for t in (0.0, 150.0):
        a, b = w.sample(500, t, quiet), w.sample(500, t, busy)
        assert np.array_equal(a.columns["a"], b.columns["a"])
        assert np.array_equal(a.y, b.y)


def test_consecutive_ticks_draw_new_rows():
    w = GenericTestWorld()
    rngs = Rngs(0)
    a, b = w.sample(10, 0.0, rngs), w.sample(10, 1.0, rngs)
    assert not np.array_equal(a.columns["a"], b.columns["a"])


# --------------------------------------------------------------------------- bad input


def _message(exc_info) -> str:
    return str(exc_info.value)


@pytest.mark.parametrize(
    ("make", "key", "value"),
    [
        (lambda: Gradual(start=0.0, width=-1.0), "width", "-1.0"),
        (lambda: Incremental(start=0.0, width=0.0), "width", "0.0"),
        (lambda: Sudden(start=math.nan), "start", "nan"),
        (lambda: LabelShift(prior=1.5, schedule=Sudden(start=0.0)), "prior", "1.5"),
        (lambda: LabelShift(prior=-0.1, schedule=Sudden(start=0.0)), "prior", "-0.1"),
        (lambda: gaussian_classes(prior=1.2), "prior", "1.2"),
        (lambda: SEA(noise=0.7), "noise", "0.7"),
        (lambda: Hyperplane(features=("a",), weights=(1.0,), noise=-0.1), "noise", "-0.1"),
        (lambda: Rules(rules=({"p": 1.1, "a": [0.0, 1.0]},)), "rules[0].p", "1.1"),
        (
            lambda: Categorical(feature="c", categories=("u", "v"), p=(1.2, -0.2)),
            "p",
            "(1.2, -0.2)",
        ),
        (lambda: Categorical(feature="c", categories=("u", "v"), p=(0.5, 0.4)), "p", "(0.5, 0.4)"),
        (lambda: Recurring(start=0.0, period=10.0, duty=1.5), "duty", "1.5"),
        (lambda: Seasonal(period=10.0, amplitude=1.5), "amplitude", "1.5"),
        (lambda: Gaussian(features=("a",), scale=-1.0), "scale", "-1.0"),
        (lambda: Uniform(features=("a",), low=1.0, high=0.0), "high", "0.0"),
        (
            lambda: CovariateShift(features="a", scale=0.0, schedule=Sudden(start=0.0)),
            "scale",
            "0.0",
        ),
        (lambda: CovariateShift(features="a", corr=1.0, schedule=Sudden(start=0.0)), "corr", "1.0"),
        (
            lambda: logistic(
                n_features=3,
                shifts=(CovariateShift(features="x9", mean=1.0, schedule=Sudden(start=0.0)),),
            ),
            "shifts[0].features",
            "'x9'",
        ),
        (
            lambda: CausalWorld(
                covariates=(Gaussian(features=("a",)),),
                concept=Logistic(features=("zz",), coef=(1.0,)),
            ),
            "concept.features",
            "'zz'",
        ),
        (
            lambda: GenericTestWorld(
                shifts=(
                    ConceptShift(
                        after=Logistic(features=("a", "q"), coef=(1.0, 1.0)),
                        schedule=Sudden(start=1.0),
                    ),
                )
            ),
            "features",
            "'q'",
        ),
        (
            lambda: sea(shifts=(ConceptShift(rotate=10, schedule=Sudden(start=0.0)),)),
            "rotate",
            "10",
        ),
        (
            lambda: sea(shifts=(LabelShift(prior=0.2, schedule=Sudden(start=0.0)),)),
            "shifts[0]",
            "LabelShift",
        ),
        (lambda: Event("concept_shift", 10.0, 5.0), "end", "5.0"),
        (lambda: GenericTestWorld().sample(-1, 0.0, Rngs(0)), "n", "-1"),
        (lambda: GenericTestWorld().sample(2.5, 0.0, Rngs(0)), "n", "2.5"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_input_names_key_value_and_what_is_allowed(make, key, value):
    with pytest.raises(ConfigError) as exc_info:
        make()
    message = _message(exc_info)
    assert key in message
    assert value in message
    assert "expected" in message


def test_unknown_concept_name_in_a_spec_suggests_the_closest():
    spec = {
        "kind": "causal",
        "covariates": [{"kind": "gaussian", "features": ["a"]}],
        "concept": {"kind": "logistc_concept", "features": ["a"], "coef": [1.0]},
    }
    with pytest.raises(UnknownNameError) as exc_info:
        build(spec)
    message = _message(exc_info)
    assert "'logistc_concept'" in message
    assert "Did you mean 'logistic_concept'?" in message


def test_unknown_kwarg_in_a_spec_names_it_and_suggests():
    with pytest.raises(ConfigError) as exc_info:
        build({"kind": "sea", "treshold": 8.0})
    message = _message(exc_info)
    assert "treshold=8.0" in message
    assert "'threshold'" in message
    with pytest.raises(ConfigError, match="widht"):
        build({"kind": "gradual", "start": 0.0, "widht": 1.0})


def test_missing_required_kwarg_in_a_spec():
    with pytest.raises(ConfigError, match="width"):
        build({"kind": "gradual", "start": 0.0})


def test_missing_columns_in_proba():
    with pytest.raises(ConfigError, match="columns"):
        GenericTestWorld().proba({"a": np.zeros(2)}, 0.0)


def test_nothing_is_silently_clipped():
    # a probability outside [0, 1] is refused, never clipped to the nearest bound
    for bad in (1.0000001, -1e-9):
        with pytest.raises(ConfigError):
            LabelShift(prior=bad, schedule=Sudden(start=0.0))
    with pytest.raises(ConfigError):
        CovariateShift(features="a", mean=math.inf, schedule=Sudden(start=0.0))


# --------------------------------------------------------------------------- conformance


def _gradual(start=100.0):
    return Gradual(start=start, width=50.0)


def _incr(start=100.0):
    return Incremental(start=start, width=50.0)


# every registered world, and that world with each kind of shift it allows
WORLD_CASES = {
    "causal": [GenericTestWorld(), mean_shift_world()],
    "anticausal": [
        AnticausalWorld(
            prior=0.3,
            negative=(
                Categorical(feature="c", categories=("u", "v"), p=(0.7, 0.3)),
                Uniform(features=("z",)),
            ),
            positive=(
                Categorical(feature="c", categories=("u", "v"), p=(0.2, 0.8)),
                Uniform(features=("z",), high=2.0),
            ),
            shifts=(LabelShift(prior=0.6, schedule=_gradual()),),
        )
    ],
    "sea": [
        sea(),
        sea(shifts=(CovariateShift(features="x2", mean=3.0, schedule=_gradual()),)),
        sea(shifts=(CovariateShift(features=("x0", "x1"), scale=0.5, schedule=_incr()),)),
        sea(shifts=(ConceptShift(after=SEA(threshold=9.0), schedule=_gradual()),)),
        sea(
            shifts=(
                ConceptShift(after=SEA(threshold=7.0), schedule=Recurring(start=10.0, period=40.0)),
            )
        ),
        sea(shifts=(ConceptShift(after=SEA(threshold=9.5), schedule=_incr()),)),
    ],
    "hyperplane": [
        hyperplane(),
        hyperplane(
            n_features=4, shifts=(CovariateShift(features="x1", mean=0.2, schedule=_gradual()),)
        ),
        hyperplane(n_features=4, shifts=(ConceptShift(rotate=40, schedule=_incr()),)),
        hyperplane(n_features=4, shifts=(ConceptShift(rotate=40, schedule=Seasonal(period=24.0)),)),
    ],
    "logistic": [
        logistic(),
        logistic(
            n_features=3,
            shifts=(CovariateShift(features=("x0", "x1"), corr=0.5, schedule=_incr()),),
        ),
        logistic(
            n_features=3,
            shifts=(CovariateShift(features="x0", mean=2.0, schedule=Sudden(start=5.0)),),
        ),
        logistic(n_features=3, shifts=(ConceptShift(rotate=60, schedule=_gradual()),)),
        logistic(
            n_features=3,
            shifts=(
                CovariateShift(features="x2", mean=-1.0, scale=2.0, schedule=_gradual(50.0)),
                ConceptShift(rotate=60, schedule=Sequence(parts=(_gradual(), Sudden(start=300.0)))),
            ),
        ),
    ],
    "gaussian_classes": [
        gaussian_classes(),
        gaussian_classes(shifts=(LabelShift(prior=0.1, schedule=_gradual()),)),
        gaussian_classes(
            shifts=(LabelShift(prior=0.1, schedule=Seasonal(period=24.0, start=10.0)),)
        ),
        gaussian_classes(
            shifts=(
                LabelShift(prior=0.8, schedule=_incr()),
                LabelShift(prior=0.3, schedule=Sudden(start=400.0)),
            )
        ),
    ],
    "friedman": [
        friedman(),
        friedman(shifts=(CovariateShift(features="x0", mean=0.3, schedule=_gradual()),)),
        friedman(
            shifts=(
                ConceptShift(
                    after=Friedman(features=("x5", "x6", "x7", "x8", "x9")), schedule=_gradual()
                ),
            )
        ),
    ],
    "credit": [
        credit(),
        credit(
            shifts=(CovariateShift(features="region", p=(0.1, 0.2, 0.3, 0.4), schedule=_incr()),)
        ),
        credit(shifts=(CovariateShift(features="income", mean=-10.0, schedule=_gradual()),)),
        credit(
            shifts=(
                ConceptShift(
                    after=Rules(rules=({"p": 0.8, "region": ["east"]},)), schedule=_gradual()
                ),
            )
        ),
    ],
}


WORLD_CASES["faulted"] = [
    Faulted(world=sea(), fault=DropColumn(column="x1"), start=10.0, end=300.0),
    Faulted(world=credit(), fault=RenameColumn(column="region", to="zone"), start=5.0),
    Faulted(
        world=Faulted(world=logistic(n_features=3), fault=Round(columns=("x0",), decimals=1)),
        fault=Float32(columns=("x1", "x2")),
        start=20.0,
    ),
]
WORLD_CASES["selective_labels"] = [
    SelectiveLabels(world=credit()),
    SelectiveLabels(world=sea(), observed="not_acted"),
]
WORLD_CASES["ambient"] = [
    Ambient(
        world=logistic(
            n_features=2, shifts=(CovariateShift(features="x0", mean=1.0, schedule=Wander()),)
        )
    ),
    Ambient(world=sea(shifts=(ConceptShift(after=SEA(threshold=9.0), schedule=_gradual()),))),
]
WORLD_CASES["lending"] = [
    lending(),
    lending(shifts=(CovariateShift(features="income", mean=-15.0, schedule=_gradual()),)),
]
WORLD_CASES["recommendations"] = [
    Recommendations(),
    Recommendations(n_users=5, n_items=40, start_items=20, candidates=4, items_per_hour=0.0),
]
WORLD_CASES["proxy"] = [
    Proxy(world=sea()),
    Proxy(
        world=logistic(n_features=3),
        given_positive=0.9,
        given_negative=0.2,
        observed="all",
        drift=TieShift(given_positive=0.3, given_negative=0.3, schedule=Sudden(start=100.0)),
    ),
]
WORLD_CASES["patrols"] = [patrols(), patrols(rates=(0.5, 0.1), p=(0.7, 0.3))]
WORLD_CASES["performative_gaussian"] = [
    PerformativeGaussian(),
    PerformativeGaussian(mean=-2.0, scale=0.5, epsilon=1.5, n_features=3),
]
WORLD_CASES["strategic"] = [Strategic(world=logistic(n_features=3), features=("x0", "x1"))]


def test_every_registered_world_has_conformance_cases():
    assert set(registered("world")) <= set(WORLD_CASES)


def _conformance_params():
    for name, worlds in WORLD_CASES.items():
        for i, world in enumerate(worlds):
            inner = getattr(world, "unwrapped", world)
            shifts = "+".join(s.name + ":" + s.schedule.name for s in inner.shifts) or "stationary"
            for check in yield_world_checks(world):
                yield pytest.param(world, check, id=f"{name}[{i}]:{shifts}:{check.__name__}")


@pytest.mark.parametrize(("world", "check"), list(_conformance_params()))
def test_world_conformance(world, check):
    check(world)


def test_check_world_runs_every_check():
    check_world(GenericTestWorld())


def test_check_world_catches_a_world_that_ignores_its_seed():
    class Broken(CausalWorld):
        def sample(self, n, t, rng):
            return super().sample(n, t, Rngs(0))

    broken = Broken(
        covariates=(Gaussian(features=("a",)),), concept=Logistic(features=("a",), coef=(1.0,))
    )
    with pytest.raises(AssertionError, match="seeds 7 and 8"):
        check_world(broken)


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: SEA(threshold="8"), "threshold"),
        (
            lambda: Hyperplane(features=("a", "b"), weights=(1, 1), threshold=float("nan")),
            "threshold",
        ),
        (lambda: Linear(features=("a",), coef=(1,), intercept="x"), "intercept"),
        (lambda: Logistic(features=("a",), coef=(1,), intercept=float("inf")), "intercept"),
    ],
)
def test_concept_numbers_must_be_finite(make, key):
    with pytest.raises(ConfigError, match=f"{key}=.* expected a finite number"):
        make()


def test_covariate_shift_refuses_mixed_or_misshapen_changes():
    s = Sudden(start=1.0)
    with pytest.raises(ConfigError, match=r"p=.*None when mean, scale or corr is given"):
        CovariateShift(features=("c",), p=(0.9, 0.1), mean=3.0, schedule=s)
    with pytest.raises(ConfigError, match=r"mean=\(1, 2, 3\).*one number, or 2"):
        CovariateShift(features=("a", "b"), mean=(1, 2, 3), schedule=s)
    only_p = CovariateShift(features=("c",), p=(0.9, 0.1), schedule=s)
    assert math.isnan(only_p.magnitude())
    assert only_p.events(10.0)[0].detail["p"] == [0.9, 0.1]
