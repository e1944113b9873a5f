"""The ``simlab`` command: list, show, run and demo - parsing and printing only.

Every failure is one line naming what to fix (``--debug`` shows the traceback); Ctrl-C ends
a run at once with status 130, leaving any earlier ``run.nc`` as it was.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]


class _Progress:
    """Prints a progress line to a terminal (stderr) once a run has taken over two seconds."""

    def __init__(self, label: str, *, quiet: bool = False):
        self.label = label
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or not sys.stderr.isatty():
            return
        elapsed = time.perf_counter() - self.t0
        if elapsed < 2.0 and done < total:
            return
        if not self.shown and done == total and elapsed < 2.0:
            return
        self.shown = True
        eta = elapsed / done * (total - done)
        end = "\n" if done == total else ""
        print(
            f"\r{self.label}: {done}/{total} ticks, {elapsed:4.1f}s elapsed, ~{eta:4.1f}s left",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def _hours_text(h: float) -> str:
    if not math.isfinite(h):
        return "-"
    return f"{h / 24:.1f} d" if abs(h) >= 48 else f"{h:.0f} h"


def _when(run, value) -> str:
    if np.isnat(np.datetime64(value, "ns")):
        return "never"
    return _hours_text(run.simlab.hours(value)).replace(" ", "") + " (" + str(value)[:16] + ")"


def summary(run, report) -> str:
    """A plain-text table of one run's detection results."""
    no_change = bool(np.isnat(report.onset.values))
    min_rows = int(run.attrs.get("min_rows", 0))
    judged = bool(report.harm_judged)
    benign = bool(report.is_benign)
    notes = []
    if no_change:
        notes.append("no change: every alarm is a false alarm")
    if not judged:
        notes.append(
            f"harm not judged: the largest window held {int(report.largest_true_window):,} "
            f"rows, min_rows is {min_rows:,}"
        )
    elif not bool(report.label_judged):
        notes.append(
            "label alarm not judged: the largest window of labels held "
            f"{int(report.largest_observed_window):,}, min_rows is {min_rows:,}"
        )
    if benign:
        notes.append("benign: the change never did harm")
    lines = [
        f"scenario  {run.attrs.get('scenario_name', '?')}  (seed {run.attrs['seed']}, "
        f"{int(run.n_rows.sum()):,} rows over {_hours_text(run.attrs['horizon_hours'])})",
        f"onset {_when(run, report.onset.values)}   "
        f"harm {_when(run, report.harm.values) if judged else 'not judged'}   "
        f"label alarm "
        f"{_when(run, report.label_alarm.values) if report.label_judged else 'not judged'}"
        + "".join(f"   ({note})" for note in notes),
    ]
    metric = run.attrs["primary_metric"]
    higher = bool(run.higher_is_better.sel(metric=metric))
    off = run.offline_metric.sel(metric=metric, split=run.attrs["reference_split"])
    versions = int(run.deployed_version.max()) + 1
    promised = f"{float(off[0]):.3f}"
    if versions > 1:
        promised = f"{float(off.min()):.3f} to {float(off.max()):.3f} over {versions} versions"
    true = run.true_metric.sel(metric=metric)
    worst = float(true.min() if higher else true.max())
    line = f"{metric}: offline promised {promised}, worst true window {worst:.3f}"
    observed = run.observed_metric.sel(metric=metric)
    if versions > 1 and bool(observed.notnull().any()):
        line += f", labels showed {float(observed.min()):.3f} to {float(observed.max()):.3f}"
    lines.append(line)
    if run.sizes.get("detector", 0):
        lines.append("")
        lines.append(
            f"{'monitor':<18}{'watches':<10}{'first alarm':>13}{'delay':>10}"
            f"{'lead time':>11}{'false/10k':>11}"
        )
        for name in run.detector.values:
            r = report.sel(detector=name)
            first = r.first_alarm.values
            if no_change:
                first_text = "-"
            elif np.isnat(first):
                first_text = "missed"
            else:
                first_text = _hours_text(run.simlab.hours(first))
            lines.append(
                f"{name:<18}{run.detector_watches.sel(detector=name).values!s:<10}"
                f"{first_text:>13}{_hours_text(float(r.delay_hours)):>10}"
                f"{_hours_text(float(r.lead_hours)):>11}{float(r.false_alarm_rate):>11.2f}"
            )
    return "\n".join(lines)


def _first_sentence(text: str, width: int = 90) -> str:
    line = text.split(". ")[0].rstrip(".") + "."
    return line if len(line) <= width else line[: width - 1] + "…"


def _cmd_list(args) -> int:
    from simlab.scenarios import SCENARIOS, TOML_DIR, get_scenario, load
    from simlab.sim import CAUSES

    if args.cause is not None and args.cause not in CAUSES:
        from simlab.errors import UnknownNameError

        raise UnknownNameError("root cause", args.cause, CAUSES)
    rows = [get_scenario(name) for name in SCENARIOS.names()]
    catalogue = set(SCENARIOS.names())
    rows += [load(p) for p in sorted(TOML_DIR.glob("*.toml")) if p.stem not in catalogue]
    for s in rows:
        if args.cause is None or s.cause == args.cause:
            print(f"{s.name:<28}{s.cause or '-':<17}{_first_sentence(s.description)}")
    return 0


def _cmd_show(args) -> int:
    import json

    from simlab.scenarios import dumps, load

    scenario = load(args.scenario)
    if args.toml:
        print(dumps(scenario), end="")
    else:
        print(json.dumps(scenario.to_dict(), indent=2, sort_keys=True))
    return 0


def _prepare_out(out: Path, *, force: bool) -> None:
    """Check the output folder before anything runs: a folder, writable, not holding a run.

    An earlier run in the folder is not replaced unless `force` (each run its own folder is
    the user's choice of ``--out``; replacing one is a decision, not an accident).
    """
    from simlab.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "a folder (a file is there)")
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError("--out", str(out), f"a folder path ({ancestor} is a file)")
    earlier = [p.name for p in (out / "run.nc", out / "timeline.png") if p.exists()]
    if earlier and not force:
        raise ConfigError(
            "--out", str(out), f"a folder without an earlier run (it has {earlier}; add --force)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".simlab-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ConfigError("--out", str(out), f"a writable folder ({err.strerror or err})") from None


def _run_one(name: str, *, seed: int, out: Path, quiet: bool, force: bool, budget=None, twin=False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simlab.metrics import evaluate
    from simlab.plot import run_figure
    from simlab.scenarios import load
    from simlab.sim import save, simulate

    scenario = load(name)
    _prepare_out(out, force=force)
    run = simulate(
        scenario,
        seed=seed,
        progress=_Progress(scenario.name, quiet=quiet),
        memory_budget=None if budget is None else budget * 1e9,
    )
    null = None
    if twin:  # the no-change twin, same seed: alarms it raises too are chance
        null = simulate(
            scenario.twin(),
            seed=seed,
            progress=_Progress(f"{scenario.name} (no-change twin)", quiet=quiet),
            memory_budget=None if budget is None else budget * 1e9,
        )
    report = evaluate(run, twin=null)
    save(run, out / "run.nc")
    fig = run_figure(run)
    fig.savefig(out / "timeline.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return run, report


def _cmd_run(args) -> int:
    out = Path(args.out)
    run, report = _run_one(
        args.scenario,
        seed=args.seed,
        out=out,
        quiet=args.quiet,
        force=args.force,
        budget=args.memory_budget,
        twin=args.twin,
    )
    print(summary(run, report))
    if args.twin:
        print("(detections judged against the no-change twin: its alarms are chance)")
    print(f"\nwrote {out / 'run.nc'} and {out / 'timeline.png'}")
    return 0


def _cmd_demo(args) -> int:
    out = Path(args.out)
    print("simlab demo: one world, a two-week label delay, two ways to degrade.\n")
    stories = []
    for name in ("covariate_extrapolation", "silent_concept_drift"):
        run, report = _run_one(
            name, seed=args.seed, out=out / name, quiet=args.quiet, force=args.force
        )
        print(summary(run, report))
        print()
        stories.append((name, run, report))
    (_, run_a, rep_a), (_, run_b, rep_b) = stories
    label_free = [
        str(d)
        for d in run_a.detector.values
        if str(run_a.detector_watches.sel(detector=d).values) != "labels"
    ]
    lead = rep_a.lead_hours.sel(detector=label_free)
    metric = run_a.attrs["primary_metric"]
    worst = [float(r.true_metric.sel(metric=metric).min()) for r in (run_a, run_b)]
    offline = float(
        run_a.offline_metric.sel(metric=metric, split=run_a.attrs["reference_split"])[0]
    )
    print("What they show:")
    print(
        f"- The same harm twice: {metric} promised {offline:.2f} offline, fell to "
        f"{worst[0]:.2f} under covariate shift and {worst[1]:.2f} under concept drift."
    )
    if lead.notnull().any():
        best = str(lead.idxmax().values)
        text = f"{best} warned {_hours_text(float(lead.max()))} before the labels did (lead time)"
        if "score_psi" in label_free and best != "score_psi":
            score_lead = float(lead.sel(detector="score_psi"))
            text += f"; the prediction-score monitor, {_hours_text(score_lead)}"
        print(
            f"- Covariate shift: {text}. The model extrapolates into inputs it never saw, "
            "and its scores show it long before any label comes back."
        )
    else:
        print("- Covariate shift: no label-free monitor warned before the labels did.")
    blind = [d for d in label_free if np.isnat(rep_b.first_alarm.sel(detector=d).values)]
    delay = _hours_text(
        run_b.simlab.hours(rep_b.label_alarm.values) - run_b.simlab.hours(rep_b.onset.values)
    )
    print(
        f"- Concept drift: P(X) never moved, so {len(blind)} of {len(label_free)} label-free "
        f"monitors stayed silent; the labels showed the harm {delay} after onset. "
        "That is the lesson, not a failure: only labels (or a proxy tied to them) "
        "can see a change in P(Y|X)."
    )
    print(f"\nfigures: {out / 'covariate_extrapolation' / 'timeline.png'}")
    print(f"         {out / 'silent_concept_drift' / 'timeline.png'}")
    return 0


def write_report(ds, out: Path) -> str:
    """Leaderboard (Markdown, CSV) and figures of a grid's results in `out`; the Markdown."""
    import matplotlib.pyplot as plt

    from simlab.bench import leaderboard, leaderboard_markdown
    from simlab.plot import delay_vs_oracle, lead_time_distributions, lead_time_heatmap

    board = leaderboard(ds)
    text = leaderboard_markdown(board)
    (out / "leaderboard.md").write_text(text)
    board.to_csv(out / "leaderboard.csv", index=False)
    for name, draw in (
        ("lead_time_heatmap.png", lead_time_heatmap),
        ("lead_time_distributions.png", lead_time_distributions),
        ("delay_vs_oracle.png", delay_vs_oracle),
    ):
        ax = draw(ds)
        ax.figure.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
    return text


def _cmd_bench(args) -> int:
    from simlab.bench import load_grid, run_grid

    grid = load_grid(args.grid)
    out = Path(args.out)
    executor = "serial" if args.workers == 1 else "processes"
    if args.executor:
        executor = args.executor
    ds = run_grid(
        grid,
        out,
        executor=executor,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        overwrite=args.force,
        progress=None if args.quiet else sys.stderr,
    )
    print(write_report(ds, out))
    failed = ds.attrs.get("failed_cells", "")
    if failed:
        print(f"failed cells (see {out / 'cells'}/*.error): {failed}")
    print(f"wrote {out / 'results.zarr'}, leaderboard.md, leaderboard.csv and three figures")
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simlab", description=__doc__.split("\n")[0])
    p.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the scenario catalogue: name, root cause, what")
    listing.add_argument("--cause", help="only this root cause (covariate_shift, upstream, ...)")
    listing.set_defaults(func=_cmd_list)
    show = sub.add_parser("show", help="print a scenario as JSON (or TOML)")
    show.add_argument("scenario", help="a catalogue name or a .toml file")
    show.add_argument("--toml", action="store_true", help="as TOML, ready to edit and run")
    show.set_defaults(func=_cmd_show)
    run = sub.add_parser(
        "run", help="simulate a scenario, print a summary, write run.nc and timeline.png"
    )
    run.add_argument("scenario", help="a catalogue name or a .toml file")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default="out/run", help="output folder (default: out/run)")
    run.add_argument("--quiet", action="store_true", help="no progress line")
    run.add_argument("--force", action="store_true", help="replace an earlier run in --out")
    run.add_argument(
        "--twin",
        action="store_true",
        help="also run the no-change twin (same seed): an alarm it raises too is no detection",
    )
    run.add_argument(
        "--memory-budget",
        type=float,
        metavar="GB",
        help="refuse plans estimated above this (default: half of this machine's memory)",
    )
    run.set_defaults(func=_cmd_run)
    bench = sub.add_parser(
        "bench", help="a scenario x detector x seed grid: calibrate, score, rank (GRID.toml)"
    )
    bench.add_argument("grid", help="the grid's TOML file")
    bench.add_argument("--out", required=True, help="the store folder (cells, results, report)")
    bench.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    bench.add_argument("--scheduler", help="a Dask scheduler's address (runs on that cluster)")
    bench.add_argument(
        "--executor", choices=("serial", "processes", "dask"), help="how to run the cells"
    )
    bench.add_argument("--resume", action="store_true", help="keep finished cells; run the rest")
    bench.add_argument("--force", action="store_true", help="replace another grid's cells in --out")
    bench.add_argument("--quiet", action="store_true", help="no progress lines")
    bench.set_defaults(func=_cmd_bench)
    demo = sub.add_parser(
        "demo", help="the headline story: covariate shift vs silent concept drift"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="out/demo")
    demo.add_argument("--quiet", action="store_true")
    demo.add_argument("--force", action="store_true", help="replace an earlier demo in --out")
    demo.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``simlab`` command.

    Examples
    --------
    >>> main(["show", "no_change"])  # doctest: +ELLIPSIS
    {
    ...
    0
    """
    from simlab.errors import SimlabError

    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("\nsimlab: interrupted (nothing half-written was kept)", file=sys.stderr)
        return 130
    except SimlabError as err:
        if args.debug:
            raise
        print(f"simlab: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # a failure simlab did not foresee: one line, the rest on --debug
        if args.debug:
            raise
        print(
            f"simlab: error: {type(err).__name__}: {err} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
