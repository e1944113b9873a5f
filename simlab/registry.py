"""Registries: open families (worlds, concepts, shifts, detectors, ...) looked up by name."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from simlab.errors import ConfigError, SimlabError, UnknownNameError

__all__ = ["Registry", "build", "registered"]

T = TypeVar("T")

# Every registered name, across families, so a spec {"kind": name} is never ambiguous.
_INDEX: dict[str, tuple[str, Any]] = {}


class Registry(Generic[T]):
    """A named family of classes (or factory functions) that validates what it builds.

    Parameters
    ----------
    family
        The family's name in messages ("detector", "concept", ...).
    index
        Whether its names join the global index that `build` reads (components built
        from nested ``{"kind": ...}`` specs). Catalogues of ready-made things (scenarios,
        estimator names) stay out of it, so their names may repeat a component's.

    Examples
    --------
    >>> reg = Registry("gadget")
    >>> @reg.register("widget_demo")
    ... class Widget:
    ...     def __init__(self, *, size=1):
    ...         self.size = size
    >>> reg.make({"kind": "widget_demo", "size": 3}).size
    3
    >>> reg.make({"kind": "widgit_demo"})
    Traceback (most recent call last):
    ...
    simlab.errors.UnknownNameError: Unknown gadget 'widgit_demo'. Did you mean 'widget_demo'? ...
    """

    def __init__(self, family: str, *, index: bool = True):
        self.family = family
        self.index = index
        self._items: dict[str, Any] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Return a decorator that registers a class or factory under `name`."""

        def decorator(obj: T) -> T:
            if self.index and name in _INDEX and not _same_origin(_INDEX[name][1], obj):
                raise ConfigError(
                    "name", name, f"a name not already used (taken by {_INDEX[name][0]})"
                )
            if isinstance(obj, type):
                obj.name = name
            self._items[name] = obj
            if self.index:
                _INDEX[name] = (self.family, obj)
            return obj

        return decorator

    def get(self, name: str) -> Any:
        """Return the class or factory registered under `name`."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.family, name, self._items) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)

    def make(self, spec: str | Mapping[str, Any]) -> T:
        """Build an instance from a name or a ``{"kind": name, **params}`` mapping.

        Parameters are checked against the constructor's signature; nested
        ``{"kind": ...}`` mappings are built too.
        """
        if isinstance(spec, str):
            spec = {"kind": spec}
        if not isinstance(spec, Mapping) or "kind" not in spec:
            raise ConfigError(self.family, spec, 'a name or a mapping with a "kind" key')
        spec = dict(spec)
        obj = self.get(spec.pop("kind"))
        kwargs = {k: _decode(v) for k, v in spec.items()}
        return _call(obj, kwargs)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}, {self.names()})"


def _same_origin(a, b) -> bool:
    # the same definition imported again (a reload) may take its own name back
    return a is b or (
        getattr(a, "__module__", None) == getattr(b, "__module__", 0)
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", 0)
    )


def _call(obj, kwargs):
    sig = inspect.signature(obj)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    if not accepts_any:
        allowed = [n for n, p in sig.parameters.items() if p.kind is not p.VAR_POSITIONAL]
        for key, value in kwargs.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    key, value, f"one of {allowed}{hint}", owner=getattr(obj, "__name__", None)
                )
        missing = [
            n
            for n, p in sig.parameters.items()
            if p.default is p.empty
            and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            and n not in kwargs
        ]
        if missing:
            raise ConfigError(
                missing[0],
                None,
                "a value (this parameter is required)",
                owner=getattr(obj, "__name__", None),
            )
    try:
        return obj(**kwargs)
    except SimlabError:
        raise
    except (TypeError, ValueError, OverflowError) as err:
        # a value the component's own checks did not foresee (its own code raised): still a
        # clean error naming the component and what it was given, with the cause chained
        name = getattr(obj, "__name__", type(obj).__name__)
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise ConfigError(
            name, given[:200], f"values {name} can use ({type(err).__name__}: {err})", owner=name
        ) from err


def _decode(value):
    if isinstance(value, Mapping):
        if isinstance(value.get("kind"), str):
            return build(value)  # an unknown kind fails here, with a suggestion
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_decode(v) for v in value)
    return value


def build(spec: Mapping[str, Any]) -> Any:
    """Build any registered object from a ``{"kind": name, ...}`` mapping.

    Examples
    --------
    >>> import simlab
    >>> build({"kind": "sudden", "start": 10.0})
    Sudden(start=10.0)
    """
    kind = spec.get("kind") if isinstance(spec, Mapping) else None
    if not isinstance(kind, str) or kind not in _INDEX:
        raise UnknownNameError("component", kind, _INDEX)
    _family, obj = _INDEX[kind]
    rest = {k: _decode(v) for k, v in spec.items() if k != "kind"}
    return _call(obj, rest)


def registered(family: str | None = None) -> dict[str, Any]:
    """Every registered object by name, optionally of one family.

    Examples
    --------
    >>> import simlab
    >>> "gradual" in registered("schedule")
    True
    """
    return {n: o for n, (f, o) in _INDEX.items() if family is None or f == family}
