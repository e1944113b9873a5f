"""Detector update cost per tick, against the engine's budget (one ``update`` per simulated hour).

Run ``python bench/detectors.py``. The workload is the engine's: a 1,000-row reference
(20% of 5,000 training rows), then ticks of 1,000 rows × 10 standard-normal features,
scores and arrived labels, with ``window_size=1000``. Each detector is fitted afresh and
fed the same 200 ticks; the figure is the best of 3 repeats (the minimum is robust to
other load on the machine), in µs per tick and in seconds per simulated year (8,760 ticks).

The same run times ``np.sort`` of one tick's 10 × 1,000 values, so that the ratios
("KS = 4.1× one sort of the tick") can be compared across machines.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from simlab.detectors import KS, PSI, ScorePSI, View, WindowedMetric

N_FEATURES = 10
REFERENCE_ROWS = 1000
TICK_ROWS = 1000
N_TICKS = 200
REPEATS = 3
TICKS_PER_YEAR = 8760
WINDOW = 1000

#: The budget per tick, in µs (None: no target).
TARGETS_US = {"PSI": 150.0, "KS": 400.0, "ScorePSI": None, "WindowedMetric": None}


def make_view(rng: np.random.Generator, n: int, t: float = 0.0) -> View:
    """One tick: `n` rows of standard-normal features, logistic scores and Bernoulli labels."""
    x = rng.standard_normal((N_FEATURES, n))
    scores = 1.0 / (1.0 + np.exp(-(x[0] + x[1])))
    labels = (rng.uniform(size=n) < scores).astype(np.float64)
    columns = {f"x{j}": x[j].copy() for j in range(N_FEATURES)}
    return View(t=t, columns=columns, scores=scores, labels=labels, label_scores=scores)


def make_stream() -> tuple[View, list[View]]:
    """The reference view and the tick views, from ``np.random.default_rng(0)``."""
    rng = np.random.default_rng(0)
    reference = make_view(rng, REFERENCE_ROWS)
    views = [make_view(rng, TICK_ROWS, t=float(i + 1)) for i in range(N_TICKS)]
    return reference, views


def best_per_tick(run: Callable[[], float], repeats: int) -> float:
    """The fastest of `repeats` calls of ``run()`` (which returns its own timed seconds)."""
    return min(run() for _ in range(repeats)) / N_TICKS


def detector_run(make: Callable[[], object], reference: View, views: list[View]):
    """A job that fits a fresh detector (untimed) and times its updates over every tick."""

    def run() -> float:
        det = make().fit(reference)
        update = det.update
        start = time.perf_counter()
        for view in views:
            update(view)
        return time.perf_counter() - start

    return run


def sort_run(views: list[View]):
    """A job that times ``np.sort`` of each tick's (10, 1000) feature values."""
    ticks = [np.stack([v.columns[f"x{j}"] for j in range(N_FEATURES)]) for v in views]

    def run() -> float:
        start = time.perf_counter()
        for x in ticks:
            np.sort(x, axis=1)
        return time.perf_counter() - start

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="best of this many runs")
    args = parser.parse_args(argv)

    reference, views = make_stream()
    detectors = {
        "PSI": lambda: PSI(window_size=WINDOW),
        "KS": lambda: KS(window_size=WINDOW),
        "ScorePSI": lambda: ScorePSI(window_size=WINDOW),
        "WindowedMetric": lambda: WindowedMetric(window_size=WINDOW),
    }
    sort_us = best_per_tick(sort_run(views), args.repeats) * 1e6
    print(
        f"{N_TICKS} ticks of {TICK_ROWS} rows × {N_FEATURES} features, "
        f"reference {REFERENCE_ROWS} rows, window {WINDOW}, best of {args.repeats}"
    )
    print(f"baseline: np.sort of one tick ({N_FEATURES} × {TICK_ROWS}) = {sort_us:8.1f} µs")
    print(f"{'detector':<16}{'µs/tick':>10}{'× sort':>9}{'s/year':>9}  target")
    for name, make in detectors.items():
        us = best_per_tick(detector_run(make, reference, views), args.repeats) * 1e6
        target = TARGETS_US[name]
        verdict = (
            "" if target is None else f"<= {target:.0f} µs " + ("ok" if us <= target else "MISSED")
        )
        year = us * TICKS_PER_YEAR / 1e6
        print(f"{name:<16}{us:>10.1f}{us / sort_us:>8.1f}×{year:>9.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
