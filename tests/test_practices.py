"""Champion and challengers on live traffic: shadow, A/B (sequential test, guard rail), canary.

Statistical claims and how their tolerances were derived:

- the A/B test's false-positive rate with two identical models is at most its level alpha:
  over N = 60 seeds the number of false positives is at most Binomial(60, 0.1); the test
  allows the mean plus 3 standard deviations (6 + 3 * 2.3 = 12.9), and the mixture SPRT
  is conservative (observed: 1 of 60);
- the guard rail keeps the true harm under its budget in every seed (its bound is a
  Hoeffding bound at level 0.05, plus the next tick at worst), and lets a harmless
  challenger run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simlab
from simlab.errors import ConfigError
from simlab.models import ModelAdapter
from simlab.sim import ABTest, Canary, Constant, FixedDelay, Scenario, Shadow, msprt
from simlab.testing.checks import check_run
from simlab.world import logistic, sea

WORLD = logistic(n_features=3, quadratic=(-1.0, 0, 0))  # a curve a linear model misses


def _scenario(*challengers, world=WORLD, **kw):
    settings = {"horizon_hours": 150, **kw}
    return Scenario(
        world=world,
        delay=FixedDelay(hours=1),
        traffic=Constant(rate_per_hour=300),
        challengers=challengers,
        **settings,
    )


def _events(run, *kinds):
    return [e for e in run.simlab.events() if e.kind.value in kinds]


def test_shadow_changes_nothing_but_its_own_variables():
    plain = _scenario()
    shadowed = _scenario(Shadow(model=ModelAdapter(estimator="decision_tree")))
    a, b = simlab.simulate(plain, seed=3), simlab.simulate(shadowed, seed=3)
    check_run(b)
    own = [v for v in b.variables if str(v).startswith("challenger")]
    events = [v for v in b.variables if str(v).startswith("event")]
    for name in a.variables:
        if name not in events:
            assert a[name].identical(b[name]), name
    theirs = [e for e in b.simlab.events() if not e.source.startswith("challenger/")]
    assert [(e.kind, e.start, e.source) for e in theirs] == [
        (e.kind, e.start, e.source) for e in a.simlab.events()
    ]
    assert {a.attrs[k] == b.attrs[k] for k in a.attrs if k != "scenario"} == {True}
    assert float(b.challenger_share.max()) == 0.0
    assert float(b.challenger_harm.max()) == 0.0
    assert len(own) >= 7


def test_shadow_metrics_are_the_challengers():
    # the shadow's true metric is its own model's, scored on every row
    run = simlab.simulate(_scenario(Shadow(model=ModelAdapter(estimator="gradient_boosting"))))
    champ = float(run.true_metric.sel(metric="accuracy").isel(time=slice(24, None)).mean())
    shadow = run.challenger_true_metric.sel(metric="accuracy", challenger="shadow")
    assert float(shadow.isel(time=slice(24, None)).mean()) > champ + 0.02  # observed +0.04
    observed = run.challenger_observed_metric.sel(metric="accuracy", challenger="shadow")
    assert abs(float(observed.isel(time=-1)) - float(shadow.isel(time=-1))) < 0.05
    assert int(run.challenger_score_hist.isel(time=10).sum()) == int(run.n_rows[10])


def test_ab_identical_models_false_positive_rate_at_most_alpha():
    alpha, n = 0.1, 60
    ab = ABTest(share=0.5, alpha=alpha, promote=False, min_samples=100)
    hits = 0
    for seed in range(n):
        run = simlab.simulate(_scenario(ab, horizon_hours=100), seed=seed)
        hits += bool(_events(run, "stop", "promote"))
    assert hits <= n * alpha + 3 * math.sqrt(n * alpha * (1 - alpha))


def test_ab_finds_a_better_challenger():
    ab = ABTest(model=ModelAdapter(estimator="gradient_boosting"), share=0.3, alpha=0.05)
    for seed in range(3):
        run = simlab.simulate(_scenario(ab), seed=seed)
        promoted = _events(run, "promote")
        assert promoted, seed  # observed: within a day
        assert promoted[0].start < 72
        # the promoted model serves from then on: a new version, with the better accuracy
        after = run.sel(time=run.hours > promoted[0].start + 24)
        assert int(after.deployed_version.min()) == 1
        assert float(after.true_metric.sel(metric="accuracy").mean()) > 0.72


def test_guard_rail_stops_a_harmful_challenger_within_budget():
    stump = ModelAdapter(estimator="decision_tree", params={"max_depth": 1})
    budget = 1000.0
    ab = ABTest(model=stump, share=0.3, budget=budget, promote=False, alpha=1e-300)
    for seed in range(3):
        run = simlab.simulate(_scenario(ab), seed=seed)
        stops = _events(run, "stop")
        assert stops, seed
        assert "guard" in stops[0].detail["reason"]
        assert stops[0].start > 3  # it took evidence, not the first ticks worst case (10-39 h)
        harm = float(run.challenger_harm.sel(challenger="ab_test").isel(time=-1))
        assert 0 < harm <= budget, (seed, harm)
        # after the stop the challenger decides nothing
        later = run.challenger_share.sel(challenger="ab_test", time=run.hours > stops[0].start)
        assert float(later.max()) == 0.0
    # the same budget lets a harmless challenger run the whole test
    same = ABTest(share=0.3, budget=budget, promote=False, alpha=1e-300)
    assert not _events(simlab.simulate(_scenario(same), seed=0), "stop")


def test_canary_promoted_when_good_rolled_back_when_bad():
    good = Canary(model=ModelAdapter(estimator="gradient_boosting"), budget=1000.0)
    run = simlab.simulate(_scenario(good), seed=0)
    assert [e.start for e in _events(run, "promote")] == [72.0]  # three stages of 24 h
    assert not _events(run, "rollback")
    shares = run.challenger_share.sel(challenger="canary").values
    assert shares[0] == 0.05
    assert shares[30] == 0.25
    assert shares[60] == 0.5
    bad = Canary(model=ModelAdapter(estimator="decision_tree", params={"max_depth": 1}))
    run = simlab.simulate(_scenario(bad), seed=0)
    back = _events(run, "rollback")
    assert back
    assert not _events(run, "promote")
    assert float(run.challenger_harm.isel(time=-1, challenger=0)) <= bad.budget


def test_challenger_starting_later_trains_on_recent_labels():
    shadow = Shadow(start_hours=48.0, window_hours=24.0)
    run = simlab.simulate(_scenario(shadow), seed=0)
    trained = [e for e in run.simlab.events() if e.source == "challenger/shadow"]
    assert [(e.kind.value, e.start, e.end) for e in trained] == [("train", 24.0, 48.0)]
    early = run.challenger_true_metric.sel(metric="accuracy", challenger="shadow")
    assert np.isnan(early.isel(time=10))
    assert not np.isnan(early.isel(time=80))


def test_shadow_then_promote_replaces_a_drifted_champion():
    # the concept rotates at hour 150; weekly candidates trained on recent labels are shadowed
    # and the first that the test finds better is promoted
    from simlab.world import ConceptShift, Sudden

    world = logistic(n_features=3, shifts=(ConceptShift(rotate=90, schedule=Sudden(start=150.0)),))
    shadow = Shadow(promote=True, every_hours=96, start_hours=96, window_hours=96)
    run = simlab.simulate(_scenario(shadow, world=world, horizon_hours=500), seed=0)
    promoted = _events(run, "promote")
    assert promoted
    assert promoted[0].start > 150  # not before the champion fell behind
    late = run.true_metric.sel(metric="accuracy").isel(time=slice(-48, None)).mean()
    stale = simlab.simulate(_scenario(world=world, horizon_hours=500), seed=0)
    assert float(late) > float(stale.true_metric.sel(metric="accuracy")[-48:].mean()) + 0.1
    # without promote=True the shadow only watches
    watch = Shadow(every_hours=96, start_hours=96, window_hours=96)
    assert not _events(simlab.simulate(_scenario(watch, world=world, horizon_hours=500)), "promote")


def test_msprt_is_zero_evidence_at_no_difference_and_grows_with_it():
    assert msprt(0.3, 0, 0.3, 100, tau=0.05) == -math.inf
    assert msprt(0.3, 1000, 0.3, 1000, tau=0.05) < 0
    small = msprt(0.30, 2000, 0.32, 2000, tau=0.05)
    large = msprt(0.30, 2000, 0.36, 2000, tau=0.05)
    assert large > small


def test_scenario_round_trip_and_bad_input():
    s = _scenario(ABTest(share=0.2, budget=50.0), Canary(label="c2"))
    assert Scenario.from_json(s.to_json()) == s
    assert "challengers" not in Scenario(world=sea()).to_dict()  # old specs unchanged
    with pytest.raises(ConfigError, match="share"):
        ABTest(share=1.5)
    with pytest.raises(ConfigError, match="signal"):
        ABTest(signal="clicks")
    with pytest.raises(ConfigError, match="shares"):
        Canary(shares=(0.5, 0.1))
    with pytest.raises(ConfigError, match="labels"):
        _scenario(Shadow(), Shadow())
    with pytest.raises(ConfigError, match="challengers"):
        _scenario("shadow")


def test_candidates_that_could_never_see_a_label_are_refused():
    with pytest.raises(ConfigError, match="window_hours"):
        _scenario(Shadow(start_hours=48.0, window_hours=1.0))  # labels arrive after 1 h
    with pytest.raises(ConfigError, match="every_hours"):
        _scenario(Shadow(promote=True, every_hours=1.0, start_hours=48.0))


def test_comparisons_need_a_binary_task():
    from simlab.feedback import PerformativeGaussian
    from simlab.world import Proxy

    regression = PerformativeGaussian()
    with pytest.raises(ConfigError, match="binary"):
        _scenario(ABTest(model=ModelAdapter(estimator="linear_regression")), world=regression)
    ok = _scenario(
        Shadow(model=ModelAdapter(estimator="linear_regression")),
        world=regression,
        model=ModelAdapter(estimator="linear_regression"),
        horizon_hours=24,
    )
    run = simlab.simulate(ok, seed=0)
    assert "challenger_true_metric" in run.data_vars
    with pytest.raises(ConfigError, match="binary"):
        Proxy(world=regression)


def test_ab_on_proxies_decides_before_the_labels_arrive():
    # labels two weeks late, a proxy at once: the test on both signals decides within days
    from simlab.world import Proxy

    world = Proxy(world=WORLD, given_positive=0.7, given_negative=0.1)
    ab = ABTest(model=ModelAdapter(estimator="gradient_boosting"), share=0.3, signal="both")
    run = simlab.simulate(
        _scenario(ab, world=world, horizon_hours=200).replace(delay=FixedDelay(hours=336)),
        seed=0,
    )
    promoted = _events(run, "promote")
    assert promoted
    assert promoted[0].start < 336  # before any label arrived
    assert promoted[0].detail["signal"] == "proxy"
    labels_only = ABTest(model=ModelAdapter(estimator="gradient_boosting"), share=0.3)
    late = simlab.simulate(
        _scenario(labels_only, world=world, horizon_hours=200).replace(delay=FixedDelay(hours=336)),
        seed=0,
    )
    assert not _events(late, "promote")  # no label arrives within 200 hours


def test_challenger_served_the_champions_matrix_only_when_it_is_its_own(monkeypatch):
    # A challenger whose pipeline lays out the same matrix is served the champion's, which
    # must be exactly what its own serving makes: fills that differ are used only for
    # non-finite values, so then it serves itself.
    from simlab.models.adapter import Deployed
    from simlab.sim.practices import Challengers

    world = logistic(n_features=3)
    champ = ModelAdapter().train(world.sample(2000, 0.0, rng=0), version=0, rng=0)
    other = ModelAdapter().train(world.sample(2000, 0.0, rng=1), version=0, rng=0)
    assert champ.serving_pipeline_.differing_fills(other.serving_pipeline_) == ("x0", "x1", "x2")
    ch = Challengers([Shadow()], task="binary", n_ticks=1, tick_hours=1.0, n_bins=10)
    ch.models[0] = other
    for missing in (False, True):
        cols = dict(world.sample(500, 1.0, rng=2).columns)
        if missing:
            cols["x1"] = np.where(np.arange(500) % 3 == 0, np.nan, cols["x1"])
        served = champ.serve(cols)
        expected = other.serve(cols).scores
        calls = []

        def counted(self, *a, calls=calls, serve=Deployed.serve, **k):
            calls.append(1)
            return serve(self, *a, **k)

        monkeypatch.setattr(Deployed, "serve", counted)
        got = ch._serve(0, cols, 500, served, champ)
        monkeypatch.undo()
        np.testing.assert_array_equal(got, expected)
        assert len(calls) == int(missing)  # the champion's matrix, unless a differing fill is used
        same = np.array_equal(served.features, other.serving_pipeline_.transform(cols))
        assert same != missing
