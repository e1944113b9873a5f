"""The scenario catalogue: one named, documented scenario per root cause."""

from __future__ import annotations

from simlab.decisions import TopShare
from simlab.detectors import KS, PSI, ScorePSI, WindowedMetric
from simlab.feedback import lending
from simlab.registry import Registry
from simlab.sim.delays import FixedDelay
from simlab.sim.policies import Periodic
from simlab.sim.scenario import Scenario
from simlab.sim.traffic import Constant
from simlab.world.catalog import gaussian_classes, hyperplane, sea
from simlab.world.concepts import SEA, Logistic
from simlab.world.covariates import Gaussian
from simlab.world.schedules import Gradual, Incremental, Sudden
from simlab.world.shifts import ConceptShift, CovariateShift, LabelShift
from simlab.world.worlds import CausalWorld

__all__ = ["SCENARIOS", "get_scenario", "scenario_names"]

SCENARIOS: Registry = Registry("scenario", index=False)

DAY = 24.0
WEEK = 7 * DAY
FEATURES = ("x0", "x1", "x2", "x3", "x4")
ONSET = 3 * WEEK


def _monitors():
    """One monitor of each kind the issue names, at settings a careful team would use.

    KS tests every tick, so its per-tick level is 0.001 (about one false alarm in six weeks
    of hourly ticks); the labels monitor averages 5,000 labels so its noise (SE about 0.006)
    sits well inside the 0.05 tolerance.
    """
    return (
        PSI(),
        KS(alpha=0.001),
        ScorePSI(),
        WindowedMetric(window_size=5000, min_samples=1000),
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


def _base(world, *, name: str, description: str, **overrides) -> Scenario:
    spec = {
        "world": world,
        "monitors": _monitors(),
        "delay": FixedDelay(hours=2 * WEEK),
        "horizon_hours": 8 * WEEK,
        "train_rows": 10000,
        "name": name,
        "description": description,
    }
    spec.update(overrides)
    return Scenario(**spec)


@SCENARIOS.register("no_change")
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
        description="Nothing changes; every alarm is a false alarm.",
    )


@SCENARIOS.register("covariate_extrapolation")
def covariate_extrapolation() -> Scenario:
    """Covariate shift into a region the model never saw, where its linear fit is wrong.

    Examples
    --------
    >>> [e.kind.value for e in covariate_extrapolation().world.events()]
    ['covariate_shift']
    """
    shift = CovariateShift(features=("x0",), mean=2.5, schedule=Gradual(start=ONSET, width=2 * DAY))
    return _base(
        _curved_world((shift,)),
        name="covariate_extrapolation",
        description=(
            "Traffic drifts to large x0 over two days, where the concept bends and the "
            "linear model extrapolates wrongly. Inputs and scores move; labels take two weeks."
        ),
    )


@SCENARIOS.register("silent_concept_drift")
def silent_concept_drift() -> Scenario:
    """Pure concept drift of the same harm: P(X) never moves, so label-free monitors are blind.

    Examples
    --------
    >>> [e.kind.value for e in silent_concept_drift().world.events()]
    ['concept_shift']
    """
    after = Logistic(
        features=FEATURES,
        coef=(-1.5, 1.0, 0.75, -0.5, 0.25),
        intercept=0.8,
        quadratic=(-0.8, 0.0, 0.0, 0.0, 0.0),
    )
    shift = ConceptShift(after=after, schedule=Gradual(start=ONSET, width=2 * DAY))
    return _base(
        _curved_world((shift,)),
        name="silent_concept_drift",
        description=(
            "The effects of x0 and x1 flip over two days while P(X) stays put: the same harm "
            "as the covariate story (accuracy falls to about 0.4), but no input or score "
            "monitor can see it; only labels do, two weeks late."
        ),
    )


@SCENARIOS.register("label_shift")
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
        description="P(Y=1) drops from 0.5 to 0.15 at once; class-conditional inputs do not move.",
    )


@SCENARIOS.register("sea_gradual")
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
        description="SEA: the concept's threshold drops from 8 to 6 over a day (Street and Kim).",
    )


@SCENARIOS.register("hyperplane_rotation")
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
        description="The hyperplane turns 60 degrees over two weeks; inputs never move.",
    )


@SCENARIOS.register("lending_selective_labels")
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


def scenario_names() -> list[str]:
    """Names of the catalogue's scenarios.

    Examples
    --------
    >>> "no_change" in scenario_names()
    True
    """
    return SCENARIOS.names()


def get_scenario(name: str) -> Scenario:
    """The named scenario (with a "did you mean" on a near miss).

    Examples
    --------
    >>> get_scenario("no_change").name
    'no_change'
    """
    return SCENARIOS.get(name)()
