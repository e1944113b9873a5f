"""Generic conformance checks that every world must pass (like scikit-learn's estimator checks).

`yield_world_checks(world)` yields the check functions, each ``check_x(world)`` raising
`AssertionError` with a message on failure; `check_world(world)` runs them all.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Iterator

import numpy as np

from simlab.batch import Batch
from simlab.registry import build
from simlab.rng import Rngs
from simlab.world.base import Response, respond, schema_at
from simlab.world.schema import Task

__all__ = [
    "check_deterministic",
    "check_events",
    "check_independent_of_other_streams",
    "check_pickle",
    "check_proba",
    "check_respond",
    "check_round_trip",
    "check_sample_zero",
    "check_schema",
    "check_world",
    "check_world_times",
    "world_times",
    "yield_world_checks",
]

_N = 300  # rows per check: enough to see every category and both classes, cheap to draw
_HORIZON = 1000.0  # hours; every shift in the catalogue and the tests acts well before this


def world_times(world, horizon: float = _HORIZON) -> list[float]:
    """Times worth sampling: 0, the horizon, and the start, middle and end of every event.

    Examples
    --------
    >>> from simlab.world import sea, ConceptShift, SEA, Gradual
    >>> shift = ConceptShift(after=SEA(threshold=9.0), schedule=Gradual(start=10.0, width=4.0))
    >>> w = sea(shifts=(shift,))
    >>> world_times(w)
    [0.0, 10.0, 12.0, 14.0, 1000.0]
    """
    times = {0.0, float(horizon)}
    for e in world.events(horizon):
        end = min(e.end, horizon)
        times.update({e.start, (e.start + end) / 2.0, end})
    return sorted(t for t in times if math.isfinite(t))


def _same_batch(a: Batch, b: Batch) -> bool:
    return (
        a.t == b.t
        and tuple(a.columns) == tuple(b.columns)
        and all(np.array_equal(a.columns[k], b.columns[k]) for k in a.columns)
        and np.array_equal(a.y, b.y)
        and np.array_equal(a.row_id, b.row_id)
    )


def check_schema(world) -> None:
    """Every batch, at every interesting time, conforms to the world's schema at that time.

    That is ``world.schema``, unless a fault changes it in a window (`schema_at`).
    """
    for t in world_times(world):
        batch = world.sample(_N, t, Rngs(0))
        assert isinstance(batch, Batch), f"sample returned {type(batch).__name__}, not a Batch"
        assert batch.n == _N, f"asked for {_N} rows at t={t}, got {batch.n}"
        assert batch.t == t, f"batch.t={batch.t} for a sample at t={t}"
        schema_at(world, t).validate(batch)
        if world.schema.task is Task.REGRESSION:
            assert np.isfinite(batch.y).all(), f"non-finite targets at t={t}"


def check_sample_zero(world) -> None:
    """``sample(0, t)`` returns an empty batch that still has every column."""
    for t in world_times(world):
        batch = world.sample(0, t, Rngs(0))
        assert batch.n == 0, f"sample(0, {t}) has {batch.n} rows"
        schema_at(world, t).validate(batch)


def check_deterministic(world) -> None:
    """The same seed gives identical batches; another seed gives different ones."""
    for t in world_times(world):
        a = world.sample(_N, t, Rngs(7))
        b = world.sample(_N, t, Rngs(7))
        assert _same_batch(a, b), f"two samples with seed 7 differ at t={t}"
        c = world.sample(_N, t, Rngs(8))
        differs = any(not np.array_equal(a.columns[k], c.columns[k]) for k in a.columns)
        assert differs, f"seeds 7 and 8 give the same columns at t={t}"


def check_independent_of_other_streams(world) -> None:
    """Another component drawing from its own stream first never changes the world's rows."""
    for t in world_times(world):
        quiet = Rngs(3)
        busy = Rngs(3)
        busy["detector"].random(10)
        busy["fault"].standard_normal(5)
        assert _same_batch(world.sample(_N, t, quiet), world.sample(_N, t, busy)), (
            f"draws from other streams changed the world's rows at t={t}"
        )


def check_events(world) -> None:
    """``events(horizon)`` is sorted by start, and every start lies inside the horizon."""
    for horizon in (0.0, 50.0, _HORIZON):
        events = world.events(horizon)
        starts = [e.start for e in events]
        assert starts == sorted(starts), f"events not sorted by start: {starts}"
        for e in events:
            assert e.start <= horizon, f"{e} starts after the horizon {horizon}"
            assert e.end >= e.start, f"{e} ends before it starts"
            assert all(f in world.schema for f in e.features), f"{e} names unknown features"


def check_proba(world) -> None:
    """``proba(columns, t)`` is finite, one value per row, and in [0, 1] for a binary world.

    The columns come from the innermost world: the truth is defined on the world's own
    columns, which an upstream fault may have broken.
    """
    for t in world_times(world):
        batch = getattr(world, "unwrapped", world).sample(_N, t, Rngs(1))
        p = np.asarray(world.proba(batch.columns, t))
        assert p.shape == (_N,), f"proba has shape {p.shape}; expected ({_N},)"
        assert np.isfinite(p).all(), f"non-finite proba at t={t}"
        if world.schema.task is Task.BINARY:
            assert ((p >= 0.0) & (p <= 1.0)).all(), f"proba outside [0, 1] at t={t}"


def check_round_trip(world) -> None:
    """``to_dict()`` -> `simlab.registry.build` gives an equal world that draws the same rows."""
    spec = world.to_dict()
    text = json.dumps(spec, sort_keys=True)
    again = build(json.loads(text))
    assert json.dumps(again.to_dict(), sort_keys=True) == text, "the spec changed in a round trip"
    assert again == world, "the rebuilt world is not equal to the original"
    for t in world_times(world):
        assert _same_batch(world.sample(_N, t, Rngs(2)), again.sample(_N, t, Rngs(2))), (
            f"the rebuilt world draws different rows at t={t}"
        )


def check_pickle(world) -> None:
    """A pickled and unpickled world is equal and draws the same rows."""
    again = pickle.loads(pickle.dumps(world))
    assert again == world, "the unpickled world is not equal to the original"
    for t in world_times(world):
        assert _same_batch(world.sample(_N, t, Rngs(4)), again.sample(_N, t, Rngs(4))), (
            f"the unpickled world draws different rows at t={t}"
        )


def check_respond(world) -> None:
    """A world's response has one outcome per row, is deterministic, and labels only what it can.

    Worlds without ``respond`` pass: the engine treats them as labelling every row.
    """
    if not hasattr(world, "respond"):
        return
    from simlab.decisions import Explore, Threshold

    rule = Explore(rule=Threshold(), epsilon=0.2)
    for t in world_times(world):
        batch = world.sample(_N, t, Rngs(6))
        scores = np.random.default_rng(6).random(_N)
        decision = rule.decide(scores, batch.columns, np.random.default_rng(6))
        a = respond(world, batch, decision, Rngs(6))
        b = respond(world, batch, decision, Rngs(6))
        assert isinstance(a, Response), f"respond returned {type(a).__name__}, not a Response"
        assert a.y.shape == (_N,), f"respond gave {a.y.shape} outcomes for {_N} rows at t={t}"
        assert np.array_equal(a.y, b.y), f"two responses with one seed differ at t={t}"
        assert np.array_equal(a.labelled, b.labelled), f"labelled rows differ at t={t}"
        p = a.label_propensity
        assert ((p >= 0.0) & (p <= 1.0)).all(), f"label propensities outside [0, 1] at t={t}"


def check_world_times(world) -> None:
    """Sampling works before, during and after every event (inside shift windows too)."""
    for t in world_times(world):
        for rng in (Rngs(5), 5):  # an Rngs, or a bare seed
            batch = world.sample(17, t, rng)
            assert batch.n == 17, f"sample(17, {t}) has {batch.n} rows"


def yield_world_checks(world) -> Iterator[Callable[[object], None]]:
    """Yield every world check, each a function of the world.

    Examples
    --------
    >>> from simlab.world import sea
    >>> [c.__name__ for c in yield_world_checks(sea())][:3]
    ['check_schema', 'check_sample_zero', 'check_deterministic']
    """
    yield check_schema
    yield check_sample_zero
    yield check_deterministic
    yield check_independent_of_other_streams
    yield check_events
    yield check_proba
    yield check_round_trip
    yield check_pickle
    yield check_respond
    yield check_world_times


def check_world(world) -> None:
    """Run every world check; the first failure raises `AssertionError`.

    Examples
    --------
    >>> from simlab.world import credit
    >>> check_world(credit())
    """
    for check in yield_world_checks(world):
        check(world)
