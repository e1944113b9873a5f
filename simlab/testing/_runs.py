"""Synthetic Run datasets with known answers, for tests and doctests (no simulation involved).

`make_run` builds a Dataset that follows the Run contract exactly (the one `simlab.sim` records),
but whose curves are drawn by hand: the primary metric sits at its offline value until the onset,
sags by half the tolerance after it (a change that is not yet harm), and drops by twice the
tolerance from the harm hour on. Labels arrive ``label_delay_hours`` late, so the observed metric is
the true metric shifted by the delay, and the label alarm lands at ``harm_hours +
label_delay_hours``. Detectors alarm exactly at the hours they are given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from simlab._version import __version__
from simlab.errors import ConfigError
from simlab.events import Event
from simlab.sim.run import SCHEMA_VERSION, build_run

__all__ = ["make_run"]

# offline figures (random split, time split) and the direction "worse" moves for each metric
_METRICS = {
    "binary": {
        "accuracy": (0.90, 0.88, True, -1.0),
        "log_loss": (0.30, 0.33, False, 2.0),
        "auc": (0.95, 0.93, True, -1.0),
    },
    "regression": {"mae": (1.00, 1.10, False, 1.0)},
}
_PRIMARY = {"binary": "accuracy", "regression": "mae"}
_DEFAULT_TOLERANCE = {"binary": 0.05, "regression": 0.2}
_FEATURES = ("x0", "x1")
_N_BINS = 10
_HOUR = np.timedelta64(3_600_000_000_000, "ns")


def _tick_of(key: str, hours: float, tick_hours: float, n_ticks: int) -> int:
    k = hours / tick_hours
    if not (np.isfinite(k) and k == round(k) and 0 <= k < n_ticks):
        raise ConfigError(
            key,
            hours,
            f"a multiple of tick_hours={tick_hours} in [0, {n_ticks * tick_hours})",
            owner="make_run",
        )
    return round(k)


def _to_time(start: np.datetime64, hours: np.ndarray | float) -> np.ndarray:
    hours = np.asarray(hours, dtype=float)
    ns = np.round(hours * 3.6e12)
    out = start + np.where(np.isfinite(ns), ns, 0).astype("int64").astype("timedelta64[ns]")
    return np.where(np.isfinite(hours), out, np.datetime64("NaT", "ns"))


def make_run(
    *,
    task: str = "binary",
    n_ticks: int = 200,
    tick_hours: float = 1.0,
    start: str = "2024-01-01T00:00:00",
    onset_hours: float | None = 100.0,
    change_kind: str = "concept_shift",
    change_end_hours: float | None = None,
    harm_hours: float | None = 130.0,
    label_delay_hours: float = 24.0,
    detectors: Mapping[str, Sequence[float]] | None = None,
    rows_per_tick: int = 100,
    tolerance: float | None = None,
    window_hours: float = 24.0,
    min_rows: int = 50,
    extra_events: Sequence[tuple] = (),
    seed: int = 0,
) -> xr.Dataset:
    """A hand-drawn Run whose onset, harm, label alarm and detector alarms are known in advance.

    Parameters
    ----------
    task
        ``"binary"`` (metrics accuracy, log_loss, auc; primary accuracy) or ``"regression"`` (mae).
    n_ticks, tick_hours
        Length of the run; tick ``k`` is at ``start + k * tick_hours``.
    start
        ISO time of tick 0.
    onset_hours
        Start of the injected change, in hours (any value, not only on a tick); ``None`` for
        no change.
    change_kind
        The change event's kind: covariate_shift, label_shift, concept_shift or fault.
    change_end_hours
        End of the change window; ``None`` leaves it open (``NaT``).
    harm_hours
        The tick (in hours) from which the primary metric is worse than offline by twice the
        tolerance; ``None`` for a benign change (it then sags by half the tolerance only).
    label_delay_hours
        How late labels arrive: the observed metric is the true metric this many hours earlier,
        and is ``NaN`` (with ``n_observed_window == 0``) until the first labels arrive. A multiple
        of ``tick_hours``.
    detectors
        Detector name -> the hours (on ticks) at which it alarms. ``None`` gives two detectors,
        ``early`` alarming at 110 h and ``late`` at 140 h; ``{}`` gives none.
    rows_per_tick
        Rows served (and, after the delay, labels arriving) in every tick.
    tolerance
        Harm tolerance in the primary metric's units; ``None`` means 0.05 (binary) or 0.2
        (regression).
    window_hours, min_rows
        The trailing window of the windowed metrics and the least rows it needs to be judged;
        the window holds ``rows_per_tick`` times the number of ticks it spans.
    extra_events
        More events as ``(kind, start_hours, end_hours)`` or ``(kind, start_hours, end_hours,
        source)``; ``end_hours=None`` means open-ended.
    seed
        Seeds the multinomial draw of the score histograms (the only random part).

    Returns
    -------
    xarray.Dataset
        A Run, as `simlab.sim` records it.

    Examples
    --------
    >>> run = make_run(onset_hours=100.0, harm_hours=130.0, label_delay_hours=24.0)
    >>> run.sizes["time"], run.detector.values.tolist()
    (200, ['early', 'late'])
    >>> round(float(run.true_metric.sel(metric="accuracy").isel(time=-1)), 3)
    0.8
    """
    if task not in _METRICS:
        raise ConfigError("task", task, "'binary' or 'regression'", owner="make_run")
    if not (isinstance(n_ticks, int | np.integer) and n_ticks >= 1):
        raise ConfigError("n_ticks", n_ticks, "an int >= 1", owner="make_run")
    if not tick_hours > 0:
        raise ConfigError("tick_hours", tick_hours, "a positive number of hours", owner="make_run")
    if detectors is None:
        detectors = {"early": [110.0], "late": [140.0]}
    tolerance = _DEFAULT_TOLERANCE[task] if tolerance is None else float(tolerance)
    start64 = np.datetime64(start, "ns")
    k = np.arange(n_ticks)
    hours = k * float(tick_hours)
    time = _to_time(start64, hours)

    # how far the primary metric has moved towards "worse", in units of the tolerance
    sag = np.zeros(n_ticks)
    if onset_hours is not None:
        sag[hours >= onset_hours] = 0.5
    if harm_hours is not None:
        sag[_tick_of("harm_hours", harm_hours, tick_hours, n_ticks) :] = 2.0
    delay = (
        0
        if label_delay_hours == 0
        else _tick_of("label_delay_hours", label_delay_hours, tick_hours, n_ticks + 1)
    )
    window_ticks = max(1, round(window_hours / tick_hours))

    metrics = list(_METRICS[task])
    offline = np.array([[_METRICS[task][m][0], _METRICS[task][m][1]] for m in metrics])
    worse = np.array([_METRICS[task][m][3] for m in metrics])
    true = offline[None, :, 0] + worse[None, :] * tolerance * sag[:, None]
    observed = np.full_like(true, np.nan)
    observed[delay:] = true[: n_ticks - delay]
    n_rows = np.full(n_ticks, rows_per_tick, dtype="int64")
    n_labels = np.where(k >= delay, rows_per_tick, 0).astype("int64")
    n_true = (np.minimum(k + 1, window_ticks) * rows_per_tick).astype("int64")
    n_obs = np.zeros(n_ticks, dtype="int64")
    n_obs[delay:] = n_true[: n_ticks - delay]

    changed = hours >= onset_hours if onset_hours is not None else np.zeros(n_ticks, dtype=bool)
    edges = np.linspace(0.0, 1.0, _N_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    peak = np.where(changed, 0.55, 0.3)[:, None]
    pvals = np.exp(-((centres[None, :] - peak) ** 2) / 0.03)
    pvals /= pvals.sum(axis=1, keepdims=True)
    score_hist = np.random.default_rng(seed).multinomial(n_rows, pvals).astype("int64")

    feature_mean = np.zeros((n_ticks, len(_FEATURES)))
    feature_missing = np.zeros((n_ticks, len(_FEATURES)))
    if change_kind == "covariate_shift":
        feature_mean[changed, 0] = 1.0
    elif change_kind == "fault":
        feature_missing[changed, 1] = 0.3

    names = list(detectors)
    alarm = np.zeros((n_ticks, len(names)), dtype=bool)
    for j, name in enumerate(names):
        for h in detectors[name]:
            alarm[_tick_of(f"detectors[{name!r}]", h, tick_hours, n_ticks), j] = True
    statistic = np.where(alarm, 1.5, 0.5)

    events = [Event("deploy", 0.0, 0.0, source="model", detail={"version": 0})]
    if onset_hours is not None:
        end = np.inf if change_end_hours is None else change_end_hours
        events.append(Event(change_kind, onset_hours, end, source=change_kind))
    for j, name in enumerate(names):
        events.extend(Event("alarm", h, h, source=name) for h in hours[alarm[:, j]])
    for spec in extra_events:
        kind, begin, end, *source = spec
        events.append(
            Event(kind, begin, np.inf if end is None else end, source=source[0] if source else "")
        )
    events.sort(key=lambda e: e.start)

    detector_names = np.array(names, dtype=str)
    data = {
        "n_rows": n_rows,
        "n_labels": n_labels,
        "n_acted": n_rows.copy(),  # the default decision acts on every row here
        "acted_share": np.ones(n_ticks),
        "n_explored": np.zeros(n_ticks, dtype="int64"),
        "n_failed": np.zeros(n_ticks, dtype="int64"),
        "true_metric": true,
        "n_true_window": n_true,
        "observed_metric": observed,
        "n_observed_window": n_obs,
        "ipw_metric": observed.copy(),
        "offline_metric": np.broadcast_to(offline, (n_ticks, *offline.shape)).copy(),
        "deployed_version": np.zeros(n_ticks, dtype="int64"),
        "score_hist": score_hist,
        "feature_mean": feature_mean,
        "feature_std": np.ones_like(feature_mean),
        "feature_missing": feature_missing,
        "statistic": statistic,
        "threshold": np.ones_like(statistic),
        "alarm": alarm,
        "blamed": np.zeros((n_ticks, len(names), len(_FEATURES)), dtype=bool),
        "event_kind": np.array([str(e.kind) for e in events], dtype=str),
        "event_start": _to_time(start64, [e.start for e in events]),
        "event_end": _to_time(start64, [e.end for e in events]),
        "event_source": np.array([e.source for e in events], dtype=str),
        "event_detail": np.array([e.detail_json() for e in events], dtype=str),
    }
    coords = {
        "time": time,
        "tick": k.astype("int64"),
        "hours": hours,
        "metric": np.array(metrics),
        "split": np.array(["random", "time"]),
        "detector": detector_names,
        "detector_kind": np.array(["test"] * len(names), dtype=str),
        "detector_watches": np.array(["features"] * len(names), dtype=str),
        "detector_params": np.array(
            [json.dumps({"alarm_hours": [float(h) for h in detectors[n]]}) for n in names],
            dtype=str,
        ),
        "feature": np.array(_FEATURES),
        "feature_units": np.array(["1"] * len(_FEATURES)),
        "bin": np.arange(_N_BINS, dtype="int64"),
        "bin_lower": edges[:-1],
        "bin_upper": edges[1:],
        "event": np.arange(len(events), dtype="int64"),
    }
    attrs = {
        "scenario": json.dumps({"name": "make_run", "change_kind": change_kind}),
        "scenario_name": "make_run",
        "seed": int(seed),
        "simlab_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "start": str(start64.astype("datetime64[s]")),
        "tick_hours": float(tick_hours),
        "horizon_hours": float(n_ticks * tick_hours),
        "task": task,
        "primary_metric": _PRIMARY[task],
        "tolerance": tolerance,
        "window_hours": float(window_hours),
        "min_rows": int(min_rows),
        "reference_split": "random",
        "label_delay_hours": float(label_delay_hours),
        "estimator": "make_run",
        "estimator_params": "{}",
        "rebuildable": 0,
        "rebuild_problems": "a hand-drawn Run has no scenario to rebuild",
    }
    return build_run(data, coords, attrs)
