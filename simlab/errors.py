"""Errors: every message names the key, the value and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ConfigError", "NotFittedError", "SchemaError", "SimlabError", "UnknownNameError"]


class SimlabError(Exception):
    """Base class of every error simlab raises on purpose.

    Examples
    --------
    >>> issubclass(ConfigError, SimlabError)
    True
    """


class ConfigError(SimlabError, ValueError):
    """A parameter has a value that is not allowed.

    Parameters
    ----------
    key
        The parameter's name, as the user wrote it.
    value
        The value that was given.
    allowed
        What would have been accepted, in words.
    owner
        The component that refused it (a class or registry name), if any.

    Examples
    --------
    >>> print(ConfigError("n_bins", 1, "an int >= 2", owner="PSI"))
    PSI: n_bins=1 is not allowed; expected an int >= 2
    """

    def __init__(self, key: str, value: object, allowed: str, owner: str | None = None):
        # the constructor's arguments are the exception's args, so ``type(e)(*e.args)`` (how
        # simpy re-raises a process's error) and pickling both rebuild the same error
        super().__init__(key, value, allowed, owner)
        self.key = key
        self.value = value
        self.allowed = allowed
        self.owner = owner

    def __str__(self) -> str:
        prefix = f"{self.owner}: " if self.owner else ""
        return f"{prefix}{self.key}={self.value!r} is not allowed; expected {self.allowed}"


class UnknownNameError(ConfigError, KeyError):
    """A name that no registry knows; the message suggests the closest known names.

    Examples
    --------
    >>> err = UnknownNameError("detector", "pis", ["psi", "ks", "adwin"])
    >>> print(err)
    Unknown detector 'pis'. Did you mean 'psi'? Known: adwin, ks, psi
    """

    def __init__(self, family: str, name: object, known: Iterable[str]):
        known = sorted(known)
        Exception.__init__(self, family, name, known)  # args rebuild the error (see ConfigError)
        self.family = family
        self.known = known
        self.key, self.value, self.allowed, self.owner = family, name, ", ".join(known), None

    def __str__(self) -> str:
        close = difflib.get_close_matches(str(self.value), self.known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(self.known) or "(none)"
        return f"Unknown {self.family} {self.value!r}.{hint} Known: {known}"


class SchemaError(SimlabError, ValueError):
    """A batch does not conform to its schema (missing column, wrong dtype, wrong length).

    Examples
    --------
    >>> raise SchemaError("column 'x' is missing")
    Traceback (most recent call last):
    ...
    simlab.errors.SchemaError: column 'x' is missing
    """


class NotFittedError(SimlabError, RuntimeError):
    """A component was used before ``fit``.

    Examples
    --------
    >>> print(NotFittedError("PSI is not fitted; call fit(reference) first"))
    PSI is not fitted; call fit(reference) first
    """
