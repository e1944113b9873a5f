"""Runaway allocation: the Pólya urn of predictive policing, and the patrols world in the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from simlab.decisions import Explore, TopShare
from simlab.errors import ConfigError
from simlab.feedback.allocation import patrols, runaway_urn
from simlab.feedback.selective_labels import SelectiveLabels
from simlab.rng import Rngs
from simlab.sim import Constant, FixedDelay, Periodic, Scenario, simulate
from simlab.testing.checks import check_run, check_world
from simlab.world import ConceptShift, Rules, Sudden
from simlab.world.base import respond, twin

# --------------------------------------------------------------------------- the urn


def _final(ds, region=0):
    return ds.share.isel(step=-1, region=region).values


def test_the_urn_runs_away_to_the_region_with_the_higher_rate():
    ds = runaway_urn(rates=(0.5, 0.25), steps=2000, trials=400, seed=0)
    true = float(ds.true_share.sel(region=0))
    final = _final(ds)
    # trials are independent: the standard error of the mean final share is sd / sqrt(400)
    se = final.std(ddof=1) / math.sqrt(final.size)
    assert true == pytest.approx(2 / 3)
    assert final.mean() > true + 20 * se  # observed: 0.94 against 0.67, about 60 SE
    # and it is still running away: each trial's share grew between steps 200 and 2000 on
    # average (paired differences, their own SE)
    grew = final - ds.share.isel(step=200, region=0).values
    assert grew.mean() > 5 * grew.std(ddof=1) / math.sqrt(grew.size)


def test_reports_independent_of_allocation_slow_the_runaway_but_do_not_stop_it():
    kw = {"rates": (0.5, 0.25), "steps": 2000, "trials": 400, "seed": 0}
    alone = _final(runaway_urn(**kw))
    reported = _final(runaway_urn(**kw, reported_rate=0.5))
    se = math.hypot(alone.std(ddof=1), reported.std(ddof=1)) / math.sqrt(alone.size)
    assert reported.mean() < alone.mean() - 5 * se  # observed 0.78 against 0.94
    se_r = reported.std(ddof=1) / math.sqrt(reported.size)
    assert reported.mean() > 2 / 3 + 5 * se_r


def test_with_equal_rates_the_final_share_is_uniform():
    # Pólya's urn from one ball each: after K additions region 0 holds 1 + k balls, k
    # uniform on 0..K, so its share is uniform on a grid of step 1 / (K + 2) (K ~ 500 here)
    ds = runaway_urn(rates=(0.5, 0.5), steps=1000, trials=2000, seed=0)
    final = _final(ds)
    assert stats.kstest(final, "uniform").pvalue > 0.001  # observed p = 0.19
    # Uniform(0, 1): mean 1/2 with SE sqrt(1/12 / n); variance 1/12, and the squared
    # deviations have variance 1/80 - 1/144 = 1/180, so the sample variance has SE
    # sqrt(1/180 / n); both within 4 SE (the grid's own bias, 1/6 (K + 2)^-1, is 0.1 SE)
    n = final.size
    assert final.mean() == pytest.approx(0.5, abs=4 * math.sqrt(1 / 12 / n))
    assert final.var() == pytest.approx(1 / 12, abs=4 * math.sqrt(1 / 180 / n))


def test_the_correction_converges_to_the_true_share():
    ds = runaway_urn(rates=(0.5, 0.25), steps=4000, trials=400, correction=True, seed=0)
    final = _final(ds)
    # each accepted ball joins region 0 with probability 2/3 whatever the allocation, so
    # given K accepted balls the share is (1 + Binomial(K, 2/3)) / (2 + K): mean within
    # 4 SE of 2/3 (its start bias, 1 / 3 (K + 2) with K ~ 1000, is under half an SE)
    se = final.std(ddof=1) / math.sqrt(final.size)
    assert final.mean() == pytest.approx(2 / 3, abs=4 * se)  # observed 0.6674, SE 0.0007
    # the spread shrinks like 1 / sqrt(K): sd at the end against sqrt(p (1 - p) / K),
    # within 20% (a sd from 400 trials has a relative SE of 1 / sqrt(800) = 3.5%)
    k = float(ds.accepted.sum(("step", "region")).mean())
    assert final.std(ddof=1) == pytest.approx(math.sqrt(2 / 9 / k), rel=0.2)
    early = ds.share.isel(step=400, region=0).values
    assert final.std(ddof=1) < 0.5 * early.std(ddof=1)  # observed 0.014 against 0.045


def test_the_urns_bookkeeping_adds_up():
    ds = runaway_urn(rates=(0.9, 0.5, 0.2), steps=300, trials=50, reported_rate=0.3, seed=1)
    assert dict(ds.sizes) == {"trial": 50, "step": 301, "region": 3}
    added = ds.counts.diff("step")
    xr.testing.assert_equal(
        added, (ds.accepted + ds.reports).isel(step=slice(1, None)).astype(float)
    )
    # one resource per step and trial: at most one discovery, and all of them counted
    assert int(ds.discoveries.sum("region").max()) == 1
    xr.testing.assert_equal(ds.accepted, ds.discoveries)
    np.testing.assert_allclose(ds.share.sum("region"), 1.0)
    np.testing.assert_allclose(ds.true_share, np.array([0.9, 0.5, 0.2]) / 1.6)
    for name, v in ds.data_vars.items():
        assert {"long_name", "units"} <= set(v.attrs), name
    assert all(isinstance(v, (str, int, float)) for v in ds.attrs.values())
    fixed = runaway_urn(rates=(0.9, 0.2), steps=300, trials=50, correction=True, seed=1)
    assert bool((fixed.accepted <= fixed.discoveries).all())
    assert int(fixed.accepted.sum()) < int(fixed.discoveries.sum())


def test_the_urn_is_reproducible_from_its_seed():
    kw = {"rates": (0.3, 0.2, 0.1), "steps": 200, "trials": 20, "reported_rate": 0.2}
    xr.testing.assert_identical(runaway_urn(**kw, seed=5), runaway_urn(**kw, seed=5))
    assert not runaway_urn(**kw, seed=5).counts.equals(runaway_urn(**kw, seed=6).counts)


@pytest.mark.parametrize(
    ("kw", "key", "value"),
    [
        ({"rates": (0.0, 0.5)}, "rates[0]", 0.0),
        ({"rates": (0.5, 1.5)}, "rates[1]", 1.5),
        ({"rates": ()}, "rates", ()),
        ({"rates": "ab"}, "rates", "ab"),
        ({"steps": 0}, "steps", 0),
        ({"trials": 0}, "trials", 0),
        ({"start": (1.0,)}, "start", (1.0,)),
        ({"start": (-1.0, 2.0)}, "start[0]", -1.0),
        ({"start": (0.0, 0.0)}, "start", (0.0, 0.0)),
        ({"start": (0.0, 1.0), "correction": True}, "start[0]", 0.0),
        ({"reported_rate": 1.5}, "reported_rate", 1.5),
        ({"correction": "yes"}, "correction", "yes"),
        ({"seed": -1}, "seed", -1),
    ],
)
def test_bad_urn_inputs_name_key_value_and_what_is_allowed(kw, key, value):
    args = {"rates": (0.5, 0.25), "steps": 10, **kw}
    with pytest.raises(ConfigError) as info:
        runaway_urn(**args)
    err = info.value
    assert (err.key, err.value, err.owner) == (key, value, "runaway_urn")
    assert err.allowed
    assert f"{key}={value!r}" in str(err)


# --------------------------------------------------------------------------- the patrols world


def test_patrols_is_a_conforming_world():
    check_world(patrols())
    check_world(patrols(rates=(0.5, 0.1), p=(0.7, 0.3)))
    w = patrols(rates=(0.5, 0.1))
    assert isinstance(w, SelectiveLabels)
    assert w.schema.names == ("region", "hour")
    assert twin(w) == w  # nothing injected: the selective labelling is what the world is


def test_patrols_record_incidents_only_where_patrols_went():
    w = patrols(rates=(0.6, 0.05))
    b = w.sample(1000, 0.0, rng=0)
    scores = np.where(b.columns["region"] == "r0", 0.6, 0.05)
    r = respond(w, b, TopShare(share=0.2).decide(scores), Rngs(0))
    assert set(b.columns["region"][r.labelled]) == {"r0"}
    assert int(r.labelled.sum()) == 200


def test_bad_patrol_rates_are_refused():
    with pytest.raises(ConfigError, match=r"patrols: rates\[1\]=0\.0"):
        patrols(rates=(0.3, 0.0))


def _patrol_scenario(world, rule, horizon_hours=96.0):
    return Scenario(
        world=world,
        decision=rule,
        traffic=Constant(rate_per_hour=400.0),
        delay=FixedDelay(hours=1.0),
        horizon_hours=horizon_hours,
        train_rows=2000,
        policy=Periodic(period_hours=24.0, window_hours=24.0, min_rows=100),
    )


def test_patrols_run_in_the_engine_reproducibly_and_label_only_the_patrolled_region():
    s = _patrol_scenario(patrols(), TopShare(share=0.25))
    run = simulate(s, seed=0)
    check_run(run)
    xr.testing.assert_identical(run, simulate(s, seed=0))
    assert not run.n_labels.equals(simulate(s, seed=1).n_labels)
    assert int(run.deployed_version.max()) >= 2  # retrained on its own patrols' records
    # until the first retraining (deployed at 25 h) the model, trained on the full history,
    # patrols the top quarter: region r0 (a quarter of the rows; rate 0.3), and predicts
    # "no incident" everywhere (every rate < 0.5). Labels then come from r0 alone: observed
    # accuracy 1 - 0.3 over ~2,300 labels (SE 0.01), true accuracy 1 - mean(rates) =
    # 0.8125 over ~9,600 rows (SE 0.004); 4 SE each
    acc = run.sel(metric="accuracy").isel(time=24)
    assert float(acc.observed_metric) == pytest.approx(0.7, abs=0.04)
    assert float(acc.true_metric) == pytest.approx(0.8125, abs=0.016)


def test_a_change_where_patrols_rarely_go_is_learned_only_with_exploration():
    # r3's incidents jump from 0.1 to 0.9 at hour 30. Patrolling only its top quarter, the
    # model retrains on the regions it visits, and ends up overstating its accuracy badly;
    # exploring a fifth of the rows keeps every region in its training data
    rates = (0.3, 0.2, 0.15, 0.9)
    after = Rules(
        rules=tuple({"p": p, "region": [f"r{i}"]} for i, p in enumerate(rates)), default=0.0
    )
    world = patrols(shifts=(ConceptShift(after=after, schedule=Sudden(start=30.0)),))
    greedy = simulate(_patrol_scenario(world, TopShare(share=0.25), 120.0), seed=0)
    explore = Explore(rule=TopShare(share=0.25), epsilon=0.2, p_random=0.5)
    exploring = simulate(_patrol_scenario(world, explore, 120.0), seed=0)
    end_g = greedy.sel(metric="accuracy").isel(time=-1)
    end_e = exploring.sel(metric="accuracy").isel(time=-1)
    # a 24-h window: ~9,600 rows for the true metric (SE <= 0.005) and ~2,400 labels for
    # the observed one (SE <= 0.01); the margins are over 10 SE
    assert float(end_g.observed_metric) > float(end_g.true_metric) + 0.15  # 0.89 vs 0.61
    assert float(end_e.true_metric) > float(end_g.true_metric) + 0.1  # 0.82 vs 0.61
