"""The detector protocol: ``fit(reference)``, then ``update(view) -> Verdict`` once per tick."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from simlab.errors import ConfigError, NotFittedError
from simlab.params import Component
from simlab.registry import Registry
from simlab.view import Verdict, View

__all__ = [
    "DETECTORS",
    "ON",
    "BaseDetector",
    "Detector",
    "Tags",
    "Verdict",
    "View",
    "Watches",
    "restarts_of",
    "watches_of",
]

DETECTORS: Registry = Registry("detector")


class Watches(enum.StrEnum):
    """What a detector looks at.

    Examples
    --------
    >>> Watches("scores")
    <Watches.SCORES: 'scores'>
    """

    FEATURES = "features"  # upstream columns, as the world emits them (label-free)
    SERVED = "served"  # the model's served features, after the serving pipeline (label-free)
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
    threshold
        The calibration contract: the name of the parameter that sets how readily it alarms
        (None: nothing to calibrate). `simlab.detectors.calibrate` moves it.
    direction
        +1 if raising that parameter makes alarms rarer (a threshold on a distance), -1 if it
        makes them more frequent (a significance level ``alpha``).
    randomised
        True if its verdicts depend on random draws; it then draws only from the generator it
        is given (`BaseDetector.seed`), which the engine derives from the run's seed and the
        monitor's name.
    restarts
        True for a sequential detector that starts afresh after each alarm (CUSUM, DDM, ...):
        every alarming tick is then a new alarm, even right after another. False for a
        detector whose alarm is a state that holds while the evidence does (a windowed
        test): a run of alarming ticks is one alarm.

    Examples
    --------
    >>> t = Tags(watches=Watches.FEATURES, per_feature=True, threshold="alpha", direction=-1)
    >>> t.per_feature, t.threshold, t.direction
    (True, 'alpha', -1)
    """

    watches: Watches
    per_feature: bool = False
    threshold: str | None = None
    direction: int = 1
    randomised: bool = False
    restarts: bool = False

    def __post_init__(self):
        if self.direction not in (1, -1):
            raise ConfigError("direction", self.direction, "+1 or -1", owner="Tags")


def restarts_of(kind: str) -> bool:
    """Whether the registered detector `kind` restarts after each alarm (`Tags.restarts`).

    A kind not in the registry (a user's own, unregistered class) counts as not restarting.

    Examples
    --------
    >>> restarts_of("psi"), restarts_of("oracle_cusum"), restarts_of("no_such_kind")
    (False, True, False)
    """
    if kind not in DETECTORS:
        return False
    return bool(getattr(getattr(DETECTORS.get(kind), "tags", None), "restarts", False))


#: Where a feature monitor looks: the upstream columns or the model's served features.
ON = ("upstream", "served")


def watches_of(detector) -> Watches:
    """What this detector instance watches (its ``watches`` if it says, else its class tags).

    A feature monitor built with ``on="served"`` watches the model's served features; every
    other detector watches what its class's `Tags` declare.

    Examples
    --------
    >>> from simlab.detectors import PSI, ScorePSI
    >>> watches_of(PSI()).value, watches_of(PSI(on="served")).value, watches_of(ScorePSI()).value
    ('features', 'served', 'scores')
    """
    return Watches(getattr(detector, "watches", None) or detector.tags.watches)


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
    def watches(self) -> Watches:
        """What this instance watches: `Watches.SERVED` for a column monitor ``on="served"``.

        Feature and data-quality monitors read columns; ``on="served"`` points them at the
        model's served features instead of the upstream columns.
        """
        columns = self.tags.watches in (Watches.FEATURES, Watches.QUALITY)
        if columns and getattr(self, "on", "upstream") == "served":
            return Watches.SERVED
        return self.tags.watches

    def seed(self, rng) -> BaseDetector:
        """Give a randomised detector its random stream (a `numpy.random.Generator`).

        The engine calls it before every fit, with a stream named after the monitor, so a
        randomised detector's draws never move the world's or another monitor's. Detectors
        that draw nothing ignore it. Returns self.
        """
        self.rng_ = rng
        return self

    def _check_on(self) -> None:
        if getattr(self, "on", "upstream") not in ON:
            raise ConfigError("on", self.on, f"one of {list(ON)}", owner=type(self).__name__)

    @property
    def is_fitted(self) -> bool:
        """True once `fit` has been called."""
        return getattr(self, "fitted_", False)

    def fit(self, reference: View) -> BaseDetector:
        """Learn the reference (from the training window); returns self."""
        if not isinstance(reference, View):
            raise ConfigError(
                "reference", type(reference).__name__, "a View", owner=type(self).__name__
            )
        self.fitted_ = False  # a refit that fails leaves the detector unfitted, not half-updated
        self._fit(reference)
        self.fitted_ = True
        return self

    def update(self, view: View) -> Verdict:
        """Test one tick's view against the reference."""
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(reference) first")
        if not isinstance(view, View):
            raise ConfigError("view", type(view).__name__, "a View", owner=type(self).__name__)
        return self._update(view)

    def _fit(self, reference: View) -> None:
        raise NotImplementedError

    def _update(self, view: View) -> Verdict:
        raise NotImplementedError

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite instantiates (river's convention)."""
        return [{}]
