"""The engine's compiled bookkeeping (numba): the label queue, and the arms of an A/B test.

The label queue takes one call per push or pop, no row loop.

The payload buffers are cut into *pages* of `PAGE` slots. Each arrival tick owns a linked
list of pages (``head[a]`` the first, ``tail[a]`` the last, ``page_next[p]`` the next, ``-1``
the end) that its rows fill in push order: every page but the last is full and the last holds
``fill[a]`` rows, ``count[a]`` in all. A pop hands the pages of the ticks due back to a stack
of free pages (``free``, its top at ``n_free - 1``) that later pushes take from, so the
buffers hold only the rows in flight (plus one part-filled page per tick), and the rows of a
tick sit in a few contiguous runs. Each kernel walks the rows of one call once (a few ns a
row); NumPy moves the payload with one scatter (push) or gather (pop) per field.

An A/B test's arms (`assign_arm`, `split_harm`, `arm_correct`) are one pass each over a
tick's rows. Every kernel that asks when a label arrives uses the queue's rule (`_arrival`).

Compiled on first use and cached on disk (``cache=True``), like `simlab.detectors._compiled`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simlab._compiled import _JIT, correct_at

__all__ = [
    "PAGE",
    "arm_correct",
    "assign_arm",
    "queue_pop",
    "queue_push",
    "queue_push_hours",
    "split_harm",
]

#: Slots per page.
PAGE = 64


@njit(**_JIT)
def _arrival(t, delay, tick_hours):
    """The tick at which a label served at hour `t` arrives: the first at or after `t` + `delay`.

    ``ceil((t + delay) / tick_hours - 1e-9)``, NumPy's float operations (NaN or inf for a
    delay that is).
    """
    return np.ceil((t + delay) / tick_hours - 1e-9)


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
        a = _arrival(t, delays[i], tick_hours)
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


@njit(**_JIT)
def split_harm(arm, i, y, mine_scores, champion, cutoff, t, delays, tick_hours, horizon, labelled):
    """Arm `i`'s rows (``arm == i``): how many, their excess errors, how many get a label.

    The excess is the errors arm `i` made beyond the champion's on the same rows (binary
    predictions, `simlab.scoring.row_values`' accuracy). A row served at hour `t` gets its
    label if `labelled` and due before `horizon`, at tick ``ceil((t + delay) / tick_hours
    - 1e-9)`` (the label queue's rule). Returns ``(n, excess, n_due)``.
    """
    n = 0
    excess = 0
    n_due = 0
    for r in range(arm.shape[0]):
        if arm[r] != i:
            continue
        n += 1
        excess += int(correct_at(y[r], champion[r], cutoff)) - int(
            correct_at(y[r], mine_scores[r], cutoff)
        )
        if labelled[r] and _arrival(t, delays[r], tick_hours) < horizon:
            n_due += 1
    return n, excess, n_due


@njit(**_JIT)
def arm_correct(arm, i, y, champion, mine_scores, cutoff, out):
    """Arrived labels per arm: adds ``[n_a, correct_a, n_b, correct_b]`` to `out`.

    Rows the champion decided (``arm < 0``) are judged on its scores, rows arm `i` decided
    on `mine_scores` (binary predictions, as `split_harm`).
    """
    for r in range(arm.shape[0]):
        a = arm[r]
        if a < 0:
            out[0] += 1
            if correct_at(y[r], champion[r], cutoff):
                out[1] += 1
        elif a == i:
            out[2] += 1
            if correct_at(y[r], mine_scores[r], cutoff):
                out[3] += 1


@njit(**_JIT)
def assign_arm(u, share, i, arm, acted, mine_scores):
    """Give arm `i` the rows not yet assigned (``arm < 0``) whose draw ``u < share``.

    Those rows' acted-on scores become `mine_scores` (`acted` and `arm` change in place).
    Returns how many rows it took.
    """
    taken = 0
    for r in range(u.shape[0]):
        if u[r] < share and arm[r] < 0:
            arm[r] = i
            acted[r] = mine_scores[r]
            taken += 1
    return taken
