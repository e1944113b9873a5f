"""Calibration: every detector set to the same false-alarm rate before detectors are compared.

A detector that fires all the time "detects" every change; comparing detectors at their
default thresholds compares how trigger-happy their authors were. `calibrate` moves a
detector's threshold parameter (the one its `Tags` declare) until, on the scenario's
no-change twin (`Scenario.twin`: the same world, model, traffic and labels with every
injected change removed), the mean time between false alarms matches a target.

The vocabulary follows the metrics: a false alarm is an alarming tick when nothing changed
(`simlab.metrics.false_alarms`), and the in-control average run length is
``ARL0 = ticks / false alarms``, the mean number of ticks per false alarm. For a detector
that tests each tick afresh it is the classic Shewhart ARL, ``1 / P(alarm on a tick)``;
a sequential detector that restarts after an alarm alarms on one tick per episode, so it
is the mean run length between alarms.

How: the twin is simulated once per calibration seed and recorded on a `Tape`; the
detector is replayed over the tapes on a grid of thresholds spaced evenly in log scale.
A first grid spans a factor of 2^24 around the current value (widened if the target lies
outside it); each next grid spans the two grid points that bracket the target, until
neighbouring points' false-alarm counts differ by less than `precision` or four grids have
run. The chosen threshold is a grid point, so its ARL0 is measured, not interpolated: the
false alarms it raised on the calibration tapes, with a confidence interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from simlab.detectors.base import Watches, watches_of
from simlab.errors import ConfigError
from simlab.sim.scenario import Scenario
from simlab.sim.tape import record_tape
from simlab.validation import check_int, check_real

__all__ = ["Calibrated", "arl0", "arl0_interval", "calibrate"]

#: First calibration seed: far from the small seeds experiments evaluate on.
SEED_BASE = 1_000_000


def arl0_interval(n_alarms, n_ticks, *, level: float = 0.95, per_tape=None) -> tuple:
    """A confidence interval for ARL0 = `n_ticks` / `n_alarms`.

    The exact Poisson (Garwood) interval for the alarm count, turned into ticks per alarm;
    when per-tape counts are given (``[(alarms, ticks), ...]``, two tapes or more), also
    the normal interval of the ratio estimator from the spread between tapes, which is
    wider when alarms cluster (an alarm that persists for a few ticks is not a Poisson
    event). The wider of the two is returned.

    Parameters
    ----------
    n_alarms, n_ticks
        False alarms and ticks observed.
    level
        Confidence level.
    per_tape
        Optional ``[(alarms, ticks), ...]``, one pair per independent tape.

    Returns
    -------
    tuple of float
        ``(low, high)`` in ticks; ``high`` is inf when no alarm was seen.

    Examples
    --------
    >>> low, high = arl0_interval(30, 30_000)
    >>> round(low), round(high)
    (700, 1482)
    """
    n_alarms, n_ticks = int(n_alarms), float(n_ticks)
    a = 1.0 - level
    rate_lo = stats.chi2.ppf(a / 2, 2 * n_alarms) / 2 if n_alarms else 0.0
    rate_hi = stats.chi2.ppf(1 - a / 2, 2 * n_alarms + 2) / 2
    lo, hi = n_ticks / rate_hi, (n_ticks / rate_lo if rate_lo > 0 else math.inf)
    if per_tape is not None and len(per_tape) >= 2 and n_alarms:
        c = np.array([p[0] for p in per_tape], float)
        t = np.array([p[1] for p in per_tape], float)
        r = c.sum() / t.sum()
        m = c.size
        se = math.sqrt(m / (m - 1) * float(((c - r * t) ** 2).sum())) / t.sum()
        z = stats.norm.ppf(1 - a / 2)
        r_lo, r_hi = r - z * se, r + z * se
        lo = min(lo, 1.0 / r_hi)
        hi = max(hi, 1.0 / r_lo if r_lo > 0 else math.inf)
    return float(lo), float(hi)


def arl0(replays) -> float:
    """ARL0 over replays on no-change tapes: ticks per alarming tick (inf: no alarm).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.sim.tape import Replay
    >>> r = Replay("d", np.zeros(10), np.ones(10), np.arange(10) % 5 == 0, (0,), 1.0)
    >>> arl0([r, r])
    5.0
    """
    ticks = sum(r.n_ticks for r in replays)
    alarms = sum(int(r.alarm.sum()) for r in replays)
    return ticks / alarms if alarms else math.inf


@dataclass(frozen=True)
class Calibrated:
    """The result of `calibrate`: the detector at its calibrated threshold, and the evidence.

    Attributes
    ----------
    detector
        A clone of the detector with its threshold parameter set (unfitted).
    param, value
        The threshold parameter and the value chosen.
    target_arl0, achieved_arl0
        The target, and the ARL0 measured at `value` on the calibration tapes (ticks).
    interval
        The confidence interval of `achieved_arl0` (`arl0_interval`, 95%).
    n_alarms, n_ticks
        False alarms and ticks at `value`, over all tapes.
    seeds
        The seeds of the twin runs.
    grid
        ``(values, alarms)`` of every threshold tried (sorted by value).

    Examples
    --------
    >>> from simlab.detectors import ScorePSI
    >>> c = Calibrated(
    ...     ScorePSI(), "threshold", 0.2, 100.0, 95.0, (60.0, 160.0), 20, 1900, (1,),
    ...     ((0.2,), (20,)),
    ... )
    >>> c.within()
    True
    """

    detector: object
    param: str
    value: float
    target_arl0: float
    achieved_arl0: float
    interval: tuple[float, float]
    n_alarms: int
    n_ticks: int
    seeds: tuple[int, ...]
    grid: tuple = field(repr=False)

    def within(self) -> bool:
        """True if the target lies inside the achieved ARL0's confidence interval."""
        return self.interval[0] <= self.target_arl0 <= self.interval[1]


def _needs(detector) -> tuple[bool, bool]:
    """Which column sets a tape must keep for `detector`: (upstream, served)."""
    watch = watches_of(detector)
    return watch in (Watches.FEATURES, Watches.QUALITY), watch is Watches.SERVED


def _candidate(detector, param, value):
    try:
        return detector.clone(**{param: float(value)})
    except ConfigError:
        return None  # outside what the parameter allows: not a grid point


def calibrate(
    detector,
    scenario: Scenario,
    target_arl0: float,
    *,
    seeds=None,
    n_alarms: int = 30,
    precision: float = 0.1,
    name: str | None = None,
    keep_bytes: float = 1e9,
    tapes=None,
    search: str = "grid",
    quiet_ok: bool = False,
) -> Calibrated:
    """Set `detector`'s threshold so that its ARL0 on the scenario's no-change twin is the target.

    Parameters
    ----------
    detector
        A detector whose `Tags` declare a threshold parameter and its direction.
    scenario
        The scenario whose twin (`Scenario.twin`) the detector is calibrated on: the same
        world, model, traffic, delays and policy, with nothing injected.
    target_arl0
        The wanted mean number of ticks per false alarm (> 1).
    seeds
        The twin runs' seeds. None: as many consecutive seeds from 1,000,000 on as give
        ``n_alarms x target_arl0`` ticks.
    n_alarms
        How many false alarms the calibration should expect to see at the target; the
        relative standard error of the achieved ARL0 is about ``1 / sqrt(n_alarms)``.
    precision
        Refine the grid until neighbouring thresholds' false-alarm counts differ by less
        than this fraction (or four grids have run).
    name
        The monitor name the detector runs under (its random stream); as for `Tape.replay`.
    keep_bytes
        Tapes are kept in memory between grids up to this many bytes; beyond it each grid
        simulates the twin again (the same seeds give the same tapes).
    tapes
        Twin tapes recorded already (`record_tape` of ``scenario.twin()``), to share among
        several detectors; `seeds` is then read from them and nothing is simulated.
    search
        ``"grid"``: log-spaced grids as described above (about 25 to 90 replays);
        ``"bisect"``: from the current value, steps of a factor 4 until the target is
        bracketed, then bisection in log scale until the bracket's counts differ by less
        than `precision` or its ends by less than 1% (about 10 to 15 replays; what
        `simlab.bench` uses).
    quiet_ok
        If even the most sensitive value tried raises fewer false alarms than the target
        asks (an oracle on a large change: its statistic drifts down on the twin), return
        that value, its achieved ARL0 above the target, instead of failing.

    Returns
    -------
    Calibrated

    Examples
    --------
    >>> from simlab.detectors import ScorePSI
    >>> from simlab.sim import Scenario
    >>> from simlab.world import sea
    >>> s = Scenario(world=sea(), horizon_hours=200.0, train_rows=2000)
    >>> c = calibrate(ScorePSI(min_samples=50), s, target_arl0=20.0, n_alarms=20)
    >>> c.param, c.n_ticks, 10 < c.achieved_arl0 < 40
    ('threshold', 400, True)
    """
    owner = "calibrate"
    if not isinstance(scenario, Scenario):
        raise ConfigError("scenario", scenario, "a Scenario", owner=owner)
    tags = getattr(detector, "tags", None)
    param = getattr(tags, "threshold", None)
    if param is None:
        raise ConfigError(
            "detector",
            getattr(detector, "name", detector),
            "a detector whose Tags declare a threshold parameter (nothing to calibrate)",
            owner=owner,
        )
    check_real(owner, "target_arl0", target_arl0, low=1.0)
    n_alarms = check_int(owner, "n_alarms", n_alarms, 1, 1_000_000)
    check_real(owner, "precision", precision, low=0.0)
    if search not in ("grid", "bisect"):
        raise ConfigError("search", search, '"grid" or "bisect"', owner=owner)
    direction = tags.direction
    twin = scenario.twin()
    if tapes is not None:
        tapes = tuple(tapes)
        if not tapes or any(getattr(t, "n_ticks", None) is None for t in tapes):
            raise ConfigError("tapes", tapes, "one or more Tapes of the twin", owner=owner)
        seeds = tuple(t.seed for t in tapes)
    if seeds is None:
        n_seeds = max(1, math.ceil(n_alarms * target_arl0 / twin.n_ticks))
        seeds = range(SEED_BASE, SEED_BASE + n_seeds)
    seeds = tuple(check_int(owner, "seeds", s, 0, 2**63 - 1) for s in seeds)
    if not seeds:
        raise ConfigError("seeds", seeds, "at least one seed", owner=owner)
    upstream, served = _needs(detector)
    value0 = float(getattr(detector, param))
    if not (math.isfinite(value0) and value0 > 0):
        raise ConfigError(
            param, value0, "a positive finite value to search around", owner=type(detector).__name__
        )

    kept: dict[int, object] = {} if tapes is None else dict(zip(seeds, tapes, strict=True))
    size = 0.0

    def each_tape():
        nonlocal size
        for s in seeds:
            tape = kept.get(s)
            if tape is None:
                tape = record_tape(twin, s, upstream=upstream, served=served)
                nbytes = tape.nbytes
                if size + nbytes <= keep_bytes:
                    kept[s] = tape
                    size += nbytes
            yield tape

    tried: dict[float, tuple[int, list]] = {}  # value -> (alarms, [(alarms, ticks) per tape])
    n_ticks = 0

    def run_grid(values):
        nonlocal n_ticks
        cands = {v: c for v in values if v not in tried and (c := _candidate(detector, param, v))}
        if not cands:
            return
        counts = {v: [] for v in cands}
        ticks = 0
        for tape in each_tape():
            ticks += tape.n_ticks
            for v, c in cands.items():
                r = tape.replay(c, name=name)
                counts[v].append((int(r.alarm.sum()), r.n_ticks))
        n_ticks = ticks
        for v, per in counts.items():
            tried[v] = (sum(p[0] for p in per), per)

    goal = None  # false alarms expected at the target, known after the first grid

    def bracket():
        """The two tried values around the target (in the direction alarms fall), or None."""
        vals = sorted(tried)
        # alarms fall as the value moves in `direction`: order the tried values that way
        order = vals if direction > 0 else vals[::-1]
        alarms = np.array([tried[v][0] for v in order], float)
        alarms = np.minimum.accumulate(alarms)  # monotone envelope (chance wiggles)
        above = np.flatnonzero(alarms >= goal)
        below = np.flatnonzero(alarms <= goal)
        if not above.size or not below.size:
            return None, alarms[0] < goal  # True: even the most sensitive is too quiet
        i = int(above[-1])
        j = int(below[0])
        return (order[i], order[max(j, i)]), None

    if search == "bisect":
        goal, pair = _bisect(
            run_grid, lambda: n_ticks, tried, value0, direction, target_arl0, precision
        )
        keen = None
        if pair is None and quiet_ok:
            keen = min(tried) if direction > 0 else max(tried)  # the most sensitive tried
            if tried[keen][0] < goal:
                pair = (keen, keen)
            else:
                keen = None
        return _result(
            detector,
            param,
            tried,
            goal,
            pair,
            n_ticks,
            target_arl0,
            seeds,
            scenario,
            value0,
            keen,
        )
    span = 12.0  # log2 half-width of the first grid
    lo, hi = math.log2(value0) - span, math.log2(value0) + span
    run_grid(2.0 ** np.linspace(lo, hi, 25))
    goal = n_ticks / float(target_arl0)
    for _ in range(3):  # widen where the target lies beyond the grid
        pair, too_quiet = bracket()
        if pair is not None:
            break
        # too quiet: more sensitive values lie against the direction
        widen_down = too_quiet == (direction > 0)
        edge = lo if widen_down else hi
        new = edge + (-span if widen_down else span)
        lo, hi = min(lo, new), max(hi, new)
        run_grid(2.0 ** np.linspace(min(edge, new), max(edge, new), 13))
    else:
        pair, _ = bracket()
    if pair is None:
        _unreachable(tried, n_ticks, goal, param, value0, target_arl0, scenario)
    for _ in range(3):  # refine inside the bracket
        a, b = tried[pair[0]][0], tried[pair[1]][0]
        if abs(a - b) <= precision * max(goal, 1.0) or pair[0] == pair[1]:
            break
        la, lb = sorted((math.log2(pair[0]), math.log2(pair[1])))
        run_grid(2.0 ** np.linspace(la, lb, 17)[1:-1])
        pair, _ = bracket()
    return _result(
        detector, param, tried, goal, pair, n_ticks, target_arl0, seeds, scenario, value0
    )


def _unreachable(tried, n_ticks, goal, param, value0, target_arl0, scenario):
    """Raise: no tried value brackets the target."""
    alarms = sorted((tried[v][0], v) for v in tried)
    raise ConfigError(
        param,
        value0,
        f"a detector whose {param} can reach ARL0={target_arl0:g} ticks on the twin of "
        f"{scenario.name!r} (tried {param} from {min(tried):.3g} to {max(tried):.3g}: "
        f"false alarms from {alarms[0][0]} to {alarms[-1][0]} in {n_ticks} ticks, "
        f"{goal:.3g} wanted)",
        owner="calibrate",
    )


def _bisect(run_grid, ticks, tried, value0, direction, target_arl0, precision):
    """`calibrate`'s ``search="bisect"``: the goal (false alarms) and the final bracket.

    `run_grid` replays values into `tried`; `ticks()` is the ticks the tapes hold.
    """
    run_grid([value0])
    goal = ticks() / float(target_arl0)

    def count(v):
        if v not in tried:
            run_grid([v])
        return tried[v][0] if v in tried else None  # None: the value is not allowed

    # alarms fall as log2(value) moves in `direction`: step 2 (a factor 4) toward the goal
    x = math.log2(value0)
    c = count(value0)
    step = 2.0 * direction * (1.0 if c > goal else -1.0)
    lo_x = hi_x = None
    for _ in range(12):
        nx = x + step
        nc = count(2.0**nx)
        if nc is None:
            break
        if (nc <= goal) == (step * direction > 0):  # crossed the goal
            lo_x, hi_x = sorted((x, nx))
            break
        x = nx
    if lo_x is None:
        return goal, None
    for _ in range(8):
        a, b = count(2.0**lo_x), count(2.0**hi_x)
        if abs(a - b) <= precision * max(goal, 1.0) or hi_x - lo_x < math.log2(1.01):
            break
        mid = (lo_x + hi_x) / 2.0
        cm = count(2.0**mid)
        if cm is None:
            break
        # keep the half whose ends straddle the goal
        if (cm > goal) == (count(2.0**lo_x) > goal):
            lo_x = mid
        else:
            hi_x = mid
    return goal, (2.0**lo_x, 2.0**hi_x)


def _result(
    detector, param, tried, goal, pair, n_ticks, target_arl0, seeds, scenario, value0, best=None
):
    """The `Calibrated` of the tried value whose count is closest to the goal (or `best`)."""
    if pair is None:
        _unreachable(tried, n_ticks, goal, param, value0, target_arl0, scenario)
    if best is None:  # the tried value whose measured count is closest to the goal (log count)
        best = min(tried, key=lambda v: (abs(math.log((tried[v][0] + 0.5) / (goal + 0.5))), v))
    count, per = tried[best]
    chosen = detector.clone(**{param: float(best)})
    values = tuple(sorted(tried))
    return Calibrated(
        detector=chosen,
        param=param,
        value=float(best),
        target_arl0=float(target_arl0),
        achieved_arl0=n_ticks / count if count else math.inf,
        interval=arl0_interval(count, n_ticks, per_tape=per),
        n_alarms=int(count),
        n_ticks=int(n_ticks),
        seeds=seeds,
        grid=(values, tuple(tried[v][0] for v in values)),
    )
