"""The recorder: preallocated per-tick arrays, turned into the Run dataset once at the end."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from simlab.events import Event
from simlab.scoring import (
    BINARY_METRICS,
    N_AUC_BINS,
    REGRESSION_METRICS,
    _kernels,
    binary_sums,
    binary_sums_into,
    coarse_scores,
    metrics_from_sums,
    regression_sums,
)
from simlab.sim.run import build_run
from simlab.world.schema import Kind

__all__ = ["Recorder", "params_json", "scalar_verdict", "to_datetime"]

SPLITS = ("random", "time")


def to_datetime(start: np.datetime64, hours) -> np.ndarray:
    """Calendar times of simulated hours: one rounding rule (nearest ns) for ticks and events.

    ``inf`` and ``nan`` hours become NaT (an open-ended event), and so do hours too far from
    `start` for nanoseconds (about 290 years).

    Examples
    --------
    >>> import numpy as np
    >>> t0 = np.datetime64("2026-01-01T00:00", "ns")
    >>> str(to_datetime(t0, 8.7)), str(to_datetime(t0, np.inf))
    ('2026-01-01T08:42:00.000000000', 'NaT')
    """
    h = np.asarray(hours, dtype=float)
    finite = np.isfinite(h) & (np.abs(h) < 2.5e6)  # 2.5e6 h * 3.6e12 ns/h < 2**63 ns
    ns = np.rint(np.where(finite, h, 0.0) * 3.6e12).astype(np.int64)
    out = np.where(finite, start + ns.astype("timedelta64[ns]"), np.datetime64("NaT", "ns"))
    return out.astype("datetime64[ns]")[()]


def _window_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Trailing sums over the last `w` ticks (inclusive), along axis 0."""
    c = np.cumsum(a, axis=0)
    out = c.copy()
    out[w:] -= c[:-w]
    return out


def scalar_verdict(verdict) -> tuple[float, float]:
    """A verdict's statistic and threshold as the Run records them: one number each.

    A per-feature statistic is summarised by its first largest value, with that feature's
    threshold; all-missing statistics record NaN (and the largest threshold).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.view import Verdict
    >>> v = Verdict(statistic=np.array([0.1, 0.3]), threshold=np.array([1.0, 2.0]), alarm=False)
    >>> scalar_verdict(v)
    (0.3, 2.0)
    """
    stat, thr = verdict.statistic, verdict.threshold
    if isinstance(stat, float):  # the common scalar case, without array machinery
        return stat, thr
    if type(stat) is np.ndarray and stat.dtype == np.float64 and stat.ndim == 1 and stat.size:
        # per-feature statistics: argmax stops at the first NaN, so a finite-or-inf maximum
        # means there is no NaN, and it is the first largest
        i = int(stat.argmax())
        best = stat[i]
        if best == best:
            if isinstance(thr, np.ndarray) and thr.ndim:
                return float(best), float(thr[i])
            return float(best), float(thr)
    stat = np.asarray(stat, dtype=float)
    thr = np.asarray(thr, dtype=float)
    if not stat.ndim:
        return float(stat), float(thr)
    nan = np.isnan(stat)
    if stat.size and not nan.all():
        i = int(np.argmax(np.where(nan, -np.inf, stat)))  # the first largest
        return float(stat[i]), float(thr[i] if thr.ndim else thr)
    return np.nan, float(np.nanmax(thr)) if thr.size and not np.isnan(thr).all() else np.nan


class Recorder:
    """Per-tick arrays for one run, filled in place and built into an `xarray.Dataset` once.

    Parameters
    ----------
    n_ticks
        Ticks in the run.
    task
        "binary" or "regression".
    schema
        The world's schema (features recorded in its order; a column missing from a tick
        counts as missing in every row).
    detectors
        Monitor names.
    n_bins
        Score-histogram bins.

    Examples
    --------
    >>> from simlab.world import sea
    >>> rec = Recorder(n_ticks=3, task="binary", schema=sea().schema, detectors=[], n_bins=10)
    >>> rec.n_rows.shape, rec.true_sums.shape
    ((3,), (3, 3))
    """

    def __init__(
        self,
        *,
        n_ticks: int,
        task: str,
        schema,
        detectors: list[str],
        n_bins: int,
        feature_statistics: bool = False,
        proxies: bool = False,
    ):
        t, f, d = n_ticks, len(schema), len(detectors)
        # proxy outcomes, for worlds that emit them: observed count and sum per tick
        self.n_proxies = np.zeros(t, np.int64) if proxies else None
        self.proxy_sum = np.zeros(t) if proxies else None
        # per feature, when asked: a per-feature statistic's value for each feature
        self.feature_statistic = np.full((t, d, f), np.nan) if feature_statistics else None
        self.task = task
        self.schema = schema
        self.detectors = list(detectors)
        self.n_bins = n_bins
        self.metrics = BINARY_METRICS if task == "binary" else REGRESSION_METRICS
        m = len(self.metrics)
        self.n_rows = np.zeros(t, np.int64)
        self.n_labels = np.zeros(t, np.int64)
        self.n_acted = np.zeros(t, np.int64)
        self.n_explored = np.zeros(t, np.int64)
        self.n_failed = np.zeros(t, np.int64)
        self.true_sums = np.zeros((t, 3))
        self.obs_sums = np.zeros((t, 3))
        self.ipw_sums: np.ndarray | None = None  # allocated at the first weight other than 1
        if task == "binary":
            self.true_hist = np.zeros((t, 2, N_AUC_BINS), np.int64)
            self.obs_hist = np.zeros((t, 2, N_AUC_BINS), np.int64)
        self.ipw_hist: np.ndarray | None = None
        # binary: read from true_hist at the end (coarse_scores); regression: binned per tick
        self.score_hist = None if task == "binary" else np.zeros((t, n_bins), np.int64)
        self.feature_mean = np.full((t, f), np.nan)
        self.feature_std = np.full((t, f), np.nan)
        self.feature_missing = np.full((t, f), np.nan)
        self.statistic = np.full((t, d), np.nan)
        self.threshold = np.full((t, d), np.nan)
        self.alarm = np.zeros((t, d), bool)
        self.blamed = np.zeros((t, d, f), bool)
        # a blamed name is a feature, or a served one-hot column "feature=category"
        self._feature_index = {name: j for j, name in enumerate(schema.names)}
        self.version = np.zeros(t, np.int64)
        self.offline = np.full((t, m, len(SPLITS)), np.nan)  # filled from these at the end:
        self._offline_from: list[tuple[int, dict]] = []  # (first tick, a model's offline)
        self._deployed = None
        self.edges: np.ndarray | None = None  # inner score-bin edges (regression)
        numeric = np.array([s.kind is Kind.NUMERIC for s in schema], dtype=bool)
        self._num_idx = np.flatnonzero(numeric)
        self._cat_idx = np.flatnonzero(~numeric)
        self._num_names = [schema.names[j] for j in self._num_idx]

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
        if deployed is not self._deployed:  # offline metrics change only at a deployment
            self._deployed = deployed
            self._offline_from.append((k, deployed.offline))
        if self.task == "binary":  # the score histogram is read from true_hist at the end
            if not binary_sums_into(y, scores, self.true_sums[k], self.true_hist[k]):
                self.true_sums[k], self.true_hist[k] = binary_sums(y, scores)
        else:
            self.true_sums[k] = regression_sums(y, scores)
            s = np.asarray(scores, dtype=float)
            ok = np.isfinite(s)
            self.score_hist[k] = np.bincount(
                np.searchsorted(self.edges, s[ok], side="right"), minlength=self.n_bins
            )
        n = y.shape[0]
        if n == 0:
            return
        names = self.schema.names
        num = self._num_idx
        if num.size:  # all numeric features at once: one (F, n) array
            cols = [columns.get(name) for name in self._num_names]
            if all(c is not None for c in cols):
                x = np.array(cols, dtype=float)
            else:  # a column missing upstream counts as missing in every row
                x = np.full((num.size, n), np.nan)
                for i, c in enumerate(cols):
                    if c is not None:
                        x[i] = c
            mean, std = np.empty(num.size), np.empty(num.size)
            if _kernels().feature_moments(x, mean, std):  # no NaN or inf: no masks needed
                self.feature_mean[k, num] = mean
                self.feature_std[k, num] = std
                self.feature_missing[k, num] = 0.0
            else:
                fin = np.isfinite(x)
                cnt = fin.sum(1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = np.where(fin, x, 0.0).sum(1) / cnt
                    dev = np.where(fin, x - mean[:, None], 0.0)
                    self.feature_mean[k, num] = mean
                    self.feature_std[k, num] = np.sqrt((dev * dev).sum(1) / cnt)
                self.feature_missing[k, num] = np.isnan(x).mean(1)
        for j in self._cat_idx:
            col = columns.get(names[j])
            if col is None:
                self.feature_missing[k, j] = 1.0
                continue
            c = np.asarray(col)
            self.feature_missing[k, j] = np.mean((c == "") | (c == "None") | (c == "nan"))

    def decide(self, k: int, decision, n_failed: int) -> None:
        """Record what was decided at tick `k`, and how many rows had no score."""
        self.n_acted[k] = decision.n_acted
        self.n_explored[k] = int(np.count_nonzero(decision.explored))
        self.n_failed[k] = n_failed

    def proxy(self, k: int, proxy: np.ndarray | None) -> None:
        """Record the proxy outcomes observed at tick `k` (NaN: not observed)."""
        if self.n_proxies is None or proxy is None:
            return
        seen = proxy[~np.isnan(proxy)]
        self.n_proxies[k] = seen.shape[0]
        self.proxy_sum[k] = float(seen.sum())

    def observe(
        self, k: int, y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Record the labels that arrived at tick `k` and the scores their rows were given.

        `weights` are their inverse label propensities (None, or all 1, when labelling was
        certain); the weighted sums make the Run's ``ipw_metric``.
        """
        self.n_labels[k] = y.shape[0]
        if self.task == "binary":
            if not binary_sums_into(y, scores, self.obs_sums[k], self.obs_hist[k]):
                self.obs_sums[k], self.obs_hist[k] = binary_sums(y, scores)
            sums, hist = self.obs_sums[k], self.obs_hist[k]
        else:
            sums, hist = regression_sums(y, scores), None
            self.obs_sums[k] = sums
        if weights is None or not (weights != 1.0).any():
            if self.ipw_sums is not None:
                self.ipw_sums[k] = sums
                if hist is not None:
                    self.ipw_hist[k] = hist
            return
        if self.ipw_sums is None:  # the first weighted tick: earlier ticks were unweighted
            self.ipw_sums = self.obs_sums.copy()
            self.ipw_sums[k:] = 0.0
            if self.task == "binary":
                self.ipw_hist = self.obs_hist.astype(float)
                self.ipw_hist[k:] = 0.0
        if self.task == "binary":
            self.ipw_sums[k], self.ipw_hist[k] = binary_sums(y, scores, weights)
        else:
            self.ipw_sums[k] = regression_sums(y, scores, weights)

    def verdict(self, k: int, j: int, verdict, features=None) -> None:
        """Record monitor `j`'s verdict at tick `k` (per-feature statistics: the largest).

        With `features` (the detector's ``features_``, the order of a per-feature statistic)
        and per-feature recording on, every feature's value is kept too; a served one-hot
        column ``feature=category`` counts for its feature (the largest of its columns).
        """
        self.statistic[k, j], self.threshold[k, j] = scalar_verdict(verdict)
        self.alarm[k, j] = verdict.alarm
        if self.feature_statistic is not None and features is not None:
            stat = np.asarray(verdict.statistic, dtype=float)
            if stat.ndim == 1 and stat.size == len(features):
                row = self.feature_statistic[k, j]
                for name, value in zip(features, stat, strict=True):
                    i = self._feature_index.get(name)
                    if i is None and "=" in name:
                        i = self._feature_index.get(name.split("=", 1)[0])
                    if i is not None and not np.isnan(value):
                        row[i] = value if np.isnan(row[i]) else max(row[i], value)
        for name in getattr(verdict, "blame", ()):
            i = self._feature_index.get(name)
            if i is None and "=" in name:
                i = self._feature_index.get(name.split("=", 1)[0])
            if i is not None:
                self.blamed[k, j, i] = True

    def _offline_metric(self) -> np.ndarray:
        """Each tick's serving model's offline metrics (NaN before the first tick served)."""
        ends = [k for k, _ in self._offline_from[1:]] + [None]
        for (k, offline), end in zip(self._offline_from, ends, strict=True):
            for j, split in enumerate(SPLITS):
                self.offline[k:end, :, j] = offline[split]
        return self.offline

    def _windowed(self, sums, hist, w):
        s = _window_sum(sums, w)
        if hist is not None and hist.dtype == np.int64 and hist.ndim == 3:
            # counts: the windows' AUC in one compiled pass, without the windowed histograms
            auc = np.empty(hist.shape[0])
            _kernels().windowed_auc(hist, w, auc)
            return metrics_from_sums(self.task, s, auc=auc), s[:, 0].astype(np.int64)
        h = _window_sum(hist, w) if hist is not None else None
        return metrics_from_sums(self.task, s, h), s[:, 0].astype(np.int64)

    def _proxy_vars(self) -> dict:
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(self.n_proxies > 0, self.proxy_sum / self.n_proxies, np.nan)
        return {"n_proxies": self.n_proxies, "proxy_rate": rate}

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
        challengers=None,
    ) -> xr.Dataset:
        """Build the Run dataset (`simlab.sim.run.build_run` adds dims, long_name and units)."""
        t = self.n_rows.shape[0]
        hours = np.arange(t) * tick_hours
        t0 = np.datetime64(start, "ns")
        w = max(1, round(window_hours / tick_hours))
        binary = self.task == "binary"
        true_m, n_true = self._windowed(self.true_sums, self.true_hist if binary else None, w)
        obs_m, n_obs = self._windowed(self.obs_sums, self.obs_hist if binary else None, w)
        if self.ipw_sums is None:  # every label was certain: the weighted view is the observed
            ipw_m = obs_m.copy()
        else:
            ipw_m, _ = self._windowed(self.ipw_sums, self.ipw_hist if binary else None, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            acted_share = np.where(self.n_rows > 0, self.n_acted / self.n_rows, np.nan)
        events = sorted(events, key=lambda e: (e.start, e.kind.value, e.source))
        data = {
            "n_rows": self.n_rows,
            "n_labels": self.n_labels,
            "n_acted": self.n_acted,
            "acted_share": acted_share,
            "n_explored": self.n_explored,
            "n_failed": self.n_failed,
            "true_metric": true_m,
            "n_true_window": n_true,
            "observed_metric": obs_m,
            "n_observed_window": n_obs,
            "ipw_metric": ipw_m,
            "offline_metric": self._offline_metric(),
            "deployed_version": self.version,
            "score_hist": (
                self.score_hist
                if self.task != "binary"
                else coarse_scores(self.true_hist, self.n_bins)
            ),
            "feature_mean": self.feature_mean,
            "feature_std": self.feature_std,
            "feature_missing": self.feature_missing,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "alarm": self.alarm,
            "blamed": self.blamed,
            **(
                {}
                if self.feature_statistic is None
                else {"feature_statistic": self.feature_statistic}
            ),
            **({} if self.n_proxies is None else self._proxy_vars()),
            **(
                {}
                if challengers is None
                else challengers.variables(lambda s, h: self._windowed(s, h, w)[0])
            ),
            "event_kind": np.array([e.kind.value for e in events], dtype=str),
            "event_start": np.array(
                [to_datetime(t0, e.start) for e in events], dtype="datetime64[ns]"
            ),
            "event_end": np.array([to_datetime(t0, e.end) for e in events], dtype="datetime64[ns]"),
            "event_source": np.array([e.source for e in events], dtype=str),
            "event_detail": np.array([e.detail_json() for e in events], dtype=str),
        }
        coords = {
            "time": to_datetime(t0, hours),
            "tick": np.arange(t, dtype=np.int64),
            "hours": hours.astype(float),
            "metric": np.array(self.metrics, dtype=str),
            "split": np.array(SPLITS, dtype=str),
            "detector": np.array(self.detectors, dtype=str),
            "detector_kind": np.array(detector_kinds, dtype=str),
            "detector_watches": np.array(detector_watches, dtype=str),
            "detector_params": np.array(detector_params, dtype=str),
            "feature": np.array(self.schema.names, dtype=str),
            "feature_units": np.array([s.units for s in self.schema], dtype=str),
            "bin": np.arange(self.n_bins, dtype=np.int64),
            "bin_lower": self.lower.astype(float),
            "bin_upper": self.upper.astype(float),
            "event": np.arange(len(events), dtype=np.int64),
        }
        if challengers is not None:
            coords["challenger"] = np.array(challengers.labels, dtype=str)
        return build_run(data, coords, attrs)


def params_json(detector) -> str:
    """A detector's parameters as JSON (for the ``detector_params`` coordinate).

    Examples
    --------
    >>> from simlab.detectors import PSI
    >>> import json
    >>> json.loads(params_json(PSI(n_bins=5)))["n_bins"]
    5
    """
    spec = detector.to_dict()
    spec.pop("kind", None)
    return json.dumps(spec, sort_keys=True)
