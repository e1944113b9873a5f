"""The two kinds of work in a grid: calibrating a scenario's detectors, and scoring one seed.

A *calibration cell* (one per scenario) records the scenario's no-change twin on tapes, once,
and sets every detector's threshold (and the oracle's) so that its mean time between false
alarms there is the grid's target (`simlab.sim.calibrate`, bisection). An *evaluation cell*
(one per scenario and seed) simulates the scenario and its twin once each, records what
monitors can see, replays every calibrated detector, the oracle and the null baselines over
both tapes, and scores them (`simlab.metrics.score`, `lead_time`). A scenario whose policy
retrains on an alarm is closed-loop: each detector then drives its own simulation.

Each cell is a pure function of the grid and its coordinates, so its result does not depend
on the executor, the number of workers or the order in which cells finish.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from simlab.detectors.base import Watches, watches_of
from simlab.detectors.oracle import OracleCUSUM
from simlab.errors import ConfigError
from simlab.metrics.detection import CHANGE_KINDS, label_alarm_time, lead_time, onset
from simlab.metrics.scoring import score
from simlab.rng import Rngs
from simlab.sim.calibrate import _needs as tape_needs
from simlab.sim.calibrate import calibrate
from simlab.sim.engine import simulate
from simlab.sim.tape import record_tape

__all__ = ["BASELINES", "calibration_cell", "evaluation_cell", "oracle_for"]

#: The null baselines every grid scores beside its detectors (alarms that know nothing).
BASELINES = ("never", "always", "periodic", "random")

_HOUR = np.timedelta64(1, "h")


def oracle_for(scenario):
    """The `OracleCUSUM` of a scenario's first change, or None where there is none.

    The oracle needs a world that knows its density and a change of P(X) (covariate
    shift in a causal world, label shift in an anticausal one): it compares the features'
    density at hour 0 (before) with the density after the first change began (after): at
    its onset for a sudden change, one tick into a ramp (a mixture's first new rows, or
    parameters moved by one tick's step: the smallest form of the change, and the one to
    catch first; as the ramp goes on, its log-likelihood ratio only grows). Only for a
    sudden change is it the optimal detector (Lorden, Moustakides); for a ramp it is the
    CUSUM tuned to the ramp's first step. A faulted world, a concept drift or a change at
    hour 0 has no oracle.

    Examples
    --------
    >>> from simlab.scenarios import load
    >>> o = oracle_for(load("short_covariate_shift"))
    >>> o.before, o.after  # a gradual shift from hour 120: one tick in
    (0.0, 121.0)
    >>> oracle_for(load("sea_gradual")) is None  # a concept drift leaves P(X) alone
    True
    """
    world = scenario.world
    if not hasattr(world, "logpdf") or getattr(world, "alters_rows", False):
        return None
    events = [e for e in world.events(scenario.horizon_hours) if str(e.kind) in CHANGE_KINDS]
    if not events:
        return None
    first = min(events, key=lambda e: e.start)
    if str(first.kind) == "concept_shift" or not first.start > 0:
        return None
    ramp = math.isfinite(first.end) and first.end > first.start
    # sudden: the state right after onset is the final one; a ramp: the state one tick
    # in (a mixture's first few new rows, or parameters moved by one tick's step), the
    # smallest change it is to catch first, whose likelihood ratio keeps growing after
    after = min(first.start + scenario.tick_hours, first.end) if ramp else first.start
    try:
        return OracleCUSUM(world=world, before=0.0, after=float(after))
    except ConfigError:
        return None


def _needs(detectors) -> tuple[bool, bool]:
    """Which column sets tapes must keep for all of `detectors`: (upstream, served)."""
    needs = [tape_needs(d) for d in detectors]
    return any(n[0] for n in needs), any(n[1] for n in needs)


def calibration_cell(grid, i: int) -> xr.Dataset:
    """Calibrate every detector of `grid` (and the oracle) on scenario `i`'s twin.

    A closed-loop scenario (retraining on an alarm) is calibrated on its twin without
    that retraining. Returns a Dataset on ``detector`` (the grid's detectors, then
    ``oracle``):
    ``value`` (the threshold chosen), ``achieved_arl0`` and its 95% interval
    ``arl0_low``/``arl0_high`` (ticks), ``calibrated`` (False where a detector cannot reach
    the target, or there is no oracle) and ``problem`` (why not, else "").
    """
    scenario = grid.scenarios[i]
    seeds = grid.calibration_seeds(i)
    dets = dict(grid.detectors)
    oracle = oracle_for(scenario)
    if oracle is not None:
        dets["oracle"] = oracle
    up, served = _needs(dets.values())
    # a closed loop is calibrated without its alarm-driven retraining: on the no-change
    # twin a retraining changes nothing the monitors compare
    policy = _no_policy() if grid.closed_loop(i) else scenario.policy
    twin = scenario.twin().replace(monitors=(), policy=policy)
    tapes = [record_tape(twin, s, upstream=up, served=served) for s in seeds]
    out = {k: [] for k in ("value", "achieved_arl0", "arl0_low", "arl0_high", "calibrated")}
    problems, names = [], []
    for name in (*grid.detector_names, "oracle"):
        names.append(name)
        det = dets.get(name)
        if det is None:
            row = (math.nan, math.nan, math.nan, math.nan, False)
            problems.append("no oracle: the world has no density for this change")
        else:
            try:
                c = calibrate(
                    det,
                    scenario,
                    grid.arl0(i),
                    tapes=tapes,
                    search="bisect",
                    name=name,
                    n_alarms=grid.calibration_alarms,
                    quiet_ok=name == "oracle",
                )
                row = (c.value, c.achieved_arl0, *c.interval, True)
                problems.append("")
            except ConfigError as e:
                row = (math.nan, math.nan, math.nan, math.nan, False)
                problems.append(str(e))
        for key, v in zip(out, row, strict=True):
            out[key].append(v)
    data = {
        k: ("detector", np.asarray(v, bool if k == "calibrated" else float)) for k, v in out.items()
    }
    data["problem"] = ("detector", np.asarray(problems, dtype=str))
    return xr.Dataset(data, coords={"detector": names})


def _calibrated(grid, i: int, calibration: xr.Dataset) -> dict:
    """``{name: detector at its calibrated threshold}`` for scenario `i` (None: not calibrated)."""
    dets = dict(grid.detectors)
    oracle = oracle_for(grid.scenarios[i])
    if oracle is not None:
        dets["oracle"] = oracle
    out = {}
    for name in (*grid.detector_names, "oracle"):
        det = dets.get(name)
        ok = bool(calibration["calibrated"].sel(detector=name))
        if det is None or not ok:
            out[name] = None
            continue
        param = det.tags.threshold
        out[name] = det.clone(**{param: float(calibration["value"].sel(detector=name))})
    return out


def _baseline_alarms(grid, i: int, seed: int, n: int) -> dict[str, np.ndarray]:
    """The null baselines' alarms over `n` ticks, at scenario `i`'s target rate (1 / ARL0)."""
    rng = Rngs(seed)["bench/baselines"]
    arl0 = grid.arl0(i)
    period = max(1, round(arl0))
    periodic = np.zeros(n, bool)
    periodic[int(rng.integers(period)) :: period] = True
    return {
        "never": np.zeros(n, bool),
        "always": np.ones(n, bool),
        "periodic": periodic,
        "random": rng.random(n) < 1.0 / arl0,
    }


def _with_alarms(run: xr.Dataset, alarms: dict, restarts: dict) -> xr.Dataset:
    """The Run with its monitors replaced by `alarms` (``{name: bool per tick}``)."""
    base = run.drop_dims("detector", errors="ignore")
    names = list(alarms)
    stacked = np.stack([alarms[n] for n in names], axis=1) if names else None
    return base.assign(alarm=(("time", "detector"), stacked)).assign_coords(
        detector=names,
        detector_kind=("detector", names),
        detector_restarts=("detector", [bool(restarts[n]) for n in names]),
    )


def _open_loop(grid, i, seed, detectors) -> tuple[xr.Dataset, xr.Dataset | None]:
    """Run and twin (or None) with every detector's replayed alarms, from one tape each."""
    scenario = grid.scenarios[i].replace(monitors=())
    live = {n: d for n, d in detectors.items() if d is not None}
    up, served = _needs(live.values())
    out = []
    for s in (scenario, scenario.twin()) if grid.twin_rule else (scenario,):
        tape = record_tape(s, seed, upstream=up, served=served)
        n = tape.n_ticks
        alarms, restarts = {}, {}
        for name, det in detectors.items():
            if det is None:
                alarms[name], restarts[name] = np.zeros(n, bool), False
                continue
            r = tape.replay(det, name=name)
            alarms[name], restarts[name] = r.alarm, r.restarts
        for name, a in _baseline_alarms(grid, i, seed, n).items():
            alarms[name], restarts[name] = a, True
        out.append(_with_alarms(tape.run, alarms, restarts))
    return out[0], (out[1] if len(out) > 1 else None)


def _scores(grid, run, twin) -> xr.Dataset:
    """Per detector: the first episode's delay and detection, lead time and the rates."""
    s = score(run, twin=twin, max_delay_hours=grid.max_delay_hours, oracle=None)
    mine = s.sel(baseline="detector", drop=True)
    n_ep = s.sizes["episode"]
    nan = np.full(s.sizes["detector"], np.nan)
    delay = s["delay"].isel(episode=0).values if n_ep else nan
    detected = s["detected"].isel(episode=0).values if n_ep else np.zeros(nan.size, bool)
    lead = lead_time(run, twin=twin).values if n_ep else nan
    t0 = run["time"].values[0]
    label = label_alarm_time(run).values
    start = onset(run).values
    k = nan.size

    def hours(t):
        return np.full(k, np.nan if np.isnat(t) else (t - t0) / _HOUR)

    return xr.Dataset(
        {
            "delay": ("detector", delay.astype(float)),
            "detected": ("detector", detected.astype(bool)),
            "lead_time": ("detector", np.where(detected, lead, np.nan).astype(float)),
            "recall": ("detector", mine["recall"].values.astype(float)),
            "precision": ("detector", mine["precision"].values.astype(float)),
            "false_alarms": ("detector", mine["false_alarms"].values.astype(float)),
            "false_alarms_per_10k_rows": (
                "detector",
                mine["false_alarms_per_10k_rows"].values.astype(float),
            ),
            "mtbfa": ("detector", mine["mtbfa"].values.astype(float)),
            "n_alarms": ("detector", s["n_alarms"].values.astype(np.int64)),
            "onset_hours": ("detector", hours(start)),
            "label_alarm_hours": ("detector", hours(label)),
            "episodes": ("detector", np.full(k, n_ep, dtype=np.int64)),
        },
        coords={"detector": s["detector"].values},
    )


def evaluation_cell(grid, i: int, seed: int, calibration: xr.Dataset) -> xr.Dataset:
    """Score every calibrated detector, the oracle and the null baselines on one seed.

    Returns a Dataset on ``detector`` (the grid's detectors, ``oracle``, then `BASELINES`):
    ``delay`` (hours from the first change to its detection), ``detected``, ``lead_time``
    (hours by which the detection came before the label alarm), ``recall`` and
    ``precision`` over the run's change episodes, ``false_alarms``,
    ``false_alarms_per_10k_rows``, ``mtbfa`` (hours), ``n_alarms``, ``delay_ratio``
    (ticks to detection, counting the alarming tick, over the oracle's on the same seed),
    ``onset_hours``, ``label_alarm_hours`` (per detector: in a closed loop each
    detector's retraining makes its own run), ``episodes`` and ``closed_loop``.
    """
    detectors = _calibrated(grid, i, calibration)
    if not grid.closed_loop(i):
        run, twin = _open_loop(grid, i, seed, detectors)
        out = _scores(grid, run, twin)
    else:
        out = xr.concat(
            [_closed_loop(grid, i, seed, name, det) for name, det in detectors.items()]
            + [_closed_baselines(grid, i, seed)],
            dim="detector",
            data_vars="all",
            coords="minimal",
            compat="override",
        )
    # ticks to detection, the alarming tick included (an alarm at onset took one tick)
    tick = grid.scenarios[i].tick_hours
    oracle = out["delay"].sel(detector="oracle").item()
    out["delay_ratio"] = ((out["delay"] + tick) / (oracle + tick)).astype(float)
    out["closed_loop"] = ("detector", np.full(out.sizes["detector"], grid.closed_loop(i)))
    return out


def _closed_loop(grid, i, seed, name, det) -> xr.Dataset:
    """One detector driving the retraining of its own run (and of its twin)."""
    scenario = grid.scenarios[i]
    if det is None:  # nothing to drive retraining: the scenario without a monitor
        run = simulate(scenario.replace(monitors=(), policy=_no_policy()), seed)
        n = run.sizes["time"]
        runs = [_with_alarms(run, {name: np.zeros(n, bool)}, {name: False})]
        if grid.twin_rule:
            runs.append(runs[0])
        return _scores(grid, runs[0], runs[1] if grid.twin_rule else None)
    monitor = f"{det.name}_served" if watches_of(det) is Watches.SERVED else det.name
    s = scenario.replace(monitors=(det,), policy=scenario.policy.clone(detector=monitor))
    runs = []
    for sc in (s, s.twin()) if grid.twin_rule else (s,):
        run = simulate(sc, seed)
        alarm = run["alarm"].sel(detector=monitor).values.astype(bool)
        restarts = bool(getattr(det.tags, "restarts", False))
        runs.append(_with_alarms(run, {name: alarm}, {name: restarts}))
    return _scores(grid, runs[0], runs[1] if grid.twin_rule else None)


def _no_policy():
    from simlab.sim.policies import Never

    return Never()


def _closed_baselines(grid, i, seed) -> xr.Dataset:
    """The null baselines on the scenario without alarm-driven retraining."""
    scenario = grid.scenarios[i].replace(monitors=(), policy=_no_policy())
    run = simulate(scenario, seed)
    alarms = _baseline_alarms(grid, i, seed, run.sizes["time"])
    restarts = dict.fromkeys(alarms, True)
    scored = _with_alarms(run, alarms, restarts)
    twin = None
    if grid.twin_rule:
        trun = simulate(scenario.twin(), seed)
        twin = _with_alarms(trun, alarms, restarts)
    return _scores(grid, scored, twin)
