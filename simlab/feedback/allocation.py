"""Runaway allocation: resources go where past discoveries were, and discover only where they go.

Patrols, inspections and audits are sent to regions in proportion to what they found there
before; an incident is found only where someone was sent. The share of resources then
follows the discoveries, which follow the share: a generalised Pólya urn (Ensign et al.
2018). `runaway_urn` simulates that loop on its own, vectorised over trials, with and without
Ensign's correction; `patrols` is the same loop as an engine world, where a deployed model
chooses the locations and is retrained on what its patrols discovered.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from simlab.errors import ConfigError
from simlab.feedback.selective_labels import SelectiveLabels
from simlab.validation import as_tuple, check_bool, check_int, check_real
from simlab.world.concepts import Rules
from simlab.world.covariates import Categorical, Uniform
from simlab.world.worlds import WORLDS, CausalWorld

__all__ = ["patrols", "runaway_urn"]


def _rates(owner: str, rates) -> np.ndarray:
    allowed = "a sequence of at least one discovery rate, each in (0, 1]"
    values = as_tuple(owner, "rates", rates, allowed)
    if not values:
        raise ConfigError("rates", rates, allowed, owner=owner)
    for i, r in enumerate(values):
        check_real(owner, f"rates[{i}]", r, low=0.0, high=1.0, open_low=True, open_high=False)
    return np.array(values, dtype=np.float64)


def _start(start, d: int, *, positive: bool) -> np.ndarray:
    if start is None:
        return np.ones(d)
    allowed = f"{d} finite ball counts (one per region), each {'> 0' if positive else '>= 0'}"
    allowed += ", with a positive total"
    values = as_tuple("runaway_urn", "start", start, allowed)
    if len(values) != d:
        raise ConfigError("start", start, allowed, owner="runaway_urn")
    for i, c in enumerate(values):
        check_real("runaway_urn", f"start[{i}]", c, low=0.0, open_low=positive)
    counts = np.array(values, dtype=np.float64)
    if not counts.sum() > 0.0:
        raise ConfigError("start", start, allowed, owner="runaway_urn")
    return counts


def runaway_urn(
    *,
    rates,
    steps: int,
    trials: int = 1,
    start=None,
    correction: bool = False,
    reported_rate: float = 0.0,
    seed: int = 0,
) -> xr.Dataset:
    """Simulate the runaway feedback loop of predictive policing: a generalised Pólya urn.

    There are ``d = len(rates)`` regions; an urn holds ball counts per region, ``start`` at
    first. At each step, in every trial independently, one resource is sent to a region drawn
    with probability proportional to its counts (the *share* ``p``); there it discovers an
    incident with probability ``rates[r]``, and a discovery adds one ball to that region.
    Regions that are visited more discover more and are visited still more: the share of the
    region with the highest rate runs away towards 1, whatever its true share
    ``rates[r] / sum(rates)``; with equal rates and one ball each, the final share is as
    likely to be anything (uniform on (0, 1) for two regions): the data say nothing, and the
    first discoveries decide.

    With ``correction=True`` (Ensign et al.'s fix), a discovery in region ``r`` is accepted
    (counted) with probability ``min(p) / p[r]``: the less often a region is visited, the
    more each of its discoveries counts. A ball then joins region ``r`` with probability
    ``p[r] * rates[r] * min(p) / p[r] = rates[r] * min(p)`` per step, in proportion to its
    true rate whatever the allocation, and the share converges to the true share. While a
    region has no balls, ``min(p)`` is 0 and nothing is accepted, so the correction needs
    every starting count to be positive.

    With ``reported_rate > 0``, incidents are also *reported* independently of where the
    resource went (calls from the public): at each step each region receives a report with
    probability ``reported_rate * rates[r]`` (reports reflect the true rates), and every
    report adds a ball, corrected or not.

    Parameters
    ----------
    rates
        The true discovery rate of each region, each in (0, 1].
    steps
        Steps to simulate (>= 1); the Python loop runs over steps, never over trials.
    trials
        Independent urns simulated side by side (>= 1).
    start
        Starting ball counts, one per region, each >= 0 (> 0 with the correction) with a
        positive total; one ball per region if omitted.
    correction
        Accept each discovery with probability ``min(p) / p[r]`` (see above).
    reported_rate
        Reports per step per region, as a share of the region's rate, in [0, 1].
    seed
        Seed of the simulation's own `numpy.random.Generator`.

    Returns
    -------
    xarray.Dataset
        Dims ``trial``, ``step`` (0 is the start, then 1 to `steps`) and ``region``, with
        ``share`` (the share after each step: what the next step allocates), ``counts``
        (balls after each step), ``discoveries`` (incidents found by the resource at each
        step, before any correction), ``accepted`` (discoveries counted), ``reports``
        (reported incidents), and ``rate`` and ``true_share`` on ``region``. Attrs hold
        the parameters (sequences as JSON).

    Notes
    -----
    Without correction and with reports absent, the expected increment of region ``r`` is
    ``p[r] * rates[r]``: the mean replacement matrix is ``diag(rates)``, whose largest
    entry wins (a generalised Pólya urn); the other shares fall like ``n ** (rates[r] /
    max(rates) - 1)`` in the number of balls ``n``. With equal rates it is Pólya's urn,
    whose share is a martingale with a Beta(start) limit.

    References
    ----------
    Ensign, D., Friedler, S. A., Neville, S., Scheidegger, C. and Venkatasubramanian, S.
    (2018). Runaway feedback loops in predictive policing. *Proceedings of the 1st
    Conference on Fairness, Accountability and Transparency*, PMLR 81, 160-171.

    Examples
    --------
    >>> ds = runaway_urn(rates=(0.5, 0.25), steps=2000, trials=200, seed=0)
    >>> final = ds.share.isel(step=-1, region=0)  # the region with the higher rate
    >>> round(float(ds.true_share[0]), 2), round(float(final.mean()), 2)
    (0.67, 0.94)
    >>> fixed = runaway_urn(rates=(0.5, 0.25), steps=2000, trials=200, correction=True)
    >>> round(float(fixed.share.isel(step=-1, region=0).mean()), 2)
    0.66
    """
    owner = "runaway_urn"
    r = _rates(owner, rates)
    d = r.shape[0]
    steps = check_int(owner, "steps", steps, 1)
    trials = check_int(owner, "trials", trials, 1)
    correction = check_bool(owner, "correction", correction)
    reported_rate = check_real(
        owner, "reported_rate", reported_rate, low=0.0, high=1.0, open_high=False
    )
    seed = check_int(owner, "seed", seed, 0)
    s0 = _start(start, d, positive=correction)
    rng = np.random.default_rng(seed)

    counts = np.empty((trials, steps + 1, d))
    found = np.zeros((trials, steps + 1, d), dtype=np.int8)
    kept = np.zeros((trials, steps + 1, d), dtype=np.int8)
    reports = np.zeros((trials, steps + 1, d), dtype=np.int8)
    counts[:, 0] = s0
    rows = np.arange(trials)
    report_p = reported_rate * r
    for k in range(1, steps + 1):
        c = counts[:, k - 1]
        total = c.sum(axis=1)
        cdf = np.cumsum(c, axis=1)
        u = rng.random((trials, 3))
        # the first region whose cumulative count exceeds u * total: a region without balls
        # (a flat step of the cdf) is never chosen; min() guards u * total rounding to total
        sent = np.minimum((cdf <= (u[:, 0] * total)[:, None]).sum(axis=1), d - 1)
        hit = u[:, 1] < r[sent]
        found[rows, k, sent] = hit
        if correction:
            p = c / total[:, None]
            hit &= u[:, 2] * p[rows, sent] < p.min(axis=1)
        kept[rows, k, sent] = hit
        if reported_rate > 0.0:
            reports[:, k] = rng.random((trials, d)) < report_p
        counts[:, k] = c + kept[:, k] + reports[:, k]

    share = counts / counts.sum(axis=2, keepdims=True)
    dims = ("trial", "step", "region")

    def var(values, long_name, units, dims=dims):
        return xr.Variable(dims, values, attrs={"long_name": long_name, "units": units})

    return xr.Dataset(
        {
            "share": var(share, "allocation share after the step", "1"),
            "counts": var(counts, "balls in the urn (counted incidents plus the start)", "1"),
            "discoveries": var(found, "incidents discovered by the resource", "1"),
            "accepted": var(kept, "discoveries counted in the urn", "1"),
            "reports": var(reports, "incidents reported independently of allocation", "1"),
            "rate": var(r, "true discovery rate", "1", ("region",)),
            "true_share": var(
                r / r.sum(), "share in proportion to the true rates", "1", ("region",)
            ),
        },
        coords={
            "trial": np.arange(trials, dtype=np.int64),
            "step": np.arange(steps + 1, dtype=np.int64),
            "region": np.arange(d, dtype=np.int64),
        },
        attrs={
            "rates": json.dumps(r.tolist()),
            "start": json.dumps(s0.tolist()),
            "steps": steps,
            "trials": trials,
            "correction": int(correction),
            "reported_rate": reported_rate,
            "seed": seed,
        },
    )


@WORLDS.register("patrols")
def patrols(
    *, rates=(0.3, 0.2, 0.15, 0.1), p=None, shifts=(), observed: str = "acted"
) -> SelectiveLabels:
    """Patrols as an engine world: incidents are recorded only where the model sent a patrol.

    Each row is a location (a street block) in one of ``len(rates)`` regions (``"r0"``,
    ``"r1"``, ...), at an hour of the day; its outcome is 1 if an incident happens there,
    with probability ``rates[region]`` (the hour does not matter). The deployed model scores
    the locations; a `TopShare` or `Budget` decision sends the patrols to the highest scores;
    an incident is recorded (labelled) only where a patrol went. Retraining on the recorded
    incidents, the model learns only about the locations it patrols: a region it stops
    patrolling drops out of its training window (a one-hot encoder then meets it as an
    unseen category), so nothing about it is learned from it any more, and a change there
    (`shifts`) is seen only if patrols happen to return. The labelled rows describe the
    patrolled regions, so the observed metric says little about the rest. It is
    `runaway_urn`'s loop with a model in place of the urn.

    Parameters
    ----------
    rates
        Incident probability per region, each in (0, 1].
    p
        Share of locations in each region; equal shares if omitted.
    shifts
        Shifts of the locations (``CovariateShift(features="region", p=...)``) or of the
        incident rates (``ConceptShift(after=Rules(...))``).
    observed
        As for `SelectiveLabels` (``"acted"``: incidents recorded where patrolled).

    Examples
    --------
    >>> w = patrols(rates=(0.4, 0.1))
    >>> b = w.sample(20000, 0.0, rng=0)
    >>> b.names, round(float(b.y[b.columns["region"] == "r0"].mean()), 2)
    (('region', 'hour'), 0.4)
    """
    r = _rates("patrols", rates)
    regions = tuple(f"r{i}" for i in range(r.shape[0]))
    rules = tuple(
        {"p": float(rate), "region": [name]} for name, rate in zip(regions, r, strict=True)
    )
    return SelectiveLabels(
        world=CausalWorld(
            covariates=(
                Categorical(feature="region", categories=regions, p=p),
                Uniform(features=("hour",), low=0.0, high=24.0, units="h"),
            ),
            concept=Rules(rules=rules, default=0.0),
            shifts=shifts,
        ),
        observed=observed,
    )
