"""The World protocol and the wrapper base that faults and feedback build on."""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

from simlab.batch import Batch
from simlab.events import Event
from simlab.rng import Rngs
from simlab.world.schema import Schema

__all__ = ["World", "WorldWrapper"]


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


class WorldWrapper:
    """Base for worlds that wrap another (Gymnasium's wrapper pattern).

    By default every call goes to the inner world; subclasses override what they change.

    Parameters
    ----------
    world
        The world being wrapped.

    Examples
    --------
    >>> from simlab.world import sea
    >>> w = WorldWrapper(sea())
    >>> w.unwrapped.name, w.schema.names
    ('causal', ('x0', 'x1', 'x2'))
    """

    def __init__(self, world: World):
        self.world = world

    @property
    def name(self) -> str:
        """The wrapped world's name."""
        return self.world.name

    @property
    def schema(self) -> Schema:
        """The schema of the rows this wrapper returns."""
        return self.world.schema

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.world!r}>"
