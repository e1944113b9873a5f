"""001: the root-cause gallery — every catalogue scenario, the same monitors, several seeds.

For each scenario and seed: what offline evaluation promised, the worst true window, when harm
began and when the labels showed it (hours after the onset of the change), the first monitor
to alarm after onset, its lead time over the labels, and whether it blamed the column the
change touched. The table goes to ``table.csv`` and ``table.md`` (medians over seeds; the first
monitor is the one that was first most often); ``gallery.png`` draws one timeline per root
cause (seed 0).

Run ``python experiments/001_root_cause_gallery.py`` for the full study (every scenario, three
seeds, two worker processes; about ten minutes here) or ``--smoke`` for a few scenarios at a
light size (the tests run that). Results go to ``--out`` (default
``experiments/results/001_root_cause_gallery``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "001_root_cause_gallery"
SMOKE = ("covariate_sudden", "upstream_unit_change", "skew_transform", "no_change")
HOUR = np.timedelta64(1, "h")


def _hours_after(value, onset) -> float:
    if np.isnat(value) or np.isnat(onset):
        return float("nan")
    return float((value - onset) / HOUR)


def study(name: str, seed: int, smoke: bool) -> dict:
    """One scenario and seed: the row of the table (and the Run, for the figure)."""
    import simlab
    from simlab.metrics import evaluate
    from simlab.scenarios import get_scenario
    from simlab.sim import Constant

    scenario = get_scenario(name)
    if smoke:  # light: a fifth of the traffic, three weeks past the change
        scenario = scenario.replace(
            traffic=Constant(rate_per_hour=200.0),
            horizon_hours=min(scenario.horizon_hours, 6 * 168.0),
        )
    run = simlab.simulate(scenario, seed=seed)
    report = evaluate(run)
    metric = run.attrs["primary_metric"]
    higher = bool(run.higher_is_better.sel(metric=metric))
    true = run.true_metric.sel(metric=metric)
    onset = report.onset.values
    first = report.first_alarm
    if bool(first.notnull().any()):
        hours = [_hours_after(v, onset) for v in first.values]
        by = str(first.detector.values[int(np.nanargmin(hours))])  # the earliest to alarm
        lead = float(report.lead_hours.sel(detector=by))
        blamed = float(report.blamed_right.sel(detector=by))
        delay = float(report.delay_hours.sel(detector=by))
    else:
        by, lead, blamed, delay = "", float("nan"), float("nan"), float("nan")
    return {
        "cause": scenario.cause,
        "scenario": name,
        "seed": seed,
        "offline": float(run.offline_metric.sel(metric=metric, split="random").isel(time=0)),
        "worst_true": float(true.min() if higher else true.max()),
        "harm_h": _hours_after(report.harm.values, onset),
        "label_alarm_h": _hours_after(report.label_alarm.values, onset),
        "first_monitor": by,
        "first_delay_h": delay,
        "lead_h": lead,
        "blamed_right": blamed,
        "false_per_10k": float(report.false_alarm_rate.max()) if run.sizes["detector"] else 0.0,
        "run": run if seed == 0 else None,
    }


def _median(values) -> float:
    values = [v for v in values if not np.isnan(v)]
    return float(np.median(values)) if values else float("nan")


def summarise(rows: list[dict]) -> list[dict]:
    """One line per scenario: medians over seeds; the monitor that was first most often."""
    out = []
    for name in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == name]
        firsts = [r["first_monitor"] for r in mine if r["first_monitor"]]
        first = max(set(firsts), key=firsts.count) if firsts else "-"
        blamed = [r["blamed_right"] for r in mine if r["first_monitor"] == first]
        out.append(
            {
                "cause": mine[0]["cause"],
                "scenario": name,
                "seeds": len(mine),
                "offline": _median(r["offline"] for r in mine),
                "worst_true": _median(r["worst_true"] for r in mine),
                "harm_h": _median(r["harm_h"] for r in mine),
                "label_alarm_h": _median(r["label_alarm_h"] for r in mine),
                "first_monitor": first,
                "first_of_seeds": f"{firsts.count(first)}/{len(mine)}" if firsts else "0",
                "lead_h": _median(r["lead_h"] for r in mine if r["first_monitor"] == first),
                "blamed_right": _median(blamed) if blamed else float("nan"),
                "false_per_10k": _median(r["false_per_10k"] for r in mine),
            }
        )
    return sorted(out, key=lambda r: (r["cause"], r["scenario"]))


def _fmt(value) -> str:
    if isinstance(value, float):
        return "-" if np.isnan(value) else f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def write_tables(summary: list[dict], out: Path) -> None:
    """The summary as ``table.csv`` and ``table.md``."""
    keys = list(summary[0])
    with open(out / "table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(summary)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r[k]) for k in keys) + " |" for r in summary]
    (out / "table.md").write_text("\n".join(lines) + "\n")


def write_gallery(rows: list[dict], out: Path) -> None:
    """One timeline per root cause: the first scenario of each, seed 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simlab.plot import timeline

    runs = {}
    for r in rows:
        if r["run"] is not None and r["cause"] not in runs:
            runs[r["cause"]] = (r["scenario"], r["run"], r["first_monitor"])
    fig, axes = plt.subplots(
        len(runs), 1, figsize=(11, 3.1 * len(runs)), squeeze=False, constrained_layout=True
    )
    for ax, (cause, (name, run, first)) in zip(axes[:, 0], sorted(runs.items()), strict=True):
        timeline(run, ax=ax, detectors=[first] if first else [])  # the first monitor to alarm
        ax.set_title(f"{cause}: {name}", loc="left", fontsize=10)
    fig.savefig(out / "gallery.png", dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    """Run the study (see the module's docstring for the options)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few scenarios, light (tests)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from simlab.scenarios import scenario_names

    names = list(SMOKE) if args.smoke else scenario_names()
    seeds = range(1 if args.smoke else args.seeds)
    jobs = [(n, s, args.smoke) for n in names for s in seeds]
    start = time.perf_counter()
    if args.workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            rows = list(pool.map(study, *zip(*jobs, strict=True)))
    else:
        rows = [study(*job) for job in jobs]
    args.out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    write_tables(summary, args.out)
    write_gallery(rows, args.out)
    seconds = time.perf_counter() - start
    print(f"{len(jobs)} runs in {seconds:.0f} s -> {args.out}/table.md, table.csv, gallery.png")
    print((args.out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
