"""The recorder: preallocated per-tick arrays, turned into the Run dataset once at the end."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from simlab.events import Event
from simlab.models.scoring import (
    BINARY_METRICS,
    HIGHER_IS_BETTER,
    N_AUC_BINS,
    REGRESSION_METRICS,
    binary_sums,
    metrics_from_sums,
    regression_sums,
)
from simlab.world.schema import Kind

__all__ = ["SCHEMA_VERSION", "Recorder"]

SCHEMA_VERSION = "1"
SPLITS = ("random", "time")


def to_datetime(start: np.datetime64, hours) -> np.ndarray:
    """Calendar times of simulated hours: one rounding rule (nearest ns) for ticks and events.

    ``inf`` and ``nan`` hours become NaT (an open-ended event).

    Examples
    --------
    >>> import numpy as np
    >>> t0 = np.datetime64("2026-01-01T00:00", "ns")
    >>> str(to_datetime(t0, 8.7)), str(to_datetime(t0, np.inf))
    ('2026-01-01T08:42:00.000000000', 'NaT')
    """
    h = np.asarray(hours, dtype=float)
    finite = np.isfinite(h)
    ns = np.rint(np.where(finite, h, 0.0) * 3.6e12).astype(np.int64)
    out = np.where(finite, start + ns.astype("timedelta64[ns]"), np.datetime64("NaT", "ns"))
    return out.astype("datetime64[ns]")[()]


def _window_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Trailing sums over the last `w` ticks (inclusive), along axis 0."""
    c = np.cumsum(a, axis=0)
    out = c.copy()
    out[w:] -= c[:-w]
    return out


class Recorder:
    """Per-tick arrays for one run, filled in place and built into an `xarray.Dataset` once.

    Parameters
    ----------
    n_ticks
        Ticks in the run.
    task
        "binary" or "regression".
    schema
        The world's schema (features recorded in its order).
    detectors
        Monitor names.
    n_bins
        Score-histogram bins.
    """

    def __init__(self, *, n_ticks: int, task: str, schema, detectors: list[str], n_bins: int):
        t, f, d = n_ticks, len(schema), len(detectors)
        self.task = task
        self.schema = schema
        self.detectors = list(detectors)
        self.n_bins = n_bins
        self.metrics = BINARY_METRICS if task == "binary" else REGRESSION_METRICS
        m = len(self.metrics)
        self.n_rows = np.zeros(t, np.int64)
        self.n_labels = np.zeros(t, np.int64)
        width = 3 if task == "binary" else 2
        self.true_sums = np.zeros((t, width))
        self.obs_sums = np.zeros((t, width))
        if task == "binary":
            self.true_hist = np.zeros((t, 2, N_AUC_BINS), np.int64)
            self.obs_hist = np.zeros((t, 2, N_AUC_BINS), np.int64)
        self.score_hist = np.zeros((t, n_bins), np.int64)
        self.feature_mean = np.full((t, f), np.nan)
        self.feature_std = np.full((t, f), np.nan)
        self.feature_missing = np.full((t, f), np.nan)
        self.statistic = np.full((t, d), np.nan)
        self.threshold = np.full((t, d), np.nan)
        self.alarm = np.zeros((t, d), bool)
        self.version = np.zeros(t, np.int64)
        self.offline = np.full((t, m, len(SPLITS)), np.nan)
        self.edges: np.ndarray | None = None  # inner score-bin edges (regression)
        numeric = np.array([s.kind is Kind.NUMERIC for s in schema], dtype=bool)
        self._num_idx = np.flatnonzero(numeric)
        self._cat_idx = np.flatnonzero(~numeric)

    def set_score_edges(self, reference_scores: np.ndarray) -> None:
        """Fix the score bins: equal bins of [0, 1] (binary) or of the reference's range."""
        if self.task == "binary":
            self.lower = np.linspace(0, 1, self.n_bins + 1)[:-1]
            self.upper = np.linspace(0, 1, self.n_bins + 1)[1:]
            return
        s = np.asarray(reference_scores, dtype=float)
        s = s[np.isfinite(s)]
        lo, hi = (float(s.min()), float(s.max())) if s.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        self.edges = np.linspace(lo, hi, self.n_bins - 1)
        self.lower = np.concatenate([[-np.inf], self.edges])
        self.upper = np.concatenate([self.edges, [np.inf]])

    def serve(self, k: int, columns, y: np.ndarray, scores: np.ndarray, deployed) -> None:
        """Record tick `k`'s served rows: true metric sums, score histogram, feature summaries."""
        self.n_rows[k] = y.shape[0]
        self.version[k] = deployed.version
        for j, split in enumerate(SPLITS):
            self.offline[k, :, j] = deployed.offline[split]
        if self.task == "binary":
            sums, hist = binary_sums(y, scores)
            self.true_sums[k] = sums
            self.true_hist[k] = hist
            self.score_hist[k] = hist.sum(0).reshape(self.n_bins, -1).sum(1)
        else:
            self.true_sums[k] = regression_sums(y, scores)
            s = np.asarray(scores, dtype=float)
            ok = np.isfinite(s)
            self.score_hist[k] = np.bincount(
                np.searchsorted(self.edges, s[ok], side="right"), minlength=self.n_bins
            )
        if y.shape[0] == 0:
            return
        num = self._num_idx
        if num.size:  # all numeric features at once: one (F, n) array
            x = np.array([columns[self.schema.names[j]] for j in num], dtype=float)
            fin = np.isfinite(x)
            cnt = fin.sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(fin, x, 0.0).sum(1) / cnt
                dev = np.where(fin, x - mean[:, None], 0.0)
                self.feature_mean[k, num] = mean
                self.feature_std[k, num] = np.sqrt((dev * dev).sum(1) / cnt)
            self.feature_missing[k, num] = np.isnan(x).mean(1)
        for j in self._cat_idx:
            c = np.asarray(columns[self.schema.names[j]])
            self.feature_missing[k, j] = np.mean((c == "") | (c == "None") | (c == "nan"))

    def observe(self, k: int, y: np.ndarray, scores: np.ndarray) -> None:
        """Record the labels that arrived at tick `k` with the scores their rows were given."""
        self.n_labels[k] = y.shape[0]
        if self.task == "binary":
            sums, hist = binary_sums(y, scores)
            self.obs_sums[k] = sums
            self.obs_hist[k] = hist
        else:
            self.obs_sums[k] = regression_sums(y, scores)

    def verdict(self, k: int, j: int, verdict) -> None:
        """Record monitor `j`'s verdict at tick `k` (per-feature statistics: the largest)."""
        stat = np.asarray(verdict.statistic, dtype=float)
        thr = np.asarray(verdict.threshold, dtype=float)
        if stat.ndim:
            if stat.size and not np.isnan(stat).all():
                i = int(np.nanargmax(stat))
                self.statistic[k, j] = stat[i]
                self.threshold[k, j] = np.broadcast_to(thr, stat.shape)[i]
            else:
                self.threshold[k, j] = (
                    np.nanmax(thr) if thr.size and not np.isnan(thr).all() else np.nan
                )
        else:
            self.statistic[k, j] = stat
            self.threshold[k, j] = thr
        self.alarm[k, j] = verdict.alarm

    def _windowed(self, sums, hist, w):
        s = _window_sum(sums, w)
        h = _window_sum(hist, w) if hist is not None else None
        return metrics_from_sums(self.task, s, h), s[:, 0].astype(np.int64)

    def to_dataset(
        self,
        *,
        start: str,
        tick_hours: float,
        window_hours: float,
        events: list[Event],
        detector_kinds: list[str],
        detector_watches: list[str],
        detector_params: list[str],
        attrs: dict,
    ) -> xr.Dataset:
        """Build the Run dataset (dims, coords, long_name and units as in the Run contract)."""
        t = self.n_rows.shape[0]
        hours = np.arange(t) * tick_hours
        t0 = np.datetime64(start, "ns")
        times = to_datetime(t0, hours)
        w = max(1, round(window_hours / tick_hours))
        binary = self.task == "binary"
        true_m, n_true = self._windowed(self.true_sums, self.true_hist if binary else None, w)
        obs_m, n_obs = self._windowed(self.obs_sums, self.obs_hist if binary else None, w)
        metric_units = {"accuracy": "1", "log_loss": "nats", "auc": "1", "mae": "target units"}
        units = ", ".join(f"{m}: {metric_units[m]}" for m in self.metrics)

        def ev_time(h):
            return to_datetime(t0, h)

        events = sorted(events, key=lambda e: (e.start, e.kind.value, e.source))
        data = {
            "n_rows": ("time", self.n_rows, "rows served", "rows"),
            "n_labels": ("time", self.n_labels, "labels arrived", "labels"),
            "true_metric": (("time", "metric"), true_m, "true metric (all labels)", units),
            "n_true_window": ("time", n_true, "rows in the true-metric window", "rows"),
            "observed_metric": (
                ("time", "metric"),
                obs_m,
                "observed metric (arrived labels)",
                units,
            ),
            "n_observed_window": ("time", n_obs, "labels in the observed-metric window", "labels"),
            "offline_metric": (("time", "metric", "split"), self.offline, "offline metric", units),
            "deployed_version": ("time", self.version, "deployed model version", "1"),
            "score_hist": (("time", "bin"), self.score_hist, "prediction scores", "rows"),
            "feature_mean": (
                ("time", "feature"),
                self.feature_mean,
                "feature mean",
                "feature units",
            ),
            "feature_std": (("time", "feature"), self.feature_std, "feature std", "feature units"),
            "feature_missing": (("time", "feature"), self.feature_missing, "share missing", "1"),
            "statistic": (("time", "detector"), self.statistic, "detector statistic", "1"),
            "threshold": (("time", "detector"), self.threshold, "detector threshold", "1"),
            "alarm": (("time", "detector"), self.alarm, "alarm", "1"),
            "event_kind": (
                "event",
                np.array([e.kind.value for e in events], dtype=str),
                "event kind",
                "1",
            ),
            "event_start": (
                "event",
                np.array([ev_time(e.start) for e in events], dtype="datetime64[ns]"),
                "event start",
                "1",
            ),
            "event_end": (
                "event",
                np.array([ev_time(e.end) for e in events], dtype="datetime64[ns]"),
                "event end",
                "1",
            ),
            "event_source": (
                "event",
                np.array([e.source for e in events], dtype=str),
                "event source",
                "1",
            ),
            "event_detail": (
                "event",
                np.array([e.detail_json() for e in events], dtype=str),
                "event detail",
                "1",
            ),
        }
        data_vars = {}
        for name, (dims, values, long_name, unit) in data.items():
            var_attrs = {"long_name": long_name, "units": unit}
            if name in ("event_start", "event_end"):
                var_attrs = {"long_name": long_name}  # xarray's CF time encoding owns "units"
            data_vars[name] = xr.Variable(dims, values, var_attrs)
        coords = {
            "time": ("time", times),
            "tick": ("time", np.arange(t, dtype=np.int64)),
            "hours": (
                "time",
                hours.astype(float),
                {"long_name": "simulated time", "units": "hours"},
            ),
            "metric": ("metric", np.array(self.metrics, dtype=str)),
            "higher_is_better": ("metric", np.array([HIGHER_IS_BETTER[m] for m in self.metrics])),
            "split": ("split", np.array(SPLITS, dtype=str)),
            "detector": ("detector", np.array(self.detectors, dtype=str)),
            "detector_kind": ("detector", np.array(detector_kinds, dtype=str)),
            "detector_watches": ("detector", np.array(detector_watches, dtype=str)),
            "detector_params": ("detector", np.array(detector_params, dtype=str)),
            "feature": ("feature", np.array(self.schema.names, dtype=str)),
            "feature_units": ("feature", np.array([s.units for s in self.schema], dtype=str)),
            "bin": ("bin", np.arange(self.n_bins, dtype=np.int64)),
            "bin_lower": ("bin", self.lower.astype(float)),
            "bin_upper": ("bin", self.upper.astype(float)),
            "event": ("event", np.arange(len(events), dtype=np.int64)),
        }
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def params_json(detector) -> str:
    """A detector's parameters as JSON (for the ``detector_params`` coordinate)."""
    spec = detector.to_dict()
    spec.pop("kind", None)
    return json.dumps(spec, sort_keys=True)
