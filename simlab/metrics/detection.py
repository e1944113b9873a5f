"""Detection: when a change began, hurt and showed in labels, and how early each detector warned.

Pure functions of a Run, vectorised over ``time`` and broadcast over ``detector`` (and any other
dim a bench adds). The words follow DESIGN.md: **onset** is the first moment of an injected change;
**harm** the first tick at which the true metric is worse than offline by more than the tolerance;
**label alarm** the first tick at which the observed metric shows that; **detection delay** = first
alarm - onset; **lead time** = label alarm - first alarm (positive: the detector warned earlier than
labels would); a **false alarm** is an alarm before onset; a change is **missed** when no alarm
comes at or after its onset.

Times are ``datetime64[ns]`` (``NaT`` when a thing never happened) and durations are float hours
(``nan`` when either end is missing).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simlab.detectors.base import restarts_of
from simlab.errors import ConfigError
from simlab.metrics.degradation import _drop_scalar_coords, _metric_name, _shortfall

__all__ = [
    "CHANGE_KINDS",
    "alarm_starts",
    "blamed_right",
    "detection_delay",
    "evaluate",
    "false_alarm_rate",
    "false_alarms",
    "first_alarm",
    "harm_time",
    "label_alarm_time",
    "largest_window",
    "lead_time",
    "missed",
    "onset",
]

#: Event kinds that count as an injected change (train, deploy and alarm events do not).
CHANGE_KINDS = ("covariate_shift", "label_shift", "concept_shift", "fault")

_NAT = np.datetime64("NaT", "ns")
_HOUR = np.timedelta64(1, "h")
_NEVER = np.iinfo(np.int64).max


def _earliest(times: xr.DataArray, mask: xr.DataArray, dim: str) -> xr.DataArray:
    """The least of ``times`` where ``mask`` holds, reduced over ``dim``; ``NaT`` if none does."""
    mask = mask & times.notnull()
    if times.sizes.get(dim, 0) == 0:
        # nothing to reduce over (a Run with no events): NaT, shaped like the other dims
        return _drop_scalar_coords(xr.full_like(mask.any(dim), _NAT, dtype="datetime64[ns]"))
    ns = xr.where(mask, times.astype("int64"), _NEVER).min(dim)
    out = xr.where(ns == _NEVER, _NAT, ns.astype("datetime64[ns]"))
    return _drop_scalar_coords(out)


def _hours(delta: xr.DataArray) -> xr.DataArray:
    return delta / _HOUR


def _tolerance(run: xr.Dataset, tolerance: float | None) -> float:
    value = run.attrs.get("tolerance") if tolerance is None else tolerance
    if value is None or not np.isfinite(value) or value < 0:
        raise ConfigError("tolerance", value, "a finite number >= 0", owner="simlab.metrics")
    return float(value)


def _first_worse(
    run: xr.Dataset, view: str, count: str, metric: str | None, tolerance: float | None
) -> xr.DataArray:
    name = _metric_name(run, metric)
    worse = _shortfall(run, view, name) > _tolerance(run, tolerance)
    enough = run[count] >= run.attrs.get("min_rows", 0)
    return _earliest(run["time"], worse & enough, "time")


def largest_window(run: xr.Dataset, view: str = "true") -> xr.DataArray:
    """The most rows any trailing window held (``view`` "true" or "observed").

    Harm (``view="true"``) or a label alarm (``"observed"``) can only be judged on a window
    of at least the Run's ``min_rows``; when even the largest window is smaller, "no harm"
    means "not judged", never "benign".

    Parameters
    ----------
    run
        A Run.
    view
        "true" (all rows) or "observed" (arrived labels).

    Returns
    -------
    xarray.DataArray
        An integer scalar (per run of a bench).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> int(largest_window(make_run(rows_per_tick=10, window_hours=24.0)))
    240
    """
    if view not in ("true", "observed"):
        raise ConfigError("view", view, '"true" or "observed"', owner="largest_window")
    count = run["n_true_window" if view == "true" else "n_observed_window"]
    out = count.max("time") if count.sizes.get("time", 0) else xr.zeros_like(count.sum("time"))
    return _drop_scalar_coords(out).rename(f"largest_{view}_window")


def onset(run: xr.Dataset) -> xr.DataArray:
    """The first moment of an injected change: the earliest start of a change event.

    Change events are those of kind covariate_shift, label_shift, concept_shift or fault
    (`CHANGE_KINDS`); train, deploy and alarm events are not changes.

    Parameters
    ----------
    run
        A Run.

    Returns
    -------
    xarray.DataArray
        A ``datetime64[ns]`` scalar; ``NaT`` if the Run has no change event.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0)
    >>> float((onset(run) - run.time[0]) / np.timedelta64(1, "h"))
    100.0
    >>> bool(onset(make_run(onset_hours=None, harm_hours=None)).isnull())
    True
    """
    is_change = run["event_kind"].isin(list(CHANGE_KINDS))
    out = _earliest(run["event_start"], is_change, "event")
    return out.assign_attrs(long_name="onset of the first injected change").rename("onset")


def harm_time(
    run: xr.Dataset, *, metric: str | None = None, tolerance: float | None = None
) -> xr.DataArray:
    """The first tick at which the true metric is worse than offline by more than the tolerance.

    Worse means ``degradation(run) > tolerance`` (direction from ``higher_is_better``, offline on
    the Run's ``reference_split``), and the tick only counts if its window holds at least
    ``min_rows`` rows (``n_true_window``).

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric; defaults to the Run's ``primary_metric``.
    tolerance
        Harm tolerance in the metric's units; defaults to the Run's ``tolerance``.

    Returns
    -------
    xarray.DataArray
        A ``datetime64[ns]`` scalar; ``NaT`` if it never happens (a benign change, or none).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, harm_hours=130.0)
    >>> float((harm_time(run) - run.time[0]) / np.timedelta64(1, "h"))
    130.0
    >>> bool(harm_time(make_run(harm_hours=None)).isnull())
    True
    """
    out = _first_worse(run, "true_metric", "n_true_window", metric, tolerance)
    return out.assign_attrs(long_name="harm (true metric worse than offline)").rename("harm")


def label_alarm_time(
    run: xr.Dataset, *, metric: str | None = None, tolerance: float | None = None
) -> xr.DataArray:
    """The first tick at which the observed (label-visible) metric shows harm.

    The same rule as `harm_time`, on ``observed_metric`` and ``n_observed_window``: what a team
    watching delayed labels would see.

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric; defaults to the Run's ``primary_metric``.
    tolerance
        Harm tolerance in the metric's units; defaults to the Run's ``tolerance``.

    Returns
    -------
    xarray.DataArray
        A ``datetime64[ns]`` scalar; ``NaT`` if labels never show harm (no harm, or it comes
        too late for its labels to arrive before the horizon).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(harm_hours=130.0, label_delay_hours=24.0)
    >>> float((label_alarm_time(run) - run.time[0]) / np.timedelta64(1, "h"))
    154.0
    """
    out = _first_worse(run, "observed_metric", "n_observed_window", metric, tolerance)
    return out.assign_attrs(long_name="label alarm (observed metric shows harm)").rename(
        "label_alarm"
    )


def _twin_alarm(run: xr.Dataset, twin: xr.Dataset | None) -> xr.DataArray | None:
    """The twin's alarms on the run's coordinates (checked to be the same ticks and monitors)."""
    if twin is None:
        return None
    same = twin.sizes.get("time") == run.sizes.get("time") and list(
        twin["detector"].values
    ) == list(run["detector"].values)
    if not same:
        raise ConfigError(
            "twin",
            f"{twin.sizes.get('time')} ticks, detectors {list(twin['detector'].values)}",
            f"the run's no-change twin: {run.sizes.get('time')} ticks, detectors "
            f"{list(run['detector'].values)}",
            owner="simlab.metrics",
        )
    return run["alarm"].copy(data=twin["alarm"].transpose(*run["alarm"].dims).values)


def alarm_starts(run: xr.Dataset) -> xr.DataArray:
    """Ticks where a new alarm begins: alarming now and not on the previous tick.

    For a detector that restarts after each alarm (`Tags.restarts`: CUSUM, DDM, ...),
    every alarming tick is a new alarm; which detectors do is read from the coordinate
    ``detector_restarts`` when the run has one, else from the registry by
    ``detector_kind``. A deployment refits the monitors, so an alarm that
    holds across one begins anew there.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(detectors={"a": [10.0, 11.0, 12.0, 30.0]})
    >>> np.flatnonzero(alarm_starts(run).sel(detector="a").values).tolist()
    [10, 30]
    """
    alarm = run["alarm"]
    begins = alarm & ~alarm.shift(time=1, fill_value=False)
    if "deployed_version" in run:
        version = run["deployed_version"]
        before = version.shift(time=1)
        begins = begins | (alarm & (version != before) & before.notnull())
    if "detector_restarts" in run.coords:  # said per monitor (a replay, a user's own)
        begins = xr.where(run["detector_restarts"].astype(bool), alarm, begins)
    elif "detector_kind" in run.coords:
        restarting = xr.apply_ufunc(
            np.vectorize(lambda k: restarts_of(str(k)), otypes=[bool]), run["detector_kind"]
        )
        if restarting.any():
            begins = xr.where(restarting, alarm, begins)
    return begins.transpose(*alarm.dims).rename("alarm_start")


def first_alarm(run: xr.Dataset, *, twin: xr.Dataset | None = None) -> xr.DataArray:
    """Each detector's first alarm that begins at or after onset.

    An alarm raised before onset and still standing at onset does not count as a
    detection: only a new alarm (a tick in alarm after one that was not) does. With the
    no-change `twin` (the run of ``scenario.twin()`` with the same seed), an alarm that
    begins at a tick where the twin alarmed too is chance, not a detection.

    Parameters
    ----------
    run
        A Run.
    twin
        Optional: the Run of the scenario's no-change twin, same seed.

    Returns
    -------
    xarray.DataArray
        ``datetime64[ns]`` on ``detector``; ``NaT`` for a detector that never alarms at or after
        onset, and for every detector when the Run has no change.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, detectors={"psi": [50.0, 110.0]})
    >>> float((first_alarm(run).sel(detector="psi") - run.time[0]) / np.timedelta64(1, "h"))
    110.0
    """
    after = run["time"] >= onset(run)
    # an alarm raised before onset and still standing is a false alarm, not a detection
    begins = alarm_starts(run)
    lucky = _twin_alarm(run, twin)
    if lucky is not None:
        begins = begins & ~lucky
    out = _earliest(run["time"], begins & after, "time")
    return out.assign_attrs(long_name="first alarm at or after onset").rename("first_alarm")


def detection_delay(run: xr.Dataset, *, twin: xr.Dataset | None = None) -> xr.DataArray:
    """Hours from onset to each detector's first alarm.

    Parameters
    ----------
    run
        A Run.
    twin
        Optional no-change twin Run (see `first_alarm`).

    Returns
    -------
    xarray.DataArray
        Float hours on ``detector``; ``nan`` for a missed change and when the Run has no change.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, detectors={"a": [110.0], "b": [90.0]})
    >>> [round(float(v), 1) for v in detection_delay(run)]
    [10.0, nan]
    """
    out = _hours(first_alarm(run, twin=twin) - onset(run))
    return out.assign_attrs(long_name="detection delay", units="h").rename("delay_hours")


def lead_time(
    run: xr.Dataset,
    *,
    metric: str | None = None,
    tolerance: float | None = None,
    twin: xr.Dataset | None = None,
) -> xr.DataArray:
    """Hours by which each detector's first alarm came before the label alarm.

    Positive: the detector warned earlier than delayed labels would have; negative: later.

    Parameters
    ----------
    run
        A Run.
    metric, tolerance
        Passed to `label_alarm_time`.
    twin
        Optional no-change twin Run (see `first_alarm`).

    Returns
    -------
    xarray.DataArray
        Float hours on ``detector``; ``nan`` when the detector has no first alarm or labels
        never show harm.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(harm_hours=130.0, label_delay_hours=24.0, detectors={"a": [110.0]})
    >>> round(float(lead_time(run).sel(detector="a")), 1)
    44.0
    """
    label = label_alarm_time(run, metric=metric, tolerance=tolerance)
    out = _hours(label - first_alarm(run, twin=twin))
    return out.assign_attrs(long_name="lead time over labels", units="h").rename("lead_hours")


def _before_onset(run: xr.Dataset) -> xr.DataArray:
    start = onset(run)
    return (run["time"] < start) | start.isnull()


def false_alarms(run: xr.Dataset) -> xr.DataArray:
    """How many ticks each detector alarmed before onset (every alarm, when there is no change).

    Parameters
    ----------
    run
        A Run.

    Returns
    -------
    xarray.DataArray
        Int counts on ``detector`` (0 when onset is at or before the first tick).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, detectors={"a": [20.0, 50.0, 110.0]})
    >>> int(false_alarms(run).sel(detector="a"))
    2
    """
    out = (run["alarm"] & _before_onset(run)).sum("time").astype("int64")
    return (
        _drop_scalar_coords(out)
        .assign_attrs(long_name="false alarms (alarm ticks before onset)", units="alarms")
        .rename("false_alarms")
    )


def false_alarm_rate(run: xr.Dataset) -> xr.DataArray:
    """False alarms per 10,000 rows served before onset.

    Parameters
    ----------
    run
        A Run.

    Returns
    -------
    xarray.DataArray
        Float on ``detector``; ``nan`` when no rows were served before onset.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, rows_per_tick=100, detectors={"a": [20.0, 50.0]})
    >>> round(float(false_alarm_rate(run).sel(detector="a")), 3)
    2.0
    """
    rows = run["n_rows"].where(_before_onset(run), 0).sum("time")
    rate = false_alarms(run) / rows.where(rows > 0) * 10_000
    return (
        _drop_scalar_coords(rate)
        .assign_attrs(long_name="false alarm rate", units="alarms per 10,000 rows")
        .rename("false_alarm_rate")
    )


def missed(run: xr.Dataset, *, twin: xr.Dataset | None = None) -> xr.DataArray:
    """Whether each detector missed the change: there is one and no new alarm began after it.

    Parameters
    ----------
    run
        A Run.
    twin
        Optional no-change twin Run (see `first_alarm`).

    Returns
    -------
    xarray.DataArray
        Bool on ``detector``; False for every detector when the Run has no change.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, detectors={"a": [110.0], "b": [], "c": [90.0]})
    >>> [bool(v) for v in missed(run)]
    [False, True, True]
    """
    out = onset(run).notnull() & first_alarm(run, twin=twin).isnull()
    return out.assign_attrs(long_name="missed change", units="1").rename("missed")


def changed_features(run: xr.Dataset) -> list[str]:
    """The features the Run's injected changes name (in the order of the Run's features)."""
    import json

    names: set[str] = set()
    for kind, detail in zip(run["event_kind"].values, run["event_detail"].values, strict=True):
        if str(kind) in CHANGE_KINDS:
            names.update(json.loads(str(detail)).get("features", []))
    return [str(f) for f in run["feature"].values if str(f) in names]


def blamed_right(run: xr.Dataset) -> xr.DataArray:
    """Whether each detector, at its first alarm after onset, blamed a feature the change touched.

    1.0 if the columns it blamed at that tick include one that an injected change names
    (a fault's column, a covariate shift's features), 0.0 if it blamed only others or none,
    ``nan`` if it never alarmed after onset or the changes name no feature (a concept drift).
    What a team looks at first decides how fast a broken pipeline is found.

    Parameters
    ----------
    run
        A Run.

    Returns
    -------
    xarray.DataArray
        Float on ``detector``.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, change_kind="fault", detectors={"dq": [110.0]})
    >>> float(blamed_right(run).sel(detector="dq"))  # make_run's fault names no feature
    nan
    """
    first = first_alarm(run)
    touched = changed_features(run)
    out = xr.full_like(first, np.nan, dtype=float)
    if not touched or run.sizes.get("detector", 0) == 0:
        return out.assign_attrs(long_name="blamed the changed feature", units="1").rename(
            "blamed_right"
        )
    blamed = run["blamed"].sel(feature=touched).any("feature")
    for d in run["detector"].values:  # one look-up per detector, not per row
        when = first.sel(detector=d).values
        if not np.isnat(when):
            out.loc[{"detector": d}] = float(blamed.sel(detector=d, time=when))
    return out.assign_attrs(long_name="blamed the changed feature", units="1").rename(
        "blamed_right"
    )


def evaluate(
    run: xr.Dataset,
    *,
    metric: str | None = None,
    tolerance: float | None = None,
    twin: xr.Dataset | None = None,
) -> xr.Dataset:
    """Every detection metric of one Run, in one Dataset.

    Parameters
    ----------
    run
        A Run.
    metric, tolerance
        Override the Run's ``primary_metric`` and ``tolerance`` for harm and the label alarm.
    twin
        Optional: the Run of the scenario's no-change twin with the same seed; an alarm
        the twin also raised at that tick is not a detection (`first_alarm`).

    Returns
    -------
    xarray.Dataset
        Scalars ``onset``, ``harm``, ``label_alarm`` (``datetime64[ns]``, ``NaT`` if they never
        happen), ``harm_judged`` and ``label_judged`` (whether any window reached ``min_rows``:
        if not, ``NaT`` means "could not be judged"), ``largest_true_window`` and
        ``largest_observed_window``, and ``is_benign`` (a change whose harm was judged and
        never found); on ``detector`` (with the Run's
        detector coordinates): ``first_alarm``, ``delay_hours``, ``lead_hours``,
        ``false_alarms``, ``false_alarm_rate``, ``missed`` and ``blamed_right``. Attrs: the
        ``metric`` and ``tolerance`` used, and the Run's ``scenario`` and ``seed``.
        Concatenating these along ``seed`` or ``scenario`` gives a bench table.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, harm_hours=130.0, label_delay_hours=24.0)
    >>> scores = evaluate(run)
    >>> [round(float(v), 1) for v in scores.lead_hours]
    [44.0, 14.0]
    >>> bool(scores.is_benign), [bool(v) for v in scores.missed]
    (False, [False, False])
    """
    name = _metric_name(run, metric)
    tol = _tolerance(run, tolerance)
    start = onset(run)
    harm = harm_time(run, metric=name, tolerance=tol)
    label = label_alarm_time(run, metric=name, tolerance=tol)
    first = first_alarm(run, twin=twin)
    min_rows = run.attrs.get("min_rows", 0)
    judged = (largest_window(run, "true") >= min_rows).assign_attrs(
        long_name="harm could be judged (a window reached min_rows)", units="1"
    )
    label_judged = (largest_window(run, "observed") >= min_rows).assign_attrs(
        long_name="a label alarm could be judged (a window of labels reached min_rows)",
        units="1",
    )
    benign = (start.notnull() & judged & harm.isnull()).assign_attrs(
        long_name="benign change (harm judged, and never found)", units="1"
    )
    out = xr.Dataset(
        {
            "onset": start,
            "harm": harm,
            "label_alarm": label,
            "is_benign": benign,
            "harm_judged": judged,
            "label_judged": label_judged,
            "largest_true_window": largest_window(run, "true"),
            "largest_observed_window": largest_window(run, "observed"),
            "first_alarm": first,
            "delay_hours": detection_delay(run, twin=twin),
            "lead_hours": _hours(label - first).assign_attrs(
                long_name="lead time over labels", units="h"
            ),
            "false_alarms": false_alarms(run),
            "false_alarm_rate": false_alarm_rate(run),
            "missed": missed(run, twin=twin),
            "blamed_right": blamed_right(run),
        }
    )
    attrs = {"metric": name, "tolerance": tol, "twin": int(twin is not None)}
    attrs.update({k: run.attrs[k] for k in ("scenario", "seed") if k in run.attrs})
    return out.assign_attrs(attrs)
