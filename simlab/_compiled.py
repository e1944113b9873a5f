"""Compiled per-tick reductions (numba): a tick's metric sums and feature summaries in one pass.

The recorder reduces every tick twice (the rows served, the labels arrived), and each
challenger does the same; in NumPy each reduction is a dozen calls on 1,000 values, whose
per-call overhead costs more than the arithmetic. These kernels do the same arithmetic in
one compiled loop, with the same floating-point operations in the same order, so every value
is NumPy's to the bit: sums over rows use NumPy's own pairwise summation (`pairwise_sum`:
blocks of eight partial sums below 128 values, halves above, as ``numpy.add.reduce`` does
for contiguous float64), and the log-loss's logarithms stay NumPy's (the kernel returns the
probabilities; `simlab.scoring` takes their logarithm).

Compiled on first use and cached on disk (``cache=True``), like `simlab.detectors._compiled`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "binary_pass",
    "correct_at",
    "feature_moments",
    "pairwise_sum",
    "windowed_auc",
]

#: How every simlab kernel is compiled: cached on disk, releasing the GIL.
_JIT = {"cache": True, "nogil": True}


@njit(**_JIT)
def _block(a, lo, n):
    """NumPy's sum of at most 128 values: sequential below 8, else eight partial sums."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(**_JIT)
def _pairwise(a, lo, n, frames, left):
    """NumPy's pairwise sum of ``a[lo:lo + n]``: above 128 values, the sum of two halves.

    The first half is rounded down to a multiple of 8. The halves are walked with an
    explicit stack (`frames`: int64 ``(3, 64)``, start, length and stage per level; `left`:
    float64 ``(64,)``, the first half's sum), not by recursion: numba's on-disk cache cannot
    reload a recursive function (it crashes the process that loads it).
    """
    if n <= 128:
        return _block(a, lo, n)
    frames[0, 0], frames[1, 0], frames[2, 0] = lo, n, 0
    depth = 1
    ret = 0.0
    while depth:
        i = depth - 1
        m = frames[1, i]
        if m <= 128:
            ret = _block(a, frames[0, i], m)
            depth -= 1
            continue
        half = m // 2
        half -= half % 8
        if frames[2, i] == 0:  # sum the first half
            frames[2, i] = 1
            frames[0, depth], frames[1, depth], frames[2, depth] = frames[0, i], half, 0
            depth += 1
        elif frames[2, i] == 1:  # then the second
            left[i] = ret
            frames[2, i] = 2
            frames[0, depth], frames[1, depth], frames[2, depth] = frames[0, i] + half, m - half, 0
            depth += 1
        else:
            ret = left[i] + ret
            depth -= 1
    return ret


@njit(**_JIT)
def pairwise_sum(a):
    """The sum of the 1-D float64 array `a`, as ``a.sum()`` computes it (to the bit)."""
    return _pairwise(a, 0, a.shape[0], np.empty((3, 64), np.int64), np.empty(64))


@njit(**_JIT)
def correct_at(y, s, cutoff):
    """A binary prediction is correct: its score on its label's side of `cutoff` (NaN: not)."""
    return s >= cutoff if y == 1 else s < cutoff


@njit(**_JIT)
def binary_pass(y, s, cutoff, eps, q, hist):
    """One pass over binary predictions: the correct count, the AUC histogram, log-loss's q.

    For scores `s` all in [0, 1]: row ``i`` is correct when ``(s >= cutoff) == (y == 1)``;
    ``q[i]`` is the probability given to its class, floored at `eps`; `hist` (int64 zeros,
    shape ``(2, n_bins)``) counts negatives' then positives' scores in equal bins. Returns
    the correct count, or -1 at the first score outside [0, 1] or NaN (then nothing is
    usable).
    """
    correct = 0
    n_bins = hist.shape[1]
    top = n_bins - 1
    for i in range(s.shape[0]):
        v = s[i]
        if not (v >= 0.0 and v <= 1.0):
            return -1
        pos = y[i] == 1
        p = v if pos else 1.0 - v
        q[i] = p if p > eps else eps
        b = int(v * n_bins)
        if b > top:
            b = top
        hist[1 if pos else 0, b] += 1
        if correct_at(y[i], v, cutoff):
            correct += 1
    return correct


@njit(**_JIT)
def feature_moments(x, mean, std):
    """Per row of the (features, rows) float64 array `x`: mean and population std.

    The same operations as ``m = x.sum(1) / n; sqrt(((x - m[:, None]) ** 2).sum(1) / n)``
    with NumPy's summation. Returns False, writing nothing, if any row's sum is not finite
    (a NaN or inf among its values: the caller masks them).
    """
    f, n = x.shape
    frames, left = np.empty((3, 64), np.int64), np.empty(64)
    totals = np.empty(f)
    for r in range(f):
        totals[r] = _pairwise(x[r], 0, n, frames, left)
        if not np.isfinite(totals[r]):
            return False
    for r in range(f):
        mean[r] = totals[r] / n
    dev = np.empty(n)
    for r in range(f):
        m = mean[r]
        row = x[r]
        for i in range(n):
            d = row[i] - m
            dev[i] = d * d
        std[r] = np.sqrt(_pairwise(dev, 0, n, frames, left) / n)
    return True


@njit(**_JIT)
def windowed_auc(hist, w, out):
    """AUC over trailing windows of `w` ticks, from per-tick int64 histograms ``(t, 2, bins)``.

    ``out[k]`` is `simlab.scoring.auc_from_hist` of the sum of ``hist[k - w + 1 .. k]``,
    to the bit: the window is kept as exact integer counts, and the AUC's float operations
    are NumPy's, in its order (pairwise sums over bins, a sequential cumulative sum). NaN
    when a class is empty.
    """
    t, _, nb = hist.shape
    win = np.zeros((2, nb), np.int64)
    neg, pos, terms = np.empty(nb), np.empty(nb), np.empty(nb)
    frames, left = np.empty((3, 64), np.int64), np.empty(64)
    for k in range(t):
        for b in range(nb):
            win[0, b] += hist[k, 0, b]
            win[1, b] += hist[k, 1, b]
            if k >= w:
                win[0, b] -= hist[k - w, 0, b]
                win[1, b] -= hist[k - w, 1, b]
            neg[b] = float(win[0, b])
            pos[b] = float(win[1, b])
        n_neg = _pairwise(neg, 0, nb, frames, left)
        n_pos = _pairwise(pos, 0, nb, frames, left)
        below = 0.0
        for b in range(nb):
            below += neg[b]  # the cumulative sum, then less this bin: negatives strictly below
            terms[b] = pos[b] * ((below - neg[b]) + 0.5 * neg[b])
        if n_neg > 0 and n_pos > 0:
            out[k] = _pairwise(terms, 0, nb, frames, left) / (n_neg * n_pos)
        else:
            out[k] = np.nan
