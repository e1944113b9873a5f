"""The Run: save and load without loss, and the ``ds.simlab`` accessor for convenience."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from simlab.errors import ConfigError
from simlab.events import Event, EventKind

__all__ = ["RunAccessor", "load", "save"]


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
