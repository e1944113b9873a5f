"""Tapes: what a run's monitors saw, recorded once and replayed through any detector.

Calibrating a threshold means running a detector many times over the same stream with
different thresholds. Simulating the world, the model and the labels again for each try
would spend nearly all the time on what does not change. A `Tape` records one run's views
(the upstream rows, the model's served features, its scores and the labels that arrived,
tick by tick) and the reference of every deployment; `Tape.replay` then runs a detector
over them, as the engine would have: fitted afresh at each deployment, seeded from the
run's ``detector/NAME`` stream if it draws, updated once per tick.

A replay gives the verdicts the detector would have given in the run. The timeline itself
(when the model was retrained) is the recorded run's: a replayed detector does not change
it, which matters only for a policy that retrains on an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlab.detectors.base import Watches, watches_of
from simlab.errors import ConfigError
from simlab.rng import Rngs
from simlab.sim.engine import _simulate
from simlab.sim.recorder import scalar_verdict
from simlab.validation import check_bool
from simlab.view import View

__all__ = ["Replay", "Tape", "record_tape"]


def _strip(view: View) -> View:
    """The view without its columns (what a scores-, labels- or proxy-watching detector reads)."""
    return View(
        t=view.t,
        scores=view.scores,
        labels=view.labels,
        label_scores=view.label_scores,
        label_times=view.label_times,
        proxies=view.proxies,
    )


@dataclass(frozen=True)
class Replay:
    """A detector's verdicts over a tape, one per tick.

    Attributes
    ----------
    name
        The monitor name it was replayed under (its random stream is ``detector/NAME``).
    statistic, threshold
        Per tick, as the Run records them (per-feature statistics: the largest).
    alarm
        Per tick, the verdict's alarm.
    deploys
        The ticks before which a deployment refitted the detector (0: the first model).
    tick_hours
        The tape's tick length.

    Examples
    --------
    >>> import numpy as np
    >>> r = Replay("psi", np.zeros(4), np.ones(4), np.array([0, 1, 1, 0], bool), (0,), 1.0)
    >>> r.onsets.tolist(), r.n_ticks
    ([1], 4)
    """

    name: str
    statistic: np.ndarray
    threshold: np.ndarray
    alarm: np.ndarray
    deploys: tuple[int, ...]
    tick_hours: float
    restarts: bool = False

    @property
    def n_ticks(self) -> int:
        """Ticks replayed."""
        return int(self.alarm.size)

    @property
    def onsets(self) -> np.ndarray:
        """Ticks where an alarm starts: alarm now, and not on the previous tick (or refitted).

        The engine logs an alarm event at the same ticks: a run of alarming ticks is one
        alarm, and a deployment starts counting afresh; for a detector that restarts after
        each alarm (`Tags.restarts`) every alarming tick is one.
        """
        a = self.alarm
        if self.restarts:
            return np.flatnonzero(a)
        start = a.copy()
        start[1:] &= ~a[:-1]
        for k in self.deploys:
            if 0 < k < a.size:
                start[k] = a[k]
        return np.flatnonzero(start)


class Tape:
    """What a run's monitors saw: per-tick views and each deployment's references.

    Build one with `record_tape`. The tape holds every row the monitors saw (about
    ``8 x rows x features`` bytes per column set kept), so record only the column sets the
    detectors to be replayed need.

    Parameters
    ----------
    seed
        The run's seed (a replayed randomised detector draws from ``detector/NAME`` of it).
    tick_hours
        The run's tick length.
    upstream, served
        Keep the upstream columns, the served features (scores and labels are always kept).

    Attributes
    ----------
    run
        The Run of the simulation the tape was recorded from (set by `record_tape`; None
        for a tape filled by hand).

    Examples
    --------
    >>> from simlab.detectors import ScorePSI
    >>> from simlab.sim import Scenario
    >>> from simlab.world import sea
    >>> s = Scenario(world=sea(), horizon_hours=24.0, train_rows=1000)
    >>> tape = record_tape(s, seed=0, upstream=False, served=False)
    >>> tape.n_ticks, tape.deploys
    (24, (0,))
    >>> r = tape.replay(ScorePSI())
    >>> r.alarm.shape
    (24,)
    """

    def __init__(self, *, seed: int, tick_hours: float, upstream: bool = True, served: bool = True):
        self.seed = seed
        self.tick_hours = float(tick_hours)
        self.upstream = check_bool("Tape", "upstream", upstream)
        self.served = check_bool("Tape", "served", served)
        self._views: list[View] = []
        self._served: list[View | None] = []
        self._refs: list[tuple[int, View, View | None]] = []
        self.run = None

    # -- recording (called by the engine) -------------------------------------------------

    def deploy(self, model) -> None:
        """A model was deployed before the next tick: keep its references."""
        ref = model.reference if self.upstream else _strip(model.reference)
        served = model.reference_served if self.served else None
        self._refs.append((len(self._views), ref, served))

    def tick(self, views: dict) -> None:
        """One tick's views: ``{False: upstream view, True: served view}``."""
        up = views[False]
        self._views.append(up if self.upstream else _strip(up))
        self._served.append(views.get(True) if self.served else None)

    # -- reading --------------------------------------------------------------------------

    @property
    def n_ticks(self) -> int:
        """Ticks recorded."""
        return len(self._views)

    @property
    def deploys(self) -> tuple[int, ...]:
        """The ticks before which a model was deployed."""
        return tuple(k for k, _, _ in self._refs)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays the tape holds (rows of every view and reference)."""

        def size(view):
            if view is None:
                return 0
            arrays = [*view.columns.values(), view.scores, view.labels, view.label_scores]
            return sum(a.nbytes for a in arrays if a is not None)

        refs = sum(size(r) + size(s) for _, r, s in self._refs)
        return int(refs + sum(size(v) for v in self._views) + sum(size(v) for v in self._served))

    @property
    def n_rows(self) -> int:
        """Rows served over the tape."""
        return int(sum(v.n for v in self._views))

    def _check(self, watch: Watches, owner: str) -> bool:
        served = watch is Watches.SERVED
        if served and not self.served:
            raise ConfigError(
                "detector", watch.value, "a tape recorded with served=True", owner=owner
            )
        if watch in (Watches.FEATURES, Watches.QUALITY) and not self.upstream:
            raise ConfigError(
                "detector", watch.value, "a tape recorded with upstream=True", owner=owner
            )
        return served

    def replay(self, detector, name: str | None = None) -> Replay:
        """Run `detector` over the tape as the engine would have; its verdicts per tick.

        Parameters
        ----------
        detector
            A detector (unfitted or fitted; it is cloned and never changed).
        name
            The monitor name it runs under, which names its random stream; by default its
            kind (``KIND_served`` for a monitor of served features), as in a scenario with
            one monitor of that kind.
        """
        watch = watches_of(detector)
        served = self._check(watch, "Tape.replay")
        if name is None:
            name = f"{detector.name}_served" if served else detector.name
        rngs = Rngs(self.seed)
        randomised = getattr(detector.tags, "randomised", False)
        n = self.n_ticks
        stat = np.full(n, np.nan)
        thr = np.full(n, np.nan)
        alarm = np.zeros(n, bool)
        views = self._served if served else self._views
        refs = list(self._refs)
        m = None
        for k in range(n):
            while refs and refs[0][0] == k:
                _, ref, ref_served = refs.pop(0)
                m = detector.clone()
                if randomised:
                    m.seed(rngs[f"detector/{name}"])
                m.fit(ref_served if served else ref)
            verdict = m.update(views[k])
            stat[k], thr[k] = scalar_verdict(verdict)
            alarm[k] = verdict.alarm
        restarts = bool(getattr(detector.tags, "restarts", False))
        return Replay(name, stat, thr, alarm, self.deploys, self.tick_hours, restarts)


def record_tape(
    scenario, seed: int = 0, *, upstream: bool = True, served: bool = True, memory_budget=None
) -> Tape:
    """Simulate `scenario` with `seed` and record what its monitors see on a `Tape`.

    The run is the one `simulate` makes (its monitors and policy included, so an alarm-driven
    retraining happens as it would); the tape keeps its views and references.

    Parameters
    ----------
    scenario, seed, memory_budget
        As for `simulate`.
    upstream, served
        Which column sets to keep (see `Tape`).

    Examples
    --------
    >>> from simlab.detectors import PSI
    >>> from simlab.sim import Scenario, simulate
    >>> from simlab.world import sea
    >>> s = Scenario(world=sea(), monitors=(PSI(),), horizon_hours=24.0, train_rows=1000)
    >>> tape = record_tape(s, seed=1)
    >>> run = simulate(s, seed=1)
    >>> bool((tape.replay(PSI()).alarm == run["alarm"].sel(detector="psi").values).all())
    True
    >>> tape.run.identical(run)
    True
    """
    tape = Tape(seed=seed, tick_hours=scenario.tick_hours, upstream=upstream, served=served)
    tape.run = _simulate(scenario, seed, memory_budget=memory_budget, tape=tape)
    return tape
