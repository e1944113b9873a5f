"""Component: parameters read from the signature, clone, repr, and a JSON round trip."""

from __future__ import annotations

import inspect
import json
import math
from typing import Any, ClassVar

import numpy as np

from simlab.errors import ConfigError

__all__ = ["Component", "encode"]


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
        """A new, unfitted instance with the same parameters, some overridden."""
        params = self.get_params()
        for key, value in overrides.items():
            if key not in params:
                raise ConfigError(key, value, f"one of {list(params)}", owner=type(self).__name__)
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
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

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
