"""Regression tests for bugs found in review: each fails on the code before its fix."""

from __future__ import annotations

import numpy as np
import pytest

from simlab import ConfigError, SchemaError, UnknownNameError, build
from simlab.detectors import KS, View, WindowedMetric
from simlab.scenarios import loads
from simlab.sim import Scenario
from simlab.world import (
    AnticausalWorld,
    Categorical,
    CausalWorld,
    ConceptShift,
    CovariateShift,
    Gaussian,
    Incremental,
    Logistic,
    Recurring,
    Sudden,
    Uniform,
    credit,
    logistic,
)


def test_a_correlation_shift_needs_a_pair_in_one_gaussian_block():
    with pytest.raises(ConfigError, match=r"corr=0\.8 .*a correlation needs a pair"):
        credit(
            shifts=(
                CovariateShift(
                    features=("income", "debt_ratio"), corr=0.8, schedule=Sudden(start=1.0)
                ),
            )
        )
    with pytest.raises(ConfigError, match=r"corr=0\.9"):
        logistic(
            n_features=3,
            shifts=(CovariateShift(features=("x0",), corr=0.9, schedule=Sudden(start=1.0)),),
        )
    # a real pair works and moves the correlation
    w = logistic(
        n_features=3,
        shifts=(CovariateShift(features=("x0", "x1"), corr=0.9, schedule=Sudden(start=1.0)),),
    )
    b = w.sample(20000, 2.0, rng=0)
    assert np.corrcoef(b.columns["x0"], b.columns["x1"])[0, 1] > 0.85


def test_duplicate_shift_features_are_refused():
    with pytest.raises(ConfigError, match="distinct feature names"):
        CovariateShift(features=("x0", "x0"), mean=(1.0, 3.0), schedule=Sudden(start=1.0))


@pytest.mark.parametrize("period", [10.0, 12.0, 24.0, 168.0])
@pytest.mark.parametrize("duty", [0.1, 0.3, 0.7])
@pytest.mark.parametrize("start", [0.0, 5.0, 13.0])
def test_recurring_weight_agrees_with_its_episodes_on_every_tick(period, duty, start):
    r = Recurring(start=start, period=period, duty=duty, n_cycles=20)
    t = np.arange(0.0, start + 21 * period, 1.0)
    inside = np.zeros(t.size, bool)
    for s, e in r.episodes(float(t[-1])):
        inside |= (t >= s) & (t < e)
    np.testing.assert_array_equal(r.weight(t) == 1.0, inside)


def test_incremental_rotation_interpolates_a_scalar_coefficient():
    w = CausalWorld(
        covariates=(Gaussian(features=("a", "b")),),
        concept=Logistic(features=("a", "b"), coef=1.0),
        shifts=(ConceptShift(rotate=90, schedule=Incremental(start=10.0, width=10.0)),),
    )
    assert len(w.concept_at(15.0)) == 1  # one interpolated concept, not a two-way mixture


def test_anticausal_classes_must_share_kinds_and_categories():
    with pytest.raises(ConfigError, match="names, kinds and categories"):
        AnticausalWorld(
            prior=0.5,
            negative=(Gaussian(features=("a",)),),
            positive=(Categorical(feature="a", categories=("u", "v")),),
        )
    with pytest.raises(ConfigError, match="names, kinds and categories"):
        AnticausalWorld(
            prior=0.5,
            negative=(Categorical(feature="a", categories=("u", "v")),),
            positive=(Categorical(feature="a", categories=("u", "w")),),
        )


def test_windowed_metric_refuses_labels_and_scores_that_make_no_sense():
    ref = View(labels=np.array([0, 1] * 100), label_scores=np.array([0.2, 0.8] * 100))
    det = WindowedMetric(metric="log_loss", min_samples=1).fit(ref)
    with pytest.raises(SchemaError, match=r"labels \[2.0\] are not 0 or 1"):
        det.update(View(labels=np.array([2]), label_scores=np.array([0.9])))
    with pytest.raises(SchemaError, match="not probabilities"):
        det.update(View(labels=np.array([1]), label_scores=np.array([7.0])))
    # NaN rows are still skipped, not refused
    det.update(View(labels=np.array([np.nan]), label_scores=np.array([0.5])))


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: Gaussian(features=("a",), mean="x"), "mean"),
        (lambda: Gaussian(features=("a", "b"), corr="x"), "corr"),
        (lambda: Uniform(features=("a",), high="x"), "high"),
        (lambda: Categorical(feature="c", categories=("u", "v"), p=[0.5, "x"]), "p"),
        (lambda: Logistic(features=("a",), coef="x"), "coef"),
        (lambda: CovariateShift(features=("a",), mean="x", schedule=Sudden(start=1.0)), "mean"),
    ],
)
def test_non_numbers_get_a_named_error(make, key):
    with pytest.raises(ConfigError, match=key):
        make()


def test_malformed_specs_get_named_errors():
    with pytest.raises(UnknownNameError):
        build({"kind": ["psi"]})
    with pytest.raises(ConfigError, match="extends"):
        loads('extends = ["no_change"]')
    with pytest.raises(ConfigError, match="monitors='psi'"):
        Scenario.from_dict({"world": {"kind": "sea"}, "monitors": "psi"})
    with pytest.raises(SchemaError, match="expected 1-D"):
        View(scores=np.zeros((3, 2)))


def test_a_failed_refit_leaves_the_detector_unfitted():
    det = KS().fit(View(columns={"a": np.arange(100.0), "b": np.arange(100.0)}))
    with pytest.raises(ConfigError):
        det.fit(View(columns={"a": np.arange(100.0), "b": np.full(100, np.nan)}))
    assert not det.is_fitted
