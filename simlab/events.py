"""Ground-truth events: each injected change, fault, deployment or alarm, with its time window."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

__all__ = ["Event", "EventKind"]


class EventKind(StrEnum):
    """What kind of thing happened.

    Examples
    --------
    >>> EventKind("covariate_shift") is EventKind.COVARIATE_SHIFT
    True
    """

    COVARIATE_SHIFT = "covariate_shift"
    LABEL_SHIFT = "label_shift"
    CONCEPT_SHIFT = "concept_shift"
    FAULT = "fault"
    TRAIN = "train"
    DEPLOY = "deploy"
    ALARM = "alarm"
    SERVING_FALLBACK = "serving_fallback"  # a column was unusable; serving used its fallback
    SERVING_FAILURE = "serving_failure"  # a column was unusable; serving requests failed
    PROXY_SHIFT = "proxy_shift"  # the tie between a proxy outcome and the label moved
    PROMOTE = "promote"  # a challenger became the champion
    STOP = "stop"  # an A/B test ended without promotion (its test, or its guard rail)
    ROLLBACK = "rollback"  # a canary was rolled back by its guard rail


@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """One ground-truth event, in simulated hours.

    Parameters
    ----------
    kind
        An `EventKind`.
    start, end
        The window in hours; ``end == start`` for an instant, ``inf`` for "until the horizon".
    source
        The component that caused it (a shift's name, a detector's name, ...).
    features
        Features it touches (empty for all or none).
    magnitude
        A size in the source's own terms (a mean shift, a prior change, ...); ``nan`` if none.
    detail
        Extra JSON-serialisable facts.

    Examples
    --------
    >>> e = Event("concept_shift", 100.0, 148.0, source="concept_shift")
    >>> e.kind, e.duration
    (<EventKind.CONCEPT_SHIFT: 'concept_shift'>, 48.0)
    """

    kind: EventKind
    start: float
    end: float
    source: str = ""
    features: tuple[str, ...] = ()
    magnitude: float = float("nan")
    detail: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        from simlab.errors import ConfigError

        try:
            object.__setattr__(self, "kind", EventKind(self.kind))
        except ValueError:
            allowed = f"one of {[k.value for k in EventKind]}"
            raise ConfigError("kind", self.kind, allowed, owner="Event") from None
        object.__setattr__(self, "features", tuple(self.features))
        for key in ("start", "end", "magnitude"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ConfigError(key, value, "a number of hours", owner="Event")
            object.__setattr__(self, key, float(value))
        if math.isnan(self.start):
            raise ConfigError("start", self.start, "a time, not nan", owner="Event")
        if not self.end >= self.start:
            raise ConfigError("end", self.end, f"a time >= start ({self.start})", owner="Event")

    def _key(self) -> tuple:
        # nan ("no magnitude") must equal nan, or no event would equal its own copy
        mag = None if math.isnan(self.magnitude) else self.magnitude
        return (self.kind, self.start, self.end, self.source, self.features, mag)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def duration(self) -> float:
        """Length of the window in hours."""
        return self.end - self.start

    def detail_json(self) -> str:
        """The detail (with features and magnitude) as a JSON string.

        Examples
        --------
        >>> Event("fault", 1.0, 2.0, features=("x",)).detail_json()
        '{"features": ["x"], "magnitude": null}'
        """
        mag = None if self.magnitude != self.magnitude else self.magnitude
        return json.dumps(
            {"features": list(self.features), "magnitude": mag, **self.detail}, sort_keys=True
        )
