"""Train/serve skew: features computed one way at training and another at serving.

These faults belong in the serving slot (`ServingFault`): the training data and the upstream
logs stay as they were, and only what the model is served differs. A monitor of served
features (``on="served"``) can see them; a monitor of upstream columns cannot.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.batch import Batch
from simlab.faults.base import FAULTS, Fault
from simlab.faults.upstream import _check_column, _floats, _OnColumn, _spec, _with
from simlab.validation import check_names, check_real
from simlab.world.schema import Kind, Schema

__all__ = ["LogTransform", "ServeTimeImpute", "StaleLookup"]


@FAULTS.register("serve_time_impute")
class ServeTimeImpute(Fault):
    """Missing values are filled at serving with the serve-time mean (training used its own).

    The training pipeline fills a missing value with the mean of the training rows; at
    serving, this fills it first, with the mean of the tick's own observed values, so the
    pipeline never sees it missing. Where the serving population's mean differs from the
    training one (a drift, or a missingness that depends on the value), the imputed rows
    move: the model's effective input shifts without any upstream change.

    Parameters
    ----------
    columns
        The numeric columns imputed at serving.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.array([1.0, np.nan, 3.0])}, y=np.zeros(3))
    >>> ServeTimeImpute(columns=("a",)).apply(b, np.random.default_rng(0)).columns["a"].tolist()
    [1.0, 2.0, 3.0]
    """

    family: ClassVar[str] = "skew"

    def __init__(self, *, columns):
        self.columns = columns
        check_names("ServeTimeImpute", "columns", columns)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        changed = {}
        for c in self.columns:
            if c not in batch.columns:
                continue
            x = _floats(batch, c)
            missing = ~np.isfinite(x)
            if missing.any() and not missing.all():
                changed[c] = np.where(missing, x[~missing].mean(), x)
        return batch.with_columns(**changed) if changed else batch

    def schema_out(self, schema: Schema) -> Schema:
        for c in self.columns:
            _spec("ServeTimeImpute", schema, c, (Kind.NUMERIC,))
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"columns": ("a", "b")}]


@FAULTS.register("stale_lookup")
class StaleLookup(_OnColumn):
    """A feature is read at serving from a lookup table that is `lag_hours` out of date.

    Each row is served the value of the row in the same position `lag_hours` earlier (the
    table's last refresh), so the feature belongs to the past: to another time, and to another
    entity. This fault keeps the recent values as state for one run (a fresh copy per run),
    recording them outside its window too, so that it has a stale table from the start.

    Parameters
    ----------
    column
        The numeric column read from the lookup.
    lag_hours
        How old the table is.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> f = StaleLookup(column="x", lag_hours=1.0)
    >>> g = np.random.default_rng(0)
    >>> _ = f.idle(Batch(t=0.0, columns={"x": np.array([1.0, 2.0])}, y=np.zeros(2)))
    >>> out = f.apply(Batch(t=1.0, columns={"x": np.array([5.0, 6.0])}, y=np.zeros(2)), g)
    >>> out.columns["x"].tolist()  # served the table of an hour ago
    [1.0, 2.0]
    """

    family: ClassVar[str] = "skew"
    stateful: ClassVar[bool] = True

    def __init__(self, *, column: str, lag_hours: float):
        self.column = column
        self.lag_hours = lag_hours
        _check_column("StaleLookup", "column", column)
        check_real("StaleLookup", "lag_hours", lag_hours, low=0.0, open_low=True)
        self.table_: list[tuple[float, np.ndarray]] = []

    @property
    def magnitude(self) -> float:
        return float(self.lag_hours)

    def _record(self, batch: Batch) -> None:
        if self.column in batch.columns:
            self.table_.append((batch.t, _floats(batch, self.column)))

    def _stale(self, t: float) -> np.ndarray | None:
        """The newest values recorded at or before ``t - lag_hours`` (older ones are dropped)."""
        cutoff = t - self.lag_hours + 1e-9
        older = [i for i, (when, _) in enumerate(self.table_) if when <= cutoff]
        if not older:
            return None
        del self.table_[: older[-1]]  # the table only ever needs its newest stale entry
        return self.table_[0][1]

    def idle(self, batch: Batch) -> Batch:
        self._record(batch)
        return batch

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        stale = self._stale(batch.t)
        self._record(batch)
        if stale is None or self.column not in batch.columns or stale.size == 0:
            return batch  # no table yet: the lookup serves what it has, the fresh value
        index = np.arange(batch.n) % stale.size  # the same positions, wrapping if it was shorter
        return _with(batch, self.column, stale[index])

    def schema_out(self, schema: Schema) -> Schema:
        _spec("StaleLookup", schema, self.column, (Kind.NUMERIC,))
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "a", "lag_hours": 2.0}]


@FAULTS.register("log_transform")
class LogTransform(_OnColumn):
    """Serving applies ``log1p`` to a column that training used as it was.

    Someone "fixed" a skewed feature in the serving code only: a different transform at
    serving. Values at or below -1 become NaN (the pipeline then imputes them).

    Parameters
    ----------
    column
        The numeric column.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.array([0.0, np.e - 1])}, y=np.zeros(2))
    >>> LogTransform(column="a").apply(b, np.random.default_rng(0)).columns["a"].tolist()
    [0.0, 1.0]
    """

    family: ClassVar[str] = "skew"

    def __init__(self, *, column: str):
        self.column = column
        _check_column("LogTransform", "column", column)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        x = _floats(batch, self.column)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _with(
                batch, self.column, np.where(x > -1.0, np.log1p(np.maximum(x, -1.0)), np.nan)
            )

    def schema_out(self, schema: Schema) -> Schema:
        _spec("LogTransform", schema, self.column, (Kind.NUMERIC,))
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "a"}]
