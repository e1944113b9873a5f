"""Bring your own detector: a plain function of a window, or any river drift detector.

Both are detectors on simlab's protocol (``fit(reference)``, ``update(view) -> Verdict``),
declare the threshold parameter that calibration moves and its direction, and so sit in a
`Grid` beside simlab's own, calibrated and scored the same way. Any other object with
``fit``, ``update``, ``clone`` and `Tags` naming a threshold does too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from simlab.detectors.base import BaseDetector, Tags, Verdict, View, Watches
from simlab.detectors.sequential import _labelled
from simlab.errors import ConfigError
from simlab.validation import check_int, check_real

__all__ = ["FunctionDetector", "RiverDetector"]

_WATCHES = {"features": Watches.FEATURES, "scores": Watches.SCORES, "labels": Watches.LABELS}


def _direction(owner: str, direction) -> int:
    if direction not in (1, -1) or isinstance(direction, bool):
        raise ConfigError("direction", direction, "1 (larger alarms less) or -1", owner=owner)
    return int(direction)


class FunctionDetector(BaseDetector):
    """A plain function of the reference and the current window, as a detector.

    Parameters
    ----------
    function
        ``function(reference, window) -> float``: both 2-D float arrays ``(rows, columns)``
        (the numeric features, sorted by name; or one column of scores; or, for labels, the
        per-row error bit). It must not change its arguments. To run a grid on worker
        processes or Dask, define it at module level (it is pickled).
    watches
        ``"features"``, ``"scores"`` or ``"labels"``.
    threshold
        The tick alarms when the statistic exceeds it (or falls below it, `direction` -1).
    direction
        1: a larger threshold alarms less (a distance); -1: a smaller one does (a p-value
        compared against a level).
    window_size
        The window holds the most recent `window_size` rows.
    min_samples
        No statistic (nan, no alarm) until the window holds this many rows.

    Examples
    --------
    >>> import numpy as np
    >>> shift = lambda ref, win: abs(float(win.mean()) - float(ref.mean()))
    >>> det = FunctionDetector(function=shift, watches="scores", threshold=0.1, min_samples=5)
    >>> det = det.fit(View(scores=np.full(50, 0.3)))
    >>> det.update(View(scores=np.full(10, 0.6))).alarm
    True
    >>> det.tags.threshold, det.tags.direction
    ('threshold', 1)
    """

    def __init__(
        self,
        *,
        function: Callable,
        watches: str = "features",
        threshold: float = 1.0,
        direction: int = 1,
        window_size: int = 1000,
        min_samples: int = 100,
    ):
        self.function = function
        self._watch = watches
        self.threshold = threshold
        self.direction = direction
        self.window_size = window_size
        self.min_samples = min_samples
        owner = "FunctionDetector"
        if not callable(function):
            raise ConfigError("function", function, "a callable (reference, window)", owner=owner)
        if watches not in _WATCHES:
            raise ConfigError("watches", watches, f"one of {tuple(_WATCHES)}", owner=owner)
        check_real(owner, "threshold", threshold)
        _direction(owner, direction)
        check_int(owner, "window_size", window_size, 1)
        check_int(owner, "min_samples", min_samples, 1, window_size)
        self.tags = Tags(watches=_WATCHES[watches], threshold="threshold", direction=direction)

    def get_params(self) -> dict:
        params = super().get_params()
        params["watches"] = self._watch
        return params

    @property
    def watches(self) -> Watches:
        return _WATCHES[self._watch]

    def _rows(self, view: View, fitting: bool = False) -> np.ndarray:
        if self._watch == "scores":
            s = view.scores
            return np.empty((0, 1)) if s is None else np.asarray(s, float)[:, None]
        if self._watch == "labels":
            if view.labels is None or not view.n_labels:
                return np.empty((0, 1))
            return _labelled("FunctionDetector", "error", view).astype(float)[:, None]
        if fitting:
            self.features_ = tuple(
                sorted(k for k, v in view.columns.items() if np.asarray(v).dtype.kind in "fiub")
            )
            if not self.features_:
                raise ConfigError(
                    "reference", "no numeric column", "numeric features", owner="FunctionDetector"
                )
        n = view.n
        cols = [
            np.asarray(view.columns[f], float) if f in view.columns else np.full(n, np.nan)
            for f in self.features_
        ]
        return np.stack(cols, axis=1) if n else np.empty((0, len(self.features_)))

    def _fit(self, reference: View) -> None:
        self.reference_ = self._rows(reference, fitting=True)
        self.reference_.flags.writeable = False
        self.window_ = np.empty((0, self.reference_.shape[1]))

    def _update(self, view: View) -> Verdict:
        rows = self._rows(view)
        if rows.shape[0]:
            self.window_ = np.concatenate((self.window_, rows))[-self.window_size :]
        thr = float(self.threshold)
        if self.window_.shape[0] < self.min_samples:
            return Verdict(math.nan, thr, False)
        window = self.window_.copy()
        window.flags.writeable = False
        stat = float(self.function(self.reference_, window))
        alarm = bool(stat > thr) if self.direction > 0 else bool(stat < thr)
        return Verdict(stat, thr, alarm)


class RiverDetector(BaseDetector):
    """A river drift detector fed a tick's arrived labels, one row at a time, as river is used.

    Parameters
    ----------
    detector
        A river drift detector (``river.drift.ADWIN()``, ``river.drift.binary.DDM()``, ...);
        it is cloned at every fit and never changed.
    threshold
        The name of its parameter that calibration moves (``"delta"`` for ADWIN,
        ``"threshold"`` for Page-Hinkley, ``"drift_threshold"`` for DDM, ...).
    direction
        1 if a larger value alarms less, -1 if a smaller one does (ADWIN's ``delta``).
    value
        The parameter's value; None: the river detector's own (stored as that number, so
        calibration has a value to start from).
    metric
        What each row feeds it: ``"error"`` (1 for a wrong prediction at 0.5, a NaN score
        counting as wrong, as for simlab's DDM) or ``"loss"`` (the absolute error
        ``|y - score|``, 1 for a NaN score).

    Notes
    -----
    river detectors take one value at a time, so this adapter loops over a tick's rows in
    Python: it is as fast as river is (see ``bench/detectors.py --peers``). A drift flagged
    on any row alarms the tick; river resets itself after a drift, so the adapter declares
    ``restarts=True``. river is an optional extra (``pip install simlab[river]``).

    Examples
    --------
    >>> river = __import__("pytest").importorskip("river")
    >>> import numpy as np
    >>> from river.drift.binary import DDM
    >>> det = RiverDetector(detector=DDM(), threshold="drift_threshold").fit(
    ...     View(labels=np.zeros(100), label_scores=np.zeros(100)))
    >>> det.tags.threshold, det.value_
    ('value', 3.0)
    """

    def __init__(
        self,
        *,
        detector,
        threshold: str,
        direction: int = 1,
        value: float | None = None,
        metric: str = "error",
    ):
        self.detector = detector
        self.threshold = threshold
        self.direction = direction
        self.value = value
        self.metric = metric
        owner = "RiverDetector"
        if not (hasattr(detector, "update") and hasattr(detector, "drift_detected")):
            raise ConfigError(
                "detector", detector, "a river drift detector (update, drift_detected)", owner=owner
            )
        params = detector._get_params() if hasattr(detector, "_get_params") else {}
        if threshold not in params:
            raise ConfigError(
                "threshold",
                threshold,
                f"one of the detector's parameters {sorted(params)}",
                owner=owner,
            )
        _direction(owner, direction)
        if value is None:  # the river detector's own value: calibration starts from it
            value = params[threshold]
            self.value = value
        check_real(owner, "value", value)
        if metric not in ("error", "loss"):
            raise ConfigError("metric", metric, '"error" or "loss"', owner=owner)
        self.tags = Tags(
            watches=Watches.LABELS, threshold="value", direction=direction, restarts=True
        )

    @property
    def name(self) -> str:
        return f"river_{type(self.detector).__name__.lower()}"

    def _values(self, view: View) -> np.ndarray:
        """The tick's per-row values, as simlab's own label detectors see them."""
        if view.labels is None or not view.n_labels:
            return np.empty(0)
        if self.metric == "loss":
            y = np.asarray(view.labels, float)
            s = np.asarray(view.label_scores, float)
            keep = ~np.isnan(y)
            return np.where(np.isnan(s[keep]), 1.0, np.abs(y[keep] - s[keep]))
        return _labelled("RiverDetector", "error", view).astype(float)

    def _fit(self, reference: View) -> None:
        own = self.detector._get_params()[self.threshold]
        self.value_ = float(self.value)
        cast = type(own) if isinstance(own, int | float) and not isinstance(own, bool) else float
        self.river_ = self.detector.clone({self.threshold: cast(self.value_)})
        for v in self._values(reference):  # river learns the in-control state as it goes
            self.river_.update(v)
        self.n_seen_ = 0

    def _update(self, view: View) -> Verdict:
        alarm = False
        values = self._values(view)
        update = self.river_.update
        for v in values.tolist():  # river's API: one value at a time
            update(v)
            alarm = alarm or self.river_.drift_detected
        self.n_seen_ += values.size
        if self.n_seen_ == 0:
            return Verdict(math.nan, self.value_, False)
        return Verdict(float(alarm), self.value_, alarm)
