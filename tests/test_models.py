"""Deployed models: pipelines, training, offline evaluation, and the shared scoring maths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import log_loss, roc_auc_score

from simlab import ConfigError, NotFittedError
from simlab.models import FeaturePipeline, ModelAdapter
from simlab.registry import build
from simlab.scoring import N_AUC_BINS, auc_from_hist, binary_sums, metrics_from_sums
from simlab.sim import Scenario, Shadow
from simlab.world import credit, friedman, logistic


def test_binary_sums_match_sklearn_and_both_paths_agree():
    g = np.random.default_rng(0)
    y = g.integers(0, 2, 5000)
    s = np.clip(0.5 * y + 0.5 * g.random(5000), 0, 1)
    sums, hist = binary_sums(y, s)
    acc, ll, auc = metrics_from_sums("binary", sums, hist)
    assert acc == pytest.approx(np.mean((s >= 0.5) == y))
    assert ll == pytest.approx(log_loss(y, s), rel=1e-9)
    # binned AUC: ties within a bin count 1/2, so the error is at most the share of
    # positive-negative pairs that share a bin (~1/N_AUC_BINS for spread scores)
    assert auc == pytest.approx(roc_auc_score(y, s), abs=2.0 / N_AUC_BINS)
    # the general path (taken when a NaN is present) gives the same sums on the other rows
    sums2, hist2 = binary_sums(np.append(y, 0), np.append(s, np.nan))
    np.testing.assert_array_equal(hist, hist2)
    assert sums2[0] == sums[0] + 1
    assert sums2[1] == sums[1]
    assert sums2[2] == pytest.approx(sums[2] - np.log(1e-15))


def test_auc_of_an_empty_class_is_nan():
    assert np.isnan(auc_from_hist(np.array([[0, 0], [1, 2]])))


def test_pipeline_imputes_and_encodes_without_crashing():
    p = FeaturePipeline(impute="median").fit(
        {"a": np.array([1.0, 2.0, 10.0]), "c": np.array(["u", "v", "u"])}
    )
    x = p.transform({"a": np.array([np.nan, np.inf, 3.0]), "c": np.array(["w", "v", "u"])})
    np.testing.assert_array_equal(x, [[2.0, 0, 0], [2.0, 0, 1], [3.0, 1, 0]])
    with pytest.raises(NotFittedError):
        FeaturePipeline().transform({"a": np.zeros(1)})
    with pytest.raises(ConfigError, match="impute='mode'"):
        FeaturePipeline(impute="mode")


def test_training_is_a_fresh_clone_every_time():
    batch = logistic(n_features=3).sample(3000, 0.0, rng=0)
    est = RandomForestClassifier(n_estimators=5, random_state=0)
    adapter = ModelAdapter(estimator=est)
    a = adapter.train(batch, version=0, rng=0)
    b = adapter.train(batch, version=1, rng=0)
    assert a.estimator_ is not b.estimator_
    assert a.estimator_ is not est
    assert not hasattr(est, "estimators_")  # the user's estimator is never fitted
    assert a.version == 0
    assert b.version == 1


def test_offline_reports_both_splits_and_reference_is_the_holdout():
    batch = credit().sample(4000, 0.0, rng=0)
    m = ModelAdapter(estimator="gradient_boosting", params={"max_iter": 20}).train(
        batch, version=0, rng=1
    )
    assert set(m.offline) == {"random", "time"}
    assert m.reference.n == 800  # holdout 0.2 of 4,000, the last rows in time
    np.testing.assert_array_equal(m.reference.labels, batch.y[-800:])
    assert 0.5 < m.offline["random"][0] <= 1.0


def test_model_errors():
    with pytest.raises(ConfigError, match="Did you mean 'random_forest'"):
        ModelAdapter(estimator="random_forrest")
    with pytest.raises(ConfigError, match=r"holdout=1\.5"):
        ModelAdapter(holdout=1.5)
    with pytest.raises(ConfigError, match="predict_proba"):
        ModelAdapter(estimator="linear_svc").check_task("binary")
    # a classifier on a regression world is refused before the run, not by scikit-learn in it
    with pytest.raises(ConfigError, match=r"estimator='logistic_regression'.*a regressor"):
        Scenario(world=friedman(), horizon_hours=5)
    with pytest.raises(ConfigError, match=r"challengers\[0\]\.model\.estimator=.*a regressor"):
        Scenario(
            world=friedman(),
            model=ModelAdapter(estimator="ridge"),
            horizon_hours=5,
            challengers=(Shadow(),),
        )
    # an estimator object travels as its class and parameters, and comes back from JSON
    spec = ModelAdapter(estimator=RandomForestClassifier(n_estimators=7)).to_dict()
    assert spec["estimator"]["class"].endswith("RandomForestClassifier")
    assert build(spec)._prototype.get_params()["n_estimators"] == 7


def test_training_needs_both_classes():
    batch = logistic(n_features=2).sample(500, 0.0, rng=0)
    one = batch.replace(y=np.zeros(500, dtype=np.int8))
    with pytest.raises(ConfigError, match="both classes 0 and 1"):
        ModelAdapter().train(one, version=0, task="binary")


def test_model_features_reach_custom_pipelines():
    batch = logistic(n_features=3).sample(2000, 0.0, rng=0)
    m = ModelAdapter(
        features=("x0", "x1"),
        training=FeaturePipeline(impute="median"),
        serving=FeaturePipeline(impute="zero"),
    ).train(batch, version=0)
    assert m.training_pipeline_.features_ == ("x0", "x1")
    assert m.serving_pipeline_.features_ == ("x0", "x1")
    assert m.scores(batch.columns).shape == (2000,)
    with pytest.raises(ConfigError, match=r"training\.features"):
        ModelAdapter(features=("x0",), training=FeaturePipeline(features=("x1",)))


def test_unknown_estimator_parameter_is_named():
    with pytest.raises(ConfigError, match=r"Cx=1\.0 .*did you mean 'C'"):
        ModelAdapter(estimator="logistic_regression", params={"Cx": 1.0})


def test_pipeline_names_a_missing_column_when_it_fails():
    p = FeaturePipeline(on_missing="fail").fit({"a": np.zeros(3), "b": np.zeros(3)})
    with pytest.raises(ConfigError, match="columns='a'"):
        p.transform({"b": np.zeros(3)})


def test_pipeline_falls_back_on_missing_and_unusable_columns():
    cols = {"a": np.array([1.0, 3.0]), "c": np.array(["u", "v"])}
    p = FeaturePipeline().fit(cols)
    assert p.names_out_ == ("a", "c=u", "c=v")
    assert p.unusable({"c": np.array(["u"])}) == ["a"]
    # a missing numeric column serves its fill (the training mean), a categorical one "unseen"
    assert p.transform({"c": np.array(["v"])}).tolist() == [[2.0, 0.0, 1.0]]
    assert p.transform({"a": np.array(["x"])}, n=1).tolist() == [[2.0, 0.0, 0.0]]
    assert p.transform({}, n=2).shape == (2, 3)


def test_linear_scores_are_scikit_learns_to_the_bit():
    # the fast path skips scikit-learn's checks, never its arithmetic: on matrices it was not
    # probed on (wide ranges, saturating scores, one row, a strided copy) the scores are equal
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    from simlab.models.adapter import LinearScores

    world = logistic(n_features=4)
    m = ModelAdapter().train(world.sample(3000, 0.0, rng=0), version=0, rng=0)
    assert isinstance(m.fast_, LinearScores)
    rng = np.random.default_rng(1)
    for x in (
        rng.normal(size=(1000, 4)),
        rng.normal(scale=1e3, size=(500, 4)),  # scores at 0 and 1
        rng.normal(size=(1, 4)),
        np.asfortranarray(rng.normal(size=(300, 4))),
    ):
        assert np.array_equal(m.predict(x), m.estimator_.predict_proba(x)[:, 1])
    # only an exact LogisticRegression on a binary task, and only if the probe agrees
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] > 0).astype(int)
    assert LinearScores.probe(DecisionTreeClassifier().fit(x, y), "binary", x) is None

    class Tilted(LogisticRegression):
        def predict_proba(self, X):
            return super().predict_proba(X) ** 2

    assert LinearScores.probe(Tilted().fit(x, y), "binary", x) is None
    assert LinearScores.probe(LogisticRegression().fit(x, y), "binary", x) is not None
    three = np.array([0, 1, 2] * 66 + [0, 1])
    assert LinearScores.probe(LogisticRegression().fit(x, three), "binary", x) is None
