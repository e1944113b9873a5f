"""Engine throughput against its limit: hourly ticks of 1,000 rows, four monitors, one core.

Three comparisons, each timed interleaved in the same run (a, b, a, b, ...; best of several
repeats, so load from other processes on a shared machine cancels in the ratio):

- **engine / limit**: `simulate` against its limit, the same work without the engine: the same
  world draws the same ticks, the same deployed model scores them, and each monitor updates
  on them alone (the labels monitor on the tick's own labels). What is left is the engine's
  own cost: decisions, the label queue, recording, simpy, also printed in µs per tick
  (engine − limit), which does not move when the shared work gets cheaper. Target: at
  least 0.8.
- **engine / draw+score**: `simulate` against drawing and scoring alone (aim: 0.5).
- **lending loop / open loop**: the lending world with a top-share decision and selective
  labels against the same world with every row labelled: the loop may cost at most 20% more
  per row (a ratio of at least 1 / 1.2 = 0.83 in rows per second).
- **a challenger**: the engine with a shadow model, and with a 10% A/B test, against the
  single-model engine; the extra cost per row against what a second model's scoring alone
  costs (target: at most that).

Then one simulated year (8.76 M rows) runs in a fresh process, for its throughput and its
peak resident memory (target: under 400 MB). Run ``python bench/engine.py`` (about a
minute); ``--quick`` for a smoke run.

``--fixed`` instead splits the engine's own cost per tick (its excess over the limit) into
what it costs at one row a tick, its fixed work per tick, and what 1,000 rows add.

``--roles`` instead times each role inside the engine (one run of ``--days`` after a
warm-up, a timer around every role's function): where a tick's time goes. The timers add
about a microsecond per call, and a role's time inside the engine is typically more than
the same work in a micro-benchmark (the engine's working set does not stay in cache).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, time_interleaved

from simlab.decisions import TopShare
from simlab.detectors import KS, PSI, ScorePSI, View, WindowedMetric
from simlab.feedback import lending
from simlab.rng import Rngs
from simlab.sim import ABTest, Constant, ExponentialDelay, Scenario, Shadow, simulate
from simlab.world import ConceptShift, CovariateShift, Gradual, logistic

ROWS_PER_TICK = 1000
TARGET_LIMIT = 0.8
AIM_DRAW_SCORE = 0.5
TARGET_LOOP = 1 / 1.2
TARGET_MB = 400


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


def monitors():
    return (PSI(), KS(), ScorePSI(), WindowedMetric())


def scenario(days: float, world=None, rows: int = ROWS_PER_TICK, **kw) -> Scenario:
    spec = {
        "world": bench_world(days) if world is None else world,
        "traffic": Constant(rate_per_hour=float(rows), poisson=False),
        "delay": ExponentialDelay(mean_hours=72.0),
        "monitors": monitors(),
        "horizon_hours": days * 24,
        "name": "bench_engine",
    }
    spec.update(kw)
    return Scenario(**spec)


def engine_job(s: Scenario):
    def job() -> int:
        return int(simulate(s, seed=0).n_rows.sum())

    return job


def limit_job(s: Scenario, *, with_monitors: bool):
    """The same rows drawn and scored, each monitor updated on them alone (no engine)."""
    run_rngs = Rngs(0)
    model = s.model.train(
        s.world.sample(s.train_rows, -1.0, run_rngs.child("history")), version=0, rng=0
    )
    n_ticks, rows = s.n_ticks, _rows(s)

    def job() -> int:
        rngs = Rngs(0)
        dets = [m.clone().fit(model.reference) for m in s.monitors]  # as the engine does
        for k in range(n_ticks):
            batch = s.world.sample(rows, float(k), rngs)
            scores = model.scores(batch.columns)
            if with_monitors:
                view = View(
                    t=float(k),
                    columns=batch.columns,
                    scores=scores,
                    labels=batch.y,
                    label_scores=scores,
                )
                for m in dets:
                    m.update(view)
        return n_ticks * rows

    return job


def _rows(s: Scenario) -> int:
    """Rows per tick of a bench scenario (constant traffic, one-hour ticks)."""
    return round(s.traffic.rate_per_hour * s.tick_hours)


def scoring_job(s: Scenario):
    """A second model's scoring alone: the same ticks drawn once, then scored (timed)."""
    model = s.model.train(s.world.sample(s.train_rows, -1.0, Rngs(1)), version=0, rng=0)
    rngs = Rngs(0)
    batches = [s.world.sample(_rows(s), float(k), rngs) for k in range(s.n_ticks)]

    def job() -> int:
        for batch in batches:
            model.serve(batch.columns, n=batch.n)
        return s.n_ticks * _rows(s)

    return job


def roles(days: float) -> list[tuple[str, float]]:
    """µs per tick spent in each role of one engine run (timers around each function)."""
    import contextlib
    import time as _time

    import simlab.sim.engine as eng
    from simlab.sim.processes import Deployment, Labels, ServingLog
    from simlab.sim.recorder import Recorder

    s = scenario(days)
    targets = [
        (eng, "serve", "serve (draw, serving slot, score)"),
        (eng, "decide", "decide"),
        (eng, "respond", "respond"),
        (Recorder, "serve", "record the served tick"),
        (Recorder, "decide", "record the decision"),
        (type(s.delay), "draw", "draw label delays"),
        (Labels, "push", "label queue: push"),
        (Labels, "deliver", "label queue: deliver"),
        (Recorder, "observe", "record arrived labels"),
        (eng, "View", "build the monitors' view"),
        (eng, "monitor", "monitors (updates and verdicts)"),
        (Recorder, "verdict", "  of which: record verdicts"),
        (ServingLog, "tick", "serving log"),
        (eng._Run, "initial_training_batch", "history before hour 0 (once)"),
        (Deployment, "deploy", "train and deploy (once)"),
        (Recorder, "to_dataset", "build the Run (once)"),
    ]
    spent: dict[str, float] = {}

    def timed(f, label):
        def wrapper(*a, **k):
            start = _time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + _time.perf_counter() - start

        return wrapper

    with contextlib.ExitStack() as undo, threadpool_limits(1):
        for owner, name, label in targets:
            original = getattr(owner, name)
            setattr(owner, name, timed(original, label))
            undo.callback(setattr, owner, name, original)
        simulate(s, seed=0)  # warm-up
        spent.clear()
        start = _time.perf_counter()
        simulate(s, seed=0)
        total = _time.perf_counter() - start
    per_tick = 1e6 / s.n_ticks
    rows = [(label, spent.get(label, 0.0) * per_tick) for _, _, label in targets]
    outside = total - sum(v for label, v in spent.items() if not label.startswith("  "))
    return [*rows, ("the rest (simpy, the tick's own lines)", outside * per_tick),
            ("total", total * per_tick)]  # fmt: skip


def fixed(days: float, repeats: int) -> dict[int, dict[str, float]]:
    """µs per tick of the engine and its limit at one row a tick and at 1,000, interleaved.

    At one row a tick the rows cost next to nothing, so the engine's excess over its limit
    is its fixed cost per tick (the Python of its roles, their calls, simpy) plus its
    once-per-run work (the history, the first training, building the Run) spread over the
    ticks; what the 1,000 rows add on top is its per-row cost.
    """
    out = {}
    with threadpool_limits(1):
        for rows in (1, ROWS_PER_TICK):
            s = scenario(days, rows=rows)
            jobs = {"engine": engine_job(s), "limit": limit_job(s, with_monitors=True)}
            timed = time_interleaved(jobs, repeats=repeats)
            out[rows] = {t.label: 1e6 * rows / t.rows_per_second for t in timed}
    return out


def _year(days: float, out) -> None:
    with threadpool_limits(1):
        start = time.perf_counter()
        run = simulate(scenario(days), seed=0)
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((int(run.n_rows.sum()), seconds, peak_mb))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=60.0, help="days per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--year-days", type=float, default=365.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run (a few seconds)")
    parser.add_argument("--roles", action="store_true", help="where a tick's time goes")
    parser.add_argument(
        "--fixed", action="store_true", help="the engine's fixed and per-row cost per tick"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.repeats, args.year_days = 2.0, 2, 5.0
    if args.roles:
        print(machine())
        print(f"µs per {ROWS_PER_TICK:,}-row tick, each role timed in place, {args.days:g} days\n")
        for label, us in roles(args.days):
            print(f"{label:<42}{us:8.1f}")
        return 0
    if args.fixed:
        print(machine())
        print(f"µs per tick, {args.days:g} days per repeat, best of {args.repeats}\n")
        us = fixed(args.days, args.repeats)
        for rows, t in us.items():
            excess = t["engine"] - t["limit"]
            print(f"{rows:>5} rows a tick: engine {t['engine']:7.1f}  limit {t['limit']:7.1f}  "
                  f"engine - limit {excess:6.1f}")  # fmt: skip
        one, full = (us[r]["engine"] - us[r]["limit"] for r in (1, ROWS_PER_TICK))
        print(f"\nthe engine's own cost per tick: {one:.1f} fixed + {full - one:.1f} for the rows")
        return 0
    # The year first: a spawned child inherits the parent's peak memory on Linux (exec keeps
    # it), so it must start before this process has grown with the timed runs.
    ctx = mp.get_context("spawn")  # a fresh process, so its peak memory is the run's own
    queue = ctx.Queue()
    proc = ctx.Process(target=_year, args=(args.year_days, queue))
    proc.start()
    rows, seconds, peak_mb = queue.get()
    proc.join()
    print(machine())
    print(f"{ROWS_PER_TICK:,} rows per hourly tick, {args.days:g} days per repeat, one core\n")
    s = scenario(args.days)
    closed = scenario(
        args.days,
        world=lending(),
        decision=TopShare(share=0.3),
        monitors=monitors(),
    )
    open_loop = closed.replace(world=lending().world, decision=TopShare(share=0.3))
    with threadpool_limits(1):
        timings = time_interleaved(
            {
                "engine": engine_job(s),
                "limit": limit_job(s, with_monitors=True),
                "draw+score": limit_job(s, with_monitors=False),
            },
            repeats=args.repeats,
        )
        loop = time_interleaved(
            {"open loop": engine_job(open_loop), "lending loop": engine_job(closed)},
            repeats=args.repeats,
        )
        shadow = s.replace(challengers=(Shadow(),))
        ab = s.replace(challengers=(ABTest(share=0.1),))
        second = time_interleaved(
            {
                "one model": engine_job(s),
                "+ shadow": engine_job(shadow),
                "+ A/B 10%": engine_job(ab),
                "scoring only": scoring_job(s),
            },
            repeats=args.repeats,
        )
    rate = {t.label: t.rows_per_second for t in timings + loop + second}
    for label, value in rate.items():
        print(f"{label:<14}{value:12,.0f} rows/s  ({1e6 * ROWS_PER_TICK / value:6.0f} µs per tick)")
    print(
        f"\none simulated {args.year_days:g} days: {rows:,} rows in {seconds:.1f} s "
        f"({rows / seconds:,.0f} rows/s), peak memory {peak_mb:,.0f} MB "
        f"(target < {TARGET_MB} MB: {'met' if peak_mb < TARGET_MB else 'NOT met'})"
    )
    r_draw = rate["engine"] / rate["draw+score"]
    r_loop = rate["lending loop"] / rate["open loop"]
    print(f"engine/draw+score = {r_draw:.2f}  (aim {AIM_DRAW_SCORE})")
    print(
        f"lending loop/open loop = {r_loop:.2f}  (the loop costs {1 / r_loop - 1:+.0%} per row; "
        f"target at most +20%: {'met' if r_loop >= TARGET_LOOP else 'NOT met'})"
    )
    r_limit = rate["engine"] / rate["limit"]
    own = 1e6 * ROWS_PER_TICK * (1.0 / rate["engine"] - 1.0 / rate["limit"])
    print(f"the engine's own work: {own:.0f} µs per tick (engine - limit)")
    print(f"engine/limit = {r_limit:.2f}")
    one = 1.0 / rate["one model"]
    score = 1.0 / rate["scoring only"]
    for label in ("+ shadow", "+ A/B 10%"):
        extra = 1.0 / rate[label] - one
        print(
            f"{label}: {extra * 1e6:.2f} µs per row more than one model; a second model's "
            f"scoring costs {score * 1e6:.2f} µs per row: ratio {extra / score:.2f} "
            f"(target at most 1: {'met' if extra <= score else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
