"""What monitoring and retraining cost, and each policy's regret against the oracle schedule.

A Run is priced by a `CostModel`: labels bought (every label that arrived), training jobs
(every model trained after the first: the champion's retrains and every challenger's) and
harm (each row served while the model was degraded, at its excess error: how much worse than offline
evaluation promised the true metric was, counted only while that exceeds the scenario's
tolerance, so that chance wobbles cost nothing). `regret` compares policies on the same
scenario and seed against the *oracle schedule*: retrain exactly when harm starts, with a
model as good as promised, so that each harmful change episode costs the oracle the
cheaper of one training job and tolerating the harm (what the never-retrained model does
in that episode). The oracle's regret is zero by construction. A policy that retrains in
an episode pays at least that job, and one that does not pays at least the episode's harm
as long as no earlier retraining made its model better than the never-retrained one
there; so regret is not negative in the usual case (the tests check it on concept and
covariate shifts for never, periodic and alarm-driven retraining at three prices).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from simlab.errors import ConfigError
from simlab.metrics.degradation import degradation
from simlab.metrics.scoring import change_episodes
from simlab.params import Component
from simlab.validation import check_real

__all__ = ["CostModel", "excess_errors", "oracle_cost", "regret", "run_cost"]


class CostModel(Component):
    """Prices of what a deployment consumes and of the harm it does.

    Parameters
    ----------
    label
        Cost of one label bought (an annotation, a chargeback investigation).
    training
        Cost of one training job (compute, review, release).
    error
        Cost of one excess error: a row the degraded model got wrong that the promised
        model would have got right (in expectation).

    Examples
    --------
    >>> CostModel(training=500.0)
    CostModel(training=500.0)
    """

    def __init__(self, *, label: float = 0.0, training: float = 100.0, error: float = 1.0):
        self.label = label
        self.training = training
        self.error = error
        for key in ("label", "training", "error"):
            check_real("CostModel", key, getattr(self, key), low=0.0)


def excess_errors(run: xr.Dataset) -> xr.DataArray:
    """Per tick: rows served times the shortfall from the offline promise, where it is harm.

    ``n_rows * degradation`` at the ticks whose degradation exceeds the Run's tolerance, 0
    elsewhere (the Run's primary metric; for accuracy it is a count of extra errors).

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run(onset_hours=100.0, harm_hours=130.0)
    >>> e = excess_errors(run)
    >>> bool(e.isel(time=slice(0, 100)).sum() == 0), bool(e.sum() > 0)
    (True, True)
    """
    gap = degradation(run)
    harmful = gap > float(run.attrs.get("tolerance", 0.0))
    out = xr.where(harmful & gap.notnull(), run["n_rows"] * gap, 0.0)
    return out.rename("excess_errors").assign_attrs(
        long_name="rows served times the shortfall from the offline promise, while harmful",
        units="rows",
    )


def _jobs(run: xr.Dataset) -> int:
    """Training jobs after the first model: the champion's retrains and every challenger's."""
    kinds = run["event_kind"].values.astype(str)
    detail = run["event_detail"].values.astype(str)
    source = run["event_source"].values.astype(str)
    first = np.char.find(detail, '"version": 0') >= 0
    promoted = np.char.find(detail, '"promoted": true') >= 0  # trained as a challenger
    retrains = (kinds == "deploy") & ~first & ~promoted
    challengers = (kinds == "train") & (np.char.find(source, "challenger/") == 0)
    return int(retrains.sum() + challengers.sum())


def run_cost(run: xr.Dataset, costs: CostModel) -> xr.Dataset:
    """What one Run cost: labels bought, training jobs, excess errors, and their prices.

    Parameters
    ----------
    run
        A Run.
    costs
        The prices.

    Returns
    -------
    xarray.Dataset
        ``labels``, ``training_jobs``, ``excess_errors`` (counts) and ``label_cost``,
        ``training_cost``, ``harm_cost``, ``total_cost``.

    Examples
    --------
    >>> import simlab
    >>> from simlab.sim import Periodic, Scenario
    >>> from simlab.world import sea
    >>> run = simlab.simulate(Scenario(world=sea(), horizon_hours=100,
    ...                                policy=Periodic(period_hours=48)), seed=0)
    >>> c = run_cost(run, CostModel(training=100.0))
    >>> int(c.training_jobs), float(c.training_cost)
    (2, 200.0)
    """
    if not isinstance(costs, CostModel):
        raise ConfigError("costs", costs, "a CostModel", owner="run_cost")
    labels = float(run["n_labels"].sum())
    jobs = _jobs(run)
    excess = math.fsum(excess_errors(run).values.ravel())  # exact: comparable across runs
    out = {
        "labels": labels,
        "training_jobs": jobs,
        "excess_errors": excess,
        "label_cost": labels * costs.label,
        "training_cost": jobs * costs.training,
        "harm_cost": excess * costs.error,
    }
    out["total_cost"] = out["label_cost"] + out["training_cost"] + out["harm_cost"]
    return xr.Dataset({k: ((), v) for k, v in out.items()})


def oracle_cost(never: xr.Dataset, costs: CostModel) -> dict:
    """The oracle schedule's spend beyond labels: per change episode, min(one job, its harm).

    `never` is the same scenario and seed with no retraining: its harm in each episode
    (from the episode's start to the next one's) is what tolerating that change costs.

    Returns
    -------
    dict
        ``training_jobs`` (episodes the oracle retrains in), ``excess_errors`` (those it
        tolerates), ``training_cost``, ``harm_cost``.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> o = oracle_cost(make_run(onset_hours=100.0, harm_hours=130.0), CostModel(training=1.0))
    >>> o["training_jobs"], o["training_cost"]
    (1, 1.0)
    """
    excess = excess_errors(never)
    hours = never["hours"].values
    starts = [s for s, _ in change_episodes(never)]
    out = {"training_jobs": 0, "excess_errors": 0.0, "training_cost": 0.0, "harm_cost": 0.0}
    for i, s in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else np.inf
        errors = math.fsum(excess.values[(hours >= s) & (hours < end)])
        if errors * costs.error > costs.training:
            out["training_jobs"] += 1
            out["training_cost"] += costs.training
        else:
            out["excess_errors"] += errors
            out["harm_cost"] += errors * costs.error
    return out


def regret(runs, never: xr.Dataset, costs: CostModel) -> xr.Dataset:
    """Each policy's cost and its regret against the oracle schedule, on one scenario and seed.

    Parameters
    ----------
    runs
        Policy label -> its Run (same scenario and seed, different retraining).
    never
        The Run without retraining (the oracle's reference for what tolerating costs).
    costs
        The prices.

    Returns
    -------
    xarray.Dataset
        On a ``policy`` dim (with ``"oracle"`` first): the `run_cost` variables and
        ``regret`` = total cost minus the oracle's (labels, bought by every policy alike,
        count for both).

    Examples
    --------
    >>> import simlab
    >>> from simlab.sim import Never, Periodic, Scenario
    >>> from simlab.world import ConceptShift, Sudden, logistic
    >>> drift = ConceptShift(rotate=90, schedule=Sudden(start=100.0))
    >>> s = Scenario(world=logistic(n_features=3, shifts=(drift,)), horizon_hours=300)
    >>> never = simlab.simulate(s, seed=0)
    >>> weekly = simlab.simulate(s.replace(policy=Periodic(period_hours=168)), seed=0)
    >>> r = regret({"never": never, "weekly": weekly}, never, CostModel(training=200.0))
    >>> r.policy.values.tolist(), float(r.regret.sel(policy="oracle"))
    (['oracle', 'never', 'weekly'], 0.0)
    """
    if not runs:
        raise ConfigError("runs", runs, "at least one policy's Run", owner="regret")
    labels = list(runs)
    if "oracle" in labels:
        raise ConfigError("runs", labels, 'labels other than "oracle"', owner="regret")
    parts = [run_cost(runs[k], costs) for k in labels]
    base = run_cost(never, costs)
    spend = oracle_cost(never, costs)
    oracle = {"labels": float(base["labels"]), "label_cost": float(base["label_cost"])}
    oracle.update(spend)
    oracle["total_cost"] = oracle["label_cost"] + spend["training_cost"] + spend["harm_cost"]
    oracle = xr.Dataset({k: ((), oracle[k]) for k in base.data_vars})
    out = xr.concat([oracle, *parts], dim="policy").assign_coords(policy=["oracle", *labels])
    out["regret"] = out["total_cost"] - out["total_cost"].sel(policy="oracle")
    return out
