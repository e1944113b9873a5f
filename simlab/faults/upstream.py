"""Upstream faults: what a schema change in a source table does to every consumer's rows."""

from __future__ import annotations

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.faults.base import FAULTS, Fault
from simlab.world.schema import FeatureSpec, Schema

__all__ = ["DropColumn", "RenameColumn"]


def _check_column(owner: str, key: str, value) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "a column name", owner=owner)


def _need(owner: str, schema: Schema, column: str) -> None:
    if column not in schema:
        raise ConfigError("column", column, f"one of the columns {list(schema.names)}", owner=owner)


@FAULTS.register("drop_column")
class DropColumn(Fault):
    """A column disappears from the source (a schema change nobody announced).

    Parameters
    ----------
    column
        The column that is dropped.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.zeros(2), "b": np.ones(2)}, y=np.zeros(2))
    >>> DropColumn(column="a").apply(b, np.random.default_rng(0)).names
    ('b',)
    """

    def __init__(self, *, column: str):
        self.column = column
        _check_column("DropColumn", "column", column)

    @property
    def features(self) -> tuple[str, ...]:
        return (self.column,)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        cols = {k: v for k, v in batch.columns.items() if k != self.column}
        return batch.replace(columns=cols)

    def schema_out(self, schema: Schema) -> Schema:
        _need("DropColumn", schema, self.column)
        return Schema([s for s in schema if s.name != self.column], task=schema.task)


@FAULTS.register("rename_column")
class RenameColumn(Fault):
    """A column is renamed in the source (its values arrive under a name no one reads).

    Parameters
    ----------
    column
        The column's name before.
    to
        Its new name.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.zeros(2), "b": np.ones(2)}, y=np.zeros(2))
    >>> RenameColumn(column="a", to="a_v2").apply(b, np.random.default_rng(0)).names
    ('a_v2', 'b')
    """

    def __init__(self, *, column: str, to: str):
        self.column = column
        self.to = to
        _check_column("RenameColumn", "column", column)
        _check_column("RenameColumn", "to", to)
        if to == column:
            raise ConfigError(
                "to", to, f"a name other than column={column!r}", owner="RenameColumn"
            )

    @property
    def features(self) -> tuple[str, ...]:
        return (self.column,)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        cols = {(self.to if k == self.column else k): v for k, v in batch.columns.items()}
        return batch.replace(columns=cols)

    def schema_out(self, schema: Schema) -> Schema:
        _need("RenameColumn", schema, self.column)
        if self.to in schema:
            raise ConfigError(
                "to", self.to, "a name not already in the schema", owner="RenameColumn"
            )
        specs = [
            FeatureSpec(self.to, s.kind, s.units, s.categories) if s.name == self.column else s
            for s in schema
        ]
        return Schema(specs, task=schema.task)
