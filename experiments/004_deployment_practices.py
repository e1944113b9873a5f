"""004: deployment practices — which way of noticing degradation warns first, at what cost.

The seed names four ways teams notice a degrading model: input monitors, score monitors,
business proxies, and shadow or A/B comparison on live traffic. For each root cause of the
catalogue (one scenario each, its world wrapped in a proxy outcome tied to the label:
``P(proxy | y=1) = 0.7``, ``P(proxy | y=0) = 0.1``, seen for the rows acted on), this
study runs the four practices side by side, with the labels themselves as the baseline:

- input: `PSI` on the upstream features;
- scores: `ScorePSI` on the model's scores;
- proxy: `ProxyCUSUM` on the proxy of the rows acted on;
- shadow: a candidate every week (or just over the label delay, if longer: it is judged on
  labels of rows it scored) trained on the arrived labels of the last two periods, shadowed
  and promoted when a sequential test on arrived labels finds it better
  (`Shadow(promote=True)`);
- labels: `WindowedMetric` on arrived labels (what waiting for labels gives).

The monitors are calibrated to one false alarm a week on each scenario's no-change twin
(ARL0 = 168 hourly ticks); the shadow's false-alarm rate is its promotions on the twin.
Two more cases show how a proxy misleads: its tie drifts at the onset of a concept drift
so that it stays put (``concept_sudden + tie drift``), or drifts with nothing else changing
(``no_change + tie drift``). Acting on each practice's warnings (retraining on the
labelled rows of the two weeks before the label delay; the shadow promotes its own
candidate) is priced with `simlab.metrics.CostModel` (a training job 1,000, an excess
error 1) and compared with the oracle schedule (`simlab.metrics.regret`).

Run ``python experiments/004_deployment_practices.py`` for the full study (3 seeds, about
6 minutes on two cores); ``--smoke`` is a light size the tests run. Results go to ``--out``
(default ``experiments/results/004_deployment_practices``): ``practices.csv``/``.md``
(delay, lead over labels, false alarms and regret per scenario and practice, and which
practice warned first) and ``practices.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from simlab.bench import markdown_table

RESULTS = Path(__file__).parent / "results" / "004_deployment_practices"
CAUSES = (
    "covariate_sudden",
    "label_shift",
    "concept_sudden",
    "upstream_unit_change",
    "skew_transform",
    "rot_float32",
)
PRACTICES = ("input", "scores", "proxy", "shadow", "labels")


def cases(smoke: bool) -> dict:
    """Scenario label -> Scenario, each world wrapped in a proxy outcome."""
    import simlab
    from simlab.scenarios import get_scenario
    from simlab.sim import Constant, FixedDelay, Scenario
    from simlab.world import ConceptShift, Proxy, Sudden, TieShift, logistic

    def proxied(world, drift=None):
        return Proxy(world=world, given_positive=0.7, given_negative=0.1, drift=drift)

    if smoke:
        onset = 150.0
        base = Scenario(
            world=logistic(n_features=3),
            delay=FixedDelay(hours=96),
            traffic=Constant(rate_per_hour=300),
            horizon_hours=400,
            train_rows=2000,
        )
        concept = ConceptShift(rotate=90, schedule=Sudden(start=onset))
        raw = {
            "concept (smoke)": base.replace(world=logistic(n_features=3, shifts=(concept,))),
            "no_change (smoke)": base,
        }
    else:
        onset = 504.0
        raw = {name: get_scenario(name) for name in CAUSES}
        raw["no_change"] = get_scenario("no_change")
    out = {name: s.replace(world=proxied(s.world)) for name, s in raw.items()}
    # how a proxy misleads: its tie moves at the onset. To hide a concept drift, the tie
    # moves so that the proxy rate of the acted rows stays where it was: their precision p
    # falls from p0 to p1 (read off a pilot run's proxy rate, 0.1 + 0.6 p), so the tie
    # keeps its strength 0.6 and rises by 0.6 (p0 - p1)
    concept_name = next(k for k in raw if k.startswith("concept"))
    none_name = next(k for k in raw if k.startswith("no_change"))
    pilot = simlab.simulate(out[concept_name], seed=0)
    hours = pilot["hours"].values
    rate = pilot["proxy_rate"].values
    before = np.nanmean(rate[(hours >= onset - 168) & (hours < onset)])
    after = np.nanmean(rate[(hours >= onset) & (hours < onset + 168)])
    lift = float(before - after)  # = 0.6 (p0 - p1)
    hide = TieShift(
        given_positive=min(1.0, 0.7 + lift),
        given_negative=min(1.0, 0.1 + lift),
        schedule=Sudden(start=onset),
    )
    false = TieShift(given_positive=0.45, given_negative=0.1, schedule=Sudden(start=onset))
    out[f"{concept_name} + tie drift"] = raw[concept_name].replace(
        world=proxied(raw[concept_name].world, hide)
    )
    out[f"{none_name} + tie drift"] = raw[none_name].replace(
        world=proxied(raw[none_name].world, false)
    )
    return out


def one_case(name, scenario, seed: int, n_alarms: int) -> list[dict]:
    """Every practice on one scenario and seed: delay, lead, false alarms, regret."""
    import simlab
    from simlab.detectors import PSI, ProxyCUSUM, ScorePSI, WindowedMetric
    from simlab.metrics import CHANGE_KINDS, CostModel, regret
    from simlab.sim import OnAlarm, Shadow, calibrate

    monitors = {
        "input": PSI(),
        "scores": ScorePSI(),
        "proxy": ProxyCUSUM(),
        "labels": WindowedMetric(),
    }
    cal = {
        k: calibrate(m, scenario, target_arl0=168, n_alarms=n_alarms, seeds=(seed,)).detector
        for k, m in monitors.items()
    }
    watched = scenario.replace(monitors=tuple(cal.values()))
    run = simlab.simulate(watched, seed=seed)
    twin = simlab.simulate(watched.twin(), seed=seed)
    report = simlab.evaluate(run, twin=twin)
    names = list(watched.monitor_names())
    # the onset: the first injected change, or the proxy's tie drift when nothing else moves
    starts = [
        e.start for e in run.simlab.events() if e.kind.value in (*CHANGE_KINDS, "proxy_shift")
    ]
    hours = run["hours"].values
    onset_h = min(starts) if starts else np.nan
    # a candidate per period (a week, or just over the label delay if that is longer),
    # trained on the rows of the last two periods whose labels have arrived
    every = max(168.0, float(scenario.delay.expected_hours()) + 1.0)
    shadow = Shadow(promote=True, every_hours=every, start_hours=every, window_hours=2 * every)
    shadowed = scenario.replace(challengers=(shadow,))
    shadow_run = simlab.simulate(shadowed, seed=seed)
    shadow_twin = simlab.simulate(shadowed.twin(), seed=seed)
    t0 = run.time.values[0]
    label_alarm = report.label_alarm.values
    label_h = (
        np.nan if np.isnat(label_alarm) else float((label_alarm - t0) / np.timedelta64(1, "h"))
    )
    rows_per_10k = float(twin.n_rows.sum()) / 1e4
    costs = CostModel(training=1000.0, error=1.0)
    acting = {"never": run}
    # acting on a warning: retrain on the labelled rows of the last two weeks whose labels
    # have arrived (the window reaches back past the label delay, or it would hold none)
    window = float(scenario.delay.expected_hours()) + 336.0
    for k in monitors:
        policy = OnAlarm(detector=names[list(monitors).index(k)], window_hours=window)
        acting[k] = simlab.simulate(watched.replace(policy=policy), seed=seed)
    acting["shadow"] = shadow_run
    reg = regret(acting, run, costs)
    out = []
    for k in PRACTICES:
        if k == "shadow":
            promos = [e.start for e in shadow_run.simlab.events() if e.kind.value == "promote"]
            after = [p for p in promos if np.isnan(onset_h) or p >= onset_h]
            first = after[0] if after else np.nan
            delay = first - onset_h if not np.isnan(onset_h) else np.nan
            lead = label_h - first if not np.isnan(label_h) else np.nan
            false = sum(e.kind.value == "promote" for e in shadow_twin.simlab.events())
        else:
            j = list(monitors).index(k)
            # a warning: an alarm at or after the onset that the twin did not also raise
            fresh = run.alarm.isel(detector=j).values & ~twin.alarm.isel(detector=j).values
            hits = np.flatnonzero(fresh & (hours >= onset_h)) if starts else []
            first = hours[hits[0]] if len(hits) else np.nan
            delay = first - onset_h
            lead = label_h - first
            false = int(twin.alarm.isel(detector=j).sum())
        out.append(
            {
                "case": name,
                "seed": seed,
                "practice": k,
                "delay_hours": delay,
                "lead_hours": lead,
                "false_alarms_per_10k_rows": false / rows_per_10k,
                "regret": float(reg.regret.sel(policy=k)),
            }
        )
    return out


def write_outputs(df, out: Path, seeds: int):
    """The table (CSV, Markdown) and the figure from the per-seed rows."""
    import matplotlib.pyplot as plt
    import pandas as pd

    med = df.groupby(["case", "practice"], sort=False)[
        ["delay_hours", "lead_hours", "false_alarms_per_10k_rows", "regret"]
    ].median()
    table = med.unstack("practice")
    delays = med["delay_hours"].unstack("practice")
    first = delays.apply(lambda r: r.idxmin() if r.notna().any() else "none", axis=1)
    flat = pd.DataFrame(index=table.index)
    for k in PRACTICES:
        flat[f"{k} delay"] = table["delay_hours"][k].round(0)
        flat[f"{k} lead"] = table["lead_hours"][k].round(0)
    for k in PRACTICES:
        flat[f"{k} FA/10k"] = table["false_alarms_per_10k_rows"][k].round(3)
    for k in PRACTICES:
        flat[f"{k} regret"] = table["regret"][k].round(0)
    flat["first"] = first
    flat.to_csv(out / "practices.csv")
    (out / "practices.md").write_text(
        "# Which practice warned first, at what false-alarm rate and what cost\n\n"
        f"Median over {seeds} seed(s). delay: onset to the first warning (hours; empty: "
        "none after onset, or no onset); lead: label alarm minus warning (hours); FA/10k: "
        "warnings on the no-change twin per 10,000 rows (monitors calibrated to one a "
        "week); regret: cost of acting on the practice's warnings (retraining; the shadow "
        "promotes its candidate) minus the oracle schedule's, at 1,000 a training job and 1 "
        "an excess error.\n\n"
        f"{markdown_table(flat)}\n"
    )
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(flat) + 1.5))
    lead = table["lead_hours"][list(PRACTICES)]
    delay = table["delay_hours"][list(PRACTICES)]
    im = ax.imshow(lead.values, cmap="RdYlGn", aspect="auto", vmin=-336, vmax=336)
    ax.set_xticks(range(len(PRACTICES)), PRACTICES)
    ax.set_yticks(range(len(lead)), lead.index)
    for i in range(lead.shape[0]):
        for j in range(lead.shape[1]):
            v, d = lead.values[i, j], delay.values[i, j]
            if not np.isnan(v):
                text = f"{v:.0f}"
            elif not np.isnan(d):  # it warned, and the labels never showed harm
                text = f"warned +{d:.0f} h\nno harm seen"
            else:
                text = "no warning"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="lead over the labels (hours)")
    ax.set_title("Lead of each practice's first warning over the labels")
    fig.tight_layout()
    fig.savefig(out / "practices.png", dpi=120)
    plt.close(fig)
    return flat


def main(argv: list[str] | None = None) -> int:
    """Run every case and write the table and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a light size (the tests)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument(
        "--redraw", action="store_true", help="rewrite table and figure from --out's stored rows"
    )
    args = parser.parse_args(argv)
    import pandas as pd
    from joblib import Parallel, delayed

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.redraw:
        df = pd.read_csv(out / "practices_by_seed.csv")
        print(write_outputs(df, out, int(df["seed"].nunique())).to_string())
        return 0
    todo = [(n, s, seed) for n, s in cases(args.smoke).items() for seed in range(args.seeds)]
    n_alarms = 3 if args.smoke else 8
    parts = Parallel(n_jobs=args.workers)(
        delayed(one_case)(n, s, seed, n_alarms) for n, s, seed in todo
    )
    df = pd.DataFrame([row for part in parts for row in part])
    df.to_csv(out / "practices_by_seed.csv", index=False)
    flat = write_outputs(df, out, args.seeds)
    print(flat.to_string())
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
