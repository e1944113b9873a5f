"""003: the detector benchmark — which monitor warns first, per root cause, at one alarm rate.

Every detector is calibrated on each scenario's no-change twin to one false alarm a week
(ARL0 = 168 hourly ticks), every seed is simulated once and replayed for every detector, and
the detectors are ranked per root cause by their median lead time over the labels (a missed
change counts as the worst), beside the oracle and the null baselines (`simlab.bench`).

Run ``python experiments/003_detector_benchmark.py`` for the full study: the whole
catalogue, every registered detector that has a threshold to calibrate, 20 seeds (hours on a
laptop; use ``--workers`` or ``--scheduler`` for a cluster). ``--scenarios``,
``--detectors`` and ``--seeds`` run a part of it; ``--smoke`` is a light size the tests run.
Results (``leaderboard.md``, ``leaderboard.csv``, ``lead_time_heatmap.png``,
``lead_time_distributions.png``, ``delay_vs_oracle.png``, ``summary.csv``) go to ``--out``
(default ``experiments/results/003_detector_benchmark``); the cell store goes to
``--store`` (default ``out/003_store``), which ``--resume`` continues.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "003_detector_benchmark"
SMOKE_SCENARIOS = ("covariate_sudden", "concept_sudden")
SMOKE_DETECTORS = ("psi", "ks", "ddm")


def every_detector() -> list[str]:
    """Every registered detector with a threshold to calibrate (the oracle is added anyway)."""
    from simlab.detectors import DETECTORS

    names = []
    for kind in DETECTORS.names():
        cls = DETECTORS.get(kind)
        if kind != "oracle_cusum" and getattr(cls.tags, "threshold", None) is not None:
            names.append(kind)
    return names


def main(argv: list[str] | None = None) -> int:
    """Run the grid (or a part of it) and write its leaderboard, summary and figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a light size (the tests)")
    parser.add_argument("--scenarios", nargs="*", help="catalogue names (default: all)")
    parser.add_argument("--detectors", nargs="*", help="detector kinds (default: all)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", help="a Dask scheduler's address")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--store", default="out/003_store")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    from simlab.bench import Grid, run_grid, summarise
    from simlab.cli import write_report
    from simlab.scenarios import scenario_names

    if args.smoke:
        scenarios, detectors, seeds, horizon = SMOKE_SCENARIOS, SMOKE_DETECTORS, 2, 720.0
        store = Path(args.out) / "store"
    else:
        scenarios = args.scenarios or scenario_names()
        detectors = args.detectors or every_detector()
        seeds, horizon, store = args.seeds, None, Path(args.store)
    grid = Grid(
        scenarios=list(scenarios),
        detectors={d: {"kind": d} for d in detectors},
        seeds=seeds,
        target_arl0=168.0,
        calibration_alarms=5 if args.smoke else 20,
        horizon_hours=horizon,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    executor = "serial" if args.workers == 1 else "processes"
    ds = run_grid(
        grid,
        store,
        executor=executor,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=None if args.smoke else sys.stderr,
    )
    elapsed = time.perf_counter() - start
    text = write_report(ds, out)
    summary = summarise(ds)
    summary.drop_vars(["calibrated"]).to_dataframe().to_csv(out / "summary.csv")
    print(text)
    print(
        f"{len(grid.scenarios)} scenarios x {len(grid.detectors)} detectors x "
        f"{len(grid.seeds)} seeds in {elapsed:.0f} s; failed cells: "
        f"{ds.attrs['failed_cells'] or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
