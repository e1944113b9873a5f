"""What a user reads from a grid: summaries over seeds with intervals, and leaderboards.

`summarise` gives, per scenario and detector, medians over seeds with percentile-bootstrap
intervals. `leaderboard` ranks detectors per root cause by their median lead time over
labels at the matched false-alarm rate (a missed change counts as the worst lead time, so
a detector that misses more than half the time ranks below every one that does not), then
by median delay. Only what is at the matched rate is ranked: calibrated detectors, the
oracle, and the periodic and random baselines (at the target rate by construction); the
``always`` and ``never`` baselines and any detector that could not be calibrated are shown
below the ranking, unranked, so an always-firing detector can never top it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from simlab.errors import ConfigError

__all__ = ["leaderboard", "leaderboard_markdown", "markdown_table", "summarise"]

#: Baselines at the grid's target false-alarm rate (ranked beside the detectors).
_MATCHED_BASELINES = ("periodic", "random")


def _ranked_lead(ds: xr.Dataset) -> xr.DataArray:
    """Lead time with a missed change as -inf (NaN where labels never showed harm)."""
    lead = ds["lead_time"]
    label_seen = ds["label_alarm_hours"].notnull()
    out = xr.where(ds["detected"], lead, -np.inf)
    return out.where(label_seen & ds["cell_ok"])


def _ranked_delay(ds: xr.Dataset) -> xr.DataArray:
    """Delay with a missed change as +inf (NaN for a scenario without a change)."""
    has_change = ds["onset_hours"].notnull()
    return xr.where(ds["detected"], ds["delay"], np.inf).where(has_change & ds["cell_ok"])


def _boot_median(values: np.ndarray, n_boot: int, level: float, rng) -> tuple:
    """Median of `values` along the last axis and its percentile-bootstrap interval."""
    med = _nanmedian(values)
    n = values.shape[-1]
    if n == 0:
        nan = np.full(values.shape[:-1], np.nan)
        return nan, nan, nan
    idx = rng.integers(0, n, size=(n_boot, n))
    boots = _nanmedian(values[..., idx])  # (..., n_boot)
    a = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore"):
        lo = _quantile(boots, a)
        hi = _quantile(boots, 1.0 - a)
    return med, lo, hi


def _nanmedian(x: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (±inf kept), NaN where all are NaN."""
    with warnings.catch_warnings():  # an all-NaN slice is a NaN median, not news
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=-1)


def _quantile(x: np.ndarray, q: float) -> np.ndarray:
    """Quantile over the last axis by the nearest-rank rule, ignoring NaN (±inf kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(x, q, axis=-1, method="inverted_cdf")


def summarise(
    ds: xr.Dataset, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> xr.Dataset:
    """Per scenario and detector: medians over seeds with bootstrap intervals, and rates.

    Parameters
    ----------
    ds
        A grid's results (`run_grid`).
    level
        The intervals' coverage.
    n_boot
        Bootstrap resamples of the seeds.
    seed
        The bootstrap's random seed (the summary is reproducible).

    Returns
    -------
    xarray.Dataset
        On (scenario, detector): ``lead_time``, ``lead_time_low``, ``lead_time_high``
        (a missed change counts as -inf), ``delay`` and its interval (missed: +inf),
        ``delay_ratio`` (median), ``missed_share``, ``false_alarms_per_10k_rows`` and
        ``precision`` (means), ``mtbfa`` (median), ``n_seeds``.

    Examples
    --------
    >>> from simlab.bench import Grid, run_grid
    >>> g = Grid(scenarios=["short_covariate_shift"], detectors={"ks": "ks"}, seeds=2,
    ...          horizon_hours=200, target_arl0=50, calibration_alarms=5)
    >>> s = summarise(run_grid(g, progress=None))
    >>> float(s["missed_share"].sel(scenario="short_covariate_shift", detector="ks"))
    0.0
    """
    if not 0.0 < level < 1.0:
        raise ConfigError("level", level, "a coverage in (0, 1)", owner="summarise")
    rng = np.random.default_rng(seed)
    dims = ("scenario", "detector")
    out = {}
    for name, values in (("lead_time", _ranked_lead(ds)), ("delay", _ranked_delay(ds))):
        med, lo, hi = _boot_median(values.transpose(*dims, "seed").values, n_boot, level, rng)
        out[name] = (dims, med)
        out[f"{name}_low"] = (dims, lo)
        out[f"{name}_high"] = (dims, hi)
    ok = ds["cell_ok"]
    out["delay_ratio"] = (dims, _nanmedian(ds["delay_ratio"].transpose(*dims, "seed").values))
    has_change = ds["onset_hours"].notnull() & ok
    missed = ds["missed"].where(has_change)
    out["missed_share"] = missed.mean("seed").transpose(*dims)
    out["false_alarms_per_10k_rows"] = (
        ds["false_alarms_per_10k_rows"].where(ok).mean("seed").transpose(*dims)
    )
    out["precision"] = ds["precision"].where(ok).mean("seed").transpose(*dims)
    out["mtbfa"] = (dims, _nanmedian(ds["mtbfa"].where(ok).transpose(*dims, "seed").values))
    out["n_seeds"] = ok.sum("seed")
    res = xr.Dataset(out, coords={k: ds[k] for k in ("scenario", "detector", "cause", "role")})
    for k in ("achieved_arl0", "calibrated"):
        res[k] = ds[k]
    res.attrs = {**ds.attrs, "level": level, "n_boot": n_boot}
    return res


def _ranked(ds: xr.Dataset, detector: str, calibrated: np.ndarray) -> bool:
    role = str(ds["role"].sel(detector=detector).item())
    if role == "baseline":
        return detector in _MATCHED_BASELINES
    return bool(np.all(calibrated))


def leaderboard(
    ds: xr.Dataset, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Detectors ranked per root cause by median lead time at the matched false-alarm rate.

    Every (scenario, seed) of a root cause is pooled. Columns: ``cause``, ``rank`` (0 for
    what is not ranked: the ``always`` and ``never`` baselines and detectors that could not
    be calibrated on every scenario of the cause), ``detector``, ``role``, ``lead_time``
    with ``lead_low``/``lead_high`` (hours; the median over cells, a missed change as
    -inf), ``delay`` with its interval, ``missed_share``, ``false_alarms_per_10k_rows``,
    ``delay_ratio`` (median delay over the oracle's), ``achieved_arl0`` (median over the
    cause's scenarios) and ``cells``.

    Examples
    --------
    >>> from simlab.bench import Grid, run_grid
    >>> g = Grid(scenarios=["short_covariate_shift"], detectors={"ks": "ks"}, seeds=2,
    ...          horizon_hours=200, target_arl0=50, calibration_alarms=5)
    >>> board = leaderboard(run_grid(g, progress=None))
    >>> board.loc[board["detector"] == "always", "rank"].item()  # never ranked
    0
    """
    rng = np.random.default_rng(seed)
    rows = []
    lead = _ranked_lead(ds)
    delay = _ranked_delay(ds)
    causes = list(dict.fromkeys(str(c) for c in ds["cause"].values))
    for cause in causes:
        idx = np.flatnonzero(ds["cause"].values.astype(str) == cause)
        block = []
        for det in ds["detector"].values:
            d = str(det)
            lv = lead.isel(scenario=idx).sel(detector=d).values.ravel()
            dv = delay.isel(scenario=idx).sel(detector=d).values.ravel()
            lmed, llo, lhi = _boot_median(lv[None, :], n_boot, level, rng)
            dmed, dlo, dhi = _boot_median(dv[None, :], n_boot, level, rng)
            sub = ds.isel(scenario=idx).sel(detector=d)
            ok = sub["cell_ok"]
            has_change = sub["onset_hours"].notnull() & ok
            missed = sub["missed"].where(has_change)
            calibrated = sub["calibrated"].values.astype(bool)
            block.append(
                {
                    "cause": cause,
                    "detector": d,
                    "role": str(ds["role"].sel(detector=d).item()),
                    "ranked": _ranked(ds, d, calibrated),
                    "lead_time": float(lmed[0]),
                    "lead_low": float(llo[0]),
                    "lead_high": float(lhi[0]),
                    "delay": float(dmed[0]),
                    "delay_low": float(dlo[0]),
                    "delay_high": float(dhi[0]),
                    "missed_share": float(missed.mean()) if has_change.any() else math.nan,
                    "false_alarms_per_10k_rows": float(
                        sub["false_alarms_per_10k_rows"].where(ok).mean()
                    ),
                    "delay_ratio": float(_nanmedian(sub["delay_ratio"].values.ravel()[None])[0]),
                    "achieved_arl0": float(_nanmedian(sub["achieved_arl0"].values[None])[0]),
                    "cells": int(ok.sum()),
                }
            )
        ranked = [r for r in block if r["ranked"]]
        others = [r for r in block if not r["ranked"]]

        def key(r):
            lt = r["lead_time"]
            dl = r["delay"]
            return (
                -(lt if not math.isnan(lt) else -math.inf),
                dl if not math.isnan(dl) else math.inf,
                r["missed_share"] if not math.isnan(r["missed_share"]) else 1.0,
                r["false_alarms_per_10k_rows"],
                r["detector"],
            )

        ranked.sort(key=key)
        for k, r in enumerate(ranked, 1):
            r["rank"] = k
        for r in others:
            r["rank"] = 0
        rows.extend(ranked + others)
    cols = [
        "cause",
        "rank",
        "detector",
        "role",
        "lead_time",
        "lead_low",
        "lead_high",
        "delay",
        "delay_low",
        "delay_high",
        "missed_share",
        "false_alarms_per_10k_rows",
        "delay_ratio",
        "achieved_arl0",
        "cells",
    ]
    return pd.DataFrame(rows, columns=cols)


def _hours(v: float) -> str:
    if math.isnan(v):
        return "n/a"
    if v == -math.inf:
        return "missed"
    if v == math.inf:
        return "missed"
    return f"{v:.0f}"


def markdown_table(df: pd.DataFrame) -> str:
    """Any table as Markdown, its index as the first columns (no extra dependency).

    Examples
    --------
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"lead": [80.0]}, index=pd.Index(["ks"], name="d"))))
    | d | lead |
    |---|---|
    | ks | 80.0 |
    """
    flat = df.reset_index()
    head = "| " + " | ".join(map(str, flat.columns)) + " |"
    rule = "|" + "|".join("---" for _ in flat.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in flat.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def leaderboard_markdown(board: pd.DataFrame) -> str:
    """The leaderboard as Markdown: one table per root cause.

    Examples
    --------
    >>> import pandas as pd
    >>> row = dict(cause="covariate_shift", rank=1, detector="ks", role="detector",
    ...            lead_time=80.0, lead_low=70.0, lead_high=90.0, delay=6.0, delay_low=5.0,
    ...            delay_high=7.0, missed_share=0.0, false_alarms_per_10k_rows=0.1,
    ...            delay_ratio=1.5, achieved_arl0=98.0, cells=10)
    >>> print(leaderboard_markdown(pd.DataFrame([row])).splitlines()[0])
    ### covariate_shift
    """
    out = []
    for cause, block in board.groupby("cause", sort=False):
        out.append(f"### {cause}\n")
        out.append(
            "| rank | detector | lead time, h (95% CI) | delay, h (95% CI) | missed | "
            "false alarms / 10k rows | delay / oracle | ARL0 | cells |"
        )
        out.append("| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in block.itertuples():
            rank = str(r.rank) if r.rank else "-"
            lead = f"{_hours(r.lead_time)} ({_hours(r.lead_low)} to {_hours(r.lead_high)})"
            delay = f"{_hours(r.delay)} ({_hours(r.delay_low)} to {_hours(r.delay_high)})"
            missed = "n/a" if math.isnan(r.missed_share) else f"{r.missed_share:.0%}"
            ratio = "n/a" if math.isnan(r.delay_ratio) else f"{r.delay_ratio:.2f}"
            arl = "n/a" if math.isnan(r.achieved_arl0) else f"{r.achieved_arl0:.0f}"
            arl = "none seen" if r.achieved_arl0 == math.inf else arl
            out.append(
                f"| {rank} | {r.detector} | {lead} | {delay} | {missed} | "
                f"{r.false_alarms_per_10k_rows:.2f} | {ratio} | {arl} | {r.cells} |"
            )
        out.append("")
    return "\n".join(out)
