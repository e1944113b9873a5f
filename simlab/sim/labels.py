"""The label queue: rows wait in pages owned by their arrival tick until that tick comes.

Each waiting row holds a slot of one buffer per payload field. The buffers are cut into pages
of `simlab.sim._compiled.PAGE` slots; each arrival tick fills a list of pages with its rows in
push order, so a tick's rows sit in a few contiguous runs. A pop gathers the rows of the ticks
that are due and frees their pages for later pushes, so the buffers hold only the rows in
flight. The page bookkeeping is one compiled call per push or pop (`simlab.sim._compiled`);
the payload moves with one NumPy scatter or gather per field. Never a Python loop over rows or
arrival ticks.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["LabelQueue"]


@functools.cache  # the import statement costs a microsecond a call
def _kernels():
    """The compiled kernels, imported on first use (numba adds 0.15 s to an import)."""
    from simlab.sim import _compiled

    return _compiled


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


class LabelQueue:
    """Pending labels keyed by arrival tick; ``pop(k)`` returns every row due by tick `k`.

    Rows come out by arrival tick, and within a tick in the order they were pushed (each
    push's rows in their own order): with a pop every tick, each tick's arrivals come out in
    push order.

    Parameters
    ----------
    span
        A bound above every arrival tick (the run's number of ticks, say); larger arrival
        ticks are refused.

    Examples
    --------
    >>> import numpy as np
    >>> q = LabelQueue(span=10)
    >>> q.push(np.array([3, 1, 2]), {"y": np.array([30, 10, 20])})
    >>> q.pop(2)["y"].tolist(), q.pop(2), q.pop(5)["y"].tolist(), len(q)
    ([10, 20], None, [30], 0)
    """

    def __init__(self, span: int):
        self.span = int(span)
        self._fields: dict[str, np.ndarray] | None = None
        # per arrival tick: its first and last page, rows in the last page, rows waiting
        self._head = np.full(self.span, -1, np.int64)
        self._tail = np.full(self.span, -1, np.int64)
        self._fill = np.zeros(self.span, np.int64)
        self._count = np.zeros(self.span, np.int64)
        self._scratch = np.zeros(self.span, np.int64)
        self._page_next = np.empty(0, np.int64)  # per page: the tick's next page, or -1
        self._free = np.empty(0, np.int64)  # free pages, a stack (top at _n_free - 1)
        self._n_free = 0
        self._floor = self.span  # no row waits for a tick below this
        self._n = 0  # rows waiting

    def __len__(self) -> int:
        return self._n

    def _grow(self, pages: int) -> None:
        """At least `pages` more free pages (the buffers double, or more if need be)."""
        k = _kernels()
        old = self._page_next.shape[0]
        new = max(2 * old, old + pages, 16)
        self._page_next = _grown(self._page_next, new)
        free = np.empty(new, np.int64)
        free[: self._n_free] = self._free[: self._n_free]
        free[self._n_free : self._n_free + new - old] = np.arange(new - 1, old - 1, -1)
        self._free = free  # the fresh pages on top, the lowest first
        self._n_free += new - old
        self._fields = {name: _grown(b, new * k.PAGE) for name, b in self._fields.items()}

    def _start(self, payload: dict) -> None:
        """The payload fields' buffers, made at the first push (later pushes: the same fields)."""
        if self._fields is None:
            self._fields = {k: np.empty(0, dtype=np.asarray(v).dtype) for k, v in payload.items()}
        elif payload.keys() != self._fields.keys():
            raise ValueError(f"payload fields {sorted(payload)} != {sorted(self._fields)}")

    def _write(self, slots: np.ndarray, payload: dict, rows: np.ndarray | None) -> None:
        """Write ``payload[name][rows]`` (all rows if None; scalars as they are) to `slots`."""
        for name, values in payload.items():
            values = np.asarray(values)
            if rows is not None and values.ndim:
                values = values[rows]
            buf = self._fields[name]
            if buf.dtype.kind in "US" and values.dtype.itemsize > buf.dtype.itemsize:
                self._fields[name] = buf = buf.astype(values.dtype)  # longer strings arrived
            buf[slots] = values

    def push(self, keys: np.ndarray, payload: dict) -> None:
        """Queue rows with arrival ticks `keys` and their payload columns (equal lengths)."""
        keys = np.asarray(keys, dtype=np.int64)
        n = keys.shape[0]
        if n == 0:
            return
        low, high = int(keys.min()), int(keys.max())
        if low < 0 or high >= self.span:
            raise ValueError(f"arrival ticks [{low}, {high}] are outside [0, span={self.span})")
        self._start(payload)
        slots = np.empty(n, np.int64)
        push = _kernels().queue_push
        args = (self._head, self._tail, self._fill, self._count)
        n_free = push(keys, *args, self._page_next, self._free, self._n_free, slots, self._scratch)
        if n_free < 0:  # not enough free pages: grow and push again
            self._grow(-n_free - self._n_free)
            n_free = push(
                keys, *args, self._page_next, self._free, self._n_free, slots, self._scratch
            )
        self._n_free = n_free
        self._write(slots, payload, None)
        self._n += n
        self._floor = min(self._floor, low)

    def push_hours(
        self, t: float, delays, tick_hours: float, labelled, payload: dict, horizon=None
    ) -> None:
        """Queue the `labelled` rows served at hour `t`, each due after its delay (hours).

        A row arrives at the first tick at or after ``t + delay`` (tick ``k`` starts at hour
        ``k * tick_hours``); rows due at or after `horizon` (default: `span`), an infinite
        delay among them, never arrive and are not kept. `payload` maps each field to one
        value per row, or to one value for every row (a scalar).

        Examples
        --------
        >>> import numpy as np
        >>> q = LabelQueue(span=10)
        >>> q.push_hours(2.0, np.array([0.5, np.inf, 3.0]), 1.0, np.array([True, True, True]),
        ...              {"y": np.array([1, 2, 3]), "t": 2.0})
        >>> q.pop(3), len(q)
        ({'y': array([1]), 't': array([2.])}, 1)
        """
        delays = np.asarray(delays, dtype=np.float64)
        labelled = np.asarray(labelled, dtype=bool)
        n = delays.shape[0]
        if labelled.shape != (n,):
            raise ValueError(f"labelled has shape {labelled.shape}; expected ({n},)")
        if not n:
            return
        self._start(payload)
        slots, rows = np.empty(n, np.int64), np.empty(n, np.int64)
        push = _kernels().queue_push_hours
        horizon = self.span if horizon is None else min(int(horizon), self.span)
        args = (float(t), delays, float(tick_hours), horizon, labelled)
        state = (self._head, self._tail, self._fill, self._count, self._page_next, self._free)
        m, n_free, low = push(*args, *state, self._n_free, slots, rows, self._scratch)
        if m < 0:
            raise ValueError(f"a label would arrive at tick {low}, before tick 0 (t={t})")
        if n_free < 0:  # not enough free pages: grow and push again
            self._grow(-n_free - self._n_free)
            state = (self._head, self._tail, self._fill, self._count, self._page_next, self._free)
            m, n_free, low = push(*args, *state, self._n_free, slots, rows, self._scratch)
        self._n_free = n_free
        if m:
            self._write(slots[:m], payload, None if m == n else rows[:m])
            self._n += m
            self._floor = min(self._floor, low)

    def pop(self, k: int) -> dict | None:
        """Remove and return the payload of every row with arrival tick <= `k` (None if none)."""
        k = min(int(k), self.span - 1)  # no row arrives later; a larger k must not reach
        if k < self._floor or not self._n:
            return None
        slots, self._n_free = _kernels().queue_pop(
            self._floor,
            k,
            self._head,
            self._tail,
            self._fill,
            self._count,
            self._page_next,
            self._free,
            self._n_free,
        )
        self._floor = k + 1
        if not slots.shape[0]:
            return None
        self._n -= slots.shape[0]
        return {name: buf[slots] for name, buf in self._fields.items()}
