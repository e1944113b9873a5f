"""The detector protocol: ``fit(reference)``, then ``update(view) -> Verdict`` once per tick."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from simlab.batch import readonly
from simlab.errors import ConfigError, NotFittedError, SchemaError
from simlab.params import Component
from simlab.registry import Registry

__all__ = ["DETECTORS", "BaseDetector", "Detector", "Tags", "Verdict", "View", "Watches"]

DETECTORS: Registry = Registry("detector")


class Watches(enum.StrEnum):
    """What a detector looks at.

    Examples
    --------
    >>> Watches("scores")
    <Watches.SCORES: 'scores'>
    """

    FEATURES = "features"  # the model's inputs, label-free
    SCORES = "scores"  # the model's outputs, label-free
    LABELS = "labels"  # delayed labels with the scores the model gave those rows
    QUALITY = "quality"  # data-quality facts about the inputs
    PROXY = "proxy"  # business proxies


@dataclass(frozen=True, slots=True)
class Tags:
    """Static facts about a detector class.

    Parameters
    ----------
    watches
        What it reads from a `View`.
    per_feature
        True if the statistic has one value per feature (shape ``(feature,)``).

    Examples
    --------
    >>> Tags(watches=Watches.FEATURES, per_feature=True).per_feature
    True
    """

    watches: Watches
    per_feature: bool = False


def _ro(a):
    return None if a is None else readonly(a)


@dataclass(frozen=True, slots=True)
class View:
    """What a monitor can see at one tick, and nothing more.

    Parameters
    ----------
    t
        Simulated hours.
    columns
        The tick's input rows (as served to the model), by feature.
    scores
        The model's output for those rows: P(Y=1) for a classifier, the prediction for a
        regressor.
    labels
        Labels that *arrived* during this tick (for rows served at this tick or earlier).
    label_scores
        The scores the model gave the rows whose labels arrived, aligned with `labels`.
    label_times
        The hours at which those rows were served (the prediction log's timestamps),
        aligned with `labels`; None when unknown.

    Examples
    --------
    >>> import numpy as np
    >>> v = View(t=0.0, columns={"x": np.zeros(3)}, scores=np.full(3, 0.5))
    >>> v.n, v.n_labels
    (3, 0)
    """

    t: float = 0.0
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    label_scores: np.ndarray | None = None
    label_times: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(
            self, "columns", MappingProxyType({k: _ro(v) for k, v in self.columns.items()})
        )
        for name in ("scores", "labels", "label_scores", "label_times"):
            object.__setattr__(self, name, _ro(getattr(self, name)))
        arrays = {**self.columns, **{n: getattr(self, n) for n in ("scores", "labels")}}
        for name, values in arrays.items():
            if values is not None and values.ndim != 1:
                raise SchemaError(f"View: {name!r} has shape {values.shape}; expected 1-D")
        if (self.labels is None) != (self.label_scores is None) or (
            self.labels is not None and self.labels.shape != self.label_scores.shape
        ):
            raise ConfigError(
                "label_scores", None, "an array aligned with labels (both or neither)", owner="View"
            )

    @property
    def n(self) -> int:
        """Rows served this tick."""
        if self.scores is not None:
            return int(self.scores.shape[0])
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def n_labels(self) -> int:
        """Labels that arrived this tick."""
        return 0 if self.labels is None else int(self.labels.shape[0])


@dataclass(frozen=True, slots=True)
class Verdict:
    """A detector's answer for one tick.

    Parameters
    ----------
    statistic
        The test statistic: a float, or one per feature for per-feature detectors
        (``nan`` where there was nothing to test).
    threshold
        The level above which the statistic raises an alarm (same shape).
    alarm
        Whether the detector alarms at this tick.

    Examples
    --------
    >>> v = Verdict(statistic=0.3, threshold=0.2, alarm=True)
    >>> v.alarm
    True
    """

    statistic: float | np.ndarray
    threshold: float | np.ndarray
    alarm: bool

    def __post_init__(self):
        object.__setattr__(self, "alarm", bool(self.alarm))


@runtime_checkable
class Detector(Protocol):
    """Every monitor: ``fit(reference) -> self`` and ``update(view) -> Verdict``.

    Examples
    --------
    >>> from simlab.detectors import PSI
    >>> isinstance(PSI(), Detector)
    True
    """

    name: str
    tags: ClassVar[Tags]

    def fit(self, reference: View) -> Detector: ...

    def update(self, view: View) -> Verdict: ...


class BaseDetector(Component):
    """Boilerplate for detectors: fit check, feature selection and a summary statistic.

    Subclasses implement ``_fit(reference)`` and ``_update(view) -> Verdict``.

    Examples
    --------
    >>> import numpy as np
    >>> class Mean(BaseDetector):
    ...     def __init__(self, *, limit=1.0):
    ...         self.limit = limit
    ...     def _fit(self, reference):
    ...         self.mean_ = float(np.mean(reference.scores))
    ...     def _update(self, view):
    ...         d = abs(float(np.mean(view.scores)) - self.mean_)
    ...         return Verdict(statistic=d, threshold=self.limit, alarm=d > self.limit)
    >>> det = Mean().fit(View(scores=np.zeros(10)))
    >>> det.update(View(scores=np.full(10, 2.0))).alarm
    True
    """

    tags: ClassVar[Tags] = Tags(watches=Watches.FEATURES)

    @property
    def is_fitted(self) -> bool:
        """True once `fit` has been called."""
        return getattr(self, "fitted_", False)

    def fit(self, reference: View) -> BaseDetector:
        """Learn the reference (from the training window); returns self."""
        self.fitted_ = False  # a refit that fails leaves the detector unfitted, not half-updated
        self._fit(reference)
        self.fitted_ = True
        return self

    def update(self, view: View) -> Verdict:
        """Test one tick's view against the reference."""
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(reference) first")
        return self._update(view)

    def _fit(self, reference: View) -> None:
        raise NotImplementedError

    def _update(self, view: View) -> Verdict:
        raise NotImplementedError

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite instantiates (river's convention)."""
        return [{}]
