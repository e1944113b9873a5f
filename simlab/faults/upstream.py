"""Upstream faults: what a change in a source table or a sensor does to every consumer's rows.

Each is a pure transformation of one tick's batch (`Fault.apply`), except `LateRows`, which
holds rows back and so keeps state for one run (a fresh copy is made for every run). Put one
in a `Faulted` wrapper to act upstream, or in a `ServingFault` to act at serving only.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.faults.base import FAULTS, Fault
from simlab.validation import check_names, check_real
from simlab.world.schedules import Incremental, Schedule
from simlab.world.schema import FeatureSpec, Kind, Schema

__all__ = [
    "Calibration",
    "CategoryRemap",
    "DropColumn",
    "DuplicateRows",
    "LateRows",
    "NullSpike",
    "RenameColumn",
    "ReorderColumns",
    "StuckSensor",
    "TimeShift",
    "Truncate",
    "TypeChange",
    "UnitChange",
]


def _check_column(owner: str, key: str, value) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "a column name", owner=owner)


def _spec(owner: str, schema: Schema, column: str, kinds: tuple[Kind, ...] | None = None):
    """The column's spec, refused unless it exists (and is of one of `kinds`)."""
    if column not in schema:
        raise ConfigError("column", column, f"one of the columns {list(schema.names)}", owner=owner)
    spec = schema[column]
    if kinds is not None and spec.kind not in kinds:
        allowed = [s.name for s in schema if s.kind in kinds]
        words = " or ".join(k.value for k in kinds)
        raise ConfigError("column", column, f"a {words} column: one of {allowed}", owner=owner)
    return spec


def _replace_spec(schema: Schema, column: str, spec: FeatureSpec) -> Schema:
    return Schema([spec if s.name == column else s for s in schema], task=schema.task)


def _with(batch: Batch, column: str, values: np.ndarray) -> Batch:
    """The batch with `column` replaced, if it still has the column.

    A fault upstream of this one may have removed it: then there is nothing to change.
    """
    if column not in batch.columns:
        return batch
    return batch.with_columns(**{column: values})


def _floats(batch: Batch, column: str) -> np.ndarray:
    return np.asarray(batch.columns[column], dtype=np.float64)


class _OnColumn(Fault):
    """Shared plumbing of faults that change the values of one column."""

    column: str

    @property
    def features(self) -> tuple[str, ...]:
        return (self.column,)


@FAULTS.register("drop_column")
class DropColumn(_OnColumn):
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

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        cols = {k: v for k, v in batch.columns.items() if k != self.column}
        return batch.replace(columns=cols)

    def schema_out(self, schema: Schema) -> Schema:
        _spec("DropColumn", schema, self.column)
        return Schema([s for s in schema if s.name != self.column], task=schema.task)

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "a"}, {"column": "color"}]


@FAULTS.register("rename_column")
class RenameColumn(_OnColumn):
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

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        cols = {(self.to if k == self.column else k): v for k, v in batch.columns.items()}
        return batch.replace(columns=cols)

    def schema_out(self, schema: Schema) -> Schema:
        spec = _spec("RenameColumn", schema, self.column)
        if self.to in schema:
            raise ConfigError(
                "to", self.to, "a name not already in the schema", owner="RenameColumn"
            )
        return _replace_spec(
            schema, self.column, FeatureSpec(self.to, spec.kind, spec.units, spec.categories)
        )

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "b", "to": "b_v2"}]


@FAULTS.register("reorder_columns")
class ReorderColumns(Fault):
    """The source's columns arrive in another order.

    Harmless to a consumer that reads columns by name (as simlab's pipelines do); fatal to one
    that reads them by position, which is why it is worth a scenario: it shows which is which.

    Parameters
    ----------
    order
        The new order of the column names; None reverses it.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.zeros(2), "b": np.ones(2)}, y=np.zeros(2))
    >>> ReorderColumns().apply(b, np.random.default_rng(0)).names
    ('b', 'a')
    """

    def __init__(self, *, order=None):
        self.order = order
        if order is not None:
            check_names("ReorderColumns", "order", order, "None or a tuple of column names")

    def _names(self, names) -> tuple[str, ...]:
        if self.order is None:
            return tuple(reversed(names))
        rest = [n for n in names if n not in self.order]
        return tuple(n for n in self.order if n in names) + tuple(rest)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        return batch.replace(columns={n: batch.columns[n] for n in self._names(batch.names)})

    def schema_out(self, schema: Schema) -> Schema:
        if self.order is not None:
            unknown = [c for c in self.order if c not in schema]
            if unknown or len(set(self.order)) != len(self.order):
                raise ConfigError(
                    "order",
                    self.order,
                    f"distinct names among {list(schema.names)}",
                    owner="ReorderColumns",
                )
        return Schema([schema[n] for n in self._names(schema.names)], task=schema.task)

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{}, {"order": ("color", "a")}]


@FAULTS.register("type_change")
class TypeChange(_OnColumn):
    """A numeric column starts arriving as text (``"12.5"``): a type change in the source.

    A serving pipeline that expects numbers cannot use the column: it serves the fallback or
    fails the request, as configured (`simlab.models.FeaturePipeline`'s ``on_missing``).

    Parameters
    ----------
    column
        The numeric column whose values become strings.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"a": np.array([1.5, 2.0])}, y=np.zeros(2))
    >>> TypeChange(column="a").apply(b, np.random.default_rng(0)).columns["a"].tolist()
    ['1.5', '2.0']
    """

    def __init__(self, *, column: str):
        self.column = column
        _check_column("TypeChange", "column", column)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        return _with(batch, self.column, _floats(batch, self.column).astype(str))

    def schema_out(self, schema: Schema) -> Schema:
        spec = _spec("TypeChange", schema, self.column, (Kind.NUMERIC,))
        return _replace_spec(schema, self.column, FeatureSpec(spec.name, Kind.STRING, spec.units))

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "a"}]


@FAULTS.register("unit_change")
class UnitChange(_OnColumn):
    """A column changes units in the source: ``x -> scale * x + offset``.

    Dollars to cents is ``scale=100``; Celsius to Fahrenheit is ``scale=1.8, offset=32``.

    Parameters
    ----------
    column
        The numeric column.
    scale, offset
        The new units in terms of the old.
    units
        The new units' name (the schema's ``units``); None keeps the old name, as an
        unannounced change would.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"temp": np.array([0.0, 100.0])}, y=np.zeros(2))
    >>> f = UnitChange(column="temp", scale=1.8, offset=32.0)
    >>> f.apply(b, np.random.default_rng(0)).columns["temp"].tolist()
    [32.0, 212.0]
    """

    def __init__(
        self, *, column: str, scale: float = 1.0, offset: float = 0.0, units: str | None = None
    ):
        self.column = column
        self.scale = scale
        self.offset = offset
        self.units = units
        _check_column("UnitChange", "column", column)
        check_real("UnitChange", "scale", scale)
        check_real("UnitChange", "offset", offset)
        if scale == 1.0 and offset == 0.0:
            raise ConfigError(
                "scale", scale, "a change (scale != 1 or offset != 0)", owner="UnitChange"
            )
        if units is not None and not isinstance(units, str):
            raise ConfigError("units", units, "None or a string", owner="UnitChange")

    @property
    def magnitude(self) -> float:
        return float(self.scale) if self.scale != 1.0 else float(self.offset)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        return _with(batch, self.column, _floats(batch, self.column) * self.scale + self.offset)

    def schema_out(self, schema: Schema) -> Schema:
        spec = _spec("UnitChange", schema, self.column, (Kind.NUMERIC,))
        if self.units is None:
            return schema
        return _replace_spec(schema, self.column, FeatureSpec(spec.name, spec.kind, self.units))

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [
            {"column": "a", "scale": 1000.0},
            {"column": "c", "scale": 1.8, "offset": 32.0, "units": "F"},
        ]


@FAULTS.register("truncate")
class Truncate(_OnColumn):
    """An ETL step truncates a string or code column to its first `length` characters.

    Codes that shared a prefix merge (``"north"`` and ``"northeast"`` both become ``"nort"``),
    and every truncated code is one the model never saw.

    Parameters
    ----------
    column
        The categorical or string column.
    length
        Characters kept.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"c": np.array(["north", "south"])}, y=np.zeros(2))
    >>> Truncate(column="c", length=3).apply(b, np.random.default_rng(0)).columns["c"].tolist()
    ['nor', 'sou']
    """

    def __init__(self, *, column: str, length: int):
        self.column = column
        self.length = length
        _check_column("Truncate", "column", column)
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ConfigError("length", length, "an int >= 1", owner="Truncate")

    @property
    def magnitude(self) -> float:
        return float(self.length)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        values = np.asarray(batch.columns[self.column]).astype(str)
        return _with(batch, self.column, values.astype(f"<U{self.length}"))

    def schema_out(self, schema: Schema) -> Schema:
        spec = _spec("Truncate", schema, self.column, (Kind.CATEGORICAL, Kind.STRING))
        cats = tuple(dict.fromkeys(c[: self.length] for c in spec.categories))
        return _replace_spec(
            schema, self.column, FeatureSpec(spec.name, spec.kind, spec.units, cats)
        )

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "color", "length": 2}]


@FAULTS.register("calibration")
class Calibration(_OnColumn):
    """A sensor's calibration goes off: ``x -> x + w(t) ((gain - 1) x + offset)``.

    With no schedule the error is constant (``w = 1``); with one, it drifts in as the
    schedule's weight grows (an `Incremental` schedule is a sensor drifting slowly away).

    Parameters
    ----------
    column
        The numeric column the sensor writes.
    offset, gain
        The calibration error once fully in.
    schedule
        How the error comes in over time (None: at once).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> from simlab.world import Incremental
    >>> b = Batch(t=5.0, columns={"p": np.array([10.0])}, y=np.zeros(1))
    >>> f = Calibration(column="p", offset=2.0, schedule=Incremental(start=0.0, width=10.0))
    >>> f.apply(b, np.random.default_rng(0)).columns["p"].tolist()  # halfway in at t=5
    [11.0]
    """

    def __init__(
        self,
        *,
        column: str,
        offset: float = 0.0,
        gain: float = 1.0,
        schedule: Schedule | None = None,
    ):
        self.column = column
        self.offset = offset
        self.gain = gain
        self.schedule = schedule
        _check_column("Calibration", "column", column)
        check_real("Calibration", "offset", offset)
        check_real("Calibration", "gain", gain)
        if offset == 0.0 and gain == 1.0:
            raise ConfigError(
                "offset", offset, "an error (offset != 0 or gain != 1)", owner="Calibration"
            )
        if schedule is not None and not isinstance(schedule, Schedule):
            raise ConfigError("schedule", schedule, "None or a Schedule", owner="Calibration")

    @property
    def magnitude(self) -> float:
        return float(self.offset) if self.gain == 1.0 else float(self.gain)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        w = 1.0 if self.schedule is None else float(self.schedule.weight(batch.t))
        x = _floats(batch, self.column)
        return _with(batch, self.column, x + w * ((self.gain - 1.0) * x + self.offset))

    def schema_out(self, schema: Schema) -> Schema:
        _spec("Calibration", schema, self.column, (Kind.NUMERIC,))
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [
            {"column": "b", "offset": 0.5},
            {"column": "c", "gain": 1.3, "schedule": Incremental(start=0.0, width=20.0)},
        ]


@FAULTS.register("stuck_sensor")
class StuckSensor(_OnColumn):
    """A sensor freezes: every row reads the same `value`.

    Parameters
    ----------
    column
        The numeric column the sensor writes.
    value
        The reading it is stuck at (its last good reading, say).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"p": np.array([1.0, 2.0])}, y=np.zeros(2))
    >>> StuckSensor(column="p", value=1.7).apply(b, np.random.default_rng(0)).columns["p"].tolist()
    [1.7, 1.7]
    """

    def __init__(self, *, column: str, value: float):
        self.column = column
        self.value = value
        _check_column("StuckSensor", "column", column)
        check_real("StuckSensor", "value", value)

    @property
    def magnitude(self) -> float:
        return float(self.value)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        return _with(batch, self.column, np.full(batch.n, float(self.value)))

    def schema_out(self, schema: Schema) -> Schema:
        _spec("StuckSensor", schema, self.column, (Kind.NUMERIC,))
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "c", "value": 0.2}]


@FAULTS.register("null_spike")
class NullSpike(_OnColumn):
    """Values go missing: at random, or depending on the value itself.

    Each eligible row goes missing with probability `share`. With neither `above` nor
    `below`, every row is eligible (missing completely at random); with `above`, only rows
    whose value is above it (missing not at random: a field left blank by high earners);
    with `below`, rows below it. Missing numbers become NaN; missing strings become ``""``.

    Parameters
    ----------
    column
        The column.
    share
        Probability that an eligible row goes missing, in (0, 1].
    above, below
        Make missingness depend on the value (numeric columns only).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"x": np.arange(6.0)}, y=np.zeros(6))
    >>> out = NullSpike(column="x", above=2.5).apply(b, np.random.default_rng(0))
    >>> out.columns["x"].tolist()
    [0.0, 1.0, 2.0, nan, nan, nan]
    """

    def __init__(
        self,
        *,
        column: str,
        share: float = 1.0,
        above: float | None = None,
        below: float | None = None,
    ):
        self.column = column
        self.share = share
        self.above = above
        self.below = below
        _check_column("NullSpike", "column", column)
        check_real("NullSpike", "share", share, low=0.0, high=1.0, open_low=True, open_high=False)
        for key in ("above", "below"):
            if getattr(self, key) is not None:
                check_real("NullSpike", key, getattr(self, key))

    @property
    def magnitude(self) -> float:
        return float(self.share)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        values = np.asarray(batch.columns[self.column])
        numeric = values.dtype.kind in "biuf"
        draws = rng.random(batch.n)  # one draw per row, whatever is eligible
        gone = draws < self.share
        if self.above is not None or self.below is not None:
            x = values.astype(np.float64)
            with np.errstate(invalid="ignore"):
                if self.above is not None:
                    gone &= x > self.above
                if self.below is not None:
                    gone &= x < self.below
        if numeric:
            return _with(batch, self.column, np.where(gone, np.nan, values.astype(np.float64)))
        return _with(batch, self.column, np.where(gone, "", values.astype(str)))

    def schema_out(self, schema: Schema) -> Schema:
        spec = _spec("NullSpike", schema, self.column)
        if spec.kind is not Kind.NUMERIC and (self.above is not None or self.below is not None):
            raise ConfigError(
                "above", self.above, "None for a column that is not numeric", owner="NullSpike"
            )
        if spec.kind is Kind.CATEGORICAL and "" not in spec.categories:
            cats = (*spec.categories, "")  # the missing code
            return _replace_spec(
                schema, spec.name, FeatureSpec(spec.name, spec.kind, spec.units, cats)
            )
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [
            {"column": "a", "share": 0.3},
            {"column": "b", "share": 0.8, "above": 0.5},
            {"column": "color", "share": 0.2},
        ]


@FAULTS.register("category_remap")
class CategoryRemap(_OnColumn):
    """Codes are remapped or merged in the source (``{"south": "north"}`` merges two regions).

    At serving (a `ServingFault`), a remapping of every code is the software-rot case of a
    category encoding reordered by an upgrade: the model reads each category's column for
    another's.

    Parameters
    ----------
    column
        The categorical or string column.
    mapping
        Old code -> new code; codes not in it are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"c": np.array(["n", "s", "e"])}, y=np.zeros(3))
    >>> f = CategoryRemap(column="c", mapping={"s": "n"})
    >>> f.apply(b, np.random.default_rng(0)).columns["c"].tolist()
    ['n', 'n', 'e']
    """

    def __init__(self, *, column: str, mapping: dict):
        self.column = column
        self.mapping = mapping
        _check_column("CategoryRemap", "column", column)
        if (
            not isinstance(mapping, dict)
            or not mapping
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
        ):
            raise ConfigError(
                "mapping", mapping, "a non-empty mapping of codes to codes", owner="CategoryRemap"
            )

    @property
    def magnitude(self) -> float:
        return float(len(self.mapping))

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        codes, inverse = np.unique(
            np.asarray(batch.columns[self.column]).astype(str), return_inverse=True
        )
        mapped = np.array([self.mapping.get(c, c) for c in codes.tolist()], dtype=str)  # per code
        return _with(batch, self.column, mapped[inverse] if codes.size else codes[inverse])

    def schema_out(self, schema: Schema) -> Schema:
        spec = _spec("CategoryRemap", schema, self.column, (Kind.CATEGORICAL, Kind.STRING))
        cats = tuple(dict.fromkeys(self.mapping.get(c, c) for c in spec.categories))
        return _replace_spec(
            schema, self.column, FeatureSpec(spec.name, spec.kind, spec.units, cats)
        )

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [
            {"column": "color", "mapping": {"black": "blue"}},
            {
                "column": "color",
                "mapping": {"red": "green", "green": "blue", "blue": "black", "black": "red"},
            },
        ]


@FAULTS.register("time_shift")
class TimeShift(_OnColumn):
    """A time-of-day column moves by a few hours: a source switched time zones (or to UTC).

    Parameters
    ----------
    column
        The numeric time column (hours).
    hours
        The shift.
    period
        The column's cycle (24 for an hour of day).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"hour": np.array([1.0, 22.0])}, y=np.zeros(2))
    >>> out = TimeShift(column="hour", hours=5.0).apply(b, np.random.default_rng(0))
    >>> out.columns["hour"].tolist()
    [6.0, 3.0]
    """

    def __init__(self, *, column: str, hours: float, period: float = 24.0):
        self.column = column
        self.hours = hours
        self.period = period
        _check_column("TimeShift", "column", column)
        check_real("TimeShift", "hours", hours)
        check_real("TimeShift", "period", period, low=0.0, open_low=True)

    @property
    def magnitude(self) -> float:
        return float(self.hours)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        if self.column not in batch.columns:
            return batch
        return _with(
            batch, self.column, np.mod(_floats(batch, self.column) + self.hours, self.period)
        )

    def schema_out(self, schema: Schema) -> Schema:
        _spec("TimeShift", schema, self.column, (Kind.NUMERIC,))
        return schema

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"column": "hour", "hours": 5.0}]


@FAULTS.register("duplicate_rows")
class DuplicateRows(Fault):
    """A job runs twice, or a retry is not deduplicated: a share of rows arrives twice.

    The copies are served, scored, labelled and monitored like the originals: they show in
    row counts, in label joins (a label counted twice) and in every monitor's window.

    Parameters
    ----------
    share
        Probability that a row is duplicated, in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> b = Batch(t=0.0, columns={"x": np.arange(4.0)}, y=np.zeros(4))
    >>> out = DuplicateRows(share=1.0).apply(b, np.random.default_rng(0))
    >>> out.n, out.row_id.tolist()
    (8, [0, 1, 2, 3, 0, 1, 2, 3])
    """

    changes_rows: ClassVar[bool] = True

    def __init__(self, *, share: float):
        self.share = share
        check_real(
            "DuplicateRows", "share", share, low=0.0, high=1.0, open_low=True, open_high=False
        )

    @property
    def magnitude(self) -> float:
        return float(self.share)

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        copies = np.flatnonzero(rng.random(batch.n) < self.share)
        if not copies.size:
            return batch
        return Batch.concat([batch, batch.take(copies)])

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"share": 0.1}]


@FAULTS.register("late_rows")
class LateRows(Fault):
    """Late partitions: a share of each tick's rows reaches serving `lag_hours` later.

    A late row is served when it arrives, with the features it had when it was written (stale)
    and its own outcome. Rows held back when the window closes still arrive on time for their
    lag. This fault keeps the held rows as state for one run (the engine copies every world
    fresh per run); outside its window it only releases what it holds.

    Parameters
    ----------
    share
        Probability that a row is late, in (0, 1].
    lag_hours
        How late.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.batch import Batch
    >>> f = LateRows(share=0.5, lag_hours=2.0)
    >>> g = np.random.default_rng(0)
    >>> a = f.apply(Batch(t=0.0, columns={"x": np.arange(4.0)}, y=np.zeros(4)), g)
    >>> a.columns["x"].tolist()  # three rows are late
    [0.0]
    >>> b = f.idle(Batch(t=2.0, columns={"x": np.arange(4.0) + 10}, y=np.zeros(4)))
    >>> b.columns["x"].tolist()  # after the window: on time, then the late ones, stale
    [10.0, 11.0, 12.0, 13.0, 1.0, 2.0, 3.0]
    """

    changes_rows: ClassVar[bool] = True
    stateful: ClassVar[bool] = True

    def __init__(self, *, share: float, lag_hours: float):
        self.share = share
        self.lag_hours = lag_hours
        check_real("LateRows", "share", share, low=0.0, high=1.0, open_low=True, open_high=False)
        check_real("LateRows", "lag_hours", lag_hours, low=0.0, open_low=True)
        self.held_: list[tuple[float, Batch]] = []

    @property
    def magnitude(self) -> float:
        return float(self.lag_hours)

    def _release(self, batch: Batch) -> Batch:
        due = [b for when, b in self.held_ if when <= batch.t + 1e-9]
        if not due:
            return batch
        self.held_ = [(when, b) for when, b in self.held_ if when > batch.t + 1e-9]
        late = Batch.concat(due)
        if late.names != batch.names:  # the schema moved meanwhile: keep what still fits
            late = late.replace(
                columns={k: late.columns[k] for k in batch.names if k in late.columns}
            )
            if late.names != batch.names:
                return batch
        return Batch.concat([batch, late.replace(t=batch.t)])

    def apply(self, batch: Batch, rng: np.random.Generator) -> Batch:
        late = rng.random(batch.n) < self.share
        if late.any():
            self.held_.append((batch.t + self.lag_hours, batch.take(late)))
            batch = batch.take(~late)
        return self._release(batch)

    def idle(self, batch: Batch) -> Batch:
        return self._release(batch)

    @classmethod
    def _test_params(cls) -> list[dict]:
        """Parameter sets the conformance suite applies to `fault_test_world`."""
        return [{"share": 0.2, "lag_hours": 3.0}]
