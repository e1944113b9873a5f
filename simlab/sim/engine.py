"""The engine: ``simulate(scenario, seed) -> Run`` on simpy, one event per tick or training job.

`simulate` builds a fresh copy of everything with state (the world, the monitors, the
decision rule), so two runs never share state, then starts two processes: the clock, whose
every tick runs the roles of `simlab.sim.processes` in order (serve, decide, respond, queue
labels, deliver labels, monitor, record), and, if the policy retrains, the retrainer. Every
injected change, fault, serving fallback or failure, training job, deployment and alarm is an
event in the Run's log.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import simpy

from simlab._version import __version__
from simlab.batch import Batch
from simlab.detectors.base import Watches, watches_of
from simlab.errors import ConfigError
from simlab.rng import Rngs
from simlab.sim.practices import Challengers
from simlab.sim.processes import (
    AlarmBus,
    Deployment,
    Labels,
    ServingLog,
    clock,
    decide,
    monitor,
    retrainer,
    serve,
)
from simlab.sim.recorder import Recorder, params_json
from simlab.sim.resources import check_resources
from simlab.sim.run import SCHEMA_VERSION
from simlab.sim.scenario import Scenario
from simlab.validation import check_bool, check_int
from simlab.view import View
from simlab.world.base import emits_proxies, respond

__all__ = ["MAX_SEED", "simulate"]

#: The largest seed: a Run keeps its seed as a signed 64-bit attribute.
MAX_SEED = 2**63 - 1


def _fresh(component):
    """A copy with no state shared with the scenario's object (components clone deeply)."""
    clone = getattr(component, "clone", None)
    return copy.deepcopy(component) if clone is None else clone()


class _Run:
    """Everything one run is made of, and the order of one tick's roles."""

    def __init__(
        self,
        scenario: Scenario,
        rngs: Rngs,
        env: simpy.Environment,
        tape=None,
        feature_statistics: bool = False,
    ):
        self.scenario = scenario
        self.tape = tape
        self.rngs = rngs
        self.n_ticks = scenario.n_ticks
        self.world = _fresh(scenario.world)
        self.rule = _fresh(scenario.decision)
        self.serving = tuple(_fresh(s) for s in scenario.serving)
        self.task = self.world.schema.task.value
        self.names = scenario.monitor_names()
        self.monitors = [m.clone() for m in scenario.monitors]
        self.watches = [watches_of(m) for m in self.monitors]
        self.any_served = Watches.SERVED in self.watches
        self.alarms = AlarmBus(env)
        self.deployment = Deployment(
            adapter=scenario.model,
            world=self.world,
            monitors=self.monitors,
            watches=self.watches,
            rngs=rngs,
            task=self.task,
            names=self.names,
        )
        self.deployment.tape = tape
        if tape is not None:
            self.any_served = self.any_served or tape.served
        later = any(c.start_hours > 0 for c in scenario.challengers)
        self.labels = Labels(
            schema=self.world.schema,
            tick_hours=scenario.tick_hours,
            n_ticks=self.n_ticks,
            keep_rows=scenario.policy.retrains or later,
        )
        self.challengers = (
            Challengers(
                scenario.challengers,
                task=self.task,
                n_ticks=self.n_ticks,
                tick_hours=scenario.tick_hours,
                n_bins=scenario.n_bins,
            )
            if scenario.challengers
            else None
        )
        self.history = None  # the initial training batch (challengers starting at hour 0)
        self.serving_log = ServingLog(tick_hours=scenario.tick_hours)
        self.proxies = emits_proxies(self.world)
        # a world that does not respond labels every row for sure (`Response.everything`)
        self.certain = getattr(self.world, "respond", None) is None
        self.recorder = Recorder(
            n_ticks=self.n_ticks,
            task=self.task,
            schema=self.world.schema,
            detectors=self.names,
            n_bins=scenario.n_bins,
            feature_statistics=feature_statistics,
            proxies=self.proxies,
        )

    def initial_training_batch(self) -> Batch:
        """The history before hour 0: fully labelled rows over ``train_hours``."""
        s = self.scenario
        rngs = self.rngs.child("history")
        n_chunks = max(1, min(s.train_rows // 10, round(s.train_hours / s.tick_hours)))
        sizes = np.full(n_chunks, s.train_rows // n_chunks)
        sizes[: s.train_rows % n_chunks] += 1
        times = -s.train_hours + np.arange(n_chunks) * (s.train_hours / n_chunks)
        return Batch.concat(
            [self.world.sample(int(n), float(t), rngs) for n, t in zip(sizes, times, strict=True)]
        )

    def tick(self, k: int, t: float, n: int) -> None:
        """One tick: serve, decide, respond, queue labels, deliver, monitor, record."""
        rngs, rec, ch = self.rngs, self.recorder, self.challengers
        if ch is not None:
            ch.start(k, t, self.labels.training_rows, self.history, rngs)
        model = self.deployment.model
        served = serve(self.world, self.serving, model, n, t, rngs)
        batch, out = served.batch, served.served
        self.serving_log.tick(t, out.unusable, failed=out.failed, n_rows=batch.n)
        acted = out.scores
        if ch is not None:
            acted = ch.route(k, t, served.columns, batch.n, out, model, rngs)
        decision = decide(self.rule, acted, batch.columns, rngs["decision"])
        response = respond(self.world, batch, decision, rngs)
        rec.serve(k, batch.columns, response.y, out.scores, model)
        rec.decide(k, decision, batch.n if out.failed else 0)
        rec.proxy(k, response.proxy)
        delays = self.scenario.delay.draw(batch.n, rngs["labels"])
        if ch is not None:
            ch.after_response(
                k, t, response.y, out.scores, delays, response.labelled, response.proxy
            )
        self.labels.push(
            t=t,
            delays=delays,
            labelled=response.labelled,
            y=response.y,
            scores=out.scores,
            propensity=None if self.certain else response.label_propensity,
            columns=batch.columns,
            extra=None if ch is None else ch.carried(),
        )
        arrived = self.labels.deliver(k)
        if ch is not None:
            ch.deliver(k, t, arrived, self.deployment)
        if arrived is None:
            labels = label_scores = label_times = weights = np.empty(0)
        else:
            labels, label_scores = arrived["y"], arrived["score"]
            label_times, weights = arrived["t"], arrived.get("w")
        rec.observe(k, labels, label_scores, weights)
        if not self.monitors and self.tape is None:
            return
        shared = {
            "t": t,
            "scores": out.scores,
            "labels": labels,
            "label_scores": label_scores,
            "label_times": label_times,
            "proxies": response.proxy,
        }
        views = {False: View(columns=batch.columns, **shared)}
        if self.any_served:
            columns = {} if out.failed else model.served_columns(out.features)
            views[True] = View(columns=columns, **shared)
        if self.tape is not None:
            self.tape.tick(views)
        monitor(
            self.monitors, self.watches, self.names, views, self.alarms, self.deployment, rec, k, t
        )


class _Abort(Exception):
    """Ends a run whose process failed (the failure itself is re-raised by `simulate`)."""


def _run_attrs(scenario: Scenario, seed: int, horizon: float, task: str) -> dict:
    model = scenario.model
    problems = model.rebuild_problems() + [
        f"monitors[{i}] ({type(m).__name__}) has no JSON spec"
        for i, m in enumerate(scenario.monitors)
        if not hasattr(m, "to_dict")
    ]
    spec = model.to_dict()["estimator"]
    params = spec.get("params", {}) if isinstance(spec, dict) else model.params or {}
    return {
        "scenario": scenario.to_json(),
        "scenario_name": scenario.name,
        "seed": int(seed),
        "simlab_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "start": str(np.datetime64(scenario.start, "s")),
        "tick_hours": float(scenario.tick_hours),
        "horizon_hours": float(horizon),
        "task": task,
        "primary_metric": "accuracy" if task == "binary" else "mae",
        "tolerance": float(scenario.tolerance),
        "window_hours": float(scenario.window_hours),
        "min_rows": int(scenario.min_rows),
        "reference_split": "random",
        "label_delay_hours": float(scenario.delay.expected_hours()),
        "estimator": model.estimator_class(),
        "estimator_params": json.dumps(params, sort_keys=True),
        "rebuildable": int(not problems),
        "rebuild_problems": "; ".join(problems),
    }


def simulate(
    scenario: Scenario,
    seed: int = 0,
    *,
    progress=None,
    memory_budget=None,
    feature_statistics: bool = False,
):
    """Run `scenario` with `seed` and return the Run (an `xarray.Dataset`).

    Everything with state (the world, the monitors, the decision rule) is cloned fresh for
    the run, so running one scenario twice, or two scenarios in turn, never leaks state.
    An error raised inside a tick reaches the caller as itself, with its message.

    Parameters
    ----------
    scenario
        What to simulate.
    seed
        The run's seed; every component draws from its own named stream of it.
    progress
        Optional ``callback(done_ticks, n_ticks)``, called about 100 times.
    memory_budget
        Bytes the run may use; a plan whose estimate (`simlab.sim.resources.estimate`) is
        larger is refused before anything runs. None: half of this machine's memory.
    feature_statistics
        Also record every per-feature statistic, feature by feature (the Run's
        ``feature_statistic``, on time x detector x feature), not only the largest.

    Examples
    --------
    >>> from simlab.sim import Scenario, simulate
    >>> from simlab.world import sea
    >>> run = simulate(Scenario(world=sea(), horizon_hours=48.0, train_rows=1000), seed=0)
    >>> run.sizes["time"], run.attrs["task"]
    (48, 'binary')
    """
    check_bool("simulate", "feature_statistics", feature_statistics)
    return _simulate(
        scenario,
        seed,
        progress=progress,
        memory_budget=memory_budget,
        feature_statistics=feature_statistics,
    )


def _simulate(
    scenario, seed, *, progress=None, memory_budget=None, tape=None, feature_statistics=False
):
    """`simulate`, optionally recording what the monitors see on `tape` (`simlab.sim.tape`)."""
    if not isinstance(scenario, Scenario):
        raise ConfigError("scenario", scenario, "a Scenario", owner="simulate")
    check_int("simulate", "seed", seed, 0, MAX_SEED)  # the Run stores it as a 64-bit attribute
    check_resources(scenario, memory_budget)
    rngs = Rngs(seed)
    env = simpy.Environment()
    run = _Run(scenario, rngs, env, tape, feature_statistics)
    history = run.initial_training_batch()
    run.history = history if run.challengers is not None else None
    model = run.deployment.deploy(history, now=0.0, window=(-scenario.train_hours, 0.0))
    run.recorder.set_score_edges(model.reference.scores)
    ticks = np.arange(run.n_ticks) * scenario.tick_hours
    counts = scenario.traffic.counts(ticks, scenario.tick_hours, rngs["traffic"])
    failures: list[Exception] = []

    def guarded(process):
        # An error inside a process is kept as it is and ends the run at once: left alone,
        # simpy would re-raise a reconstructed copy (``type(e)(*e.args)``), losing whatever
        # the arguments cannot rebuild, and a traceback that points into simpy.
        try:
            yield from process
        except Exception as err:
            failures.append(err)
            raise _Abort from None

    alone = not scenario.policy.retrains  # no retrainer: the clock is the only process
    env.process(guarded(clock(env, run=run, counts=counts, progress=progress, alone=alone)))
    if scenario.policy.retrains:
        env.process(
            guarded(
                retrainer(
                    env,
                    policy=scenario.policy,
                    labels=run.labels,
                    deployment=run.deployment,
                    alarms=run.alarms,
                )
            )
        )
    horizon = run.n_ticks * scenario.tick_hours
    try:
        env.run(until=horizon)
    except _Abort:
        raise failures[0] from None
    events = [e for e in run.world.events(horizon) if e.start < horizon]
    for slot in run.serving:
        events.extend(slot.events(horizon))
    events += run.deployment.events + run.serving_log.close()
    if run.challengers is not None:
        events += run.challengers.events
    return run.recorder.to_dataset(
        start=scenario.start,
        tick_hours=scenario.tick_hours,
        window_hours=scenario.window_hours,
        events=events,
        detector_kinds=[m.name for m in scenario.monitors],
        detector_watches=[str(w) for w in run.watches],
        detector_params=[params_json(m) for m in scenario.monitors],
        attrs=_run_attrs(scenario, seed, horizon, run.task),
        challengers=run.challengers,
    )
