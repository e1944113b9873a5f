"""The Run: its schema (declared once), save and load without loss, and the ``ds.simlab`` accessor.

`RUN_DIMS`, `RUN_COORDS`, `RUN_DATA_VARS` and `RUN_ATTRS` are the one declaration of what a
Run holds. The recorder builds every Run through `build_run`, the conformance check
(`simlab.testing.checks.check_run`) reads the same declaration, and so do the synthetic Runs
of the tests: none of them can drift from the others.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import shutil
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from simlab.errors import ConfigError, SchemaError
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
    "run_problems",
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

#: Data variables a Run holds only when asked (`simulate(..., feature_statistics=True)`),
#: or when the world emits proxy outcomes (`simlab.world.Proxy`).
RUN_OPTIONAL_VARS = {
    "n_proxies": Var(("time",), "int", "proxy outcomes observed", "rows"),
    "proxy_rate": Var(("time",), "float", "rate of the observed proxy outcome", "1"),
    # with challengers (`simlab.sim.practices`)
    "challenger_share": Var(("time", "challenger"), "float", "traffic share decided", "1"),
    "challenger_true_metric": Var(
        ("time", "challenger", "metric"), "float", "challenger's true metric", "metric"
    ),
    "challenger_observed_metric": Var(
        ("time", "challenger", "metric"),
        "float",
        "challenger's metric on arrived labels",
        "metric",
    ),
    "challenger_score_hist": Var(
        ("time", "challenger", "bin"), "int", "challenger's prediction scores", "rows"
    ),
    "challenger_statistic": Var(
        ("time", "challenger"), "float", "sequential test statistic (log mSPRT)", "1"
    ),
    "challenger_harm": Var(
        ("time", "challenger"),
        "float",
        "excess errors on the rows the challenger decided (true, cumulative)",
        "rows",
    ),
    "challenger_harm_bound": Var(
        ("time", "challenger"), "float", "the guard rail's upper bound on that harm", "rows"
    ),
    "feature_statistic": Var(
        ("time", "detector", "feature"),
        "float",
        "per-feature detector statistic (NaN: the detector has none for that feature)",
        "1",
    ),
}

#: Coordinates a Run holds only with the optional variables that use them.
RUN_OPTIONAL_COORDS = {"challenger": Var(("challenger",), "str")}

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
        One array per `RUN_DATA_VARS` entry, no fewer, and any of `RUN_OPTIONAL_VARS`.
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
        optional = RUN_OPTIONAL_VARS if what == "data" else RUN_OPTIONAL_COORDS
        extra = sorted(set(given) - set(spec) - set(optional))
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
    for name, var in RUN_OPTIONAL_VARS.items():
        if name in data:
            data_vars[name] = variable(name, var, data[name])
    coord_vars = {name: variable(name, var, coords[name]) for name, var in RUN_COORDS.items()}
    for name, var in RUN_OPTIONAL_COORDS.items():
        if name in coords:
            coord_vars[name] = variable(name, var, coords[name])
    return xr.Dataset(data_vars, coords=coord_vars, attrs=dict(attrs))


def _kind_ok(values: np.ndarray, kind: str) -> bool:
    dtype = values.dtype
    if kind == "int":
        return np.issubdtype(dtype, np.integer)
    if kind == "float":
        return np.issubdtype(dtype, np.floating)
    if kind == "bool":
        return dtype == np.bool_
    if kind == "datetime":
        return np.issubdtype(dtype, np.datetime64)
    if dtype.kind == "U":
        return True
    return dtype.kind == "O" and all(isinstance(v, str) for v in values.ravel())


def _check_variables(ds: xr.Dataset, spec: dict, what: str, problems: list[str]) -> None:
    for name, var_spec in spec.items():
        dims, kind = var_spec.dims, var_spec.kind
        if name not in ds.variables:
            problems.append(f"{what} {name!r} is missing")
            continue
        var = ds[name]
        if (name in ds.coords) != (what == "coordinate"):
            problems.append(f"{name!r} should be a {what}")
        if var.dims != dims:
            problems.append(f"{what} {name!r} has dims {var.dims}; expected {dims}")
        if not _kind_ok(var.values, kind):
            problems.append(f"{what} {name!r} has dtype {var.dtype}; expected a {kind} dtype")


def _check_labels(ds: xr.Dataset, problems: list[str]) -> None:
    for name, var in ds.data_vars.items():
        if not isinstance(var.attrs.get("long_name"), str) or not var.attrs["long_name"]:
            problems.append(f"data variable {name!r} has no long_name attr")
        if np.issubdtype(var.dtype, np.datetime64):
            # netCDF's CF encoding writes its own "units" ("hours since ...") on datetimes
            if "units" in var.attrs:
                problems.append(
                    f"datetime variable {name!r} has a units attr "
                    f"({var.attrs['units']!r}); netCDF encoding sets it, so it must be absent"
                )
        elif not isinstance(var.attrs.get("units"), str):
            problems.append(f"data variable {name!r} has no units attr")


def _check_attrs(ds: xr.Dataset, problems: list[str]) -> None:
    for key, value in ds.attrs.items():
        if isinstance(value, bool | np.bool_) or not isinstance(value, str | numbers.Number):
            problems.append(
                f"attr {key!r}={value!r} is a {type(value).__name__}; attrs must be str or number"
            )
    for key, kind in RUN_ATTRS.items():
        if key not in ds.attrs:
            problems.append(f"attr {key!r} is missing")
            continue
        value = ds.attrs[key]
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_),
            "number": isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_),
        }[kind]
        if not ok:
            problems.append(f"attr {key!r}={value!r} should be a {kind}")
    if isinstance(ds.attrs.get("scenario"), str):
        try:
            json.loads(ds.attrs["scenario"])
        except ValueError:
            problems.append(f"attr 'scenario' is not JSON: {ds.attrs['scenario'][:60]!r}")
    if ds.attrs.get("task") not in (None, "binary", "regression"):
        problems.append(f"attr task={ds.attrs['task']!r}; expected 'binary' or 'regression'")


def _check_values(ds: xr.Dataset, problems: list[str]) -> None:
    if "metric" in ds.coords and ds.attrs.get("primary_metric") not in ds["metric"].values:
        problems.append(
            f"attr primary_metric={ds.attrs.get('primary_metric')!r} is not a metric "
            f"(metrics: {ds['metric'].values.tolist()})"
        )
    if "split" in ds.coords and ds.attrs.get("reference_split") not in ds["split"].values:
        problems.append(
            f"attr reference_split={ds.attrs.get('reference_split')!r} is not a split "
            f"(splits: {ds['split'].values.tolist()})"
        )
    if "detector" in ds.coords and len(set(ds["detector"].values.tolist())) != ds.sizes.get(
        "detector", 0
    ):
        problems.append(f"detector names are not unique: {ds['detector'].values.tolist()}")
    if "event_kind" in ds:
        unknown = sorted(set(ds["event_kind"].values.tolist()) - EVENT_KINDS)
        if unknown:
            problems.append(
                f"event_kind has unknown kinds {unknown}; allowed {sorted(EVENT_KINDS)}"
            )
    if (
        "time" in ds.coords
        and ds.sizes["time"] > 1
        and not bool((ds["time"].diff("time") > np.timedelta64(0, "ns")).all())
    ):
        problems.append("the time coordinate is not strictly increasing")


def run_problems(ds: xr.Dataset) -> list[str]:
    """Every way `ds` breaks the Run contract, one line each (empty for a valid Run).

    Checks the dims, the coordinates and data variables (dims and dtype kinds), the
    ``long_name`` and ``units`` attrs, the Dataset attrs (str or number, the required ones),
    and the facts that tie them together (``primary_metric`` is a metric, detector names are
    unique, event kinds are known, time increases).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run_problems(make_run())
    []
    >>> run_problems(make_run().drop_vars("n_rows"))
    ["data variable 'n_rows' is missing"]
    """
    problems: list[str] = []
    missing = [d for d in RUN_DIMS if d not in ds.dims]
    if missing:
        problems.append(f"dims {missing} are missing (has {list(ds.dims)})")
    _check_variables(ds, RUN_COORDS, "coordinate", problems)
    _check_variables(ds, RUN_DATA_VARS, "data variable", problems)
    present = {k: v for k, v in RUN_OPTIONAL_VARS.items() if k in ds.variables}
    _check_variables(ds, present, "data variable", problems)
    _check_labels(ds, problems)
    _check_attrs(ds, problems)
    _check_values(ds, problems)
    return problems


_FORMATS = {".nc": "netcdf", ".zarr": "zarr"}


def _format(path: Path, owner: str) -> str:
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError("path", str(path), "a name ending in .nc or .zarr", owner=owner)
    return kind


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C (SIGINT) back while a save runs; yield a flag that says one came.

    An interrupt raised in the middle of the netCDF library can leave a half-written file
    and even deadlock on its lock. Deferred, it lets the write finish; the caller then
    throws the new file away and re-raises, so the earlier file is left as it was.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # signals reach the main thread only: nothing to hold
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def save(run: xr.Dataset, path: str | Path) -> Path:
    """Write a Run to netCDF-4 (``.nc``) or zarr (``.zarr``, needs zarr), atomically.

    The Run is written to a temporary file beside the target and renamed into place, so the
    target is always either the earlier file, untouched, or the complete new one. Ctrl-C
    during the write is held until the write ends; then the new file is discarded, the
    earlier one kept, and `KeyboardInterrupt` raised. The suffix is matched in any case.

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
    kind = _format(path, "save")
    if path.exists() and path.is_dir() != (kind == "zarr"):
        what = "a directory" if path.is_dir() else "a file"
        raise ConfigError("path", str(path), f"a place to write a {kind} Run ({what} is there)")
    if not path.parent.is_dir():
        raise ConfigError("path", str(path), "a path in an existing folder", owner="save")
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with _interrupts_deferred() as interrupted:
        try:
            if kind == "netcdf":
                run.to_netcdf(partial, engine="netcdf4", format="NETCDF4")
            else:  # zarr v2: fixed-width strings have a spec there
                run.to_zarr(partial, mode="w", zarr_format=2, consolidated=True)
            if interrupted:
                raise KeyboardInterrupt
            if kind == "netcdf":
                os.replace(partial, path)
            else:  # a directory cannot be replaced in one step: the old one goes last
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                if path.exists():
                    path.rename(old)
                partial.rename(path)
                _remove(old)
        except OSError as err:
            raise ConfigError(
                "path", str(path), f"a writable place ({err.strerror or err})", owner="save"
            ) from None
        finally:
            _remove(partial)
    return path


def load(path: str | Path) -> xr.Dataset:
    """Read a Run written by `save` (fully into memory), and check it is one.

    A file that cannot be read, or that is not a complete Run (a foreign netCDF, a file cut
    short), is refused with a `SchemaError` naming the path and what is wrong.

    Examples
    --------
    >>> load("missing.txt")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: load: path='missing.txt' is not allowed; expected ...
    """
    path = Path(path)
    kind = _format(path, "load")
    if not path.exists():
        raise ConfigError("path", str(path), "an existing .nc file or .zarr store", owner="load")
    try:
        if kind == "netcdf":
            ds = xr.load_dataset(path, engine="netcdf4")
        else:
            ds = xr.open_zarr(path).load()
    except Exception as err:  # every reader failure: a file that is not what it says
        raise SchemaError(f"{path} cannot be read as a Run: {type(err).__name__}: {err}") from None
    problems = run_problems(ds)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise SchemaError(
            f"{path} is not a simlab Run, or is damaged: {'; '.join(problems[:3])}{more}"
        )
    return ds


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
