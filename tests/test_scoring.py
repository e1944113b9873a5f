"""Scoring over several changes: episodes, matching, the twin rule and the null baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlab import ConfigError, simulate
from simlab.detectors import PSI
from simlab.faults import Faulted, UnitChange
from simlab.metrics import BASELINES, alarm_onsets, change_episodes, score
from simlab.metrics.scoring import _periodic_expect, _random_expect
from simlab.sim import Constant, Scenario
from simlab.testing._runs import make_run
from simlab.world import logistic


def _run(alarms, **kw):
    kw.setdefault("onset_hours", 50.0)
    kw.setdefault("change_end_hours", 50.0)
    kw.setdefault("extra_events", [("covariate_shift", 120.0, 120.0)])
    return make_run(n_ticks=200, rows_per_tick=100, detectors={"a": alarms}, **kw)


def test_alarms_are_matched_to_episodes():
    s = score(_run([20.0, 53.0, 54.0, 60.0, 125.0, 126.0, 190.0])).sel(detector="a")
    assert s["episode_start"].values.tolist() == [50.0, 120.0]
    assert s["detected"].values.tolist() == [True, True]
    assert s["delay"].values.tolist() == [3.0, 5.0]
    d = s.sel(baseline="detector")
    # onsets: 20 (false), 53 (detects the first), 60 (in the window, after the detection:
    # neither), 125 (detects the second), 190 (in the second window: neither)
    assert int(s["n_alarms"]) == 5
    assert float(d["false_alarms"]) == 1.0
    assert float(d["recall"]) == 1.0
    assert float(d["missed_rate"]) == 0.0
    assert float(d["precision"]) == pytest.approx(2 / 3)
    assert float(d["mean_delay"]) == pytest.approx(4.0)
    assert float(d["false_alarms_per_10k_rows"]) == pytest.approx(1 / 20_000 * 10_000)
    assert float(d["mtbfa"]) == 200.0


def test_max_delay_bounds_a_detection_and_late_alarms_are_false():
    run = _run([56.0, 130.0])
    s = score(run, max_delay_hours=6.0).sel(detector="a", baseline="detector")
    assert s["detected"].values.tolist() == [True, False]  # 6 h late counts, 10 h does not
    assert float(s["false_alarms"]) == 1.0  # the late one, outside every window
    s = score(run, max_delay_hours=5.0).sel(detector="a", baseline="detector")
    assert s["detected"].values.tolist() == [False, False]
    with pytest.raises(ConfigError, match="max_delay_hours"):
        score(run, max_delay_hours=-1.0)


def test_an_alarm_the_twin_also_raised_is_not_a_detection():
    run = _run([52.0, 121.0])
    twin = make_run(
        n_ticks=200,
        rows_per_tick=100,
        onset_hours=None,
        harm_hours=None,
        detectors={"a": [52.0, 90.0]},
    )
    s = score(run, twin=twin).sel(detector="a", baseline="detector")
    assert s["detected"].values.tolist() == [False, True]
    assert float(s["false_alarms"]) == 1.0  # the lucky alarm at 52 h
    assert int(score(run, twin=twin)["lucky"].sel(detector="a")) == 1
    with pytest.raises(ConfigError, match="twin"):
        score(run, twin=make_run(n_ticks=100, harm_hours=None, detectors={"a": []}))


def test_episodes_merge_only_what_overlaps():
    run = make_run(
        onset_hours=50.0,
        change_end_hours=80.0,
        extra_events=[("fault", 60.0, 70.0), ("fault", 100.0, None), ("label_shift", 150.0, 150.0)],
    )
    assert change_episodes(run).tolist() == [[50.0, 80.0], [100.0, math.inf], [150.0, 150.0]]
    assert change_episodes(make_run(onset_hours=None, harm_hours=None)).shape == (0, 2)


def test_onsets_restart_at_a_deployment():
    run = make_run(detectors={"a": [10.0, 11.0, 12.0, 13.0]})
    run["deployed_version"][12:] = 1
    assert np.flatnonzero(alarm_onsets(run).sel(detector="a").values).tolist() == [10, 12]


def test_the_random_baseline_matches_a_monte_carlo():
    # closed forms against 200,000 simulated windows: detection probability within four
    # binomial standard errors, the mean delay within four standard errors of the mean
    rng = np.random.default_rng(0)
    p, w = 0.05, 30
    first = rng.geometric(p, size=200_000) - 1  # ticks before the first alarm
    hit = first < w
    detect, delay, fa = _random_expect(p, w, 1000.0)
    se = math.sqrt(detect * (1 - detect) / hit.size)
    assert abs(hit.mean() - detect) < 4 * se
    d = first[hit]
    assert abs(d.mean() - delay) < 4 * d.std() / math.sqrt(d.size)
    assert fa == pytest.approx(50.0)


def test_the_periodic_baseline_matches_its_definition():
    # one alarm every 1/p ticks at a uniform phase: detection probability w * p (capped at
    # 1) and, when detected, a delay uniform over the first min(w, 1/p) ticks
    for p, w in ((0.1, 4), (0.1, 30), (0.25, 2)):
        period = round(1 / p)
        phases = np.arange(period)
        first = (phases - 0) % period  # first alarm tick at or after the window start
        hit = first < w
        detect, delay, _ = _periodic_expect(p, w, 0.0)
        assert float(detect) == pytest.approx(hit.mean())
        assert float(delay) == pytest.approx(first[hit].mean())


def test_every_baseline_sits_beside_the_detector():
    s = score(_run([20.0, 53.0, 125.0]))
    assert list(s["baseline"].values) == list(BASELINES)
    a = s.sel(detector="a")
    assert float(a["recall"].sel(baseline="always")) == 1.0
    assert float(a["mean_delay"].sel(baseline="always")) == 0.0
    assert float(a["recall"].sel(baseline="never")) == 0.0
    assert float(a["false_alarms"].sel(baseline="never")) == 0.0
    assert np.isnan(float(a["precision"].sel(baseline="never")))
    # at the detector's rate (3 alarms in 200 ticks) chance catches few of the two changes
    rate = 3 / 200
    assert float(a["alarm_rate"]) == rate
    assert float(a["recall"].sel(baseline="random")) < float(a["recall"].sel(baseline="detector"))


def test_an_always_firing_detector_scores_no_better_than_chance():
    # the trap river's review fell into: alarming all the time "detects" everything if any
    # alarm state after onset counts. Here the alarm is one run from the first tick: it
    # starts before any change, so it detects nothing and is one false alarm.
    s = score(_run([float(h) for h in range(200)])).sel(detector="a", baseline="detector")
    assert float(s["recall"]) == 0.0
    assert float(s["false_alarms"]) == 1.0


def test_a_real_run_with_two_changes():
    # two faults, the first over before the second: a monitor still alarming on the first
    # could not announce the second (its alarm would not start anew)
    first = Faulted(
        world=logistic(n_features=3),
        fault=UnitChange(column="x0", scale=1000.0),
        start=100.0,
        end=150.0,
    )
    world = Faulted(world=first, fault=UnitChange(column="x1", scale=1000.0), start=200.0)
    s = Scenario(
        world=world,
        monitors=(PSI(),),
        traffic=Constant(rate_per_hour=500.0),
        horizon_hours=300.0,
        train_rows=3000,
    )
    run = simulate(s, seed=0)
    twin = simulate(s.twin(), seed=0)
    out = score(run, twin=twin).sel(detector="psi")
    assert out["episode_start"].values.tolist() == [100.0, 200.0]
    assert out["detected"].values.all()
    assert (out["delay"].values <= 2.0).all()


def test_evaluate_with_the_twin_does_not_credit_a_chance_alarm():
    # the bug the issue saw with KS on sea_gradual: a chance alarm after onset counted as the
    # detection. With the twin, that alarm is luck and the real detection is the next one.
    from simlab.metrics import detection_delay, evaluate, first_alarm, lead_time, missed

    run = make_run(onset_hours=100.0, detectors={"ks": [103.0, 120.0]})
    twin = make_run(onset_hours=None, harm_hours=None, detectors={"ks": [103.0]})
    assert float(detection_delay(run).sel(detector="ks")) == 3.0
    assert float(detection_delay(run, twin=twin).sel(detector="ks")) == 20.0
    e = evaluate(run, twin=twin)
    assert float(e["delay_hours"].sel(detector="ks")) == 20.0
    assert e.attrs["twin"] == 1
    assert float(lead_time(run, twin=twin).sel(detector="ks")) == float(
        e["lead_hours"].sel(detector="ks")
    )
    lone = make_run(onset_hours=100.0, detectors={"ks": [103.0]})
    assert bool(missed(lone, twin=twin).sel(detector="ks"))
    assert first_alarm(lone, twin=twin).isnull().all()
    with pytest.raises(ConfigError, match="twin"):
        evaluate(run, twin=make_run(n_ticks=50, harm_hours=None, onset_hours=None, detectors={}))


def test_the_cli_judges_against_the_twin_when_asked(tmp_path, capsys):
    from simlab.cli import main

    toml = tmp_path / "s.toml"
    toml.write_text('extends = "sea_gradual"\nhorizon_hours = 60\ntrain_rows = 1000\n')
    assert main(["run", str(toml), "--out", str(tmp_path / "o"), "--twin", "--quiet"]) == 0
    assert "no-change twin" in capsys.readouterr().out


def test_a_restarting_detector_raises_a_new_alarm_on_every_alarming_tick():
    # a CUSUM that restarts after each alarm and alarms at 99 and again at 100 has raised
    # two alarms; a windowed test alarming at 99 and 100 has raised one, before onset
    from simlab.metrics import first_alarm

    run = make_run(
        onset_hours=100.0, detectors={"oracle_cusum": [99.0, 100.0], "psi": [99.0, 100.0]}
    )
    run = run.assign_coords(detector_kind=("detector", ["oracle_cusum", "psi"]))
    first = first_alarm(run)
    hours = (first - run.time[0]) / np.timedelta64(1, "h")
    assert float(hours.sel(detector="oracle_cusum")) == 100.0
    assert first.sel(detector="psi").isnull()
    assert int(score(run)["n_alarms"].sel(detector="oracle_cusum")) == 2


def test_delays_are_reported_as_ratios_to_the_oracle():
    run = make_run(
        n_ticks=200,
        rows_per_tick=100,
        onset_hours=50.0,
        change_end_hours=50.0,
        extra_events=[("covariate_shift", 120.0, 120.0)],
        detectors={"a": [56.0, 140.0], "oracle": [52.0, 125.0], "b": [53.0]},
    )
    s = score(run, oracle="oracle")
    assert s.attrs["oracle"] == "oracle"
    ratio = s["delay_ratio"]
    # ticks to detection, the alarming tick counted: (6 + 1) / (2 + 1), (20 + 1) / (5 + 1)
    assert ratio.sel(detector="a").values.tolist() == pytest.approx([7 / 3, 21 / 6])
    assert ratio.sel(detector="oracle").values.tolist() == [1.0, 1.0]
    assert ratio.sel(detector="b").values[0] == pytest.approx(4 / 3)
    assert np.isnan(ratio.sel(detector="b")[1])
    mean = s["mean_delay_ratio"].sel(baseline="detector")
    assert float(mean.sel(detector="a")) == pytest.approx(14.0 / 4.5)
    # "auto" finds no detector of kind oracle_cusum in this run: no ratios, no error
    assert "delay_ratio" not in score(run)
    assert score(run).attrs["oracle"] == ""
    assert "delay_ratio" not in score(run, oracle=None)
    with pytest.raises(ConfigError, match="oracle='nope'"):
        score(run, oracle="nope")


def test_a_run_with_the_oracle_among_its_monitors_reports_ratios_to_it():
    from simlab.detectors import OracleCUSUM
    from simlab.scenarios import load

    s = load("short_covariate_shift")
    s = s.replace(
        monitors=(PSI(), OracleCUSUM(world=s.world, before=0.0, after=144.0, threshold=8.0)),
        horizon_hours=240.0,
    )
    sc = score(simulate(s, seed=0))
    assert sc.attrs["oracle"] == "oracle_cusum"
    oracle = sc["delay"].sel(detector="oracle_cusum").values
    psi = sc["delay"].sel(detector="psi").values
    np.testing.assert_array_equal(
        sc["delay_ratio"].sel(detector="psi").values, (psi + 1.0) / (oracle + 1.0)
    )


def test_a_detector_restarts_coordinate_makes_every_alarming_tick_a_new_alarm():
    """Runs whose monitors say themselves that they re-arm (a bench replay) need no registry."""
    from simlab.metrics import alarm_starts

    run = make_run(detectors={"a": [10.0, 11.0, 12.0, 30.0], "b": [10.0, 11.0, 12.0, 30.0]})
    run = run.assign_coords(detector_restarts=("detector", [True, False]))
    starts = alarm_starts(run)
    assert np.flatnonzero(starts.sel(detector="a").values).tolist() == [10, 11, 12, 30]
    assert np.flatnonzero(starts.sel(detector="b").values).tolist() == [10, 30]
