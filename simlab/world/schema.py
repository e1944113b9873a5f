"""Feature schemas: names, kinds (numeric, categorical, string), units, and the target."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError, SchemaError

__all__ = ["FeatureSpec", "Kind", "Schema", "Task"]


class Kind(StrEnum):
    """What a column holds.

    Examples
    --------
    >>> Kind("categorical")
    <Kind.CATEGORICAL: 'categorical'>
    """

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    STRING = "string"


class Task(StrEnum):
    """What the target is: a binary class or a real number.

    Examples
    --------
    >>> Task.BINARY == "binary"
    True
    """

    BINARY = "binary"
    REGRESSION = "regression"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One column: its name, kind, units and (for categoricals) its categories.

    Examples
    --------
    >>> FeatureSpec("temp", units="degC").kind
    <Kind.NUMERIC: 'numeric'>
    >>> FeatureSpec("color", kind="categorical", categories=("red", "blue")).categories
    ('red', 'blue')
    """

    name: str
    kind: Kind = Kind.NUMERIC
    units: str = "1"
    categories: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("name", self.name, "a non-empty string", owner="FeatureSpec")
        try:
            object.__setattr__(self, "kind", Kind(self.kind))
        except ValueError:
            raise ConfigError(
                "kind", self.kind, f"one of {[k.value for k in Kind]}", owner="FeatureSpec"
            ) from None
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        if self.kind is Kind.CATEGORICAL and len(self.categories) < 1:
            raise ConfigError(
                "categories", self.categories, "at least one category", owner=self.name
            )

    def check(self, column: np.ndarray) -> None:
        """Raise `SchemaError` unless `column` fits this spec."""
        if self.kind is Kind.NUMERIC:
            if not np.issubdtype(column.dtype, np.number) or np.issubdtype(
                column.dtype, np.complexfloating
            ):
                raise SchemaError(f"column {self.name!r} is {column.dtype}; expected a real number")
        elif column.dtype.kind not in "UO":
            raise SchemaError(f"column {self.name!r} is {column.dtype}; expected strings")
        elif self.kind is Kind.CATEGORICAL and column.size:
            unknown = np.setdiff1d(np.unique(column.astype(str)), np.array(self.categories))
            if unknown.size:
                raise SchemaError(
                    f"column {self.name!r} has categories {unknown.tolist()} "
                    f"outside {list(self.categories)}"
                )


class Schema:
    """An ordered set of `FeatureSpec` plus the task.

    Parameters
    ----------
    features
        The columns, in order.
    task
        ``"binary"`` or ``"regression"``.

    Examples
    --------
    >>> s = Schema([FeatureSpec("a"), FeatureSpec("b", units="m")], task="binary")
    >>> s.names, s["b"].units
    (('a', 'b'), 'm')
    """

    def __init__(self, features: Iterable[FeatureSpec], *, task: Task | str = Task.BINARY):
        self.features = tuple(features)
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError("features", dupes, "unique feature names", owner="Schema")
        try:
            self.task = Task(task)
        except ValueError:
            raise ConfigError("task", task, "'binary' or 'regression'", owner="Schema") from None
        self._by_name = {f.name: f for f in self.features}

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names in order."""
        return tuple(self._by_name)

    def numeric(self) -> tuple[str, ...]:
        """Names of the numeric features."""
        return tuple(f.name for f in self.features if f.kind is Kind.NUMERIC)

    def __getitem__(self, name: str) -> FeatureSpec:
        try:
            return self._by_name[name]
        except KeyError:
            from simlab.errors import UnknownNameError

            raise UnknownNameError("feature", name, self._by_name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[FeatureSpec]:
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Schema)
            and self.features == other.features
            and self.task == other.task
        )

    def __hash__(self) -> int:
        return hash((self.features, self.task))

    def __repr__(self) -> str:
        return f"Schema({list(self.names)}, task={self.task.value!r})"

    def check_names(self, names: Iterable[str], *, key: str = "features", owner: str = "") -> None:
        """Raise `ConfigError` naming the first name that is not a feature of this schema."""
        for name in names:
            if name not in self._by_name:
                raise ConfigError(
                    key, name, f"a feature of {list(self.names)}", owner=owner or None
                )

    def validate(self, batch: Batch) -> None:
        """Raise `SchemaError` unless `batch` has exactly these columns, each of the right kind.

        Examples
        --------
        >>> import numpy as np
        >>> s = Schema([FeatureSpec("a")])
        >>> s.validate(Batch(t=0.0, columns={"a": np.zeros(2)}, y=np.zeros(2)))
        >>> s.validate(Batch(t=0.0, columns={"b": np.zeros(2)}, y=np.zeros(2)))
        Traceback (most recent call last):
        ...
        simlab.errors.SchemaError: batch columns ['b'] differ from the schema's ['a']
        """
        if tuple(batch.columns) != self.names:
            raise SchemaError(
                f"batch columns {list(batch.columns)} differ from the schema's {list(self.names)}"
            )
        for spec in self.features:
            spec.check(batch.columns[spec.name])
        if self.task is Task.BINARY and batch.n and not np.isin(batch.y, (0, 1)).all():
            raise SchemaError("a binary task's y must hold only 0 and 1")
