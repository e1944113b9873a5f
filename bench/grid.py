"""A benchmark grid on one machine: 1 and 2 local workers and a local Dask cluster, in one run.

Run ``python bench/grid.py`` (the full size: 10 scenarios x 8 detectors x 10 seeds of 30-day
hourly runs at 1,000 rows a tick; about 15 minutes on two cores) or ``--size small`` for a
quick look. For each executor it prints the wall time, cells per second, the share of
worker time spent outside computing cells (scheduling, reading calibrations, writing and
assembling the store: ``1 - compute / (workers x wall)``), the speed-up over one worker, and
the peak resident memory of this process and of its workers. The three datasets must be
identical (it says so).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine

from simlab.bench import Grid, run_grid

SCENARIOS = (
    "covariate_sudden",
    "covariate_incremental",
    "covariate_extrapolation",
    "label_shift",
    "concept_sudden",
    "sea_gradual",
    "upstream_unit_change",
    "upstream_null_spike",
    "skew_transform",
    "rot_float32",
)
DETECTORS = (
    "psi",
    "ks",
    "wasserstein",
    "score_psi",
    "score_ks",
    "windowed_metric",
    "ddm",
    "page_hinkley",
)
SIZES = {
    "full": {"scenarios": 10, "detectors": 8, "seeds": 10, "hours": 720.0},
    "small": {"scenarios": 2, "detectors": 3, "seeds": 2, "hours": 240.0},
}


def make_grid(size: str) -> Grid:
    s = SIZES[size]
    return Grid(
        scenarios=list(SCENARIOS[: s["scenarios"]]),
        detectors={d: {"kind": d} for d in DETECTORS[: s["detectors"]]},
        seeds=s["seeds"],
        target_arl0=168.0,
        horizon_hours=s["hours"],
        calibration_alarms=20,
    )


def peak_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of this process and of its largest finished child."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="full")
    parser.add_argument(
        "--executors",
        default="serial,processes,dask",
        help="which to run, comma-separated (the first is the speed-up's baseline)",
    )
    args = parser.parse_args(argv)
    grid = make_grid(args.size)
    cells = len(grid.scenarios) * (1 + len(grid.seeds))
    print(f"# {machine()}")
    print(
        f"# {len(grid.scenarios)} scenarios x {len(grid.detectors)} detectors x "
        f"{len(grid.seeds)} seeds, {grid.horizon_hours:.0f}-hour runs: {cells} cells "
        f"({len(grid.scenarios)} calibrations)"
    )
    results = {}
    rows = []
    modes = {
        "serial": ("serial, 1 worker", "serial", 1),
        "processes": ("processes, 2 workers", "processes", 2),
        "dask": ("Dask local cluster, 2 workers", "dask", 2),
    }
    for label, executor, workers in (modes[m] for m in args.executors.split(",")):
        timings: dict = {}
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            ds = run_grid(
                grid, out, executor=executor, workers=workers, progress=None, timings=timings
            )
            wall = time.perf_counter() - start
        results[label] = ds
        overhead = 1.0 - timings["compute_seconds"] / (workers * wall)
        rows.append((label, wall, cells / wall, overhead, *peak_mb()))
        print(
            f"{label:<32} {wall:8.1f} s {cells / wall:7.3f} cells/s "
            f"outside cells {overhead:6.1%}  peak MB (this, workers) {rows[-1][4]:.0f}, "
            f"{rows[-1][5]:.0f}",
            flush=True,
        )
    base = rows[0][1]
    for label, wall, *_ in rows[1:]:
        print(f"speed-up over 1 worker, {label}: {base / wall:.2f}x")
    first = next(iter(results.values()))
    same = all(ds.identical(first) for ds in results.values())
    print(f"datasets identical on every executor: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
