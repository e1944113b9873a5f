"""Small, fully known worlds for tests and doctests (Gymnasium's GenericTestEnv, for simlab)."""

from __future__ import annotations

from simlab.world.concepts import Logistic
from simlab.world.covariates import Categorical, Gaussian, Uniform
from simlab.world.schedules import Sudden
from simlab.world.shifts import CovariateShift
from simlab.world.worlds import CausalWorld

__all__ = ["GenericTestWorld", "fault_test_world", "mean_shift_world"]

FEATURES = ("a", "b", "c")
COEF = (1.0, -1.0, 0.5)


def GenericTestWorld(*, shifts=()) -> CausalWorld:
    """A stationary world: three independent standard-normal features, a logistic concept.

    ``P(Y=1|x) = σ(a - b + 0.5 c)``, so P(Y=1) is 1/2 by symmetry.

    Parameters
    ----------
    shifts
        Shifts to add (none: stationary).

    Examples
    --------
    >>> w = GenericTestWorld()
    >>> w.schema.names, round(float(w.sample(20000, 0.0, rng=0).y.mean()), 1)
    (('a', 'b', 'c'), 0.5)
    """
    return CausalWorld(
        covariates=(Gaussian(features=FEATURES),),
        concept=Logistic(features=FEATURES, coef=COEF),
        shifts=shifts,
    )


def mean_shift_world(*, at: float = 100.0, sigmas: float = 3.0, feature: str = "a") -> CausalWorld:
    """`GenericTestWorld` with a sudden mean shift of `sigmas` standard deviations at hour `at`.

    Parameters
    ----------
    at
        Onset in hours.
    sigmas
        Size of the shift, in standard deviations of the feature (which is 1).
    feature
        The feature that moves.

    Examples
    --------
    >>> w = mean_shift_world(at=10.0)
    >>> before, after = w.sample(20000, 9.0, rng=0), w.sample(20000, 10.0, rng=0)
    >>> round(float(before.columns["a"].mean()), 1), round(float(after.columns["a"].mean()), 1)
    (0.0, 3.0)
    >>> [(e.kind.value, e.start, e.magnitude) for e in w.events(50.0)]
    [('covariate_shift', 10.0, 3.0)]
    """
    shift = CovariateShift(features=(feature,), mean=sigmas, schedule=Sudden(start=at))
    return GenericTestWorld(shifts=(shift,))


def fault_test_world(*, shifts=()) -> CausalWorld:
    """A world with a column of every kind a fault may touch.

    Numeric ``a``, ``b``, ``c`` (standard normal; ``a`` in kUSD), an hour of day ``hour``
    (uniform on [0, 24)), a categorical ``color`` (red, green, blue, black); the concept
    ``P(Y=1|x) = σ(a - b + 0.5 c)``.

    Parameters
    ----------
    shifts
        Shifts to add (none: stationary).

    Examples
    --------
    >>> fault_test_world().schema.names
    ('a', 'b', 'c', 'hour', 'color')
    """
    return CausalWorld(
        covariates=(
            Gaussian(features=("a",), units="kUSD"),
            Gaussian(features=("b", "c")),
            Uniform(features=("hour",), low=0.0, high=24.0, units="h"),
            Categorical(
                feature="color",
                categories=("red", "green", "blue", "black"),
                p=(0.4, 0.3, 0.2, 0.1),
            ),
        ),
        concept=Logistic(features=FEATURES, coef=COEF),
        shifts=shifts,
    )
