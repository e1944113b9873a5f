"""The Run conformance check: `check_run` asserts that a Dataset honours the Run contract.

The contract is the one `simlab.sim.run` declares, that `simlab.sim` records and `simlab.metrics`
and `simlab.plot` read: its dims, coordinates, variables (with dtypes, ``long_name`` and
``units``), attrs, and a lossless netCDF round trip. dtypes are checked by kind (integer, float,
bool, datetime, string) rather than by width, so a Run loaded back from netCDF3 (where int64
becomes int32 and strings become objects) still passes.
"""

from __future__ import annotations

import json
import numbers
import os
import tempfile

import numpy as np
import xarray as xr

from simlab.sim.run import EVENT_KINDS, RUN_ATTRS, RUN_COORDS, RUN_DATA_VARS, RUN_DIMS

__all__ = ["RUN_ATTRS", "RUN_COORDS", "RUN_DATA_VARS", "RUN_DIMS", "check_run"]


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


def _check_round_trip(ds: xr.Dataset) -> None:
    from simlab.sim.run import load, save

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "run.nc")
        try:
            save(ds, path)
        except (TypeError, ValueError, OverflowError) as err:
            raise AssertionError(f"the Run cannot be saved to netCDF: {err}") from err
        back = load(path)
    try:
        xr.testing.assert_identical(ds, back)
    except AssertionError as err:
        raise AssertionError(f"the Run changes in a netCDF round trip:\n{err}") from None


def check_run(ds: xr.Dataset) -> None:
    """Assert that ``ds`` honours the Run contract; raise `AssertionError` listing every breach.

    Checks the dims, the coordinates and data variables (dims and dtype kinds), that every data
    variable has ``long_name`` and ``units`` attrs (datetime variables: ``long_name`` only, since
    netCDF's encoding writes their units), that Dataset attrs are str or number and the required
    ones exist, a few facts that tie them together (``primary_metric`` is a metric, detector names
    are unique, event kinds are known), and finally that a netCDF round trip
    (`simlab.sim.save` then `simlab.sim.load`) gives an identical Dataset.

    Parameters
    ----------
    ds
        The Dataset to check.

    Raises
    ------
    AssertionError
        With one line per problem found.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run()
    >>> check_run(run)
    >>> check_run(run.drop_vars("n_rows"))
    Traceback (most recent call last):
    ...
    AssertionError: not a valid Run:
      - data variable 'n_rows' is missing
    """
    problems: list[str] = []
    if not isinstance(ds, xr.Dataset):
        raise AssertionError(f"a Run is an xarray.Dataset, not a {type(ds).__name__}")
    missing = [d for d in RUN_DIMS if d not in ds.dims]
    if missing:
        problems.append(f"dims {missing} are missing (has {list(ds.dims)})")
    _check_variables(ds, RUN_COORDS, "coordinate", problems)
    _check_variables(ds, RUN_DATA_VARS, "data variable", problems)
    _check_labels(ds, problems)
    _check_attrs(ds, problems)
    _check_values(ds, problems)
    if problems:
        raise AssertionError("not a valid Run:\n" + "\n".join(f"  - {p}" for p in problems))
    _check_round_trip(ds)
