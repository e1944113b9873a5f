"""What retraining and monitoring cost, and regret against the oracle schedule."""

from __future__ import annotations

import numpy as np
import pytest

import simlab
from simlab.detectors import KS, WindowedMetric
from simlab.errors import ConfigError
from simlab.metrics import CostModel, excess_errors, oracle_cost, regret, run_cost
from simlab.sim import FixedDelay, OnAlarm, Periodic, Scenario, Shadow
from simlab.world import ConceptShift, CovariateShift, Sudden, logistic

SHIFTS = {
    "concept": ConceptShift(rotate=90, schedule=Sudden(start=150.0)),
    "covariate": CovariateShift(features=("x0",), mean=2.0, schedule=Sudden(start=150.0)),
}


def _runs(shift):
    world = logistic(n_features=3, quadratic=(-0.8, 0, 0), shifts=(shift,))
    s = Scenario(
        world=world,
        horizon_hours=500,
        delay=FixedDelay(hours=48),
        monitors=(WindowedMetric(), KS(alpha=1e-4)),
    )
    policies = {
        "never": s,
        "weekly": s.replace(policy=Periodic(period_hours=168)),
        "daily": s.replace(policy=Periodic(period_hours=24)),
        "on_labels": s.replace(policy=OnAlarm(detector="windowed_metric")),
        "on_ks": s.replace(policy=OnAlarm(detector="ks")),
        "shadow_then_promote": s.replace(
            challengers=(Shadow(promote=True, every_hours=168, start_hours=168),)
        ),
    }
    return {k: simlab.simulate(v, seed=0) for k, v in policies.items()}


@pytest.fixture(scope="module", params=list(SHIFTS))
def runs(request):
    return _runs(SHIFTS[request.param])


@pytest.mark.parametrize("training", [10.0, 1000.0, 1e6])
def test_oracle_has_zero_regret_and_no_policy_has_less(runs, training):
    costs = CostModel(training=training, label=0.01)
    r = regret(runs, runs["never"], costs)
    assert float(r.regret.sel(policy="oracle")) == 0.0
    assert (r.regret.values >= 0).all(), r.regret.to_series().to_dict()


def test_run_cost_counts(runs):
    costs = CostModel(label=0.5, training=100.0, error=2.0)
    c = run_cost(runs["daily"], costs)
    deploys = [e for e in runs["daily"].simlab.events() if e.kind.value == "deploy"]
    assert int(c.training_jobs) == len(deploys) - 1  # every model after the first
    assert float(c.labels) == float(runs["daily"].n_labels.sum())
    assert float(c.total_cost) == pytest.approx(
        0.5 * float(c.labels) + 100.0 * int(c.training_jobs) + 2.0 * float(c.excess_errors)
    )
    assert float(run_cost(runs["never"], costs).training_jobs) == 0


def test_challengers_training_counts_as_jobs(runs):
    run = runs["shadow_then_promote"]
    events = run.simlab.events()
    trains = [e for e in events if e.source == "challenger/shadow" and e.kind.value == "train"]
    assert int(run_cost(run, CostModel()).training_jobs) == len(trains)  # promotions: no more


def test_excess_errors_only_after_harm():
    world = logistic(n_features=3, shifts=(SHIFTS["concept"],))
    run = simlab.simulate(Scenario(world=world, horizon_hours=300), seed=0)
    e = excess_errors(run)
    assert float(e.sel(time=run.hours < 150).sum()) == 0.0
    assert float(e.sum()) > 0
    twin = simlab.simulate(Scenario(world=world, horizon_hours=300).twin(), seed=0)
    assert float(excess_errors(twin).sum()) == 0.0  # chance wobbles under the tolerance


def test_oracle_retrains_only_when_the_harm_is_dearer(runs):
    never = runs["never"]
    cheap = oracle_cost(never, CostModel(training=1.0))
    dear = oracle_cost(never, CostModel(training=1e9))
    assert cheap["training_jobs"] == 1
    assert cheap["excess_errors"] == 0.0
    assert dear["training_jobs"] == 0
    assert dear["harm_cost"] == pytest.approx(float(excess_errors(never).sum()))


def test_bad_input():
    with pytest.raises(ConfigError, match="training"):
        CostModel(training=-1.0)
    with pytest.raises(ConfigError, match="costs"):
        run_cost(None, "cheap")
    with pytest.raises(ConfigError, match="oracle"):
        regret({"oracle": None}, None, CostModel())
    assert np.isfinite(CostModel().error)
