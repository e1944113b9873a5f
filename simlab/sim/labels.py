"""The label queue: rows wait here until their label's arrival tick, bucketed with numpy."""

from __future__ import annotations

import numpy as np

__all__ = ["LabelQueue"]


def _take(payload: dict, index) -> dict:
    return {k: v[index] for k, v in payload.items()}


def _cat(payloads: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in payloads]) for k in payloads[0]}


class LabelQueue:
    """Pending labels keyed by arrival tick; ``pop(k)`` returns every row due by tick `k`.

    New rows go to a small unsorted buffer; every `merge_every` pushes it is merged into
    a sorted store (timsort merges the two sorted runs in linear time), so each tick
    costs O(rows in the buffer) plus an amortised share of the merge, never a Python
    loop over rows or over arrival ticks.

    Parameters
    ----------
    merge_every
        Pushes between merges of the buffer into the sorted store.

    Examples
    --------
    >>> import numpy as np
    >>> q = LabelQueue()
    >>> q.push(np.array([3, 1, 2]), {"y": np.array([30, 10, 20])})
    >>> q.pop(2)["y"].tolist(), q.pop(2), q.pop(5)["y"].tolist(), len(q)
    ([10, 20], None, [30], 0)
    """

    def __init__(self, merge_every: int = 32):
        self.merge_every = merge_every
        self._keys = np.empty(0, dtype=np.int64)
        self._store: dict | None = None
        self._head = 0
        self._recent_keys: list[np.ndarray] = []
        self._recent: list[dict] = []
        self._pushes = 0

    def __len__(self) -> int:
        return int(self._keys.size - self._head + sum(k.size for k in self._recent_keys))

    def push(self, keys: np.ndarray, payload: dict) -> None:
        """Queue rows with arrival ticks `keys` and their payload columns."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size == 0:
            return
        self._recent_keys.append(keys)
        self._recent.append(payload)
        self._pushes += 1
        if self._pushes >= self.merge_every:
            self._merge()

    def _merge(self) -> None:
        if not self._recent_keys:
            self._pushes = 0
            return
        rk = np.concatenate(self._recent_keys)
        rp = _cat(self._recent)
        order = np.argsort(rk, kind="stable")
        rk, rp = rk[order], _take(rp, order)
        if self._store is None:
            keys, store = rk, rp
        else:
            keys = np.concatenate([self._keys[self._head :], rk])
            store = _cat([_take(self._store, slice(self._head, None)), rp])
            order = np.argsort(keys, kind="stable")  # two sorted runs: a linear merge
            keys, store = keys[order], _take(store, order)
        self._keys, self._store, self._head = keys, store, 0
        self._recent_keys, self._recent = [], []
        self._pushes = 0

    def pop(self, k: int) -> dict | None:
        """Remove and return the payload of every row with arrival tick <= `k` (None if none)."""
        parts = []
        if self._store is not None:
            end = int(np.searchsorted(self._keys, k, side="right"))
            if end > self._head:
                parts.append(_take(self._store, slice(self._head, end)))
                self._head = end
        if self._recent_keys:
            rk = (
                np.concatenate(self._recent_keys)
                if len(self._recent_keys) > 1
                else self._recent_keys[0]
            )
            rp = _cat(self._recent) if len(self._recent) > 1 else self._recent[0]
            due = rk <= k
            if due.any():
                parts.append(_take(rp, due))
                keep = ~due
                self._recent_keys, self._recent = [rk[keep]], [_take(rp, keep)]
            else:
                self._recent_keys, self._recent = [rk], [rp]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else _cat(parts)
