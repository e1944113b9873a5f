"""Sequential delayed-label detectors: each tick at once equals row by row; CUSUM run lengths
against Siegmund; agreement with river; false alarms on stationary streams; the rest.

Streams: the error-stream detectors get 0/1 labels with every score 0 (a score below 0.5
predicts 0, so a label of 1 is an error and the error bit is the label); KSWIN and the
Gaussian CUSUM watch ``metric="mae"`` with positive labels and scores 0, so the per-row
loss is the label itself. Every random draw comes from a seeded ``np.random.default_rng``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import deque

import numpy as np
import pytest
from scipy import stats

from simlab.detectors import (
    ADWIN,
    DDM,
    DETECTORS,
    EDDM,
    HDDM_A,
    HDDM_W,
    KSWIN,
    BernoulliCUSUM,
    GaussianCUSUM,
    PageHinkley,
    View,
)
from simlab.detectors._kernels import cusum_path, linear_recursion
from simlab.errors import ConfigError, SchemaError
from simlab.testing._detector_checks import make_stream, yield_detector_checks

#: The unit roundoff of float64: a correctly rounded operation errs by at most U × |result|.
U = 2.0**-53

NAMES = {
    DDM: "ddm",
    EDDM: "eddm",
    ADWIN: "adwin",
    HDDM_A: "hddm_a",
    HDDM_W: "hddm_w",
    KSWIN: "kswin",
    PageHinkley: "page_hinkley",
    BernoulliCUSUM: "bernoulli_cusum",
    GaussianCUSUM: "gaussian_cusum",
}


def _view(values: np.ndarray) -> View:
    return View(labels=values, label_scores=np.zeros(values.shape[0]))


def _bits(seed: int, n: int, rates: list[tuple[int, float]]) -> np.ndarray:
    """0/1 errors whose rate is ``rate`` from row ``start`` on, for each ``(start, rate)``."""
    p = np.empty(n)
    for start, rate in rates:
        p[start:] = rate
    return (np.random.default_rng(seed).random(n) < p).astype(np.float64)


def _ticks(seed: int, n: int) -> list[int]:
    """Tick sizes that add up to `n`: 1, 7, 1,000, 333 rows and empty ticks, in random order."""
    rng = np.random.default_rng(seed)
    sizes, total = [1, 7, 0, 1000, 333], 0
    out = []
    while total < n:
        size = min(sizes[len(out) % 5] if len(out) < 5 else int(rng.choice(sizes)), n - total)
        out.append(size)
        total += size
    return out


# --------------------------------------------------------------------------- row-by-row references


class _Loop:
    """A detector written row by row, as its paper (and river) state it.

    The reference's rows go through first; after an alarm, with re-arming, the state
    restarts before the next row (river's order). ``stat`` and ``thr`` are the statistic
    and threshold after the last row.
    """

    stat = math.nan
    thr = math.nan

    def __init__(self, rearm: bool):
        self.rearm = rearm
        self.pending = False
        self.reset()

    def prime(self, rows) -> None:
        for x in rows:
            self.feed(float(x))

    def feed(self, x: float) -> bool:
        if self.pending:
            self.reset()
            self.pending = False
        alarm = self.step(x)
        if alarm and self.rearm:
            self.pending = True
        return alarm


class DDMLoop(_Loop):
    def __init__(self, warm_start=30, drift_threshold=3.0, rearm=True):
        self.warm, self.level = warm_start, drift_threshold
        self.thr = drift_threshold
        super().__init__(rearm)

    def reset(self):
        self.n, self.k, self.ps_min = 0, 0, math.inf
        self.p_min = self.s_min = self.stat = math.nan

    def step(self, x):
        self.n += 1
        self.k += int(x)
        p = self.k / self.n
        s = math.sqrt(p * (1 - p) / self.n)
        if self.n <= self.warm:
            return False
        if p + s <= self.ps_min:
            self.p_min, self.s_min, self.ps_min = p, s, p + s
        gap = p + s - self.p_min
        self.stat = gap / self.s_min if self.s_min > 0 else (math.inf if gap > 0 else 0.0)
        return p + s > self.p_min + self.level * self.s_min


class EDDMLoop(_Loop):
    def __init__(self, warm_start=30, beta=0.9, rearm=True):
        self.warm, self.beta = warm_start, beta
        self.thr = 1.0 - beta
        super().__init__(rearm)

    def reset(self):
        self.n = self.last = self.k = self.s1 = self.s2 = 0
        self.top, self.stat = -1.0, math.nan

    def step(self, x):
        self.n += 1
        if not x:
            return False
        self.k += 1
        d = self.n - self.last
        self.s1, self.s2, self.last = self.s1 + d, self.s2 + d * d, self.n
        if self.n <= self.warm:
            return False
        k = self.k
        var = (k * self.s2 - self.s1 * self.s1) / (k * (k - 1)) if k > 1 else 0.0
        p2s = self.s1 / k + 2.0 * math.sqrt(var)
        alarm = False
        if p2s > self.top:
            self.top = p2s
        elif k > self.warm:
            alarm = p2s / self.top < self.beta
        if k > self.warm:
            self.stat = 1.0 - p2s / self.top
        return alarm


class HDDMALoop(_Loop):
    def __init__(self, drift_confidence=0.001, rearm=True):
        self.l1 = math.log(1.0 / drift_confidence)
        self.l2 = math.log(2.0 / drift_confidence)
        super().__init__(rearm)

    def reset(self):
        self.n = self.k = self.cut_n = 0
        self.cut_mean, self.cut_u = math.nan, math.inf
        self.stat = self.thr = math.nan

    def step(self, x):
        self.n += 1
        self.k += int(x)
        mean = self.k / self.n
        upper = mean + math.sqrt(1.0 / (2 * self.n) * self.l1)
        if upper <= self.cut_u:  # river: x_min + eps(x_min) >= z + eps(z) moves the cut
            self.cut_u, self.cut_n, self.cut_mean = upper, self.n, mean
        self.stat = mean - self.cut_mean
        if self.n == self.cut_n:
            self.thr = math.nan
            return False
        m = (self.n - self.cut_n) / self.cut_n * (1.0 / self.n)
        self.thr = math.sqrt(m / 2 * self.l2)
        return self.stat >= self.thr


class HDDMWLoop(_Loop):
    def __init__(self, drift_confidence=0.001, lambda_val=0.05, rearm=True):
        self.lam, self.log = lambda_val, math.log(1 / drift_confidence)
        super().__init__(rearm)

    def _ewma(self, sample, x):
        """River's SampleInfo update: the first row sets the mean, ibc starts at 1."""
        lam = self.lam
        mean, ibc = sample if sample is not None else (None, 1.0)
        mean = x if mean is None else lam * x + (1 - lam) * mean
        return mean, lam * lam + (1 - lam) ** 2 * ibc

    def reset(self):
        self.total = self.before = self.after = None
        self.cut = math.inf
        self.stat = self.thr = math.nan

    def step(self, x):
        self.total = self._ewma(self.total, x)
        z, ibc = self.total
        eps = math.sqrt(ibc * self.log / 2)
        if z + eps < self.cut:
            self.cut, self.before, self.after = z + eps, self.total, None
        else:
            self.after = self._ewma(self.after, x)
        if self.before is None or self.after is None:
            self.stat, self.thr = 0.0, math.nan
            return False
        self.stat = self.after[0] - self.before[0]
        self.thr = math.sqrt((self.before[1] + self.after[1]) * self.log / 2)
        return self.stat > self.thr


class PHLoop(_Loop):
    def __init__(self, delta=0.005, threshold=50.0, alpha=1 - 0.0001, mode="up", rearm=True):
        min_instances = 30
        self.min, self.delta, self.alpha, self.mode = min_instances, delta, alpha, mode
        self.thr = threshold
        super().__init__(rearm)

    def reset(self):
        self.n = self.k = 0
        self.inc = self.dec = 0.0
        self.low, self.high, self.stat = math.inf, -1.0, math.nan

    def step(self, x):
        self.n += 1
        self.k += int(x)
        dev = x - self.k / self.n
        self.inc = self.alpha * self.inc + dev - self.delta
        self.dec = self.alpha * self.dec + dev + self.delta
        self.low, self.high = min(self.low, self.inc), max(self.high, self.dec)
        if self.n < self.min:
            return False
        up, down = self.inc - self.low, self.high - self.dec
        self.stat = {"up": up, "down": down, "both": max(up, down)}[self.mode]
        return self.stat > self.thr


class CUSUMLoop(_Loop):
    def __init__(self, weight, h, rearm=True):
        self.weight, self.thr = weight, h
        super().__init__(rearm)

    def reset(self):
        self.s = self.stat = 0.0

    def step(self, x):
        self.s = self.stat = max(0.0, self.s + self.weight(x))
        return self.s > self.thr


class ADWINLoop(_Loop):
    """River's ADWIN (its Rust port of the Cython code), row by row, and the statistic."""

    def __init__(self, delta=0.002, clock=32, rearm=True):
        self.delta, self.clock, self.cap = delta, clock, 5  # max_buckets
        self.ell, self.grace = 5.0, 10.0  # min_window_length, grace_period
        self.thr = 1.0
        super().__init__(rearm)

    def reset(self):
        self.levels = [[]]  # per level, [total, variance] buckets, oldest first
        self.width = self.total = self.variance = 0.0
        self.tick, self.stat = 0, math.nan

    def _insert(self, value):
        self.levels[0].append([value, 0.0])
        self.width += 1.0
        if self.width > 1.0:
            d = value - self.total / (self.width - 1.0)
            self.variance += (self.width - 1.0) * d * d / self.width
        self.total += value
        level = 0
        while len(self.levels[level]) == self.cap + 1:
            n1 = float(2**level)
            (t0, v0), (t1, v1) = self.levels[level][:2]
            mu1, mu2 = t0 / n1, t1 / n1
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append([t0 + t1, v0 + v1 + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)])
            del self.levels[level][:2]
            level += 1

    def _delete(self):
        top = len(self.levels) - 1
        n = float(2**top)
        u, v = self.levels[top][0]
        mu = u / n
        self.width -= n
        self.total -= u
        mu_w = self.total / self.width
        self.variance -= v + n * self.width * (mu - mu_w) * (mu - mu_w) / (n + self.width)
        del self.levels[top][0]
        if not self.levels[top]:
            self.levels.pop()

    def _scan(self):
        """Whether a split cuts, and the largest |μ0 − μ1| / ε over the testable splits."""
        buckets = [(lv, b[0]) for lv in reversed(range(len(self.levels))) for b in self.levels[lv]]
        n0, n1, u0, u1 = 0.0, self.width, 0.0, self.total
        log_term = math.log(2.0 * math.log(self.width) / self.delta)
        cut, best = False, -math.inf
        for level, t in buckets[:-1]:
            size = float(2**level)
            n0, n1, u0, u1 = n0 + size, n1 - size, u0 + t, u1 - t
            if n1 >= self.ell and n0 >= self.ell:
                gap = abs(u0 / n0 - u1 / n1)
                m = 1.0 / (n0 - self.ell + 1.0) + 1.0 / (n1 - self.ell + 1.0)
                eps = (
                    math.sqrt(2.0 * m * (self.variance / self.width) * log_term)
                    + 2.0 / 3.0 * log_term * m
                )
                cut, best = cut or gap > eps, max(best, gap / eps)
        return cut, best

    def step(self, x):
        self._insert(x)
        self.tick += 1
        if self.tick % self.clock or not self.width > self.grace:
            return False
        cut, best = self._scan()
        if best > -math.inf:
            self.stat = best
        if not cut:
            return False
        while cut:  # drop the oldest bucket and scan again
            self._delete()
            cut, _ = self._scan()
        return True


class KSWINLoop(_Loop):
    """River's KSWIN row by row, drawing its samples from a numpy generator."""

    def __init__(self, alpha, window_size, stat_size, rng, rearm=True):
        self.alpha, self.size, self.half, self.rng = alpha, window_size, stat_size, rng
        super().__init__(rearm)

    def reset(self):
        self.window = deque(maxlen=self.size)
        self.stat = math.nan

    def step(self, x):
        self.window.append(x)
        if len(self.window) < self.size:
            return False
        pool = self.size - self.half
        pick = np.argsort(self.rng.random(pool))[: self.half]  # a uniformly random subset
        rows = np.array(self.window)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(rows[:pool][pick], rows[pool:], method="auto")
        self.stat = float(result.statistic)
        return result.pvalue <= self.alpha and result.statistic > 0.1


# -------------------------------------------------------------- 2. each tick at once == row by row


def _same(a: float, b: float, tol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= tol


def _replay(det, loop, reference, stream, ticks, tol_of=None, state=None):
    """Feed `stream` in `ticks` to `det` and row by row to `loop`; compare at every tick's end.

    ``tol_of(chunk, loop)`` is the rounding allowance the tick adds to the statistic (0 if
    None); allowances add up over ticks (an upper bound: every recursion here is
    1-Lipschitz in its carried state or forgets it). ``state(det, loop)`` compares more.

    The reference counts as the first tick: a detector that primes on it (all but the
    CUSUMs) runs its rows through in one vectorised step, so the state that step leaves
    already carries its own rounding, of the same ``L U Σ|terms|`` size as any tick of
    ``L`` rows (``L`` = the reference's length, 400 rows in the tests below: that is
    where most of the allowance comes from while the stream's ticks are small).
    """
    det.fit(_view(reference))
    loop.prime(reference)
    pos, tol, n_alarms = 0, 0.0, 0
    if tol_of is not None and type(det)._primes:
        tol = tol_of(reference, loop)
    for size in ticks:
        chunk = stream[pos : pos + size]
        verdict = det.update(_view(chunk))
        rows = [i for i, x in enumerate(chunk.tolist()) if loop.feed(x)]
        where = f"{det!r} tick at row {pos} ({size} rows)"
        assert det.alarm_rows_.tolist() == rows, where
        assert verdict.alarm == bool(rows), where
        n_alarms += len(rows)
        pos += size
        if pos == 0:
            assert math.isnan(verdict.statistic), where  # nothing seen yet
            continue
        if tol_of is not None and size:
            tol += tol_of(chunk, loop)
        assert _same(verdict.statistic, loop.stat, tol), (where, verdict.statistic, loop.stat)
        assert _same(verdict.threshold, loop.thr, tol), (where, verdict.threshold, loop.thr)
        if state is not None and not loop.pending:
            state(det, loop, where)
    assert pos == stream.shape[0]
    return n_alarms


#: An error stream with changes in both directions, so that every detector alarms (and re-arms).
RATES = [(0, 0.2), (3000, 0.3), (6000, 0.12), (9000, 0.45), (12000, 0.25)]


@pytest.mark.parametrize("rearm", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_ddm_tick_equals_rows_exactly(seed, rearm):
    # k / n with k an exact count, then the loop's operations: bit-identical, no allowance
    ref, stream = _bits(seed, 400, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)

    def state(det, loop, where):
        assert (det.n_, det.errors_) == (loop.n, loop.k), where
        assert _same(det.p_min_, loop.p_min, 0.0), where
        assert _same(det.s_min_, loop.s_min, 0.0), where

    det, loop = DDM(reset_after_alarm=rearm), DDMLoop(rearm=rearm)
    assert _replay(det, loop, ref, stream, _ticks(seed, stream.shape[0]), state=state) > 0


@pytest.mark.parametrize("rearm", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_eddm_tick_equals_rows_exactly(seed, rearm):
    # integer sums of the distances, then one division each: bit-identical
    ref, stream = _bits(seed, 400, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)

    def state(det, loop, where):
        got = (det.n_, det.errors_, det.last_error_, det.distance_sum_, det.distance_squares_)
        assert got == (loop.n, loop.k, loop.last, loop.s1, loop.s2), where
        assert det.p2s_max_ == loop.top, where

    det, loop = EDDM(reset_after_alarm=rearm), EDDMLoop(rearm=rearm)
    assert _replay(det, loop, ref, stream, _ticks(seed, stream.shape[0]), state=state) > 0


@pytest.mark.parametrize("rearm", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_hddm_a_tick_equals_rows_exactly(seed, rearm):
    ref, stream = _bits(seed, 400, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)

    def state(det, loop, where):
        assert (det.n_, det.errors_, det.cut_n_) == (loop.n, loop.k, loop.cut_n), where
        assert _same(det.cut_bound_, loop.cut_u, 0.0), where

    det, loop = HDDM_A(reset_after_alarm=rearm), HDDMALoop(rearm=rearm)
    assert _replay(det, loop, ref, stream, _ticks(seed, stream.shape[0]), state=state) > 0


@pytest.mark.parametrize(("rearm", "clock"), [(True, 32), (False, 32), (False, 1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_adwin_tick_equals_rows_exactly(seed, rearm, clock):
    # 0/1 rows: every sum is an integer (exact in any order), the bucket variances are
    # dyadic rationals (exact), the window variance takes river's operations in river's
    # order; so the state is bit-identical, buckets included
    ref, stream = _bits(seed, 2000, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)

    def state(det, loop, where):
        assert (det.width_, det.total_, det.variance_) == (
            loop.width,
            loop.total,
            loop.variance,
        ), where
        buckets = [
            (2.0**lv, b[0]) for lv in reversed(range(len(loop.levels))) for b in loop.levels[lv]
        ]
        assert list(zip(det.sizes_.tolist(), det.totals_.tolist(), strict=True)) == buckets, where
        variances = [b[1] for lv in reversed(range(len(loop.levels))) for b in loop.levels[lv]]
        n, t = det.sizes_, det.totals_
        assert (t * (n - t) / n).tolist() == variances, where  # the Notes' claim, checked

    det = ADWIN(reset_after_alarm=rearm, clock=clock, delta=0.01)
    loop = ADWINLoop(rearm=rearm, clock=clock, delta=0.01)
    assert _replay(det, loop, ref, stream, _ticks(seed, stream.shape[0]), state=state) > 0


@pytest.mark.parametrize("rearm", [True, False])
def test_kswin_tick_equals_rows(rearm):
    # The same generator (default_rng(0): no seed given) and one row of uniforms per tested
    # row in both, so the same samples; the loop asks scipy's ks_2samp for D and the
    # p-value, the detector counts. D = c / n rounds within 2 units in the last place of
    # scipy's |i/n − j/n| (both within 1 ulp of the exact value, D <= 1): allowance 4U.
    rng = np.random.default_rng(5)
    ref = 10.0 + rng.normal(size=150)
    stream = 10.0 + np.concatenate([rng.normal(size=1500), rng.normal(1.5, size=1000)])
    stream[::97] = 10.0  # ties inside windows
    det = KSWIN(metric="mae", alpha=0.001, reset_after_alarm=rearm)
    loop = KSWINLoop(0.001, 100, 30, np.random.default_rng(0), rearm=rearm)
    ticks = _ticks(3, stream.shape[0])

    def tol_of(chunk, loop):
        return 4 * U

    loop.thr = det.clone().fit(_view(ref)).threshold_
    assert _replay(det, loop, ref, stream, ticks, tol_of=tol_of) > 0


@pytest.mark.parametrize("rearm", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_hddm_w_tick_equals_rows_within_rounding(seed, rearm):
    # The EWMA is `linear_recursion` (a rescaled cumulative sum) and the restarted EWMA a
    # power of (1 − λ) times a gap; the loop recurses. Both are weighted means of rows in
    # [0, 1] with weights summing to at most 1: a tick of L rows adds at most (L + 2) U to
    # each (one rounding per term and per partial sum, relative to a sum of at most 1),
    # the restart one more rounding for the gap and the power, so the statistic (a
    # difference of two such means) moves by at most 2 (L + 3) U; doubled for the loop's
    # own rounding: 4 (L + 3) U, and more than enough for the bound (a sqrt of them).
    ref, stream = _bits(seed, 400, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)

    def tol_of(chunk, loop):
        return 4 * (chunk.shape[0] + 3) * U

    det, loop = HDDM_W(reset_after_alarm=rearm), HDDMWLoop(rearm=rearm)
    ticks = _ticks(seed, stream.shape[0])
    assert _replay(det, loop, ref, stream, ticks, tol_of=tol_of) > 0


@pytest.mark.parametrize(("mode", "alpha", "rearm"), [("up", 0.9999, True), ("both", 1.0, False)])
@pytest.mark.parametrize("seed", [0, 1])
def test_page_hinkley_tick_equals_rows_within_rounding(seed, mode, alpha, rearm):
    # The running mean is k / n in both (bit-identical). The faded sums are reassociated:
    # (dev − δ) + α U instead of (α U + dev) − δ, and `linear_recursion` sums a^-s-scaled
    # terms. For a tick of L rows each partial sum errs by at most L U times the sum of
    # the magnitudes it adds up (terms |dev ± δ| <= 1 + δ, plus the carried |U| <= S):
    # (L + 2) U (L (1 + δ) + S); the extremes inherit it and the test statistic (a
    # difference) doubles it; the loop's own rounding doubles it again. The reference's
    # 400 rows are one such tick too (`_replay` starts from its allowance, about 7.5e-11):
    # without it, seed 1 failed at the stream's first, one-row tick, 7.4e-14 apart against
    # a one-row allowance of 5.6e-14, all of it rounding already in the primed state (the
    # states after priming differ by 7.5e-14, before any stream row). The code was right;
    # the bound had left out the first tick.
    ref, stream = _bits(seed, 400, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)
    det = PageHinkley(mode=mode, alpha=alpha, reset_after_alarm=rearm)
    loop = PHLoop(mode=mode, alpha=alpha, rearm=rearm)

    def tol_of(chunk, loop):
        size = abs(loop.inc) + abs(loop.dec) + abs(loop.low) + abs(loop.high)
        return 4 * (chunk.shape[0] + 2) * U * (chunk.shape[0] * 1.01 + size)

    ticks = _ticks(seed, stream.shape[0])
    assert _replay(det, loop, ref, stream, ticks, tol_of=tol_of) > 0


@pytest.mark.parametrize("rearm", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_cusums_tick_equal_rows_within_rounding(seed, rearm):
    # S_t = C_t − min(0, min C) with C a running sum from the carried S, against the
    # recursion max(0, S + w): Higham's bound for a running sum of L terms is
    # (L − 1) U Σ|terms| (here the carried S and the L weights), the minimum inherits it,
    # the subtraction adds U |S|; the recursion's own error is of the same size. So a tick
    # adds at most 2 (L + 1) U (S + L max|w|) + U S to the gap, and since max(0, ·) is
    # 1-Lipschitz, earlier gaps carry over at most unchanged.
    ref, stream = _bits(seed, 2000, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)
    ref, stream = _bits(seed, 2000, [(0, 0.2)]), _bits(seed + 10, 15000, RATES)
    det = BernoulliCUSUM(reset_after_alarm=rearm, h=5.0).fit(_view(ref))
    hit, miss = det.weights_
    loop = CUSUMLoop(lambda x: hit if x else miss, 5.0, rearm=rearm)
    loop.prime = lambda rows: None  # a CUSUM learns p0 from the reference and starts at 0
    big = [max(abs(hit), abs(miss))]

    def tol_of(chunk, loop):
        size = chunk.shape[0]  # |S| and |C| stay below the carried S (or h) plus size · max|w|
        return 2 * (size + 1) * U * (max(loop.s, 5.0) + (size + 1) * big[0])

    ticks = _ticks(seed, stream.shape[0])
    assert _replay(det, loop, ref, stream, ticks, tol_of=tol_of) > 0

    rng = np.random.default_rng(seed + 20)
    ref = 10.0 + rng.normal(size=2000)
    stream = 10.0 + np.concatenate([rng.normal(size=5000), rng.normal(1.0, size=5000)])
    det = GaussianCUSUM(metric="mae", k=0.5, h=5.0, reset_after_alarm=rearm).fit(_view(ref))
    mean, std = det.mean_, det.std_
    loop = CUSUMLoop(lambda x: (x - mean) / std - 0.5, 5.0, rearm=rearm)
    loop.prime = lambda rows: None
    big[0] = float(np.max(np.abs((stream - mean) / std))) + 0.5
    assert _replay(det, loop, ref, stream, _ticks(seed, 10000), tol_of=tol_of) > 0


@pytest.mark.parametrize("cls", list(NAMES))
def test_the_tick_size_does_not_change_the_alarms(cls):
    # whatever the ticks, a detector alarms at the same rows (its row-by-row equivalence
    # applied to two cuttings of one stream; KSWIN included, its draws follow the rows)
    det = cls(metric="mae") if cls in (KSWIN, GaussianCUSUM) else cls()
    ref, stream = _bits(3, 1500, [(0, 0.2)]), _bits(4, 12000, RATES)
    if cls in (KSWIN, GaussianCUSUM):
        ref, stream = (
            10.0 + ref * 3.0,
            10.0 + stream * 3.0 + np.random.default_rng(5).normal(size=12000),
        )
    alarms = []
    for ticks in (_ticks(0, 12000), [1] * 12000, [12000]):
        d = det.clone().fit(_view(ref))
        rows, pos = [], 0
        for size in ticks:
            d.update(_view(stream[pos : pos + size]))
            rows += (d.alarm_rows_ + pos).tolist()
            pos += size
        alarms.append(rows)
    assert alarms[0] == alarms[1] == alarms[2]
    assert alarms[0]


# ----------------------------------------------------------------------- 3. CUSUM against Siegmund


def _siegmund(delta: float, k: float, h: float) -> float:
    """Siegmund's ARL of the one-sided CUSUM of N(δ, 1) rows with reference k, interval h."""
    shift, b = delta - k, h + 1.166
    if shift == 0.0:
        return b * b
    return (math.exp(-2 * shift * b) + 2 * shift * b - 1) / (2 * shift * shift)


def _run_lengths(det, rng, delta: float, n_rows: int) -> np.ndarray:
    """Rows between consecutive alarms of a re-arming detector fed N(10 + δ, 1) losses."""
    ends, pos = [], 0
    for _ in range(n_rows // 1000):
        det.update(_view(10.0 + rng.normal(delta, size=1000)))
        ends += (det.alarm_rows_ + pos).tolist()
        pos += 1000
    # re-armed at 0 after each alarm: run lengths are i.i.d. (a renewal process)
    return np.diff(np.array([-1, *ends]))


@pytest.mark.parametrize(("delta", "n_rows"), [(0.0, 3_400_000), (1.0, 170_000)])
def test_gaussian_cusum_run_lengths_match_siegmund(delta, n_rows):
    # k = 0.5, h = 4: Siegmund gives ARL0 = 338.1 and ARL(δ = 1) = 8.34 (Brook-Evans's
    # exact 336 and 8.38: the approximation itself is within 1%). About 10,000 and 20,000
    # runs: the estimate's standard error sd(RL) / sqrt(runs) is asserted to be at most a
    # third of the 5% allowed (so 5% is at least 3 SE, with room for the approximation's
    # own 1%).
    det = GaussianCUSUM(metric="mae", mean=10.0, std=1.0, k=0.5, h=4.0)
    det.fit(_view(10.0 + np.random.default_rng(1).normal(size=100)))
    lengths = _run_lengths(det, np.random.default_rng(2), delta, n_rows)
    arl, se = lengths.mean(), lengths.std(ddof=1) / math.sqrt(lengths.shape[0])
    target = _siegmund(delta, 0.5, 4.0)
    assert 3 * se <= 0.05 * target, (se, target)
    assert abs(arl - target) <= 0.05 * target, (arl, se, target, lengths.shape[0])


# ---------------------------------------------------------------------------------------- 4. river


def _river_alarms(det, reference, stream) -> list[int]:
    for x in reference:
        det.update(x)
    out = []
    for i, x in enumerate(stream.tolist()):
        det.update(x)
        if det.drift_detected:
            out.append(i)
    return out


def _simlab_alarms(det, reference, stream, ticks) -> list[int]:
    det.fit(_view(reference))
    out, pos = [], 0
    for size in ticks:
        det.update(_view(stream[pos : pos + size]))
        out += (det.alarm_rows_ + pos).tolist()
        pos += size
    return out


def _river_pairs():
    river = pytest.importorskip("river")
    from river.drift import binary

    assert river.__version__
    return [
        (DDM(), binary.DDM()),
        (DDM(warm_start=100, drift_threshold=2.5), binary.DDM(warm_start=100, drift_threshold=2.5)),
        (EDDM(), binary.EDDM()),
        (EDDM(beta=0.85), binary.EDDM(alpha=0.95, beta=0.85)),
        (ADWIN(), river.drift.ADWIN()),
        (ADWIN(delta=0.01, clock=8), river.drift.ADWIN(delta=0.01, clock=8)),
        (PageHinkley(), river.drift.PageHinkley(mode="up")),
        (PageHinkley(mode="both", threshold=30.0), river.drift.PageHinkley(threshold=30.0)),
        (HDDM_A(), binary.HDDMA()),
        (HDDM_W(), binary.HDDMW()),
    ]


@pytest.mark.parametrize("pair", range(10))
def test_same_alarms_as_river(pair):
    # Every detector is fed the reference then the stream by river, row by row, and the
    # stream in ragged ticks here; they must alarm at the same rows. Only the running
    # means differ in arithmetic (river updates a mean, we divide a count), by a unit in
    # the last place: a difference would show only if a statistic fell within 1e-16 of
    # its threshold, which none does on these streams. Three seeds; each detector must
    # alarm on at least two of them, so the agreement is not that of two silent
    # detectors (DDM() misses every change on seed 2: its cumulative rate, after 5,000
    # rows at 0.2 and 3,000 at 0.3 with no alarm, moves too slowly; river's does too).
    alarming = 0
    for seed in (0, 1, 2):
        ours, theirs = _river_pairs()[pair]
        ref, stream = _bits(seed, 2000, [(0, 0.2)]), _bits(seed + 10, 30000, RATES)
        got = _simlab_alarms(ours, ref, stream, _ticks(seed, stream.shape[0]))
        assert got == _river_alarms(theirs, ref, stream), (repr(ours), seed)
        alarming += bool(got)
    assert alarming >= 2, repr(ours)


def test_adwin_without_rearming_matches_rivers_window_exactly():
    # river's ADWIN re-arms (a new window) after each drift; its inner AdaptiveWindowing
    # does not: it is the original ADWIN, which keeps what the cut left
    pytest.importorskip("river")
    try:
        from river._river_rust.drift import AdaptiveWindowing
    except ImportError:  # pragma: no cover - a private class of river's
        pytest.skip("river's AdaptiveWindowing is not importable in this version")
    ref, stream = _bits(7, 2000, [(0, 0.2)]), _bits(8, 30000, RATES)
    for delta, clock in [(0.002, 32), (0.05, 1)]:
        det = ADWIN(delta=delta, clock=clock, reset_after_alarm=False)
        got = _simlab_alarms(det, ref, stream, _ticks(7, stream.shape[0]))
        helper = AdaptiveWindowing(delta, clock, 5, 5, 10)
        for x in ref:
            helper.update(x)
        want = [i for i, x in enumerate(stream.tolist()) if helper.update(x)]
        assert got == want
        assert (det.width_, det.total_, det.variance_) == (
            helper.get_width(),
            helper.get_total(),
            helper.get_variance(),
        )


def test_kswin_detection_delay_matches_river_in_distribution():
    # River's KSWIN draws its samples with Python's `random`, ours with numpy, so alarms
    # agree in law, not row by row. 120 runs each: 100 reference rows, 100 more of
    # N(10, 1), then N(12, 1); the delay is the rows from the change to the first alarm
    # after it (both re-arm after earlier false alarms). The two mean delays must agree
    # within 4 standard errors of their difference, sqrt(se₁² + se₂²); so must the mean
    # counts of false alarms before the change. A false alarm shortly before the change
    # empties the window, which refills mostly with changed rows, so that run may never
    # alarm again (about 1 run in 15, on both sides): its delay is censored at the
    # stream's end (150), the same rule for both.
    drift = pytest.importorskip("river.drift")
    delays, false = {"simlab": [], "river": []}, {"simlab": [], "river": []}
    for run in range(120):
        rng = np.random.default_rng(run)
        ref = 10.0 + rng.normal(size=100)
        stream = 10.0 + np.concatenate([rng.normal(size=100), rng.normal(2.0, size=150)])
        det = KSWIN(metric="mae").seed(np.random.default_rng(1000 + run))
        ours = _simlab_alarms(det, ref, stream, [50] * 5)
        theirs = _river_alarms(drift.KSWIN(seed=run), ref, stream)
        for name, rows in (("simlab", ours), ("river", theirs)):
            after = [r for r in rows if r >= 100]
            delays[name].append(after[0] - 100 if after else 150)
            false[name].append(sum(r < 100 for r in rows))
    for table in (delays, false):
        a, b = np.array(table["simlab"]), np.array(table["river"])
        se = math.sqrt(a.var(ddof=1) / a.shape[0] + b.var(ddof=1) / b.shape[0])
        assert abs(a.mean() - b.mean()) <= 4 * se + 1e-9, (a.mean(), b.mean(), se)
    assert 5 < np.mean(delays["simlab"]) < 40  # a real detection, not an artefact


# ----------------------------------------------------------------- 5. false alarms under no change


def _count_alarms(det, chunks) -> int:
    total = 0
    for chunk in chunks:
        det.update(_view(chunk))
        total += det.alarm_rows_.shape[0]
    return total


def _stationary_bits(seed: int, n: int, p: float = 0.25) -> list[np.ndarray]:
    bits = (np.random.default_rng(seed).random(n) < p).astype(np.float64)
    return np.split(bits, n // 1000)


def test_gaussian_cusum_false_alarms_follow_siegmund():
    # N(10, 1) rows, known mean and sd, k = 0.5, h = 4: ARL0 = 338.1 rows (Siegmund), so
    # 300 ticks of 1,000 rows expect 887 alarms. Run lengths are nearly exponential, so the
    # count is nearly Poisson (sd ≈ sqrt(887) ≈ 30): allow Siegmund's 5% plus 4 sd.
    det = GaussianCUSUM(metric="mae", mean=10.0, std=1.0, h=4.0)
    det.fit(_view(np.full(10, 10.0)))
    rng = np.random.default_rng(3)
    count = _count_alarms(det, [10.0 + rng.normal(size=1000) for _ in range(300)])
    expected = 300_000 / _siegmund(0.0, 0.5, 4.0)
    assert abs(count - expected) <= 0.05 * expected + 4 * math.sqrt(expected), count


def test_bernoulli_cusum_false_alarms_respect_lordens_bound():
    # The log-likelihood-ratio CUSUM's in-control ARL is at least e^h (Lorden 1971), so
    # N rows hold at most N / e^h + 1 alarms on average; with near-exponential run lengths
    # the count's sd is at most about sqrt of that: allow 4 sd. h = 5 (e^5 = 148 rows) makes
    # the bound bite: 2,025 alarms allowed in 300,000 rows.
    det = BernoulliCUSUM(p0=0.25, p1=0.3, h=5.0).fit(_view(np.zeros(10)))
    count = _count_alarms(det, _stationary_bits(4, 300_000))
    bound = 300_000 / math.exp(5.0) + 1
    assert count <= bound + 4 * math.sqrt(bound), count
    assert count > 0  # h = 5 does alarm (Wald: ARL0 ≈ (e^5 − 6) / KL(p0‖p1) ≈ 23,000 rows)


@pytest.mark.parametrize(
    ("make", "level", "tests_per_row", "source"),
    [
        # Bifet & Gavaldà (2007), Theorem 3.1: while the mean is constant, each test cuts
        # with probability at most δ; a test runs every `clock` rows. (The theorem is for
        # their conservative ε; the implemented ε is their practical refinement, so for it
        # this is the paper's claim, not a proof.)
        (lambda: ADWIN(delta=0.1), 0.1, 1 / 32, "ADWIN: δ per test"),
        (lambda: ADWIN(), 0.002, 1 / 32, "ADWIN: δ per test"),
        # Frías-Blanco et al. (2015): each row's test has level δ by Hoeffding's (A) or
        # McDiarmid's (W) inequality, for a cut point fixed in advance (it is chosen from
        # the data, so again the paper's level rather than a theorem).
        (lambda: HDDM_A(drift_confidence=0.01), 0.01, 1.0, "HDDM_A: δ per row"),
        (lambda: HDDM_W(), 0.001, 1.0, "HDDM_W: δ per row"),
        # DDM has no false-alarm theory (its running minimum is biased low). Gama et al.
        # present the 3σ rule as a one-sided normal test; we bound the count as if every
        # row were such a test (Φ̄(3) = 0.00135 per row): loose, since rows are dependent.
        (lambda: DDM(), 0.00135, 1.0, "DDM: nominal one-sided 3σ level per row"),
    ],
)
def test_false_alarms_on_a_stationary_error_stream(make, level, tests_per_row, source):
    # E[count] <= level × tests by linearity of expectation, whatever the dependence
    # between tests; re-arming after each alarm keeps alarms from clustering, so the count
    # is at most about Poisson: allow 4 sd. 200 ticks of 1,000 rows at error rate 0.25,
    # after a 1,000-row reference.
    det = make().fit(_view(_stationary_bits(5, 1000)[0]))
    count = _count_alarms(det, _stationary_bits(6, 200_000))
    mean = level * tests_per_row * 200_000
    assert count <= mean + 4 * math.sqrt(mean), (source, count, mean)


def test_kswin_false_alarms_respect_its_level():
    # Each tested row's exact KS p-value is uniform (or conservative) under no change: the
    # two samples are disjoint and i.i.d. So E[alarms] <= α × tested rows; allow 4 sd.
    det = KSWIN(metric="mae", alpha=0.001).fit(
        _view(10.0 + np.random.default_rng(7).normal(size=500))
    )
    rng = np.random.default_rng(8)
    count = _count_alarms(det, [10.0 + rng.normal(size=1000) for _ in range(100)])
    mean = 0.001 * 100_000
    assert count <= mean + 4 * math.sqrt(mean), count


# ----------------------------------------------------------------------- thresholds in expectation


@pytest.mark.parametrize(
    ("cls", "key", "values"),
    [
        (ADWIN, "delta", (0.032, 0.002, 0.000125)),
        (HDDM_A, "drift_confidence", (0.016, 0.001, 0.0000625)),
    ],
)
def test_stricter_thresholds_detect_later_and_alarm_less_in_expectation(cls, key, values):
    # These two declare the conformance ladder an expected failure (re-arming makes counts
    # along it path-dependent); here the declared direction is checked in expectation:
    # over 40 seeds (the same streams at every setting), the mean delay to detect a rise
    # of the error rate from 0.25 to 0.35 must not fall, and the mean count of alarms on
    # a stationary stream must not rise, as the setting gets stricter (2 standard errors
    # of slack for the count, which is 0 or small). The rise comes right after the
    # reference: with a stationary stretch before it, a false alarm there re-arms the
    # detector, which may then take the raised rate as normal and never alarm, so the
    # delay would mix in where false alarms fell (HDDM_A with 2,000 stationary rows first:
    # mean delays 564, 666, 616 rows, the middle one raised by 2 such misses of 40);
    # false alarms are counted on their own, below.
    delays = {v: [] for v in values}
    false = {v: [] for v in values}
    for seed in range(40):
        ref = _bits(100 + seed, 1000, [(0, 0.25)])
        change = _bits(200 + seed, 4000, [(0, 0.35)])
        still = _bits(300 + seed, 20000, [(0, 0.25)])
        for v in values:
            rows = _simlab_alarms(cls(**{key: v}), ref, change, [500] * 8)
            delays[v].append(rows[0] if rows else 4000)
            false[v].append(len(_simlab_alarms(cls(**{key: v}), ref, still, [500] * 40)))
    mean_delay = [float(np.mean(delays[v])) for v in values]
    assert mean_delay == sorted(mean_delay), mean_delay
    assert mean_delay[-1] > mean_delay[0], mean_delay
    for loose, strict in itertools.pairwise(values):
        a, b = np.array(false[loose]), np.array(false[strict])
        se = math.sqrt((a.var() + b.var()) / a.shape[0])
        assert b.mean() <= a.mean() + 2 * se, (loose, strict, a.mean(), b.mean())


# --------------------------------------------------------------------------------------- behaviour


def test_every_sequential_detector_is_registered_and_tagged():
    for cls, name in NAMES.items():
        assert DETECTORS.get(name) is cls
        tags = cls.tags
        assert tags.watches.value == "labels"
        assert tags.threshold in cls().get_params()
        assert tags.randomised == (cls is KSWIN)
        assert "reset_after_alarm" in cls().get_params()


def test_restarts_tag_follows_reset_after_alarm():
    # the class (what `restarts_of(kind)` reads) declares the default, which re-arms
    from simlab.detectors.base import restarts_of

    for cls, name in NAMES.items():
        assert cls.tags.restarts
        assert restarts_of(name)
        assert cls().tags.restarts
        off = cls(reset_after_alarm=False).tags
        assert not off.restarts
        assert (off.threshold, off.direction) == (cls.tags.threshold, cls.tags.direction)


@pytest.mark.parametrize("cls", list(NAMES))
def test_nan_and_inf_scores_are_counted_never_a_crash(cls):
    # A NaN score is a failed prediction (an error; the worst loss), ±inf scores predict
    # a class (the error stream) or are an infinite absolute error (mae): every labelled
    # row is counted, the verdict is a float and a bool, and the detector goes on.
    metric = {"metric": "mae"} if cls in (KSWIN, GaussianCUSUM) else {}
    det = cls(**metric).fit(_view(_bits(0, 500, [(0, 0.2)])))
    labels = np.array([0.0, 1.0, 1.0, 0.0, np.nan, 1.0] * 50)
    scores = np.array([np.nan, np.inf, -np.inf, -np.inf, 0.3, np.nan] * 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = det.update(View(labels=labels, label_scores=scores))
        assert det.n_seen_ == 250
        assert isinstance(v.alarm, bool)
        assert isinstance(v.statistic, float)
        det.update(_view(_bits(1, 300, [(0, 0.2)])))
    assert det.n_seen_ == 550
    if not metric:  # the errors counted: each NaN score, and the -inf given to a label 1
        errors = DDM(reset_after_alarm=False).fit(_view(np.zeros(50)))
        errors.update(View(labels=labels, label_scores=scores))
        assert errors.errors_ == 150


def test_variants_outside_test_params_pass_the_conformance_checks():
    # HDDM_A declares the ladder an expected failure for its default; without re-arming
    # its alarms are nested along the ladder, and it passes every check
    for det in (HDDM_A(drift_confidence=0.0001, reset_after_alarm=False), GaussianCUSUM(k=1.0)):
        for check in yield_detector_checks(det):
            check(det)


def test_statistic_is_nan_until_a_labelled_row_arrives_then_kept_on_empty_ticks():
    ref = _bits(0, 500, [(0, 0.2)])
    det = DDM().fit(_view(ref))
    assert math.isnan(det.update(View()).statistic)
    assert math.isnan(det.update(_view(np.empty(0))).statistic)
    v = det.update(_view(np.array([0.0, 1.0, np.nan])))  # the NaN label is dropped
    assert det.n_seen_ == 2
    assert math.isfinite(v.statistic)
    assert det.update(View()).statistic == v.statistic


def test_alarm_rows_count_labelled_rows_only():
    # an error lifts the CUSUM by ln 9 > h at once, a correct row takes it back to 0
    det = BernoulliCUSUM(p0=0.1, p1=0.9, h=1.0).fit(_view(np.zeros(10)))
    det.update(_view(np.array([np.nan, 0.0, np.nan, 1.0])))
    assert det.alarm_rows_.tolist() == [1]  # the second labelled row, not the fourth row


def test_reset_after_alarm_is_explicit():
    # re-armed: one alarm, then the detector learns the new rate; not re-armed: it keeps
    # alarming while the condition holds
    ref = _bits(0, 2000, [(0, 0.1)])
    stream = _bits(1, 5000, [(0, 0.5)])
    on = _simlab_alarms(DDM(), ref, stream, [1000] * 5)
    off = _simlab_alarms(DDM(reset_after_alarm=False), ref, stream, [1000] * 5)
    assert len(on) == 1
    assert len(off) > 1000
    assert off[0] == on[0]
    cusum = _simlab_alarms(BernoulliCUSUM(), ref, stream, [1000] * 5)
    assert len(cusum) > 10  # a CUSUM keeps its p0: re-armed at 0, it alarms again and again


def test_nan_scores_count_as_errors_and_bad_labels_are_refused():
    det = DDM(reset_after_alarm=False).fit(_view(np.zeros(100)))
    assert det.errors_ == 0
    det.update(View(labels=np.array([0.0, 1.0]), label_scores=np.array([np.nan, np.nan])))
    assert det.errors_ == 2
    with pytest.raises(SchemaError, match=r"DDM: labels \[2.0\] are not 0 or 1"):
        det.update(View(labels=np.array([0.0, 2.0]), label_scores=np.zeros(2)))
    with pytest.raises(SchemaError, match="not probabilities"):
        KSWIN().fit(View(labels=np.array([0.0, 1.0]), label_scores=np.array([0.5, 1.5])))
    with pytest.raises(ConfigError, match="reference"):
        ADWIN().fit(View(scores=np.zeros(3)))
    with pytest.raises(ConfigError, match="reference"):
        EDDM().fit(_view(np.array([np.nan])))


def test_cusum_parameters_from_the_reference_and_their_errors():
    det = BernoulliCUSUM(shift=0.1).fit(_view(_bits(0, 4000, [(0, 0.2)])))
    assert det.p1_ == pytest.approx(det.p0_ + 0.1)
    assert det.weights_[0] == pytest.approx(math.log(det.p1_ / det.p0_))
    perfect = BernoulliCUSUM().fit(_view(np.zeros(50)))
    assert perfect.p0_ == pytest.approx(0.01)  # 1 / (2n), not 0
    with pytest.raises(ConfigError, match="p1"):
        BernoulliCUSUM(shift=0.5).fit(_view(np.ones(10) * (np.arange(10) < 6)))
    with pytest.raises(ConfigError, match="p1"):
        BernoulliCUSUM(p0=0.3, p1=0.2)
    with pytest.raises(ConfigError, match="standard deviation"):
        GaussianCUSUM(metric="mae").fit(_view(np.full(20, 3.0)))
    g = GaussianCUSUM(metric="mae").fit(_view(np.array([1.0, 2.0, 3.0])))
    assert (g.mean_, g.std_) == (2.0, 1.0)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (DDM, {"drift_threshold": 0.0}, "DDM: drift_threshold=0.0 is not allowed"),
        (DDM, {"reset_after_alarm": "yes"}, "DDM: reset_after_alarm='yes' is not allowed"),
        (EDDM, {"beta": 1.0}, "EDDM: beta=1.0 is not allowed"),
        (ADWIN, {"max_buckets": 1}, "ADWIN: max_buckets=1 is not allowed"),
        (ADWIN, {"delta": 0.0}, "ADWIN: delta=0.0 is not allowed"),
        (HDDM_W, {"lambda_val": 0.0}, "HDDM_W: lambda_val=0.0 is not allowed"),
        (
            KSWIN,
            {"stat_size": 60},
            "KSWIN: stat_size=60 is not allowed; expected an int in [1, 50]",
        ),
        (KSWIN, {"metric": "accuracy"}, "KSWIN: metric='accuracy' is not allowed"),
        (PageHinkley, {"mode": "sideways"}, "PageHinkley: mode='sideways' is not allowed"),
        (GaussianCUSUM, {"std": 0.0}, "GaussianCUSUM: std=0.0 is not allowed"),
    ],
)
def test_config_errors_name_key_value_and_allowed(cls, kwargs, message):
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(message)


def test_kswin_draws_only_from_the_generator_it_is_given():
    ref = 10.0 + np.random.default_rng(0).normal(size=300)
    stream = 10.0 + np.random.default_rng(1).normal(size=20_000)

    def alarms(det):
        return _simlab_alarms(det, ref, stream, [1000] * 20)

    base = KSWIN(metric="mae", alpha=0.01)
    given = np.random.default_rng(42)
    before = given.bit_generator.state
    seeded = base.clone().seed(given)
    first = alarms(seeded)
    assert given.bit_generator.state == before  # fit starts from a copy: the stream is untouched
    assert alarms(seeded) == first  # and each fit starts it again
    assert alarms(base.clone().seed(np.random.default_rng(42))) == first
    assert alarms(base.clone().seed(np.random.default_rng(43))) != first
    assert alarms(base.clone()) == alarms(base.clone().seed(np.random.default_rng(0)))


def test_kswin_critical_count_is_rivers_rule():
    # the smallest c with ks_2samp's p-value <= alpha and D = c / n > 0.1
    det = KSWIN(alpha=0.005).fit(make_stream(0, 0)[0])
    base = np.arange(30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = [stats.ks_2samp(base, base + c).pvalue for c in range(31)]
    assert p[det.critical_] <= 0.005 < p[det.critical_ - 1]


# ----------------------------------------------------------------------------------------- kernels


def test_cusum_path_is_the_recursion():
    rng = np.random.default_rng(0)
    x = rng.normal(-0.2, 1.0, size=5000)
    s, want = 0.7, []
    for v in x.tolist():
        s = max(0.0, s + v)
        want.append(s)
    got = cusum_path(x, 0.7)
    # Higham: a running sum of t terms errs by at most (t − 1) U Σ|terms|; 5,000 terms of
    # size about 1 give 5,000 · 5,000 · U ≈ 3e-9 at worst, both sides
    assert np.max(np.abs(got - np.array(want))) < 2 * 5000 * (np.abs(x).sum() + 0.7) * U
    assert cusum_path(np.array([2.0]), 1.0).tolist() == [3.0]


def test_linear_recursion_is_the_loop():
    rng = np.random.default_rng(1)
    u = rng.normal(size=20_000)
    for a in (0.0, 0.01, 0.5, 0.95, 0.9999, 1.0):
        y, want = 0.3, []
        for v in u.tolist():
            y = a * y + v
            want.append(y)
        got = linear_recursion(u, a, 0.3)
        # each output is a weighted sum of at most 20,000 terms of size <= ~4 with weights
        # a^(t−s) <= 1, rescaled twice: error <= (t + 3) U Σ a^(t−s) |u_s|
        scale = np.abs(np.array(want)).max() + 4 * min(20_000, 1 / max(1 - a, 1e-9))
        assert np.max(np.abs(got - np.array(want))) < 20_003 * U * scale, a
    assert linear_recursion(np.empty(0), 0.5, 1.0).shape == (0,)
