"""Scoring detectors over several changes per run: alarms matched to change episodes.

`evaluate` answers "when did the first alarm come after the first change". A benchmark needs
more: a run may hold several changes, an alarm long after a change is not its detection, an
alarm that would have come anyway is luck, and a score means little without what a detector
that knows nothing would have scored. `score` does that:

- **Episodes.** The run's injected changes (`CHANGE_KINDS` events), overlapping ones merged.
  An episode's *detection window* runs from its start for `max_delay_hours` (by default
  until the next episode starts, or the run ends).
- **Alarms.** A detector's alarm is a run of alarming ticks; it starts at its onset tick
  (and anew after each deployment, which refits the monitors), as the engine logs alarm
  events.
- **Matching.** An episode is *detected* by the first alarm whose onset falls in its window;
  its *delay* is that onset's time minus the episode's start (hours). Later alarms in the
  same window are neither detections nor false alarms. Every alarm outside all windows is a
  *false alarm*. With the no-change *twin* run (`Scenario.twin`, same seed), an alarm whose
  onset tick the twin also alarmed at is luck, not a detection: it counts as a false alarm.
- **Rates.** Recall = detected episodes / episodes; missed rate = 1 - recall; precision =
  detected episodes / (detected episodes + false alarms); false alarms per 10,000 rows served;
  mean time between false alarms (hours of the run / false alarms).
- **Null baselines.** For each detector, what alarms that know nothing would score at the
  same alarm rate (alarms per tick): ``random`` (each tick alarms with that probability) and
  ``periodic`` (one alarm every 1/rate ticks, at a uniformly random phase), as expectations in
  closed form; ``always`` (an alarm every tick) and ``never``. They sit on the ``baseline``
  dimension beside the detector's own score (``baseline="detector"``).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from simlab.errors import ConfigError
from simlab.metrics.detection import CHANGE_KINDS, alarm_starts

__all__ = ["BASELINES", "alarm_onsets", "change_episodes", "score"]

#: The ``baseline`` coordinate of `score`: the detector itself, then the null baselines.
BASELINES = ("detector", "random", "periodic", "always", "never")

_HOUR = np.timedelta64(1, "h")


def _hours(run: xr.Dataset, times) -> np.ndarray:
    t0 = run["time"].values[0]
    return (np.asarray(times, dtype="datetime64[ns]") - t0) / _HOUR


def change_episodes(run: xr.Dataset) -> np.ndarray:
    """The run's change episodes, ``[(start, end), ...]`` in hours from the first tick.

    Change events (`CHANGE_KINDS`) that start together, or inside another's finite span (a
    ramp's transition, a fault's window), are one episode; an open-ended event ends at inf
    and does not swallow the changes that come after it.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=50.0, change_end_hours=60.0,
    ...                extra_events=[("fault", 55.0, 70.0), ("covariate_shift", 120.0, 120.0)])
    >>> change_episodes(run).tolist()
    [[50.0, 70.0], [120.0, 120.0]]
    """
    kinds = run["event_kind"].values.astype(str) if "event" in run.dims else np.array([])
    keep = np.isin(kinds, CHANGE_KINDS)
    if not keep.any():
        return np.empty((0, 2))
    start = _hours(run, run["event_start"].values[keep])
    end = _hours(run, run["event_end"].values[keep])
    end = np.where(np.isnan(end), np.inf, np.maximum(end, start))
    order = np.argsort(start, kind="stable")
    out: list[list[float]] = []
    for s, e in zip(start[order], end[order], strict=True):
        # one episode: the same start, or a start inside another's finite span (a ramp);
        # an open-ended event (a fault without an end) does not swallow later changes
        if out and (s == out[-1][0] or (math.isfinite(out[-1][1]) and s <= out[-1][1])):
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([float(s), float(e)])
    return np.array(out)


def alarm_onsets(run: xr.Dataset) -> xr.DataArray:
    """Where each detector's alarms start (`simlab.metrics.alarm_starts`).

    A run of alarming ticks is one alarm, except for a detector that restarts after each
    alarm (`Tags.restarts`), whose every alarming tick is one; a deployment refits the
    monitors, so an alarm that holds across one starts anew there.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(detectors={"a": [10.0, 11.0, 12.0, 30.0]})
    >>> np.flatnonzero(alarm_onsets(run).sel(detector="a").values).tolist()
    [10, 30]
    """
    return alarm_starts(run).rename("alarm_onset")


def _windows(episodes, n_ticks: int, tick_hours: float, max_delay_hours) -> list[tuple]:
    """Each episode's window as ticks ``[first, stop)``.

    Tick ``k`` (at hour ``k * tick_hours``) is in an episode's window if it comes at or after
    the episode's start, before the next episode's start, and at most `max_delay_hours`
    after the start.
    """
    out = []
    eps = 1e-9
    for i, (s, _) in enumerate(episodes):
        first = max(0, math.ceil(s / tick_hours - eps))
        stop = n_ticks
        if i + 1 < len(episodes):
            stop = min(stop, math.ceil(episodes[i + 1][0] / tick_hours - eps))
        if max_delay_hours is not None:
            stop = min(stop, math.floor((s + max_delay_hours) / tick_hours + eps) + 1)
        out.append((min(first, n_ticks), max(min(first, n_ticks), stop)))
    return out


def _random_expect(p, w, ticks_out):
    """Expected detection, delay (ticks, given detection) and false alarms of Bernoulli(p)."""
    p = np.asarray(p, float)
    q = 1.0 - p
    detect = 1.0 - q**w
    # E[j; j < w] for the first success j (0-based) of a geometric, divided by P(j < w)
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.where(
            p > 0, q * (1 - q ** (w - 1) * (w - (w - 1) * q)) / np.where(p > 0, p, 1.0), 0.0
        )
        delay = np.where(detect > 0, num / np.where(detect > 0, detect, 1.0), np.nan)
    return detect, delay, p * ticks_out


def _periodic_expect(p, w, ticks_out):
    """The same for one alarm every 1/p ticks at a uniform phase (continuous approximation)."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore"):
        period = np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), np.inf)
    detect = np.minimum(1.0, w / period)
    delay = np.where(detect > 0, np.minimum(w, period) / 2.0 - 0.5, np.nan)
    return detect, np.maximum(delay, 0.0), p * ticks_out


def _oracle(run: xr.Dataset, names: list[str], oracle) -> str | None:
    """The name of the oracle detector `score` divides by, or None."""
    if oracle is None:
        return None
    if oracle == "auto":
        kinds = run.coords.get("detector_kind")
        if kinds is None:
            return None
        found = [n for n, k in zip(names, kinds.values, strict=True) if str(k) == "oracle_cusum"]
        return found[0] if len(found) == 1 else None
    if oracle not in names:
        raise ConfigError(
            "oracle", oracle, f'"auto", None or one of the run\'s detectors {names}', owner="score"
        )
    return oracle


def score(
    run: xr.Dataset,
    *,
    twin: xr.Dataset | None = None,
    max_delay_hours: float | None = None,
    oracle: str | None = "auto",
) -> xr.Dataset:
    """Score every detector of `run` against its change episodes, beside null baselines.

    Parameters
    ----------
    run
        A Run.
    twin
        The run of the scenario's no-change twin with the same seed (`Scenario.twin`); an
        alarm starting at a tick where the twin also alarmed is not a detection.
    max_delay_hours
        The longest delay that still counts as detecting an episode; None: until the next
        episode starts (or the run ends).
    oracle
        The detector whose delays are the floor (`OracleCUSUM`): every delay is also
        reported as a ratio to its delay on the same episode. ``"auto"``: the run's one
        detector of kind ``oracle_cusum``, if it has exactly one; None: no ratios.

    Returns
    -------
    xarray.Dataset
        On ``episode``: ``episode_start``, ``episode_end`` (hours). On ``detector`` and
        ``episode``: ``detected``, ``delay`` (hours, NaN if missed). On ``detector`` and
        ``baseline`` (`BASELINES`): ``recall``, ``missed_rate``, ``precision``,
        ``mean_delay`` (hours, over detected episodes), ``false_alarms``,
        ``false_alarms_per_10k_rows``, ``mtbfa`` (hours between false alarms). On
        ``detector``: ``alarm_rate`` (alarm onsets per tick), ``n_alarms``, ``lucky`` (alarms
        the twin also raised). The baselines are expectations at the detector's alarm rate.
        With an oracle: ``delay_ratio`` (``detector`` x ``episode``: ticks to detection
        over the oracle's on that episode, counting the alarming tick, so ``(delay +
        tick) / (oracle's delay + tick)``; NaN where either missed) and
        ``mean_delay_ratio`` (``detector`` x ``baseline``: the same of ``mean_delay``
        over the oracle's own); the attribute ``oracle`` names it ("" without one).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=50.0, n_ticks=200,
    ...                extra_events=[("covariate_shift", 120.0, 120.0)],
    ...                detectors={"a": [20.0, 53.0, 54.0, 60.0, 125.0]})
    >>> s = score(run)
    >>> a = s.sel(detector="a")
    >>> a["detected"].values.tolist(), a["delay"].values.tolist()
    ([True, True], [3.0, 5.0])
    >>> float(s["precision"].sel(detector="a", baseline="detector"))
    0.6666666666666666
    >>> float(s["false_alarms"].sel(detector="a", baseline="detector"))
    1.0
    """
    if max_delay_hours is not None and not (
        isinstance(max_delay_hours, (int, float)) and max_delay_hours >= 0
    ):
        raise ConfigError("max_delay_hours", max_delay_hours, "None or hours >= 0", owner="score")
    tick_hours = float(run.attrs.get("tick_hours", 1.0))
    n_ticks = run.sizes["time"]
    onsets = alarm_onsets(run).transpose("time", "detector")
    names = [str(d) for d in onsets["detector"].values]
    oracle = _oracle(run, names, oracle)
    on = onsets.values
    lucky = np.zeros_like(on)
    if twin is not None:
        if twin.sizes.get("time") != n_ticks or list(twin["detector"].values) != list(
            onsets["detector"].values
        ):
            raise ConfigError(
                "twin",
                f"{twin.sizes.get('time')} ticks, detectors {list(twin['detector'].values)}",
                f"the twin of this run: {n_ticks} ticks, detectors {names}",
                owner="score",
            )
        lucky = on & twin["alarm"].transpose("time", "detector").values.astype(bool)
    episodes = change_episodes(run)
    windows = _windows(episodes, n_ticks, tick_hours, max_delay_hours)
    n_ep, n_det = len(episodes), len(names)
    hours = np.arange(n_ticks) * tick_hours
    detected = np.zeros((n_det, n_ep), bool)
    delay = np.full((n_det, n_ep), np.nan)
    in_window = np.zeros(n_ticks, bool)
    for e, (first, stop) in enumerate(windows):
        in_window[first:stop] = True
        real = on[first:stop] & ~lucky[first:stop]  # (ticks, detector)
        hit = real.any(axis=0)
        detected[:, e] = hit
        k = first + np.argmax(real, axis=0)
        delay[:, e] = np.where(hit, hours[k] - episodes[e][0], np.nan)
    false = (on & ~in_window[:, None]).sum(axis=0) + (lucky & in_window[:, None]).sum(axis=0)
    rows = run["n_rows"].values
    total_rows = float(rows.sum())
    run_hours = n_ticks * tick_hours
    n_alarms = on.sum(axis=0)
    rate = n_alarms / max(n_ticks, 1)
    w = np.array([stop - first for first, stop in windows], float)  # ticks per window
    ticks_out = float(n_ticks - in_window.sum())

    # per detector x baseline: detection probability per episode, delay, false alarms
    det_p = np.zeros((n_det, len(BASELINES), n_ep))
    det_delay = np.full((n_det, len(BASELINES), n_ep), np.nan)
    fa = np.zeros((n_det, len(BASELINES)))
    det_p[:, 0] = detected
    det_delay[:, 0] = delay
    fa[:, 0] = false
    # hours from an episode's start to the first tick of its window
    offset = np.array(
        [first * tick_hours - e[0] for e, (first, _) in zip(episodes, windows, strict=True)]
    )
    for b, expect in ((1, _random_expect), (2, _periodic_expect)):
        for e in range(n_ep):
            d, dl, _ = expect(rate, w[e], ticks_out)
            det_p[:, b, e] = d
            det_delay[:, b, e] = dl * tick_hours + offset[e]
        fa[:, b] = rate * ticks_out
    det_p[:, 3] = (w > 0)[None, :]
    det_delay[:, 3] = np.where(w > 0, offset, np.nan)[None, :]
    fa[:, 3] = ticks_out
    # never: nothing detected, no false alarm (det_p 0, fa 0)

    with np.errstate(invalid="ignore", divide="ignore"):
        tp = det_p.sum(axis=2)
        recall = tp / n_ep if n_ep else np.full(tp.shape, np.nan)
        precision = np.where(tp + fa > 0, tp / (tp + fa), np.nan)
        weighted = np.where(det_p > 0, det_delay * det_p, 0.0).sum(axis=2)
        mean_delay = np.where(tp > 0, weighted / tp, np.nan)
        per_rows = fa / total_rows * 10_000 if total_rows else np.full(fa.shape, np.nan)
        mtbfa = np.where(fa > 0, run_hours / fa, np.inf)

    det_dims = ("detector", "baseline")
    coords = {
        "detector": names,
        "baseline": list(BASELINES),
        "episode": np.arange(n_ep),
    }
    out = xr.Dataset(
        {
            "episode_start": ("episode", episodes[:, 0] if n_ep else np.empty(0)),
            "episode_end": ("episode", episodes[:, 1] if n_ep else np.empty(0)),
            "detected": (("detector", "episode"), detected),
            "delay": (("detector", "episode"), delay),
            "recall": (det_dims, recall),
            "missed_rate": (det_dims, 1.0 - recall),
            "precision": (det_dims, precision),
            "mean_delay": (det_dims, mean_delay),
            "false_alarms": (det_dims, fa),
            "false_alarms_per_10k_rows": (det_dims, per_rows),
            "mtbfa": (det_dims, mtbfa),
            "alarm_rate": ("detector", rate),
            "n_alarms": ("detector", n_alarms.astype(np.int64)),
            "lucky": ("detector", lucky.sum(axis=0).astype(np.int64)),
        },
        coords=coords,
        attrs={
            "tick_hours": tick_hours,
            "max_delay_hours": np.nan if max_delay_hours is None else float(max_delay_hours),
            "twin": int(twin is not None),
            "oracle": oracle or "",
        },
    )
    if oracle:
        o = names.index(oracle)
        with np.errstate(invalid="ignore", divide="ignore"):
            # ticks to detection, the alarming tick included (an alarm at onset took one)
            out["delay_ratio"] = (
                ("detector", "episode"),
                (delay + tick_hours) / (delay[o][None, :] + tick_hours),
            )
            out["mean_delay_ratio"] = (
                det_dims,
                (mean_delay + tick_hours) / (mean_delay[o, 0] + tick_hours),
            )
    units = {
        "episode_start": "hours",
        "episode_end": "hours",
        "delay": "hours",
        "mean_delay": "hours",
        "mtbfa": "hours",
        "false_alarms_per_10k_rows": "alarms per 10,000 rows",
        "alarm_rate": "alarms per tick",
    }
    for name, unit in units.items():
        out[name].attrs["units"] = unit
    return out
