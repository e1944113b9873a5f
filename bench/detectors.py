"""Detector update cost per tick, against the engine's budget (one ``update`` per simulated hour).

Run ``python bench/detectors.py``. The workload is the engine's: a 1,000-row reference
(20% of 5,000 training rows), then ticks of 1,000 rows × 10 standard-normal features,
scores and arrived labels, with ``window_size=1000``; KS is also timed with a 5,000-row
reference. Each detector is fitted afresh and fed the same 200 ticks. Every job runs
once per round and the rounds interleave the jobs, so that other load on the machine
hits them alike; the figure is the best round (the minimum is robust to that load), in
µs per tick and in seconds per simulated year (8,760 ticks).

The same rounds time ``np.sort`` of one tick's 10 × 1,000 values, so that the ratios
("KS = 4.1× one sort of the tick") can be compared across machines. The data-quality
monitors are timed on the same ticks, except `UnseenCategories`, which needs categorical
columns: it watches the same values cut into 8 string categories per feature. So are the
further feature monitors (KS with ``correction="fdr"``, ChiSquare on the numbers' quantile
bins and on the string categories, Wasserstein, JensenShannon, Hellinger, and, with one
BLAS/OpenMP thread as ``bench/engine.py`` runs, MMD, DomainClassifier and
PCAReconstruction at their default sizes). The prediction-score monitors (`ScoreKS`,
`MeanConfidence`, `ScoreEntropy`, `HistogramShape`, `CBPE`, `BBSE`) read the same ticks'
scores, with the reference's labels where they need them (CBPE, BBSE). A tree given to
``--against`` that lacks any of these shows "-" in their rows.

``--against PATH`` times a second simlab source tree on the same workload: PATH is the
directory that holds its ``simlab`` package (``git worktree add PATH <commit>``, or
``git archive <commit> simlab | tar -x -C PATH``). Worker processes for the two trees
take turns, one round each, and both figures are printed with their ratio.
``--ragged`` draws each tick's row count from Poisson(1,000) instead (the engine's
traffic is rarely constant). ``--searches`` compares ways of coding a tick, interleaved:
the detectors' `BucketSearch`, one ``np.searchsorted`` per feature, and one
``np.searchsorted`` over every feature's keys laid end to end with an offset per
feature (timing only: adding an offset rounds, so that last one is not exact).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from simlab.detectors import KS, PSI, ScorePSI, View, WindowedMetric

N_FEATURES = 10
REFERENCE_ROWS = 1000
LARGE_REFERENCE_ROWS = 5000
TICK_ROWS = 1000
N_TICKS = 200
ROUNDS = 5
TICKS_PER_YEAR = 8760
WINDOW = 1000

#: The engine's four catalogue monitors, summed as "the four together".
ENGINE = ("PSI", "KS", "ScorePSI", "WindowedMetric")

#: The budget per tick, in µs (None: no target).
TARGETS_US = {
    "PSI": 150.0,
    "KS": 400.0,
    "ScorePSI": None,
    "WindowedMetric": None,
    "KS, 5,000-row reference": None,
    "SchemaCheck": None,
    "NullRate": None,
    "RangeCheck": None,
    "UnseenCategories (strings)": None,
    "Cardinality": None,
    "ScoreKS": None,
    "MeanConfidence": None,
    "ScoreEntropy": None,
    "HistogramShape": None,
    "CBPE": None,
    "BBSE": None,
    "KS, fdr": None,
    "ChiSquare": None,
    "ChiSquare (strings)": None,
    "Wasserstein": None,
    "JensenShannon": None,
    "Hellinger": None,
    "MMD (1 thread)": None,
    "DomainClassifier (1 thread)": None,
    "PCAReconstruction (1 thread)": None,
}

#: The string categories `UnseenCategories` watches: each value's octile of N(0, 1).
CATEGORIES = np.array(list("abcdefgh"))
OCTILES = np.array([-1.15035, -0.67449, -0.31864, 0.0, 0.31864, 0.67449, 1.15035])


def make_view(rng: np.random.Generator, n: int, t: float = 0.0) -> View:
    """One tick: `n` rows of standard-normal features, logistic scores and Bernoulli labels."""
    x = rng.standard_normal((N_FEATURES, n))
    scores = 1.0 / (1.0 + np.exp(-(x[0] + x[1])))
    labels = (rng.uniform(size=n) < scores).astype(np.float64)
    columns = {f"x{j}": x[j].copy() for j in range(N_FEATURES)}
    return View(t=t, columns=columns, scores=scores, labels=labels, label_scores=scores)


def make_stream(
    reference_rows: int = REFERENCE_ROWS, *, ragged: bool = False
) -> tuple[View, list[View]]:
    """The reference view and the tick views, from ``np.random.default_rng(0)``."""
    rng = np.random.default_rng(0)
    reference = make_view(rng, reference_rows)
    rows = rng.poisson(TICK_ROWS, N_TICKS) if ragged else np.full(N_TICKS, TICK_ROWS)
    views = [make_view(rng, int(n), t=float(i + 1)) for i, n in enumerate(rows)]
    return reference, views


def as_categories(view: View) -> View:
    """The view's features cut into 8 string categories each (their octiles)."""
    columns = {f: CATEGORIES[np.searchsorted(OCTILES, x)] for f, x in view.columns.items()}
    return View(t=view.t, columns=columns)


def quality_jobs(reference: View, views: list[View]) -> dict[str, Callable[[], float]]:
    """The data-quality monitors' jobs; none if this simlab tree does not have them."""
    try:
        from simlab.detectors import (
            Cardinality,
            NullRate,
            RangeCheck,
            SchemaCheck,
            UnseenCategories,
        )
    except ImportError:
        return {}
    strings = [as_categories(v) for v in views]
    return {
        "SchemaCheck": detector_run(SchemaCheck, reference, views),
        "NullRate": detector_run(lambda: NullRate(window_size=WINDOW), reference, views),
        "RangeCheck": detector_run(lambda: RangeCheck(window_size=WINDOW), reference, views),
        "UnseenCategories (strings)": detector_run(
            lambda: UnseenCategories(window_size=WINDOW), as_categories(reference), strings
        ),
        "Cardinality": detector_run(lambda: Cardinality(window_size=WINDOW), reference, views),
    }


def score_jobs(reference: View, views: list[View]) -> dict[str, Callable[[], float]]:
    """The prediction-score monitors' jobs; none if this simlab tree does not have them."""
    try:
        from simlab.detectors import (
            BBSE,
            CBPE,
            HistogramShape,
            MeanConfidence,
            ScoreEntropy,
            ScoreKS,
        )
    except ImportError:
        return {}
    return {
        cls.__name__: detector_run(lambda cls=cls: cls(window_size=WINDOW), reference, views)
        for cls in (ScoreKS, MeanConfidence, ScoreEntropy, HistogramShape, CBPE, BBSE)
    }


def one_thread(job: Callable[[], float]) -> Callable[[], float]:
    """The job run with BLAS and OpenMP limited to one thread (as ``bench/engine.py`` runs).

    The limit is set before the job starts its clock: only the updates are timed.
    """
    from threadpoolctl import threadpool_limits

    def run() -> float:
        with threadpool_limits(1):
            return job()

    return run


def feature_jobs(reference: View, views: list[View]) -> dict[str, Callable[[], float]]:
    """The further feature monitors' jobs; none if this simlab tree does not have them.

    Univariate ones as PSI and KS are timed; the multivariate ones (matrix products,
    scikit-learn fits) with one BLAS/OpenMP thread, the fastest on ticks this small.
    """
    try:
        from simlab.detectors import (
            MMD,
            ChiSquare,
            DomainClassifier,
            Hellinger,
            JensenShannon,
            PCAReconstruction,
            Wasserstein,
        )
    except ImportError:
        return {}
    strings = [as_categories(v) for v in views]
    w = {"window_size": WINDOW}
    return {
        "KS, fdr": detector_run(lambda: KS(correction="fdr", **w), reference, views),
        "ChiSquare": detector_run(lambda: ChiSquare(**w), reference, views),
        "ChiSquare (strings)": detector_run(
            lambda: ChiSquare(**w), as_categories(reference), strings
        ),
        "Wasserstein": detector_run(lambda: Wasserstein(**w), reference, views),
        "JensenShannon": detector_run(lambda: JensenShannon(**w), reference, views),
        "Hellinger": detector_run(lambda: Hellinger(**w), reference, views),
        "MMD (1 thread)": one_thread(detector_run(lambda: MMD(**w), reference, views)),
        "DomainClassifier (1 thread)": one_thread(
            detector_run(lambda: DomainClassifier(**w), reference, views)
        ),
        "PCAReconstruction (1 thread)": one_thread(
            detector_run(lambda: PCAReconstruction(**w), reference, views)
        ),
    }


def timed(code: Callable, inputs: list) -> Callable[[], float]:
    """A job that times ``code(a)`` for every `a` of `inputs`, in seconds."""

    def run() -> float:
        start = time.perf_counter()
        for a in inputs:
            code(a)
        return time.perf_counter() - start

    return run


def detector_run(make: Callable[[], object], reference: View, views: list[View]):
    """A job that fits a fresh detector (untimed) and times its updates over every tick."""

    def run() -> float:
        return timed(make().fit(reference).update, views)()

    return run


def jobs(ragged: bool = False) -> dict[str, Callable[[], float]]:
    """Every timed job, by name: the yardstick first, then the detectors."""
    reference, views = make_stream(ragged=ragged)
    large, _ = make_stream(LARGE_REFERENCE_ROWS)
    ticks = [np.stack([v.columns[f"x{j}"] for j in range(N_FEATURES)]) for v in views]
    return {
        "sort": timed(lambda x: np.sort(x, axis=1), ticks),
        "PSI": detector_run(lambda: PSI(window_size=WINDOW), reference, views),
        "KS": detector_run(lambda: KS(window_size=WINDOW), reference, views),
        "ScorePSI": detector_run(lambda: ScorePSI(window_size=WINDOW), reference, views),
        "WindowedMetric": detector_run(
            lambda: WindowedMetric(window_size=WINDOW), reference, views
        ),
        "KS, 5,000-row reference": detector_run(lambda: KS(window_size=WINDOW), large, views),
        **quality_jobs(reference, views),
        **score_jobs(reference, views),
        **feature_jobs(reference, views),
    }


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """µs per tick of each job: the best of `rounds` rounds, each running every job once."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            best[name] = min(best[name], run() / N_TICKS * 1e6)
    return best


def worker(tree: str | None, ragged: bool) -> dict[str, float]:
    """One round of `jobs` in a fresh process importing simlab from `tree` (None: this one)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    cmd = [sys.executable, __file__, "--worker"] + (["--ragged"] if ragged else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def against(tree: str, rounds: int, ragged: bool) -> tuple[dict[str, float], dict[str, float]]:
    """Figures for this tree and for `tree`, from worker processes taking turns."""
    here: dict[str, float] = {}
    there: dict[str, float] = {}
    for _ in range(rounds):
        for best, path in ((here, None), (there, tree)):
            for name, us in worker(path, ragged).items():
                best[name] = min(best.get(name, float("inf")), us)
    return here, there


def table(here: dict[str, float], there: dict[str, float] | None = None) -> None:
    """Print µs per tick, × one sort, s per simulated year (and the other tree's figures)."""
    sort_us = here["sort"]
    print(f"baseline: np.sort of one tick ({N_FEATURES} × {TICK_ROWS}) = {sort_us:8.1f} µs")
    head = f"{'detector':<30}{'µs/tick':>9}{'× sort':>9}{'s/year':>9}"
    if there is not None:
        head += f"{'against':>10}{'speed-up':>10}"
    print(head + "  target")
    rows = {name: (us, TARGETS_US[name]) for name, us in here.items() if name != "sort"}
    rows["the four together"] = (sum(here[k] for k in ENGINE), None)
    for name, (us, target) in rows.items():
        line = f"{name:<30}{us:>9.1f}{us / sort_us:>8.1f}×{us * TICKS_PER_YEAR / 1e6:>9.2f}"
        if there is not None:
            old = sum(there[k] for k in ENGINE) if name not in here else there.get(name)
            line += f"{'-':>10}{'-':>10}" if old is None else f"{old:>10.1f}{old / us:>9.2f}×"
        if target is not None:
            line += f"  <= {target:.0f} µs " + ("ok" if us <= target else "MISSED")
        print(line)


def search_jobs() -> dict[str, Callable[[], float]]:
    """Ways to code the ticks' (10, 1000) values against KS's and PSI's keys."""
    reference, views = make_stream()
    ks = KS(window_size=WINDOW).fit(reference)
    psi = PSI(window_size=WINDOW).fit(reference)
    ticks = [np.stack([v.columns[f] for f in ks.features_]) for v in views]
    out = {}
    for label, det, keys in (
        ("KS", ks, [c.keys_ for c in ks.coders_]),
        ("PSI", psi, [b.edges_ for b in psi.binners_]),
    ):
        # One sorted array: feature f's keys plus f · span; values are clipped to
        # ±span / 4 first, so that no feature's range reaches into the next one's.
        span = 4.0 * max(float(np.max(np.abs(np.concatenate(keys)))), 1.0)
        offset = (np.arange(N_FEATURES) * span)[:, None]
        joined = np.concatenate([k + o for k, o in zip(keys, offset[:, 0], strict=True)])

        def per_feature(x, keys=keys):
            return [np.searchsorted(k, r, side="right") for k, r in zip(keys, x, strict=True)]

        def offset_keys(x, joined=joined, offset=offset, span=span):
            shifted = np.clip(x, -span / 4, span / 4) + offset
            return np.searchsorted(joined, shifted.ravel(), side="right")

        out[f"{label}: BucketSearch ({keys[0].size} keys)"] = timed(det.search_.search, ticks)
        out[f"{label}: searchsorted per feature"] = timed(per_feature, ticks)
        out[f"{label}: one searchsorted, offset keys"] = timed(offset_keys, ticks)
    return out


def numpy_ks(reference: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised two-sample KS in bare NumPy: every feature's D in one pass of calls.

    The reference's rows are sorted once (it is fixed); each window is sorted, merged with
    it by one stable argsort along the rows, and D is the largest |ECDF difference| read
    from the cumulative ±1/n, ∓1/m weights at the last position of each run of ties.
    """
    ref = np.sort(reference, axis=1)
    n = ref.shape[1]

    def ks(x: np.ndarray) -> np.ndarray:
        m = x.shape[1]
        both = np.concatenate((ref, np.sort(x, axis=1)), axis=1)
        order = np.argsort(both, axis=1, kind="stable")
        values = np.take_along_axis(both, order, axis=1)
        diff = np.cumsum(np.where(order < n, 1.0 / n, -1.0 / m), axis=1)
        last = np.ones(values.shape, dtype=bool)
        last[:, :-1] = values[:, 1:] != values[:, :-1]
        return np.max(np.abs(diff) * last, axis=1)

    return ks


def numpy_psi(reference: np.ndarray, bins: int = 10) -> Callable[[np.ndarray], np.ndarray]:
    """PSI per feature as the table tools compute it: `np.histogram` on reference deciles."""
    edges = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1), axis=1).T
    edges[:, 0], edges[:, -1] = -np.inf, np.inf
    expected = [np.histogram(r, e)[0] / r.size for r, e in zip(reference, edges, strict=True)]
    expected = np.maximum(np.array(expected), 1e-4)

    def psi(x: np.ndarray) -> np.ndarray:
        actual = np.array([np.histogram(r, e)[0] for r, e in zip(x, edges, strict=True)])
        actual = np.maximum(actual / x.shape[1], 1e-4)
        return np.sum((actual - expected) * np.log(actual / expected), axis=1)

    return psi


def peer_jobs() -> tuple[dict[str, Callable[[], float]], dict[str, float]]:
    """KS and PSI on 10 features against a 5,000-row reference, beside their peers.

    Also returns the largest difference between simlab's per-feature D and scipy's, and
    between the NumPy KS's and scipy's, over every tick (0 when all three agree).
    """
    from scipy.stats import ks_2samp

    reference, views = make_stream(LARGE_REFERENCE_ROWS)
    features = [f"x{j}" for j in range(N_FEATURES)]
    ref = np.stack([reference.columns[f] for f in features])
    ticks = [np.stack([v.columns[f] for f in features]) for v in views]
    np_ks = numpy_ks(ref)

    def scipy_loop(x: np.ndarray, method: str = "asymp") -> list:
        return [ks_2samp(r, w, method=method) for r, w in zip(ref, x, strict=True)]

    ks = KS(window_size=WINDOW).fit(reference)
    checks = {"simlab KS vs scipy": 0.0, "NumPy KS vs scipy": 0.0}
    for view, x in zip(views, ticks, strict=True):
        d = np.array([r.statistic for r in scipy_loop(x)])
        checks["simlab KS vs scipy"] = max(
            checks["simlab KS vs scipy"], float(np.max(np.abs(ks.update(view).statistic - d)))
        )
        checks["NumPy KS vs scipy"] = max(
            checks["NumPy KS vs scipy"], float(np.max(np.abs(np_ks(x) - d)))
        )
    return {
        "simlab KS": detector_run(lambda: KS(window_size=WINDOW), reference, views),
        "NumPy KS, vectorised": timed(np_ks, ticks),
        "scipy ks_2samp loop (asymp)": timed(scipy_loop, ticks),
        "scipy ks_2samp loop (exact)": timed(lambda x: scipy_loop(x, "exact"), ticks[:2]),
        "simlab PSI": detector_run(lambda: PSI(window_size=WINDOW), reference, views),
        "NumPy PSI, np.histogram loop": timed(numpy_psi(ref), ticks),
    }, checks


def peers(rounds: int) -> None:
    """Print windows/s of KS and PSI and their peers, interleaved, with ratios."""
    runs, checks = peer_jobs()
    for name, gap in checks.items():
        print(f"largest |D difference| over every tick and feature, {name}: {gap:.1e}")
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            ticks = 2 if "exact" in name else N_TICKS
            best[name] = min(best[name], run() / ticks * 1e6)
    print(
        f"{'job (10 features, 5,000-row reference)':<40}{'µs/window':>11}{'windows/s':>11}"
        f"{'simlab ×':>10}"
    )
    for name, us in best.items():
        ours = best["simlab PSI" if "PSI" in name else "simlab KS"]
        print(f"{name:<40}{us:>11.1f}{1e6 / us:>11.0f}{us / ours:>9.1f}×")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="best of this many rounds")
    parser.add_argument("--against", metavar="PATH", help="another simlab tree to compare")
    parser.add_argument("--ragged", action="store_true", help="Poisson(1,000) rows per tick")
    parser.add_argument("--searches", action="store_true", help="compare ways of coding a tick")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="KS and PSI beside scipy and bare NumPy; the sequential detectors beside river",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(interleaved(jobs(args.ragged), 1)))
        return 0
    if args.peers:
        print(
            f"{N_TICKS} windows of {TICK_ROWS} rows × {N_FEATURES} features against a "
            f"{LARGE_REFERENCE_ROWS}-row reference (the exact scipy loop: 2 windows), "
            f"best of {args.rounds} interleaved rounds"
        )
        peers(args.rounds)
        # the sequential detectors beside river's (bench/sequential.py, about 35 s)
        sys.path.insert(0, str(Path(__file__).parent))
        import sequential

        print()
        sequential.main([])
        return 0
    rows = "Poisson(1000) rows" if args.ragged else f"{TICK_ROWS} rows"
    print(
        f"{N_TICKS} ticks of {rows} × {N_FEATURES} features, reference {REFERENCE_ROWS} "
        f"rows, window {WINDOW}, best of {args.rounds} rounds"
    )
    if args.searches:
        for name, us in interleaved(search_jobs(), args.rounds).items():
            print(f"{name:<44}{us:>9.1f} µs")
    elif args.against:
        print(f"against: {Path(args.against).resolve()} (worker processes taking turns)")
        table(*against(args.against, args.rounds, args.ragged))
    else:
        table(interleaved(jobs(args.ragged), args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
