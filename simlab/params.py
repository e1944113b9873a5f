"""Component: parameters read from the signature, clone, repr, and a JSON round trip."""

from __future__ import annotations

import inspect
import json
import math
from typing import Any, ClassVar

import numpy as np

from simlab.errors import ConfigError

__all__ = ["Component", "encode", "structural_key"]


def encode(value: Any) -> Any:
    """Turn a parameter value into plain JSON-able data (components become ``{"kind": ...}``).

    Examples
    --------
    >>> import numpy as np
    >>> encode((1, np.float64(2.5), np.array([3, 4])))
    [1, 2.5, [3, 4]]
    """
    if isinstance(value, Component):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return encode(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError("value", value, "JSON-able data (numbers, strings, lists, components)")


def _is_estimator(value: Any) -> bool:
    """A scikit-learn-style estimator object (not a simlab component)."""
    return (
        not isinstance(value, Component)
        and not isinstance(value, type)
        and hasattr(value, "get_params")
        and hasattr(value, "fit")
    )


def structural_key(value: Any) -> Any:
    """A hashable key that is equal for equal configurations (components compare by value).

    Components compare by type and parameters, scikit-learn estimators by class and
    parameters, arrays by dtype, shape and content, sequences element by element, and NaN
    equals NaN. Equality and hashing of components and scenarios use it, so neither goes
    through JSON (which an estimator object cannot always take).

    Examples
    --------
    >>> import numpy as np
    >>> structural_key((1.0, np.array([2, 3]))) == structural_key([1.0, np.array([2, 3])])
    True
    >>> structural_key(float("nan")) == structural_key(float("nan"))
    True
    """
    if isinstance(value, Component):
        items = tuple((n, structural_key(v)) for n, v in value.get_params().items())
        return (type(value), items)
    if isinstance(value, dict):
        return (
            "dict",
            tuple(
                sorted(
                    ((str(k), structural_key(v)) for k, v in value.items()), key=lambda kv: kv[0]
                )
            ),
        )
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(structural_key(v) for v in value))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return structural_key(value.item())
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if _is_estimator(value):
        return ("estimator", type(value), structural_key(value.get_params(deep=False)))
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return value


def _clone_value(value: Any) -> Any:
    """A fresh copy of a parameter value: components and estimators cloned, recursively."""
    if isinstance(value, Component):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_clone_value(v) for v in value)
    if isinstance(value, list):
        return [_clone_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone_value(v) for k, v in value.items()}
    if _is_estimator(value):
        from sklearn.base import clone

        return clone(value)
    return value


class Component:
    """Base for configurable pieces: keyword-only ``__init__`` storing each argument unchanged.

    ``get_params()`` reads the signature (scikit-learn's name), ``clone(**overrides)``
    builds a fresh copy, ``repr`` shows only parameters that differ from their defaults, and
    ``to_dict()`` / `simlab.registry.build` round-trip through JSON.

    Examples
    --------
    >>> from simlab.world import Sudden
    >>> s = Sudden(start=5.0)
    >>> s.clone(start=7.0)
    Sudden(start=7.0)
    >>> s.to_dict()
    {'kind': 'sudden', 'start': 5.0}
    """

    name: ClassVar[str] = ""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [n for n, p in sig.parameters.items() if n != "self" and p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as stored."""
        return {n: getattr(self, n) for n in self._param_names()}

    def clone(self, **overrides) -> Component:
        """A new, unfitted instance with the same parameters, some overridden.

        The copy is deep, as scikit-learn's ``clone`` is: parameters that are components
        (or estimators) are cloned too, so the copy shares no state with the original.
        That is how a world with state starts fresh in every run.
        """
        params = self.get_params()
        for key, value in overrides.items():
            if key not in params:
                raise ConfigError(key, value, f"one of {list(params)}", owner=type(self).__name__)
        params = {k: _clone_value(v) for k, v in params.items()}
        params.update(overrides)
        return type(self)(**params)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able spec: ``{"kind": name, **params}``."""
        return {"kind": self.name, **{k: encode(v) for k, v in self.get_params().items()}}

    def to_json(self) -> str:
        """The spec as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return structural_key(self) == structural_key(other)

    def __hash__(self) -> int:
        return hash(structural_key(self))

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for name in self._param_names():
            value = getattr(self, name)
            default = sig.parameters[name].default
            if default is inspect.Parameter.empty or not _same(value, default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(a, b) -> bool:
    try:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(encode(a) == encode(b))
    except ConfigError:
        return a is b
