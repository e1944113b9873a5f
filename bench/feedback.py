"""One trial of the homogenisation study, against its limit, on one core.

The trial is the issue's size: 100 users, 20 attributes, 10 new items per step, 100 steps,
all six recommenders (`default_recommenders`), retrained every step. Timed interleaved in the
same run (best of several repeats):

- **trial**: `homogenisation_trial(training="repeated")`: six replays and the metrics;
- **matrix factorisation**: the matrix-factorisation replay alone (its share of the trial);
- **limit**: the irreducible ranking work of the same trial in bare numpy: for six
  recommenders and every step, draw the step's random keys, sort every user's list and
  take the best discounted item (no training, no metrics). trial / limit says what the
  recommenders and metrics cost above the ranking every simulator must do.

T-RECS, the published replication, took about 2 minutes per trial here (it no longer
installs from the package index; see issue 11); the ratio to that figure is printed
beside, as a recorded figure rather than a same-run timing. Target: under 5 s per trial
(at least 25x T-RECS). Run ``python bench/feedback.py`` (about a minute); ``--quick`` for
a smoke run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, time_interleaved

from simlab.feedback import (
    MatrixFactorisation,
    RecommenderWorld,
    homogenisation_trial,
    replay,
)

TRECS_SECONDS = 120.0  # one trial of the T-RECS replication on this machine (issue 11)


def limit(world: RecommenderWorld, n_recommenders: int = 6) -> int:
    """The ranking work alone: keys, one sort per user list and the best item, per step."""
    cat = world.draw(0)
    u = world.n_users
    weights = np.arange(1, world.n_items + 1, dtype=np.float64) ** -world.attention
    rng = np.random.default_rng(0)
    for _ in range(n_recommenders):
        for s in range(world.steps):
            n_av = (s + 1) * world.items_per_step
            keys = rng.random((u, n_av))
            order = np.argsort(keys, axis=1)
            value = np.take_along_axis(cat.utility[:, :n_av], order, axis=1) * weights[:n_av]
            value.argmax(axis=1)
    return world.steps


def main(argv: list[str] | None = None) -> int:
    """Time the trial, its matrix factorisation and the limit; print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (small world)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    world = (
        RecommenderWorld(n_users=20, steps=15, startup_steps=2)
        if args.quick
        else RecommenderWorld()
    )
    repeats = 1 if args.quick else args.repeats
    jobs = {
        "trial": lambda: homogenisation_trial(world, training="repeated").sizes["step"],
        "matrix factorisation": lambda: replay(world, MatrixFactorisation()).chosen.shape[0],
        "limit": lambda: limit(world),
    }
    with threadpool_limits(1):
        timings = {t.label: t.best_seconds for t in time_interleaved(jobs, repeats=repeats)}
    trial = timings["trial"]
    print(machine())
    print(
        f"world: {world.n_users} users, {world.n_attributes} attributes, "
        f"{world.items_per_step} new items per step, {world.steps} steps; six recommenders"
    )
    print(f"trial (retrained every step): {trial:.2f} s")
    print(
        f"matrix factorisation replay: {timings['matrix factorisation']:.2f} s "
        f"({timings['matrix factorisation'] / trial:.0%} of the trial)"
    )
    print(
        f"limit (ranking only): {timings['limit']:.2f} s; trial / limit = "
        f"{trial / timings['limit']:.2f}"
    )
    print(
        f"T-RECS (recorded, ~{TRECS_SECONDS:.0f} s per trial) / trial = "
        f"{TRECS_SECONDS / trial:.0f}x (target: trial < 5 s, >= 25x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
