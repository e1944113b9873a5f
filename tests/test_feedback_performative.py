"""Performative shift: repeated retraining chases a world that follows the model; gaming."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import xarray as xr
from sklearn.linear_model import LinearRegression

from simlab.errors import ConfigError
from simlab.feedback.performative import (
    PerformativeGaussian,
    Strategic,
    repeated_risk_minimisation,
)
from simlab.models import ModelAdapter
from simlab.rng import Rngs
from simlab.sim import Constant, FixedDelay, Periodic, Scenario, simulate
from simlab.testing.checks import check_run, check_world
from simlab.world import credit, logistic
from simlab.world.base import notify_deploy, twin

# --------------------------------------------------------------------------- the pure loop


def _slope_and_tolerance(err: np.ndarray, expected: np.ndarray, sd: np.ndarray):
    """Least-squares slope of log|err| on t, and a 5-SD bound on its sampling error.

    log|err[t]| = log|expected[t]| + delta[t] with |delta[t]| ~ |noise[t]| / |expected[t]|
    (first order, for noise much smaller than the error); the slope is sum(w[t] log|err[t]|)
    with w[t] = (t - mean t) / sum((t - mean t)^2), so its error is at most
    sum(|w[t]| |delta[t]|), and each |delta[t]| is under 5 sd[t] / |expected[t]| but with
    probability about 6e-7 (a union over the few points keeps it negligible).
    """
    t = np.arange(err.size, dtype=float)
    w = (t - t.mean()) / ((t - t.mean()) ** 2).sum()
    slope = float((w * np.log(np.abs(err))).sum())
    tol = float((np.abs(w) * 5.0 * sd / np.abs(expected)).sum())
    return slope, tol


@pytest.mark.parametrize("epsilon", [0.3, 0.5, 0.8, -0.6])
def test_repeated_retraining_converges_geometrically_at_rate_epsilon(epsilon):
    mean, scale, n = 1.0, 1.0, 10**6
    theta = repeated_risk_minimisation(mean=mean, epsilon=epsilon, steps=60, n=n, seed=0)
    star = mean / (1.0 - epsilon)
    assert theta.attrs["stable_point"] == pytest.approx(star)
    # e[t] = theta[t] - star = epsilon^t e[0] + AR(1) noise whose sd is at most
    # sigma = scale / sqrt(n (1 - epsilon^2)); fit while |e[t]| >= 100 sigma (first order)
    sigma = scale / math.sqrt(n * (1.0 - epsilon**2))
    expected = (0.0 - star) * epsilon ** np.arange(61)
    keep = np.abs(expected) >= 100 * sigma
    assert keep[:3].all()  # at least three points in the fit (five or more but at 0.3)
    err = theta.values[keep] - star
    slope, tol = _slope_and_tolerance(err, expected[keep], np.full(err.size, sigma))
    assert slope == pytest.approx(math.log(abs(epsilon)), abs=tol)  # tol 0.013 at 0.5
    # and after 60 steps only the noise is left
    assert float(theta[-1]) == pytest.approx(star, abs=5 * sigma)


@pytest.mark.parametrize("epsilon", [1.5, -2.0])
def test_repeated_retraining_runs_away_when_the_world_reacts_strongly(epsilon):
    mean, scale, n = 1.0, 1.0, 10**6
    theta = repeated_risk_minimisation(mean=mean, epsilon=epsilon, steps=20, n=n, seed=0)
    star = mean / (1.0 - epsilon)  # the unstable fixed point
    # e[t] = epsilon^t (e[0] + sum_k epsilon^-k-1 noise[k]): the noise's share stays below
    # sigma / (|e[0]| sqrt(epsilon^2 - 1)) in relative terms, sigma = scale / sqrt(n)
    e0 = -star
    expected = e0 * epsilon ** np.arange(21)
    rel = scale / math.sqrt(n) / (abs(e0) * math.sqrt(epsilon**2 - 1.0))
    slope, tol = _slope_and_tolerance(theta.values - star, expected, np.abs(expected) * rel)
    assert slope == pytest.approx(math.log(abs(epsilon)), abs=tol)
    assert abs(float(theta[-1])) > 0.5 * abs(e0) * abs(epsilon) ** 20
    assert np.isnan(repeated_risk_minimisation(mean=1.0, epsilon=1.0, steps=3).stable_point)


def test_repeated_retraining_is_reproducible_and_without_noise_exact():
    a = repeated_risk_minimisation(mean=2.0, epsilon=0.4, steps=10, n=50, seed=3)
    xr.testing.assert_identical(
        a, repeated_risk_minimisation(mean=2.0, epsilon=0.4, steps=10, n=50, seed=3)
    )
    assert not a.equals(repeated_risk_minimisation(mean=2.0, epsilon=0.4, steps=10, n=50, seed=4))
    exact = repeated_risk_minimisation(mean=2.0, epsilon=0.4, steps=3, scale=0.0, theta0=1.0)
    np.testing.assert_allclose(exact.values, [1.0, 2.4, 2.96, 3.184])
    assert exact.dims == ("step",)
    assert {"long_name", "units"} <= set(exact.attrs)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"steps": 0}, "steps"),
        ({"n": 0}, "n"),
        ({"scale": -1.0}, "scale"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"mean": float("inf")}, "mean"),
        ({"seed": -2}, "seed"),
    ],
)
def test_bad_inputs_to_the_loop_are_refused(kw, key):
    args = {"mean": 1.0, "epsilon": 0.5, "steps": 5, **kw}
    with pytest.raises(ConfigError, match=rf"repeated_risk_minimisation: {key}=") as info:
        repeated_risk_minimisation(**args)
    assert info.value.key == key


# --------------------------------------------------------------------------- the world


def _constant(value):
    return lambda columns: np.full(len(next(iter(columns.values()))), value)


@pytest.mark.parametrize(
    "world",
    [
        PerformativeGaussian(),
        PerformativeGaussian(mean=-2.0, scale=0.5, epsilon=1.5, n_features=3),
    ],
    ids=["default", "three_features"],
)
def test_performative_gaussian_conforms(world):
    check_world(world)
    assert world.schema.task.value == "regression"
    assert twin(world) == world.clone(epsilon=0.0)
    assert twin(world).events() == []


def test_the_world_follows_the_deployed_estimate():
    w = PerformativeGaussian(mean=1.0, scale=2.0, epsilon=0.5, n_features=2)
    n = 40000
    before = w.sample(n, 0.0, rng=0)
    # y ~ N(1, 2^2) before any deployment: mean within 5 SE = 5 * 2 / sqrt(n)
    assert before.y.mean() == pytest.approx(1.0, abs=5 * 2.0 / math.sqrt(n))
    assert w.events() == []
    notify_deploy(w, _constant(3.0), 5.0)
    assert w.theta_ == 3.0
    after = w.sample(n, 6.0, rng=0)
    assert after.y.mean() == pytest.approx(2.5, abs=5 * 2.0 / math.sqrt(n))
    np.testing.assert_array_equal(w.proba(after.columns, 6.0), np.full(n, 2.5))
    # the features stay uninformative noise, drawn as before
    np.testing.assert_array_equal(before.columns["x1"], after.columns["x1"])
    [event] = w.events()
    assert (event.kind.value, event.start, event.magnitude) == ("concept_shift", 5.0, 1.5)
    assert event.detail["theta"] == 3.0
    assert w.events(horizon=4.0) == []
    # state is the run's: a clone starts fresh, a pickle keeps it
    assert w.clone().theta_ == 0.0
    assert w.clone().events() == []
    again = pickle.loads(pickle.dumps(w))
    assert again.theta_ == 3.0
    assert again == w


def test_the_probe_reads_the_model_and_a_failed_read_is_refused():
    w = PerformativeGaussian(n_features=2)
    w.on_deploy(lambda cols: 1.0 + cols["x0"] - cols["x1"], 0.0)
    probe = w.probe()
    assert w.theta_ == pytest.approx(1.0 + probe["x0"].mean() - probe["x1"].mean())
    assert abs(w.theta_ - 1.0) < 5 * math.sqrt(2 / 1000)  # the probe's mean of x0 - x1
    with pytest.raises(ConfigError, match="finite predictions"):
        w.on_deploy(_constant(np.nan), 1.0)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"scale": 0.0}, "scale"),
        ({"n_features": 0}, "n_features"),
        ({"epsilon": "big"}, "epsilon"),
        ({"mean": float("nan")}, "mean"),
    ],
)
def test_bad_world_parameters_are_refused(kw, key):
    with pytest.raises(ConfigError, match=rf"PerformativeGaussian: {key}="):
        PerformativeGaussian(**kw)


def _performative_scenario(seed_world=None):
    return Scenario(
        world=seed_world or PerformativeGaussian(mean=1.0, epsilon=0.5),
        model=ModelAdapter(estimator=LinearRegression()),
        traffic=Constant(rate_per_hour=200.0),
        delay=FixedDelay(hours=0.0),
        horizon_hours=240.0,
        train_rows=5000,
        # a 22-h window ends at the job (every 24 h) and starts after the last deployment
        # (an hour after the last job), so each model learns only from its predecessor's world
        policy=Periodic(period_hours=24.0, window_hours=22.0, job_hours=1.0, min_rows=100),
    )


def test_retraining_in_the_engine_converges_to_the_stable_point():
    s = _performative_scenario()
    run = simulate(s, seed=0)
    check_run(run)
    assert run.attrs["task"] == "regression"
    shifts = [e for e in run.simlab.events() if e.kind.value == "concept_shift"]
    deploys = [e for e in run.simlab.events() if e.kind.value == "deploy"]
    assert [e.start for e in shifts] == [e.start for e in deploys]  # one per deployment
    theta = np.array([e.detail["theta"] for e in shifts])
    assert theta.size == 10
    # version v is trained on outcomes of mean 1 + 0.5 theta[v - 1] (theta[-1] = 0), so
    # theta[v] = 2 (1 - 0.5^(v + 1)) plus an AR(1) noise whose sd is at most
    # 1 / sqrt(n (1 - 0.25)) with n the fewest rows a model was fitted on (80% of a window:
    # the rest is its held-out reference); 5 of those (about 0.1)
    n = 0.8 * min(e.detail["n_rows"] for e in deploys)
    tol = 5.0 / math.sqrt(n * 0.75)
    expected = 2.0 * (1.0 - 0.5 ** np.arange(1, 11))
    np.testing.assert_allclose(theta, expected, atol=tol)  # observed within 0.03
    assert theta[0] == pytest.approx(1.0, abs=tol)
    assert theta[-1] == pytest.approx(2.0, abs=tol)
    # the true error follows the world: the deployed model predicts last cycle's mean
    mae = run.true_metric.sel(metric="mae")
    assert float(mae.isel(time=23)) > float(mae.isel(time=-1)) + 0.05  # 0.90 vs 0.80


def test_performative_runs_are_reproducible_from_the_seed_and_never_share_state():
    s = _performative_scenario()
    a = simulate(s, seed=3)
    b = simulate(s, seed=3)
    xr.testing.assert_identical(a, b)
    assert not a.true_metric.equals(simulate(s, seed=4).true_metric)
    assert s.world.theta_ == 0.0  # the scenario's world is never the one that runs
    assert Scenario.from_json(a.attrs["scenario"]).world == s.world


# --------------------------------------------------------------------------- strategic


def test_strategic_conforms():
    check_world(Strategic(world=logistic(n_features=3), features=("x0", "x1")))
    check_world(Strategic(world=PerformativeGaussian(n_features=2), features=("x1",), strength=0.0))
    w = Strategic(world=logistic(n_features=3), features=("x0",), strength=2.0)
    assert twin(w) == logistic(n_features=3)  # nobody games in the twin


def test_individuals_move_along_the_score_and_their_outcome_stays():
    w = Strategic(
        world=logistic(n_features=3),
        features=("x0", "x1"),
        strength=2.0,
        cost_low=1.0,
        cost_high=4.0,
    )
    honest = w.world.sample(5000, 1.0, rng=Rngs(0))
    before = w.sample(5000, 1.0, rng=Rngs(0))
    for name in ("x0", "x1", "x2"):
        np.testing.assert_array_equal(before.columns[name], honest.columns[name])
    # a linear score 3 x0 - 4 x1 + x2: its ascent over (x0, x1) is (0.6, -0.8)
    w.on_deploy(lambda cols: 3 * cols["x0"] - 4 * cols["x1"] + cols["x2"], 2.0)
    np.testing.assert_allclose(w.direction_, [0.6, -0.8])
    gamed = w.sample(5000, 3.0, rng=Rngs(0))
    honest = w.world.sample(5000, 3.0, rng=Rngs(0))
    dx0 = gamed.columns["x0"] - honest.columns["x0"]
    dx1 = gamed.columns["x1"] - honest.columns["x1"]
    np.testing.assert_allclose(dx1, -dx0 * 0.8 / 0.6)  # one direction for everyone
    step = dx0 / 0.6  # strength / cost, cost uniform on [1, 4]
    assert step.min() >= 0.5
    assert step.max() <= 2.0
    assert np.ptp(step) > 1.4  # individuals differ in how far they go
    np.testing.assert_array_equal(gamed.columns["x2"], honest.columns["x2"])
    np.testing.assert_array_equal(gamed.y, honest.y)  # gaming, not improvement
    [event] = w.events()
    assert (event.kind.value, event.start, event.features) == ("covariate_shift", 2.0, ("x0", "x1"))
    assert event.magnitude == pytest.approx(2.0 * math.log(4.0) / 3.0)  # strength E[1 / cost]
    # a model that ignores the features moves nobody; a fresh clone has seen no deployment
    w.on_deploy(lambda cols: 0.5 + 0.0 * cols["x0"], 4.0)
    np.testing.assert_array_equal(
        w.sample(50, 5.0, rng=0).columns["x0"], w.world.sample(50, 5.0, rng=0).columns["x0"]
    )
    assert w.clone().direction_ is None


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"features": ("x9",)}, "features"),
        ({"features": ()}, "features"),
        ({"features": "x0"}, "features"),
        ({"strength": -1.0}, "strength"),
        ({"cost_low": 0.0}, "cost_low"),
        ({"cost_low": 2.0, "cost_high": 1.0}, "cost_high"),
    ],
)
def test_bad_strategic_parameters_are_refused(kw, key):
    args = {"world": logistic(n_features=2), "features": ("x0",), **kw}
    with pytest.raises(ConfigError, match=rf"Strategic: {key}="):
        Strategic(**args)


def test_only_numeric_features_can_be_gamed():
    with pytest.raises(ConfigError, match="Strategic: features='region'"):
        Strategic(world=credit(), features=("region",))


def _strategic_run(strength: float, seed: int = 0):
    world = Strategic(world=logistic(n_features=3), features=("x0", "x1", "x2"), strength=strength)
    s = Scenario(
        world=world,
        traffic=Constant(rate_per_hour=300.0),
        delay=FixedDelay(hours=1.0),
        horizon_hours=96.0,
        train_rows=3000,
        policy=Periodic(period_hours=24.0, window_hours=24.0, min_rows=100),
    )
    return simulate(s, seed=seed)


def test_strong_gaming_degrades_true_accuracy_more_than_weak_gaming():
    weak, strong = _strategic_run(0.2), _strategic_run(2.0)
    check_run(strong)
    acc_weak = weak.true_metric.sel(metric="accuracy")
    acc_strong = strong.true_metric.sel(metric="accuracy")
    # before the first retraining (deployed at 25 h) a 24-h window holds ~7,200 rows:
    # accuracy SE <= sqrt(0.25 / 7200) = 0.006 each, so 0.06 is over 7 SE of a difference
    assert float(acc_strong.isel(time=23)) < float(acc_weak.isel(time=23)) - 0.06  # 0.58 vs 0.74
    assert float(acc_strong.mean()) < float(acc_weak.mean())
    gamed = [e for e in strong.simlab.events() if e.kind.value == "covariate_shift"]
    assert [e.start for e in gamed] == [0.0, 25.0, 49.0, 73.0]
    xr.testing.assert_identical(strong, _strategic_run(2.0))
