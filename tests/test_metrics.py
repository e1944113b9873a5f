"""Metrics against hand-computed answers on hand-built runs, and the Run conformance check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from simlab.errors import ConfigError
from simlab.metrics import (
    degradation,
    detection_delay,
    evaluate,
    false_alarm_rate,
    false_alarms,
    first_alarm,
    harm_time,
    label_alarm_time,
    label_gap,
    lead_time,
    missed,
    onset,
    optimism,
)
from simlab.sim.run import load, save
from simlab.testing._run_checks import check_run
from simlab.testing._runs import make_run

DETECTORS = {
    "early": [110.0],
    "late": [140.0],
    "noisy": [20.0, 50.0, 105.0],
    "never": [],
    "pre_only": [30.0],
}
NAMES = list(DETECTORS)


def hours(run: xr.Dataset, when: xr.DataArray) -> list[float]:
    """Hours since the run's first tick (nan for NaT), as a flat list of floats."""
    values = np.atleast_1d(((when - run.time[0]) / np.timedelta64(1, "h")).values)
    return [float(v) for v in values]


def same(a, b) -> bool:
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y)
        for x, y in zip(a, b, strict=True)
    )


@pytest.fixture
def run():
    # onset 100 h, harm 130 h, labels 24 h late -> label alarm 154 h; 50 rows a tick
    return make_run(
        onset_hours=100.0,
        harm_hours=130.0,
        label_delay_hours=24.0,
        detectors=DETECTORS,
        rows_per_tick=50,
    )


def test_onset_harm_label_alarm(run):
    assert hours(run, onset(run)) == [100.0]
    assert hours(run, harm_time(run)) == [130.0]
    assert hours(run, label_alarm_time(run)) == [154.0]
    assert onset(run).dtype == np.dtype("datetime64[ns]")
    assert onset(run).ndim == 0


def test_first_alarm_delay_lead(run):
    assert same(hours(run, first_alarm(run)), [110.0, 140.0, 105.0, math.nan, math.nan])
    assert first_alarm(run).dims == ("detector",)
    assert list(first_alarm(run).detector.values) == NAMES
    assert same(detection_delay(run).values.tolist(), [10.0, 40.0, 5.0, math.nan, math.nan])
    # label alarm 154 h - first alarm
    assert same(lead_time(run).values.tolist(), [44.0, 14.0, 49.0, math.nan, math.nan])
    assert detection_delay(run).attrs["units"] == "h"


def test_false_alarms_and_rate(run):
    assert false_alarms(run).values.tolist() == [0, 0, 2, 0, 1]
    # 100 ticks before onset x 50 rows = 5,000 rows -> 2 false alarms = 4 per 10,000 rows
    assert same(false_alarm_rate(run).values.tolist(), [0.0, 0.0, 4.0, 0.0, 2.0])


def test_missed(run):
    assert missed(run).values.tolist() == [False, False, False, True, True]
    assert missed(run).dtype == bool


def test_no_change_run():
    run = make_run(onset_hours=None, harm_hours=None, detectors={"a": [10.0, 20.0], "b": []})
    assert bool(onset(run).isnull())
    assert bool(harm_time(run).isnull())
    assert bool(label_alarm_time(run).isnull())
    assert bool(first_alarm(run).isnull().all())
    assert bool(detection_delay(run).isnull().all())
    assert bool(lead_time(run).isnull().all())
    # every alarm is false when nothing changed: 2 alarms over 200 ticks x 100 rows
    assert false_alarms(run).values.tolist() == [2, 0]
    assert same(false_alarm_rate(run).values.tolist(), [1.0, 0.0])
    assert missed(run).values.tolist() == [False, False]
    scores = evaluate(run)
    assert not bool(scores.is_benign)


def test_benign_change():
    run = make_run(onset_hours=100.0, harm_hours=None, detectors={"a": [120.0]})
    assert bool(harm_time(run).isnull())
    assert bool(label_alarm_time(run).isnull())
    assert same(detection_delay(run).values.tolist(), [20.0])
    assert same(lead_time(run).values.tolist(), [math.nan])
    assert bool(evaluate(run).is_benign)
    # half the tolerance of sag: reported, never harm
    assert float(degradation(run).isel(time=150)) == pytest.approx(0.025)


def test_regression_mae_lower_is_better():
    run = make_run(
        task="regression",
        onset_hours=100.0,
        harm_hours=130.0,
        label_delay_hours=24.0,
        tolerance=0.2,
        detectors={"a": [112.0]},
    )
    assert run.attrs["primary_metric"] == "mae"
    assert not bool(run.higher_is_better.sel(metric="mae"))
    assert hours(run, harm_time(run)) == [130.0]
    assert hours(run, label_alarm_time(run)) == [154.0]
    assert same(lead_time(run).values.tolist(), [42.0])
    # mae rose from 1.0 to 1.4: positive = worse
    assert float(degradation(run).isel(time=150)) == pytest.approx(0.4)
    assert float(degradation(run).isel(time=110)) == pytest.approx(0.1)
    # time split promised mae 1.1, random split 1.0: random split flatters by 0.1
    assert float(optimism(run).isel(time=0)) == pytest.approx(0.1)
    # observed (labels from 24 h ago) mae 1.1 vs true 1.4
    assert float(label_gap(run).isel(time=140)) == pytest.approx(-0.3)


def test_degradation_label_gap_optimism_binary(run):
    d = degradation(run)
    assert d.dims == ("time",)
    assert float(d.isel(time=99)) == pytest.approx(0.0)
    assert float(d.isel(time=100)) == pytest.approx(0.025)
    assert float(d.isel(time=130)) == pytest.approx(0.1)
    gap = label_gap(run)
    assert bool(gap.isel(time=slice(0, 24)).isnull().all())
    assert float(gap.isel(time=140)) == pytest.approx(0.075)  # 0.875 seen, 0.8 true
    assert float(optimism(run).isel(time=0)) == pytest.approx(0.02)
    for da in (d, gap, optimism(run)):
        assert da.attrs["long_name"]
        assert da.attrs["units"] == "1"


def test_metric_and_tolerance_overrides(run):
    assert hours(run, harm_time(run, metric="auc")) == [130.0]
    assert bool(harm_time(run, tolerance=0.3).isnull())
    assert hours(run, harm_time(run, tolerance=0.01)) == [100.0]
    assert hours(run, label_alarm_time(run, tolerance=0.01)) == [124.0]
    assert same(lead_time(run, tolerance=0.01).values.tolist()[:1], [14.0])
    with pytest.raises(ConfigError, match="metric='mae'"):
        harm_time(run, metric="mae")
    with pytest.raises(ConfigError, match="tolerance"):
        harm_time(run, tolerance=-1.0)


def test_min_rows_gates_harm_and_label_alarm():
    # harm from 2 h, but the window holds 100 rows per elapsed tick: 500 rows at 4 h
    run = make_run(onset_hours=0.0, harm_hours=2.0, min_rows=500, label_delay_hours=24.0)
    assert hours(run, harm_time(run)) == [4.0]
    assert hours(run, label_alarm_time(run)) == [28.0]


def test_onset_between_ticks():
    run = make_run(onset_hours=100.5, harm_hours=None, detectors={"a": [100.0, 102.0]})
    assert hours(run, onset(run)) == [100.5]
    assert hours(run, first_alarm(run)) == [102.0]
    assert same(detection_delay(run).values.tolist(), [1.5])
    assert false_alarms(run).values.tolist() == [1]


def test_an_alarm_standing_from_before_onset_is_not_a_detection():
    run = make_run(onset_hours=100.0, harm_hours=None, detectors={"a": [99.0, 100.0, 101.0]})
    assert same(detection_delay(run).values.tolist(), [float("nan")])
    assert bool(missed(run).all())


def test_onset_is_earliest_change_not_other_events():
    run = make_run(
        onset_hours=100.0,
        extra_events=[
            ("train", 10.0, 12.0),
            ("covariate_shift", 80.0, 90.0),
            ("fault", 90.0, None),
        ],
    )
    assert hours(run, onset(run)) == [80.0]
    empty = run.isel(event=slice(0, 0))
    assert bool(onset(empty).isnull())


def test_no_detectors():
    run = make_run(detectors={})
    assert first_alarm(run).sizes == {"detector": 0}
    scores = evaluate(run)
    assert scores.sizes["detector"] == 0
    assert hours(run, scores.harm) == [130.0]


def test_broadcasts_over_a_bench_dim():
    runs = [
        make_run(seed=s, detectors={"a": [100.0 + 10 * s], "b": [150.0]}, harm_hours=None)
        for s in range(3)
    ]
    bench = xr.concat(runs, dim=xr.DataArray([0, 1, 2], dims="seed", name="seed"))
    delay = detection_delay(bench)
    assert set(delay.dims) == {"seed", "detector"}
    assert delay.sel(detector="a").values.tolist() == [0.0, 10.0, 20.0]
    assert delay.sel(detector="b").values.tolist() == [50.0, 50.0, 50.0]
    assert onset(bench).dims == ("seed",)


def test_evaluate_gathers_everything(run):
    scores = evaluate(run)
    assert isinstance(scores, xr.Dataset)
    for name in ("onset", "harm", "label_alarm", "is_benign"):
        assert scores[name].ndim == 0, name
    for name in (
        "delay_hours",
        "lead_hours",
        "false_alarms",
        "false_alarm_rate",
        "missed",
        "first_alarm",
    ):
        assert scores[name].dims == ("detector",), name
    for name, var in scores.data_vars.items():
        assert var.attrs.get("long_name"), name
    assert same(scores.delay_hours.values.tolist(), detection_delay(run).values.tolist())
    assert same(scores.lead_hours.values.tolist(), [44.0, 14.0, 49.0, math.nan, math.nan])
    assert scores.false_alarms.values.tolist() == [0, 0, 2, 0, 1]
    assert scores.missed.values.tolist() == [False, False, False, True, True]
    assert hours(run, scores.label_alarm) == [154.0]
    assert scores.attrs["metric"] == "accuracy"
    assert scores.attrs["tolerance"] == pytest.approx(0.05)
    assert list(scores.detector_kind.values) == ["test"] * 5
    assert bool(evaluate(run, tolerance=0.3).is_benign)


# -- check_run -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"task": "regression"},
        {"onset_hours": None, "harm_hours": None},
        {"tick_hours": 0.5, "n_ticks": 400},
    ],
)
def test_check_run_passes_on_make_run(kwargs, tmp_path):
    run = make_run(**kwargs)
    check_run(run)
    check_run(load(save(run, tmp_path / "run.nc")))


def test_check_run_fails_without_long_name():
    run = make_run()
    del run["true_metric"].attrs["long_name"]
    with pytest.raises(AssertionError, match="'true_metric' has no long_name"):
        check_run(run)


def test_check_run_fails_without_units():
    run = make_run()
    del run["alarm"].attrs["units"]
    with pytest.raises(AssertionError, match="'alarm' has no units"):
        check_run(run)


def test_check_run_fails_on_missing_var_and_lists_all_problems():
    run = make_run().drop_vars(["score_hist", "n_labels"])
    with pytest.raises(AssertionError, match="'score_hist' is missing") as info:
        check_run(run)
    assert "'n_labels' is missing" in str(info.value)


def test_check_run_fails_on_bad_dtype_and_attrs():
    run = make_run()
    run["alarm"] = run["alarm"].astype("float64")
    run.attrs["extra"] = {"a": 1}
    del run.attrs["tolerance"]
    with pytest.raises(AssertionError) as info:
        check_run(run)
    text = str(info.value)
    assert "'alarm' has dtype float64" in text
    assert "attr 'extra'" in text
    assert "attr 'tolerance' is missing" in text


def test_check_run_rejects_units_on_datetimes():
    run = make_run()
    run["event_start"].attrs["units"] = "UTC"
    with pytest.raises(AssertionError, match="netCDF encoding sets it"):
        check_run(run)


def test_check_run_passes_with_no_detectors():
    # netCDF-4 stores zero-length dims (netCDF3 via scipy could not)
    check_run(make_run(detectors={}))


def test_check_run_keeps_int64():
    run = make_run()
    run["n_rows"][0] = 2**40  # netCDF3 had no int64; netCDF-4 keeps it exactly
    check_run(run)


def test_check_run_fails_when_netcdf_cannot_hold_it():
    run = make_run()
    run["n_rows"].attrs["bad"] = {"a": 1}  # netCDF attributes cannot be mappings
    with pytest.raises(AssertionError, match="cannot be saved to netCDF"):
        check_run(run)


def test_make_run_refuses_off_grid_hours():
    with pytest.raises(ConfigError, match="harm_hours"):
        make_run(harm_hours=130.5)
    with pytest.raises(ConfigError, match="task"):
        make_run(task="multiclass")
