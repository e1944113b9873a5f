"""Compiled row recursions of the sequential detectors (numba): one call per tick.

DDM, EDDM, Page–Hinkley, the CUSUMs and ADWIN are recursions in which each row's state
depends on the previous row's. `simlab.detectors._kernels` rewrites some recursions as vector
operations (cumulative sums, ``minimum.accumulate``), but a tick of 1,000 rows then costs
10–20 NumPy calls of 0.5–3.5 µs each, more than the recursion itself; river's pure-Python
detectors spend about 0.3 µs a row. Here each detector's recursion is one compiled loop
over the tick's rows (about 2 ns a row), in the textbook order of operations (no sum is
reassociated, so the state is the element-by-element recursion's to the bit), with the
re-arming after an alarm done inside the loop: a detector that alarms and re-arms every
few rows costs no Python call per alarm. KSWIN's per-row KS tests (`kswin_counts`) keep
both parts of the sliding window sorted from one row to the next.

Conventions. Every kernel takes the tick's rows ``x`` (the error bit as bool, or the
loss as float64), the detector's state packed in small arrays that it updates in place,
the ``pending`` re-arm flag (an alarm on the previous row: reset before the next row,
river's order), and `hits`, an int array of at least ``len(x)`` slots; it returns the
number of alarms written to `hits` (their positions in ``x``) and the new ``pending``.
With ``rearm`` False nothing is reset and every alarming row is reported.

The kernels are compiled on first use and cached on disk (``cache=True``), so a new
process (a test run, a joblib or Dask worker) loads them in a fraction of a second.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from simlab._compiled import _JIT

__all__ = ["adwin_scan", "cusum_scan", "ddm_scan", "eddm_scan", "kswin_counts", "page_hinkley_scan"]


@njit(**_JIT)
def ddm_scan(x, counts, floats, warm, threshold, rearm, pending, hits):
    """DDM over the rows ``x`` (bool).

    ``counts``: int64 ``[n, errors]``; ``floats``: ``[min(p + s), p_min, s_min,
    statistic]``. With ``p = k / n`` and ``s = sqrt(p (1 − p) / n)``, once ``n`` exceeds
    `warm` the pair where ``p + s`` reaches its running minimum (``<=``) is kept, and a
    row alarms when ``p + s > p_min + threshold · s_min``. Returns ``(n_hits, pending)``.
    """
    n, k = counts[0], counts[1]
    ps_min, p_min, s_min, stat = floats[0], floats[1], floats[2], floats[3]
    nh = 0
    for i in range(x.shape[0]):
        if pending:
            n, k = 0, 0
            ps_min, p_min, s_min, stat = math.inf, math.nan, math.nan, math.nan
            pending = False
        n += 1
        if x[i]:
            k += 1
        if n <= warm:
            continue
        p = k / n
        s = math.sqrt((1.0 - p) * p / n)
        ps = p + s
        if ps <= ps_min:
            ps_min, p_min, s_min = ps, p, s
        if ps > p_min + threshold * s_min:
            hits[nh] = i
            nh += 1
            if rearm:
                pending = True
        gap = ps - p_min
        # s_min = 0 (no error yet at the minimum): any error is infinitely many sigmas
        stat = gap / s_min if s_min > 0.0 else (math.inf if gap > 0.0 else 0.0)
    counts[0], counts[1] = n, k
    floats[0], floats[1], floats[2], floats[3] = ps_min, p_min, s_min, stat
    return nh, pending


@njit(**_JIT)
def page_hinkley_scan(x, state, delta, alpha, lam, min_instances, up, down, rearm, pending, hits):
    """Page–Hinkley over the rows ``x`` (bool).

    ``state``: float64 ``[n, errors, U, min U, L, max L, statistic]``.
    ``U_t = α U_{t−1} + (x_t − x̄_t − δ)`` alarms when ``U_t − min_{s<=t} U_s > λ``,
    ``L_t = α L_{t−1} + (x_t − x̄_t + δ)`` when ``max L − L_t > λ``, from `min_instances`
    rows on. Returns ``(n_hits, pending)``.
    """
    n, k, u, umin, lo, lmax = state[0], state[1], state[2], state[3], state[4], state[5]
    nh = 0
    for i in range(x.shape[0]):
        if pending:
            n, k, u, umin, lo, lmax = 0.0, 0.0, 0.0, math.inf, 0.0, -1.0
            pending = False
        n += 1.0
        if x[i]:
            k += 1.0
            dev = 1.0 - k / n
        else:
            dev = 0.0 - k / n
        alarm = False
        if up:
            u = alpha * u + (dev - delta)
            umin = min(umin, u)
            if n >= min_instances and u - umin > lam:
                alarm = True
        if down:
            lo = alpha * lo + (dev + delta)
            lmax = max(lmax, lo)
            if n >= min_instances and lmax - lo > lam:
                alarm = True
        if alarm:
            hits[nh] = i
            nh += 1
            if rearm:
                pending = True
    stat = math.nan  # warming up
    if n >= min_instances:
        stat = u - umin if up else -math.inf
        if down:
            stat = max(stat, lmax - lo)
    state[0], state[1], state[2], state[3], state[4], state[5] = n, k, u, umin, lo, lmax
    state[6] = stat
    return nh, pending


@njit(**_JIT)
def cusum_scan(x, gaussian, a, b, c, state, h, rearm, pending, hits):
    """The CUSUM ``S_t = max(0, S_{t−1} + w_t)``; ``state``: ``[S]``. Alarms where ``S_t > h``.

    The increments: ``w_t = (x_t − a) / b − c`` for `gaussian` (a loss standardised,
    minus the reference value), else ``a`` for an error and ``b`` for a correct row (the
    Bernoulli log-likelihood ratios). A re-arm restarts ``S`` at 0. Returns
    ``(n_hits, pending)``.
    """
    s = state[0]
    nh = 0
    for i in range(x.shape[0]):
        if pending:
            s = 0.0
            pending = False
        if gaussian:
            s = s + ((x[i] - a) / b - c)
        elif x[i]:
            s = s + a
        else:
            s = s + b
        if s < 0.0:
            s = 0.0
        if s > h:
            hits[nh] = i
            nh += 1
            if rearm:
                pending = True
    state[0] = s
    return nh, pending


@njit(**_JIT)
def eddm_scan(x, counts, floats, warm, beta, rearm, pending, hits):
    """EDDM over the rows ``x`` (bool).

    ``counts``: int64 ``[n, errors, last error's row, Σd, Σd²]`` (exact integers);
    ``floats``: ``[max(p' + 2s'), statistic]``. Returns ``(n_hits, pending)``.
    """
    n, k, last, s1, s2 = counts[0], counts[1], counts[2], counts[3], counts[4]
    top, stat = floats[0], floats[1]
    nh = 0
    for i in range(x.shape[0]):
        if pending:
            n, k, last, s1, s2 = 0, 0, 0, 0, 0
            top, stat = -1.0, math.nan
            pending = False
        n += 1
        if not x[i]:
            continue
        k += 1
        d = n - last
        last = n
        s1 += d
        s2 += d * d
        num = k * s2 - s1 * s1  # k Σd² − (Σd)² >= 0, exact
        den = k * (k - 1) if k > 1 else 1  # one distance: variance 0 (ddof = 1)
        p2s = s1 / k + math.sqrt(num / den) * 2.0
        if n > warm:
            if p2s > top:
                top = p2s
            elif k > warm and p2s / top < beta:
                hits[nh] = i
                nh += 1
                if rearm:
                    pending = True
            if k > warm:
                stat = 1.0 - p2s / top
    counts[0], counts[1], counts[2], counts[3], counts[4] = n, k, last, s1, s2
    floats[0], floats[1] = top, stat
    return nh, pending


@njit(**_JIT)
def _adwin_bound(n0, n1, width, variance, log_term, ell):
    """River's ``evaluate_cut`` bound, its operations in its order."""
    m_recip = 1.0 / (n0 - ell + 1.0) + 1.0 / (n1 - ell + 1.0)
    spread = math.sqrt(2.0 * m_recip * (variance / width) * log_term)
    return spread + 2.0 / 3.0 * log_term * m_recip


@njit(**_JIT)
def _adwin_test(tot, cnt, top, width, total, variance, delta, ell):
    """Scan every split of the window, oldest bucket first: ``(cuts, best ratio, usable)``."""
    log_term = math.log(2.0 * math.log(width) / delta)
    n0 = 0.0
    u0 = 0.0
    best = -math.inf
    usable = False
    cuts = False
    n_buckets = 0
    for level in range(top + 1):
        n_buckets += cnt[level]
    seen = 0
    for level in range(top, -1, -1):
        size = 2.0**level
        for j in range(cnt[level]):
            seen += 1
            if seen == n_buckets:
                break  # no split after the newest bucket
            n0 += size
            u0 += tot[level, j]
            n1 = width - n0
            if n0 >= ell and n1 >= ell:
                gap = abs(u0 / n0 - (total - u0) / n1)
                eps = _adwin_bound(n0, n1, width, variance, log_term, ell)
                usable = True
                best = max(best, gap / eps)
                if gap > eps:
                    cuts = True
    return cuts, best, usable


@njit(**_JIT)
def adwin_scan(x, sizes, totals, floats, ints, delta, clock, cap, ell, grace, rearm, pending, hits):
    """ADWIN (river's ADWIN2) over the rows ``x`` (bool), one row at a time.

    The window arrives as its buckets oldest first (``sizes`` powers of 2, ``totals``),
    ``floats`` ``[total, variance, statistic]`` and ``ints`` ``[width, tick]`` (updated in
    place). Returns ``(n_hits, pending, sizes, totals)``: the window's new buckets.
    """
    levels = 64
    tot = np.zeros((levels, cap + 1))
    cnt = np.zeros(levels, dtype=np.int64)
    top = 0  # the highest level in use
    for b in range(sizes.shape[0]):
        level = round(math.log2(sizes[b]))
        tot[level, cnt[level]] = totals[b]
        cnt[level] += 1
        top = max(top, level)
    total, variance, stat = floats[0], floats[1], floats[2]
    width, tick = ints[0], ints[1]
    nh = 0
    for i in range(x.shape[0]):
        if pending:
            cnt[:] = 0
            top = 0
            total, variance, stat = 0.0, 0.0, math.nan
            width, tick = 0, 0
            pending = False
        v = 1.0 if x[i] else 0.0
        # the window's sum and variance (Welford's increment, river's operations)
        w = width + 1.0
        step = v - total / max(w - 1.0, 1.0)
        step = (w - 1.0) * step * step / w
        variance = variance + step
        total = total + v
        width += 1
        # the row enters level 0; a level holding cap + 1 buckets merges its two oldest
        tot[0, cnt[0]] = v
        cnt[0] += 1
        level = 0
        while cnt[level] > cap:
            merged = tot[level, 0] + tot[level, 1]
            for j in range(2, cnt[level]):
                tot[level, j - 2] = tot[level, j]
            cnt[level] -= 2
            level += 1
            tot[level, cnt[level]] = merged
            cnt[level] += 1
            top = max(top, level)
        tick += 1
        if tick % clock != 0 or width <= grace:
            continue
        cuts, best, usable = _adwin_test(
            tot, cnt, top, float(width), total, variance, delta, float(ell)
        )
        if usable:
            stat = best
        if not cuts:
            continue
        hits[nh] = i
        nh += 1
        while True:  # drop the oldest bucket and test again, until nothing cuts
            while top > 0 and cnt[top] == 0:
                top -= 1
            n = 2.0**top
            u = tot[top, 0]
            for j in range(1, cnt[top]):
                tot[top, j - 1] = tot[top, j]
            cnt[top] -= 1
            var = u * (n - u) / n  # the bucket's squared deviations: exact for 0/1 rows
            mu = u / n
            rest = float(width) - n
            width = int(rest)
            total -= u
            mu_window = total / rest
            variance -= var + n * rest * (mu - mu_window) * (mu - mu_window) / (n + rest)
            while top > 0 and cnt[top] == 0:
                top -= 1
            n_buckets = 0
            for level in range(top + 1):
                n_buckets += cnt[level]
            if n_buckets < 2:
                break
            again, _, _ = _adwin_test(
                tot, cnt, top, float(width), total, variance, delta, float(ell)
            )
            if not again:
                break
        if rearm:
            pending = True
    n_buckets = 0
    for level in range(top + 1):
        n_buckets += cnt[level]
    new_sizes = np.empty(n_buckets)
    new_totals = np.empty(n_buckets)
    b = 0
    for level in range(top, -1, -1):
        for j in range(cnt[level]):
            new_sizes[b] = 2.0**level
            new_totals[b] = tot[level, j]
            b += 1
    floats[0], floats[1], floats[2] = total, variance, stat
    ints[0], ints[1] = width, tick
    return nh, pending, new_sizes, new_totals


@njit(**_JIT)
def _sort_small(v):
    """Insertion sort in place (a KSWIN sample: a few dozen values)."""
    for i in range(1, v.shape[0]):
        key = v[i]
        j = i - 1
        while j >= 0 and v[j] > key:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = key


@njit(**_JIT)
def _kth_uniform(u, k, counts, scratch):
    """The `k`-th smallest (0-based) of the uniforms `u` (in [0, 1)), exactly.

    One pass counts them into ``counts.shape[0]`` equal buckets, the cumulative counts
    find the bucket holding the `k`-th, and the few values in it are sorted.
    """
    nb = counts.shape[0]
    counts[:] = 0
    for j in range(u.shape[0]):
        counts[int(u[j] * nb)] += 1
    below = 0
    b = 0
    while below + counts[b] <= k:
        below += counts[b]
        b += 1
    m = 0
    for j in range(u.shape[0]):
        if int(u[j] * nb) == b:
            scratch[m] = u[j]
            m += 1
    _sort_small(scratch[:m])
    return scratch[k - below]


@njit(**_JIT)
def kswin_counts(rows, start, size, half, u):
    """KSWIN's KS count for the windows ``rows[start + r : start + r + size]``, one per row of `u`.

    Window ``r``'s sample is the ``half`` of its oldest ``size − half`` rows whose
    uniforms ``u[r]`` are smallest (a uniformly random subset, as ``argpartition`` of
    the uniforms picks it), compared with its newest ``half`` rows: returns, per window,
    ``max_v |#{sample <= v} − #{newest <= v}|``. Both parts of the window are kept
    sorted as it slides (one value leaves, one enters), so a window costs a selection
    among the uniforms and two passes over the sorted parts.
    """
    q = u.shape[0]
    pool = size - half
    out = np.empty(q, dtype=np.int64)
    pv = np.empty(pool)  # the oldest part, sorted, with each value's row
    pi = np.empty(pool, dtype=np.int64)
    sb = np.empty(half)  # the newest part, sorted
    sa = np.empty(half)  # the sample, sorted
    scratch = np.empty(pool)
    counts = np.empty(64, dtype=np.int64)
    if q == 0:
        return out
    order = np.argsort(rows[start : start + pool], kind="mergesort")
    for j in range(pool):
        pi[j] = start + order[j]
        pv[j] = rows[pi[j]]
    for j in range(half):
        sb[j] = rows[start + pool + j]
    _sort_small(sb)
    for r in range(q):
        first = start + r
        if r:
            # the oldest part loses row first - 1 and gains row first + pool - 1
            k = 0
            while k < pool - 1 and pi[k] != first - 1:
                k += 1
            for j in range(k, pool - 1):
                pv[j] = pv[j + 1]
                pi[j] = pi[j + 1]
            new = rows[first + pool - 1]
            j = pool - 2
            while j >= 0 and pv[j] > new:
                pv[j + 1] = pv[j]
                pi[j + 1] = pi[j]
                j -= 1
            pv[j + 1] = new
            pi[j + 1] = first + pool - 1
            # the newest part loses that row and gains row first + size - 1
            gone = rows[first + pool - 1]
            k = 0
            while k < half - 1 and sb[k] != gone:
                k += 1
            for j in range(k, half - 1):
                sb[j] = sb[j + 1]
            new = rows[first + size - 1]
            j = half - 2
            while j >= 0 and sb[j] > new:
                sb[j + 1] = sb[j]
                j -= 1
            sb[j + 1] = new
        cut = _kth_uniform(u[r], half - 1, counts, scratch)
        m = 0
        for j in range(pool):
            if m < half and u[r, pi[j] - first] <= cut:
                sa[m] = pv[j]
                m += 1
        i = 0
        j = 0
        best = 0
        while i < half or j < half:
            v = sa[i] if j >= half or (i < half and sa[i] <= sb[j]) else sb[j]
            while i < half and sa[i] == v:
                i += 1
            while j < half and sb[j] == v:
                j += 1
            best = max(best, abs(i - j))
        out[r] = best
    return out
