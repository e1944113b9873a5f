"""Sequential delayed-label detectors against river's: updates per second, delay, false alarms.

Run ``python bench/sequential.py`` (``--rounds N``, default 3). Each detector watches
1,000,000 values with a change at row 500,000, after a 5,000-row reference (simlab:
``fit``; river: the same rows through ``update`` first, untimed). simlab's detectors get
the stream in ticks of 1,000 rows (the engine's size: one ``update`` per tick of 1,000
arrived labels, the views built beforehand); river's get one value at a time, as river is
used (``update(x)`` then ``drift_detected``). The two sides take turns within each round
(`time_interleaved`) and the figure is each one's best round.

Streams. The error-stream detectors (DDM, EDDM, ADWIN, HDDM_A, HDDM_W, Page-Hinkley,
Bernoulli CUSUM) see error bits whose rate rises from 0.2 to 0.3; simlab reads them as
labels with every score 0 (a label of 1 is an error), river as the bits. KSWIN and the
Gaussian CUSUM see ``10 + N(0, 1)`` values whose mean rises by one standard deviation;
simlab reads them as the ``"mae"`` loss of a score of 0 (the loss is the value itself).

Calibration (the same false-alarm rate for both sides of a row):

- DDM, EDDM, ADWIN, HDDM_A, HDDM_W, Page-Hinkley: the same algorithm with the same
  parameters (simlab's defaults, which are river's, with river's Page-Hinkley set to
  ``mode="up"`` as simlab's default is). tests/test_sequential.py checks that the two
  alarm at the same rows; the script checks it again (column ``same``).
- KSWIN: the same parameters (alpha 0.005, window 100, samples of 30); the two draw their
  samples from different generators, so they agree in law, not row by row. River's KSWIN
  runs scipy's KS test in Python at every row (about 6,000 rows/s): it is timed, and its
  delay and false alarms counted, on rows 490,000 to 510,000 only (20 s for the whole
  stream would break the minute this script is allowed), and so are simlab's delay and
  false alarms in that row; simlab's throughput is over the whole stream.
- CUSUMs: river has none. Its Page-Hinkley with ``alpha=1`` is Page's CUSUM of
  ``x − x̄ − δ`` (with the running mean x̄ where a CUSUM has its in-control mean), so it
  is given the parameters that make it the same CUSUM in the stream's units: for the
  Gaussian CUSUM (known mean 10, sd 1, k = 0.5, h = 12) ``delta=0.5, threshold=12``;
  for the Bernoulli CUSUM (p0 from the reference, p1 = p0 + 0.05, h = 8 nats), whose
  increment is ``c (x − k)`` with ``c = ln(p1 (1 − p0) / (p0 (1 − p1)))`` and
  ``k = ln((1 − p0) / (1 − p1)) / c``, ``delta=k − p0, threshold=h / c``. Both have
  ``min_instances=1``. The false alarms printed are measured, not assumed.

Delay is rows from 500,000 to the first alarm at or after it; false alarms are alarms
before it (each alarm is a re-arm). Targets (the issue's): CUSUM, Page-Hinkley, DDM and
EDDM at least 20× river's throughput at equal or better delay; ADWIN no slower than
river's compiled one. ``rows()`` returns the table as dicts for another script.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, time_interleaved

from simlab.detectors import (
    ADWIN,
    DDM,
    EDDM,
    HDDM_A,
    HDDM_W,
    KSWIN,
    BernoulliCUSUM,
    GaussianCUSUM,
    PageHinkley,
    View,
)

N_ROWS = 1_000_000
CHANGE = 500_000
TICK = 1000
REFERENCE = 5000
#: river's KSWIN is timed and scored on this slice of the stream only (see the notes)
KSWIN_SLICE = (490_000, 510_000)

#: The throughput ratio each row must reach (None: no target), and whether its delay
#: must be at least as good as river's.
TARGETS = {
    "GaussianCUSUM": 20.0,
    "BernoulliCUSUM": 20.0,
    "PageHinkley": 20.0,
    "DDM": 20.0,
    "EDDM": 20.0,
    "ADWIN": 1.0,
    "HDDM_A": None,
    "HDDM_W": None,
    "KSWIN": None,
}


def _streams(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    after = np.arange(N_ROWS) >= CHANGE
    return {
        "bits": (rng.random(N_ROWS) < np.where(after, 0.3, 0.2)).astype(np.float64),
        "bits_ref": (rng.random(REFERENCE) < 0.2).astype(np.float64),
        "gauss": 10.0 + rng.normal(size=N_ROWS) + after,
        "gauss_ref": 10.0 + rng.normal(size=REFERENCE),
    }


def _simlab_job(make: Callable, reference: np.ndarray, stream: np.ndarray, out: dict):
    """A job that fits afresh and feeds the prebuilt views; it leaves the alarm rows in out."""
    zeros = np.zeros(TICK)
    starts = range(0, stream.shape[0], TICK)
    views = [View(labels=stream[i : i + TICK], label_scores=zeros) for i in starts]
    ref = View(labels=reference, label_scores=np.zeros(reference.shape[0]))

    def run() -> int:
        det = make().fit(ref)
        alarms = []
        for i, view in enumerate(views):
            if det.update(view).alarm:
                alarms.append(det.alarm_rows_ + i * TICK)
        out["alarms"] = np.concatenate(alarms) if alarms else np.empty(0, dtype=np.intp)
        return stream.shape[0]

    return run


def _river_job(make: Callable, reference: np.ndarray, stream: np.ndarray, out: dict):
    ref, values = reference.tolist(), stream.tolist()

    def run() -> int:
        det = make()
        for x in ref:
            det.update(x)
        alarms = []
        for i, x in enumerate(values):
            det.update(x)
            if det.drift_detected:
                alarms.append(i)
        out["alarms"] = np.array(alarms, dtype=np.intp)
        return len(values)

    return run


def _score(alarms: np.ndarray, change: int) -> tuple[float, int]:
    """Delay (rows from `change` to the first alarm at or after it; nan: none) and alarms before."""
    after = alarms[alarms >= change]
    delay = float(after[0] - change) if after.shape[0] else math.nan
    return delay, int(np.count_nonzero(alarms < change))


def _pairs(s: dict[str, np.ndarray]):
    """(name, simlab factory, river factory or None, stream key)."""
    try:
        from river import drift
        from river.drift import binary
    except ImportError:
        drift = binary = None
    p0 = float(np.mean(s["bits_ref"]))
    p0 = min(max(p0, 0.5 / REFERENCE), 1 - 0.5 / REFERENCE)  # as BernoulliCUSUM learns it
    p1 = p0 + 0.05
    c = math.log(p1 * (1 - p0) / (p0 * (1 - p1)))
    k = math.log((1 - p0) / (1 - p1)) / c

    def river(factory):
        return None if drift is None else factory

    return [
        (
            "GaussianCUSUM",
            lambda: GaussianCUSUM(metric="mae", mean=10.0, std=1.0, k=0.5, h=12.0),
            river(
                lambda: drift.PageHinkley(
                    min_instances=1, delta=0.5, threshold=12.0, alpha=1.0, mode="up"
                )
            ),
            "gauss",
        ),
        (
            "BernoulliCUSUM",
            lambda: BernoulliCUSUM(h=8.0),
            river(
                lambda: drift.PageHinkley(
                    min_instances=1, delta=k - p0, threshold=8.0 / c, alpha=1.0, mode="up"
                )
            ),
            "bits",
        ),
        ("PageHinkley", PageHinkley, river(lambda: drift.PageHinkley(mode="up")), "bits"),
        ("DDM", DDM, river(lambda: binary.DDM()), "bits"),
        ("EDDM", EDDM, river(lambda: binary.EDDM()), "bits"),
        ("ADWIN", ADWIN, river(lambda: drift.ADWIN()), "bits"),
        ("HDDM_A", HDDM_A, river(lambda: binary.HDDMA()), "bits"),
        ("HDDM_W", HDDM_W, river(lambda: binary.HDDMW()), "bits"),
        ("KSWIN", lambda: KSWIN(metric="mae"), river(lambda: drift.KSWIN(seed=0)), "gauss"),
    ]


def rows(rounds: int = 3) -> list[dict]:
    """One dict per detector: updates/s of both sides, their ratio, delays and false alarms.

    River's figures are None when river is not installed.
    """
    s = _streams()
    table = []
    for name, ours, theirs, key in _pairs(s):
        stream, reference = s[key], s[key + "_ref"]
        got, want = {}, {}
        jobs = {"simlab": _simlab_job(ours, reference, stream, got)}
        change = CHANGE
        if theirs is not None:
            if name == "KSWIN":
                lo, hi = KSWIN_SLICE
                jobs["river"] = _river_job(theirs, reference, stream[lo:hi], want)
            else:
                jobs["river"] = _river_job(theirs, reference, stream, want)
        slow = name in ("KSWIN", "HDDM_W", "HDDM_A")
        repeats = max(1, rounds - 1) if slow else rounds
        timings = {t.label: t for t in time_interleaved(jobs, repeats=repeats, warmup=0)}
        row = {"detector": name, "simlab_updates_per_s": timings["simlab"].rows_per_second}
        ours_alarms = got["alarms"]
        if name == "KSWIN":  # delay and false alarms on river's slice, for both
            lo, hi = KSWIN_SLICE
            ours_alarms = ours_alarms[(ours_alarms >= lo) & (ours_alarms < hi)] - lo
            change = CHANGE - lo
        row["simlab_delay"], row["simlab_false_alarms"] = _score(ours_alarms, change)
        if "river" in timings:
            row["river_updates_per_s"] = timings["river"].rows_per_second
            row["ratio"] = row["simlab_updates_per_s"] / row["river_updates_per_s"]
            row["river_delay"], row["river_false_alarms"] = _score(want["alarms"], change)
            row["same_alarms"] = (
                None
                if name in ("KSWIN", "GaussianCUSUM", "BernoulliCUSUM")
                else bool(np.array_equal(got["alarms"], want["alarms"]))
            )
        else:
            row.update(river_updates_per_s=None, ratio=None, river_delay=None)
            row.update(river_false_alarms=None, same_alarms=None)
        target = TARGETS[name]
        row["target"] = target
        if target is None or row["ratio"] is None:
            row["met"] = None
        else:
            delay_ok = not row["simlab_delay"] > row["river_delay"] or math.isnan(
                row["river_delay"]
            )
            row["met"] = bool(row["ratio"] >= target and delay_ok)
        table.append(row)
    return table


def _fmt(value, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "none"
    return format(value, spec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best is kept)")
    args = parser.parse_args(argv)
    print(f"# {machine()}; {N_ROWS:,} rows, change at {CHANGE:,}, simlab ticks of {TICK:,}")
    head = (
        f"{'detector':<15} {'simlab/s':>12} {'river/s':>12} {'ratio':>7} {'target':>7} "
        f"{'delay s':>8} {'delay r':>8} {'FA s':>5} {'FA r':>5} {'same':>5} {'met':>5}"
    )
    print(head)
    for r in rows(args.rounds):
        print(
            f"{r['detector']:<15} {_fmt(r['simlab_updates_per_s'], ',.0f'):>12} "
            f"{_fmt(r['river_updates_per_s'], ',.0f'):>12} {_fmt(r['ratio'], '.1f'):>7} "
            f"{_fmt(r['target'], '.0f'):>7} {_fmt(r['simlab_delay'], '.0f'):>8} "
            f"{_fmt(r['river_delay'], '.0f'):>8} {r['simlab_false_alarms']:>5} "
            f"{_fmt(r['river_false_alarms'], 'd'):>5} {_fmt(r['same_alarms'], ''):>5} "
            f"{_fmt(r['met'], ''):>5}"
        )


if __name__ == "__main__":
    main()
