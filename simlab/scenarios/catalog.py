"""The scenario catalogue: one named, documented scenario per root cause and pattern.

Every scenario shares the deployment a careful team would run: eight weeks of hourly traffic,
a two-week label delay, a model trained on a week of history, and the same monitors (input
features upstream and served, prediction scores, delayed labels). The change, when there is
one, begins three weeks in. `simlab list` shows each with its root cause; each is also a TOML
file in ``simlab/scenarios/toml/`` (written by `simlab.scenarios.loader.dumps`).
"""

from __future__ import annotations

import math

from simlab.decisions import TopShare
from simlab.detectors import (
    KS,
    PSI,
    Cardinality,
    NullRate,
    RangeCheck,
    SchemaCheck,
    ScorePSI,
    UnseenCategories,
    WindowedMetric,
)
from simlab.faults import (
    Calibration,
    CategoryRemap,
    DropColumn,
    DuplicateRows,
    Faulted,
    FillMissing,
    Float32,
    LateRows,
    LogTransform,
    NullSpike,
    RenameColumn,
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
from simlab.feedback import lending
from simlab.models import ModelAdapter
from simlab.registry import Registry
from simlab.sim.delays import FixedDelay
from simlab.sim.policies import Periodic
from simlab.sim.scenario import Scenario
from simlab.sim.traffic import Constant
from simlab.world.catalog import gaussian_classes, hyperplane, sea
from simlab.world.concepts import SEA, Logistic, Rules
from simlab.world.covariates import Categorical, Gaussian, Uniform
from simlab.world.schedules import Gradual, Incremental, Recurring, Seasonal, Sudden, Wander
from simlab.world.shifts import ConceptShift, CovariateShift, LabelShift
from simlab.world.worlds import Ambient, CausalWorld

__all__ = ["SCENARIOS", "get_scenario", "scenario_names"]

SCENARIOS: Registry = Registry("scenario", index=False)

DAY = 24.0
WEEK = 7 * DAY
FEATURES = ("x0", "x1", "x2", "x3", "x4")
ONSET = 3 * WEEK
ALWAYS = -1e5  # a start before any history: a property of the world, not a change


def _monitors(numeric=None, *, codes: bool = False):
    """One monitor of each kind, at settings a careful team would use.

    KS tests every tick, so its per-tick level is 0.001 (about one false alarm in six weeks
    of hourly ticks); the labels monitor averages 5,000 labels so its noise (SE about 0.006)
    sits well inside the 0.05 tolerance. The second PSI watches the served features. KS tests
    the `numeric` columns (all, when None: a world with codes must list its numbers). The
    data-quality checks test at 0.001 a tick too; the cardinality check alarms when a column's
    distinct values fall or rise by a quarter (a merged code, a stuck sensor); a world with
    `codes` also has its unseen codes checked.
    """
    unseen = (UnseenCategories(),) if codes else ()
    return (
        PSI(),
        KS(alpha=0.001, features=numeric),
        ScorePSI(),
        WindowedMetric(window_size=5000, min_samples=1000),
        PSI(on="served"),
        SchemaCheck(),
        NullRate(alpha=0.001),
        RangeCheck(alpha=0.001, features=numeric),
        *unseen,
        Cardinality(ratio=1.25),
    )


def _curved_world(shifts=()) -> CausalWorld:
    """Five Gaussian features; the concept bends in x0 (a curve a linear model cannot follow)."""
    return CausalWorld(
        covariates=(Gaussian(features=FEATURES),),
        concept=Logistic(
            features=FEATURES,
            coef=(1.5, -1.0, 0.75, -0.5, 0.25),
            intercept=0.8,
            quadratic=(-0.8, 0.0, 0.0, 0.0, 0.0),
        ),
        shifts=shifts,
    )


def _coded_world() -> CausalWorld:
    """A region code, an hour of day and a spend decide the label (night is risky)."""
    return CausalWorld(
        covariates=(
            Uniform(features=("hour",), low=0.0, high=24.0, units="h"),
            Categorical(feature="region", categories=("north", "south", "east", "west")),
            Gaussian(features=("spend",), mean=50.0, scale=15.0, units="USD"),
        ),
        concept=Rules(
            rules=(
                {"p": 0.9, "hour": [0.0, 6.0]},
                {"p": 0.85, "region": ["north"]},
                {"p": 0.15, "region": ["south"]},
                {"p": 0.8, "spend": [70.0, math.inf]},
                {"p": 0.75, "region": ["east"]},
            ),
            default=0.25,
        ),
    )


_TREE = ModelAdapter(estimator="decision_tree", params={"max_depth": 6})


def _base(world, *, name: str, cause: str, description: str, **overrides) -> Scenario:
    spec = {
        "world": world,
        "monitors": _monitors(),
        "delay": FixedDelay(hours=2 * WEEK),
        "horizon_hours": 8 * WEEK,
        "train_rows": 10000,
        "name": name,
        "cause": cause,
        "description": description,
    }
    spec.update(overrides)
    return Scenario(**spec)


def _scenario(name: str, cause: str):
    """Register a scenario builder under `name`, with its root cause."""

    def register(builder):
        builder.cause = cause
        return SCENARIOS.register(name)(builder)

    return register


# --------------------------------------------------------------------------- no change


@_scenario("no_change", "none")
def no_change() -> Scenario:
    """The null twin: the curved world with nothing injected (false alarms, ARL0).

    Examples
    --------
    >>> no_change().world.events()
    []
    """
    return _base(
        _curved_world(),
        name="no_change",
        cause="none",
        description="Nothing changes; every alarm is a false alarm.",
    )


@_scenario("null_seasonal", "none")
def null_seasonal() -> Scenario:
    """Normal life with a daily cycle: x0's mean swings every day, nothing is injected.

    The model trained on a week of it; a detector that assumes independent rows compares
    one hour's window with a reference that mixes every hour, and flags the cycle.

    Examples
    --------
    >>> null_seasonal().world.events()
    []
    """
    daily = CovariateShift(
        features=("x0",), mean=1.0, schedule=Seasonal(period=DAY, start=-1000 * DAY)
    )
    return _base(
        Ambient(world=_curved_world((daily,))),
        name="null_seasonal",
        cause="none",
        description=(
            "x0's mean swings by one sd every day, as it always has: no change, but hourly "
            "windows are not independent of the hour."
        ),
    )


@_scenario("null_autocorrelated", "none")
def null_autocorrelated() -> Scenario:
    """Normal life with autocorrelated inputs: x1's mean wanders and comes back, nothing injected.

    Examples
    --------
    >>> null_autocorrelated().world.events()
    []
    """
    wander = CovariateShift(features=("x1",), mean=1.5, schedule=Wander(correlation_hours=DAY))
    return _base(
        Ambient(world=_curved_world((wander,))),
        name="null_autocorrelated",
        cause="none",
        description=(
            "x1's mean wanders (a day's memory) as it always has: stationary in the long "
            "run, but neighbouring hours are alike, which row-independent tests misread."
        ),
    )


# --------------------------------------------------------------------------- covariate shift


def _covariate(name: str, schedule, what: str) -> Scenario:
    shift = CovariateShift(features=("x0",), mean=2.5, schedule=schedule)
    return _base(
        _curved_world((shift,)),
        name=name,
        cause="covariate_shift",
        description=(
            f"x0 moves by 2.5 sd {what}, into the region where the concept bends and the "
            "linear model extrapolates wrongly. Inputs and scores move; labels take two weeks."
        ),
    )


@_scenario("covariate_extrapolation", "covariate_shift")
def covariate_extrapolation() -> Scenario:
    """Covariate shift into a region the model never saw, where its linear fit is wrong.

    Examples
    --------
    >>> [e.kind.value for e in covariate_extrapolation().world.events()]
    ['covariate_shift']
    """
    return _covariate(
        "covariate_extrapolation", Gradual(start=ONSET, width=2 * DAY), "over two days"
    )


@_scenario("covariate_sudden", "covariate_shift")
def covariate_sudden() -> Scenario:
    """The same covariate shift, all at once.

    Examples
    --------
    >>> covariate_sudden().world.shifts[0].schedule
    Sudden(start=504.0)
    """
    return _covariate("covariate_sudden", Sudden(start=ONSET), "at once")


@_scenario("covariate_incremental", "covariate_shift")
def covariate_incremental() -> Scenario:
    """The same covariate shift, creeping in over two weeks.

    Examples
    --------
    >>> covariate_incremental().world.shifts[0].schedule.width
    336.0
    """
    return _covariate(
        "covariate_incremental", Incremental(start=ONSET, width=2 * WEEK), "creeping over two weeks"
    )


@_scenario("covariate_recurring", "covariate_shift")
def covariate_recurring() -> Scenario:
    """The same covariate shift, on for half of every week and off for the other half.

    Examples
    --------
    >>> covariate_recurring().world.shifts[0].schedule.period
    168.0
    """
    return _covariate(
        "covariate_recurring",
        Recurring(start=ONSET, period=WEEK, duty=0.5),
        "for half of every week (a recurring regime)",
    )


@_scenario("covariate_seasonal", "covariate_shift")
def covariate_seasonal() -> Scenario:
    """The same covariate shift as a smooth weekly season that starts at the onset.

    Examples
    --------
    >>> covariate_seasonal().world.shifts[0].schedule.period
    168.0
    """
    return _covariate(
        "covariate_seasonal", Seasonal(period=WEEK, start=ONSET), "and back every week, smoothly"
    )


# --------------------------------------------------------------------------- label shift


@_scenario("label_shift", "label_shift")
def label_shift() -> Scenario:
    """Label shift: positives fall from 50% to 15% of traffic; P(X|Y) is unchanged.

    Examples
    --------
    >>> [e.kind.value for e in label_shift().world.events()]
    ['label_shift']
    """
    world = gaussian_classes(
        prior=0.5,
        separation=1.5,
        n_features=3,
        shifts=(LabelShift(prior=0.15, schedule=Sudden(start=ONSET)),),
    )
    return _base(
        world,
        name="label_shift",
        cause="label_shift",
        description="P(Y=1) drops from 0.5 to 0.15 at once; class-conditional inputs do not move.",
    )


# --------------------------------------------------------------------------- concept drift


def _flipped() -> Logistic:
    return Logistic(
        features=FEATURES,
        coef=(-1.5, 1.0, 0.75, -0.5, 0.25),
        intercept=0.8,
        quadratic=(-0.8, 0.0, 0.0, 0.0, 0.0),
    )


@_scenario("silent_concept_drift", "concept_drift")
def silent_concept_drift() -> Scenario:
    """Pure concept drift of the same harm: P(X) never moves, so label-free monitors are blind.

    Examples
    --------
    >>> [e.kind.value for e in silent_concept_drift().world.events()]
    ['concept_shift']
    """
    shift = ConceptShift(after=_flipped(), schedule=Gradual(start=ONSET, width=2 * DAY))
    return _base(
        _curved_world((shift,)),
        name="silent_concept_drift",
        cause="concept_drift",
        description=(
            "The effects of x0 and x1 flip over two days while P(X) stays put: the same harm "
            "as the covariate story (accuracy falls to about 0.4), but no input or score "
            "monitor can see it; only labels do, two weeks late."
        ),
    )


@_scenario("concept_sudden", "concept_drift")
def concept_sudden() -> Scenario:
    """The same concept flip, at once.

    Examples
    --------
    >>> concept_sudden().world.shifts[0].schedule
    Sudden(start=504.0)
    """
    shift = ConceptShift(after=_flipped(), schedule=Sudden(start=ONSET))
    return _base(
        _curved_world((shift,)),
        name="concept_sudden",
        cause="concept_drift",
        description="The effects of x0 and x1 flip at once; P(X) never moves.",
    )


@_scenario("concept_recurring", "concept_drift")
def concept_recurring() -> Scenario:
    """The concept flips for half of every week and back (a recurring context).

    Examples
    --------
    >>> concept_recurring().world.shifts[0].schedule.duty
    0.5
    """
    shift = ConceptShift(after=_flipped(), schedule=Recurring(start=ONSET, period=WEEK))
    return _base(
        _curved_world((shift,)),
        name="concept_recurring",
        cause="concept_drift",
        description=(
            "The effects of x0 and x1 flip for half of every week and come back: a "
            "recurring context (weekday and weekend customers) that labels see late."
        ),
    )


@_scenario("sea_gradual", "concept_drift")
def sea_gradual() -> Scenario:
    """SEA (Street and Kim): the concept's threshold falls from 8 to 6 over a day.

    Examples
    --------
    >>> sea_gradual().world.concept.threshold
    8.0
    """
    world = sea(
        shifts=(ConceptShift(after=SEA(threshold=6.0), schedule=Gradual(start=ONSET, width=DAY)),)
    )
    return _base(
        world,
        name="sea_gradual",
        cause="concept_drift",
        description="SEA: the concept's threshold drops from 8 to 6 over a day (Street and Kim).",
    )


@_scenario("hyperplane_rotation", "concept_drift")
def hyperplane_rotation() -> Scenario:
    """A rotating hyperplane: the concept turns by 60 degrees over two weeks (incremental).

    Examples
    --------
    >>> hyperplane_rotation().world.shifts[0].rotate
    60.0
    """
    world = hyperplane(
        n_features=5,
        shifts=(ConceptShift(rotate=60.0, schedule=Incremental(start=ONSET, width=2 * WEEK)),),
    )
    return _base(
        world,
        name="hyperplane_rotation",
        cause="concept_drift",
        description="The hyperplane turns 60 degrees over two weeks; inputs never move.",
    )


@_scenario("real_world_drift", "concept_drift")
def real_world_drift() -> Scenario:
    """Real-world concept drift over half a year: slow, steady, and a model retrained monthly.

    Examples
    --------
    >>> s = real_world_drift()
    >>> s.horizon_hours / (24 * 7), s.policy.period_hours / 24
    (26.0, 28.0)
    """
    world = hyperplane(
        n_features=5,
        shifts=(ConceptShift(rotate=120.0, schedule=Incremental(start=2 * WEEK, width=22 * WEEK)),),
    )
    return _base(
        world,
        name="real_world_drift",
        cause="concept_drift",
        description=(
            "Behaviour evolves over half a year (the concept turns 120 degrees in 22 weeks); "
            "the model is retrained every four weeks on the last four weeks of labels, and "
            "still falls behind between retrainings."
        ),
        horizon_hours=26 * WEEK,
        traffic=Constant(rate_per_hour=100.0),
        policy=Periodic(period_hours=4 * WEEK, window_hours=4 * WEEK, min_rows=2000),
    )


# --------------------------------------------------------------------------- upstream


_CODED_NUMBERS = ("hour", "spend")


def _upstream(name: str, fault, description: str, *, coded: bool = False, **overrides):
    world = _coded_world() if coded else _curved_world()
    if coded:
        overrides.setdefault("model", _TREE)
        overrides.setdefault("monitors", _monitors(_CODED_NUMBERS, codes=True))
    return _base(
        Faulted(world=world, fault=fault, start=ONSET),
        name=name,
        cause="upstream",
        description=description,
        **overrides,
    )


_UPSTREAM = {
    "upstream_drop_column": (
        DropColumn(column="x0"),
        "x0 disappears from the source table; serving falls back to its training mean.",
        {},
    ),
    "upstream_rename_column": (
        RenameColumn(column="x1", to="x1_v2"),
        "x1 is renamed to x1_v2 upstream: its values arrive under a name no consumer reads.",
        {},
    ),
    "upstream_reorder_columns": (
        ReorderColumns(),
        "The source's columns arrive reversed: harmless to pipelines that read by name.",
        {},
    ),
    "upstream_type_change": (
        TypeChange(column="x0"),
        "x0 starts arriving as text ('1.25'): serving cannot use it and falls back.",
        {},
    ),
    "upstream_unit_change": (
        UnitChange(column="x0", scale=100.0),
        "x0 switches units (x100, dollars to cents) without notice.",
        {},
    ),
    "upstream_truncation": (
        Truncate(column="region", length=2),
        "An ETL step truncates region codes to two letters: every code is one never seen.",
        {"coded": True},
    ),
    "upstream_calibration": (
        Calibration(column="x1", offset=-0.8),
        "The sensor writing x1 is recalibrated wrongly: every reading 0.8 sd low.",
        {},
    ),
    "upstream_sensor_drift": (
        Calibration(column="x1", gain=1.6, schedule=Incremental(start=ONSET, width=WEEK)),
        "The sensor writing x1 drifts: its gain creeps to 1.6 over a week.",
        {},
    ),
    "upstream_stuck_sensor": (
        StuckSensor(column="x0", value=0.0),
        "The sensor writing x0 freezes at 0.0 (its mean): every reading identical.",
        {},
    ),
    "upstream_null_spike": (
        NullSpike(column="x0", share=0.5),
        "Half of x0's values go missing at random (a failing join).",
        {},
    ),
    "upstream_null_by_value": (
        NullSpike(column="x1", share=0.9, above=0.5),
        "x1 goes missing when it is high (a form that drops large values): not at random.",
        {},
    ),
    "upstream_category_remap": (
        CategoryRemap(column="region", mapping={"south": "north"}),
        "The source merges region 'south' into 'north'.",
        {"coded": True},
    ),
    "upstream_duplicates": (
        DuplicateRows(share=0.3),
        "A job writes 30% of rows twice: row counts, label joins and windows all double-count.",
        {},
    ),
    "upstream_late_rows": (
        LateRows(share=0.3, lag_hours=DAY),
        "30% of rows reach serving a day late, with the features they had then.",
        {},
    ),
    "upstream_time_zone": (
        TimeShift(column="hour", hours=5.0),
        "The source switches the hour column to another time zone (+5 h).",
        {"coded": True},
    ),
}


def _register_upstream(name: str, fault, description: str, options: dict) -> None:
    def builder() -> Scenario:
        return _upstream(name, fault, description, **options)

    builder.__name__ = name
    builder.__doc__ = f"""Upstream: {description}

    Examples
    --------
    >>> from simlab.scenarios import get_scenario
    >>> get_scenario({name!r}).world.fault.name
    {fault.name!r}
    """
    _scenario(name, "upstream")(builder)


for _name, (_fault, _description, _options) in _UPSTREAM.items():
    _register_upstream(_name, _fault, _description, _options)


# --------------------------------------------------------------------------- skew and rot


def _at_serving(name: str, cause: str, world, faults, description: str, **overrides) -> Scenario:
    serving = tuple(ServingFault(fault=f, start=ONSET) for f in faults)
    return _base(
        world, name=name, cause=cause, description=description, serving=serving, **overrides
    )


@_scenario("skew_serve_time_imputation", "skew")
def skew_serve_time_imputation() -> Scenario:
    """Serve-time imputation meets missingness that depends on the value.

    From the onset high x1 values go missing upstream; training filled missing values with
    its own mean, serving fills them with the mean of what each hour still has (lower).

    Examples
    --------
    >>> [s.fault.name for s in skew_serve_time_imputation().serving]
    ['serve_time_impute']
    """
    world = Faulted(
        world=_curved_world(), fault=NullSpike(column="x1", share=0.9, above=0.5), start=ONSET
    )
    return _at_serving(
        "skew_serve_time_imputation",
        "skew",
        world,
        (ServeTimeImpute(columns=("x1",)),),
        "High x1 goes missing upstream; serving imputes it with the hour's own mean, lower "
        "than the training mean the model learned with.",
    )


@_scenario("skew_stale_lookup", "skew")
def skew_stale_lookup() -> Scenario:
    """A feature read at serving from a lookup table twelve hours out of date.

    Examples
    --------
    >>> skew_stale_lookup().serving[0].fault.lag_hours
    12.0
    """
    return _at_serving(
        "skew_stale_lookup",
        "skew",
        _curved_world(),
        (StaleLookup(column="x1", lag_hours=12.0),),
        "Serving reads x1 from a lookup table twelve hours stale: values of another time "
        "and entity. Upstream x1 is untouched.",
    )


@_scenario("skew_transform", "skew")
def skew_transform() -> Scenario:
    """A different transform at serving: x0 goes through log1p there, never in training.

    Examples
    --------
    >>> skew_transform().serving[0].fault.name
    'log_transform'
    """
    return _at_serving(
        "skew_transform",
        "skew",
        _curved_world(),
        (LogTransform(column="x0"),),
        "Serving applies log1p to x0 (a 'fix' in the serving code only); training used x0 raw.",
    )


@_scenario("rot_float32", "rot")
def rot_float32() -> Scenario:
    """The serving stack casts every feature to float32 after a migration (benign).

    Examples
    --------
    >>> rot_float32().serving[0].fault.columns
    ('x0', 'x1', 'x2', 'x3', 'x4')
    """
    return _at_serving(
        "rot_float32",
        "rot",
        _curved_world(),
        (Float32(columns=FEATURES),),
        "After a migration serving casts features to float32: seven digits survive, and "
        "nothing a logistic model does notices (a benign change, to show what benign looks like).",
    )


@_scenario("rot_rounding", "rot")
def rot_rounding() -> Scenario:
    """An upgraded export rounds x1 to whole numbers at serving.

    Examples
    --------
    >>> rot_rounding().serving[0].fault.decimals
    0
    """
    return _at_serving(
        "rot_rounding",
        "rot",
        _curved_world(),
        (Round(columns=("x1",), decimals=0),),
        "A library upgrade changes the export's rounding: x1 reaches the model as a whole number.",
    )


@_scenario("rot_default_change", "rot")
def rot_default_change() -> Scenario:
    """An upgrade changes a preprocessing default: missing x0 is filled with -2, not the mean.

    Examples
    --------
    >>> rot_default_change().serving[0].fault.value
    -2.0
    """
    gaps = Faulted(world=_curved_world(), fault=NullSpike(column="x0", share=0.3), start=ALWAYS)
    world = Ambient(world=gaps)  # the gaps are normal life, not a change
    return _at_serving(
        "rot_default_change",
        "rot",
        world,
        (FillMissing(columns=("x0",), value=-2.0),),
        "x0 is missing for 30% of rows, as always; after an upgrade serving fills the gaps "
        "with -2 (a changed default) where training used the mean.",
    )


@_scenario("rot_category_encoding", "rot")
def rot_category_encoding() -> Scenario:
    """An upgrade reorders the category encoding: the model reads every region as another.

    Examples
    --------
    >>> len(rot_category_encoding().serving[0].fault.mapping)
    4
    """
    rotate = {"north": "south", "south": "east", "east": "west", "west": "north"}
    return _at_serving(
        "rot_category_encoding",
        "rot",
        _coded_world(),
        (CategoryRemap(column="region", mapping=rotate),),
        "After an upgrade the region encoding is reordered: the model reads each region's "
        "column for another's.",
        model=_TREE,
        monitors=_monitors(_CODED_NUMBERS, codes=True),
    )


# --------------------------------------------------------------------------- feedback


@_scenario("lending_selective_labels", "feedback")
def lending_selective_labels() -> Scenario:
    """Selective labels: a lender learns repayment only for the loans it approved.

    The bank approves the top 30% of applicants by predicted repayment; repayment is known
    two weeks later, for approved loans only; every two weeks the model is retrained on the
    last four weeks of approved loans. Nothing in the world changes, yet after the first
    retraining the model is evaluated (offline and online) on the applicants it chose:
    both say about 0.91 while its accuracy on all applicants is about 0.73. Add exploration
    (`simlab.decisions.Explore`) and the Run's ``ipw_metric`` recovers the truth.

    Examples
    --------
    >>> s = lending_selective_labels()
    >>> s.decision.share, s.world.name
    (0.3, 'selective_labels')
    """
    return _base(
        lending(),
        name="lending_selective_labels",
        cause="feedback",
        description=(
            "A lender approves the top 30% and sees repayment only for approved loans; "
            "retrained on them, the model looks 0.91 accurate and is 0.73 on all applicants."
        ),
        decision=TopShare(share=0.3),
        traffic=Constant(rate_per_hour=200.0),
        horizon_hours=12 * WEEK,
        window_hours=WEEK,
        policy=Periodic(period_hours=2 * WEEK, window_hours=4 * WEEK, min_rows=500),
    )


@_scenario("recommender_exposure", "feedback")
def recommender_exposure() -> Scenario:
    """A recommender retrained on its own clicks: it learns only from what it chose to show.

    Each hour's rows are candidate (user, item) pairs; the deployed model shows each user's
    best three (`TopK`), users click a shown item with probability its true utility times
    a position discount, and only shown rows are labelled (a day later). Retrained weekly
    on those, the model sees its own exposure and position bias; new items keep arriving.
    Its observed metric is on the clicks it caused, its true metric on every candidate.

    Examples
    --------
    >>> s = recommender_exposure()
    >>> s.decision.k, s.world.name
    (3, 'recommendations')
    """
    from simlab.decisions import TopK
    from simlab.feedback import Recommendations

    world = Recommendations()
    features = (*world._u, *world._i)  # the model reads tastes and attributes, not ids
    return _base(
        world,
        name="recommender_exposure",
        cause="feedback",
        description=(
            "A recommender shows each user its top 3 of 20 candidates, learns from clicks on "
            "what it showed (position-discounted), and is retrained weekly on them."
        ),
        model=ModelAdapter(features=features),
        decision=TopK(k=3, group="user"),
        delay=FixedDelay(hours=24.0),
        policy=Periodic(period_hours=WEEK, window_hours=2 * WEEK, min_rows=500),
    )


@_scenario("patrols_runaway", "feedback")
def patrols_runaway() -> Scenario:
    """Patrols sent where incidents were recorded, and incidents recorded only where patrols go.

    Locations in four regions with incident rates 0.3, 0.2, 0.15 and 0.1; the model scores
    them, the top quarter get a patrol (`TopShare`), incidents are recorded a day later for
    patrolled locations only, and the model is retrained weekly on those: the runaway loop of
    `simlab.feedback.runaway_urn` with a model in place of the urn.

    Examples
    --------
    >>> s = patrols_runaway()
    >>> s.decision.share, s.world.name
    (0.25, 'selective_labels')
    """
    from simlab.feedback import patrols

    return _base(
        patrols(),
        name="patrols_runaway",
        cause="feedback",
        description=(
            "Patrols go to the top quarter of locations by score, incidents are recorded only "
            "where patrols went, and the model is retrained weekly on those records."
        ),
        monitors=_monitors(("hour",), codes=True),
        decision=TopShare(share=0.25),
        delay=FixedDelay(hours=24.0),
        policy=Periodic(period_hours=WEEK, window_hours=2 * WEEK, min_rows=500),
    )


def scenario_names(cause: str | None = None) -> list[str]:
    """Names of the catalogue's scenarios (of one root cause, if given).

    Examples
    --------
    >>> "no_change" in scenario_names(), scenario_names("feedback")
    (True, ['lending_selective_labels', 'patrols_runaway', 'recommender_exposure'])
    """
    return [n for n in SCENARIOS.names() if cause is None or SCENARIOS.get(n).cause == cause]


def get_scenario(name: str) -> Scenario:
    """The named scenario (with a "did you mean" on a near miss).

    Examples
    --------
    >>> get_scenario("no_change").name
    'no_change'
    """
    return SCENARIOS.get(name)()
