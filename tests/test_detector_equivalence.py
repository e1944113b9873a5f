"""The catalogue monitors against straightforward reference implementations, tick by tick.

PSI, KS, ScorePSI and WindowedMetric are fast because they code, count and slide in ways
that are easy to get subtly wrong (a bucketed search, incremental histograms, cached
thresholds). Here each one is replayed over varied streams (ragged ticks, empty and 1-row
views, NaN, ±inf, -0.0, ties, huge and subnormal values, None, categorical and missing
columns, ints, bools and float32) and every verdict is compared with a plain computation:
``np.searchsorted`` bins and ``np.bincount`` for PSI, `scipy.stats.ks_2samp` for KS, the
metric's definition for WindowedMetric, over the last ``window_size`` rows kept in full.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from simlab.detectors import KS, PSI, ScorePSI, View, WindowedMetric

# --------------------------------------------------------------------------- streams


@dataclass
class Stream:
    """A detector factory, its reference view and the views it is fed."""

    name: str
    make: Callable[[], object]
    reference: View
    views: list[View]


def awkward(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """Values that stress binning and coding: ties, ±inf, NaN, -0.0, clusters, outliers."""
    if kind == "normal":
        x = rng.normal(size=n)
    elif kind == "ties":
        x = np.round(rng.normal(size=n), 1)
    elif kind == "heavy":
        x = rng.standard_cauchy(n) * 1e3
    elif kind == "cluster":  # everything within 1e-9, plus extreme and subnormal values
        x = rng.normal(size=n) * 1e-9
        x[:3] = [1e300, -1.7e308, 5e-324][: min(n, 3)]
    else:  # "constant"
        x = np.full(n, 3.0)
    u = rng.uniform(size=n)
    x[u < 0.03] = np.nan
    x[(u >= 0.03) & (u < 0.04)] = np.inf
    x[(u >= 0.04) & (u < 0.05)] = -np.inf
    x[(u >= 0.05) & (u < 0.06)] = -0.0
    return x


def _tick(rng, n, n_features, shift=0.0, *, t=0.0, labels=True) -> View:
    x = rng.normal(shift, size=(n_features, n))
    scores = 1.0 / (1.0 + np.exp(-(x[0] + x[1])))
    columns = {f"x{j}": x[j].copy() for j in range(n_features)}
    if not labels:
        return View(t=t, columns=columns, scores=scores)
    y = (rng.uniform(size=n) < scores).astype(np.float64)
    return View(t=t, columns=columns, scores=scores, labels=y, label_scores=scores)


def _engine(seed: int, ref_rows: int, n_ticks: int) -> tuple[View, list[View]]:
    """The engine's workload: 10 features, ticks of 1,000 rows, a shift half-way."""
    rng = np.random.default_rng(seed)
    ref = _tick(rng, ref_rows, 10)
    views = [_tick(rng, 1000, 10, 0.3 * (i >= n_ticks // 2), t=i + 1.0) for i in range(n_ticks)]
    return ref, views


def _ragged(kind: str, seed: int) -> tuple[View, list[View]]:
    """Three awkward numeric features (and scores), ticks of ragged sizes, ties with the ref."""
    rng = np.random.default_rng(seed)
    names = ("a", "b", "c")
    ref_x = np.stack([awkward(rng, 700, kind) for _ in names])
    ref = View(columns=dict(zip(names, ref_x, strict=True)), scores=awkward(rng, 700, kind))
    finite = ref_x[0][~np.isnan(ref_x[0])]
    views = []
    for r in (40, 1, 0, 250, 130, 300, 77, 199, 1000, 5, 2, 600):
        x = np.stack([awkward(rng, r, kind) for _ in names])
        if r >= 3 and finite.size:  # equal to reference values, and just below them
            picks = rng.choice(finite, size=(3, r // 3))
            x[:, : r // 3] = picks
            x[1, : r // 3] = np.nextafter(picks[1], -np.inf)
        views.append(View(columns=dict(zip(names, x, strict=True)), scores=awkward(rng, r, kind)))
    return ref, views


def _missing(seed: int) -> tuple[View, list[View]]:
    """Columns dropped from some views, views with no columns at all, empty views."""
    rng = np.random.default_rng(seed)
    ref = _tick(rng, 800, 3)
    views = []
    for i, r in enumerate((200, 150, 0, 1, 300, 120, 90, 250)):
        v = _tick(rng, r, 3, 0.5 * (i > 4))
        columns = dict(v.columns)
        if i % 3 == 1:
            del columns["x1"]
        if i == 5:
            columns = {}
        if i == 2:
            views.append(View())
            continue
        views.append(View(columns=columns, scores=v.scores))
    return ref, views


def _mixed(seed: int) -> tuple[View, list[View]]:
    """Numeric columns as int, bool, float32 and object-with-None; categoricals with None."""
    rng = np.random.default_rng(seed)

    def view(n: int, shift: float) -> View:
        cat = rng.choice(np.array(["a", "b", "c", "zz", None], dtype=object), n)
        if shift == 0.0:
            cat = rng.choice(np.array(["a", "b", "c"]), n)
        num_obj = rng.normal(shift, size=n).astype(object)
        num_obj[rng.uniform(size=n) < 0.1] = None
        return View(
            columns={
                "f": rng.normal(shift, size=n),
                "i": rng.integers(0, 7 + int(shift), n),
                "b": rng.uniform(size=n) < 0.3 + 0.2 * shift,
                "h": rng.normal(shift, size=n).astype(np.float32),
                "o": num_obj,
                "c": cat,
            }
        )

    ref = view(900, 0.0)
    ref = View(
        columns={k: (v.astype(np.float64) if k == "o" else v) for k, v in ref.columns.items()}
    )
    return ref, [view(r, 0.5 * (i > 3)) for i, r in enumerate((300, 1, 0, 500, 250, 700))]


def _scores(seed: int) -> tuple[View, list[View]]:
    """Scores with ties in the reference (merged edges), NaN, ±inf; empty and 1-row views."""
    rng = np.random.default_rng(seed)
    ref = np.round(rng.beta(2, 5, 1000), 2)
    ref[:300] = 0.5
    views = []
    for i, r in enumerate((100, 0, 1, 400, 1200, 3, 250)):
        s = np.round(rng.beta(2, 5 - 2 * (i > 3), r), 3)
        u = rng.uniform(size=r)
        s[u < 0.05] = np.nan
        s[(u >= 0.05) & (u < 0.07)] = np.inf
        s[(u >= 0.07) & (u < 0.08)] = -np.inf
        s[(u >= 0.08) & (u < 0.15)] = 0.5
        views.append(View(scores=s) if r else View())
    return View(scores=ref), views


def _labels(seed: int, mae: bool = False) -> tuple[View, list[View]]:
    """Arrived labels: int, bool and float (with NaN); NaN and ±inf scores; empty ticks."""
    rng = np.random.default_rng(seed)

    def view(n: int, kind: str, flip: bool) -> View:
        s = rng.uniform(size=n)
        if mae:
            y = rng.normal(s, 0.3)
            y[rng.uniform(size=n) < 0.1] = np.nan
            s[rng.uniform(size=n) < 0.05] = np.inf
        else:
            y = rng.uniform(size=n) < (1.0 - s if flip else s)
            if kind == "int":
                y = y.astype(np.int64)
            elif kind == "float":
                y = y.astype(np.float64)
                y[rng.uniform(size=n) < 0.1] = np.nan
        s[rng.uniform(size=n) < 0.05] = np.nan
        return View(labels=y, label_scores=s)

    ref = view(1000, "float", False)
    ref = View(labels=ref.labels, label_scores=np.nan_to_num(ref.label_scores, nan=0.5, posinf=1.0))
    kinds = ("float", "int", "bool")
    views = []
    for i, r in enumerate((300, 0, 1, 700, 1500, 2, 400, 999)):
        views.append(view(r, kinds[i % 3], i > 4) if r else View())
    return ref, views


def streams() -> list[Stream]:
    """Every stream: a name, a detector factory, the reference and the views."""
    out = []
    ref, views = _engine(0, 1000, 12)
    out += [
        Stream("engine-psi", lambda: PSI(window_size=1000), ref, views),
        Stream("engine-ks", lambda: KS(window_size=1000), ref, views),
        Stream("engine-score-psi", lambda: ScorePSI(window_size=1000), ref, views),
        Stream("engine-windowed-metric", lambda: WindowedMetric(window_size=1000), ref, views),
        Stream("engine-ks-order", lambda: KS(features=("x3", "x0", "x9")), ref, views),
    ]
    ref5, views5 = _engine(1, 5000, 6)
    out += [
        Stream("ks-ref5000", lambda: KS(window_size=1000), ref5, views5),
        Stream("psi-ref5000", lambda: PSI(window_size=1000, n_bins=20), ref5, views5),
    ]
    for i, kind in enumerate(("normal", "ties", "heavy", "cluster", "constant")):
        ref, views = _ragged(kind, 10 + i)
        out += [
            Stream(f"{kind}-psi", lambda: PSI(window_size=250, min_samples=1), ref, views),
            Stream(f"{kind}-psi5", lambda: PSI(n_bins=5, window_size=400), ref, views),
            Stream(f"{kind}-ks", lambda: KS(window_size=250, min_samples=1), ref, views),
            Stream(f"{kind}-ks-min", lambda: KS(window_size=400, min_samples=150), ref, views),
            Stream(
                f"{kind}-score-psi", lambda: ScorePSI(window_size=250, min_samples=1), ref, views
            ),
        ]
    ref, views = _missing(20)
    out += [
        Stream("missing-psi", lambda: PSI(window_size=300, min_samples=50), ref, views),
        Stream("missing-ks", lambda: KS(window_size=300, min_samples=50), ref, views),
        Stream("missing-ks-1", lambda: KS(window_size=1, min_samples=1), ref, views),
        Stream("missing-psi-1", lambda: PSI(window_size=1, min_samples=1), ref, views),
    ]
    ref, views = _mixed(21)
    numeric = ("b", "f", "h", "i", "o")
    out += [
        Stream("mixed-psi", lambda: PSI(window_size=400, min_samples=10), ref, views),
        Stream("mixed-psi-c", lambda: PSI(features=("c",), window_size=300), ref, views),
        Stream("mixed-ks", lambda: KS(features=numeric, window_size=400), ref, views),
    ]
    ref, views = _scores(22)
    out += [
        Stream("scores", lambda: ScorePSI(window_size=500, min_samples=50), ref, views),
        Stream("scores-1", lambda: ScorePSI(window_size=1, min_samples=1), ref, views),
    ]
    ref, views = _labels(23)
    for metric in ("accuracy", "log_loss"):
        out += [
            Stream(f"{metric}", lambda m=metric: WindowedMetric(metric=m), ref, views),
            Stream(
                f"{metric}-small",
                lambda m=metric: WindowedMetric(metric=m, window_size=7, min_samples=1),
                ref,
                views,
            ),
        ]
    ref, views = _labels(24, mae=True)
    out.append(Stream("mae", lambda: WindowedMetric(metric="mae", window_size=500), ref, views))
    return out


# --------------------------------------------------------------------------- references


def _floats(values) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind == "O":
        a = np.array([np.nan if v is None else v for v in a], dtype=np.float64)
    return a.astype(np.float64)


def _column(view: View, name: str, n: int) -> np.ndarray:
    return view.columns[name] if name in view.columns else np.full(n, np.nan)


def _rows(view: View, names) -> int:
    present = [view.columns[f] for f in names if f in view.columns]
    return present[0].shape[0] if present else view.n


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


class ReferencePSI:
    """PSI kept the slow way: every value seen, binned with ``searchsorted`` or a dict."""

    def __init__(self, det, reference: View):
        self.det = det
        self.names = det.features_
        self.bins = []
        for f in self.names:
            col = reference.columns[f]
            if col.dtype.kind in "biuf":
                x = _floats(col)
                finite = x[np.isfinite(x)]
                probs = np.linspace(0.0, 1.0, det.n_bins + 1)[1:-1]
                edges = np.unique(np.quantile(finite, probs)) if finite.size else np.empty(0)
                self.bins.append(("num", edges))
            else:
                cats = sorted({str(v) for v in col if not _is_missing(v)})
                self.bins.append(("cat", cats))
        self.n_cells = max(len(b) + 2 for kind, b in self.bins)  # numeric: edges + 1 bins + missing
        self.q = np.stack(
            [
                self._counts(reference.columns[f], b)
                for f, b in zip(self.names, self.bins, strict=True)
            ]
        )
        self.q = self.q / reference.columns[self.names[0]].shape[0]
        self.seen = [[] for _ in self.names]

    def _codes(self, values, bins) -> np.ndarray:
        kind, b = bins
        if kind == "num":
            x = _floats(values)
            codes = np.searchsorted(b, x, side="right")
            codes[np.isnan(x)] = len(b) + 1
            return codes
        index = {c: i for i, c in enumerate(b)}
        return np.array(
            [len(b) + 1 if _is_missing(v) else index.get(str(v), len(b)) for v in values],
            dtype=np.intp,
        )

    def _counts(self, values, bins) -> np.ndarray:
        return np.bincount(self._codes(values, bins), minlength=self.n_cells)

    def update(self, view: View):
        n = _rows(view, self.names)
        for f, name in enumerate(self.names):
            self.seen[f].extend(self._codes(_column(view, name, n), self.bins[f]).tolist())
        w = self.det.window_size
        window = [s[-w:] for s in self.seen]
        size = len(window[0])
        counts = np.stack(
            [np.bincount(np.array(s, dtype=np.intp), minlength=self.n_cells) for s in window]
        )
        threshold = np.full(len(self.names), float(self.det.threshold))
        if size < self.det.min_samples:
            return np.full(len(self.names), np.nan), threshold, counts
        p = np.maximum(counts / size, 1e-4)
        q = np.maximum(self.q, 1e-4)
        return np.sum((p - q) * np.log(p / q), axis=-1), threshold, counts


class ReferenceKS:
    """KS kept the slow way: every value seen, `scipy.stats.ks_2samp` on the last window."""

    def __init__(self, det, reference: View):
        self.det = det
        self.names = det.features_
        self.ref = [_floats(reference.columns[f]) for f in self.names]
        self.ref = [r[~np.isnan(r)] for r in self.ref]
        self.seen = [np.empty(0) for _ in self.names]

    def update(self, view: View):
        n = _rows(view, self.names)
        k = len(self.names)
        c = math.sqrt(-math.log(self.det.alpha / k / 2.0) / 2.0)
        stat, thr = np.full(k, np.nan), np.full(k, np.nan)
        for f, name in enumerate(self.names):
            seen = np.concatenate((self.seen[f], _floats(_column(view, name, n))))
            self.seen[f] = seen[-self.det.window_size :]
            w = self.seen[f][~np.isnan(self.seen[f])]
            if w.size >= self.det.min_samples and w.size > 0:
                stat[f] = stats.ks_2samp(self.ref[f], w).statistic
                nr, m = float(self.ref[f].size), float(w.size)
                thr[f] = c * math.sqrt((nr + m) / (nr * m))
        return stat, thr


class ReferenceScorePSI:
    """ScorePSI as a one-feature `ReferencePSI` on the scores."""

    def __init__(self, det, reference: View):
        self.det = det
        psi = PSI(n_bins=det.n_bins, window_size=det.window_size, min_samples=det.min_samples)
        ref = View(columns={"s": reference.scores})
        self.inner = ReferencePSI(psi.fit(ref), ref)

    def update(self, view: View):
        scores = np.empty(0) if view.scores is None else view.scores
        stat, thr, counts = self.inner.update(View(columns={"s": scores}))
        return float(stat[0]), float(thr[0]), counts[0]


def _row_values(metric: str, y, s) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    keep = ~np.isnan(y)
    y, s = y[keep], s[keep]
    if metric == "accuracy":
        with np.errstate(invalid="ignore"):
            right = np.where(y == 1, s >= 0.5, s < 0.5)
        return np.where(np.isnan(s), 0.0, right.astype(np.float64))
    if metric == "log_loss":
        q = np.where(y == 1, s, 1.0 - s)
        q = np.where(np.isnan(q), 1e-15, np.clip(q, 1e-15, 1.0))
        return -np.log(q)
    return np.where(np.isnan(s), np.inf, np.abs(y - s))


class ReferenceWindowedMetric:
    """The metric's definition over the last `window_size` labelled rows, in time order."""

    def __init__(self, det, reference: View):
        self.det = det
        ref = _row_values(det.metric, reference.labels, reference.label_scores)
        self.reference = float(np.mean(ref))
        self.seen = np.empty(0)

    def update(self, view: View):
        if view.n_labels:
            values = _row_values(self.det.metric, view.labels, view.label_scores)
            self.seen = np.concatenate((self.seen, values))[-self.det.window_size :]
        threshold = float(self.det.tolerance)
        if self.seen.size < self.det.min_samples:
            return float("nan"), threshold
        window = float(np.mean(self.seen))
        if self.det.metric == "accuracy":
            return self.reference - window, threshold
        return window - self.reference, threshold


# --------------------------------------------------------------------------- the comparison


def _close(got, want, tol: float) -> bool:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.array_equal(np.isnan(got), np.isnan(want)):
        return False
    ok = ~np.isnan(got)
    same = got[ok] == want[ok]  # ±inf
    with np.errstate(invalid="ignore"):  # inf − inf where `same` already holds
        near = np.abs(got[ok] - want[ok]) <= tol * np.maximum(1.0, np.abs(want[ok]))
    return bool(np.all(same | near))


def _alarm_ok(alarm: bool, stat, thr, ref_stat, ref_thr) -> bool:
    """The alarm follows the detector's own numbers, and the reference's unless borderline."""
    stat, thr = np.atleast_1d(stat), np.atleast_1d(thr)
    with np.errstate(invalid="ignore"):
        own = bool(np.any(stat > thr))
        ref_stat, ref_thr = np.atleast_1d(ref_stat), np.atleast_1d(ref_thr)
        borderline = np.any(np.abs(ref_stat - ref_thr) < 1e-9)
        ref = bool(np.any(ref_stat > ref_thr))
    return alarm == own and (borderline or alarm == ref)


STREAMS = streams()


@pytest.mark.parametrize("stream", STREAMS, ids=[s.name for s in STREAMS])
def test_verdicts_match_the_reference_every_tick(stream):
    det = stream.make().fit(stream.reference)
    kind = {PSI: ReferencePSI, KS: ReferenceKS, ScorePSI: ReferenceScorePSI}
    ref = kind.get(type(det), ReferenceWindowedMetric)(det, stream.reference)
    for i, view in enumerate(stream.views):
        v = det.update(view)
        where = (stream.name, i)
        if isinstance(det, PSI):
            stat, thr, counts = ref.update(view)
            assert np.array_equal(det.counts_, counts), where
            assert det.window_.size == min(sum(u.n for u in stream.views[: i + 1]), det.window_size)
        elif isinstance(det, ScorePSI):
            stat, thr, counts = ref.update(view)
            assert np.array_equal(det.counts_, counts), where
            assert isinstance(v.statistic, float), where
        else:
            stat, thr = ref.update(view)
        if det.tags.per_feature:
            assert v.statistic.shape == v.threshold.shape == (len(det.features_),), where
        tol = 0.0 if isinstance(det, PSI | ScorePSI) else 1e-12
        assert _close(v.statistic, stat, tol), (where, v.statistic, stat)
        assert _close(v.threshold, thr, 1e-12 if isinstance(det, KS) else 0.0), where
        assert _alarm_ok(v.alarm, v.statistic, v.threshold, stat, thr), where


def test_the_streams_cover_the_awkward_cases():
    views = [v for s in STREAMS for v in s.views]
    assert any(v.n == 0 and not v.columns for v in views)  # empty views
    assert any(v.n == 1 for v in views)
    assert any(v.columns and "x1" not in v.columns and "x0" in v.columns for v in views)
    assert any(v.n > 1000 for v in views)  # a tick longer than the window
    kinds = {c.dtype.kind for v in views for c in v.columns.values()}
    assert {"b", "i", "f", "O", "U"} <= kinds


KS_STREAMS = [s for s in STREAMS if isinstance(s.make(), KS)]


@pytest.mark.parametrize("stream", KS_STREAMS, ids=[s.name for s in KS_STREAMS])
def test_ks_reads_the_same_statistic_from_sorted_codes_and_from_counts(stream, monkeypatch):
    """`KSDistance.from_codes` (many cells per window row) is bit-identical to the counts.

    Each KS stream runs twice: with every window read from its sorted codes, and with every
    window read from its cumulative counts; statistics, thresholds and alarms must be equal
    bit for bit (the two are the same floating-point operations on the same terms).
    """
    import simlab.detectors.features as features

    runs = []
    for cells in (0, 10**12):  # 0: always the sorted codes; 10**12: always the counts
        monkeypatch.setattr(features, "SORTED_KS_CELLS", cells)
        det = stream.make().fit(stream.reference)
        assert det._sorted == (cells == 0)
        runs.append([det.update(v) for v in stream.views])
    for i, (a, b) in enumerate(zip(*runs, strict=True)):
        assert np.array_equal(a.statistic, b.statistic, equal_nan=True), (stream.name, i)
        assert np.array_equal(a.threshold, b.threshold, equal_nan=True), (stream.name, i)
        assert a.alarm == b.alarm, (stream.name, i)
        assert a.blame == b.blame, (stream.name, i)


def test_the_ks_streams_include_ties_nan_and_partial_windows():
    """The comparison above sees what could tell the two readings apart."""

    def values(stream):
        return [
            np.asarray(c, dtype=np.float64)
            for v in stream.views
            for c in v.columns.values()
            if np.asarray(c).dtype.kind in "fiub"
        ]

    with_nan = [s for s in KS_STREAMS if any(np.isnan(x).any() for x in values(s))]
    with_ties = [
        s for s in KS_STREAMS if any(np.unique(x).size < x.size for x in values(s) if x.size)
    ]
    partial = [s for s in KS_STREAMS if s.views and s.views[0].n < s.make().window_size]
    assert with_nan
    assert with_ties
    assert partial
