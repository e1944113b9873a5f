"""Generation speed: simlab's worlds against bare NumPy and against river's row-at-a-time streams.

Run ``python bench/generation.py`` (about 5 s) or ``--quick`` (about 2 s).
Figures are the best of several repeats (the minimum is robust to other load on the machine).

Two sizes: batches of 10,000 rows, and the engine's own size, 1,000 rows per call. At 1,000
rows the fixed cost of a call matters, so those jobs call ``sample`` the way the engine does:
one call per simulated hour, t = 0, 1, 2, ... (a new t on every call, so nothing keyed on t
can be reused from one call to the next), each beside bare NumPy making the same number of
1,000-row draws, timed in alternation: hours before any change, hours inside both ramps, and
the sweep t = 0..299 h across them, which is the engine's own pattern and the headline.
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
ENGINE_ROWS = 1_000  # rows per call in the engine (one call per hourly tick)
TARGETS = {
    "numpy": 0.5,
    "numpy_1k_inside": 0.7,
    "numpy_1k_sweep": 0.7,
    "numpy_1k_before": 0.7,
    "sea": 20.0,
    "hyperplane": 10.0,
}
# hourly ticks of the 1,000-row jobs (see `drifting_logistic` for where the ramps lie)
HOURS_BEFORE = tuple(float(h) for h in range(0, 100))  # before any change
HOURS_INSIDE = tuple(float(h) for h in range(121, 200))  # inside both ramps, every hour
HOURS_SWEEP = tuple(float(h) for h in range(0, 300))  # before, across both ramps, after


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


def simlab_ticks_job(world, hours, n_rows: int = ENGINE_ROWS):
    """One call per hour in `hours` (as the engine calls: t moves on every call)."""

    def job() -> int:
        rngs = Rngs(0)
        for t in hours:
            world.sample(n_rows, t, rngs)
        return len(hours) * n_rows

    return job


def numpy_job(n_batches: int, n_rows: int = BATCH):
    def job() -> int:
        g = np.random.default_rng(0)
        for _ in range(n_batches):
            g.standard_normal((10, n_rows))
            g.random(n_rows)
        return n_batches * n_rows

    return job


def inside_both_ramps(world, hours) -> bool:
    """True if every shift's schedule weight is strictly between 0 and 1 at every hour."""
    return all(0.0 < s.schedule.weight(t) < 1.0 for s in world.shifts for t in hours)


def before_any_change(world, hours) -> bool:
    """True if every shift's schedule weight is 0 at every hour."""
    return all(s.schedule.weight(t) == 0.0 for s in world.shifts for t in hours)


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
    repeats_1k = 2 if args.quick else 15
    river_rows = 5_000 if args.quick else 100_000
    river_repeats = 1 if args.quick else 3

    world = drifting_logistic()
    t_mid = 160.0  # inside both transitions
    assert len(world.covariates_at(t_mid)) == 2  # a mixture of two P(X)
    assert len(world.concept_at(t_mid)) == 2  # and of two P(Y|X)
    assert inside_both_ramps(world, HOURS_INSIDE), "HOURS_INSIDE must lie inside both ramps"
    assert before_any_change(world, HOURS_BEFORE), "HOURS_BEFORE must come before any change"
    sweep_weights = [[s.schedule.weight(t) for t in HOURS_SWEEP] for s in world.shifts]
    assert all(w[0] == 0.0 and w[-1] == 1.0 for w in sweep_weights), "the sweep must cross"

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
    # the engine's size: 1,000 rows per call, a new hourly t on every call
    ticks = {"before": HOURS_BEFORE, "inside": HOURS_INSIDE, "sweep": HOURS_SWEEP}
    labels = {
        "before": f"1k/call, t=0..{HOURS_BEFORE[-1]:g} h (before any change)",
        "inside": f"1k/call, t={HOURS_INSIDE[0]:g}..{HOURS_INSIDE[-1]:g} h (inside both ramps)",
        "sweep": f"1k/call, t=0..{HOURS_SWEEP[-1]:g} h (across both ramps)",
    }
    jobs_1k = {}
    for key, hours in ticks.items():
        jobs_1k[f"simlab logistic(10), {labels[key]}"] = simlab_ticks_job(world, hours)
        jobs_1k[f"bare numpy, {len(hours)} calls of 1k rows"] = numpy_job(len(hours), ENGINE_ROWS)
    # for information (no target): an incremental drift interpolates a new concept every tick
    jobs_1k["simlab hyperplane(10), incremental rotation, 1k/call, t=1..99 h"] = simlab_ticks_job(
        hyp_world, tuple(float(h) for h in range(1, 100))
    )
    rows_1k = time_interleaved(jobs_1k, repeats=repeats_1k)
    for i, key in enumerate(ticks):
        pair = rows_1k[2 * i : 2 * i + 2]
        ratios[f"numpy_1k_{key}"] = pair[0].rows_per_second / pair[1].rows_per_second
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
    width = max(len(r.label) for r in rows + rows_1k)
    print(f"{'job':<{width}} {'rows':>9} {'best s':>8} {'rows/s':>12} {'µs/call':>8}")
    for r, per_call in [(r, BATCH) for r in rows[:4]] + [(r, ENGINE_ROWS) for r in rows_1k]:
        us = r.best_seconds / (r.rows / per_call) * 1e6
        print(
            f"{r.label:<{width}} {r.rows:>9,} {r.best_seconds:>8.4f} "
            f"{r.rows_per_second:>12,.0f} {us:>8.1f}"
        )
    for r in rows[4:]:
        print(f"{r.label:<{width}} {r.rows:>9,} {r.best_seconds:>8.4f} {r.rows_per_second:>12,.0f}")
    print()
    names = {
        "numpy": "simlab / bare numpy, 10k rows/call, t=160 h",
        "numpy_1k_inside": "simlab / bare numpy, 1k rows/call, inside both ramps",
        "numpy_1k_sweep": "simlab / bare numpy, 1k rows/call, sweep across the ramps",
        "numpy_1k_before": "simlab / bare numpy, 1k rows/call, before any change",
        "sea": "simlab SEA / river",
        "hyperplane": "simlab hyperplane / river",
    }
    width = max(len(v) for v in names.values())
    ok = True
    for key in names:
        if key not in ratios:
            continue
        value = ratios[key]
        met = value >= TARGETS[key] and math.isfinite(value)
        ok &= met
        print(
            f"{names[key]:<{width}} {value:>8.2f}   target >= {TARGETS[key]:g}",
            "met" if met else "MISSED",
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
