"""The recommender feedback loop (Chaney et al. 2018): homogenisation, utility, exploration.

Statistical claims are tested over independent worlds (trials, seeds 0..n-1) with paired
differences: a claim holds when the mean over trials is more than 3 standard errors
(sample standard deviation / sqrt(trials)) from zero in the stated direction. At these sizes
(40 users, 40 steps) the observed z-scores are 7 to 35 (see the comments), so the tests
are not on a knife edge; a broken loop (no retraining, a leak of the truth, shuffled
pairs) moves them to about 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from simlab.errors import ConfigError
from simlab.feedback import (
    ContentFiltering,
    EpsilonGreedy,
    Ideal,
    MatrixFactorisation,
    Popularity,
    RandomRecommender,
    RandomSlots,
    RecommenderWorld,
    default_recommenders,
    homogenisation_study,
    homogenisation_trial,
    loop_views,
    replay,
    watch_loop,
)
from simlab.feedback.recommender import _gini, _jaccard

WORLD = RecommenderWorld(n_users=40, steps=40, startup_steps=4)
TRIALS = 12


def _z(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean() / (x.std(ddof=1) / np.sqrt(x.size)))


@pytest.fixture(scope="module")
def study():
    recs = default_recommenders()
    recs["mf_epsilon_greedy"] = EpsilonGreedy(recommender=MatrixFactorisation(), epsilon=0.3)
    return homogenisation_study(WORLD, recs, trials=TRIALS, seed=0)


def _final(study, name, training="repeated", var="homogenisation_similar"):
    return study[var].sel(recommender=name, training=training).isel(step=-1).values


@pytest.mark.parametrize("name", ["popularity", "content_filtering", "matrix_factorisation"])
def test_repeated_training_homogenises(study, name):
    # observed z: popularity 35, content filtering 28, matrix factorisation 9
    assert _z(_final(study, name)) > 3


def test_random_does_not_homogenise(study):
    # observed mean -0.05 (z -3): random lists make users *less* alike than their tastes do
    h = _final(study, "random")
    assert h.mean() < 0.02
    assert _z(h) < 3


@pytest.mark.parametrize("name", ["popularity", "content_filtering", "matrix_factorisation"])
def test_repeated_training_homogenises_more_than_once(study, name):
    # observed z of the paired difference: 16 to 22
    diff = _final(study, name) - _final(study, name, training="once")
    assert _z(diff) > 3


def test_exploration_reduces_homogenisation(study):
    # epsilon-greedy (0.3) around matrix factorisation: observed z of the difference 7.6
    diff = _final(study, "matrix_factorisation") - _final(study, "mf_epsilon_greedy")
    assert _z(diff) > 3


@pytest.mark.parametrize("training", ["repeated", "once"])
def test_utility_below_ideal_for_every_other_recommender(study, training):
    post = study.utility_vs_ideal.sel(training=training).isel(step=slice(WORLD.startup_steps, None))
    for name in study.recommender.values:
        per_trial = post.sel(recommender=name).mean("step").values
        if name == "ideal":
            assert np.all(per_trial == 0.0)
        else:  # observed z -12 to -38
            assert _z(per_trial) < -3, name


def test_common_random_numbers_make_start_up_identical():
    cat = WORLD.draw(3)
    runs = [
        replay(WORLD, rec, seed=3, catalogue=cat, label=name)
        for name, rec in default_recommenders().items()
    ]
    s = WORLD.startup_steps
    for r in runs[1:]:
        np.testing.assert_array_equal(r.chosen[:s], runs[0].chosen[:s])
        np.testing.assert_array_equal(r.clicked[:s], runs[0].clicked[:s])
    # after start-up the recommenders differ
    assert not np.array_equal(runs[2].chosen[s:], runs[0].chosen[s:])


def test_trial_is_reproducible_and_depends_on_seed():
    small = RecommenderWorld(n_users=15, steps=12, startup_steps=2)
    a = homogenisation_trial(small, seed=5)
    b = homogenisation_trial(small, seed=5)
    c = homogenisation_trial(small, seed=6)
    assert a.identical(b)
    assert not a.utility.equals(c.utility)


def test_study_does_not_depend_on_workers():
    small = RecommenderWorld(n_users=12, steps=8, startup_steps=2)
    recs = {"mf": MatrixFactorisation(), "pop": Popularity()}
    one = homogenisation_study(small, recs, trials=2, n_jobs=1)
    two = homogenisation_study(small, recs, trials=2, n_jobs=2)
    assert one.identical(two)


def test_users_never_consume_twice_and_only_available_items():
    r = replay(WORLD, ContentFiltering(), seed=1)
    for user in range(WORLD.n_users):
        assert np.unique(r.chosen[:, user]).size == WORLD.steps
    arrival = np.repeat(np.arange(WORLD.steps), WORLD.items_per_step)
    assert np.all(arrival[r.chosen] <= np.arange(WORLD.steps)[:, None])


def test_ideal_consumes_the_best_shown_item_first():
    # with no position discount the ideal user takes the best unconsumed item each step
    world = RecommenderWorld(n_users=5, steps=6, startup_steps=1, attention=0.0)
    cat = world.draw(0)
    r = replay(world, Ideal(), seed=0, catalogue=cat)
    for s in range(1, world.steps):
        avail = cat.utility[:, : (s + 1) * world.items_per_step].copy()
        for past in range(s):
            avail[np.arange(5), r.chosen[past]] = -1
        np.testing.assert_array_equal(r.chosen[s], avail.argmax(axis=1))


def test_clicks_happen_at_the_rate_of_utility():
    # CTR is a Bernoulli mean with p = utility: z-test over 100 users x 100 steps
    r = replay(RecommenderWorld(), Popularity(), seed=0)
    p = r.utility.ravel()
    z = (r.clicked.sum() - p.sum()) / np.sqrt((p * (1 - p)).sum())
    assert abs(z) < 4


def test_jaccard_matches_sets():
    chosen = np.array([[0, 1, 2], [3, 1, 0]])
    pairs = np.array([[1, 0, 0], [2, 2, 1]])
    got = _jaccard(chosen, pairs, 4)
    sets = [set(), set(), set()]
    expect = []
    for s in range(2):
        for u in range(3):
            sets[u].add(int(chosen[s, u]))
        expect.append(
            np.mean(
                [len(sets[u] & sets[p]) / len(sets[u] | sets[p]) for u, p in enumerate(pairs[s])]
            )
        )
    np.testing.assert_allclose(got, expect)


def test_gini_bounds():
    assert _gini(np.ones(10)) == 0.0
    assert _gini(np.r_[np.zeros(9), 1.0]) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: RecommenderWorld(n_users=1), "n_users"),
        (lambda: RecommenderWorld(steps=5, startup_steps=6), "startup_steps"),
        (lambda: RecommenderWorld(attention=-1.0), "attention"),
        (lambda: EpsilonGreedy(recommender=Popularity(), epsilon=1.5), "epsilon"),
        (lambda: RandomSlots(recommender="mf"), "recommender"),
        (lambda: MatrixFactorisation(n_factors=0), "n_factors"),
        (lambda: replay(WORLD, Popularity(), training="twice"), "training"),
        (lambda: homogenisation_trial(WORLD, {"r": RandomRecommender()}, training="x"), "training"),
    ],
)
def test_bad_input_names_the_key(make, key):
    with pytest.raises(ConfigError, match=key):
        make()


def test_loop_views_show_what_was_consumed_and_clicked():
    world = RecommenderWorld(n_users=8, steps=6, startup_steps=2)
    cat = world.draw(0)
    r = replay(world, Popularity(), catalogue=cat)
    views = loop_views(r, cat)
    counts = np.zeros(cat.attributes.shape[0])
    for s, view in enumerate(views):
        item = r.chosen[s]
        np.testing.assert_array_equal(view.columns["a0"], cat.attributes[item, 0])
        np.testing.assert_array_equal(view.columns["age"], s - cat.arrival[item])
        np.testing.assert_array_equal(view.columns["popularity"], np.log1p(counts[item]))
        np.testing.assert_array_equal(view.labels, r.clicked[s])
        np.add.at(counts, item, 1.0)


def test_watch_loop_refuses_an_empty_reference():
    world = RecommenderWorld(n_users=8, steps=6, startup_steps=2)
    cat = world.draw(0)
    from simlab.detectors import PSI

    with pytest.raises(ConfigError, match="reference"):
        watch_loop(
            replay(world, Popularity(), catalogue=cat), cat, {"psi": PSI()}, reference=slice(3, 3)
        )
