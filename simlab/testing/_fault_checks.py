"""Generic conformance checks that every fault must pass (like scikit-learn's estimator checks).

`yield_fault_checks(fault)` yields check functions ``check_x(fault, world)``;
`check_fault(fault, world)` runs them all on a world whose schema the fault applies to
(`simlab.testing.fakes.fault_test_world` by default). Every check works on fresh clones of
the fault, so state kept by a stateful fault never leaks from one check into another.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from collections.abc import Callable, Iterator

import numpy as np

from simlab.batch import Batch
from simlab.events import EventKind
from simlab.faults.base import Fault, Faulted, ServingFault
from simlab.registry import build
from simlab.rng import Rngs

__all__ = [
    "check_fault",
    "check_fault_deterministic",
    "check_fault_pickle",
    "check_fault_pure",
    "check_fault_round_trip",
    "check_fault_rows",
    "check_fault_schema",
    "check_fault_window_and_event",
    "yield_fault_checks",
]

_N = 400
_TIMES = (0.0, 7.0, 30.0)


def _same(a: Batch, b: Batch) -> bool:
    def eq(x, y):
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            return np.array_equal(x, y, equal_nan=True)
        return np.array_equal(x, y)

    return (
        a.t == b.t
        and a.names == b.names
        and all(eq(a.columns[k], b.columns[k]) for k in a.columns)
        and np.array_equal(a.y, b.y)
        and np.array_equal(a.row_id, b.row_id)
    )


def _batches(world) -> list[Batch]:
    return [world.sample(_N, t, Rngs(11)) for t in _TIMES]


def check_fault_pure(fault: Fault, world) -> None:
    """``apply`` returns a Batch and never changes the one it was given."""
    f = fault.clone()
    for batch in _batches(world):
        before = copy.deepcopy(batch)
        out = f.apply(batch, np.random.default_rng(0))
        assert isinstance(out, Batch), f"apply returned {type(out).__name__}, not a Batch"
        assert _same(batch, before), f"{fault!r} changed its input batch"


def check_fault_schema(fault: Fault, world) -> None:
    """The output conforms to ``schema_out(world.schema)``."""
    f = fault.clone()
    schema = f.schema_out(world.schema)
    for batch in _batches(world):
        schema.validate(f.apply(batch, np.random.default_rng(1)))


def check_fault_rows(fault: Fault, world) -> None:
    """The row count is kept, unless the fault says it changes rows."""
    if type(fault).changes_rows:
        return
    f = fault.clone()
    for batch in _batches(world):
        out = f.apply(batch, np.random.default_rng(2))
        assert out.n == batch.n, f"{fault!r} turned {batch.n} rows into {out.n}"


def check_fault_deterministic(fault: Fault, world) -> None:
    """Fresh copies given the same generator give identical batches."""
    a, b = fault.clone(), fault.clone()
    for batch in _batches(world):
        x = a.apply(batch, np.random.default_rng(3))
        y = b.apply(batch, np.random.default_rng(3))
        assert _same(x, y), f"{fault!r} gave two answers for one seed at t={batch.t}"


def check_fault_window_and_event(fault: Fault, world) -> None:
    """In a `Faulted` or a `ServingFault`: a no-op before the window, one event for it.

    After the window a stateful fault may still act through ``idle`` (a late row still
    arrives), so only the time before the window is checked for every fault, and after it
    for stateless ones.
    """
    wrapped = Faulted(world=world, fault=fault.clone(), start=10.0, end=20.0)
    slot = ServingFault(fault=fault.clone(), start=10.0, end=20.0)
    times = [0.0, 5.0] + ([] if type(fault).stateful else [20.0, 40.0])
    for t in times:
        inner = world.sample(_N, t, Rngs(4))
        assert _same(wrapped.sample(_N, t, Rngs(4)), inner), f"Faulted acted at t={t}"
        assert _same(slot.apply(inner, Rngs(4)), inner), f"ServingFault acted at t={t}"
    for events in (wrapped.events(100.0), slot.events(100.0)):
        faults = [e for e in events if e.kind is EventKind.FAULT]
        assert len(faults) == 1, f"expected one fault event, got {faults}"
        e = faults[0]
        assert (e.start, e.end) == (10.0, 20.0), f"event window {(e.start, e.end)} != (10, 20)"
        assert e.source == fault.name
        assert set(e.features) == set(fault.features)
    assert not wrapped.events(5.0) or all(
        e.kind is not EventKind.FAULT for e in wrapped.events(5.0)
    )


def check_fault_round_trip(fault: Fault, world) -> None:
    """``to_dict()`` -> JSON -> `simlab.registry.build` gives an equal fault, acting the same."""
    text = json.dumps(fault.to_dict(), sort_keys=True)
    again = build(json.loads(text))
    assert again == fault, "the rebuilt fault is not equal to the original"
    assert json.dumps(again.to_dict(), sort_keys=True) == text
    original = fault.clone()  # both fresh: a stateful fault carries its state along the ticks
    for batch in _batches(world):
        x = original.apply(batch, np.random.default_rng(5))
        y = again.apply(batch, np.random.default_rng(5))
        assert _same(x, y), f"the rebuilt fault acts differently at t={batch.t}"


def check_fault_pickle(fault: Fault, world) -> None:
    """A pickled fault is equal and acts the same (process executors need it)."""
    again = pickle.loads(pickle.dumps(fault.clone()))
    assert again == fault
    batch = _batches(world)[0]
    assert _same(
        fault.clone().apply(batch, np.random.default_rng(6)),
        again.apply(batch, np.random.default_rng(6)),
    )
    assert math.isnan(fault.magnitude) or isinstance(fault.magnitude, float)


def yield_fault_checks(fault: Fault) -> Iterator[Callable[[Fault, object], None]]:
    """Yield every fault check, each a function of the fault and a world.

    Examples
    --------
    >>> from simlab.faults import DropColumn
    >>> [c.__name__ for c in yield_fault_checks(DropColumn(column="a"))][:2]
    ['check_fault_pure', 'check_fault_schema']
    """
    yield check_fault_pure
    yield check_fault_schema
    yield check_fault_rows
    yield check_fault_deterministic
    yield check_fault_window_and_event
    yield check_fault_round_trip
    yield check_fault_pickle


def check_fault(fault: Fault, world=None) -> None:
    """Run every fault check on `world` (a world with every kind of column by default).

    Examples
    --------
    >>> from simlab.faults import UnitChange
    >>> check_fault(UnitChange(column="a", scale=1000.0))
    """
    if world is None:
        from simlab.testing.fakes import fault_test_world

        world = fault_test_world()
    for check in yield_fault_checks(fault):
        check(fault, world)
