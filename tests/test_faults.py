"""Faults: conformance of every registered fault, and what each does to a model and its monitors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import xarray as xr

import simlab.faults as faults
from simlab import ConfigError, simulate
from simlab.detectors import PSI
from simlab.faults import (
    FAULTS,
    Calibration,
    CategoryRemap,
    DropColumn,
    DuplicateRows,
    Faulted,
    FillMissing,
    LateRows,
    LogTransform,
    NullSpike,
    ReorderColumns,
    Round,
    ServeTimeImpute,
    ServingFault,
    StaleLookup,
    StuckSensor,
    TimeShift,
    Truncate,
    TypeChange,
    UnitChange,
)
from simlab.models import ModelAdapter
from simlab.sim import Constant, FixedDelay, Scenario
from simlab.testing._fault_checks import yield_fault_checks
from simlab.testing.fakes import fault_test_world
from simlab.world import Categorical, CausalWorld, Gaussian, Logistic, Rules, Uniform

# --------------------------------------------------------------------------- conformance


def _cases():
    world = fault_test_world()
    for name in FAULTS.names():
        cls = FAULTS.get(name)
        for i, params in enumerate(cls._test_params()):
            fault = cls(**params)
            for check in yield_fault_checks(fault):
                yield pytest.param(fault, world, check, id=f"{name}[{i}]:{check.__name__}")


@pytest.mark.parametrize(("fault", "world", "check"), list(_cases()))
def test_fault_conformance(fault, world, check):
    check(fault, world)


def test_every_fault_class_is_registered_and_has_test_params():
    classes = [
        obj
        for _, obj in inspect.getmembers(faults, inspect.isclass)
        if issubclass(obj, faults.Fault) and obj is not faults.Fault
    ]
    assert classes
    for cls in classes:
        assert cls.name in FAULTS, f"{cls.__name__} is not registered"
        assert cls._test_params(), f"{cls.__name__} has no test params"
        assert cls.family in ("upstream", "skew", "rot")


def test_fault_errors_name_key_and_value():
    world = fault_test_world()
    with pytest.raises(ConfigError, match="column='nope'"):
        Faulted(world=world, fault=UnitChange(column="nope", scale=2.0))
    with pytest.raises(ConfigError, match=r"column='color'.*numeric"):
        Faulted(world=world, fault=StuckSensor(column="color", value=1.0))
    with pytest.raises(ConfigError, match=r"share=0 "):
        NullSpike(column="a", share=0)
    with pytest.raises(ConfigError, match=r"end=5\.0"):
        Faulted(world=world, fault=DropColumn(column="a"), start=10.0, end=5.0)
    with pytest.raises(ConfigError, match="scale"):
        UnitChange(column="a")  # no change at all
    with pytest.raises(ConfigError, match="serving"):
        Scenario(world=world, serving=(DropColumn(column="a"),))


# --------------------------------------------------------------------------- harm


ONSET = 48.0
HORIZON = 120.0


def numeric_world() -> CausalWorld:
    """x0 and x1 decide the label (log-odds 2 x0 - 2 x1); x2 is noise the model may ignore."""
    return CausalWorld(
        covariates=(Gaussian(features=("x0", "x1", "x2")),),
        concept=Logistic(features=("x0", "x1", "x2"), coef=(2.0, -2.0, 0.0)),
    )


def coded_world() -> CausalWorld:
    """A region code and an hour of day decide the label: night is risky, regions differ."""
    return CausalWorld(
        covariates=(
            Uniform(features=("hour",), low=0.0, high=24.0, units="h"),
            Categorical(feature="region", categories=("north", "south", "east", "west")),
        ),
        concept=Rules(
            rules=(
                {"p": 0.9, "hour": [0.0, 6.0]},
                {"p": 0.85, "region": ["north"]},
                {"p": 0.15, "region": ["south"]},
                {"p": 0.75, "region": ["east"]},
            ),
            default=0.25,
        ),
    )


def _run(fault=None, *, where="upstream", features=None, world=None, seed=0):
    world = numeric_world() if world is None else world
    serving = ()
    if fault is not None and where == "upstream":
        world = Faulted(world=world, fault=fault, start=ONSET)
    elif fault is not None:
        serving = (ServingFault(fault=fault, start=ONSET),)
    # a linear model for the linear world; a tree learns the coded world's rules exactly
    coded = "region" in world.schema
    model = (
        ModelAdapter(estimator="decision_tree", params={"max_depth": 6}, features=features)
        if coded
        else ModelAdapter(features=features)
    )
    s = Scenario(
        world=world,
        serving=serving,
        model=model,
        traffic=Constant(rate_per_hour=400.0),
        delay=FixedDelay(hours=1.0),
        horizon_hours=HORIZON,
        train_rows=5000,
    )
    return simulate(s, seed=seed)


def _accuracy(run, ticks):
    """The mean over ticks of the true accuracy's trailing 24-hour windows."""
    return float(run.true_metric.sel(metric="accuracy").isel(time=ticks).mean())


@pytest.fixture(scope="module")
def clean():
    return {"numeric": _run(), "coded": _run(world=coded_world())}


_ROTATE = {"north": "south", "south": "east", "east": "west", "west": "north"}

# every value-altering fault, on a feature the model uses: (fault, where, world)
HARMFUL = [
    pytest.param(UnitChange(column="x0", scale=100.0), "upstream", "numeric", id="unit_change"),
    pytest.param(Calibration(column="x1", offset=-1.0), "upstream", "numeric", id="calibration"),
    pytest.param(StuckSensor(column="x0", value=0.0), "upstream", "numeric", id="stuck_sensor"),
    pytest.param(NullSpike(column="x0", share=0.9), "upstream", "numeric", id="null_spike"),
    pytest.param(
        NullSpike(column="x1", share=1.0, above=0.0), "upstream", "numeric", id="null_spike_mnar"
    ),
    pytest.param(TypeChange(column="x0"), "upstream", "numeric", id="type_change"),
    pytest.param(DropColumn(column="x0"), "upstream", "numeric", id="drop_column"),
    pytest.param(
        CategoryRemap(column="region", mapping={"north": "south"}), "upstream", "coded", id="remap"
    ),
    pytest.param(Truncate(column="region", length=2), "upstream", "coded", id="truncate"),
    pytest.param(TimeShift(column="hour", hours=9.0), "upstream", "coded", id="time_shift"),
    pytest.param(LogTransform(column="x0"), "serving", "numeric", id="skew_log_transform"),
    pytest.param(UnitChange(column="x1", scale=3.0), "serving", "numeric", id="skew_transform"),
    pytest.param(
        StaleLookup(column="x1", lag_hours=6.0), "serving", "numeric", id="skew_stale_lookup"
    ),
    pytest.param(
        CategoryRemap(column="region", mapping=_ROTATE), "serving", "coded", id="rot_encoding"
    ),
    pytest.param(Round(columns=("x1",), decimals=-1), "serving", "numeric", id="rot_rounding"),
]


@pytest.mark.parametrize(("fault", "where", "world"), HARMFUL)
def test_a_fault_on_a_used_feature_does_harm_after_onset_and_not_before(clean, fault, where, world):
    base = clean[world]
    run = _run(fault, where=where, world=None if world == "numeric" else coded_world())
    xr.testing.assert_identical(
        run.true_metric.isel(time=slice(0, int(ONSET))),
        base.true_metric.isel(time=slice(0, int(ONSET))),
    )
    after = slice(int(ONSET) + 24, None)  # windows wholly after the onset
    # each after-onset window holds 24 x 400 = 9,600 rows: an accuracy's SE is below 0.005,
    # and the mean over 48 overlapping windows is no noisier; 0.03 is over six of them
    assert _accuracy(base, after) - _accuracy(run, after) > 0.03


@pytest.mark.parametrize(
    "fault",
    [
        UnitChange(column="x2", scale=100.0),
        StuckSensor(column="x2", value=5.0),
        NullSpike(column="x2", share=0.9),
        DropColumn(column="x2"),
    ],
    ids=lambda f: f.name,
)
def test_the_same_fault_on_a_feature_the_model_ignores_does_no_harm(fault):
    used = ("x0", "x1")
    run = _run(fault, features=used)
    ref = _run(None, features=used)
    xr.testing.assert_identical(run.true_metric, ref.true_metric)  # not a row's score moves


def test_filling_missing_values_with_a_new_default_does_harm():
    # x0 has values missing at random throughout; the pipeline learned to fill them with
    # the training mean (about 2); after an upgrade, serving fills them with 0 first
    world = CausalWorld(
        covariates=(Gaussian(features=("x0", "x1"), mean=(3.0, 0.0)),),
        concept=Logistic(features=("x0", "x1"), coef=(2.0, -2.0), intercept=-6.0),
    )
    base = Faulted(world=world, fault=NullSpike(column="x0", share=0.5), start=-1e4)
    plain = _run(world=base)
    run = _run(FillMissing(columns=("x0",)), where="serving", world=base)
    after = slice(int(ONSET) + 24, None)
    assert _accuracy(plain, after) - _accuracy(run, after) > 0.03


def test_serve_time_imputation_moves_imputed_rows_when_missingness_depends_on_the_value():
    # from the onset, high x0 goes missing; training filled with its mean of x0 (about 0),
    # serving with the tick's mean of what is left (lower): the imputed rows look poorer
    nulls = NullSpike(column="x0", share=0.9, above=0.5)
    base = Faulted(world=numeric_world(), fault=nulls, start=ONSET)
    imputed = _run(ServeTimeImpute(columns=("x0",)), where="serving", world=base)
    plain = _run(world=base)
    after = slice(int(ONSET) + 24, None)
    assert _accuracy(plain, after) - _accuracy(imputed, after) > 0.01


def test_reordering_columns_is_harmless_to_a_pipeline_that_reads_names(clean):
    run = _run(ReorderColumns())
    xr.testing.assert_identical(run.true_metric, clean["numeric"].true_metric)


# --------------------------------------------------------------------------- where they act


def test_duplicated_rows_show_in_row_counts_label_joins_and_monitor_windows(clean):
    clean = clean["numeric"]
    run = _run(DuplicateRows(share=0.5))
    before, after = slice(0, int(ONSET)), slice(int(ONSET), None)
    xr.testing.assert_identical(run.n_rows.isel(time=before), clean.n_rows.isel(time=before))
    ratio = float(run.n_rows.isel(time=after).sum() / clean.n_rows.isel(time=after).sum())
    # Binomial(n, 0.5) copies of about 28,800 rows: SE of the ratio about 0.003
    assert abs(ratio - 1.5) < 0.02
    # every copy is labelled too: labels an hour later count the duplicates
    labels = float(run.n_labels.isel(time=slice(int(ONSET) + 1, None)).sum())
    served = float(run.n_rows.isel(time=slice(int(ONSET), -1)).sum())
    assert labels == served


def test_duplicated_rows_reach_the_monitors_windows():
    from simlab.detectors import Cardinality

    world = Faulted(world=numeric_world(), fault=DuplicateRows(share=0.5), start=ONSET)
    s = Scenario(
        world=world,
        monitors=(Cardinality(ratio=1.25),),
        traffic=Constant(rate_per_hour=400.0),
        delay=FixedDelay(hours=1.0),
        horizon_hours=HORIZON,
        train_rows=5000,
    )
    alarm = simulate(s, seed=0).alarm.sel(detector="cardinality")
    # a window of copies holds a third fewer distinct values than rows: the cardinality check
    # sees it (the count it expects is the window's size, for values that never repeat)
    assert not bool(alarm.isel(time=slice(0, int(ONSET))).any())
    assert bool(alarm.isel(time=slice(int(ONSET) + 3, None)).all())


def test_late_rows_arrive_later_with_stale_features():
    world = fault_test_world()
    late = Faulted(world=world, fault=LateRows(share=0.3, lag_hours=5.0), start=10.0, end=30.0)
    s = Scenario(
        world=late,
        traffic=Constant(rate_per_hour=300.0, poisson=False),
        delay=FixedDelay(hours=2.0),
        horizon_hours=60.0,
        train_rows=2000,
        monitors=(PSI(features=("a",), window_size=300, min_samples=50),),
    )
    run = simulate(s, seed=0)
    rows = run.n_rows.values
    assert (rows[:10] == 300).all()
    # from 10 h, 30% held (Binomial(300, 0.3): SE 8 rows); from 15 h they come back 5 h late
    assert 300 * 0.7 - 40 < rows[10:15].mean() < 300 * 0.7 + 40
    assert abs(rows[15:30].mean() - 300) < 20
    assert rows[30:35].mean() > 300  # after the window: only the held rows still arriving
    assert (rows[35:] == 300).all()
    assert int(rows.sum()) == 300 * 60  # nothing lost, nothing made up


def test_the_skew_scenario_degrades_serving_while_upstream_is_unchanged():
    # serving multiplies x1 by 3 (a transform training never applied); upstream is untouched
    s_world = numeric_world()
    monitors = (PSI(features=("x0", "x1", "x2")), PSI(on="served", features=("x0", "x1", "x2")))
    runs = {}
    for skew in (None, UnitChange(column="x1", scale=3.0)):
        serving = () if skew is None else (ServingFault(fault=skew, start=ONSET),)
        runs[skew is None] = simulate(
            Scenario(
                world=s_world,
                serving=serving,
                monitors=monitors,
                traffic=Constant(rate_per_hour=400.0),
                delay=FixedDelay(hours=1.0),
                horizon_hours=HORIZON,
                train_rows=5000,
            ),
            seed=0,
        )
    skewed, plain = runs[False], runs[True]
    xr.testing.assert_identical(skewed.feature_mean, plain.feature_mean)  # upstream unchanged
    after = slice(int(ONSET) + 24, None)
    assert _accuracy(plain, after) - _accuracy(skewed, after) > 0.03
    up = skewed.alarm.sel(detector="psi")
    served = skewed.alarm.sel(detector="psi_served")
    assert not bool(up.any())  # an upstream monitor cannot see it
    assert bool(served.isel(time=slice(int(ONSET) + 3, None)).all())  # a served one does
    assert not bool(served.isel(time=slice(0, int(ONSET))).any())
    blamed = skewed.blamed.sel(detector="psi_served").isel(time=-1)
    assert blamed.sel(feature="x1").item()
    assert not blamed.sel(feature="x0").item()


def test_faults_in_sequence_compose():
    world = Faulted(
        world=Faulted(world=fault_test_world(), fault=UnitChange(column="a", scale=10.0)),
        fault=NullSpike(column="a", share=1.0),
        start=5.0,
    )
    b = world.sample(100, 6.0, 0)
    assert np.isnan(b.columns["a"]).all()
    assert repr(world).startswith("Faulted[null_spike]<Faulted[unit_change]<")


# --------------------------------------------------------------------------- blame (catalogue)

# Upstream scenarios whose fault a data check can see (schema, type, range, nulls, codes,
# cardinality). Not here: reordered columns, duplicates and late rows touch no column, and a
# time-zone shift of a uniformly spread hour moves no distribution at all (every value stays
# in the domain and equally likely): no label-free check can see it, only the labels.
_DQ = ("schema", "null_rate", "range", "unseen_categories", "cardinality")
_VISIBLE = [
    "upstream_calibration",
    "upstream_category_remap",
    "upstream_drop_column",
    "upstream_null_by_value",
    "upstream_null_spike",
    "upstream_rename_column",
    "upstream_sensor_drift",
    "upstream_stuck_sensor",
    "upstream_truncation",
    "upstream_type_change",
    "upstream_unit_change",
]


def test_the_list_of_visible_upstream_faults_is_complete():
    from simlab.scenarios import scenario_names

    invisible = {
        "upstream_reorder_columns",
        "upstream_duplicates",
        "upstream_late_rows",
        "upstream_time_zone",
    }
    assert set(scenario_names("upstream")) == set(_VISIBLE) | invisible


@pytest.mark.parametrize("name", _VISIBLE)
def test_a_data_quality_monitor_blames_the_faulted_column(name):
    from simlab.metrics import blamed_right, first_alarm, onset
    from simlab.scenarios import get_scenario

    s = get_scenario(name)
    start = 3 * 168.0
    run = simulate(
        s.replace(horizon_hours=start + 4 * 24.0, traffic=Constant(rate_per_hour=300.0)), seed=0
    )
    dq = [d for d in run.detector.values.tolist() if d in _DQ]
    quiet = run.alarm.sel(detector=dq).isel(time=slice(0, int(start)))
    assert not bool(quiet.any()), "a data check alarmed before the fault"
    right = blamed_right(run).sel(detector=dq)
    assert float(right.max()) == 1.0, f"no data check blamed the faulted column: {right.values}"
    # and the first data check to alarm did so within two days of the fault (a sensor's gain
    # creeping in over a week takes the longest: its tails leave the range after about 40 h)
    delay = (first_alarm(run).sel(detector=dq) - onset(run)) / np.timedelta64(1, "h")
    assert float(delay.min()) <= 48.0
