"""Faults: pure transformations of a batch, applied in a time window, upstream or at serving.

A `Fault` knows nothing of time: ``apply(batch, rng)`` returns a new batch, and
``schema_out(schema)`` says what the rows look like afterwards. Where and when it acts is
the job of the slot that holds it:

- `Faulted` (a world wrapper) applies it *upstream*: to the rows as the world emits them, so
  every consumer sees it, the monitors and later training data included;
- `ServingFault` (an entry of a scenario's ``serving`` slot) applies it at *serving* only:
  to what the model's serving pipeline receives, never to training data or upstream logs.
  Train/serve skew and software rot live there.

Either slot emits the fault's ground-truth event, with its window, the columns it touches and
where it acts.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.params import Component
from simlab.registry import Registry
from simlab.rng import Rngs
from simlab.validation import check_real
from simlab.world.base import WorldWrapper, twin
from simlab.world.schema import Schema
from simlab.world.worlds import WORLDS

__all__ = ["FAULTS", "SERVING", "Fault", "Faulted", "ServingFault"]

FAULTS: Registry = Registry("fault")
SERVING: Registry = Registry("serving slot")


class Fault(Component):
    """Base of faults: ``apply(batch, rng) -> Batch`` and ``schema_out(schema) -> Schema``.

    `apply` must not change its input (batches are frozen) and must draw only from `rng`.
    `features` names the columns the fault touches (for the event and for scoring which
    column a monitor blamed); `magnitude` is a size in the fault's own terms. A fault whose
    output has another number of rows than its input says so (``changes_rows``); one that
    keeps state across ticks (``stateful``, a fresh copy per run) may act outside its window
    through `idle` (a late row still arrives after the window closes).

    Examples
    --------
    >>> from simlab.faults import DropColumn
    >>> isinstance(DropColumn(column="x0"), Fault)
    True
    """

    family: ClassVar[str] = "upstream"  # where it usually comes from: upstream, skew or rot
    changes_rows: ClassVar[bool] = False
    stateful: ClassVar[bool] = False

    @property
    def features(self) -> tuple[str, ...]:
        """The columns the fault touches."""
        return ()

    @property
    def magnitude(self) -> float:
        """The fault's size in its own terms (nan if it has none)."""
        return float("nan")

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        raise NotImplementedError

    def idle(self, batch: Batch) -> Batch:
        """The batch outside the window: unchanged, unless a stateful fault has rows to give."""
        return batch

    def schema_out(self, schema: Schema) -> Schema:
        """The schema of the rows the fault returns (unchanged unless the fault says so)."""
        return schema

    def event(self, start: float, end: float, *, where: str) -> Event:
        """The fault's ground-truth event over the window ``[start, end)``."""
        return Event(
            EventKind.FAULT,
            start,
            end,
            source=self.name,
            features=self.features,
            magnitude=self.magnitude,
            detail={"where": where, "family": self.family, "fault": self.to_dict()},
        )


def _window(owner: str, start, end) -> None:
    check_real(owner, "start", start)
    if end is not None:
        check_real(owner, "end", end)
        if not end > start:
            raise ConfigError("end", end, f"None or a time > start={start}", owner=owner)


class _Windowed:
    """What both slots share: a fault active in ``[start, end)``, its stream and its event."""

    fault: Fault
    start: float
    end: float | None
    where = ""

    def _check_window(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.fault, Fault):
            raise ConfigError("fault", self.fault, "a Fault", owner=owner)
        _window(owner, self.start, self.end)

    def active(self, t: float) -> bool:
        """True inside the window."""
        return self.start <= t and (self.end is None or t < self.end)

    @property
    def stream(self) -> str:
        """The fault's own random stream.

        The window is part of the name, so a second fault of the same kind draws on its own.
        """
        return f"{self.where}/{self.fault.name}/{self.start}/{self.end}"

    def _fault_events(self, horizon: float) -> list[Event]:
        if self.start >= horizon:
            return []
        end = math.inf if self.end is None else self.end
        return [self.fault.event(self.start, end, where=self.where)]


@WORLDS.register("faulted")
class Faulted(_Windowed, WorldWrapper):
    """A world whose rows pass through `fault` upstream, from hour `start` until `end`.

    Outside the window the wrapper is a no-op. Inside, every consumer sees the faulted rows:
    the model at serving, the monitors, the logs that later training reads. The fault draws
    from the wrapper's own random stream, so the inner world's draws never change.

    Parameters
    ----------
    world
        The world being wrapped.
    fault
        The fault to apply.
    start, end
        The window in hours, ``[start, end)``; ``end=None`` lasts to the horizon.

    Examples
    --------
    >>> from simlab.faults import DropColumn
    >>> from simlab.world import sea
    >>> w = Faulted(world=sea(), fault=DropColumn(column="x1"), start=10.0)
    >>> w.sample(3, 5.0, rng=0).names, w.sample(3, 10.0, rng=0).names
    (('x0', 'x1', 'x2'), ('x0', 'x2'))
    >>> [(e.kind.value, e.start, e.features) for e in w.events()]
    [('fault', 10.0, ('x1',))]
    >>> w
    Faulted[drop_column]<CausalWorld(...)>
    """

    where = "upstream"
    alters_rows = True  # a faulted row has no known density

    def __init__(self, *, world, fault: Fault, start: float = 0.0, end: float | None = None):
        super().__init__(world=world)
        self.fault = fault
        self.start = start
        self.end = end
        self._check_window()
        fault.schema_out(world.schema)  # a fault that cannot apply to this world fails now

    def schema_at(self, t: float) -> Schema:
        """The fault's output schema inside the window, the inner world's outside it."""
        inner = super().schema_at(t)
        return self.fault.schema_out(inner) if self.active(t) else inner

    def sample(self, n: int, t: float, rng) -> Batch:
        """The inner world's rows, faulted inside the window."""
        rngs = rng if isinstance(rng, Rngs) else Rngs(rng)
        batch = self.world.sample(n, t, rngs)
        if not self.active(t):
            return self.fault.idle(batch)
        return self.fault.apply(batch, rngs[self.stream])

    def events(self, horizon: float = math.inf) -> list[Event]:
        """The inner world's events and this fault's, sorted by start."""
        out = list(self.world.events(horizon)) + self._fault_events(horizon)
        return sorted(out, key=lambda e: (e.start, e.source))

    def twin(self):
        """The inner world's no-change twin: the fault is an injected change, so it goes."""
        return twin(self.world)

    def __repr__(self) -> str:
        return f"Faulted[{self.fault.name}]<{self.world!r}>"


@SERVING.register("serving_fault")
class ServingFault(_Windowed, Component):
    """A fault in the serving-side slot: applied only to what the model is served, in a window.

    Training data, upstream logs and monitors of upstream columns never see it; monitors of
    the model's served features do. This is where train/serve skew and software rot live.

    Parameters
    ----------
    fault
        The fault to apply at serving.
    start, end
        The window in hours, ``[start, end)``; ``end=None`` lasts to the horizon.

    Examples
    --------
    >>> from simlab.faults import Round
    >>> from simlab.world import sea
    >>> slot = ServingFault(fault=Round(columns=("x0",), decimals=0), start=5.0)
    >>> b = sea().sample(2, 6.0, rng=0)
    >>> slot.apply(b, Rngs(0)).columns["x0"].tolist() == b.columns["x0"].round().tolist()
    True
    """

    where = "serving"

    def __init__(self, *, fault: Fault, start: float = 0.0, end: float | None = None):
        self.fault = fault
        self.start = start
        self.end = end
        self._check_window()

    def apply(self, batch: Batch, rng: Rngs) -> Batch:
        """The batch as the serving pipeline receives it at ``batch.t``."""
        if not self.active(batch.t):
            return self.fault.idle(batch)
        return self.fault.apply(batch, rng[self.stream])

    def events(self, horizon: float = math.inf) -> list[Event]:
        """The fault's event (if it starts before `horizon`)."""
        return self._fault_events(horizon)
