"""Degradation: how far the views of model quality (offline, true, observed) lie apart over time.

Every function takes a Run and returns a `~xarray.DataArray` on ``time`` (and on any other dim
the Run carries besides ``metric`` and ``split``, such as ``seed`` in a bench), for one metric:
the Run's ``primary_metric`` unless ``metric=`` names another.
"""

from __future__ import annotations

import xarray as xr

from simlab.errors import ConfigError
from simlab.scoring import METRIC_UNITS

__all__ = ["degradation", "label_gap", "optimism"]


def _metric_name(run: xr.Dataset, metric: str | None) -> str:
    """The metric to judge: ``metric`` if given, else the Run's ``primary_metric``, validated."""
    name = run.attrs.get("primary_metric") if metric is None else metric
    known = [str(m) for m in run["metric"].values]
    if name not in known:
        raise ConfigError("metric", name, f"one of {known}", owner="simlab.metrics")
    return str(name)


def _worse_sign(run: xr.Dataset, metric: str) -> int:
    """+1 where higher is better (worse = smaller), -1 where lower is better."""
    return 1 if bool(run["higher_is_better"].sel(metric=metric)) else -1


def _drop_scalar_coords(da: xr.DataArray) -> xr.DataArray:
    return da.drop_vars([c for c in da.coords if da[c].ndim == 0])


def _shortfall(run: xr.Dataset, view: str, metric: str) -> xr.DataArray:
    """``offline (reference split) - view``, signed so that positive means worse than offline."""
    split = run.attrs.get("reference_split", "random")
    offline = run["offline_metric"].sel(metric=metric, split=split)
    value = run[view].sel(metric=metric)
    return _drop_scalar_coords(_worse_sign(run, metric) * (offline - value))


def degradation(run: xr.Dataset, *, metric: str | None = None) -> xr.DataArray:
    """How much worse the true metric is than offline evaluation promised, at every tick.

    ``offline_metric`` on the Run's ``reference_split`` minus ``true_metric``, signed by
    ``higher_is_better`` so that positive always means worse than promised (for a metric where
    lower is better, such as MAE, it is ``true - offline``).

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric; defaults to the Run's ``primary_metric``.

    Returns
    -------
    xarray.DataArray
        On ``time``, in the metric's units; ``nan`` where the true metric is ``nan``
        (a window with no rows).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, harm_hours=130.0, tolerance=0.05)
    >>> d = degradation(run)
    >>> round(float(d.sel(time=run.time[99])), 3), round(float(d.sel(time=run.time[130])), 3)
    (0.0, 0.1)
    """
    name = _metric_name(run, metric)
    out = _shortfall(run, "true_metric", name)
    return out.assign_attrs(
        long_name=f"degradation of {name} (offline - true; positive = worse)",
        units=METRIC_UNITS.get(name, ""),
    ).rename("degradation")


def label_gap(run: xr.Dataset, *, metric: str | None = None) -> xr.DataArray:
    """What label delay hides: the observed metric minus the true metric, at every tick.

    Not direction-adjusted: for accuracy a positive gap means labels still show a better model than
    the one serving now; for MAE a negative gap means that.

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric; defaults to the Run's ``primary_metric``.

    Returns
    -------
    xarray.DataArray
        On ``time``, in the metric's units; ``nan`` where no labels have arrived in the window
        (``observed_metric`` is ``nan``) or the true window is empty.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(harm_hours=130.0, label_delay_hours=24.0, tolerance=0.05)
    >>> g = label_gap(run)
    >>> round(float(g.sel(time=run.time[140])), 3), bool(g.isel(time=0).isnull())
    (0.075, True)
    """
    name = _metric_name(run, metric)
    out = run["observed_metric"].sel(metric=name) - run["true_metric"].sel(metric=name)
    return (
        _drop_scalar_coords(out)
        .assign_attrs(
            long_name=f"label gap of {name} (observed - true)",
            units=METRIC_UNITS.get(name, ""),
        )
        .rename("label_gap")
    )


def optimism(run: xr.Dataset, *, metric: str | None = None) -> xr.DataArray:
    """How much a random split flatters the model compared with a time split, at every tick.

    ``offline_metric`` on split ``random`` minus split ``time``, signed by ``higher_is_better`` so
    that positive always means the random split promised more (for MAE: ``time - random``).

    Parameters
    ----------
    run
        A Run.
    metric
        Which metric; defaults to the Run's ``primary_metric``.

    Returns
    -------
    xarray.DataArray
        On ``time`` (it changes when a new model is deployed), in the metric's units; ``nan`` where
        either offline figure is ``nan``.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> round(float(optimism(make_run()).isel(time=0)), 3)
    0.02
    >>> round(float(optimism(make_run(task="regression")).isel(time=0)), 3)
    0.1
    """
    name = _metric_name(run, metric)
    offline = run["offline_metric"].sel(metric=name)
    out = _worse_sign(run, name) * (offline.sel(split="random") - offline.sel(split="time"))
    return (
        _drop_scalar_coords(out)
        .assign_attrs(
            long_name=f"optimism of {name} (random split over time split; positive = flattering)",
            units=METRIC_UNITS.get(name, ""),
        )
        .rename("optimism")
    )
