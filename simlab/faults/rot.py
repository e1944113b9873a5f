"""Software rot: what a library upgrade or an infrastructure move quietly does to numbers."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.faults.base import FAULTS, Fault
from simlab.validation import check_int, check_names, check_real
from simlab.world.schema import Kind, Schema

__all__ = ["FillMissing", "Float32", "Round"]


def _check_columns(owner: str, columns) -> tuple[str, ...]:
    return check_names(owner, "columns", columns)


def _numeric(owner: str, schema: Schema, columns) -> Schema:
    for c in columns:
        if c not in schema or schema[c].kind is not Kind.NUMERIC:
            numeric = list(schema.numeric)
            raise ConfigError("columns", c, f"numeric columns among {numeric}", owner=owner)
    return schema


class _ColumnwiseRot(Fault):
    """Shared plumbing: a value map applied to some numeric columns that are present."""

    family: ClassVar[str] = "rot"

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def _map(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        changed = {
            c: self._map(np.asarray(batch.columns[c], dtype=np.float64))
            for c in self.columns
            if c in batch.columns  # a column already gone upstream stays gone
        }
        return batch.with_columns(**changed)

    def schema_out(self, schema: Schema) -> Schema:
        return _numeric(type(self).__name__, schema, self.columns)


@FAULTS.register("round")
class Round(_ColumnwiseRot):
    """Values rounded to `decimals` places (a changed default precision in an export step).

    Parameters
    ----------
    columns
        The numeric columns rounded.
    decimals
        Decimal places kept (negative rounds to tens, hundreds, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.array([1.26, -0.74])}, y=np.zeros(2))
    >>> Round(columns=("a",), decimals=1).apply(b, np.random.default_rng(0)).columns["a"].tolist()
    [1.3, -0.7]
    """

    def __init__(self, *, columns, decimals: int = 0):
        self.columns = columns
        self.decimals = decimals
        _check_columns("Round", columns)
        check_int("Round", "decimals", decimals, -15, 15)

    @property
    def magnitude(self) -> float:
        return float(self.decimals)

    def _map(self, x: np.ndarray) -> np.ndarray:
        return np.round(x, self.decimals)

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"columns": ("a",)}, {"columns": ("b", "c"), "decimals": 1}]


@FAULTS.register("float32")
class Float32(_ColumnwiseRot):
    """Values pass through float32 (a serving stack that casts down), losing precision.

    Parameters
    ----------
    columns
        The numeric columns cast.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.array([0.1])}, y=np.zeros(1))
    >>> out = Float32(columns=("a",)).apply(b, np.random.default_rng(0)).columns["a"]
    >>> out.dtype.name, float(out[0]) == 0.1
    ('float64', False)
    """

    def __init__(self, *, columns):
        self.columns = columns
        _check_columns("Float32", columns)

    def _map(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32).astype(np.float64)

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"columns": ("a", "b")}]


@FAULTS.register("fill_missing")
class FillMissing(_ColumnwiseRot):
    """An upgrade changed a preprocessing default: missing values are now filled with `value`.

    Training filled them with the training mean (the pipeline's default then); after the
    upgrade the serving stack fills them first, with a constant, and the model reads a value it
    never saw for them (an income of 0 for every applicant who left it blank).

    Parameters
    ----------
    columns
        The numeric columns.
    value
        The new fill value.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.array([1.0, np.nan])}, y=np.zeros(2))
    >>> FillMissing(columns=("a",)).apply(b, np.random.default_rng(0)).columns["a"].tolist()
    [1.0, 0.0]
    """

    def __init__(self, *, columns, value: float = 0.0):
        self.columns = columns
        self.value = value
        _check_columns("FillMissing", columns)
        check_real("FillMissing", "value", value)

    @property
    def magnitude(self) -> float:
        return float(self.value)

    def _map(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), float(self.value), x)

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"columns": ("a",)}, {"columns": ("b",), "value": -1.0}]
