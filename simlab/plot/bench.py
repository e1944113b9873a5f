"""Figures of a benchmark grid's results (`simlab.bench.run_grid`).

Lead time by scenario and detector, lead-time distributions, and each detector's delay
against the oracle's.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes

__all__ = ["delay_vs_oracle", "lead_time_distributions", "lead_time_heatmap"]


def _axes(ax: Axes | None, size=(7.0, 4.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _detectors(ds: xr.Dataset) -> list[str]:
    """The grid's detectors and the oracle (not the null baselines)."""
    pairs = zip(ds["detector"].values, ds["role"].values, strict=True)
    return [str(d) for d, r in pairs if r != "baseline"]


def lead_time_heatmap(ds: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """Median lead time over seeds (hours), scenario x detector.

    Grey where labels never showed harm, a cross where the detector missed in most seeds.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"lead_time": (("scenario", "detector", "seed"), np.ones((1, 2, 2))),
    ...      "detected": (("scenario", "detector", "seed"), np.ones((1, 2, 2), bool))},
    ...     coords={"scenario": ["a"], "detector": ["ks", "never"], "seed": [0, 1],
    ...             "role": ("detector", ["detector", "baseline"])})
    >>> lead_time_heatmap(ds).get_title()
    'Median lead time over labels (hours)'
    """
    ax = _axes(ax, (1.2 + 0.9 * ds.sizes["detector"], 1.2 + 0.45 * ds.sizes["scenario"]))
    dets = _detectors(ds)
    lead = ds["lead_time"].sel(detector=dets)
    detected = ds["detected"].sel(detector=dets)
    med = lead.where(detected).median("seed").transpose("scenario", "detector").values
    missed = (~detected).mean("seed").transpose("scenario", "detector").values > 0.5
    finite = med[np.isfinite(med)]
    span = float(np.max(np.abs(finite))) if finite.size else 1.0
    im = ax.imshow(med, cmap="RdYlGn", vmin=-span, vmax=span, aspect="auto")
    ax.set_facecolor("0.85")
    for (i, j), v in np.ndenumerate(med):
        text = "×" if missed[i, j] else ("" if np.isnan(v) else f"{v:.0f}")
        ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(dets)), dets, rotation=45, ha="right")
    ax.set_yticks(range(ds.sizes["scenario"]), [str(s) for s in ds["scenario"].values])
    ax.set_title("Median lead time over labels (hours)")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="hours before the label alarm")
    return ax


def lead_time_distributions(ds: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """Each detector's lead times over every (scenario, seed) where it detected, as boxes.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"lead_time": (("scenario", "detector", "seed"), np.arange(4.0).reshape(1, 2, 2)),
    ...      "detected": (("scenario", "detector", "seed"), np.ones((1, 2, 2), bool))},
    ...     coords={"scenario": ["a"], "detector": ["ks", "psi"], "seed": [0, 1],
    ...             "role": ("detector", ["detector", "detector"])})
    >>> lead_time_distributions(ds).get_ylabel()
    'lead time over labels (hours)'
    """
    ax = _axes(ax)
    dets = _detectors(ds)
    data = []
    for d in dets:
        v = ds["lead_time"].sel(detector=d).where(ds["detected"].sel(detector=d)).values.ravel()
        data.append(v[np.isfinite(v)])
    ax.boxplot(data, tick_labels=dets, showfliers=True)
    ax.axhline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_ylabel("lead time over labels (hours)")
    ax.set_title("Lead time where each detector detected (above 0: before the labels)")
    ax.tick_params(axis="x", rotation=45)
    return ax


def delay_vs_oracle(ds: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """Each detector's median delay against the oracle's on the same scenarios (hours).

    Points on the diagonal match the oracle; above it, slower. A point clearly below it
    on a world whose densities are known would mean information leaked (a bug).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"delay": (("scenario", "detector", "seed"), np.array([[[2.0, 2.0], [4.0, 6.0]]])),
    ...      "detected": (("scenario", "detector", "seed"), np.ones((1, 2, 2), bool))},
    ...     coords={"scenario": ["a"], "detector": ["oracle", "ks"], "seed": [0, 1],
    ...             "role": ("detector", ["oracle", "detector"])})
    >>> delay_vs_oracle(ds).get_xlabel()
    'oracle delay (hours, median over seeds)'
    """
    ax = _axes(ax, (5.0, 5.0))
    delay = ds["delay"].where(ds["detected"]).median("seed")
    oracle = delay.sel(detector="oracle")
    top = 1.0
    for d in _detectors(ds):
        if d == "oracle":
            continue
        x, y = oracle.values, delay.sel(detector=d).values
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            ax.scatter(x[ok], y[ok], label=d, s=25)
            top = max(top, float(np.max(x[ok])), float(np.max(y[ok])))
    ax.plot([0, top], [0, top], color="0.5", lw=0.8, ls="--")
    ax.set_xscale("symlog", linthresh=1.0)  # delays run from 0 to weeks
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("oracle delay (hours, median over seeds)")
    ax.set_ylabel("detector delay (hours, median over seeds)")
    ax.set_title("Delay against the oracle's")
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            ncol=1 + len(handles) // 16,
            frameon=False,
        )
    return ax
