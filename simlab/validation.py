"""Checks of scalar parameters, shared by every component: errors name key, value and range."""

from __future__ import annotations

import math

import numpy as np

from simlab.errors import ConfigError

__all__ = ["as_tuple", "check_bool", "check_int", "check_names", "check_real"]


def as_tuple(owner: str | None, key: str, value, allowed: str) -> tuple:
    """`value` as a tuple (a string or a mapping is not a sequence here), or a `ConfigError`.

    Examples
    --------
    >>> as_tuple("Logistic", "features", ["a", "b"], "a tuple of names")
    ('a', 'b')
    >>> as_tuple("Logistic", "features", 3.5, "a tuple of names")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: Logistic: features=3.5 is not allowed; expected a tuple of names
    """
    if isinstance(value, (str, bytes, dict)):
        raise ConfigError(key, value, allowed, owner=owner)
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError(key, value, allowed, owner=owner) from None


def check_names(
    owner: str | None, key: str, value, allowed: str = "a non-empty tuple of column names"
) -> tuple[str, ...]:
    """`value` as a non-empty tuple of non-empty strings, or a `ConfigError` saying `allowed`.

    Examples
    --------
    >>> check_names("Round", "columns", ["x0", "x1"])
    ('x0', 'x1')
    >>> check_names("Round", "columns", -1, "column names")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: Round: columns=-1 is not allowed; expected column names
    """
    names = as_tuple(owner, key, value, allowed)
    if not names or not all(isinstance(c, str) and c for c in names):
        raise ConfigError(key, value, allowed, owner=owner)
    return names


def check_bool(owner: str | None, key: str, value) -> bool:
    """Return `value` if it is a bool (``true``/``false`` in TOML), else raise `ConfigError`.

    A string such as ``"false"`` is refused: it would be truthy.

    Examples
    --------
    >>> check_bool("Constant", "poisson", "false")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: Constant: poisson='false' is not allowed; expected true or false
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ConfigError(key, value, "true or false", owner=owner)


def check_int(owner: str | None, key: str, value, low: int, high: int | None = None) -> int:
    """Return `value` as an int, or raise `ConfigError` unless it is an int in ``[low, high]``.

    Examples
    --------
    >>> check_int("PSI", "n_bins", 1, 2)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: PSI: n_bins=1 is not allowed; expected an int >= 2
    """
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
    raise ConfigError(key, value, allowed, owner=owner)


def check_real(
    owner: str | None,
    key: str,
    value,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    open_low: bool = False,
    open_high: bool = True,
) -> float:
    """Return `value` as a float, or raise `ConfigError` unless it is a finite number in range.

    The range is ``[low, high)`` by default; `open_low` and `open_high` choose the ends.
    Infinite bounds mean "no bound" (the value itself must still be finite).

    Examples
    --------
    >>> check_real("KS", "alpha", 1.5, low=0.0, high=1.0, open_low=True)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: KS: alpha=1.5 is not allowed; expected a number in (0.0, 1.0)
    >>> check_real("Gradual", "width", -2.0, low=0.0, open_low=True)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: Gradual: width=-2.0 is not allowed; expected a finite number > 0.0
    >>> check_real("SEA", "noise", 1, low=0.0, high=1.0, open_high=False)
    1.0
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if ok and math.isfinite(value):
        above = value > low if open_low else value >= low
        below = value < high if open_high else value <= high
        if above and below:
            return float(value)
    if math.isinf(low) and math.isinf(high):
        allowed = "a finite number"
    elif math.isinf(high):
        allowed = f"a finite number {'>' if open_low else '>='} {low}"
    elif math.isinf(low):
        allowed = f"a number {'<' if open_high else '<='} {high}"
    else:
        left, right = "(" if open_low else "[", ")" if open_high else "]"
        allowed = f"a number in {left}{low}, {high}{right}"
    raise ConfigError(key, value, allowed, owner=owner)
