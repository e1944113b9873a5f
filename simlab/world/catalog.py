"""Named synthetic worlds: the classic benchmark streams, each with its knobs separated."""

from __future__ import annotations

from simlab.validation import check_int, check_real
from simlab.world.concepts import SEA, Friedman, Hyperplane, Logistic, Rules
from simlab.world.covariates import Categorical, Gaussian, Uniform
from simlab.world.worlds import WORLDS, AnticausalWorld, CausalWorld

__all__ = ["credit", "friedman", "gaussian_classes", "hyperplane", "logistic", "sea"]


@WORLDS.register("sea")
def sea(*, threshold: float = 8.0, noise: float = 0.1, shifts=()) -> CausalWorld:
    """SEA: three uniform features on [0, 10), ``y = 1`` when ``x0 + x1 <= threshold``.

    Parameters
    ----------
    threshold
        The concept's threshold (8, 9, 7, 9.5 are the classic four).
    noise
        Label-flip probability.
    shifts
        Shifts to apply.

    Examples
    --------
    >>> w = sea()
    >>> w.schema.names, round(float(w.sample(10000, 0.0, rng=0).y.mean()), 2)
    (('x0', 'x1', 'x2'), 0.35)
    """
    return CausalWorld(
        covariates=(Uniform(features=("x0", "x1", "x2"), low=0.0, high=10.0),),
        concept=SEA(features=("x0", "x1"), threshold=threshold, noise=noise),
        shifts=shifts,
    )


@WORLDS.register("hyperplane")
def hyperplane(*, n_features: int = 10, noise: float = 0.05, shifts=()) -> CausalWorld:
    """Rotating-hyperplane world: features uniform on [0, 1), weights 1..d scaled to sum to 1.

    Parameters
    ----------
    n_features
        Number of features (>= 2).
    noise
        Label-flip probability.
    shifts
        Shifts to apply (``ConceptShift(rotate=...)`` turns the hyperplane).

    Examples
    --------
    >>> round(float(hyperplane(n_features=4).sample(10000, 0.0, rng=0).y.mean()), 1)
    0.5
    """
    from simlab.errors import ConfigError

    if not isinstance(n_features, int) or n_features < 2:
        raise ConfigError("n_features", n_features, "an int >= 2", owner="hyperplane")
    names = tuple(f"x{i}" for i in range(n_features))
    total = n_features * (n_features + 1) / 2
    weights = tuple((i + 1) / total for i in range(n_features))
    return CausalWorld(
        covariates=(Uniform(features=names, low=0.0, high=1.0),),
        concept=Hyperplane(features=names, weights=weights, noise=noise),
        shifts=shifts,
    )


@WORLDS.register("logistic")
def logistic(
    *, n_features: int = 10, coef=None, intercept: float = 0.0, quadratic=None, shifts=()
) -> CausalWorld:
    """Standard-normal features and a logistic concept (optionally with a curve).

    Parameters
    ----------
    n_features
        Number of features (>= 1).
    coef
        Concept weights; default ``1, -1, 0.5, -0.5, ...`` shrinking.
    intercept
        Concept bias.
    quadratic
        Optional weight per feature on x².
    shifts
        Shifts to apply.

    Examples
    --------
    >>> round(float(logistic(n_features=3).sample(10000, 0.0, rng=0).y.mean()), 1)
    0.5
    """
    from simlab.errors import ConfigError

    if not isinstance(n_features, int) or n_features < 1:
        raise ConfigError("n_features", n_features, "an int >= 1", owner="logistic")
    names = tuple(f"x{i}" for i in range(n_features))
    if coef is None:
        coef = tuple((1.0 if i % 2 == 0 else -1.0) / (1 + i // 2) for i in range(n_features))
    return CausalWorld(
        covariates=(Gaussian(features=names),),
        concept=Logistic(features=names, coef=coef, intercept=intercept, quadratic=quadratic),
        shifts=shifts,
    )


@WORLDS.register("gaussian_classes")
def gaussian_classes(
    *, prior: float = 0.5, separation: float = 2.0, n_features: int = 2, shifts=()
) -> AnticausalWorld:
    """Two Gaussian classes (anticausal): the natural home of label shift.

    Parameters
    ----------
    prior
        P(Y=1).
    separation
        Distance between the class means along every feature.
    n_features
        Number of features.
    shifts
        `LabelShift` instances.

    Examples
    --------
    >>> w = gaussian_classes(prior=0.3)
    >>> round(float(w.sample(10000, 0.0, rng=0).y.mean()), 1)
    0.3
    """
    check_int("gaussian_classes", "n_features", n_features, low=1)
    check_real("gaussian_classes", "separation", separation)
    names = tuple(f"x{i}" for i in range(n_features))
    half = separation / 2
    return AnticausalWorld(
        prior=prior,
        negative=(Gaussian(features=names, mean=-half),),
        positive=(Gaussian(features=names, mean=half),),
        shifts=shifts,
    )


@WORLDS.register("friedman")
def friedman(*, noise: float = 1.0, shifts=()) -> CausalWorld:
    """Friedman #1 regression on five uniform features (plus five irrelevant ones).

    Parameters
    ----------
    noise
        Standard deviation of the target noise.
    shifts
        Shifts to apply.

    Examples
    --------
    >>> w = friedman()
    >>> w.schema.task.value, len(w.schema)
    ('regression', 10)
    """
    names = tuple(f"x{i}" for i in range(10))
    return CausalWorld(
        covariates=(Uniform(features=names, low=0.0, high=1.0),),
        concept=Friedman(features=names[:5], noise=noise),
        shifts=shifts,
    )


@WORLDS.register("credit")
def credit(*, shifts=()) -> CausalWorld:
    """A small credit-style world: income, debt ratio and a region, with a rule-list concept.

    Parameters
    ----------
    shifts
        Shifts to apply.

    Examples
    --------
    >>> w = credit()
    >>> w.schema["region"].kind.value, round(float(w.sample(10000, 0.0, rng=0).y.mean()), 2)
    ('categorical', 0.31)
    """
    return CausalWorld(
        covariates=(
            Gaussian(features=("income",), mean=50.0, scale=15.0, units="kUSD"),
            Gaussian(features=("debt_ratio",), mean=0.35, scale=0.12),
            Categorical(
                feature="region",
                categories=("north", "south", "east", "west"),
                p=(0.4, 0.3, 0.2, 0.1),
            ),
        ),
        concept=Rules(
            rules=(
                {"p": 0.75, "debt_ratio": [0.5, float("inf")]},
                {"p": 0.6, "income": [float("-inf"), 30.0], "region": ["south", "west"]},
                {"p": 0.1, "income": [70.0, float("inf")]},
            ),
            default=0.25,
        ),
        shifts=shifts,
    )
