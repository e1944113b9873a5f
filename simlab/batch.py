"""Batch: one tick's rows, column-oriented and frozen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from simlab.errors import SchemaError

__all__ = ["Batch", "constant", "readonly"]


def readonly(a) -> np.ndarray:
    """A read-only view of `a` (the array itself if it already is read-only).

    Examples
    --------
    >>> import numpy as np
    >>> readonly(np.zeros(2)).flags.writeable
    False
    """
    a = np.asarray(a)
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


_CONSTANTS: dict = {}


def constant(n: int, value, dtype) -> np.ndarray:
    """`n` copies of `value` (not NaN) as a read-only array: a view of one shared buffer.

    What every tick's "all rows labelled", "none explored" is made of: a slice costs a
    fraction of allocating and filling, and nobody can write to it.

    Examples
    --------
    >>> a = constant(3, True, bool)
    >>> a.tolist(), a.flags.writeable, constant(2, True, bool).base is a.base
    ([True, True, True], False, True)
    """
    key = (value, dtype)
    buf = _CONSTANTS.get(key)
    if buf is None or buf.shape[0] < n:
        size = max(n, 1024 if buf is None else 2 * buf.shape[0])
        buf = np.full(size, value, dtype=dtype)
        buf.flags.writeable = False
        _CONSTANTS[key] = buf
    return buf[:n]


@dataclass(frozen=True, slots=True)
class Batch:
    """The rows of one tick, as read-only columns.

    Parameters
    ----------
    t
        Simulated time in hours at which the rows were drawn.
    columns
        Feature name -> 1-D array of length ``n``, in schema order.
    y
        The true target of each row (known to the simulator; the engine decides who sees it).
    row_id
        A unique integer id per row (``arange`` if omitted).

    Examples
    --------
    >>> import numpy as np
    >>> b = Batch(t=0.0, columns={"x": np.array([1.0, 2.0])}, y=np.array([0, 1]))
    >>> b.n, list(b.columns), b.row_id.tolist()
    (2, ['x'], [0, 1])
    >>> b.columns["x"].flags.writeable   # never mutated in place
    False
    """

    t: float
    columns: Mapping[str, np.ndarray]
    y: np.ndarray
    row_id: np.ndarray = field(default=None)

    def __post_init__(self):
        y = readonly(self.y)
        n = y.shape[0] if y.ndim else 0
        if y.ndim != 1:
            raise SchemaError(f"y must be 1-D, got shape {y.shape}")
        cols = {}
        for name, col in self.columns.items():
            col = readonly(col)
            if col.ndim != 1 or col.shape[0] != n:
                raise SchemaError(f"column {name!r} has shape {col.shape}; expected ({n},) like y")
            cols[name] = col
        row_id = np.arange(n, dtype=np.int64) if self.row_id is None else self.row_id
        row_id = readonly(row_id)
        if row_id.shape != (n,):
            raise SchemaError(f"row_id has shape {row_id.shape}; expected ({n},)")
        object.__setattr__(self, "t", float(self.t))
        object.__setattr__(self, "columns", MappingProxyType(cols))
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "row_id", row_id)

    def __reduce__(self):
        # a MappingProxyType cannot be pickled; rebuild from a plain dict (re-frozen on load)
        return (Batch, (self.t, dict(self.columns), self.y, self.row_id))

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(self.columns)

    def replace(self, **changes) -> Batch:
        """Return a new batch with some fields replaced (``columns=...``, ``y=...``, ...).

        Examples
        --------
        >>> import numpy as np
        >>> b = Batch(t=0.0, columns={"x": np.zeros(2)}, y=np.zeros(2))
        >>> b.replace(t=5.0).t
        5.0
        """
        fields = {"t": self.t, "columns": self.columns, "y": self.y, "row_id": self.row_id}
        fields.update(changes)
        return Batch(**fields)

    def with_columns(self, **columns: np.ndarray) -> Batch:
        """Return a new batch with the given columns replaced or added.

        Examples
        --------
        >>> import numpy as np
        >>> b = Batch(t=0.0, columns={"x": np.zeros(2)}, y=np.zeros(2))
        >>> b.with_columns(x=np.ones(2)).columns["x"].tolist()
        [1.0, 1.0]
        """
        return self.replace(columns={**self.columns, **columns})

    def take(self, index) -> Batch:
        """Return the rows selected by an integer index or a boolean mask.

        Examples
        --------
        >>> import numpy as np
        >>> b = Batch(t=0.0, columns={"x": np.arange(4.0)}, y=np.arange(4))
        >>> b.take(b.y > 1).columns["x"].tolist()
        [2.0, 3.0]
        """
        return Batch(
            t=self.t,
            columns={k: v[index] for k, v in self.columns.items()},
            y=self.y[index],
            row_id=self.row_id[index],
        )

    def matrix(self, names: Sequence[str] | None = None, dtype=np.float64) -> np.ndarray:
        """Stack numeric columns into an ``(n, d)`` array.

        Examples
        --------
        >>> import numpy as np
        >>> b = Batch(t=0.0, columns={"a": np.zeros(3), "b": np.ones(3)}, y=np.zeros(3))
        >>> b.matrix().shape
        (3, 2)
        """
        names = self.names if names is None else names
        out = np.empty((self.n, len(names)), dtype=dtype)
        for j, name in enumerate(names):
            if name not in self.columns:
                raise SchemaError(f"column {name!r} is missing; batch has {list(self.columns)}")
            out[:, j] = self.columns[name]
        return out

    @staticmethod
    def concat(batches: Sequence[Batch]) -> Batch:
        """Concatenate batches with the same columns (time of the last one).

        Examples
        --------
        >>> import numpy as np
        >>> b = Batch(t=0.0, columns={"x": np.zeros(2)}, y=np.zeros(2))
        >>> Batch.concat([b, b]).n
        4
        """
        if not batches:
            raise SchemaError("concat needs at least one batch")
        names = batches[0].names
        for b in batches:
            if b.names != names:
                raise SchemaError(f"cannot concat batches with columns {names} and {b.names}")
        return Batch(
            t=batches[-1].t,
            columns={k: np.concatenate([b.columns[k] for b in batches]) for k in names},
            y=np.concatenate([b.y for b in batches]),
            row_id=np.concatenate([b.row_id for b in batches]),
        )
