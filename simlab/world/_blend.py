"""Parameter interpolation between two components of the same family and structure.

`interpolate` is the reference: it encodes both components, moves every number that
differs linearly, and builds the result through the registry (full validation). A drift
calls it on every tick, so the shifts use `interpolator(a, b)` instead: the structure
check is done once per pair, and families that know their own numbers (`Gaussian`,
`Logistic`, ...) rebuild the component from arrays without encoding or validation. Both
give the same component, number for number (``tests/test_world_speed_invariants.py``).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from simlab.params import Component
from simlab.registry import build


class _Mismatch(Exception):
    pass


def _lerp(a, b, w):
    if isinstance(a, bool) or isinstance(b, bool):
        if a != b:
            raise _Mismatch
        return a
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b:
            return a
        if not (math.isfinite(a) and math.isfinite(b)):
            raise _Mismatch
        return (1.0 - w) * a + w * b
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise _Mismatch
        return [_lerp(x, y, w) for x, y in zip(a, b, strict=True)]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise _Mismatch
        return {k: _lerp(a[k], b[k], w) for k in a}
    if a != b:
        raise _Mismatch
    return a


def can_interpolate(a: Component, b: Component) -> bool:
    """True if `a` and `b` have the same family and structure, differing only in numbers."""
    try:
        _lerp(a.to_dict(), b.to_dict(), 0.5)
    except _Mismatch:
        return False
    return True


def interpolate(a: Component, b: Component, w: float) -> Component:
    """The component ``w`` of the way from `a` to `b` (numbers moved linearly)."""
    if w <= 0.0:
        return a
    if w >= 1.0:
        return b
    return build(_lerp(a.to_dict(), b.to_dict(), float(w)))


def lerp_array(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """`_lerp` of two float arrays, element by element: `a` where ``a == b``, else the lerp.

    The same IEEE operations as `_lerp` on each pair of Python floats, so the same numbers.
    """
    return np.where(a == b, a, (1.0 - w) * a + w * b)


def floats(value, d: int | None = None) -> np.ndarray | None:
    """`value` as a float array if it is a list of `d` Python floats, else None.

    Only such vectors are interpolated with arrays: `_lerp` keeps an int that does not
    move as an int, which a float array cannot say.
    """
    if (
        isinstance(value, list)
        and (d is None or len(value) == d)
        and all(type(v) is float for v in value)
    ):
        return np.array(value, dtype=float)
    return None


def cache_of(component) -> dict:
    """The private cache of a component: derived only from its parameters, never pickled."""
    cache = component.__dict__.get("_fast")
    if cache is None:
        cache = component.__dict__["_fast"] = {}
    return cache


def without_cache(component) -> dict:
    """``__getstate__`` for components with a cache: their state without it."""
    state = component.__dict__.copy()
    state.pop("_fast", None)
    return state


def expanded(component):
    """``component.expanded()``, computed once per component (it depends only on the parameters)."""
    cache = cache_of(component)
    out = cache.get("expanded")
    if out is None:
        out = cache["expanded"] = component.expanded()
    return out


class _Interpolator:
    """Moves from `a` to `b` (same family and structure) for any weight, fast."""

    __slots__ = ("_build", "_spec", "a", "b")

    def __init__(self, a: Component, b: Component):
        self.a, self.b = a, b
        self._spec = (a.to_dict(), b.to_dict())
        # a family may know how to rebuild itself from arrays (None: it does not, or not
        # for this pair); else the reference path, with the two specs encoded once. Only
        # the class's own: a subclass inherits a builder that would make its parent.
        setup = vars(type(a)).get("_lerp_setup")
        self._build = setup(a, b, *self._spec) if setup is not None else None

    def __call__(self, w: float) -> Component:
        if w <= 0.0:
            return self.a
        if w >= 1.0:
            return self.b
        w = float(w)
        if self._build is not None:
            out = self._build(w)
            if out is not None:
                return out
        return build(_lerp(*self._spec, w))


def recall(cache: dict, objects: tuple, make, size: int = 8):
    """``make()``, remembered in `cache` under the identity of `objects` (the most recent few).

    The entry holds `objects`, so that none of their ids can be taken by another object
    while it lives; the least recently used entry goes first, so that objects made anew
    on every tick (an interpolated block) never push out the ones that come back. Safe
    when threads share the cache: at worst an answer is made twice.
    """
    key = tuple(map(id, objects))
    hit = cache.pop(key, None)
    if hit is None:
        hit = (objects, make())
        if len(cache) >= size:
            # another thread may have changed the cache meanwhile: then it did this for us
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del cache[next(iter(cache))]
    cache[key] = hit  # most recent last
    return hit[1]


def interpolator(a: Component, b: Component) -> _Interpolator | None:
    """``w -> interpolate(a, b, w)``, or None if they cannot be interpolated; cached on `a`."""
    pairs = cache_of(a).setdefault("interpolators", {})
    return recall(pairs, (b,), lambda: _Interpolator(a, b) if can_interpolate(a, b) else None)
