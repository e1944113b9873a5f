"""The Run: its schema (declared once), save and load without loss, and the ``ds.simlab`` accessor.

`RUN_DIMS`, `RUN_COORDS`, `RUN_DATA_VARS` and `RUN_ATTRS` are the one declaration of what a
Run holds. The recorder builds every Run through `build_run`, the conformance check
(`simlab.testing.checks.check_run`) reads the same declaration, and so do the synthetic Runs
of the tests: none of them can drift from the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.scoring import HIGHER_IS_BETTER, METRIC_UNITS

__all__ = [
    "RUN_ATTRS",
    "RUN_COORDS",
    "RUN_DATA_VARS",
    "RUN_DIMS",
    "SCHEMA_VERSION",
    "RunAccessor",
    "Var",
    "build_run",
    "load",
    "save",
]

SCHEMA_VERSION = "3"


@dataclass(frozen=True)
class Var:
    """One variable of the Run contract.

    Parameters
    ----------
    dims
        Its dimensions, in order.
    kind
        Its dtype kind: "int", "float", "bool", "datetime" or "str".
    long_name, units
        Its ``long_name`` and ``units`` attrs (None: none; datetimes have no ``units``, since
        netCDF's time encoding writes its own; ``units="metric"`` lists the metrics' units).

    Examples
    --------
    >>> RUN_DATA_VARS["n_rows"].dims, RUN_DATA_VARS["n_rows"].units
    (('time',), 'rows')
    """

    dims: tuple[str, ...]
    kind: str
    long_name: str | None = None
    units: str | None = None


RUN_DIMS = ("time", "metric", "split", "detector", "feature", "bin", "event")

RUN_COORDS = {
    "time": Var(("time",), "datetime"),
    "tick": Var(("time",), "int"),
    "hours": Var(("time",), "float", "simulated time", "hours"),
    "metric": Var(("metric",), "str"),
    "higher_is_better": Var(("metric",), "bool"),
    "split": Var(("split",), "str"),
    "detector": Var(("detector",), "str"),
    "detector_kind": Var(("detector",), "str"),
    "detector_watches": Var(("detector",), "str"),
    "detector_params": Var(("detector",), "str"),
    "feature": Var(("feature",), "str"),
    "feature_units": Var(("feature",), "str"),
    "bin": Var(("bin",), "int"),
    "bin_lower": Var(("bin",), "float"),
    "bin_upper": Var(("bin",), "float"),
    "event": Var(("event",), "int"),
}

RUN_DATA_VARS = {
    "n_rows": Var(("time",), "int", "rows served", "rows"),
    "n_labels": Var(("time",), "int", "labels arrived", "labels"),
    "n_acted": Var(("time",), "int", "rows acted on (the decision)", "rows"),
    "acted_share": Var(("time",), "float", "share of rows acted on", "1"),
    "n_explored": Var(("time",), "int", "rows given a random action (exploration)", "rows"),
    "n_failed": Var(("time",), "int", "rows served without a score (failed requests)", "rows"),
    "true_metric": Var(("time", "metric"), "float", "true metric (all outcomes)", "metric"),
    "n_true_window": Var(("time",), "int", "rows in the true-metric window", "rows"),
    "observed_metric": Var(
        ("time", "metric"), "float", "observed metric (arrived labels)", "metric"
    ),
    "n_observed_window": Var(("time",), "int", "labels in the observed-metric window", "labels"),
    "ipw_metric": Var(
        ("time", "metric"),
        "float",
        "observed metric weighted by inverse label propensity",
        "metric",
    ),
    "offline_metric": Var(("time", "metric", "split"), "float", "offline metric", "metric"),
    "deployed_version": Var(("time",), "int", "deployed model version", "1"),
    "score_hist": Var(("time", "bin"), "int", "prediction scores", "rows"),
    "feature_mean": Var(("time", "feature"), "float", "feature mean", "feature units"),
    "feature_std": Var(("time", "feature"), "float", "feature std", "feature units"),
    "feature_missing": Var(("time", "feature"), "float", "share missing", "1"),
    "statistic": Var(("time", "detector"), "float", "detector statistic", "1"),
    "threshold": Var(("time", "detector"), "float", "detector threshold", "1"),
    "alarm": Var(("time", "detector"), "bool", "alarm", "1"),
    "blamed": Var(("time", "detector", "feature"), "bool", "feature blamed by the detector", "1"),
    "event_kind": Var(("event",), "str", "event kind", "1"),
    "event_start": Var(("event",), "datetime", "event start"),
    "event_end": Var(("event",), "datetime", "event end"),
    "event_source": Var(("event",), "str", "event source", "1"),
    "event_detail": Var(("event",), "str", "event detail (JSON)", "1"),
}

#: attr -> expected Python type ("str", "int" or "number")
RUN_ATTRS = {
    "scenario": "str",
    "scenario_name": "str",
    "seed": "int",
    "simlab_version": "str",
    "schema_version": "str",
    "start": "str",
    "tick_hours": "number",
    "horizon_hours": "number",
    "task": "str",
    "primary_metric": "str",
    "tolerance": "number",
    "window_hours": "number",
    "min_rows": "int",
    "reference_split": "str",
    "label_delay_hours": "number",
    "estimator": "str",
    "estimator_params": "str",
    "rebuildable": "int",
    "rebuild_problems": "str",
}

#: Every event kind a Run may hold.
EVENT_KINDS = frozenset(k.value for k in EventKind)


def _metric_units(metrics) -> str:
    return ", ".join(f"{m}: {METRIC_UNITS.get(str(m), '?')}" for m in metrics)


def build_run(
    data: Mapping[str, np.ndarray], coords: Mapping[str, np.ndarray], attrs: Mapping
) -> xr.Dataset:
    """Assemble a Run from plain arrays named as in the schema (dims, long_name, units added).

    Parameters
    ----------
    data
        One array per `RUN_DATA_VARS` entry, no more and no fewer.
    coords
        One array per `RUN_COORDS` entry; ``higher_is_better`` may be omitted (it follows
        from ``metric``).
    attrs
        The Dataset attrs (see `RUN_ATTRS`).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run()
    >>> rebuilt = build_run(
    ...     {k: run[k].values for k in RUN_DATA_VARS},
    ...     {k: run[k].values for k in RUN_COORDS},
    ...     run.attrs,
    ... )
    >>> rebuilt.identical(run)
    True
    """
    coords = dict(coords)
    if "higher_is_better" not in coords and "metric" in coords:
        coords["higher_is_better"] = np.array(
            [HIGHER_IS_BETTER[str(m)] for m in coords["metric"]], dtype=bool
        )
    for given, spec, what in ((data, RUN_DATA_VARS, "data"), (coords, RUN_COORDS, "coords")):
        missing = sorted(set(spec) - set(given))
        extra = sorted(set(given) - set(spec))
        if missing or extra:
            raise ConfigError(
                what,
                f"missing {missing}, unknown {extra}",
                f"exactly {sorted(spec)}",
                owner="build_run",
            )
    units = _metric_units(coords["metric"])

    def variable(name, var, values):
        var_attrs = {}
        if var.long_name is not None:
            var_attrs["long_name"] = var.long_name
        if var.units is not None and var.kind != "datetime":
            var_attrs["units"] = units if var.units == "metric" else var.units
        return xr.Variable(var.dims, values, var_attrs)

    data_vars = {name: variable(name, var, data[name]) for name, var in RUN_DATA_VARS.items()}
    coord_vars = {name: variable(name, var, coords[name]) for name, var in RUN_COORDS.items()}
    return xr.Dataset(data_vars, coords=coord_vars, attrs=dict(attrs))


def save(run: xr.Dataset, path: str | Path) -> Path:
    """Write a Run to netCDF-4 (``.nc``) or zarr (``.zarr``, needs zarr).

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> from simlab.sim import Scenario, simulate
    >>> from simlab.world import sea
    >>> run = simulate(Scenario(world=sea(), horizon_hours=24.0, train_rows=500))
    >>> path = save(run, tempfile.mkdtemp() + "/run.nc")
    >>> xr.testing.assert_identical(run, load(path))
    """
    path = Path(path)
    if path.suffix == ".nc":
        run.to_netcdf(path, engine="netcdf4")
    elif path.suffix == ".zarr":
        run.to_zarr(path, mode="w", zarr_format=2, consolidated=True)  # v2: strings have a spec
    else:
        raise ConfigError("path", str(path), "a file name ending in .nc or .zarr", owner="save")
    return path


def load(path: str | Path) -> xr.Dataset:
    """Read a Run written by `save` (fully into memory).

    Examples
    --------
    >>> load("missing.txt")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: load: path='missing.txt' is not allowed; expected ...
    """
    path = Path(path)
    if path.suffix == ".nc" and path.exists():
        return xr.load_dataset(path, engine="netcdf4")
    if path.suffix == ".zarr" and path.exists():
        return xr.open_zarr(path).load()
    raise ConfigError("path", str(path), "an existing .nc file or .zarr store", owner="load")


@xr.register_dataset_accessor("simlab")
class RunAccessor:
    """``run.simlab``: the event log as `Event` objects and the scenario as data.

    Examples
    --------
    >>> from simlab.sim import Scenario, simulate
    >>> from simlab.world import sea
    >>> run = simulate(Scenario(world=sea(), horizon_hours=24.0, train_rows=500))
    >>> [e.kind.value for e in run.simlab.events()]
    ['train', 'deploy']
    >>> run.simlab.scenario()["horizon_hours"]
    24.0
    """

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def hours(self, when) -> float:
        """Simulated hours of a datetime64 (NaT -> inf)."""
        when = np.datetime64(when, "ns")
        if np.isnat(when):
            return float("inf")
        t0 = np.datetime64(self._ds.attrs["start"], "ns")
        return float((when - t0) / np.timedelta64(1, "h"))

    def events(self) -> list[Event]:
        """The event log."""
        ds = self._ds
        out = []
        for i in range(ds.sizes.get("event", 0)):
            detail = json.loads(str(ds.event_detail.values[i]))
            features = tuple(detail.pop("features", ()))
            magnitude = detail.pop("magnitude", None)
            out.append(
                Event(
                    EventKind(str(ds.event_kind.values[i])),
                    self.hours(ds.event_start.values[i]),
                    self.hours(ds.event_end.values[i]),
                    source=str(ds.event_source.values[i]),
                    features=features,
                    magnitude=float("nan") if magnitude is None else float(magnitude),
                    detail=detail,
                )
            )
        return out

    def scenario(self) -> dict:
        """The scenario spec the run was made from."""
        return json.loads(self._ds.attrs["scenario"])
