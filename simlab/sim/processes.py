"""The engine's roles, one function or simpy process each, with explicit inputs.

One tick runs the roles in order: `serve` (draw the world's upstream rows, apply the
serving-side slot, score), `decide` (the decision rule), `respond` (the world's answer:
outcomes and which rows will ever be labelled, `simlab.world.base.respond`), `Labels.push`
(schedule each labelled row's arrival), `Labels.deliver` (the labels due now), `monitor`
(every detector sees its view: upstream or served features, scores, arrived labels only),
and recording. Retraining is its own process (`retrainer`): each policy owns its waiting.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

import numpy as np

from simlab.batch import Batch
from simlab.decisions import Decision
from simlab.detectors.base import Watches
from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.sim.labels import LabelQueue
from simlab.world.base import notify_deploy
from simlab.world.schema import Kind

__all__ = [
    "AlarmBus",
    "Deployment",
    "Labels",
    "ServingLog",
    "clock",
    "decide",
    "monitor",
    "retrainer",
    "serve",
]


class AlarmBus:
    """Alarms as simpy events: a policy waits on ``next(name)``; a tick publishes alarms.

    Examples
    --------
    >>> import simpy
    >>> env = simpy.Environment()
    >>> bus = AlarmBus(env)
    >>> ev = bus.next("psi")
    >>> bus.publish("psi"); ev.triggered
    True
    """

    def __init__(self, env):
        self.env = env
        self._waiting: dict[str, list] = {}

    def next(self, name: str):
        """An event that succeeds at the next tick at which monitor `name` alarms."""
        event = self.env.event()
        self._waiting.setdefault(name, []).append(event)
        return event

    def publish(self, name: str) -> None:
        """Monitor `name` alarms at this tick: wake whoever waits for it."""
        for event in self._waiting.pop(name, ()):
            event.succeed()


class Deployment:
    """The model serving now, and what a deployment sets in motion.

    A deployment fits every monitor afresh on the new model's reference (its served-feature
    reference for monitors of served features), tells the world (through the model's scoring
    function, never the estimator) and logs its training and deployment events. It is all or
    nothing: if the model or any monitor cannot be fitted, nothing changes.

    Parameters
    ----------
    adapter
        The scenario's `ModelAdapter`.
    world
        The run's world (told of every deployment).
    monitors, watches
        The run's monitors and what each watches.
    names
        The monitors' names in the run (a randomised monitor draws from ``detector/NAME``).
    rngs
        The run's random streams (model version ``v`` draws from ``model_v{v}``).
    task
        "binary" or "regression".

    Examples
    --------
    >>> from simlab.models import ModelAdapter
    >>> from simlab.rng import Rngs
    >>> from simlab.world import sea
    >>> dep = Deployment(
    ...     adapter=ModelAdapter(), world=sea(), monitors=[], watches=[], rngs=Rngs(0),
    ...     task="binary",
    ... )
    >>> model = dep.deploy(sea().sample(1000, -1.0, rng=0), now=0.0, window=(-1.0, 0.0))
    >>> model.version, [e.kind.value for e in dep.events]
    (0, ['train', 'deploy'])
    """

    def __init__(self, *, adapter, world, monitors, watches, rngs, task: str, names=None):
        self.adapter = adapter
        self.world = world
        self.monitors = monitors
        self.watches = watches
        self.names = names if names is not None else [m.name for m in monitors]
        self.rngs = rngs
        self.task = task
        self.model = None
        self.events: list[Event] = []
        self.alarmed = np.zeros(len(monitors), bool)
        self.tape = None  # a `simlab.sim.tape.Tape` being recorded, told of every deployment

    def deploy(self, batch: Batch, *, now: float, window: tuple[float, float]):
        """Train on `batch`, deploy the model at hour `now`; returns it."""
        version = 0 if self.model is None else self.model.version + 1
        model = self.adapter.train(
            batch,
            version=version,
            trained_at=window[1],
            rng=self.rngs[f"model_v{version}"],
            task=self.task,
        )
        self._install(model, now)
        detail = {"version": version, "n_rows": batch.n}
        self.events.append(
            Event(EventKind.TRAIN, window[0], window[1], source="model", detail=detail)
        )
        self.events.append(Event(EventKind.DEPLOY, now, now, source="model", detail=detail))
        return model

    def promote(self, model, adapter, *, now: float) -> None:
        """Make a challenger's trained `model` the champion at hour `now` (all or nothing).

        Its monitors are fitted afresh on its reference, the world is told, and from now on
        the retraining policy trains the challenger's `adapter`.
        """
        model = dataclasses.replace(model, version=self.model.version + 1)
        self._install(model, now)
        self.adapter = adapter
        detail = {"version": model.version, "promoted": True}
        self.events.append(Event(EventKind.DEPLOY, now, now, source="model", detail=detail))

    def _install(self, model, now: float) -> None:
        """Serve `model` from hour `now`: monitors refitted on its reference, the world told.

        All or nothing: a monitor that cannot fit the new reference fails the whole job, and
        the model and monitors in place stay as they were.
        """
        fitted = []
        for m, watch, name in zip(self.monitors, self.watches, self.names, strict=True):
            fresh = m.clone()
            if getattr(fresh.tags, "randomised", False):  # its own stream, named for it
                fresh.seed(self.rngs[f"detector/{name}"])
            fitted.append(
                fresh.fit(model.reference_served if watch is Watches.SERVED else model.reference)
            )
        self.monitors[:] = fitted
        self.alarmed[:] = False
        self.model = model
        if self.tape is not None:
            self.tape.deploy(model)
        notify_deploy(self.world, model.scores, now)


def _complete(columns, schema, n: int) -> dict[str, np.ndarray]:
    """Columns in schema order, a missing one filled as missing (NaN, or "" for strings)."""
    out = {}
    for spec in schema:
        col = columns.get(spec.name)
        if col is None:
            col = np.full(n, np.nan) if spec.kind is Kind.NUMERIC else np.full(n, "")
        out[spec.name] = col
    return out


class Labels:
    """Labels in flight (bucketed by arrival tick) and, for retraining, those that arrived.

    Parameters
    ----------
    schema
        The world's schema: rows kept for retraining carry its columns (a column missing
        upstream when the row was served is kept as missing).
    tick_hours, n_ticks
        The tick length and the run's length (labels due later never arrive).
    keep_rows
        Whether arrived rows are kept for retraining.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.world import sea
    >>> labels = Labels(schema=sea().schema, tick_hours=1.0, n_ticks=10, keep_rows=False)
    >>> labels.push(
    ...     t=0.0, delays=np.array([1.0, 2.5]), labelled=np.array([True, True]),
    ...     y=np.array([0, 1]), scores=np.array([0.2, 0.9]), propensity=np.ones(2),
    ... )
    >>> labels.deliver(1)["y"].tolist(), labels.deliver(3)["y"].tolist()
    ([0], [1])
    """

    def __init__(self, *, schema, tick_hours: float, n_ticks: int, keep_rows: bool):
        self.schema = schema
        self.tick_hours = tick_hours
        self.n_ticks = n_ticks
        self.keep_rows = keep_rows
        self.queue = LabelQueue(span=n_ticks + 1)
        self.history: deque = deque()
        # each push's serve hour: a row carries its push's number (4 bytes), not the hour
        self._served_at = np.empty(n_ticks + 1)
        self._pushes = 0

    def push(self, *, t, delays, labelled, y, scores, propensity, columns=None, extra=None) -> None:
        """Schedule the labelled rows served at hour `t`: arrival at the first tick >= t + delay.

        `propensity` is each row's probability of being labelled; None if every row was
        labelled for sure (then it is 1 for every row of every push of the run). `extra`
        maps more per-row arrays (a challenger's scores, say) to carry with them.
        """
        j = self._pushes
        if j == self._served_at.shape[0]:
            self._served_at = np.concatenate([self._served_at, np.empty(j)])
        self._served_at[j] = t
        self._pushes += 1
        # the rows waiting are what the run's cache holds most of: keep them small
        payload = {"y": y, "score": scores, "push": np.int32(j)}
        if propensity is not None:
            payload["p"] = propensity
        if extra:
            payload.update(extra)
        if self.keep_rows:
            full = _complete(columns, self.schema, len(y))
            for name, col in full.items():
                payload["col:" + name] = col
        # labels due at or after the horizon (or never) are not kept: span is n_ticks + 1
        self.queue.push_hours(t, delays, self.tick_hours, labelled, payload, horizon=self.n_ticks)

    def deliver(self, k: int) -> dict | None:
        """The labels arriving at tick `k` (None if none); kept for retraining if asked.

        A dict of arrays: ``y``, ``score`` (the deployed model's), ``t`` (the serve hour),
        ``w`` (inverse label propensities; absent when every row was labelled for sure) and
        whatever `push` carried in `extra`.
        """
        arrived = self.queue.pop(k)
        if arrived is not None:
            arrived["t"] = self._served_at[arrived.pop("push")]
            p = arrived.pop("p", None)
            if p is not None:  # inverse label propensities (none: every one was 1)
                arrived["w"] = 1.0 / p
        if arrived is not None and self.keep_rows:
            self.history.append(arrived)
        return arrived

    def training_rows(self, now: float, window_hours: float) -> Batch | None:
        """The labelled rows served in the last `window_hours` whose labels have arrived."""
        while self.history and self.history[0]["t"].max() < now - window_hours:
            self.history.popleft()
        if not self.history:
            return None
        rows = {k: np.concatenate([h[k] for h in self.history]) for k in self.history[0]}
        keep = rows["t"] >= now - window_hours
        order = np.argsort(rows["t"][keep], kind="stable")
        cols = {name: rows["col:" + name][keep][order] for name in self.schema.names}
        return Batch(t=now, columns=cols, y=rows["y"][keep][order])


class ServingLog:
    """Turns per-tick serving trouble into events: one per episode of unusable columns.

    An episode is a run of consecutive ticks with the same unusable columns and the same
    outcome (a fallback, or failed requests); its event spans those ticks.

    Examples
    --------
    >>> log = ServingLog(tick_hours=1.0)
    >>> for t in range(4):
    ...     log.tick(float(t), ("x0",) if t in (1, 2) else (), failed=False, n_rows=10)
    >>> [(e.kind.value, e.start, e.end, e.features) for e in log.close()]
    [('serving_fallback', 1.0, 3.0, ('x0',))]
    """

    def __init__(self, *, tick_hours: float):
        self.tick_hours = tick_hours
        self.events: list[Event] = []
        self._open: tuple | None = None  # (columns, failed, start, last, rows)

    def _flush(self) -> None:
        if self._open is not None:
            columns, failed, start, last, rows = self._open
            kind = EventKind.SERVING_FAILURE if failed else EventKind.SERVING_FALLBACK
            self.events.append(
                Event(
                    kind,
                    start,
                    last + self.tick_hours,
                    source="serving",
                    features=columns,
                    detail={"rows": rows},
                )
            )
            self._open = None

    def tick(self, t: float, unusable: tuple[str, ...], *, failed: bool, n_rows: int) -> None:
        """Note tick `t`'s unusable columns (empty: serving was healthy)."""
        if self._open is not None and (self._open[0], self._open[1]) != (unusable, failed):
            self._flush()
        if unusable:
            if self._open is None:
                self._open = (unusable, failed, t, t, n_rows)
            else:
                columns, was_failed, start, _, rows = self._open
                self._open = (columns, was_failed, start, t, rows + n_rows)

    def close(self) -> list[Event]:
        """Every episode's event (the last one closed at its last tick)."""
        self._flush()
        return self.events


@dataclass(frozen=True, slots=True)
class Tick:
    """What serving one tick produced: the upstream batch and what the model was served."""

    batch: Batch
    served: object  # simlab.models.Served
    columns: object = None  # the columns the model was served (after the serving slot)


def serve(world, serving, deployed, n: int, t: float, rngs) -> Tick:
    """Draw the tick's upstream rows, pass them through the serving slot, and score them.

    Examples
    --------
    >>> from simlab.models import ModelAdapter
    >>> from simlab.rng import Rngs
    >>> from simlab.world import sea
    >>> model = ModelAdapter().train(sea().sample(1000, 0.0, rng=0), version=0)
    >>> tick = serve(sea(), (), model, 5, 0.0, Rngs(1))
    >>> tick.batch.n, tick.served.scores.shape
    (5, (5,))
    """
    batch = world.sample(n, t, rngs)
    at_serving = batch
    for slot in serving:
        at_serving = slot.apply(at_serving, rngs)
    return Tick(batch, deployed.serve(at_serving.columns, n=batch.n), at_serving.columns)


def decide(rule, scores: np.ndarray, columns, rng) -> Decision:
    """The decision rule's actions for the tick's scores, checked for shape.

    Examples
    --------
    >>> from simlab.decisions import Threshold
    >>> decide(Threshold(), np.array([0.3, 0.6]), {}, np.random.default_rng(0)).action.tolist()
    [0, 1]
    """
    decision = rule.decide(scores, columns, rng)
    if not isinstance(decision, Decision) or decision.n != scores.shape[0]:
        raise ConfigError(
            "decision",
            type(decision).__name__,
            f"a Decision with one action per row ({scores.shape[0]})",
            owner=getattr(rule, "name", type(rule).__name__),
        )
    return decision


def monitor(monitors, watches, names, views: dict, alarms, deployment, recorder, k, t) -> None:
    """Every monitor sees its view; new alarms are logged and published on the alarm bus.

    `views` maps ``False`` to the upstream view and ``True`` to the served-feature view.

    Examples
    --------
    >>> import simpy
    >>> from types import SimpleNamespace
    >>> from simlab.detectors import ScorePSI
    >>> from simlab.sim.recorder import Recorder
    >>> from simlab.view import View
    >>> from simlab.world import sea
    >>> det = ScorePSI(min_samples=10).fit(View(scores=np.linspace(0.0, 0.5, 100)))
    >>> rec = Recorder(n_ticks=1, task="binary", schema=sea().schema, detectors=["s"], n_bins=10)
    >>> dep = SimpleNamespace(alarmed=np.zeros(1, bool), events=[])
    >>> views = {False: View(scores=np.full(50, 0.9))}
    >>> bus = AlarmBus(simpy.Environment())
    >>> monitor([det], [Watches.SCORES], ["s"], views, bus, dep, rec, 0, 0.0)
    >>> bool(rec.alarm[0, 0]), [e.kind.value for e in dep.events]
    (True, ['alarm'])
    """
    per_feature = recorder.feature_statistic is not None
    for j, (m, watch) in enumerate(zip(monitors, watches, strict=True)):
        verdict = m.update(views[watch is Watches.SERVED])
        recorder.verdict(k, j, verdict, getattr(m, "features_", None) if per_feature else None)
        if verdict.alarm:
            # a new alarm: the first alarming tick, or any, for a detector that restarts
            if not deployment.alarmed[j] or getattr(m.tags, "restarts", False):
                deployment.events.append(Event(EventKind.ALARM, t, t, source=names[j]))
            alarms.publish(names[j])
        deployment.alarmed[j] = verdict.alarm


def clock(env, *, run, counts: np.ndarray, progress, alone: bool = False):
    """The tick process: one simpy timeout per tick, every role in order inside it.

    `run` provides ``scenario.tick_hours``, ``n_ticks`` and ``tick(k, t, n)``. With other
    processes (a retrainer), each tick first yields to every process due at the same
    instant; `alone` says there are none, so there is nothing to yield to.

    Examples
    --------
    >>> import simpy
    >>> from types import SimpleNamespace
    >>> seen = []
    >>> run = SimpleNamespace(
    ...     scenario=SimpleNamespace(tick_hours=2.0), n_ticks=3,
    ...     tick=lambda k, t, n: seen.append((k, t, n)),
    ... )
    >>> env = simpy.Environment()
    >>> _ = env.process(clock(env, run=run, counts=np.array([5, 6, 7]), progress=None))
    >>> env.run(); seen
    [(0, 0.0, 5), (1, 2.0, 6), (2, 4.0, 7)]
    """
    tick_hours = run.scenario.tick_hours
    n_ticks = run.n_ticks
    every = max(1, n_ticks // 100)
    for k in range(n_ticks):
        # Let every process due at this instant act first (a training job finishing, a
        # periodic job starting): a deployment at hour T then always serves tick T, and a
        # job starting at T always trains on the labels that arrived before T.
        if not alone:
            yield env.timeout(0)
        run.tick(k, k * tick_hours, int(counts[k]))
        if progress is not None and (k % every == 0 or k == n_ticks - 1):
            progress(k + 1, n_ticks)
        yield env.timeout(max(0.0, (k + 1) * tick_hours - env.now))  # absolute: no drift


def retrainer(env, *, policy, labels: Labels, deployment: Deployment, alarms: AlarmBus):
    """The retraining process: the policy waits, a job trains on arrived labels, then deploys.

    A job without enough labelled rows is skipped, and one whose training fails (one class
    only, say) is logged as failed; either way the policy's ``rest`` follows.

    Examples
    --------
    >>> import simpy
    >>> from types import SimpleNamespace
    >>> from simlab.sim.policies import Periodic
    >>> from simlab.world import sea
    >>> env = simpy.Environment()
    >>> labels = Labels(schema=sea().schema, tick_hours=1.0, n_ticks=100, keep_rows=True)
    >>> dep = SimpleNamespace(events=[])
    >>> policy = Periodic(period_hours=24.0)
    >>> _ = env.process(retrainer(env, policy=policy, labels=labels, deployment=dep, alarms=None))
    >>> env.run(until=50); [(e.source, e.start) for e in dep.events]
    [('skipped', 24.0), ('skipped', 48.0)]
    """
    while True:
        yield from policy.wait(env, alarms)
        begun = env.now
        batch = labels.training_rows(begun, policy.window_hours)
        if batch is None or batch.n < policy.min_rows:
            n = 0 if batch is None else batch.n
            reason = f"{n} labelled rows < min_rows={policy.min_rows}"
            deployment.events.append(
                Event(EventKind.TRAIN, begun, begun, source="skipped", detail={"reason": reason})
            )
        else:
            yield env.timeout(policy.job_hours)  # the training job runs in simulated time
            try:
                deployment.deploy(batch, now=env.now, window=(begun - policy.window_hours, begun))
            except ConfigError as err:  # e.g. the labels hold one class only: the job fails
                deployment.events.append(
                    Event(
                        EventKind.TRAIN,
                        begun,
                        env.now,
                        source="failed",
                        detail={"reason": str(err)},
                    )
                )
        yield from policy.rest(env)
