"""Run timelines: the three views of model quality, the injected changes and the alarms, over time.

`timeline` draws offline, true and observed metric with every change event, each detector's first
alarm, harm, the label alarm and the best detector's lead time; `score_heatmap` draws the score
histogram over time; `run_figure` stacks the two (the CLI saves it as ``timeline.png``).
"""

from __future__ import annotations

import json

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from simlab.errors import ConfigError
from simlab.metrics.degradation import _metric_name
from simlab.metrics.detection import (
    CHANGE_KINDS,
    first_alarm,
    harm_time,
    label_alarm_time,
    largest_window,
    lead_time,
)

__all__ = ["format_hours", "run_figure", "score_heatmap", "timeline"]

_KIND_COLOURS = {
    "covariate_shift": "tab:orange",
    "label_shift": "tab:green",
    "concept_shift": "tab:red",
    "fault": "tab:purple",
}


def format_hours(hours: float) -> str:
    """A duration for a label: hours below 48 h, days from there on.

    Parameters
    ----------
    hours
        The duration in hours (may be negative).

    Examples
    --------
    >>> format_hours(30.0), format_hours(76.8), format_hours(-50.0)
    ('30.0 hours', '3.2 days', '-2.1 days')
    """
    if abs(hours) < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days"


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
    return ax


def _num(times) -> np.ndarray:
    """datetime64 values as Matplotlib date numbers (days since its epoch)."""
    return mdates.date2num(np.asarray(times, dtype="datetime64[ns]"))


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _x_range(run: xr.Dataset) -> tuple[float, float]:
    """The span the ticks cover, as date numbers: half a tick either side of the first and last."""
    x = _num(run["time"].values[[0, -1]])
    half = float(run.attrs.get("tick_hours", 1.0)) / 48
    return float(x[0] - half), float(x[1] + half)


def _change_events(run: xr.Dataset) -> list[tuple[str, float, float]]:
    """(kind, start, end) of each change event as date numbers; open ends run past the horizon."""
    kinds = run["event_kind"].values.astype(str)
    keep = np.isin(kinds, CHANGE_KINDS)
    if not keep.any():
        return []
    horizon = _x_range(run)[1]
    starts = _num(run["event_start"].values[keep])
    ends = _num(run["event_end"].values[keep])
    ends = np.where(np.isnan(ends), horizon, ends)
    return list(zip(kinds[keep].tolist(), starts.tolist(), ends.tolist(), strict=True))


def _mark_changes(ax: Axes, run: xr.Dataset, *, label: bool) -> list:
    """Shade each change window (a line for an instant), labelled by kind; legend handles."""
    handles, seen = [], set()
    strip = ax.get_xaxis_transform()
    for kind, start, end in _change_events(run):
        colour = _KIND_COLOURS.get(kind, "0.5")
        if end > start:
            ax.axvspan(start, end, color=colour, alpha=0.12, lw=0)
        else:
            ax.axvline(start, color=colour, lw=1.5, alpha=0.8)
        if label:
            ax.text(start, 0.98, f" {kind}", transform=strip, rotation=90, va="top", fontsize=8)
        if kind not in seen:
            seen.add(kind)
            handles.append(Patch(color=colour, alpha=0.3, label=kind.replace("_", " ")))
    return handles


def timeline(
    run: xr.Dataset,
    *,
    metric: str | None = None,
    ax: Axes | None = None,
    detectors: list[str] | None = None,
) -> Axes:
    """Offline, true and observed metric over time, with changes, alarms, harm and lead time.

    Draws the offline metric on the Run's reference split (dashed), the true metric and the
    observed (label-visible) metric; shades every change event, labelled by its kind (a vertical
    line for an instant); marks each detector's first alarm at or after onset (a triangle at the
    foot of the axes, one legend entry per detector, "no alarm" for those that never fired); marks
    harm and the label alarm with vertical lines; and draws the lead time of the best detector (the
    one furthest ahead of the label alarm) as a double-headed arrow labelled "lead time ...".

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric; defaults to the Run's ``primary_metric``.
    ax
        Axes to draw on; a new figure's axes if ``None``.
    detectors
        The detectors whose first alarm is marked (all if ``None``; ``[]`` for none). The
        lead-time arrow is drawn for the best of them.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> ax = timeline(make_run(onset_hours=100.0, harm_hours=130.0, label_delay_hours=24.0))
    >>> [t.get_text() for t in ax.texts if t.get_text().startswith("lead")]
    ['lead time 44.0 hours']
    >>> plt.close(ax.figure)
    """
    name = _metric_name(run, metric)
    ax = _axes(ax)
    x = _num(run["time"].values)
    split = run.attrs.get("reference_split", "random")
    true = run["true_metric"].sel(metric=name)
    observed = run["observed_metric"].sel(metric=name)
    offline = run["offline_metric"].sel(metric=name, split=split)
    ax.plot(x, offline.values, ls="--", color="0.35", label=f"offline ({split} split)")
    ax.plot(x, true.values, color="tab:blue", label=run["true_metric"].attrs.get("long_name"))
    ax.plot(
        x, observed.values, color="tab:cyan", label=run["observed_metric"].attrs.get("long_name")
    )
    handles = _mark_changes(ax, run, label=True)

    strip = ax.get_xaxis_transform()
    names = run["detector"].values.astype(str).tolist()
    if detectors is not None:
        unknown = [d for d in detectors if d not in names]
        if unknown:
            raise ConfigError("detectors", unknown, f"names among {names}", owner="timeline")
        names = list(detectors)
    first = first_alarm(run).sel(detector=names)
    for i, det in enumerate(names):
        colour = f"C{(i + 4) % 10}"
        when = first.sel(detector=det).values
        if np.isnat(when):
            ax.plot([], [], marker="^", ls="none", color=colour, label=f"{det}: no alarm")
            continue
        at = _num(when)
        ax.plot([at], [0.03], marker="^", ms=9, ls="none", color=colour, transform=strip,
                label=f"{det} first alarm")  # fmt: skip
        ax.axvline(at, ymax=0.08, color=colour, lw=2)

    harm = harm_time(run, metric=name).values
    label = label_alarm_time(run, metric=name).values
    min_rows = run.attrs.get("min_rows", 0)
    largest = int(largest_window(run, "true"))
    if largest < min_rows:  # "no harm line" must not read as "no harm"
        ax.text(0.5, 0.5, f"harm not judged: the largest window held {largest:,} rows, "
                f"min_rows is {min_rows:,}", transform=ax.transAxes, ha="center",
                va="center", fontsize=9, color="tab:red")  # fmt: skip
    if not np.isnat(harm):
        ax.axvline(_num(harm), color="tab:red", ls=":", lw=1.5, label="harm")
    if not np.isnat(label):
        ax.axvline(_num(label), color="tab:olive", ls="-.", lw=1.5, label="label alarm")

    lead = lead_time(run, metric=name).sel(detector=names)
    if lead.size and bool(lead.notnull().any()):
        best = lead.fillna(-np.inf).argmax("detector")
        hours = float(lead.isel(detector=best))
        start, end = _num(first.isel(detector=best).values), _num(label)
        ax.annotate("", xy=(end, 0.9), xytext=(start, 0.9), xycoords=strip, textcoords=strip,
                    arrowprops={"arrowstyle": "<->", "color": "black", "lw": 1.2})  # fmt: skip
        ax.text((start + end) / 2, 0.92, f"lead time {format_hours(hours)}", transform=strip,
                ha="center", va="bottom", fontsize=9)  # fmt: skip

    units = run["true_metric"].attrs.get("units", "")
    # the units attr lists every metric ("accuracy: 1, log_loss: nats"): show this one's
    per_metric = dict(part.split(": ", 1) for part in units.split(", ") if ": " in part)
    units = per_metric.get(name, units)
    ax.set_ylabel(f"{name} [{units}]" if units else name)
    ax.set_xlabel(run["time"].attrs.get("long_name", "time"))
    ax.set_title(_title(run))
    ax.set_xlim(*_x_range(run))
    _date_axis(ax)
    line_handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=line_handles + handles, loc="lower left", fontsize=8, ncols=2)
    return ax


def _title(run: xr.Dataset) -> str:
    try:
        name = json.loads(run.attrs.get("scenario", "{}")).get("name", "run")
    except (ValueError, AttributeError):
        name = "run"
    seed = run.attrs.get("seed")
    return f"{name} (seed {seed})" if seed is not None else str(name)


def score_heatmap(run: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """The score histogram over time as a heat map, with the change events marked.

    Each column is one tick, centred on its time; each row one score bin; the colour is the share
    of that tick's rows whose score fell in the bin (blank for a tick without rows).

    Parameters
    ----------
    run
        A Run.
    ax
        Axes to draw on; a new figure's axes if ``None``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> ax = score_heatmap(make_run())
    >>> len(ax.collections), ax.get_ylabel()
    (1, 'score')
    >>> plt.close(ax.figure)
    """
    ax = _axes(ax)
    hist = run["score_hist"]
    rows = hist.sum("bin")
    share = (hist / rows.where(rows > 0)).transpose("bin", "time")
    x = _num(run["time"].values)
    half = float(run.attrs.get("tick_hours", 1.0)) / 48
    x_edges = np.concatenate([x - half, [x[-1] + half]])
    y_edges = np.concatenate([run["bin_lower"].values, run["bin_upper"].values[-1:]])
    mesh = ax.pcolormesh(x_edges, y_edges, share.values, cmap="viridis", shading="flat")
    cax = ax.inset_axes([1.01, 0.0, 0.012, 1.0])
    ax.figure.colorbar(mesh, cax=cax, label="share of the tick's rows")
    for _kind, start, end in _change_events(run):
        ax.axvline(start, color="white", ls="--", lw=1)
        if start < end < x_edges[-1]:
            ax.axvline(end, color="white", ls=":", lw=1)
    ax.set_ylabel("score")
    ax.set_xlim(*_x_range(run))
    ax.set_xlabel(run["time"].attrs.get("long_name", "time"))
    _date_axis(ax)
    return ax


def run_figure(run: xr.Dataset, *, metric: str | None = None) -> Figure:
    """The timeline above the score heat map, sharing the time axis.

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric the timeline shows; defaults to the Run's ``primary_metric``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> fig = run_figure(make_run())
    >>> len(fig.axes) >= 2
    True
    >>> plt.close(fig)
    """
    fig = plt.figure(figsize=(11, 7.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    timeline(run, metric=metric, ax=top)
    score_heatmap(run, ax=bottom)
    top.set_xlabel("")
    return fig
