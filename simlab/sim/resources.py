"""Sizing a run before it starts: an estimate of its memory, refused beyond a budget.

A plan that cannot fit (a year at microsecond ticks, a billion histogram bins, a rate of 1e18
rows an hour) should be refused in a second with the numbers, not die an hour later with a
memory error or a kill. The estimate adds up what grows with the run: the recorder's per-tick
arrays (and the copies made to build the Run), one tick's rows as they pass through serving
and the monitors, the labels waiting in the queue, the rows kept for retraining, the
training history, and each monitor's window and bins. It is an upper-bound sketch, good to a
factor of two, which is what a refusal needs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from simlab.errors import ConfigError

__all__ = ["Estimate", "check_resources", "estimate", "memory_budget"]

_F8 = 8  # bytes of a float64 or int64
#: A label waiting in the queue: label, score, push number and propensity (at most 8 bytes
#: each), in pages that grow by doubling (so up to twice the rows in flight).
_LABEL_BYTES = 4 * _F8 * 2
#: Copies of a tick's rows alive at once (world columns, served matrix, monitors' stacks, ...).
_ROW_COPIES = 8


@dataclass(frozen=True)
class Estimate:
    """A run's estimated peak memory, in bytes, part by part.

    Examples
    --------
    >>> e = Estimate({"recorder": 1e6, "labels": 2e6})
    >>> e.total, e.describe()
    (3000000.0, 'about 3 MB (labels 2 MB, recorder 1 MB)')
    """

    parts: dict[str, float]

    @property
    def total(self) -> float:
        """The sum of the parts."""
        return float(sum(self.parts.values()))

    def describe(self) -> str:
        """The total and its largest parts, in words."""
        top = sorted(self.parts.items(), key=lambda kv: -kv[1])[:3]
        parts = ", ".join(f"{k} {_size(v)}" for k, v in top if v > 0)
        return f"about {_size(self.total)} ({parts})"


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def memory_budget() -> float:
    """The default budget: half of this machine's physical memory (8 GB if it cannot say).

    Examples
    --------
    >>> memory_budget() > 1e8
    True
    """
    try:
        return 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8e9


def _detector_bytes(detector, n_columns: int) -> float:
    """A monitor's window and bins, from the parameters that size them."""
    params = detector.get_params() if hasattr(detector, "get_params") else {}
    features = params.get("features")
    width = len(features) if features else n_columns
    window = float(params.get("window_size") or 0)
    bins = float(params.get("n_bins") or 0)
    return (window * 3 + bins * 4) * width * _F8


def estimate(scenario) -> Estimate:
    """Estimate the peak memory `scenario` needs, part by part.

    Examples
    --------
    >>> from simlab.scenarios import get_scenario
    >>> e = estimate(get_scenario("covariate_extrapolation"))
    >>> 1e7 < e.total < 1e9
    True
    """
    n_ticks = float(scenario.n_ticks)
    n_features = len(scenario.world.schema)
    n_monitors = len(scenario.monitors)
    # the recorder: counts, sums, two 400-cell histograms (a third for weighted labels), the
    # score histogram, feature summaries, verdicts, blame, offline figures: about twice that
    # while the Run is built at the end
    per_tick = (
        12 * _F8
        + 3 * 2 * 200 * _F8
        + scenario.n_bins * _F8
        + 3 * n_features * _F8
        + n_monitors * (2 * _F8 + 1 + n_features)
        + 6 * _F8
    )
    rows_per_tick = scenario.traffic.peak_rate() * scenario.tick_hours
    rows_per_tick += 6.0 * math.sqrt(rows_per_tick)  # Poisson's upper tail
    mean_rows_per_hour = scenario.traffic.peak_rate()
    in_flight = mean_rows_per_hour * min(scenario.delay.expected_hours(), scenario.horizon_hours)
    parts = {
        "recorder": 2.0 * n_ticks * per_tick,
        "one tick's rows": rows_per_tick * (n_features + 4) * _F8 * _ROW_COPIES,
        # rows in flight, and per tick its pages' head, tail, fill, count and scratch
        "label queue": in_flight * _LABEL_BYTES + n_ticks * 5 * _F8,
        "training history": scenario.train_rows * (n_features + 2) * _F8 * 4,
        "monitors": sum(_detector_bytes(m, n_features) for m in scenario.monitors),
    }
    if scenario.policy.retrains:
        window = min(scenario.policy.window_hours, scenario.horizon_hours)
        parts["rows kept to retrain"] = mean_rows_per_hour * window * (n_features + 4) * _F8 * 2
    return Estimate(parts)


def check_resources(scenario, budget: float | None = None) -> Estimate:
    """Refuse `scenario` with a `ConfigError` if its estimate exceeds `budget` (bytes).

    Parameters
    ----------
    scenario
        The plan.
    budget
        Bytes allowed; None for `memory_budget` (half of this machine's memory).

    Examples
    --------
    >>> from simlab.scenarios import get_scenario
    >>> check_resources(get_scenario("no_change").replace(tick_hours=1e-3), budget=1e9)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: simulate: scenario='no_change' is not allowed; expected ...
    """
    budget = memory_budget() if budget is None else float(budget)
    found = estimate(scenario)
    if not found.total <= budget:
        raise ConfigError(
            "scenario",
            scenario.name,
            f"a plan within the memory budget of {_size(budget)}; this one needs "
            f"{found.describe()} (fewer ticks, rows, bins or a smaller window; or raise the "
            "budget: simulate(..., memory_budget=BYTES), simlab run --memory-budget GB)",
            owner="simulate",
        )
    return found
