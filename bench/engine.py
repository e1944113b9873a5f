"""Engine throughput: one simulated year, hourly ticks, 1,000 rows a tick, four monitors.

Prints rows/s end to end, the same world's generation alone (the floor the engine
builds on, timed in the same run), their ratio, and the peak resident memory of the
simulation process. Run: ``python bench/engine.py`` (``--days 30`` for a shorter one).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time

from threadpoolctl import threadpool_limits

from simlab.detectors import KS, PSI, ScorePSI, WindowedMetric
from simlab.rng import Rngs
from simlab.sim import Constant, ExponentialDelay, Scenario, simulate
from simlab.world import ConceptShift, CovariateShift, Gradual, logistic

ROWS_PER_TICK = 1000


def bench_world(days: float):
    """bench/generation.py's world: 10 Gaussian features, gradual covariate and concept shifts."""
    mid = days * 24 / 2
    return logistic(
        n_features=10,
        shifts=(
            CovariateShift(features=("x0", "x1"), mean=1.0, schedule=Gradual(start=mid, width=mid)),
            ConceptShift(rotate=45.0, schedule=Gradual(start=mid, width=mid)),
        ),
    )


def scenario(days: float) -> Scenario:
    return Scenario(
        world=bench_world(days),
        traffic=Constant(rate_per_hour=float(ROWS_PER_TICK), poisson=False),
        delay=ExponentialDelay(mean_hours=72.0),
        monitors=(PSI(), KS(), ScorePSI(), WindowedMetric()),
        horizon_hours=days * 24,
        name="bench_engine",
    )


def _simulate(days: float, out) -> None:
    with threadpool_limits(1):
        start = time.perf_counter()
        run = simulate(scenario(days), seed=0)
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((int(run.n_rows.sum()), seconds, peak_mb))


def _generate(days: float) -> tuple[int, float]:
    world = bench_world(days)
    rngs = Rngs(0)
    n_ticks = int(days * 24)
    start = time.perf_counter()
    for k in range(n_ticks):
        world.sample(ROWS_PER_TICK, float(k), rngs)
    return n_ticks * ROWS_PER_TICK, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=365.0)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")  # a fresh process, so its peak memory is the run's own
    queue = ctx.Queue()
    proc = ctx.Process(target=_simulate, args=(args.days, queue))
    proc.start()
    rows, seconds, peak_mb = queue.get()
    proc.join()
    with threadpool_limits(1):
        gen_rows, gen_seconds = _generate(args.days)
    engine_rate = rows / seconds
    gen_rate = gen_rows / gen_seconds
    print(f"simulated {args.days:g} days: {rows:,} rows, hourly ticks, 4 monitors, one core")
    print(f"engine end to end   {engine_rate:12,.0f} rows/s  ({seconds:.1f} s)")
    print(f"generation alone    {gen_rate:12,.0f} rows/s  ({gen_seconds:.1f} s)")
    print(f"ratio engine/generation  {engine_rate / gen_rate:.2f}")
    print(f"peak memory of the simulation process  {peak_mb:,.0f} MB")
    target = engine_rate >= 500_000 and peak_mb < 1024
    print(f"target (>= 500,000 rows/s, < 1 GB): {'met' if target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
