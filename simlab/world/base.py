"""The World protocol, the hooks through which a world answers the model, and the wrapper base.

Every world draws rows (``sample``). A world may also *respond*: given a tick's rows and what
the deployed model decided about them, it says which outcomes really happened and which rows
will ever be labelled (a rejected applicant's repayment is never observed). A world may also
be told of each deployment, through the model's scoring function (never the estimator: the
world knows nothing of models), to model a population that reacts to the model. Worlds that
do neither behave as if every outcome happened as drawn and every row is labelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from simlab.batch import Batch, constant, readonly
from simlab.errors import ConfigError
from simlab.events import Event
from simlab.params import Component
from simlab.rng import Rngs
from simlab.world.schema import Schema

__all__ = [
    "Response",
    "Responsive",
    "World",
    "WorldWrapper",
    "emits_proxies",
    "notify_deploy",
    "respond",
    "schema_at",
    "twin",
]


@runtime_checkable
class World(Protocol):
    """What every world answers.

    ``sample(n, t, rng)`` draws `n` rows at time `t` (hours) from the named streams in
    `rng`; ``proba(columns, t)`` is the true P(Y=1|x) (binary) or E[Y|x] (regression)
    at time `t`; ``events(horizon)`` lists every change it injects, sorted by start.

    Examples
    --------
    >>> from simlab.world import sea
    >>> isinstance(sea(), World)
    True
    """

    name: str
    schema: Schema

    def sample(self, n: int, t: float, rng: Rngs) -> Batch: ...

    def proba(self, columns, t: float) -> np.ndarray: ...

    def events(self, horizon: float = math.inf) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class Response:
    """A world's answer to one tick's decisions.

    Parameters
    ----------
    y
        The outcome of every row: what happened, or for a row whose outcome is never
        observed, what would have happened (known to the simulator only; the true metric
        is computed on it).
    labelled
        True for the rows whose label will ever reach the model's team.
    label_propensity
        The probability that each row is labelled, given the tick's scores (what an
        inverse-propensity estimate divides by); 1 where labelling is certain.
    proxy
        A fast outcome tied to the label, observed within the tick (a click, an early
        payment; NaN where none is observed), or None for a world without proxies
        (`simlab.world.Proxy`).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"x": np.zeros(3)}, y=np.array([0, 1, 1]))
    >>> r = Response.everything(b)
    >>> r.labelled.tolist(), r.label_propensity.tolist()
    ([True, True, True], [1.0, 1.0, 1.0])
    """

    y: np.ndarray
    labelled: np.ndarray
    label_propensity: np.ndarray
    proxy: np.ndarray | None = None

    def __post_init__(self):
        y = readonly(self.y)
        n = y.shape[0]
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "labelled", readonly(np.asarray(self.labelled, dtype=bool)))
        prop = readonly(np.asarray(self.label_propensity, dtype=np.float64))
        object.__setattr__(self, "label_propensity", prop)
        if self.proxy is not None:
            object.__setattr__(self, "proxy", readonly(np.asarray(self.proxy, np.float64)))
        for name in ("labelled", "label_propensity") + (
            ("proxy",) if self.proxy is not None else ()
        ):
            if getattr(self, name).shape != (n,):
                shape = getattr(self, name).shape
                raise ConfigError(name, shape, f"shape ({n},) like y", owner="Response")
        positive = self.label_propensity > 0.0
        if not positive.all():  # some row could not be labelled: it must not be
            bad = self.labelled & ~positive
            if bad.any():
                raise ConfigError(
                    "label_propensity",
                    float(self.label_propensity[bad][0]),
                    "a probability > 0 for every labelled row (it was labelled, so it could be)",
                    owner="Response",
                )

    @classmethod
    def everything(cls, batch: Batch) -> Response:
        """Outcomes as drawn, every row labelled for sure: a world that does not respond."""
        n = batch.n
        return cls(batch.y, constant(n, True, bool), constant(n, 1.0, np.float64))


@runtime_checkable
class Responsive(Protocol):
    """A world that answers decisions: ``respond(batch, decision, rng) -> Response``.

    `decision` is a `simlab.decisions.Decision` for the batch's rows; `rng` is the run's
    `Rngs` (draw from a stream of your own name). A world that reacts to the model itself
    also defines ``on_deploy(scorer, t)``: `scorer` maps columns to the deployed model's
    scores, and is called at every deployment.

    Examples
    --------
    >>> from simlab.world import sea
    >>> isinstance(sea(), Responsive)
    False
    """

    def respond(self, batch: Batch, decision, rng: Rngs) -> Response: ...


def schema_at(world, t: float) -> Schema:
    """The schema of the rows `world` emits at hour `t` (a fault may change it in a window).

    Examples
    --------
    >>> from simlab.faults import DropColumn, Faulted
    >>> from simlab.world import sea
    >>> w = Faulted(world=sea(), fault=DropColumn(column="x2"), start=5.0)
    >>> schema_at(w, 0.0).names, schema_at(w, 5.0).names
    (('x0', 'x1', 'x2'), ('x0', 'x1'))
    """
    at = getattr(world, "schema_at", None)
    return world.schema if at is None else at(t)


def respond(world, batch: Batch, decision, rng: Rngs) -> Response:
    """The world's response to a tick's decisions (`Response.everything` if it does not respond).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.decisions import Threshold
    >>> from simlab.world import sea
    >>> b = sea().sample(4, 0.0, rng=0)
    >>> r = respond(sea(), b, Threshold().decide(np.full(4, 0.7)), Rngs(0))
    >>> bool(r.labelled.all())
    True
    """
    answer = getattr(world, "respond", None)
    if answer is None:
        return Response.everything(batch)
    response = answer(batch, decision, rng)
    if not isinstance(response, Response) or response.y.shape != batch.y.shape:
        raise ConfigError(
            "respond",
            type(response).__name__,
            f"a Response with one outcome per row ({batch.n})",
            owner=getattr(world, "name", type(world).__name__),
        )
    return response


def notify_deploy(world, scorer: Callable[[dict], np.ndarray], t: float) -> None:
    """Tell a world that a model was deployed at hour `t` (if it wants to know).

    Examples
    --------
    >>> from simlab.world import sea
    >>> notify_deploy(sea(), lambda columns: None, 0.0)  # sea() does not react: nothing happens
    """
    hook = getattr(world, "on_deploy", None)
    if hook is not None:
        hook(scorer, t)


def emits_proxies(world) -> bool:
    """Whether `world`, or a world it wraps, emits proxy outcomes (`simlab.world.Proxy`).

    Examples
    --------
    >>> from simlab.world import Proxy, logistic
    >>> emits_proxies(logistic()), emits_proxies(Proxy(world=logistic()))
    (False, True)
    """
    while world is not None:
        if getattr(world, "emits_proxies", False):
            return True
        world = getattr(world, "world", None)
    return False


def twin(world):
    """The world's no-change twin: the same world with every injected change removed.

    Shifts, upstream faults and anything else a world lists in ``events`` go; what the world
    is (its features, concept, traffic of responses, normal-life variation such as an
    `Ambient` world's cycles) stays. Until the first injected change the twin draws the
    same rows as the world for the same seed, so an alarm both raise before onset is the
    same false alarm, and an alarm the twin also raises after onset is not a detection.
    Calibration (`simlab.sim.calibrate`) sets thresholds on twins.

    Each world says how through its ``twin()`` method; a world without one is refused.

    Parameters
    ----------
    world
        Any world, wrapped or not.

    Examples
    --------
    >>> from simlab.world import ConceptShift, Sudden, hyperplane
    >>> w = hyperplane(shifts=(ConceptShift(rotate=90, schedule=Sudden(start=10.0)),))
    >>> len(w.events()), twin(w).events()
    (1, [])
    >>> b, c = w.sample(5, 5.0, rng=0), twin(w).sample(5, 5.0, rng=0)
    >>> bool((b.columns["x0"] == c.columns["x0"]).all())
    True
    """
    make = getattr(world, "twin", None)
    if make is None:
        raise ConfigError(
            "world",
            world,
            "a world with a twin() method (its no-change twin); every simlab world has one",
            owner="twin",
        )
    out = make()
    if out.events():
        raise ConfigError(
            "world",
            world,
            f"a twin() that removes every injected change (this one still lists "
            f"{[e.source for e in out.events()]})",
            owner="twin",
        )
    return out


class WorldWrapper(Component):
    """Base for worlds that wrap another (Gymnasium's wrapper pattern).

    By default every call goes to the inner world; subclasses override what they change.
    A wrapper is a component: its parameters (the inner world included) round-trip through
    JSON and TOML, and it draws from its own named random stream (`stream`), so adding a
    wrapper never changes what the inner world draws. Responses and deployments pass through
    to the inner world.

    Parameters
    ----------
    world
        The world being wrapped.

    Examples
    --------
    >>> from simlab.world import sea
    >>> w = WorldWrapper(world=sea())
    >>> w.unwrapped.name, w.schema.names
    ('causal', ('x0', 'x1', 'x2'))
    """

    def __init__(self, *, world):
        self.world = world
        if not (hasattr(world, "sample") and hasattr(world, "schema")):
            raise ConfigError("world", world, "a World", owner=type(self).__name__)

    @property
    def stream(self) -> str:
        """The name of this wrapper's own random stream."""
        return f"{type(self).name or type(self).__name__}/{self.world.name}"

    @property
    def schema(self) -> Schema:
        """The schema of the rows this wrapper returns."""
        return self.world.schema

    def schema_at(self, t: float) -> Schema:
        """The schema of the rows this wrapper returns at hour `t`."""
        return schema_at(self.world, t)

    @property
    def unwrapped(self):
        """The innermost world."""
        return getattr(self.world, "unwrapped", self.world)

    def sample(self, n: int, t: float, rng: Rngs) -> Batch:
        """Rows from the inner world."""
        return self.world.sample(n, t, rng)

    def proba(self, columns, t: float) -> np.ndarray:
        """The inner world's true P(Y=1|x)."""
        return self.world.proba(columns, t)

    def events(self, horizon: float = math.inf) -> list[Event]:
        """The inner world's events."""
        return self.world.events(horizon)

    def logpdf(self, columns, t: float) -> np.ndarray:
        """The inner world's log density of P(X) at `t`, for a wrapper that leaves rows alone.

        A wrapper that changes the rows (a fault) has no density of its own and refuses.
        """
        inner = getattr(self.world, "logpdf", None)
        if inner is None or self.alters_rows:
            raise ConfigError(
                "world",
                self,
                "a world that knows its density of P(X) (a synthetic world, unwrapped or in "
                "a wrapper that leaves its rows alone)",
                owner="logpdf",
            )
        return inner(columns, t)

    #: True for a wrapper whose rows are not its inner world's (its density is not theirs).
    alters_rows = False

    def respond(self, batch: Batch, decision, rng: Rngs) -> Response:
        """The inner world's response (outcomes as drawn if it does not respond)."""
        return respond(self.world, batch, decision, rng)

    def on_deploy(self, scorer, t: float) -> None:
        """Pass a deployment on to the inner world."""
        notify_deploy(self.world, scorer, t)

    def twin(self):
        """The same wrapper around the inner world's no-change twin (see `twin`).

        A wrapper that injects a change of its own (a fault) returns the inner twin instead.
        """
        return self.clone(world=twin(self.world))

    def __repr__(self) -> str:
        label = type(self).name or type(self).__name__
        return f"{label}<{self.world!r}>"
