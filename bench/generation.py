"""Generation speed: simlab's worlds against bare NumPy and against river's row-at-a-time streams.

Run ``python bench/generation.py`` (about half a minute) or ``--quick`` (a few seconds).
Figures are the best of several repeats (the minimum is robust to other load on the machine).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timing, machine, time_interleaved, time_rows

from simlab import Rngs
from simlab.world import (
    SEA,
    ConceptShift,
    CovariateShift,
    Gradual,
    Incremental,
    hyperplane,
    logistic,
    sea,
)

BATCH = 10_000
TARGETS = {"numpy": 0.5, "sea": 20.0, "hyperplane": 10.0}


def drifting_logistic():
    """10 Gaussian features; gradual mean shift of x0, x1 and gradual rotation, both on at t=160."""
    return logistic(
        n_features=10,
        shifts=(
            CovariateShift(
                features=("x0", "x1"), mean=1.0, schedule=Gradual(start=100.0, width=100.0)
            ),
            ConceptShift(rotate=60.0, schedule=Gradual(start=120.0, width=100.0)),
        ),
    )


def simlab_job(world, n_batches: int, t: float):
    def job() -> int:
        rngs = Rngs(0)
        for _ in range(n_batches):
            world.sample(BATCH, t, rngs)
        return n_batches * BATCH

    return job


def numpy_job(n_batches: int):
    def job() -> int:
        g = np.random.default_rng(0)
        for _ in range(n_batches):
            g.standard_normal((10, BATCH))
            g.random(BATCH)
        return n_batches * BATCH

    return job


def river_job(make_stream, n_rows: int):
    def job() -> int:
        for _ in itertools.islice(make_stream(), n_rows):
            pass
        return n_rows

    return job


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and repeats (smoke run)")
    args = parser.parse_args(argv)
    n_batches = 3 if args.quick else 20
    repeats = 2 if args.quick else 7
    river_rows = 5_000 if args.quick else 100_000
    river_repeats = 1 if args.quick else 3

    world = drifting_logistic()
    t_mid = 160.0  # inside both transitions
    assert len(world.covariates_at(t_mid)) == 2  # a mixture of two P(X)
    assert len(world.concept_at(t_mid)) == 2  # and of two P(Y|X)

    sea_world = sea(
        shifts=(ConceptShift(after=SEA(threshold=9.0), schedule=Gradual(start=0.0, width=100.0)),)
    )
    hyp_world = hyperplane(
        n_features=10,
        shifts=(ConceptShift(rotate=30.0, schedule=Incremental(start=0.0, width=100.0)),),
    )
    # the world and its numpy floor alternate, so both see the same load on a shared machine
    rows: list[Timing] = time_interleaved(
        {
            "simlab logistic(10), gradual cov + concept": simlab_job(world, n_batches, t_mid),
            "bare numpy: 10 normals + 1 uniform per row": numpy_job(n_batches),
            "simlab sea, gradual concept shift": simlab_job(sea_world, n_batches, 50.0),
            "simlab hyperplane(10), incremental rotation": simlab_job(hyp_world, n_batches, 50.0),
        },
        repeats=repeats,
    )
    ratios = {"numpy": rows[0].rows_per_second / rows[1].rows_per_second}
    try:
        from river.datasets import synth
    except ImportError:
        print("river is not installed: skipping the river comparison")
    else:
        half = river_rows // 2

        def river_sea():
            return synth.ConceptDriftStream(
                stream=synth.SEA(variant=0, seed=1),
                drift_stream=synth.SEA(variant=1, seed=2),
                position=half,
                width=max(half // 5, 1),
                seed=3,
            )

        def river_hyperplane():
            return synth.Hyperplane(seed=1, n_features=10, n_drift_features=2, mag_change=0.001)

        rows.append(
            time_rows(
                "river ConceptDriftStream(SEA)",
                river_job(river_sea, river_rows),
                repeats=river_repeats,
            )
        )
        rows.append(
            time_rows(
                "river Hyperplane(10, mag_change)",
                river_job(river_hyperplane, river_rows),
                repeats=river_repeats,
            )
        )
        ratios["sea"] = rows[2].rows_per_second / rows[4].rows_per_second
        ratios["hyperplane"] = rows[3].rows_per_second / rows[5].rows_per_second

    print(f"machine: {machine()}")
    print(f"{'job':<48} {'rows':>9} {'best s':>8} {'rows/s':>12}")
    for r in rows:
        print(f"{r.label:<48} {r.rows:>9,} {r.best_seconds:>8.4f} {r.rows_per_second:>12,.0f}")
    print()
    names = {
        "numpy": "simlab / bare numpy",
        "sea": "simlab SEA / river",
        "hyperplane": "simlab hyperplane / river",
    }
    ok = True
    for key, value in ratios.items():
        met = value >= TARGETS[key] and math.isfinite(value)
        ok &= met
        print(
            f"{names[key]:<28} {value:>8.2f}   target >= {TARGETS[key]:g}",
            "met" if met else "MISSED",
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
