"""Scenario: a frozen, JSON round-trippable spec of one simulated deployment."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import numpy as np

import simlab.feedback  # noqa: F401  (its worlds join the registry that specs name)
from simlab.decisions import DECISIONS, DecisionRule, Threshold
from simlab.detectors.base import DETECTORS, Watches, watches_of
from simlab.errors import ConfigError
from simlab.faults.base import ServingFault
from simlab.models.adapter import MODELS, ModelAdapter
from simlab.params import Component, encode, structural_key
from simlab.sim.delays import DELAYS, Delay, ExponentialDelay
from simlab.sim.policies import POLICIES, Never, OnAlarm, Policy
from simlab.sim.traffic import TRAFFIC, Constant, Traffic
from simlab.validation import check_int, check_real
from simlab.world.base import emits_proxies, twin
from simlab.world.worlds import WORLDS

__all__ = ["CAUSES", "Scenario"]

#: The root causes a scenario can stand for (the seed's six, plus the null scenarios).
CAUSES = {
    "none": "nothing injected (null scenarios: every alarm is a false alarm)",
    "covariate_shift": "P(X) moves",
    "label_shift": "P(Y) moves",
    "concept_drift": "P(Y|X) moves",
    "upstream": "an upstream data change (schema, units, sensors, nulls, codes, rows)",
    "skew": "train/serve skew (features computed differently at serving)",
    "rot": "software rot (numeric precision, defaults, encodings)",
    "feedback": "a feedback loop (the model's decisions choose its data)",
}

_FAMILIES = {
    "world": WORLDS,
    "model": MODELS,
    "traffic": TRAFFIC,
    "delay": DELAYS,
    "policy": POLICIES,
    "decision": DECISIONS,
}


#: The calendar a Run's nanosecond timestamps can hold (numpy's datetime64[ns]).
_FIRST, _LAST = np.datetime64("1678-01-01", "s"), np.datetime64("2262-04-11", "s")
_HOUR = np.timedelta64(1, "h")


def _check_start(start, horizon_hours: float, train_hours: float) -> None:
    """`start` is a time-zone-free ISO date-time whose run (history included) fits the calendar."""
    allowed = "an ISO 8601 date-time without a time zone (simulated time has none), as a string"
    if not isinstance(start, str):
        raise ConfigError("start", start, allowed, owner="Scenario")
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        raise ConfigError("start", start, allowed, owner="Scenario") from None
    if when.tzinfo is not None:
        raise ConfigError("start", start, allowed, owner="Scenario")
    # in float hours from the first representable instant: no overflow, whatever the sizes
    hours = (np.datetime64(when.replace(microsecond=0).isoformat(), "s") - _FIRST) / _HOUR
    if hours - train_hours < 0.0:
        raise ConfigError(
            "start", start, f"a time after {_FIRST} plus the training history", owner="Scenario"
        )
    if hours + horizon_hours >= (_LAST - _FIRST) / _HOUR:
        raise ConfigError(
            "start", start, f"a time whose horizon ends before {_LAST}", owner="Scenario"
        )


def _serving_fault(i: int, spec) -> ServingFault:
    from simlab.registry import build

    if not isinstance(spec, dict) or spec.get("kind") != "serving_fault":
        raise ConfigError(f"serving[{i}]", spec, 'a table with kind = "serving_fault"')
    return build(spec)


@dataclass(frozen=True, eq=False)
class Scenario:
    """Everything one run needs: the world, the model, its decisions, traffic, labels, monitors.

    Parameters
    ----------
    world
        A world (`simlab.world`), possibly wrapped (faults upstream, selective labels, ...).
    model
        The deployed model (`ModelAdapter`).
    decision
        The decision rule that turns the model's scores into actions (`simlab.decisions`);
        the classic cut-off at 0.5 by default.
    serving
        The serving-side slot: `ServingFault` entries applied, in order, only to what the
        model is served (train/serve skew and software rot live here).
    traffic
        Rows per tick.
    delay
        When labels arrive.
    monitors
        Detectors watching the deployment.
    policy
        When to retrain.
    horizon_hours, tick_hours
        Simulated duration, and the monitoring interval (one engine event per tick).
    train_rows, train_hours
        Rows in the initial training window, drawn over the `train_hours` before time 0.
    tolerance
        Harm: the primary metric worse than offline by more than this.
    window_hours
        Trailing window of the true and observed metrics.
    min_rows
        Least rows a metric window needs before harm or a label alarm is judged.
    n_bins
        Bins of the recorded score histogram.
    start
        Calendar time of hour 0 (ISO 8601).
    name, description
        For catalogues and reports.
    cause
        The root cause the scenario stands for: one of `CAUSES`, or "" (not said).
    challengers
        Models beside the champion on live traffic (`simlab.sim.practices`: `Shadow`,
        `ABTest`, `Canary`).

    Examples
    --------
    >>> from simlab.world import sea
    >>> s = Scenario(world=sea(), horizon_hours=48.0)
    >>> Scenario.from_json(s.to_json()) == s
    True
    """

    world: Any
    model: ModelAdapter = field(default_factory=ModelAdapter)
    decision: DecisionRule = field(default_factory=Threshold)
    serving: tuple = ()
    traffic: Traffic = field(default_factory=Constant)
    delay: Delay = field(default_factory=ExponentialDelay)
    monitors: tuple = ()
    policy: Policy = field(default_factory=Never)
    horizon_hours: float = 720.0
    tick_hours: float = 1.0
    train_rows: int = 5000
    train_hours: float = 168.0
    tolerance: float = 0.05
    window_hours: float = 24.0
    min_rows: int = 500
    n_bins: int = 20
    start: str = "2026-01-05T00:00:00"
    name: str = "custom"
    description: str = ""
    cause: str = ""
    challengers: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "monitors", tuple(self.monitors))
        object.__setattr__(self, "serving", tuple(self.serving))
        object.__setattr__(self, "challengers", tuple(self.challengers))
        for key in ("horizon_hours", "tick_hours", "train_hours", "tolerance", "window_hours"):
            check_real("Scenario", key, getattr(self, key), low=0.0, open_low=True)
        check_int("Scenario", "train_rows", self.train_rows, 50)
        if self.cause not in ("", *CAUSES):
            raise ConfigError(
                "cause", self.cause, f'"" or one of {sorted(CAUSES)}', owner="Scenario"
            )
        check_int("Scenario", "min_rows", self.min_rows, 1)
        check_int("Scenario", "n_bins", self.n_bins, 2)
        if self.tick_hours > self.horizon_hours:
            raise ConfigError(
                "tick_hours",
                self.tick_hours,
                f"at most horizon_hours={self.horizon_hours}",
                owner="Scenario",
            )
        if self.window_hours < self.tick_hours:
            raise ConfigError(
                "window_hours",
                self.window_hours,
                f"at least tick_hours={self.tick_hours}",
                owner="Scenario",
            )
        if 200 % self.n_bins:
            raise ConfigError(
                "n_bins", self.n_bins, "a divisor of 200 (2, 4, 5, 10, 20, ...)", owner="Scenario"
            )
        _check_start(self.start, self.horizon_hours, self.train_hours)
        for key in ("name", "description"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(key, getattr(self, key), "a string", owner="Scenario")
        for key, family in (
            ("world", None),
            ("model", ModelAdapter),
            ("traffic", Traffic),
            ("delay", Delay),
            ("policy", Policy),
            ("decision", DecisionRule),
        ):
            value = getattr(self, key)
            if family is None:
                if not (hasattr(value, "sample") and hasattr(value, "schema")):
                    raise ConfigError("world", value, "a World", owner="Scenario")
            elif not isinstance(value, family):
                raise ConfigError(key, value, f"a {family.__name__}", owner="Scenario")
        for i, m in enumerate(self.monitors):
            if not (hasattr(m, "fit") and hasattr(m, "update") and hasattr(m, "tags")):
                raise ConfigError(f"monitors[{i}]", m, "a detector", owner="Scenario")
        from simlab.sim.practices import Practice, Shadow

        labels = []
        for i, ch in enumerate(self.challengers):
            if not isinstance(ch, Practice):
                raise ConfigError(
                    f"challengers[{i}]", ch, "a Shadow, ABTest or Canary", owner="Scenario"
                )
            try:
                ch.model.check_task(self.world.schema.task.value)
            except ConfigError as exc:  # say which challenger
                raise ConfigError(
                    f"challengers[{i}].model.{exc.key}", exc.value, exc.allowed, owner="Scenario"
                ) from exc
            compares = not isinstance(ch, Shadow) or ch.promote
            if compares and self.world.schema.task.value != "binary":
                raise ConfigError(
                    f"challengers[{i}]",
                    ch,
                    "a Shadow without promote on a regression world (A/B tests, canaries and "
                    "promotion compare error rates of a binary task)",
                    owner="Scenario",
                )
            labels.append(ch.label)
            fixed = getattr(self.delay, "hours", None) if self.delay.name == "fixed" else None
            retrains = ch.start_hours > 0 or getattr(ch, "every_hours", None) is not None
            if fixed is not None and retrains and ch.window_hours <= fixed:
                raise ConfigError(
                    f"challengers[{i}].window_hours",
                    ch.window_hours,
                    f"more than the label delay ({fixed} h): a candidate trains on rows served "
                    "in its window whose labels have arrived, and none ever would",
                    owner="Scenario",
                )
            every = getattr(ch, "every_hours", None)
            if fixed is not None and every is not None and every <= fixed:
                raise ConfigError(
                    f"challengers[{i}].every_hours",
                    every,
                    f"more than the label delay ({fixed} h): each candidate is judged on the "
                    "labels of rows it scored, and none would arrive before the next one",
                    owner="Scenario",
                )
        if len(set(labels)) != len(labels):
            raise ConfigError("challengers", labels, "distinct labels", owner="Scenario")
        self._check_proxies()
        for i, slot in enumerate(self.serving):
            if not isinstance(slot, ServingFault):
                raise ConfigError(f"serving[{i}]", slot, "a ServingFault", owner="Scenario")
            slot.fault.schema_out(self.world.schema)  # a fault that cannot apply fails now
        self.model.check_task(self.world.schema.task.value)
        names = self.monitor_names()
        if isinstance(self.policy, OnAlarm) and self.policy.detector not in names:
            raise ConfigError(
                "policy.detector",
                self.policy.detector,
                f"one of the monitors {names}",
                owner="Scenario",
            )

    def _check_proxies(self) -> None:
        """A proxy monitor, or a test on proxies, needs a world that emits them."""
        if emits_proxies(self.world):
            return
        wrap = "a world that emits proxy outcomes (wrap it in simlab.world.Proxy)"
        for i, m in enumerate(self.monitors):
            if watches_of(m) is Watches.PROXY:
                raise ConfigError(
                    f"monitors[{i}]", m, f"{wrap}: this monitor would see nothing", owner="Scenario"
                )
        for i, ch in enumerate(self.challengers):
            if getattr(ch, "signal", "labels") != "labels":
                raise ConfigError(
                    f"challengers[{i}].signal",
                    ch.signal,
                    f"'labels', or {wrap}: a test on proxies would never decide",
                    owner="Scenario",
                )

    def monitor_names(self) -> list[str]:
        """A unique name per monitor: its kind, numbered when that repeats.

        A monitor of served features is named ``KIND_served``.

        Examples
        --------
        >>> from simlab.detectors import PSI
        >>> from simlab.world import sea
        >>> Scenario(world=sea(), monitors=(PSI(), PSI(on="served"), PSI())).monitor_names()
        ['psi_1', 'psi_served', 'psi_2']
        """
        kinds = [
            f"{m.name}_served" if watches_of(m) is Watches.SERVED else m.name for m in self.monitors
        ]
        return [
            k if kinds.count(k) == 1 else f"{k}_{kinds[: i + 1].count(k)}"
            for i, k in enumerate(kinds)
        ]

    @property
    def n_ticks(self) -> int:
        """Ticks in the run: ``ceil(horizon_hours / tick_hours)``."""
        return math.ceil(self.horizon_hours / self.tick_hours - 1e-9)

    def twin(self) -> Scenario:
        """The no-change twin: the same scenario with every injected change and fault removed.

        The world becomes its twin (`simlab.world.twin`: shifts and upstream faults gone),
        the serving slot empties; the model, traffic, labels, monitors and policy stay. The
        same seed draws the same rows until the first change, so the twin's alarms are the
        false alarms the scenario would have raised had nothing happened.

        Examples
        --------
        >>> from simlab.scenarios import get_scenario
        >>> s = get_scenario("concept_sudden")
        >>> t = s.twin()
        >>> t.name, t.cause, t.world.events()
        ('concept_sudden_twin', 'none', [])
        """
        return self.replace(
            world=twin(self.world),
            serving=(),
            name=f"{self.name}_twin",
            cause="none",
            description=f"The no-change twin of {self.name}: nothing injected.",
        )

    def replace(self, **changes) -> Scenario:
        """A copy with some fields changed (validated again)."""
        return Scenario(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})

    def to_dict(self) -> dict:
        """Plain JSON-able data."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "challengers" and not v:
                continue  # no challengers: the spec is what it was before they existed
            if f.name in ("monitors", "serving", "challengers"):
                out[f.name] = [m.to_dict() for m in v]
            else:
                out[f.name] = encode(v)
        return out

    def to_json(self) -> str:
        """The spec as JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, spec: dict) -> Scenario:
        """Build and validate a scenario from plain data (as read from JSON or TOML)."""
        if not isinstance(spec, dict):
            raise ConfigError("scenario", spec, "a mapping", owner="Scenario")
        allowed = [f.name for f in fields(cls)]
        out = {}
        for key, value in spec.items():
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(key, value, f"one of {allowed}{hint}", owner="Scenario")
            if key in _FAMILIES:
                out[key] = value if isinstance(value, Component) else _FAMILIES[key].make(value)
            elif key == "monitors":
                if not isinstance(value, (list, tuple)):
                    raise ConfigError(
                        "monitors", value, "a list of detector specs", owner="Scenario"
                    )
                out[key] = tuple(
                    m if isinstance(m, Component) else DETECTORS.make(m) for m in value
                )
            elif key == "challengers":
                from simlab.sim.practices import PRACTICES

                if not isinstance(value, (list, tuple)):
                    raise ConfigError(
                        "challengers", value, "a list of practice specs", owner="Scenario"
                    )
                out[key] = tuple(
                    c if isinstance(c, Component) else PRACTICES.make(c) for c in value
                )
            elif key == "serving":
                if not isinstance(value, (list, tuple)):
                    raise ConfigError(
                        "serving", value, "a list of serving_fault specs", owner="Scenario"
                    )
                out[key] = tuple(
                    v if isinstance(v, Component) else _serving_fault(i, v)
                    for i, v in enumerate(value)
                )
            else:
                out[key] = value
        if "world" not in out:
            raise ConfigError(
                "world", None, "a world spec (this key is required)", owner="Scenario"
            )
        return cls(**out)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """Inverse of `to_json`."""
        return cls.from_dict(json.loads(text))

    def _key(self) -> tuple:
        return tuple(structural_key(getattr(self, f.name)) for f in fields(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())
