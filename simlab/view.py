"""What a monitor sees at one tick (`View`) and what it answers (`Verdict`).

Both live here, below the models and the detectors, because both use them: a deployed model
builds the reference `View` its monitors fit on, and every detector answers a `Verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from simlab.batch import readonly
from simlab.errors import ConfigError, SchemaError

__all__ = ["Verdict", "View"]


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
    proxies
        The fast proxy outcomes observed this tick (a click, an early payment: 0 or 1;
        NaN where a row's proxy was not observed), for worlds that emit them
        (`simlab.world.Proxy`); None otherwise.

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
    proxies: np.ndarray | None = None

    def __post_init__(self):
        columns = {}
        for name, values in self.columns.items():
            values = readonly(values)
            if values.ndim != 1:
                raise SchemaError(f"View: {name!r} has shape {values.shape}; expected 1-D")
            columns[name] = values
        object.__setattr__(self, "columns", MappingProxyType(columns))
        for name in ("scores", "labels", "label_scores", "label_times", "proxies"):
            values = getattr(self, name)
            if values is not None:
                values = readonly(values)
                if values.ndim != 1 and name in ("scores", "labels", "proxies"):
                    raise SchemaError(f"View: {name!r} has shape {values.shape}; expected 1-D")
                object.__setattr__(self, name, values)
        if (self.labels is None) != (self.label_scores is None) or (
            self.labels is not None and self.labels.shape != self.label_scores.shape
        ):
            shapes = {
                k: None if getattr(self, k) is None else getattr(self, k).shape
                for k in ("labels", "label_scores")
            }
            raise ConfigError(
                "label_scores",
                f"shapes {shapes}",
                "an array aligned with labels (both or neither, the same length)",
                owner="View",
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
    blame
        The columns the detector holds responsible (empty when it blames none, or cannot
        say): what a team would look at first. Scenarios score whether it names the column
        a fault touched.

    Examples
    --------
    >>> v = Verdict(statistic=0.3, threshold=0.2, alarm=True, blame=("income",))
    >>> v.alarm, v.blame
    (True, ('income',))
    """

    statistic: float | np.ndarray
    threshold: float | np.ndarray
    alarm: bool
    blame: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "alarm", bool(self.alarm))
        if self.blame:
            object.__setattr__(self, "blame", tuple(str(b) for b in self.blame))
