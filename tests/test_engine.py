"""The engine: delayed labels, no leaks, reproducibility, offline optimism, retraining, errors."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import xarray as xr

from simlab import ConfigError, UnknownNameError, evaluate
from simlab.detectors import PSI, BaseDetector, ScorePSI, Tags, Verdict, Watches, WindowedMetric
from simlab.models import ModelAdapter
from simlab.sim import (
    Bursts,
    Constant,
    Diurnal,
    ExponentialDelay,
    FixedDelay,
    LabelQueue,
    LogNormalDelay,
    Never,
    OnAlarm,
    Periodic,
    Scenario,
    simulate,
)
from simlab.testing._run_checks import check_run
from simlab.world import (
    CausalWorld,
    ConceptShift,
    CovariateShift,
    Gaussian,
    Incremental,
    LabelShift,
    Linear,
    Logistic,
    Sudden,
    hyperplane,
    logistic,
)


class Spy(BaseDetector):
    """Its statistic is the age of the freshest label it sees (nan if none); never alarms."""

    name = "spy"
    tags: ClassVar = Tags(watches=Watches.LABELS)

    def __init__(self):
        pass

    def _fit(self, reference):
        pass

    def _update(self, view):
        age = float(np.min(view.t - view.label_times)) if view.n_labels else math.nan
        return Verdict(statistic=age, threshold=math.inf, alarm=False)


def small(world, **kw):
    spec = {"world": world, "horizon_hours": 120.0, "train_rows": 2000}
    spec["traffic"] = Constant(rate_per_hour=300.0)
    spec.update(kw)
    return Scenario(**spec)


def drift_world(at=48.0):
    base = Logistic(features=("x0", "x1"), coef=(2.0, -1.0))
    return logistic(n_features=2, coef=(2.0, -1.0)).clone(
        shifts=(ConceptShift(after=base.clone(coef=(-2.0, -1.0)), schedule=Sudden(start=at)),)
    )


def test_run_conforms_and_round_trips(tmp_path):
    run = simulate(small(drift_world(), monitors=(PSI(), ScorePSI(), WindowedMetric())), seed=1)
    check_run(run)
    assert run.sizes["time"] == 120
    assert list(run.detector.values) == ["psi", "score_psi", "windowed_metric"]


def test_same_seed_same_run_and_different_seed_differs():
    s = small(drift_world(), monitors=(PSI(), WindowedMetric()))
    a, b, c = simulate(s, seed=3), simulate(s, seed=3), simulate(s, seed=4)
    xr.testing.assert_identical(a, b)
    assert not a.n_rows.equals(c.n_rows)


def test_adding_a_monitor_never_changes_the_world_or_model():
    a = simulate(small(drift_world()), seed=5)
    b = simulate(small(drift_world(), monitors=(PSI(), WindowedMetric())), seed=5)
    for name in (
        "n_rows",
        "n_labels",
        "true_metric",
        "observed_metric",
        "score_hist",
        "feature_mean",
    ):
        xr.testing.assert_identical(a[name], b[name])


def test_no_change_no_harm_and_observed_converges_to_true():
    run = simulate(
        small(logistic(n_features=3), horizon_hours=240.0, delay=FixedDelay(hours=24.0)), seed=0
    )
    report = evaluate(run)
    assert np.isnat(report.harm.values)
    assert np.isnat(report.label_alarm.values)
    late = slice(72, None)  # once the observed window is full
    t = run.true_metric.sel(metric="accuracy").isel(time=late)
    o = run.observed_metric.sel(metric="accuracy").isel(time=late)
    # both estimate the same accuracy from ~7,200-row windows: the difference of two
    # proportions has SE <= sqrt(2 * 0.25 / 7200) ~ 0.0083; 5 SE allows the max over ticks
    assert float(np.abs(t.mean() - o.mean())) < 5 * math.sqrt(2 * 0.25 / 7200)


def test_fixed_delay_observed_lags_true_by_the_delay():
    d = 24.0
    run = simulate(small(drift_world(at=48.0), delay=FixedDelay(hours=d)), seed=0)
    # every label of tick k was served exactly d hours earlier
    np.testing.assert_array_equal(run.n_labels.values[int(d) :], run.n_rows.values[: -int(d)])
    assert run.n_labels.values[: int(d)].sum() == 0
    report = evaluate(run)
    lag = (report.label_alarm - report.harm) / np.timedelta64(1, "h")
    assert abs(float(lag) - d) <= 1.0  # both cross the same threshold on the same rows, d later


@pytest.mark.parametrize(
    "delay", [FixedDelay(hours=2.5), FixedDelay(hours=0.0), FixedDelay(hours=7.0, never=0.3)]
)
def test_labels_never_leak(delay):
    run = simulate(small(logistic(n_features=2), delay=delay, monitors=(Spy(),)), seed=0)
    age = run.statistic.sel(detector="spy")
    assert int(age.notnull().sum()) > 100
    # a label served at s with delay d arrives at s + d and is visible at the first tick >= s + d:
    # never earlier (a leak) ...
    assert float(age.min()) >= delay.hours
    # ... and not a tick later than that
    assert float(age.min()) < delay.hours + 1.0


def test_never_share_drops_labels():
    run = simulate(small(logistic(n_features=2), delay=FixedDelay(hours=1.0, never=0.5)), seed=0)
    served = run.n_rows.values[:-1].sum()
    got = run.n_labels.values[1:].sum()
    # Binomial(served, 0.5): 5 SE tolerance
    assert abs(got / served - 0.5) < 5 * math.sqrt(0.25 / served)


def test_random_split_is_more_optimistic_than_time_split_on_a_drifting_world():
    # the concept rotates through the training window and after it
    world = hyperplane(
        n_features=4,
        noise=0.0,
        shifts=(ConceptShift(rotate=120.0, schedule=Incremental(start=-168.0, width=336.0)),),
    )
    s = Scenario(
        world=world,
        horizon_hours=24.0,
        train_rows=20000,
        delay=FixedDelay(hours=0.0),
        traffic=Constant(rate_per_hour=2000.0),
    )
    run = simulate(s, seed=0)
    off = run.offline_metric.sel(metric="accuracy").isel(time=0)
    online = float(run.true_metric.sel(metric="accuracy").isel(time=-1))  # last 24 h, 48k rows
    rnd, tim = float(off.sel(split="random")), float(off.sel(split="time"))
    se = math.sqrt(0.25 / 4000)  # holdout of 4,000 rows
    assert rnd - online > 5 * se  # random split promises far more than production gives
    assert rnd - tim > 3 * se  # the time split promises less ...
    assert tim - online > -3 * se  # ... and is closer to (not far below) what production gives


def test_periodic_retraining_deploys_new_versions_and_logs_events():
    s = small(
        drift_world(at=48.0),
        horizon_hours=168.0,
        delay=FixedDelay(hours=2.0),
        policy=Periodic(period_hours=48.0, window_hours=24.0, job_hours=2.0, min_rows=500),
    )
    run = simulate(s, seed=0)
    assert int(run.deployed_version.max()) == 3  # jobs start at 48, 96, 144; each takes 2 h
    deploys = run.event_start.where(run.event_kind == "deploy", drop=True).values
    hours = [run.simlab.hours(t) for t in deploys]
    assert hours == [0.0, 50.0, 98.0, 146.0]  # version 0 is deployed at hour 0
    # after retraining on post-drift labels, accuracy recovers
    acc = run.true_metric.sel(metric="accuracy")
    assert float(acc.isel(time=-1)) > float(acc.isel(time=70)) + 0.1


def test_on_alarm_retrains_after_the_alarm_with_cooldown():
    s = small(
        drift_world(at=48.0),
        horizon_hours=200.0,
        delay=FixedDelay(hours=1.0),
        monitors=(WindowedMetric(window_size=300, min_samples=100),),
        policy=OnAlarm(
            detector="windowed_metric",
            cooldown_hours=48.0,
            window_hours=12.0,
            job_hours=1.0,
            min_rows=500,
        ),
    )
    run = simulate(s, seed=0)
    first_alarm = run.simlab.hours(
        run.time.where(run.alarm.sel(detector="windowed_metric"), drop=True).values[0]
    )
    deploys = [
        run.simlab.hours(t)
        for t in run.event_start.where(run.event_kind == "deploy", drop=True).values
    ][1:]  # after version 0's, at hour 0
    assert first_alarm > 48.0
    assert deploys
    assert deploys[0] == pytest.approx(first_alarm + 1.0)
    assert all(b - a >= 48.0 for a, b in itertools.pairwise(deploys))


def test_traffic_shapes():
    t = np.arange(48.0)
    g = np.random.default_rng(0)
    assert Constant(rate_per_hour=5.0, poisson=False).counts(t, 1.0, g).tolist() == [5] * 48
    d = Diurnal(rate_per_hour=100.0, amplitude=0.5, peak_hour=12.0, poisson=False).counts(t, 1.0, g)
    assert d[12] == 150
    assert d[0] == 50
    b = Bursts(rate_per_hour=10.0, factor=3.0, every_hours=24.0, duration_hours=2.0, poisson=False)
    assert b.counts(t, 1.0, g)[[0, 1, 2, 24]].tolist() == [30, 30, 10, 30]
    pois = Constant(rate_per_hour=1000.0).counts(np.zeros(2000), 1.0, g)
    assert abs(pois.mean() - 1000) < 5 * math.sqrt(1000 / 2000)


def test_delay_distributions():
    g = np.random.default_rng(0)
    e = ExponentialDelay(mean_hours=10.0).draw(200_000, g)
    assert abs(e.mean() - 10.0) < 5 * 10.0 / math.sqrt(200_000)
    ln = LogNormalDelay(median_hours=48.0, sigma=0.5).draw(200_000, g)
    assert abs(np.median(ln) / 48.0 - 1) < 0.02


def test_label_queue_matches_a_naive_bucketing():
    g = np.random.default_rng(0)
    q = LabelQueue(span=80)
    pending = []
    for k in range(60):
        keys = k + g.integers(0, 20, size=g.integers(0, 50))
        vals = g.random(keys.size)
        q.push(keys, {"v": vals})
        pending.extend(zip(keys.tolist(), vals.tolist(), strict=True))
        got = q.pop(k)
        # popped every tick, each tick's arrivals come out in the order they were pushed
        want = [v for key, v in pending if key <= k]
        pending = [(key, v) for key, v in pending if key > k]
        assert ([] if got is None else got["v"].tolist()) == want
        assert len(q) == len(pending)


def test_label_queue_pops_at_irregular_ticks_by_arrival_then_push_order():
    # pops every 1-5 ticks, pushes of up to 3,000 rows (the pages grow several times, and
    # freed pages are reused): each pop gives the rows due by then, by arrival tick, each
    # tick's rows in push order
    g = np.random.default_rng(1)
    q = LabelQueue(span=400)
    pending, serial, k = [], 0, 0
    while k < 300:
        for _ in range(g.integers(1, 6)):
            keys = k + g.integers(0, 60, size=g.integers(0, 3000))
            ids = serial + np.arange(keys.size)
            serial += keys.size
            q.push(keys, {"id": ids, "key": keys.astype(float)})
            pending.extend(zip(keys.tolist(), ids.tolist(), strict=True))
            k += 1
        got = q.pop(k)
        want = sorted((key, i) for key, i in pending if key <= k)  # ids grow in push order
        pending = [(key, i) for key, i in pending if key > k]
        have = [] if got is None else list(zip(got["key"].astype(int), got["id"], strict=True))
        have = [(int(key), int(i)) for key, i in have]
        assert have == want
        assert len(q) == len(pending)
    with pytest.raises(ValueError, match="outside"):
        q.push(np.array([400]), {"id": np.array([0]), "key": np.array([0.0])})


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"monitors": [{"kind": "pis"}]}, "Did you mean 'psi'"),
        ({"delay": {"kind": "fixed", "hours": -1.0}}, "hours=-1.0"),
        ({"tick_hours": 500.0, "horizon_hours": 100.0}, "tick_hours=500.0"),
        ({"model": {"kind": "model", "estimator": "linear_svc"}}, "predict_proba"),
        ({"horizon": 10}, "did you mean 'horizon_hours'"),
        ({"policy": {"kind": "on_alarm", "detector": "ks"}}, "policy.detector='ks'"),
        ({"traffic": {"kind": "constant", "rate_per_hour": 0}}, "rate_per_hour=0"),
    ],
)
def test_bad_scenarios_fail_before_running(spec, match):
    base = {"world": {"kind": "sea"}, "monitors": [{"kind": "psi"}]}
    with pytest.raises(ConfigError, match=match):
        Scenario.from_dict({**base, **spec})


def test_unknown_world_is_an_unknown_name():
    with pytest.raises(UnknownNameError, match="Did you mean 'sea'"):
        Scenario.from_dict({"world": {"kind": "sae"}})


def test_regression_runs_use_mae():
    reg = CausalWorld(
        covariates=(Gaussian(features=("a", "b")),),
        concept=Linear(features=("a", "b"), coef=(1.0, 2.0)),
    )
    s = Scenario(
        world=reg,
        model=ModelAdapter(estimator="ridge"),
        horizon_hours=48.0,
        train_rows=1000,
        monitors=(WindowedMetric(metric="mae"),),
    )
    run = simulate(s, seed=0)
    check_run(run)
    assert list(run.metric.values) == ["mae"]
    # noise sd 1: the best MAE is E|N(0,1)| = 0.798; a 24-h window holds ~24,000 rows, so the
    # SE of the mean absolute error is about 0.6 / sqrt(24,000) = 0.004 (plus the fit's own error)
    mae = float(run.true_metric.sel(metric="mae").isel(time=-1))
    assert abs(mae - math.sqrt(2 / math.pi)) < 0.03


def test_never_policy_keeps_version_zero():
    run = simulate(small(logistic(n_features=2), policy=Never()), seed=0)
    assert int(run.deployed_version.max()) == 0


def test_zarr_round_trip(tmp_path):
    pytest.importorskip("zarr")
    import simlab

    run = simulate(small(drift_world(), monitors=(PSI(),)), seed=0)
    xr.testing.assert_identical(run, simlab.load(simlab.save(run, tmp_path / "run.zarr")))


def test_save_refuses_unknown_suffix(tmp_path):
    import simlab

    run = simulate(small(drift_world()), seed=0)
    with pytest.raises(ConfigError, match=r"ending in \.nc or \.zarr"):
        simlab.save(run, tmp_path / "run.csv")


def test_alarm_at_an_onset_between_whole_hours_is_a_detection():
    # tick times and event times share one rounding rule, so tick 29 (8.7 h) is the onset tick
    world = logistic(n_features=2).clone(
        shifts=(CovariateShift(features=("x0",), mean=5.0, schedule=Sudden(start=8.7)),)
    )
    s = small(
        world,
        tick_hours=0.3,
        horizon_hours=15.0,
        monitors=(PSI(window_size=50, min_samples=50, n_bins=4, threshold=1.0),),
    )
    report = evaluate(simulate(s, seed=0))
    assert float(report.delay_hours.sel(detector="psi")) == pytest.approx(0.0)
    assert int(report.false_alarms.sel(detector="psi")) == 0


@pytest.mark.parametrize(
    "policy",
    [
        Periodic(period_hours=24.0, window_hours=24.0, job_hours=1.0, min_rows=100),
        OnAlarm(
            detector="psi", cooldown_hours=48.0, window_hours=24.0, job_hours=1.0, min_rows=100
        ),
    ],
    ids=["periodic", "on_alarm"],
)
def test_a_deployment_at_hour_t_serves_tick_t(policy):
    world = logistic(n_features=2).clone(
        shifts=(CovariateShift(features=("x0",), mean=3.0, schedule=Sudden(start=30.0)),)
    )
    s = small(world, delay=FixedDelay(hours=0.0), monitors=(PSI(),), policy=policy)
    run = simulate(s, seed=0)
    deploys = run.event_start.where(run.event_kind == "deploy", drop=True).values[1:]
    assert len(deploys) >= 1
    for when in deploys:
        k = int(run.tick.sel(time=when))
        assert (
            int(run.deployed_version.isel(time=k)) == int(run.deployed_version.isel(time=k - 1)) + 1
        )


def test_a_training_job_on_one_class_fails_visibly_and_the_run_goes_on():
    from simlab.world import gaussian_classes

    world = gaussian_classes(shifts=(LabelShift(prior=0.0, schedule=Sudden(start=10.0)),))
    s = small(
        world,
        delay=FixedDelay(hours=0.0),
        policy=Periodic(period_hours=48.0, window_hours=24.0, job_hours=1.0, min_rows=100),
    )
    run = simulate(s, seed=0)
    failed = run.event_source.where(run.event_kind == "train", drop=True).values.tolist()
    assert "failed" in failed
    assert "both classes" in str(run.event_detail.values[run.event_source.values == "failed"][0])
    assert int(run.deployed_version.max()) == 0


def test_the_engine_benchmark_can_say_where_a_tick_goes():
    # a smoke run of the diagnostic (no timing is asserted): every role it wraps still
    # exists under that name, and each gets a line
    script = Path(__file__).resolve().parents[1] / "bench" / "engine.py"
    out = subprocess.run(
        [sys.executable, str(script), "--roles", "--days", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("label queue: push") for line in lines)
    assert lines[-1].startswith("total")


def test_the_engine_benchmark_can_split_fixed_from_per_row_cost():
    # a smoke run of the diagnostic (no timing is asserted): both sizes run and are reported
    script = Path(__file__).resolve().parents[1] / "bench" / "engine.py"
    out = subprocess.run(
        [sys.executable, str(script), "--fixed", "--days", "1", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert sum("rows a tick: engine" in line for line in lines) == 2
    assert lines[-1].startswith("the engine's own cost per tick:")
