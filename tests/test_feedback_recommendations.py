"""The recommender as an engine world: TopK slates, position-discounted clicks, selective labels."""

from __future__ import annotations

import numpy as np
import pytest

import simlab
from simlab.decisions import Threshold, TopK
from simlab.detectors import LabelRate, ScorePSI
from simlab.errors import ConfigError
from simlab.feedback import Recommendations
from simlab.models import ModelAdapter
from simlab.rng import Rngs
from simlab.sim import Constant, FixedDelay, Periodic, Scenario
from simlab.testing.checks import check_run, check_world

WORLD = Recommendations(n_users=50, n_items=400, start_items=200, candidates=10)
FEATURES = (*[f"u{j}" for j in range(5)], *[f"i{j}" for j in range(5)])  # unscaled age aside


def test_conformance():
    check_world(WORLD)


def test_visits_share_a_user_and_items_arrive_over_time():
    b = WORLD.sample(95, 0.0, Rngs(0))
    users = b.columns["user"]
    for v in range(9):  # nine full visits of ten candidates, then a cut-short one
        assert np.unique(users[10 * v : 10 * v + 10]).size == 1
    assert WORLD.available(0.0) == 200
    assert WORLD.available(10.0) == 220  # two new items an hour
    assert (b.columns["item_age"] >= 0).all()


def test_outcome_rate_is_the_true_utility():
    # y ~ Bernoulli(proba): z-test over 200,000 rows
    b = WORLD.sample(200_000, 5.0, Rngs(1))
    p = WORLD.proba(b.columns, 5.0)
    z = (b.y.sum() - p.sum()) / np.sqrt((p * (1 - p)).sum())
    assert abs(z) < 4


def test_clicks_fall_with_rank_and_only_shown_rows_are_labelled():
    # P(click | shown at rank r) = P(click at top) * (r + 1) ** -attention; compare each
    # rank's click rate with its expectation, z-tests over 300,000 rows
    b = WORLD.sample(300_000, 5.0, Rngs(2))
    d = TopK(k=3, group="user").decide(np.random.default_rng(2).random(b.n), b.columns)
    r = WORLD.respond(b, d, Rngs(2))
    np.testing.assert_array_equal(r.labelled, d.action == 1)
    p = WORLD.proba(b.columns, 5.0)
    for rank in range(3):
        rows = d.rank == rank
        expect = p[rows] * (rank + 1.0) ** -WORLD.attention
        z = (r.y[rows].sum() - expect.sum()) / np.sqrt((expect * (1 - expect)).sum())
        assert abs(z) < 4, rank
    unshown = d.action == 0
    np.testing.assert_array_equal(r.y[unshown], b.y[unshown])  # counterfactual: at the top


def _scenario(**kw):
    return Scenario(
        world=WORLD,
        decision=TopK(k=3, group="user"),
        model=ModelAdapter(features=FEATURES),
        delay=FixedDelay(hours=1),
        policy=Periodic(period_hours=24),
        traffic=Constant(rate_per_hour=200),
        horizon_hours=72,
        monitors=(ScorePSI(), LabelRate(window_size=500)),
        **kw,
    )


def test_simulate_runs_the_loop_reproducibly():
    a = simlab.simulate(_scenario(), seed=0)
    check_run(a)
    b = simlab.simulate(_scenario(), seed=0)
    assert a.identical(b)
    # three items per distinct user in a tick (two visits by one user share one slate): 20
    # visits among 50 users make 50 * (1 - 0.98 ** 20) = 16.6 distinct users, so 50 of 200
    expected = 3 * 50 * (1 - (1 - 1 / 50) ** 20) / 200
    assert float(a.acted_share.mean()) == pytest.approx(expected, abs=0.01)
    # labels (click or not) arrive for shown rows only, an hour after serving
    shown, arrived = int(a.n_acted.sum()), int(a.n_labels.sum())
    assert shown - int(a.n_acted[-1]) <= arrived <= shown


def test_bad_input_names_the_key():
    with pytest.raises(ConfigError, match="start_items"):
        Recommendations(start_items=5, candidates=10)
    with pytest.raises(ConfigError, match="attention"):
        Recommendations(attention=-1.0)
    b = WORLD.sample(10, 0.0, Rngs(0))
    with pytest.raises(ConfigError, match="decision"):
        WORLD.respond(b, Threshold().decide(np.zeros(3)), Rngs(0))
