"""A grid's results on disk: one zarr store per finished cell, each written atomically.

Layout of a store folder::

    grid.json                  the grid it holds (its fingerprint guards --resume)
    cells/calibrate-3.zarr     scenario 3's calibration
    cells/evaluate-3-17.zarr   scenario 3, seed 17
    cells/evaluate-3-18.error  a cell that failed: its error, as text
    results.zarr               everything, assembled when the grid is done

A cell is written to a hidden temporary folder beside its final name and renamed into place
(a rename is atomic on one file system), so a run killed at any moment leaves every finished
cell whole and no half-written one under a final name; `--resume` computes exactly the
cells that are missing (failed ones are tried again).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from simlab.errors import ConfigError

__all__ = ["Store"]


class Store:
    """The folder a grid writes its cells and results to.

    Parameters
    ----------
    path
        The folder (made if missing).
    grid
        The grid it stores.
    resume
        Keep the cells already there (the folder must hold this same grid); otherwise the
        folder must not hold another grid's cells, unless `overwrite`.
    overwrite
        Replace another grid's cells (without it, a folder holding them is refused).

    Examples
    --------
    >>> import tempfile
    >>> from simlab.bench import Grid
    >>> g = Grid(scenarios=["short_covariate_shift"], detectors={"ks": "ks"}, seeds=1)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = Store(d, g)
    ...     store.put("calibrate-0", xr.Dataset({"a": ("x", [1.0])}))
    ...     store.done()
    {'calibrate-0'}
    """

    def __init__(self, path, grid, *, resume: bool = False, overwrite: bool = False):
        self.path = Path(path)
        self.grid = grid
        self.cells = self.path / "cells"
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError("out", str(self.path), "a folder (or a path to make one)")
        self.cells.mkdir(parents=True, exist_ok=True)
        spec = self.path / "grid.json"
        fingerprint = grid.fingerprint()
        if spec.exists():
            try:
                held = json.loads(spec.read_text()).get("fingerprint")
            except (json.JSONDecodeError, UnicodeDecodeError):
                held = None
            if (
                held != fingerprint
                and (resume or not overwrite)
                and (resume or self.done() or self.failed())
            ):
                raise ConfigError(
                    "out",
                    str(self.path),
                    "a folder holding this grid's cells, or none (it holds another grid's)",
                    owner="simlab bench",
                )
        elif resume and self.done():
            raise ConfigError(
                "out", str(self.path), "a folder with its grid.json", owner="simlab bench"
            )
        if not resume:
            for p in self.cells.iterdir():
                _remove(p)
        self._write_text(
            spec,
            json.dumps({"fingerprint": fingerprint, "grid": grid.to_dict()}, default=str),
        )

    # -- cells -----------------------------------------------------------------------------

    def done(self) -> set[str]:
        """The names of the finished cells."""
        return {p.name[: -len(".zarr")] for p in self.cells.glob("*.zarr")}

    def failed(self) -> dict[str, str]:
        """``{cell: error text}`` of the cells that failed (and have not since succeeded)."""
        done = self.done()
        return {
            p.stem: p.read_text(errors="replace")
            for p in self.cells.glob("*.error")
            if p.stem not in done
        }

    def put(self, name: str, ds: xr.Dataset) -> None:
        """Write one cell, atomically (a temporary folder renamed into place)."""
        final = self.cells / f"{name}.zarr"
        tmp = self.cells / f".{name}.{uuid.uuid4().hex}.tmp"
        ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2)
        try:
            os.rename(tmp, final)
        except OSError:  # another worker finished the same cell first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
            if not final.exists():
                raise
        error = self.cells / f"{name}.error"
        if error.exists():
            error.unlink()

    def log(self, name: str) -> None:
        """Note that this process computed cell `name` (one appended line; see `computed`)."""
        fd = os.open(self.cells / "computed.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, f"{name}\n".encode())
        finally:
            os.close(fd)

    def computed(self) -> list[str]:
        """Every cell computation logged in this folder, in order (a cell twice: recomputed)."""
        log = self.cells / "computed.log"
        return log.read_text().split() if log.exists() else []

    def fail(self, name: str, text: str) -> None:
        """Record that a cell failed, with its error."""
        self._write_text(self.cells / f"{name}.error", text)

    def get(self, name: str) -> xr.Dataset:
        """A finished cell, loaded into memory."""
        with xr.open_zarr(self.cells / f"{name}.zarr", consolidated=True) as ds:
            return ds.load()

    def _write_text(self, path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    # -- results ---------------------------------------------------------------------------

    def assemble(self) -> xr.Dataset:
        """Every finished cell as one Dataset on (scenario, detector, seed).

        Cells that are missing (failed, or not run) are NaN there; ``cell_ok`` says which
        (scenario, seed) cells are in.
        """
        grid = self.grid
        names = list(grid.names)
        seeds = list(grid.seeds)
        cal, ev = [], []
        for i in range(len(names)):
            key = f"calibrate-{i}"
            cal.append(self.get(key) if key in self.done() else None)
            row = []
            for seed in seeds:
                key = f"evaluate-{i}-{seed}"
                row.append(self.get(key) if key in self.done() else None)
            ev.append(row)
        return assemble(grid, cal, ev)

    def save_results(self, ds: xr.Dataset) -> Path:
        """Write the assembled results to ``results.zarr`` (atomically); its path."""
        final = self.path / "results.zarr"
        tmp = self.path / f".results.{uuid.uuid4().hex}.tmp"
        ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2)
        old = None
        if final.exists():
            old = self.path / f".results.old.{uuid.uuid4().hex}"
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return final


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def assemble(grid, calibrations: list, evaluations: list[list]) -> xr.Dataset:
    """The grid's Dataset from its cells (None where a cell is missing).

    Examples
    --------
    >>> from simlab.bench import Grid
    >>> g = Grid(scenarios=["short_covariate_shift"], detectors={"ks": "ks"}, seeds=1)
    >>> ds = assemble(g, [None], [[None]])
    >>> dict(ds.sizes), bool(ds["cell_ok"].any())
    ({'scenario': 1, 'detector': 6, 'seed': 1}, False)
    """
    from simlab.bench.cells import BASELINES

    names = list(grid.names)
    seeds = list(grid.seeds)
    detectors = [*grid.detector_names, "oracle", *BASELINES]
    shape = (len(names), len(detectors), len(seeds))
    kinds = {
        "delay": float,
        "detected": bool,
        "lead_time": float,
        "recall": float,
        "precision": float,
        "false_alarms": float,
        "false_alarms_per_10k_rows": float,
        "mtbfa": float,
        "n_alarms": float,
        "delay_ratio": float,
        "onset_hours": float,
        "label_alarm_hours": float,
    }
    data = {k: np.full(shape, np.nan if t is float else False, dtype=t) for k, t in kinds.items()}
    ok = np.zeros((len(names), len(seeds)), bool)
    closed = np.zeros(len(names), bool)
    for i, row in enumerate(evaluations):
        for j, cell in enumerate(row):
            if cell is None:
                continue
            ok[i, j] = True
            cell = cell.reindex(detector=detectors)
            for k, t in kinds.items():
                v = cell[k].values
                data[k][i, :, j] = v.astype(t) if t is bool else v
            closed[i] = bool(cell["closed_loop"].fillna(False).any())
    cal_kinds = ("value", "achieved_arl0", "arl0_low", "arl0_high")
    cal = {k: np.full((len(names), len(detectors)), np.nan) for k in cal_kinds}
    calibrated = np.zeros((len(names), len(detectors)), bool)
    problem = np.full((len(names), len(detectors)), "", dtype=object)
    for i, c in enumerate(calibrations):
        if c is None:
            continue
        c = c.reindex(detector=detectors)
        for k in cal_kinds:
            cal[k][i] = c[k].values
        calibrated[i] = c["calibrated"].fillna(False).values.astype(bool)
        problem[i] = c["problem"].fillna("").values
    dims = ("scenario", "detector", "seed")
    ds = xr.Dataset(
        {k: (dims, v) for k, v in data.items()}
        | {
            "missed": (dims, ~data["detected"] & ok[:, None, :]),
            "cell_ok": (("scenario", "seed"), ok),
            "calibrated": (("scenario", "detector"), calibrated),
            "threshold_value": (("scenario", "detector"), cal["value"]),
            "achieved_arl0": (("scenario", "detector"), cal["achieved_arl0"]),
            "arl0_low": (("scenario", "detector"), cal["arl0_low"]),
            "arl0_high": (("scenario", "detector"), cal["arl0_high"]),
            "calibration_problem": (("scenario", "detector"), problem.astype(str)),
            "closed_loop": ("scenario", closed),
            "arl0_target": ("scenario", [grid.arl0(i) for i in range(len(names))]),
        },
        coords={
            "scenario": names,
            "detector": detectors,
            "seed": seeds,
            "cause": ("scenario", [s.cause or "unspecified" for s in grid.scenarios]),
            "role": (
                "detector",
                ["detector"] * len(grid.detector_names) + ["oracle"] + ["baseline"] * 4,
            ),
        },
        attrs={
            "target_arl0": np.nan if grid.target_arl0 is None else grid.target_arl0,
            "target_per_10k_rows": np.nan
            if grid.target_per_10k_rows is None
            else grid.target_per_10k_rows,
            "twin_rule": int(grid.twin_rule),
            "max_delay_hours": np.nan if grid.max_delay_hours is None else grid.max_delay_hours,
            "fingerprint": grid.fingerprint(),
        },
    )
    units = {
        "delay": "hours",
        "lead_time": "hours",
        "mtbfa": "hours",
        "onset_hours": "hours",
        "label_alarm_hours": "hours",
        "achieved_arl0": "ticks",
        "false_alarms_per_10k_rows": "alarms per 10,000 rows",
    }
    for k, u in units.items():
        ds[k].attrs["units"] = u
    return ds
