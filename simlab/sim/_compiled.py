"""Compiled bookkeeping of the label queue (numba): one call per push or pop, no row loop.

The payload buffers are cut into *pages* of `PAGE` slots. Each arrival tick owns a linked
list of pages (``head[a]`` the first, ``tail[a]`` the last, ``page_next[p]`` the next, ``-1``
the end) that its rows fill in push order: every page but the last is full and the last holds
``fill[a]`` rows, ``count[a]`` in all. A pop hands the pages of the ticks due back to a stack
of free pages (``free``, its top at ``n_free - 1``) that later pushes take from, so the
buffers hold only the rows in flight (plus one part-filled page per tick), and the rows of a
tick sit in a few contiguous runs. Each kernel walks the rows of one call once (a few ns a
row); NumPy moves the payload with one scatter (push) or gather (pop) per field.

Compiled on first use and cached on disk (``cache=True``), like `simlab.detectors._compiled`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["PAGE", "queue_pop", "queue_push", "queue_push_hours"]

_JIT = {"cache": True, "nogil": True}

#: Slots per page.
PAGE = 64


@njit(**_JIT)
def _pages_needed(arrival, m, head, tail, fill, scratch):
    """Free pages that linking ``arrival[:m]`` takes (`scratch`: zeros per tick, left so)."""
    need = 0
    for i in range(m):
        a = arrival[i]
        scratch[a] += 1
        room = PAGE - fill[a] if tail[a] >= 0 else 0
        over = scratch[a] - room  # this row's place past the tick's last page's room
        if over > 0 and (over - 1) % PAGE == 0:
            need += 1
    for i in range(m):
        scratch[arrival[i]] = 0
    return need


@njit(**_JIT)
def _link(arrival, m, head, tail, fill, count, page_next, free, n_free, slots):
    """Append ``arrival[:m]``'s rows to their ticks' pages (slots to `slots`); new n_free."""
    for i in range(m):
        a = arrival[i]
        p = tail[a]
        if p < 0 or fill[a] == PAGE:
            n_free -= 1
            q = free[n_free]
            page_next[q] = -1
            if p < 0:
                head[a] = q
            else:
                page_next[p] = q
            tail[a] = q
            fill[a] = 0
            p = q
        slots[i] = p * PAGE + fill[a]
        fill[a] += 1
        count[a] += 1
    return n_free


@njit(**_JIT)
def queue_push(arrival, head, tail, fill, count, page_next, free, n_free, slots, scratch):
    """Append rows due at ticks `arrival` (int64) to their ticks' pages, in order.

    Writes each row's slot to `slots` and returns the new ``n_free``; if the free pages do
    not suffice, changes nothing and returns minus the number of pages needed. `scratch`
    is an int64 array of zeros, one per tick, left as zeros.
    """
    m = arrival.shape[0]
    need = _pages_needed(arrival, m, head, tail, fill, scratch)
    if need > n_free:
        return -need
    return _link(arrival, m, head, tail, fill, count, page_next, free, n_free, slots)


@njit(**_JIT)
def queue_push_hours(
    t, delays, tick_hours, horizon, labelled, head, tail, fill, count, page_next, free, n_free,
    slots, rows, scratch,
):  # fmt: skip
    """`queue_push` for the labelled rows served at hour `t`, due after their `delays`.

    A row arrives at the first tick at or after ``t + delay``: ``ceil((t + delay) /
    tick_hours - 1e-9)`` (the same float operations as NumPy's, so the same ticks); rows not
    `labelled`, and rows arriving at or after `horizon` (an infinite or NaN delay among them),
    never do. Writes the slots of the rows that will arrive to ``slots[:m]`` and their
    positions to ``rows[:m]``, and returns ``(m, n_free, low)`` with `low` their earliest
    tick. If the free pages do not suffice, changes nothing and returns ``n_free`` as minus
    the pages needed; if a row's tick is negative, changes nothing and returns it as `low`
    with ``m = -1``.
    """
    n = delays.shape[0]
    arrival = np.empty(n, np.int64)
    m = 0
    low = horizon
    for i in range(n):
        if not labelled[i]:
            continue
        a = np.ceil((t + delays[i]) / tick_hours - 1e-9)
        if not a < horizon:
            continue
        if a < 0:
            return -1, n_free, int(a)
        arrival[m] = int(a)
        rows[m] = i
        low = min(low, int(a))
        m += 1
    need = _pages_needed(arrival, m, head, tail, fill, scratch)
    if need > n_free:
        return m, -need, low
    return m, _link(arrival, m, head, tail, fill, count, page_next, free, n_free, slots), low


@njit(**_JIT)
def queue_pop(lo, hi, head, tail, fill, count, page_next, free, n_free):
    """Take every row due at ticks ``lo..hi``: their slots by tick, each tick's in push order.

    Their pages go back on the free stack; returns ``(slots, n_free)``.
    """
    total = 0
    for a in range(lo, hi + 1):
        total += count[a]
    out = np.empty(total, np.int64)
    o = 0
    for a in range(lo, hi + 1):
        p = head[a]
        left = count[a]
        while p >= 0:
            m = min(PAGE, left)
            base = p * PAGE
            for j in range(m):
                out[o + j] = base + j
            o += m
            left -= m
            q = page_next[p]
            free[n_free] = p
            n_free += 1
            p = q
        head[a] = -1
        tail[a] = -1
        fill[a] = 0
        count[a] = 0
    return out, n_free
