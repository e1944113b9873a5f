"""002: feedback loops — a model that chooses its own training data drifts toward its own biases.

Five studies, each on `simlab.feedback`:

1. Homogenisation (Chaney, Stewart & Engelhardt 2018): six recommenders, retrained every
   step on their own logs or trained once, replayed on the same worlds with common random
   numbers; homogenisation (Jaccard similarity of consumed sets between most similar
   users, minus the ideal recommender's) and utility relative to ideal, per step, with 95%
   confidence bands over worlds, and a summary table.
2. Monitors on the loop: which signal (item-distribution PSI, consumed items' age, CTR)
   reveals a degenerating loop first, each monitor's threshold set on the ideal
   recommender's loop (the same world without algorithmic confounding), against the step
   at which the loop homogenised and the step at which utility fell.
3. Selective labels: a lender retrained on approved loans only; the accuracy offline
   evaluation and the arrived labels promise, against the truth on all applicants, with
   and without exploration (and its inverse-propensity estimate); and which monitor
   (approval rate, score PSI, input PSI, repayment rate, windowed accuracy) sees a shift of
   applicants first, all calibrated to one false alarm a week on the no-change twin.
4. The runaway urn (Ensign et al. 2018): the share of patrols sent to the region with the
   higher rate, with discoveries only and with the correction.
5. Performative prediction (Perdomo et al. 2020): repeated retraining in a Gaussian world
   whose mean moves by epsilon times the deployed estimate, for a sweep of epsilon.

Run ``python experiments/002_feedback_loops.py`` for the full study (about 15 minutes on
two cores); ``--smoke`` is a light size the tests run. Results go to ``--out`` (default
``experiments/results/002_feedback_loops``): ``homogenisation.csv``/``.md``/``.png``,
``loop_monitors.csv``/``.md``, ``selective_labels.csv``/``.md``,
``lending_monitors.csv``/``.md``, ``runaway_urn.csv``/
``.md``/``.png``, ``performative.csv``/``.md``/``.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from simlab.bench import markdown_table

RESULTS = Path(__file__).parent / "results" / "002_feedback_loops"


def _table(df, out: Path, name: str, title: str) -> None:
    df.to_csv(out / f"{name}.csv")
    (out / f"{name}.md").write_text(f"# {title}\n\n{markdown_table(df)}\n")


def _mean_ci(x, dim="trial"):
    n = x.sizes[dim]
    m = x.mean(dim)
    half = 1.96 * x.std(dim, ddof=1) / np.sqrt(n) if n > 1 else 0 * m
    return m, half


def homogenisation(out: Path, trials: int, size: dict, workers: int):
    """Study 1: curves and a table."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from simlab.feedback import RecommenderWorld, homogenisation_study

    world = RecommenderWorld(**size)
    ds = homogenisation_study(world, trials=trials, n_jobs=workers)
    post = ds.isel(step=slice(world.startup_steps, None))
    final = ds.isel(step=-1)
    rows = []
    for rec in ds.recommender.values:
        for mode in ds.training.values:
            row = {"recommender": rec, "training": mode}
            for var, x in (
                ("homogenisation_similar", final.homogenisation_similar),
                ("homogenisation_random", final.homogenisation_random),
                ("utility_vs_ideal", post.utility_vs_ideal.mean("step")),
                ("ctr", post.ctr.mean("step")),
                ("exposure_gini", final.exposure_gini),
                ("coverage", final.coverage),
            ):
                m, h = _mean_ci(x.sel(recommender=rec, training=mode))
                row[var] = f"{float(m):+.3f} ± {float(h):.3f}"
            rows.append(row)
    table = pd.DataFrame(rows).set_index(["recommender", "training"])
    _table(
        table,
        out,
        "homogenisation",
        f"Homogenisation and utility vs ideal ({trials} worlds, mean ± 95% CI; "
        "homogenisation and Gini at the last step, utility and CTR averaged after start-up)",
    )
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for j, mode in enumerate(ds.training.values):
        for i, var in enumerate(("homogenisation_similar", "utility_vs_ideal")):
            ax = axes[i, j]
            for rec in ds.recommender.values:
                m, h = _mean_ci(ds[var].sel(recommender=rec, training=mode))
                ax.plot(ds.step, m, label=rec)
                ax.fill_between(ds.step, m - h, m + h, alpha=0.2)
            ax.axvline(world.startup_steps, color="grey", lw=0.8, ls=":")
            ax.set_title(f"{var} (training {mode})")
            ax.axhline(0, color="black", lw=0.5)
    axes[1, 0].set_xlabel("step")
    axes[1, 1].set_xlabel("step")
    axes[0, 1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "homogenisation.png", dpi=120)
    plt.close(fig)
    return table


def loop_monitors(out: Path, trials: int, size: dict):
    """Study 2: first alarm of each monitor, against when the loop homogenised or lost utility."""
    import pandas as pd

    from simlab.detectors import KS, PSI, LabelRate
    from simlab.feedback import (
        RecommenderWorld,
        default_recommenders,
        homogenisation_trial,
        replay,
        watch_loop,
    )

    world = RecommenderWorld(**size)
    start = world.startup_steps
    ref = slice(start, start + 5)
    monitors = {
        "psi_items": PSI(),
        "psi_popularity": PSI(features=("popularity",)),
        "ks_age": KS(features=("age",)),
        "ctr_rate": LabelRate(window_size=3 * world.n_users, min_samples=world.n_users),
    }
    recs = default_recommenders()
    stats, metrics = {}, {}
    for seed in range(trials):
        cat = world.draw(seed)
        metrics[seed] = homogenisation_trial(world, recs, training="repeated", seed=seed)
        for name, rec in recs.items():
            r = replay(world, rec, seed=seed, catalogue=cat, label=name)
            stats[name, seed] = watch_loop(r, cat, monitors, reference=ref).statistic.values
    # thresholds: the largest statistic each monitor reaches on the ideal loop, any world
    limit = np.nanmax(np.stack([stats["ideal", s] for s in range(trials)]), axis=(0, 2))
    after = np.arange(world.steps) >= ref.stop
    rows = []
    for name in recs:
        if name == "ideal":
            continue
        for seed in range(trials):
            m = metrics[seed].sel(recommender=name, training="repeated")
            homog = np.flatnonzero(after & (m.homogenisation_similar.values > 0.10))
            rel = np.convolve(m.utility_vs_ideal.values, np.ones(5) / 5, mode="same")
            fell = np.flatnonzero(after & (rel < rel[ref].mean() - 0.05))
            row = {"recommender": name, "seed": seed}
            for i, mon in enumerate(monitors):
                hit = np.flatnonzero(stats[name, seed][i] > limit[i])
                row[mon] = hit[0] if hit.size else None
            row["homogenised"] = homog[0] if homog.size else None
            row["utility_fell"] = fell[0] if fell.size else None
            rows.append(row)
    df = pd.DataFrame(rows)

    def median_of(x):
        hits = x.dropna().astype(float)
        med = f"{hits.median():.0f}" if len(hits) else "never"
        return f"{med} ({len(hits)}/{len(x)})"

    summary = df.groupby("recommender")[[*monitors, "homogenised", "utility_fell"]].agg(median_of)
    df.to_csv(out / "loop_monitors.csv", index=False)
    (out / "loop_monitors.md").write_text(
        "# Monitors on the recommender loop\n\n"
        f"Median step (and in how many of {trials} worlds) at which each monitor first exceeds "
        "the largest value it reaches on the ideal recommender's loop in the same worlds; "
        "monitors are fitted on the 5 steps after start-up (steps "
        f"{ref.start}-{ref.stop - 1}). homogenised: first step after that at which "
        "homogenisation against ideal exceeds 0.10; utility_fell: first step at which the "
        "5-step mean utility relative to ideal is 5 points below its level in those steps. "
        "Retrained every step.\n\n"
        f"{markdown_table(summary)}\n"
    )
    return summary


def selective_labels(out: Path, horizon: int, seeds: int):
    """Study 3: the lender that learns only from approved loans."""
    import pandas as pd

    import simlab
    from simlab.decisions import Explore, TopShare
    from simlab.feedback import lending
    from simlab.sim import FixedDelay, Periodic, Scenario

    rows = []
    for label, decision in (
        ("approve top 30%", TopShare(share=0.3)),
        ("... + 10% explored", Explore(rule=TopShare(share=0.3), epsilon=0.1, p_random=1.0)),
    ):
        scenario = Scenario(
            world=lending(),
            decision=decision,
            delay=FixedDelay(hours=168),
            policy=Periodic(period_hours=168),
            horizon_hours=horizon,
        )
        for seed in range(seeds):
            run = simlab.simulate(scenario, seed=seed)
            acc = run.sel(metric="accuracy", split="time").isel(time=slice(-168, None))
            acc = acc.mean("time")
            rows.append(
                {
                    "decision": label,
                    "seed": seed,
                    "offline": float(acc.offline_metric),
                    "observed (approved only)": float(acc.observed_metric),
                    "inverse-propensity": float(acc.ipw_metric),
                    "true (all applicants)": float(acc.true_metric),
                    "approved share": float(run.acted_share.mean()),
                }
            )
    df = pd.DataFrame(rows)
    summary = df.drop(columns="seed").groupby("decision").mean().round(3)
    _table(
        summary,
        out,
        "selective_labels",
        f"Lending with selective labels: accuracy over the last week ({seeds} seeds)",
    )
    return summary


def lending_monitors(out: Path, horizon: int, seeds: int, n_alarms: int):
    """Study 3b: which monitor sees a shift in the lending loop first, at one alarm rate."""
    import pandas as pd

    import simlab
    from simlab.decisions import Threshold
    from simlab.detectors import PSI, ActionRate, LabelRate, ScorePSI, WindowedMetric
    from simlab.feedback import lending
    from simlab.sim import FixedDelay, Periodic, Scenario, calibrate
    from simlab.world import CovariateShift, Gradual

    onset = horizon // 2
    shift = CovariateShift(
        features=("debt_ratio",), mean=0.15, schedule=Gradual(start=onset, width=48)
    )
    scenario = Scenario(
        world=lending(shifts=(shift,)),
        decision=Threshold(),  # approve when P(repay) >= 0.5
        delay=FixedDelay(hours=336),  # repayment known two weeks later, for approved loans
        policy=Periodic(period_hours=168),
        horizon_hours=horizon,
    )
    monitors = {
        "approval rate (ActionRate)": ActionRate(),
        "score PSI": ScorePSI(),
        "input PSI": PSI(),
        "repayment rate of approved (LabelRate)": LabelRate(),
        "windowed accuracy (labels)": WindowedMetric(),
    }
    calibrated = tuple(
        calibrate(m, scenario, target_arl0=168, n_alarms=n_alarms).detector
        for m in monitors.values()
    )
    scenario = scenario.replace(monitors=calibrated)
    rows = []
    for seed in range(seeds):
        run = simlab.simulate(scenario, seed=seed)
        twin = simlab.simulate(scenario.twin(), seed=seed)
        report = simlab.evaluate(run, twin=twin)
        for i, name in enumerate(monitors):
            r = report.isel(detector=i)
            rows.append(
                {
                    "monitor": name,
                    "seed": seed,
                    "delay_hours": float(r.delay_hours),
                    "lead_hours": float(r.lead_hours),
                }
            )
    df = pd.DataFrame(rows)
    summary = df.groupby("monitor", sort=False)[["delay_hours", "lead_hours"]].median()
    _table(
        summary.round(0),
        out,
        "lending_monitors",
        f"Lending loop, applicants' debt ratio rises by 0.15 from hour {onset}: median delay "
        f"(onset to first alarm) and lead over the labels (hours; {seeds} seeds), every "
        "monitor calibrated to one false alarm a week on the no-change twin",
    )
    return summary


def runaway_urn(out: Path, steps: int, trials: int):
    """Study 4: the urn with discoveries only, and with the correction."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from simlab.feedback.allocation import runaway_urn as urn

    rows = []
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    cases = (
        ("discoveries only, rates (0.1, 0.05)", (0.1, 0.05), False),
        ("equal rates, uniform start", (0.1, 0.1), False),
        ("with the correction, rates (0.1, 0.05)", (0.1, 0.05), True),
    )
    for ax, (label, rates, corr) in zip(axes, cases, strict=True):
        ds = urn(rates=rates, steps=steps, trials=trials, correction=corr, seed=0)
        share = ds.share.isel(region=0)
        final = share.isel(step=-1).values
        rows.append(
            {
                "case": label,
                "true share": float(ds.true_share.isel(region=0)),
                "final share, mean": final.mean(),
                "final share, sd": final.std(ddof=1),
                "share > 0.9": float((final > 0.9).mean()),
            }
        )
        if "equal" in label:
            ax.hist(final, bins=20, range=(0, 1), color="tab:blue", alpha=0.7)
            ax.set_xlabel("final share of region 0")
        else:
            m = share.mean("trial")
            q = share.quantile([0.1, 0.9], dim="trial")
            ax.plot(share.step, m, label="mean")
            ax.fill_between(share.step, q[0], q[1], alpha=0.3, label="10-90%")
            ax.axhline(float(ds.true_share.isel(region=0)), color="black", ls=":", label="true")
            ax.set_xlabel("step")
            ax.set_ylim(0, 1)
            ax.legend(fontsize=8)
        ax.set_title(label, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "runaway_urn.png", dpi=120)
    plt.close(fig)
    df = pd.DataFrame(rows).set_index("case").round(3)
    _table(df, out, "runaway_urn", f"The runaway urn ({trials} trials, {steps} steps)")
    return df


def performative(out: Path, steps: int):
    """Study 5: repeated retraining for a sweep of epsilon."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from simlab.feedback.performative import repeated_risk_minimisation

    mean = 1.0
    rows = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for eps in (0.25, 0.5, 0.9, 1.1, 1.5):
        theta = np.asarray(
            repeated_risk_minimisation(mean=mean, epsilon=eps, steps=steps, n=10**6, seed=0)
        )
        stable = mean / (1 - eps)
        err = np.abs(theta - stable)
        t = np.arange(err.size)
        usable = (err > 1e-2) if eps < 1 else np.ones(err.size, bool)
        usable[0] = usable[0] and err[0] > 0
        slope = np.polyfit(t[usable], np.log(err[usable]), 1)[0] if usable.sum() > 2 else np.nan
        rows.append(
            {
                "epsilon": eps,
                "stable point": stable,
                "final estimate": theta[-1],
                "fitted rate": float(np.exp(slope)),
                "outcome": "settles" if eps < 1 else "runs away",
            }
        )
        ax.semilogy(t, err, label=f"ε = {eps}")
    ax.set_xlabel("retraining round")
    ax.set_ylabel("|estimate − stable point|")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "performative.png", dpi=120)
    plt.close(fig)
    df = pd.DataFrame(rows).set_index("epsilon").round(4)
    _table(
        df,
        out,
        "performative",
        "Performative prediction: repeated retraining converges at rate ε below 1 and "
        "diverges above",
    )
    return df


def main(argv: list[str] | None = None) -> int:
    """Run the five studies and write their tables and figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a light size (the tests)")
    parser.add_argument("--trials", type=int, default=100, help="worlds for study 1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        size = {"n_users": 20, "steps": 16, "startup_steps": 3}
        trials, monitor_trials, horizon, seeds = 2, 2, 400, 1
        lend_horizon, n_alarms, urn_steps, urn_trials, perf_steps = 600, 3, 200, 50, 8
    else:
        size = {}
        trials, monitor_trials, horizon, seeds = args.trials, 10, 2000, 5
        lend_horizon, n_alarms, urn_steps, urn_trials, perf_steps = 1200, 10, 5000, 1000, 30
    t0 = time.perf_counter()
    print(homogenisation(out, trials, size, args.workers).to_string())
    print(loop_monitors(out, monitor_trials, size).to_string())
    print(selective_labels(out, horizon, seeds).to_string())
    print(lending_monitors(out, lend_horizon, seeds, n_alarms).to_string())
    print(runaway_urn(out, urn_steps, urn_trials).to_string())
    print(performative(out, perf_steps).to_string())
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
