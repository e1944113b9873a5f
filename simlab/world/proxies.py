"""Proxy outcomes: a fast signal tied to the slow label (a click, an early payment, a complaint).

The label a model is judged by often arrives weeks late (repayment, churn, confirmed fraud);
something correlated with it arrives within hours. A team watches that *proxy*. How well it
stands for the label is the *tie*: ``P(proxy | y = 1)`` and ``P(proxy | y = 0)``. A strong tie
makes the proxy move when the label does, long before the label arrives; a tie can itself
drift (a redesigned button changes who clicks, a payment reminder changes who pays early), and
then the proxy moves while the label has not, or stays put while the label has changed.
"""

from __future__ import annotations

import math

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.params import Component
from simlab.registry import Registry
from simlab.rng import Rngs
from simlab.validation import check_real
from simlab.world.base import Response, WorldWrapper, respond, twin
from simlab.world.schedules import Schedule
from simlab.world.worlds import WORLDS

__all__ = ["Proxy", "TieShift"]

TIES: Registry = Registry("tie_shift")

_OBSERVED = ("acted", "all")


def _probability(owner: str, key: str, value) -> float:
    return check_real(owner, key, value, low=0.0, high=1.0, open_high=False)


@TIES.register("tie_shift")
class TieShift(Component):
    """A drift of the tie between proxy and label: new ``P(proxy | y)`` on a schedule.

    Parameters
    ----------
    given_positive, given_negative
        The tie after the change: ``P(proxy = 1 | y = 1)`` and ``P(proxy = 1 | y = 0)``.
    schedule
        When and how fast the tie moves (its weight blends old and new linearly).

    Examples
    --------
    >>> from simlab.world import Sudden
    >>> TieShift(given_positive=0.3, given_negative=0.3, schedule=Sudden(start=10.0))
    TieShift(given_positive=0.3, given_negative=0.3, schedule=Sudden(start=10.0))
    """

    def __init__(self, *, given_positive: float, given_negative: float, schedule: Schedule):
        self.given_positive = given_positive
        self.given_negative = given_negative
        self.schedule = schedule
        _probability("TieShift", "given_positive", given_positive)
        _probability("TieShift", "given_negative", given_negative)
        if not isinstance(schedule, Schedule):
            raise ConfigError("schedule", schedule, "a Schedule", owner="TieShift")


@WORLDS.register("proxy")
class Proxy(WorldWrapper):
    """A world whose rows also produce a fast proxy outcome, tied to the label.

    Each row's proxy is 1 with probability `given_positive` if its outcome is 1 and
    `given_negative` if it is 0, drawn from the wrapper's own stream when the world
    responds. It is observed at once (within the tick), for the rows the decision acted on
    (``observed="acted"``: a click on a shown item, an early payment on an approved loan)
    or for all rows. The engine records the tick's proxy rate beside the metrics, and
    proxy monitors (`simlab.detectors.ProxyRate`, `ProxyCUSUM`) watch it.

    The tie's strength is ``given_positive - given_negative``: 0 makes the proxy noise, 1
    makes it the label itself. A `TieShift` moves the tie on a schedule; it is an injected
    change (a ``proxy_shift`` event) and the no-change twin has none.

    Parameters
    ----------
    world
        The world whose outcomes the proxy follows.
    given_positive, given_negative
        ``P(proxy = 1 | y = 1)`` and ``P(proxy = 1 | y = 0)``.
    observed
        ``"acted"`` or ``"all"``: which rows' proxies the team sees (NaN for the others).
    drift
        A `TieShift`, or None.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.decisions import Threshold
    >>> from simlab.world import sea
    >>> w = Proxy(world=sea(), given_positive=0.9, given_negative=0.1, observed="all")
    >>> b = w.sample(20000, 0.0, rng=0)
    >>> r = w.respond(b, Threshold().decide(np.full(b.n, 0.7)), Rngs(0))
    >>> round(float(r.proxy[b.y == 1].mean()), 2), round(float(r.proxy[b.y == 0].mean()), 2)
    (0.9, 0.1)
    """

    #: The engine records proxies for worlds that say they emit them.
    emits_proxies = True

    def __init__(
        self,
        *,
        world,
        given_positive: float = 0.6,
        given_negative: float = 0.1,
        observed: str = "acted",
        drift: TieShift | None = None,
    ):
        super().__init__(world=world)
        self.given_positive = given_positive
        self.given_negative = given_negative
        self.observed = observed
        self.drift = drift
        _probability("Proxy", "given_positive", given_positive)
        _probability("Proxy", "given_negative", given_negative)
        if observed not in _OBSERVED:
            raise ConfigError("observed", observed, f"one of {list(_OBSERVED)}", owner="Proxy")
        if drift is not None and not isinstance(drift, TieShift):
            raise ConfigError("drift", drift, "None or a TieShift", owner="Proxy")
        if self.world.schema.task.value != "binary":
            raise ConfigError(
                "world", world, "a binary world (the proxy is tied to a 0/1 label)", owner="Proxy"
            )

    def tie(self, t: float) -> tuple[float, float]:
        """``(P(proxy | y = 1), P(proxy | y = 0))`` at hour `t`.

        Examples
        --------
        >>> from simlab.world import Sudden, sea
        >>> d = TieShift(given_positive=0.2, given_negative=0.2, schedule=Sudden(start=5.0))
        >>> w = Proxy(world=sea(), given_positive=0.8, given_negative=0.1, drift=d)
        >>> w.tie(0.0), w.tie(5.0)
        ((0.8, 0.1), (0.2, 0.2))
        """
        pos, neg = self.given_positive, self.given_negative
        if self.drift is None:
            return pos, neg
        w = float(self.drift.schedule.weight(t))
        return (
            pos + w * (self.drift.given_positive - pos),
            neg + w * (self.drift.given_negative - neg),
        )

    def respond(self, batch: Batch, decision, rng: Rngs) -> Response:
        """The inner world's response, with each row's proxy (NaN where not observed)."""
        inner = respond(self.world, batch, decision, rng)
        pos, neg = self.tie(batch.t)
        y = np.asarray(inner.y, dtype=np.float64)
        p = np.where(y == 1.0, pos, neg)
        proxy = (rng[self.stream].random(batch.n) < p).astype(np.float64)
        if self.observed == "acted":
            if decision.n != batch.n:
                raise ConfigError(
                    "decision", decision.n, f"one action per row ({batch.n})", owner="Proxy"
                )
            proxy[decision.action != 1] = np.nan
        return Response(inner.y, inner.labelled, inner.label_propensity, proxy=proxy)

    def events(self, horizon: float = math.inf) -> list[Event]:
        """The inner world's events and the tie's drift, sorted by start."""
        out = list(self.world.events(horizon))
        if self.drift is not None:
            size = abs(self.drift.given_positive - self.drift.given_negative) - abs(
                self.given_positive - self.given_negative
            )
            for s, e in self.drift.schedule.episodes(horizon):
                out.append(
                    Event(
                        EventKind.PROXY_SHIFT,
                        s,
                        e,
                        source=self.name,
                        magnitude=size,
                        detail={"schedule": self.drift.schedule.name},
                    )
                )
        return sorted(out, key=lambda e: e.start)

    def twin(self):
        """The no-change twin: the inner world's twin, with the tie that never drifts."""
        return self.clone(world=twin(self.world), drift=None)
