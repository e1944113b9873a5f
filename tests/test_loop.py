"""The loop: decisions, responsive worlds, the path from world to model, errors, own models."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest
import xarray as xr
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simlab import (
    ConfigError,
    NotFittedError,
    SchemaError,
    SimlabError,
    UnknownNameError,
    evaluate,
)
from simlab.decisions import DECISIONS, Budget, Decision, Explore, Threshold, TopK, TopShare
from simlab.detectors import KS, PSI, BaseDetector, ScorePSI, Tags, Verdict, Watches, WindowedMetric
from simlab.faults import DropColumn, Faulted, RenameColumn, Round, ServingFault
from simlab.feedback import SelectiveLabels, lending
from simlab.models import FeaturePipeline, ModelAdapter
from simlab.registry import build
from simlab.scenarios import loads
from simlab.sim import Constant, FixedDelay, Never, OnAlarm, Periodic, Scenario, simulate
from simlab.sim.processes import Labels
from simlab.testing.checks import check_run
from simlab.world import ConceptShift, Sudden, WorldWrapper, logistic, sea
from simlab.world.base import Response

# --------------------------------------------------------------------------- decisions


def test_threshold_topshare_budget_topk():
    s = np.array([0.2, 0.9, np.nan, 0.6, 0.4])
    assert Threshold().decide(s).action.tolist() == [0, 1, 0, 1, 0]
    assert TopShare(share=0.4).decide(s).action.tolist() == [0, 1, 0, 1, 0]  # round(0.4 * 5)
    assert Budget(per_tick=3).decide(s).action.tolist() == [0, 1, 0, 1, 1]
    assert Budget(per_tick=9).decide(s).n_acted == 4  # never a row without a score
    cols = {"user": np.array(["b", "a", "a", "b", "a"])}
    d = TopK(k=1, group="user").decide(s, cols)
    assert d.action.tolist() == [0, 1, 0, 1, 0]
    assert d.rank.tolist() == [1, 0, -1, 0, 1]


def test_topshare_breaks_ties_by_row_order():
    assert TopShare(share=0.5).decide(np.full(4, 0.5)).action.tolist() == [1, 1, 0, 0]


def test_explore_propensities_are_exact_and_the_share_explored_matches():
    rule = Explore(rule=TopShare(share=0.3), epsilon=0.2, p_random=0.5)
    rng = np.random.default_rng(0)
    n = 20000
    scores = rng.random(n)
    d = rule.decide(scores, None, rng)
    base = TopShare(share=0.3).decide(scores).action
    np.testing.assert_allclose(d.p_act, np.where(base == 1, 0.8 + 0.1, 0.1))
    # the share explored is Binomial(n, 0.2): 5 SE
    assert abs(d.explored.mean() - 0.2) < 5 * math.sqrt(0.2 * 0.8 / n)
    # acted-on share of base-rejected rows is Binomial(14000, 0.1): 5 SE
    rejected = base == 0
    assert abs(d.action[rejected].mean() - 0.1) < 5 * math.sqrt(0.09 / rejected.sum())
    assert np.array_equal(d.propensity, np.where(d.action == 1, d.p_act, 1 - d.p_act))


def test_decision_errors_name_key_and_value():
    with pytest.raises(ConfigError, match=r"share=1\.5"):
        TopShare(share=1.5)
    with pytest.raises(ConfigError, match="epsilon"):
        Explore(rule=Threshold(), epsilon=-0.1)
    with pytest.raises(ConfigError, match="rng"):
        Explore(rule=Threshold()).decide(np.zeros(2))
    with pytest.raises(ConfigError, match="group='user'"):
        TopK(k=2, group="user").decide(np.zeros(2), {"x": np.zeros(2)})
    with pytest.raises(ConfigError, match="p_act"):
        Decision(np.zeros(3), np.zeros(2), np.zeros(3, bool))


@pytest.mark.parametrize("name", DECISIONS.names())
def test_every_decision_rule_round_trips(name):
    examples = {
        "threshold": Threshold(threshold=0.3),
        "top_share": TopShare(share=0.2),
        "budget": Budget(per_tick=10),
        "top_k": TopK(k=3, group="user"),
        "explore": Explore(rule=TopK(k=2), epsilon=0.05),
    }
    rule = examples[name]
    again = build(json.loads(json.dumps(rule.to_dict())))
    assert again == rule
    assert pickle.loads(pickle.dumps(rule)) == rule


# --------------------------------------------------------------------------- selective labels


def _lending(rule, *, seed_hours=168.0, policy=None, delay=0.0):
    return Scenario(
        world=lending(),
        decision=rule,
        delay=FixedDelay(hours=delay),
        traffic=Constant(rate_per_hour=500.0),
        horizon_hours=seed_hours,
        window_hours=seed_hours,  # the last tick's window holds the whole run
        train_rows=5000,
        policy=policy or Never(),
    )


def _last(run, view):
    return float(run[view].sel(metric="accuracy").isel(time=-1))


def test_labelled_rows_overstate_accuracy_more_as_approval_gets_stricter():
    gaps = []
    for share in (1.0, 0.6, 0.3):
        run = simulate(_lending(TopShare(share=share)), seed=0)
        # about 84,000 rows (true) and share x that many labels (observed); each accuracy has
        # SE <= sqrt(0.25 / 25,000) = 0.0032 at share 0.3, so 0.02 is over 4 SE of a difference
        gaps.append(_last(run, "observed_metric") - _last(run, "true_metric"))
        assert int(run.n_acted.sum()) == pytest.approx(share * int(run.n_rows.sum()), abs=200)
    assert gaps[0] == pytest.approx(0.0, abs=1e-12)  # every row approved: every row labelled
    assert gaps[1] > 0.02
    assert gaps[2] > gaps[1] + 0.02


def test_inverse_propensity_weights_undo_the_selection_over_seeds():
    rule = Explore(rule=TopShare(share=0.3), epsilon=0.2, p_random=0.5)
    ipw, raw = [], []
    for seed in range(8):
        run = simulate(_lending(rule), seed=seed)
        truth = _last(run, "true_metric")
        ipw.append(_last(run, "ipw_metric") - truth)
        raw.append(_last(run, "observed_metric") - truth)
    ipw, raw = np.array(ipw), np.array(raw)
    # the labels arrive in the tick they were served (delay 0) and the window is the whole
    # run, so both estimates are of the same rows' accuracy: the differences' mean over seeds
    # has standard error sd/sqrt(8); unbiased means within 4 of them, biased far outside
    se = ipw.std(ddof=1) / math.sqrt(ipw.size)
    assert abs(ipw.mean()) < 4 * se
    assert raw.mean() > 20 * raw.std(ddof=1) / math.sqrt(raw.size)


def test_retraining_sees_only_labelled_rows():
    policy = Periodic(period_hours=48.0, window_hours=24.0, job_hours=1.0, min_rows=500)
    run = simulate(_lending(TopShare(share=0.2), policy=policy, delay=2.0), seed=0)
    trains = [e for e in run.simlab.events() if e.kind.value == "train" and e.source == "model"]
    assert len(trains) == 4  # version 0 on the full history, then 1-3 at 49 h, 97 h, 145 h
    assert trains[0].detail["n_rows"] == 5000
    for e in trains[1:]:
        # rows served in [start - 24 h, start) whose labels (2 h late) have arrived: about
        # 22 h x 500 rows x 0.2 approved, never the 24 h x 500 that were served
        assert 1900 < e.detail["n_rows"] < 2500


def test_labels_queue_only_labelled_rows_with_their_weights():
    labels = Labels(schema=sea().schema, tick_hours=1.0, n_ticks=5, keep_rows=True)
    cols = {"x0": np.arange(4.0), "x1": np.zeros(4), "x2": np.ones(4)}
    labels.push(
        t=0.0,
        delays=np.zeros(4),
        labelled=np.array([True, False, True, False]),
        y=np.array([1, 0, 0, 1]),
        scores=np.full(4, 0.5),
        propensity=np.array([0.5, 1.0, 0.25, 1.0]),
        columns=cols,
    )
    got = labels.deliver(0)
    assert got["y"].tolist() == [1, 0]
    assert got["w"].tolist() == [2.0, 4.0]
    assert labels.training_rows(1.0, 10.0).columns["x0"].tolist() == [0.0, 2.0]


def test_response_refuses_impossible_labels():
    with pytest.raises(ConfigError, match="label_propensity"):
        Response(np.zeros(2), np.array([True, False]), np.array([0.0, 1.0]))
    with pytest.raises(ConfigError, match="label_propensity"):  # NaN is no probability
        Response(np.zeros(2), np.array([False, True]), np.array([0.0, np.nan]))
    # a row that is never labelled may have had no chance of it
    assert Response(np.zeros(2), np.array([False, True]), np.array([0.0, 0.5])).labelled.sum() == 1
    with pytest.raises(ConfigError, match="labelled"):
        Response(np.zeros(2), np.ones(3, bool), np.ones(2))


# --------------------------------------------------------------------------- responsive worlds


class Ignoring(WorldWrapper):
    """Answers every decision with the outcomes as drawn and every row labelled."""

    name = "ignoring_test_world"

    def respond(self, batch, decision, rng):
        return Response.everything(batch)


def _small(world, **kw):
    spec = {
        "world": world,
        "horizon_hours": 96.0,
        "train_rows": 2000,
        "traffic": Constant(rate_per_hour=300.0),
        "delay": FixedDelay(hours=6.0),
        "monitors": (PSI(), ScorePSI(), WindowedMetric(window_size=500, min_samples=100)),
    }
    spec.update(kw)
    return Scenario(**spec)


def _drift():
    return logistic(n_features=3).clone(
        shifts=(ConceptShift(rotate=90.0, schedule=Sudden(start=48.0)),)
    )


def _same_data(a: xr.Dataset, b: xr.Dataset, names=None):
    for name in names or a.data_vars:
        xr.testing.assert_identical(a[name], b[name])


def test_a_world_that_ignores_decisions_gives_the_same_run_as_without_the_hook():
    policy = OnAlarm(detector="windowed_metric", cooldown_hours=12.0, window_hours=24.0)
    plain = simulate(_small(_drift(), policy=policy), seed=2)
    hooked = simulate(_small(Ignoring(world=_drift()), policy=policy), seed=2)
    _same_data(plain, hooked)
    assert int(plain.deployed_version.max()) >= 1  # the comparison covers a retraining too


class Reactive(WorldWrapper):
    """A population that moves against the deployed model (and so has state)."""

    name = "reactive_test_world"

    def __init__(self, *, world, strength: float = 0.5):
        super().__init__(world=world)
        self.strength = strength
        self.deployments_ = []

    def on_deploy(self, scorer, t):
        probe = {name: np.zeros(1) for name in self.world.schema.names}
        self.deployments_.append(float(scorer(probe)[0]))

    def sample(self, n, t, rng):
        batch = self.world.sample(n, t, rng)
        shift = self.strength * len(self.deployments_)
        return batch.with_columns(x0=batch.columns["x0"] - shift)


def test_worlds_are_told_of_deployments_and_runs_never_share_state():
    policy = Periodic(period_hours=24.0, window_hours=24.0, job_hours=1.0, min_rows=100)
    world = Reactive(world=logistic(n_features=3))
    b_alone = simulate(_small(world, policy=policy, horizon_hours=72.0), seed=1)
    simulate(_small(world, policy=policy, horizon_hours=72.0), seed=0)  # run A
    b_after_a = simulate(_small(world, policy=policy, horizon_hours=72.0), seed=1)
    _same_data(b_alone, b_after_a)
    assert world.deployments_ == []  # the scenario's world object is never the one that runs
    # the population moved after each deployment (versions at 0, 25 and 49 hours)
    x0 = b_alone.feature_mean.sel(feature="x0")
    assert float(x0.isel(time=10)) == pytest.approx(-0.5, abs=0.1)
    assert float(x0.isel(time=60)) == pytest.approx(-1.5, abs=0.1)


def test_wrappers_serving_faults_and_monitors_never_change_the_inner_worlds_draws():
    base = simulate(_small(_drift(), monitors=()), seed=3)
    # a monitor more, a serving-side rounding, an upstream fault on x2 from hour 30
    more = simulate(_small(_drift(), monitors=(KS(alpha=0.01),)), seed=3)
    served = simulate(
        _small(_drift(), monitors=(), serving=(ServingFault(fault=Round(columns=("x0",))),)),
        seed=3,
    )
    faulted = simulate(
        _small(Faulted(world=_drift(), fault=DropColumn(column="x2"), start=30.0), monitors=()),
        seed=3,
    )
    for run in (more, served, faulted):
        _same_data(base, run, ["n_rows", "n_labels"])
        xr.testing.assert_identical(
            base.feature_mean.sel(feature=["x0", "x1"]), run.feature_mean.sel(feature=["x0", "x1"])
        )
    _same_data(base, more, ["true_metric", "observed_metric", "score_hist", "feature_std"])
    # the rounding happens at serving only: the upstream features are untouched, the scores not
    xr.testing.assert_identical(base.feature_mean, served.feature_mean)
    assert not base.score_hist.equals(served.score_hist)


# --------------------------------------------------------------------------- the path to the model


def test_a_column_dropped_mid_run_falls_back_and_is_logged():
    world = Faulted(
        world=logistic(n_features=3), fault=DropColumn(column="x0"), start=40.0, end=70.0
    )
    run = simulate(_small(world), seed=0)
    check_run(run)
    events = [e for e in run.simlab.events() if e.kind.value.startswith("serving")]
    assert [(e.kind.value, e.start, e.end, e.features) for e in events] == [
        ("serving_fallback", 40.0, 70.0, ("x0",))
    ]
    assert events[0].detail["rows"] == int(run.n_rows.isel(time=slice(40, 70)).sum())
    missing = run.feature_missing.sel(feature="x0")
    assert float(missing.isel(time=39)) == 0.0
    assert float(missing.isel(time=40)) == 1.0
    assert int(run.n_failed.sum()) == 0
    psi = run.alarm.sel(detector="psi")
    assert bool(psi.isel(time=slice(41, 70)).all())  # x0 all missing: PSI's missing bin fills


def test_a_column_dropped_mid_run_fails_requests_when_so_configured():
    world = Faulted(world=logistic(n_features=3), fault=DropColumn(column="x1"), start=40.0)
    model = ModelAdapter(training=FeaturePipeline(on_missing="fail"))
    run = simulate(_small(world, model=model), seed=0)
    events = [e for e in run.simlab.events() if e.kind.value.startswith("serving")]
    assert [(e.kind.value, e.start, e.end) for e in events] == [("serving_failure", 40.0, 96.0)]
    assert int(run.n_failed.isel(time=slice(40, None)).sum()) == int(
        run.n_rows.isel(time=slice(40, None)).sum()
    )
    assert int(run.n_acted.isel(time=slice(40, None)).sum()) == 0  # no score, no action
    # a failed prediction is wrong: accuracy falls to 0 once the window holds only failures
    assert float(run.true_metric.sel(metric="accuracy").isel(time=-1)) == 0.0
    assert not np.isnat(evaluate(run).harm.values)


def test_a_renamed_column_with_retraining_keeps_running():
    world = Faulted(world=sea(), fault=RenameColumn(column="x1", to="x1_v2"), start=30.0)
    policy = Periodic(period_hours=24.0, window_hours=24.0, min_rows=100)
    run = simulate(_small(world, policy=policy, delay=FixedDelay(hours=1.0)), seed=0)
    assert float(run.feature_missing.sel(feature="x1").isel(time=-1)) == 1.0
    # the job at 24 h trains and deploys; the ones at 48 h and 72 h find x1 all missing in
    # their window, so the PSI cannot be fitted on it: each fails as a whole, logged, and
    # the deployment in place stays (the run goes on)
    assert int(run.deployed_version.max()) == 1
    failed = [e for e in run.simlab.events() if e.kind.value == "train" and e.source == "failed"]
    assert [e.start for e in failed] == [48.0, 72.0]
    assert all("reference='x1'" in e.detail["reason"] for e in failed)


def test_served_feature_monitors_see_serving_faults_that_upstream_monitors_cannot():
    skew = ServingFault(fault=Round(columns=("x0",), decimals=0), start=48.0)
    run = simulate(
        _small(
            logistic(n_features=3),
            monitors=(PSI(), PSI(on="served")),
            serving=(skew,),
            horizon_hours=96.0,
        ),
        seed=0,
    )
    assert run.detector_watches.values.tolist() == ["features", "served"]
    up = run.alarm.sel(detector="psi")
    served = run.alarm.sel(detector="psi_served")
    assert not bool(up.any())
    assert not bool(served.isel(time=slice(0, 48)).any())
    assert bool(served.isel(time=slice(52, None)).all())
    faults = [e for e in run.simlab.events() if e.kind.value == "fault"]
    assert [(e.start, e.detail["where"]) for e in faults] == [(48.0, "serving")]


def test_served_reference_is_the_training_pipelines_view_of_held_out_rows():
    batch = logistic(n_features=2).sample(2000, 0.0, rng=0)
    m = ModelAdapter(training=FeaturePipeline(impute="zero")).train(batch, version=0)
    assert sorted(m.reference_served.columns) == ["x0", "x1"]
    np.testing.assert_array_equal(m.reference_served.columns["x0"], m.reference.columns["x0"])
    np.testing.assert_array_equal(
        m.served_columns(m.serve(batch.columns).features)["x1"], batch.columns["x1"]
    )


# --------------------------------------------------------------------------- round trips


_TOML = """
name = "lending_probe"
horizon_hours = 48
train_rows = 1000
serving = [{ kind = "serving_fault", start = 10, fault = { kind = "round", columns = ["income"] } }]

[world]
kind = "faulted"
start = 20
fault = { kind = "drop_column", column = "history_years" }

[world.world]
kind = "selective_labels"

[world.world.world]
kind = "causal"
covariates = [{ kind = "gaussian", features = ["income", "debt_ratio", "history_years"] }]
concept = { kind = "logistic_concept", features = ["income", "debt_ratio"], coef = [1.0, -1.0] }

[decision]
kind = "explore"
epsilon = 0.1
rule = { kind = "top_share", share = 0.4 }
"""


def test_wrapped_worlds_and_decisions_round_trip_through_toml_and_json(tmp_path):
    s = loads(_TOML)
    assert isinstance(s.world, Faulted)
    assert isinstance(s.world.world, SelectiveLabels)
    assert s.decision == Explore(rule=TopShare(share=0.4), epsilon=0.1)
    again = Scenario.from_json(s.to_json())
    assert again == s
    assert again.to_json() == s.to_json()
    run = simulate(s, seed=0)
    assert Scenario.from_json(run.attrs["scenario"]) == s
    path = tmp_path / "probe.toml"
    path.write_text(_TOML)
    out = subprocess.run(
        [sys.executable, "-m", "simlab.cli", "show", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shown = json.loads(out)
    assert shown["world"]["kind"] == "faulted"
    assert shown["world"]["world"]["kind"] == "selective_labels"
    assert shown["decision"]["rule"]["kind"] == "top_share"
    assert shown["serving"][0]["fault"]["kind"] == "round"


def test_scenario_equality_and_hash_do_not_go_through_json():
    s = Scenario(world=sea(), model=ModelAdapter(estimator=LogisticRegression(C=0.5)))
    t = Scenario(world=sea(), model=ModelAdapter(estimator=LogisticRegression(C=0.5)))
    u = Scenario(world=sea(), model=ModelAdapter(estimator=LogisticRegression(C=2.0)))
    assert s == t
    assert hash(s) == hash(t)
    assert s != u
    assert {s, t, u} == {s, u}


# --------------------------------------------------------------------------- errors


class _OddError(SimlabError):
    """An error whose constructor does not take its message back (args cannot rebuild it)."""

    def __init__(self, code: int, *, where: str):
        super().__init__(f"code {code} at {where}")
        self.code = code


class Raiser(BaseDetector):
    """Raises the given error at its third update."""

    name = "raiser"
    tags: ClassVar = Tags(watches=Watches.SCORES)

    def __init__(self, *, error=None):
        self.error = error

    def _fit(self, reference):
        self.calls_ = 0

    def _update(self, view):
        self.calls_ += 1
        if self.calls_ == 3:
            raise self.error
        return Verdict(statistic=0.0, threshold=1.0, alarm=False)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("window_size", 10**12, "an int below 1e9", owner="Raiser"),
        UnknownNameError("detector", "pis", ["psi", "ks"]),
        SchemaError("column 'x9' is missing"),
        NotFittedError("Raiser is not fitted"),
        _OddError(7, where="tick 2"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_inside_a_tick_reach_the_caller_as_themselves(error):
    s = _small(sea(), monitors=(Raiser(error=error),), horizon_hours=10.0)
    with pytest.raises(type(error)) as info:
        simulate(s, seed=0)
    assert type(info.value) is type(error)
    assert str(info.value) == str(error)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("k", 1, "x", owner="O"),
        ConfigError("k", [1, "two"], "a list"),
        UnknownNameError("fault", "drop_colum", ["drop_column"]),
        SchemaError("bad"),
        NotFittedError("not yet"),
    ],
)
def test_every_error_class_round_trips_through_pickle_and_its_args(error):
    for again in (pickle.loads(pickle.dumps(error)), type(error)(*error.args)):
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert again.__dict__ == error.__dict__


# --------------------------------------------------------------------------- the user's model


def test_a_pipeline_object_deploys_retrains_on_alarm_and_is_in_the_runs_attrs():
    model = ModelAdapter(estimator=make_pipeline(StandardScaler(), LogisticRegression(C=0.3)))
    policy = OnAlarm(detector="windowed_metric", cooldown_hours=12.0, window_hours=24.0)
    run = simulate(_small(_drift(), model=model, policy=policy), seed=0)
    assert int(run.deployed_version.max()) >= 1
    assert run.attrs["estimator"] == "sklearn.pipeline.Pipeline"
    params = json.loads(run.attrs["estimator_params"])
    assert params["steps"][1][1]["params"]["C"] == 0.3
    assert run.attrs["rebuildable"] == 1
    rebuilt = Scenario.from_json(run.attrs["scenario"])
    again = simulate(rebuilt, seed=0)
    _same_data(run, again)


class _Homemade(LogisticRegression):
    """A user's own estimator class, outside scikit-learn."""


def test_a_model_that_json_cannot_rebuild_runs_and_says_so():
    _Homemade.__module__ = "mylab.models"
    model = ModelAdapter(estimator=_Homemade())
    run = simulate(_small(sea(), model=model, horizon_hours=12.0), seed=0)
    assert run.attrs["rebuildable"] == 0
    assert "mylab.models" in run.attrs["rebuild_problems"]
    with pytest.raises(ConfigError, match="cannot be rebuilt from JSON"):
        Scenario.from_json(run.attrs["scenario"])
