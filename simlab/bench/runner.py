"""Running a grid: cells on one process, local worker processes, or a Dask cluster.

Calibration cells run first (one per scenario), then evaluation cells (one per scenario and
seed). Each cell runs with one BLAS/OpenMP thread, computes from the grid and its
coordinates alone, and writes itself to the `Store` before it reports back, so the dataset
does not depend on the executor, the number of workers or the order cells finish in, and a
run killed at any moment loses only the cells that were running.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from pathlib import Path

from simlab.bench.cells import calibration_cell, evaluation_cell
from simlab.bench.grid import Grid
from simlab.bench.store import Store
from simlab.errors import ConfigError
from simlab.validation import check_int

__all__ = ["EXECUTORS", "Progress", "run_grid"]

#: How cells can be run.
EXECUTORS = ("serial", "processes", "dask")


class Progress:
    """Cells done, rate, time left and failures, printed as the grid runs.

    Parameters
    ----------
    total
        Cells to run.
    stream
        Where to print (None: nowhere).
    every
        Seconds between lines (the last line is always printed).

    Attributes
    ----------
    done, failures
        Cells finished, and of those failed.
    compute, cell_time
        Seconds the finished cells spent computing, and in all (summed over workers).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(2, stream=out, every=0.0)
    >>> p.step("evaluate-0-0", ok=True)
    >>> p.step("evaluate-0-1", ok=False)
    >>> out.getvalue().splitlines()[-1].startswith("[2/2]")
    True
    >>> p.failures
    1
    """

    def __init__(self, total: int, *, stream=sys.stderr, every: float = 2.0):
        self.total = total
        self.stream = stream
        self.every = every
        self.done = 0
        self.failures = 0
        self.compute = 0.0  # seconds computing cells (simulation, replays, calibration)
        self.cell_time = 0.0  # seconds in cells, with their reads and writes
        self.start = time.perf_counter()
        self._last = -float("inf")

    def record(self, result: tuple) -> None:
        """A cell's `run_cell` result: its time is added up, then it is a `step`."""
        key, ok, compute, total = result
        self.compute += compute
        self.cell_time += total
        self.step(key, ok=ok)

    def step(self, key: str, *, ok: bool) -> None:
        """One cell finished (`ok`: without error)."""
        self.done += 1
        self.failures += not ok
        now = time.perf_counter()
        if self.stream is None or (now - self._last < self.every and self.done < self.total):
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        print(
            f"[{self.done}/{self.total}] {rate:.2f} cells/s, {elapsed:.0f} s, "
            f"about {left:.0f} s left, {self.failures} failed (last: {key})",
            file=self.stream,
            flush=True,
        )


def _one_thread():
    """One BLAS/OpenMP thread (threadpoolctl comes with scikit-learn)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _big_cells_are_not_leaks() -> None:
    """In a joblib (loky) worker: a cell that holds 300 MB of tapes is not a memory leak.

    loky restarts a worker whose memory grew by 300 MB since its first task (when psutil
    is installed), which a calibration cell's tapes do by design; each restart costs a
    fresh import of the stack. The limit is a module global read by the worker's loop.
    """
    loky = sys.modules.get("joblib.externals.loky.process_executor")
    if loky is not None and getattr(loky, "_MAX_MEMORY_LEAK_SIZE", 0) < 4e9:
        loky._MAX_MEMORY_LEAK_SIZE = int(4e9)


def run_cell(grid: Grid, path: str, key: str) -> tuple[str, bool, float, float]:
    """Compute one cell and write it to the store at `path`.

    Returns ``(key, ok, compute, total)``: the seconds spent computing the cell
    (simulation, replays, calibration) and in all (with reading its calibration and
    writing its result). A cell that raises is recorded with its traceback
    (``cells/KEY.error``) and reported as not ok; it does not stop the grid.
    """
    _big_cells_are_not_leaks()
    store = Store.__new__(Store)  # the folder exists already: no checks, no cleaning
    store.path, store.grid, store.cells = Path(path), grid, Path(path) / "cells"
    start = time.perf_counter()
    compute = 0.0
    try:
        with _one_thread():
            parts = key.split("-")
            if parts[0] == "calibrate":
                t0 = time.perf_counter()
                ds = calibration_cell(grid, int(parts[1]))
            else:
                i, seed = int(parts[1]), int(parts[2])
                calibration = store.get(f"calibrate-{i}")
                t0 = time.perf_counter()
                ds = evaluation_cell(grid, i, seed, calibration)
            compute = time.perf_counter() - t0
        store.put(key, ds)
        store.log(key)
        return key, True, compute, time.perf_counter() - start
    except Exception:  # a failing cell is recorded, not raised: the grid goes on
        store.fail(key, traceback.format_exc())
        return key, False, compute, time.perf_counter() - start


def _serial(grid, path, keys, progress):
    for key in keys:
        progress.record(run_cell(grid, path, key))


def _processes(grid, path, keys, progress, workers):
    from joblib import Parallel, delayed

    run = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    for result in run(delayed(run_cell)(grid, path, key) for key in keys):
        progress.record(result)


class _Dask:
    """A Dask client: to `scheduler` if given, else a local cluster of `workers` processes."""

    def __init__(self, workers: int, scheduler: str | None):
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise ConfigError(
                "executor",
                "dask",
                "an installed Dask (pip install 'simlab[dask]')",
                owner="run_grid",
            ) from e
        if scheduler:
            self.cluster = None
            self.client = Client(scheduler)
        else:
            import dask

            # a cell is one long task: the workers' stack-sampling profiler (every 10 ms by
            # default) only takes CPU from it on a small machine
            dask.config.set({"distributed.worker.profile.enabled": False})
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)

    def run(self, grid, path, keys, progress):
        from distributed import as_completed

        grid_future = self.client.scatter(grid, broadcast=True, hash=False)
        futures = [
            self.client.submit(run_cell, grid_future, path, key, key=f"simlab-{key}", pure=False)
            for key in keys
        ]
        for fut in as_completed(futures):
            progress.record(fut.result())

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_grid(
    grid: Grid,
    out=None,
    *,
    executor: str = "serial",
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress=sys.stderr,
    timings: dict | None = None,
):
    """Run every cell of `grid` that is not done yet; the results as one Dataset.

    Parameters
    ----------
    grid
        The grid.
    out
        The store folder (see `Store`); None: a temporary one, removed afterwards.
    executor
        ``"serial"``, ``"processes"`` (joblib's loky: `workers` processes that start once
        and run many cells) or ``"dask"`` (a local cluster of `workers` processes, or the
        cluster at `scheduler`, which must see `out` on a shared file system).
    workers
        Worker processes for ``"processes"`` and a local Dask cluster.
    scheduler
        A Dask scheduler's address (implies ``executor="dask"``).
    resume
        Keep the cells already in `out` and run only the missing ones (and the failed).
    overwrite
        Replace the cells of another grid in `out` (refused without it).
    progress
        Where progress lines go (None: silent).
    timings
        A dict to fill with ``cells``, ``compute_seconds`` and ``cell_seconds`` (summed
        over workers: see `Progress`) and ``wall_seconds`` (cells run to results).

    Returns
    -------
    xarray.Dataset
        On (scenario, detector, seed), see `simlab.bench.store.assemble`; its attribute
        ``failed_cells`` lists the cells that failed.

    Examples
    --------
    >>> from simlab.bench import Grid
    >>> g = Grid(scenarios=["short_covariate_shift"], detectors={"ks": "ks"}, seeds=1,
    ...          horizon_hours=200, target_arl0=50, calibration_alarms=5)
    >>> ds = run_grid(g, progress=None)
    >>> dict(ds.sizes)
    {'scenario': 1, 'detector': 6, 'seed': 1}
    >>> bool(ds["detected"].sel(detector="ks").all())
    True
    """
    if not isinstance(grid, Grid):
        raise ConfigError("grid", grid, "a Grid", owner="run_grid")
    if scheduler is not None:
        executor = "dask"
    if executor not in EXECUTORS:
        raise ConfigError("executor", executor, f"one of {EXECUTORS}", owner="run_grid")
    check_int("run_grid", "workers", workers, 1, 4096)
    temp = None
    if out is None:
        temp = tempfile.TemporaryDirectory(prefix="simlab-bench-")
        out = temp.name
    try:
        store = Store(out, grid, resume=resume, overwrite=overwrite)
        path = str(store.path.resolve())
        done = store.done()
        n = len(grid.scenarios)
        phase1 = [f"calibrate-{i}" for i in range(n) if f"calibrate-{i}" not in done]
        all_eval = [f"evaluate-{i}-{s}" for i in range(n) for s in grid.seeds]
        todo_eval = [k for k in all_eval if k not in done]
        bar = Progress(len(phase1) + len(todo_eval), stream=progress)
        dask = _Dask(workers, scheduler) if executor == "dask" else None
        try:
            for phase in (phase1, None):
                if phase is None:  # evaluations whose scenario calibrated
                    ready = store.done()
                    phase = []
                    for k in todo_eval:
                        i = k.split("-")[1]
                        if f"calibrate-{i}" in ready:
                            phase.append(k)
                        else:
                            store.fail(k, f"not run: calibration of scenario {i} failed")
                            bar.step(k, ok=False)
                if not phase:
                    continue
                if executor == "serial":
                    _serial(grid, path, phase, bar)
                elif executor == "processes":
                    _processes(grid, path, phase, bar, workers)
                else:
                    dask.run(grid, path, phase, bar)
        finally:
            if dask is not None:
                dask.close()
        ds = store.assemble()
        failed = store.failed()
        ds.attrs["failed_cells"] = ", ".join(sorted(failed))
        if timings is not None:
            timings.update(
                cells=bar.done,
                compute_seconds=bar.compute,
                cell_seconds=bar.cell_time,
                wall_seconds=time.perf_counter() - bar.start,
            )
        if temp is None:
            store.save_results(ds)
        return ds
    finally:
        if temp is not None:
            temp.cleanup()
