"""Parameter interpolation between two components of the same family and structure."""

from __future__ import annotations

import math

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
