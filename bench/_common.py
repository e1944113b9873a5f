"""Shared timing helper for the benchmark scripts: best-of-k wall time and rows per second."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Timing", "machine", "time_interleaved", "time_rows"]


@dataclass(frozen=True)
class Timing:
    """The best of several timed repeats of one job that produces `rows` rows.

    Examples
    --------
    >>> Timing("x", rows=1000, best_seconds=0.5, repeats=3).rows_per_second
    2000.0
    """

    label: str
    rows: int
    best_seconds: float
    repeats: int

    @property
    def rows_per_second(self) -> float:
        """Rows per second of the fastest repeat."""
        return self.rows / self.best_seconds


def time_rows(label: str, job: Callable[[], int], *, repeats: int = 5, warmup: int = 1) -> Timing:
    """Run ``job()`` (which returns the number of rows it made) and keep the fastest repeat.

    The minimum is the right summary on a shared machine: noise from other processes only
    ever adds time, so the fastest repeat is the closest to the code's own cost.

    Examples
    --------
    >>> t = time_rows("noop", lambda: 10, repeats=2, warmup=0)
    >>> t.rows, t.repeats
    (10, 2)
    """
    for _ in range(warmup):
        job()
    best = float("inf")
    rows = 0
    for _ in range(repeats):
        start = time.perf_counter()
        rows = job()
        best = min(best, time.perf_counter() - start)
    return Timing(label, rows=rows, best_seconds=max(best, 1e-12), repeats=repeats)


def time_interleaved(
    jobs: dict[str, Callable[[], int]], *, repeats: int = 5, warmup: int = 1
) -> list[Timing]:
    """Time several jobs in alternation (a, b, a, b, ...) and keep each one's fastest repeat.

    Alternating exposes every job to the same spells of load from other processes, so a
    ratio of two of them is steadier than when each is timed in its own block.

    Examples
    --------
    >>> [t.label for t in time_interleaved({"a": lambda: 1, "b": lambda: 2}, repeats=1)]
    ['a', 'b']
    """
    for _ in range(warmup):
        for job in jobs.values():
            job()
    best = dict.fromkeys(jobs, float("inf"))
    rows = dict.fromkeys(jobs, 0)
    for _ in range(repeats):
        for label, job in jobs.items():
            start = time.perf_counter()
            rows[label] = job()
            best[label] = min(best[label], time.perf_counter() - start)
    return [Timing(k, rows[k], max(best[k], 1e-12), repeats) for k in jobs]


def machine() -> str:
    """A one-line description of the interpreter and platform.

    Examples
    --------
    >>> "Python" in machine()
    True
    """
    import os

    import numpy as np

    return (
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    )
