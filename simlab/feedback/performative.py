"""Performative shift: the deployed model's predictions change the world it predicts.

A forecast of traffic reroutes drivers; a credit score changes how applicants borrow; a
published risk changes behaviour (Perdomo et al. 2020). `PerformativeGaussian` is the
simplest such world: the outcome's mean moves with the deployed model's estimate, and
retraining chases it; `repeated_risk_minimisation` is the same loop without the engine,
converging to the performatively stable point when the world reacts weakly and running
away when it reacts strongly. `Strategic` is the other face of performativity: individuals
move their features towards a higher score from the deployed model, and their outcome does
not follow (gaming, not improvement).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.params import Component
from simlab.rng import Rngs
from simlab.validation import as_tuple, check_int, check_real
from simlab.world.base import WorldWrapper, notify_deploy, twin
from simlab.world.schema import FeatureSpec, Kind, Schema, Task
from simlab.world.worlds import WORLDS, _rngs

__all__ = ["PerformativeGaussian", "Strategic", "repeated_risk_minimisation"]

#: Rows of the fixed probe on which a deployed model is read (the same in every run).
_N_PROBE = 1000
#: The probe's seed: the probe is part of the world's definition, not of a run's randomness.
_PROBE_SEED = 0


def _n_rows(columns) -> int:
    for col in columns.values():
        return len(np.asarray(col))
    return 0


def repeated_risk_minimisation(
    *,
    mean: float,
    epsilon: float,
    steps: int,
    n: int = 1000,
    scale: float = 1.0,
    theta0: float = 0.0,
    seed: int = 0,
) -> xr.DataArray:
    """Repeated retraining in a performative Gaussian world, without the engine.

    The world draws outcomes ``y ~ N(mean + epsilon * theta, scale²)`` when the deployed
    estimate is ``theta``; each step retrains on `n` fresh outcomes and deploys their mean
    (the squared-loss risk minimiser): ``theta[t + 1] = mean(y_1 .. y_n)``. The mean of `n`
    such draws is drawn directly (it is ``N(mean + epsilon * theta, scale² / n)`` exactly),
    so `n` may be as large as you like at no cost.

    For ``|epsilon| < 1`` the estimates converge, geometrically at rate ``|epsilon|``, to the
    performatively stable point ``mean / (1 - epsilon)``, where the model predicts the
    world its own deployment creates; for ``|epsilon| > 1`` they run away, the distance to
    that point growing like ``|epsilon| ** t``.

    Parameters
    ----------
    mean
        The outcome's mean when the deployed estimate is 0.
    epsilon
        How strongly the world follows the deployed estimate (its sensitivity).
    steps
        Retrainings to simulate (>= 1).
    n
        Outcomes per retraining (>= 1).
    scale
        The outcome's standard deviation (>= 0).
    theta0
        The first deployed estimate.
    seed
        Seed of the simulation's own `numpy.random.Generator`.

    Returns
    -------
    xarray.DataArray
        ``theta`` on dim ``step`` (0 to `steps`; step 0 is `theta0`); attrs hold the
        parameters and ``stable_point`` (``mean / (1 - epsilon)``, NaN when epsilon is 1).

    Notes
    -----
    The error ``e[t] = theta[t] - mean / (1 - epsilon)`` follows
    ``e[t + 1] = epsilon * e[t] + scale / sqrt(n) * z[t]`` with ``z`` standard normal: an
    AR(1) process, whose noise has standard deviation at most
    ``scale / sqrt(n * (1 - epsilon²))`` when ``|epsilon| < 1``.

    References
    ----------
    Perdomo, J. C., Zrnic, T., Mendler-Dünner, C. and Hardt, M. (2020). Performative
    prediction. *Proceedings of the 37th International Conference on Machine Learning*,
    PMLR 119, 7599-7609.

    Examples
    --------
    >>> theta = repeated_risk_minimisation(mean=1.0, epsilon=0.5, steps=30, n=10**6)
    >>> round(float(theta[-1]), 2), theta.attrs["stable_point"]
    (2.0, 2.0)
    >>> runaway = repeated_risk_minimisation(mean=1.0, epsilon=2.0, steps=30, n=10**6)
    >>> bool(abs(float(runaway[-1])) > 1e8)
    True
    """
    owner = "repeated_risk_minimisation"
    mean = check_real(owner, "mean", mean)
    epsilon = check_real(owner, "epsilon", epsilon)
    steps = check_int(owner, "steps", steps, 1)
    n = check_int(owner, "n", n, 1)
    scale = check_real(owner, "scale", scale, low=0.0)
    theta0 = check_real(owner, "theta0", theta0)
    seed = check_int(owner, "seed", seed, 0)
    noise = scale / math.sqrt(n) * np.random.default_rng(seed).standard_normal(steps)
    theta = np.empty(steps + 1)
    theta[0] = theta0
    for t in range(steps):  # a recursion: each step needs the last
        theta[t + 1] = mean + epsilon * theta[t] + noise[t]
    stable = mean / (1.0 - epsilon) if epsilon != 1.0 else math.nan
    return xr.DataArray(
        theta,
        dims=("step",),
        coords={"step": np.arange(steps + 1, dtype=np.int64)},
        name="theta",
        attrs={
            "long_name": "deployed estimate",
            "units": "target units",
            "mean": mean,
            "epsilon": epsilon,
            "n": n,
            "scale": scale,
            "theta0": theta0,
            "seed": seed,
            "stable_point": stable,
        },
    )


@WORLDS.register("performative_gaussian")
class PerformativeGaussian(Component):
    """A regression world whose outcome follows the deployed model: ``y ~ N(mean + ε θ, scale²)``.

    ``θ`` is the deployed model's estimate: the mean of its predictions on a fixed probe of
    1,000 rows (the same in every run), read at each deployment through ``on_deploy(scorer,
    t)``; before any deployment ``θ = 0``. The features are `n_features` independent
    standard-normal columns (``x0``, ``x1``, ...) that say nothing about ``y``, so the best a
    model can do is predict the mean, and retraining on what it sees gives
    ``θ ← mean + ε θ``: the loop of `repeated_risk_minimisation`, converging to
    ``mean / (1 - ε)`` when ``|ε| < 1``. The true E[Y|x] (`proba`) is ``mean + ε θ``.

    The world has state (``θ``): the engine clones it fresh for every run. Each deployment
    that moves the world (``ε != 0``) is a ground-truth ``concept_shift`` event at the
    deployment's hour, with the new ``θ`` in its detail and the change of E[Y] as its
    magnitude. The no-change twin is the same world with ``ε = 0``: the world as it would be
    if the model's predictions changed nothing, which is what detectors are calibrated on
    (a performative shift is the change they are there to see).

    Parameters
    ----------
    mean
        The outcome's mean before any deployment.
    scale
        The outcome's standard deviation (> 0).
    epsilon
        The world's sensitivity to the deployed estimate.
    n_features
        Number of uninformative feature columns (>= 1).

    Attributes
    ----------
    theta_ : float
        The deployed model's estimate (0 before the first deployment).
    deployments_ : list of tuple
        ``(hour, theta)`` for each deployment seen.

    References
    ----------
    Perdomo, J. C., Zrnic, T., Mendler-Dünner, C. and Hardt, M. (2020). Performative
    prediction. *ICML*, PMLR 119, 7599-7609.

    Examples
    --------
    >>> import numpy as np
    >>> w = PerformativeGaussian(mean=1.0, epsilon=0.5)
    >>> round(float(w.sample(10000, 0.0, rng=0).y.mean()), 1)
    1.0
    >>> w.on_deploy(lambda columns: np.full(len(columns["x0"]), 2.0), 0.0)  # predicts 2
    >>> w.theta_, round(float(w.sample(10000, 1.0, rng=0).y.mean()), 1)
    (2.0, 2.0)
    """

    #: No scheduled shifts: the world moves only when a model is deployed (see `events`).
    shifts: tuple = ()

    def __init__(
        self,
        *,
        mean: float = 1.0,
        scale: float = 1.0,
        epsilon: float = 0.5,
        n_features: int = 1,
    ):
        self.mean = mean
        self.scale = scale
        self.epsilon = epsilon
        self.n_features = n_features
        owner = "PerformativeGaussian"
        check_real(owner, "mean", mean)
        check_real(owner, "scale", scale, low=0.0, open_low=True)
        check_real(owner, "epsilon", epsilon)
        check_int(owner, "n_features", n_features, 1)
        self._names = tuple(f"x{i}" for i in range(n_features))
        self.schema = Schema([FeatureSpec(f) for f in self._names], task=Task.REGRESSION)
        self.theta_ = 0.0
        self.deployments_: list[tuple[float, float]] = []

    def _columns_check(self, columns) -> None:
        missing = [f for f in self._names if f not in columns]
        if missing:
            raise ConfigError(
                "columns", sorted(columns), f"columns including {missing}", owner=self.name
            )

    @property
    def location(self) -> float:
        """The outcome's mean now: ``mean + epsilon * theta_``."""
        return float(self.mean + self.epsilon * self.theta_)

    def sample(self, n: int, t: float, rng) -> Batch:
        """Draw `n` rows (at the current ``θ``) from the stream ``rng[self.name]``."""
        n = check_int(self.name, "n", n, 0)
        g = _rngs(rng)[self.name]
        x = g.standard_normal((self.n_features, n))
        y = self.location + self.scale * g.standard_normal(n)
        return Batch(t=t, columns=dict(zip(self._names, x, strict=True)), y=y)

    def proba(self, columns, t: float) -> np.ndarray:
        """The true E[Y|x] of each row: ``mean + epsilon * theta_`` whatever x."""
        self._columns_check(columns)
        return np.full(_n_rows(columns), self.location)

    def logpdf(self, columns, t: float) -> np.ndarray:
        """The log density of P(X) (independent standard normals) for each row."""
        self._columns_check(columns)
        x = np.stack([np.asarray(columns[f], dtype=np.float64) for f in self._names])
        return -0.5 * (x * x).sum(axis=0) - 0.5 * self.n_features * math.log(2.0 * math.pi)

    def probe(self) -> dict[str, np.ndarray]:
        """The fixed rows on which a deployed model is read (the same for every run)."""
        g = np.random.default_rng(_PROBE_SEED)
        return dict(zip(self._names, g.standard_normal((self.n_features, _N_PROBE)), strict=True))

    def on_deploy(self, scorer, t: float) -> None:
        """Read the deployed model's estimate ``θ``: its mean prediction on the probe."""
        scores = np.asarray(scorer(self.probe()), dtype=np.float64)
        theta = float(scores.mean()) if scores.size else math.nan
        if not math.isfinite(theta):
            raise ConfigError(
                "scorer",
                scorer,
                "a scoring function with finite predictions on the probe rows",
                owner=self.name,
            )
        self.theta_ = theta
        self.deployments_.append((float(t), theta))

    def events(self, horizon: float = math.inf) -> list[Event]:
        """A ``concept_shift`` at each deployment that moved the world (none if ``ε = 0``)."""
        if self.epsilon == 0.0:
            return []
        out, before = [], 0.0
        for t, theta in self.deployments_:
            if t <= horizon:
                out.append(
                    Event(
                        EventKind.CONCEPT_SHIFT,
                        t,
                        t,
                        source="performative",
                        magnitude=self.epsilon * (theta - before),
                        detail={"theta": theta, "location": self.mean + self.epsilon * theta},
                    )
                )
            before = theta
        return sorted(out, key=lambda e: e.start)

    def twin(self) -> PerformativeGaussian:
        """The no-change twin: the same world with ``epsilon = 0`` (the model changes nothing)."""
        return self.clone(epsilon=0.0)


def _expected_inverse_cost(low: float, high: float) -> float:
    """E[1 / c] for c uniform on [low, high]."""
    return 1.0 / low if high == low else math.log(high / low) / (high - low)


@WORLDS.register("strategic")
class Strategic(WorldWrapper):
    """Individuals game the deployed model: they move their features towards a higher score.

    At each deployment the wrapper estimates the direction in which the model's score rises
    with the `features`: the mean central finite difference of the scorer on a fixed probe
    of 1,000 rows of the inner world (drawn at the deployment's hour with seed 0), each
    feature nudged by a tenth of its standard deviation on the probe. It never sees the
    estimator, only the scoring function. From then on every individual moves its
    strategic features by ``strength / cost`` along that (unit) direction, with a cost drawn
    per individual, uniform on ``[cost_low, cost_high]``, from the wrapper's own stream
    (`stream`). The outcome stays the one the inner world drew from the unmoved features:
    the score rises, the outcome does not (gaming, not improvement). Before any deployment,
    and while the model's score does not depend on the features, nobody moves.

    This is the best response of an individual with a linear score and a quadratic cost of
    moving (Perdomo et al. 2020; Hardt et al. 2016), with the step set by `strength`
    rather than by the score's scale. The true `proba` is the inner world's at the features
    as given: the truth for someone honestly there; a gamed row's true outcome is in its
    batch's ``y``. Each deployment that moves people is a ground-truth ``covariate_shift``
    event (the mean distance moved as its magnitude). The no-change twin is the inner
    world's twin (nobody games: the gaming is the change).

    Parameters
    ----------
    world
        The world of honest individuals.
    features
        The numeric features individuals can change (the others stay).
    strength
        How far an individual of cost 1 moves, in feature units (>= 0).
    cost_low, cost_high
        The range of the per-individual cost of moving (``0 < cost_low <= cost_high``).

    Attributes
    ----------
    direction_ : numpy.ndarray or None
        The unit direction of steepest score ascent over `features` (zeros if the score
        does not move), None before the first deployment.
    deployments_ : list of tuple
        ``(hour, direction)`` for each deployment seen.

    References
    ----------
    Hardt, M., Megiddo, N., Papadimitriou, C. and Wootters, M. (2016). Strategic
    classification. *ITCS '16*, 111-122.

    Perdomo, J. C., Zrnic, T., Mendler-Dünner, C. and Hardt, M. (2020). Performative
    prediction. *ICML*, PMLR 119, 7599-7609.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.world import logistic
    >>> w = Strategic(world=logistic(n_features=2), features=("x0",), strength=1.0)
    >>> w.on_deploy(lambda cols: 1.0 / (1.0 + np.exp(-np.asarray(cols["x0"]))), 0.0)
    >>> b, honest = w.sample(1000, 0.0, rng=0), w.world.sample(1000, 0.0, rng=0)
    >>> moved = b.columns["x0"] - honest.columns["x0"]
    >>> round(float(moved.min()), 2), round(float(moved.max()), 2)  # 1 / cost, cost in [1, 2]
    (0.5, 1.0)
    >>> bool((b.y == honest.y).all())
    True
    """

    alters_rows = True

    def __init__(
        self,
        *,
        world,
        features,
        strength: float = 1.0,
        cost_low: float = 1.0,
        cost_high: float = 2.0,
    ):
        super().__init__(world=world)
        self.features = features
        self.strength = strength
        self.cost_low = cost_low
        self.cost_high = cost_high
        allowed = "a non-empty tuple of numeric feature names of the world"
        names = as_tuple("Strategic", "features", features, allowed)
        if not names or len(set(names)) != len(names):
            raise ConfigError("features", features, allowed, owner="Strategic")
        self.world.schema.check_names(names, key="features", owner="Strategic")
        for f in names:
            if self.world.schema[f].kind is not Kind.NUMERIC:
                raise ConfigError("features", f, allowed, owner="Strategic")
        self._features = tuple(names)
        check_real("Strategic", "strength", strength, low=0.0)
        check_real("Strategic", "cost_low", cost_low, low=0.0, open_low=True)
        check_real("Strategic", "cost_high", cost_high, low=cost_low)
        self.direction_: np.ndarray | None = None
        self.deployments_: list[tuple[float, tuple[float, ...]]] = []

    def on_deploy(self, scorer, t: float) -> None:
        """Tell the inner world, then estimate the score's direction of steepest ascent."""
        notify_deploy(self.world, scorer, t)
        probe = dict(self.world.sample(_N_PROBE, t, Rngs(_PROBE_SEED)).columns)
        slope = np.zeros(len(self._features))
        for j, f in enumerate(self._features):  # one pair of scorer calls per feature
            x = np.asarray(probe[f], dtype=np.float64)
            sd = float(np.nanstd(x))
            h = 0.1 * sd if sd > 0.0 else 0.1
            up = np.asarray(scorer({**probe, f: x + h}), dtype=np.float64)
            down = np.asarray(scorer({**probe, f: x - h}), dtype=np.float64)
            diff = (up - down) / (2.0 * h)
            diff = diff[np.isfinite(diff)]  # a failed request has no score to game
            slope[j] = diff.mean() if diff.size else 0.0
        norm = float(np.sqrt((slope * slope).sum()))
        self.direction_ = slope / norm if norm > 0.0 else np.zeros_like(slope)
        self.deployments_.append((float(t), tuple(self.direction_.tolist())))

    def _moves(self) -> bool:
        return self.direction_ is not None and self.strength > 0.0 and bool(self.direction_.any())

    def sample(self, n: int, t: float, rng) -> Batch:
        """The inner world's rows, their strategic features moved along the score's ascent."""
        rngs = _rngs(rng)
        batch = self.world.sample(n, t, rngs)
        if not self._moves():
            return batch
        step = self.strength / rngs[self.stream].uniform(self.cost_low, self.cost_high, batch.n)
        moved = {
            f: np.asarray(batch.columns[f], dtype=np.float64) + step * d
            for f, d in zip(self._features, self.direction_, strict=True)
        }
        return batch.replace(columns={**batch.columns, **moved})

    def events(self, horizon: float = math.inf) -> list[Event]:
        """The inner world's events and a ``covariate_shift`` at each deployment that games."""
        out = list(self.world.events(horizon))
        if self.strength > 0.0:
            reach = self.strength * _expected_inverse_cost(self.cost_low, self.cost_high)
            for t, direction in self.deployments_:
                if t <= horizon and any(direction):
                    out.append(
                        Event(
                            EventKind.COVARIATE_SHIFT,
                            t,
                            t,
                            source="strategic",
                            features=self._features,
                            magnitude=reach,
                            detail={"direction": list(direction)},
                        )
                    )
        return sorted(out, key=lambda e: (e.start, e.source))

    def twin(self):
        """The inner world's no-change twin: nobody games (the gaming is the change)."""
        return twin(self.world)
