"""The label queue: rows wait here until their label's arrival tick, found with one vector search.

Rows wait in *segments*, each sorted by arrival tick, appended to one growing buffer per payload
field. A push (one tick's labelled rows) appends a segment; every `batch` pushes, the newest
segments are merged into one (a stable radix sort of their waiting rows), so only a few dozen
segments are ever live. Keyed by ``segment number × span + arrival tick``, all segments together
form one sorted array: a single `numpy.searchsorted` finds, for every live segment at once, how
far its rows are due, and the rows due are a contiguous run of each segment. A pop is that search
and a gather: never a Python loop over rows or arrival ticks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LabelQueue"]

_RADIX = np.iinfo(np.uint16).max  # arrival offsets below this sort by radix (stable, fast)


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def _stable_order(arrival: np.ndarray) -> np.ndarray:
    """The stable sort order of integer arrival ticks (a radix sort when their range allows)."""
    low = arrival.min()
    if arrival.max() - low < _RADIX:
        return np.argsort((arrival - low).astype(np.uint16), kind="stable")
    return np.argsort(arrival, kind="stable")


def _ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The positions of every ``range(start[i], stop[i])``, concatenated in order."""
    counts = stop - start
    total = int(counts.sum())
    return np.arange(total) + np.repeat(start - (np.cumsum(counts) - counts), counts)


class LabelQueue:
    """Pending labels keyed by arrival tick; ``pop(k)`` returns every row due by tick `k`.

    Rows come out by arrival tick within batches of pushes, and otherwise in the order they
    were pushed: with a pop every tick, each tick's arrivals come out in push order, each
    push's rows in their own order. Pops come in increasing `k`.

    Parameters
    ----------
    span
        A bound above every arrival tick (the run's number of ticks, say); larger arrival
        ticks are refused.
    batch
        Pushes merged into one segment (fewer live segments make pops cheaper; each merge
        copies the rows still waiting in the pushes it merges).

    Examples
    --------
    >>> import numpy as np
    >>> q = LabelQueue(span=10)
    >>> q.push(np.array([3, 1, 2]), {"y": np.array([30, 10, 20])})
    >>> q.pop(2)["y"].tolist(), q.pop(2), q.pop(5)["y"].tolist(), len(q)
    ([10, 20], None, [30], 0)
    """

    def __init__(self, span: int = 2**31, batch: int = 16):
        self.span = int(span)
        self.batch = int(batch)
        self._fields: dict[str, np.ndarray] | None = None
        self._spare: tuple | None = None  # buffers of the same size, for compaction
        self._keys = np.empty(0, np.int64)  # per segment, sorted: segment * span + arrival
        self._size = 0  # rows written into the buffers
        self._start = np.empty(64, np.int64)  # per segment: its next waiting row, its end
        self._end = np.empty(64, np.int64)
        self._live = np.empty(0, np.int64)  # segments with rows still waiting, oldest first
        self._segments = 0
        self._pending = 0  # pushes since the last merge (the newest live segments)

    def __len__(self) -> int:
        return int((self._end[self._live] - self._start[self._live]).sum())

    def _reserve(self, n: int, payload: dict) -> None:
        """Room for `n` more rows: compact the waiting rows to the front, growing if need be.

        Compaction gathers only the rows still waiting (stragglers of old segments do not pin
        the buffer), into a spare buffer of the same size that is reused, so after the first
        few compactions no memory is allocated or touched for the first time.
        """
        if self._fields is None:
            cap = 64 * n + 1024
            self._fields = {k: np.empty(cap, dtype=np.asarray(v).dtype) for k, v in payload.items()}
            self._keys = np.empty(cap, np.int64)
        elif self._size + n > self._keys.shape[0]:
            live = self._live
            start, end = self._start[live], self._end[live]
            index = _ranges(start, end)
            waiting = index.size
            cap = self._keys.shape[0]
            if 2 * (waiting + n) > cap:  # keep at least half the buffer free after compacting
                cap = 2 * (waiting + n)
                self._spare = None
            if self._spare is None or self._spare[0].shape[0] != cap:
                keys = np.empty(cap, np.int64)
                fields = {k: np.empty(cap, dtype=b.dtype) for k, b in self._fields.items()}
            else:
                keys, fields = self._spare
            np.take(self._keys, index, out=keys[:waiting])
            for name, buf in self._fields.items():
                if fields[name].dtype != buf.dtype:  # a string field that grew
                    fields[name] = np.empty(cap, dtype=buf.dtype)
                np.take(buf, index, out=fields[name][:waiting])
            self._spare = (self._keys, self._fields) if self._keys.shape[0] == cap else None
            self._keys, self._fields, self._size = keys, fields, waiting
            counts = end - start
            self._start[live] = np.cumsum(counts) - counts
            self._end[live] = self._start[live] + counts
        if self._segments == self._start.shape[0]:
            self._start = _grown(self._start, 2 * self._segments)
            self._end = _grown(self._end, 2 * self._segments)

    def _append(self, arrival: np.ndarray, fields: dict, index: np.ndarray | None = None) -> None:
        """Append one segment: rows ``fields[name][index]`` sorted stably by `arrival`."""
        order = _stable_order(arrival)
        take = order if index is None else index[order]
        lo, hi = self._size, self._size + arrival.shape[0]
        np.add(arrival[order], self._segments * self.span, out=self._keys[lo:hi])
        for name, values in fields.items():
            values = np.asarray(values)
            buf = self._fields[name]
            if buf.dtype.kind in "US" and values.dtype.itemsize > buf.dtype.itemsize:
                self._fields[name] = buf = buf.astype(values.dtype)  # longer strings arrived
            buf[lo:hi] = values[take]
        self._start[self._segments] = lo
        self._end[self._segments] = hi
        self._live = np.append(self._live, self._segments)
        self._size = hi
        self._segments += 1

    def _merge(self) -> None:
        """Merge the pending segments (the newest) into one: their waiting rows, re-sorted."""
        pending = self._live[-self._pending :]
        start, end = self._start[pending], self._end[pending]
        index = _ranges(start, end)
        self._live = self._live[: -self._pending]
        self._segments = int(pending[0])  # the merged segment takes the first one's number
        self._size = int(start[0])  # rows before it are gone; those after are copied first
        self._pending = 0
        if index.size:
            arrival = self._keys[index] - np.repeat(pending * self.span, end - start)
            lo, hi = int(start[0]), int(end.max())  # the pending rows' region, copied once
            fields = {name: buf[lo:hi].copy() for name, buf in self._fields.items()}
            self._append(arrival, fields, index - lo)

    def push(self, keys: np.ndarray, payload: dict) -> None:
        """Queue rows with arrival ticks `keys` and their payload columns (equal lengths)."""
        keys = np.asarray(keys, dtype=np.int64)
        n = keys.shape[0]
        if n == 0:
            return
        low, high = int(keys.min()), int(keys.max())
        if low < 0 or high >= self.span:
            raise ValueError(f"arrival ticks [{low}, {high}] are outside [0, span={self.span})")
        self._reserve(n, payload)
        if payload.keys() != self._fields.keys():
            raise ValueError(f"payload fields {sorted(payload)} != {sorted(self._fields)}")
        self._append(keys, payload)
        self._pending += 1
        if self._pending == self.batch:
            self._merge()

    def pop(self, k: int) -> dict | None:
        """Remove and return the payload of every row with arrival tick <= `k` (None if none)."""
        live = self._live
        if not live.size:
            return None
        k = min(int(k), self.span - 1)  # no row arrives later; a larger k must not reach
        start = self._start[live]
        stop = np.searchsorted(self._keys[: self._size], live * self.span + k, "right")
        np.maximum(stop, start, out=stop)
        index = _ranges(start, stop)
        if not index.size:
            return None
        out = {name: buf[index] for name, buf in self._fields.items()}
        self._start[live] = stop
        done = stop == self._end[live]
        if done.any():
            keep = ~done
            keep[-self._pending or live.size :] = True  # pending segments stay until merged
            self._live = live[keep]
        return out
