"""The engine: ``simulate(scenario, seed) -> Run`` on simpy, one event per tick or training job.

Each tick (a simpy timeout) the roles run in a fixed order: *serve* (draw the tick's
rows, score them with the deployed model, queue their labels by arrival tick),
*deliver* (pop the labels due by now), *monitor* (every detector sees this tick's
inputs and scores and only the labels that have arrived), *record*. Retraining is a
separate simpy process: it waits for a period or an alarm (``env.any_of``/events),
runs a training job that takes simulated time, then deploys; every training and
deployment is an event in the run's log.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import simpy

import simlab
from simlab.batch import Batch
from simlab.detectors.base import View
from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.rng import Rngs
from simlab.sim.labels import LabelQueue
from simlab.sim.policies import OnAlarm, Periodic
from simlab.sim.recorder import SCHEMA_VERSION, Recorder, params_json
from simlab.sim.scenario import Scenario

__all__ = ["simulate"]


class _Deployment:
    """Mutable state of one run (what is deployed, pending labels, history); roles share it."""

    def __init__(self, scenario: Scenario, rngs: Rngs):
        self.s = scenario
        self.rngs = rngs
        self.world = scenario.world
        self.task = self.world.schema.task.value
        self.names = scenario.monitor_names()
        self.monitors = [m.clone() for m in scenario.monitors]
        self.queue = LabelQueue()
        self.history: deque = deque()
        self.events: list[Event] = []
        self.deployed = None
        self.signal: simpy.Event | None = None
        self.n_ticks = scenario.n_ticks
        self.recorder = Recorder(
            n_ticks=self.n_ticks,
            task=self.task,
            schema=self.world.schema,
            detectors=self.names,
            n_bins=scenario.n_bins,
        )
        self._alarmed = np.zeros(len(self.monitors), bool)
        self._keep_columns = scenario.policy.retrains
        self._watch = scenario.policy.detector if isinstance(scenario.policy, OnAlarm) else None

    # -- models ---------------------------------------------------------------
    def initial_training_batch(self) -> Batch:
        s = self.s
        rngs = self.rngs.child("history")
        n_chunks = max(1, min(s.train_rows // 10, round(s.train_hours / s.tick_hours)))
        sizes = np.full(n_chunks, s.train_rows // n_chunks)
        sizes[: s.train_rows % n_chunks] += 1
        times = -s.train_hours + np.arange(n_chunks) * (s.train_hours / n_chunks)
        return Batch.concat(
            [self.world.sample(int(n), float(t), rngs) for n, t in zip(sizes, times, strict=True)]
        )

    def deploy(self, batch: Batch, *, now: float, window: tuple[float, float]) -> None:
        version = 0 if self.deployed is None else self.deployed.version + 1
        model = self.s.model.train(
            batch,
            version=version,
            trained_at=window[1],
            rng=self.rngs[f"model_v{version}"],
            task=self.task,
        )
        if version == 0:
            self.recorder.set_score_edges(model.reference.scores)
        for m in self.monitors:
            m.fit(model.reference)
        self._alarmed[:] = False
        self.deployed = model
        detail = {"version": version, "n_rows": batch.n}
        self.events.append(
            Event(EventKind.TRAIN, window[0], window[1], source="model", detail=detail)
        )
        self.events.append(Event(EventKind.DEPLOY, now, now, source="model", detail=detail))

    def labelled_history(self, now: float, window_hours: float) -> Batch | None:
        while self.history and self.history[0]["t"].max() < now - window_hours:
            self.history.popleft()
        if not self.history:
            return None
        rows = {k: np.concatenate([h[k] for h in self.history]) for k in self.history[0]}
        keep = rows["t"] >= now - window_hours
        order = np.argsort(rows["t"][keep], kind="stable")
        cols = {name: rows["col:" + name][keep][order] for name in self.world.schema.names}
        return Batch(t=now, columns=cols, y=rows["y"][keep][order])

    # -- one tick ---------------------------------------------------------------
    def tick(self, k: int, t: float, n: int) -> None:
        s, rec = self.s, self.recorder
        batch = self.world.sample(n, t, self.rngs)
        scores = self.deployed.scores(batch.columns)
        rec.serve(k, batch.columns, batch.y, scores, self.deployed)
        # labels: arrival tick = first tick at or after serve time + delay
        delays = self.s.delay.draw(batch.n, self.rngs["labels"])
        arrive = np.ceil((t + delays) / s.tick_hours - 1e-9)
        due = arrive < self.n_ticks  # inf (never) and beyond the horizon never arrive
        if due.any():
            payload = {"y": batch.y[due], "score": scores[due], "t": np.full(int(due.sum()), t)}
            if self._keep_columns:
                for name, col in batch.columns.items():
                    payload["col:" + name] = col[due]
            self.queue.push(arrive[due].astype(np.int64), payload)
        arrived = self.queue.pop(k)
        if arrived is None:
            labels = label_scores = label_times = np.empty(0)
        else:
            labels, label_scores, label_times = arrived["y"], arrived["score"], arrived["t"]
            if self._keep_columns:
                self.history.append(arrived)
        rec.observe(k, labels, label_scores)
        view = View(
            t=t,
            columns=batch.columns,
            scores=scores,
            labels=labels,
            label_scores=label_scores,
            label_times=label_times,
        )
        for j, m in enumerate(self.monitors):
            verdict = m.update(view)
            rec.verdict(k, j, verdict)
            if verdict.alarm and not self._alarmed[j]:
                self.events.append(Event(EventKind.ALARM, t, t, source=self.names[j]))
            self._alarmed[j] = verdict.alarm
            if (
                verdict.alarm
                and self.names[j] == self._watch
                and self.signal is not None
                and not self.signal.triggered
            ):
                self.signal.succeed()


def _clock(env: simpy.Environment, dep: _Deployment, counts: np.ndarray, progress):
    tick = dep.s.tick_hours
    every = max(1, dep.n_ticks // 100)
    for k in range(dep.n_ticks):
        # Let every process due at this instant act first (a training job finishing, a
        # periodic job starting): a deployment at hour T then always serves tick T, and a
        # job starting at T always trains on the labels that arrived before T.
        yield env.timeout(0)
        dep.tick(k, k * tick, int(counts[k]))
        if progress is not None and (k % every == 0 or k == dep.n_ticks - 1):
            progress(k + 1, dep.n_ticks)
        yield env.timeout(max(0.0, (k + 1) * tick - env.now))  # absolute: no drift in the sum


def _retrainer(env: simpy.Environment, dep: _Deployment):
    policy = dep.s.policy
    while True:
        if isinstance(policy, Periodic):  # jobs start on a fixed grid: period, 2 period, ...
            next_start = (
                math.floor(env.now / policy.period_hours + 1e-9) + 1
            ) * policy.period_hours
            yield env.timeout(next_start - env.now)
        else:
            dep.signal = env.event()
            yield dep.signal
            dep.signal = None
        begun = env.now
        batch = dep.labelled_history(begun, policy.window_hours)
        reason = None
        if batch is None or batch.n < policy.min_rows:
            reason = f"{0 if batch is None else batch.n} labelled rows < min_rows={policy.min_rows}"
        if reason is not None:
            dep.events.append(
                Event(EventKind.TRAIN, begun, begun, source="skipped", detail={"reason": reason})
            )
            if isinstance(policy, OnAlarm):
                yield env.timeout(policy.cooldown_hours)
            continue
        yield env.timeout(policy.job_hours)  # the training job runs in simulated time
        try:
            dep.deploy(batch, now=env.now, window=(begun - policy.window_hours, begun))
        except ConfigError as err:  # e.g. the labels hold one class only: the job fails
            dep.events.append(
                Event(EventKind.TRAIN, begun, env.now, source="failed", detail={"reason": str(err)})
            )
        if isinstance(policy, OnAlarm):
            yield env.timeout(policy.cooldown_hours)


def simulate(scenario: Scenario, seed: int = 0, *, progress=None):
    """Run `scenario` with `seed` and return the Run (an `xarray.Dataset`).

    Parameters
    ----------
    scenario
        What to simulate.
    seed
        The run's seed; every component draws from its own named stream of it.
    progress
        Optional ``callback(done_ticks, n_ticks)``, called about 100 times.

    Examples
    --------
    >>> from simlab.sim import Scenario, simulate
    >>> from simlab.world import sea
    >>> run = simulate(Scenario(world=sea(), horizon_hours=48.0, train_rows=1000), seed=0)
    >>> run.sizes["time"], run.attrs["task"]
    (48, 'binary')
    """
    if not isinstance(scenario, Scenario):
        raise ConfigError("scenario", scenario, "a Scenario", owner="simulate")
    rngs = Rngs(seed)
    dep = _Deployment(scenario, rngs)
    dep.deploy(dep.initial_training_batch(), now=0.0, window=(-scenario.train_hours, 0.0))
    ticks = np.arange(dep.n_ticks) * scenario.tick_hours
    counts = scenario.traffic.counts(ticks, scenario.tick_hours, rngs["traffic"])
    env = simpy.Environment()
    env.process(_clock(env, dep, counts, progress))
    if scenario.policy.retrains:
        env.process(_retrainer(env, dep))
    env.run(until=dep.n_ticks * scenario.tick_hours)
    horizon = dep.n_ticks * scenario.tick_hours
    events = [e for e in scenario.world.events(horizon) if e.start < horizon] + dep.events
    task = dep.task
    attrs = {
        "scenario": scenario.to_json(),
        "scenario_name": scenario.name,
        "seed": int(seed),
        "simlab_version": simlab.__version__,
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
    }
    return dep.recorder.to_dataset(
        start=scenario.start,
        tick_hours=scenario.tick_hours,
        window_hours=scenario.window_hours,
        events=events,
        detector_kinds=[m.name for m in scenario.monitors],
        detector_watches=[str(m.tags.watches) for m in scenario.monitors],
        detector_params=[params_json(m) for m in scenario.monitors],
        attrs=attrs,
    )
