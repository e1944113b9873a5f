"""A benchmark grid: scenarios x detectors x seeds, declared in Python or in a TOML file.

Everything about a grid is checked when it is built, before anything runs: every scenario
must load, every detector must build and name a threshold parameter to calibrate (its
`Tags`), and there must be at least one seed. A bad grid fails with the key, the value and
what is allowed, never after an hour of simulation.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simlab.detectors.base import DETECTORS
from simlab.errors import ConfigError
from simlab.params import encode
from simlab.scenarios import load
from simlab.sim.policies import OnAlarm
from simlab.sim.scenario import Scenario
from simlab.validation import check_int, check_real

__all__ = ["Grid", "load_grid"]

#: The keys a grid's TOML file may hold at its top level.
GRID_KEYS = (
    "scenarios",
    "detectors",
    "seeds",
    "target_arl0",
    "target_per_10k_rows",
    "calibration_alarms",
    "horizon_hours",
    "max_delay_hours",
    "twin_rule",
)


def _scenario(value, horizon_hours) -> Scenario:
    if isinstance(value, Scenario):
        s = value
    elif isinstance(value, str | Path):
        s = load(value)
    else:
        raise ConfigError(
            "scenarios", value, "catalogue names, TOML paths or Scenario objects", owner="Grid"
        )
    if horizon_hours is not None:
        s = s.replace(horizon_hours=float(horizon_hours))
    return s


def _detector(name: str, value):
    """A detector from an object (anything with fit/update and Tags) or a spec mapping."""
    if isinstance(value, Mapping):
        spec = dict(value)
        if "kind" not in spec:
            raise ConfigError(
                f"detectors.{name}",
                spec,
                'a table with "kind" (a registered detector)',
                owner="Grid",
            )
        det = DETECTORS.make(spec)
    elif isinstance(value, str):
        det = DETECTORS.make({"kind": value})
    else:
        det = value
    if not (callable(getattr(det, "fit", None)) and callable(getattr(det, "update", None))):
        raise ConfigError(
            f"detectors.{name}", value, "a detector (fit and update) or a spec table", owner="Grid"
        )
    tags = getattr(det, "tags", None)
    if getattr(tags, "threshold", None) is None:
        raise ConfigError(
            f"detectors.{name}",
            type(det).__name__,
            "a detector whose Tags name its threshold parameter (calibration moves it)",
            owner="Grid",
        )
    if not callable(getattr(det, "clone", None)):
        raise ConfigError(
            f"detectors.{name}", type(det).__name__, "a detector with clone(**params)", owner="Grid"
        )
    return det


@dataclass(frozen=True)
class Grid:
    """Scenarios x detectors x seeds, and how they are compared.

    Parameters
    ----------
    scenarios
        Catalogue names, TOML file paths or `Scenario` objects (names must be distinct).
    detectors
        ``{name: detector}``: a detector object (simlab's, a `FunctionDetector`, a
        `RiverDetector`, or any object with ``fit``/``update``/``clone`` whose `Tags` name a
        threshold parameter), a spec table ``{"kind": "ks", "alpha": 0.01}``, or a kind.
    seeds
        How many seeds (``0 .. n-1``), or the seeds themselves.
    target_arl0
        Every detector is calibrated on each scenario's no-change twin to this mean number
        of ticks between false alarms before delays are compared.
    target_per_10k_rows
        Instead of `target_arl0`: this many false alarms per 10,000 rows served; each
        scenario's ARL0 is then ``10,000 / (target x rows per tick)``, with its traffic's
        mean rows per tick over the horizon (`arl0`).
    calibration_alarms
        How many false alarms the calibration tapes should hold at the target (their ticks
        are ``calibration_alarms x target_arl0``); the achieved ARL0's relative standard
        error is about ``1 / sqrt(calibration_alarms)``.
    horizon_hours
        If given, every scenario runs this long instead of its own horizon.
    max_delay_hours
        The longest delay that still counts as a detection (`simlab.metrics.score`).
    twin_rule
        Do not credit an alarm that the same seed's no-change twin also raised.

    Attributes
    ----------
    names
        The scenarios' names, in order.
    detector_names
        The detectors' names, in order.

    Examples
    --------
    >>> g = Grid(scenarios=["short_covariate_shift"], detectors={"ks": {"kind": "ks"}}, seeds=2)
    >>> g.names, g.detector_names, g.seeds
    (('short_covariate_shift',), ('ks',), (0, 1))
    >>> Grid(scenarios=["short_covariate_shift"], detectors={"ks": "ks"}, seeds=0)
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: Grid: seeds=0 is not allowed; expected at least one seed
    """

    scenarios: tuple = ()
    detectors: Mapping = field(default_factory=dict)
    seeds: int | Sequence[int] = 10
    target_arl0: float | None = 168.0
    target_per_10k_rows: float | None = None
    calibration_alarms: int = 20
    horizon_hours: float | None = None
    max_delay_hours: float | None = None
    twin_rule: bool = True

    def __post_init__(self):
        owner = "Grid"
        if self.horizon_hours is not None:
            check_real(owner, "horizon_hours", self.horizon_hours, low=0.0, open_low=True)
        if isinstance(self.scenarios, str | Path | Scenario) or not isinstance(
            self.scenarios, Sequence
        ):
            raise ConfigError(
                "scenarios",
                self.scenarios,
                "a list of scenarios (names, paths or Scenarios)",
                owner=owner,
            )
        scenarios = tuple(_scenario(s, self.horizon_hours) for s in self.scenarios)
        if not scenarios:
            raise ConfigError("scenarios", self.scenarios, "at least one scenario", owner=owner)
        names = [s.name for s in scenarios]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError("scenarios", twice, "scenarios with distinct names", owner=owner)
        if not isinstance(self.detectors, Mapping) or not self.detectors:
            raise ConfigError(
                "detectors",
                self.detectors,
                "a non-empty mapping of names to detectors",
                owner=owner,
            )
        detectors = {}
        for name, value in self.detectors.items():
            if not (isinstance(name, str) and name.isidentifier()):
                raise ConfigError("detectors", name, "names that are identifiers", owner=owner)
            if name in RESERVED:
                raise ConfigError(
                    "detectors", name, f"a name other than the grid's own {RESERVED}", owner=owner
                )
            detectors[name] = _detector(name, value)
        seeds = self.seeds
        if isinstance(seeds, bool):
            raise ConfigError("seeds", seeds, "a count or a list of seeds", owner=owner)
        if isinstance(seeds, int):
            if seeds < 1:
                raise ConfigError("seeds", seeds, "at least one seed", owner=owner)
            seeds = tuple(range(seeds))
        elif isinstance(seeds, Sequence) and not isinstance(seeds, str):
            seeds = tuple(check_int(owner, "seeds", s, 0, 2**63 - 1) for s in seeds)
            if not seeds or len(set(seeds)) != len(seeds):
                raise ConfigError("seeds", self.seeds, "at least one seed, none twice", owner=owner)
        else:
            raise ConfigError("seeds", seeds, "a count or a list of seeds", owner=owner)
        if self.target_per_10k_rows is not None:
            check_real(
                owner, "target_per_10k_rows", self.target_per_10k_rows, low=0.0, open_low=True
            )
            object.__setattr__(self, "target_arl0", None)
        else:
            check_real(owner, "target_arl0", self.target_arl0, low=1.0, open_low=True)
        check_int(owner, "calibration_alarms", self.calibration_alarms, 1, 100_000)
        if self.max_delay_hours is not None:
            check_real(owner, "max_delay_hours", self.max_delay_hours, low=0.0)
        if not isinstance(self.twin_rule, bool):
            raise ConfigError("twin_rule", self.twin_rule, "True or False", owner=owner)
        object.__setattr__(self, "scenarios", scenarios)
        object.__setattr__(self, "detectors", detectors)
        object.__setattr__(self, "seeds", seeds)
        if self.target_arl0 is not None:
            object.__setattr__(self, "target_arl0", float(self.target_arl0))
        for i in range(len(scenarios)):
            check_real(owner, f"ARL0 of {scenarios[i].name}", self.arl0(i), low=1.0, open_low=True)

    @property
    def names(self) -> tuple[str, ...]:
        """The scenarios' names, in order."""
        return tuple(s.name for s in self.scenarios)

    @property
    def detector_names(self) -> tuple[str, ...]:
        """The detectors' names, in order."""
        return tuple(self.detectors)

    def closed_loop(self, i: int) -> bool:
        """Whether scenario `i` retrains on a monitor's alarm (then simulated per detector)."""
        return isinstance(self.scenarios[i].policy, OnAlarm)

    def arl0(self, i: int) -> float:
        """The false-alarm target of scenario `i`, in ticks between false alarms.

        `target_arl0`, or ``10,000 / (target_per_10k_rows x rows per tick)`` with the
        scenario's mean traffic over its ticks.

        Examples
        --------
        >>> g = Grid(scenarios=["no_change"], detectors={"ks": "ks"}, target_per_10k_rows=0.05)
        >>> round(g.arl0(0))  # 1,000 rows an hour: one false alarm per 200,000 rows
        200
        """
        if self.target_arl0 is not None:
            return self.target_arl0
        s = self.scenarios[i]
        t = (np.arange(s.n_ticks) + 0.5) * s.tick_hours
        rows = float(np.mean(np.broadcast_to(s.traffic.rate(t), t.shape))) * s.tick_hours
        return 10_000.0 / (self.target_per_10k_rows * rows)

    def calibration_seeds(self, i: int) -> tuple[int, ...]:
        """The seeds of scenario `i`'s twin runs that calibrate every detector."""
        from simlab.sim.calibrate import SEED_BASE

        ticks = self.scenarios[i].n_ticks
        n = max(1, math.ceil(self.calibration_alarms * self.arl0(i) / ticks))
        return tuple(range(SEED_BASE, SEED_BASE + n))

    def to_dict(self) -> dict:
        """A JSON-able description (scenarios as their full specs), stable across processes."""
        return {
            "scenarios": [s.to_dict() for s in self.scenarios],
            "detectors": {n: _describe(d) for n, d in self.detectors.items()},
            "seeds": list(self.seeds),
            "target_arl0": self.target_arl0,
            "target_per_10k_rows": self.target_per_10k_rows,
            "calibration_alarms": self.calibration_alarms,
            "horizon_hours": self.horizon_hours,
            "max_delay_hours": self.max_delay_hours,
            "twin_rule": self.twin_rule,
        }

    def fingerprint(self) -> str:
        """A hash of `to_dict`: a store only resumes the grid it was made for."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Detector names the grid adds itself: the oracle and the null baselines.
RESERVED = ("oracle", "never", "always", "periodic", "random")


def _describe(det) -> object:
    """A detector's JSON description: its spec when it has one, else its class and repr."""
    to_dict = getattr(det, "to_dict", None)
    if callable(to_dict):
        try:
            return encode(to_dict())
        except (TypeError, ValueError, ConfigError):
            pass
    return {"class": f"{type(det).__module__}.{type(det).__qualname__}", "repr": repr(det)}


def load_grid(path: str | Path) -> Grid:
    """A `Grid` from a TOML file.

    The file holds ``scenarios`` (names or paths, relative to the file), ``seeds``, optional
    ``target_arl0``, ``calibration_alarms``, ``horizon_hours``, ``max_delay_hours``,
    ``twin_rule``, and one table per detector under ``[detectors.NAME]`` with its ``kind``
    and parameters.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = '''
    ... scenarios = ["short_covariate_shift"]
    ... seeds = 3
    ... target_arl0 = 100
    ... [detectors.ks]
    ... kind = "ks"
    ... alpha = 0.01
    ... '''
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "grid.toml")
    ...     _ = p.write_text(text)
    ...     g = load_grid(p)
    >>> g.detector_names, g.seeds, g.target_arl0
    (('ks',), (0, 1, 2), 100.0)
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("grid", str(path), "an existing TOML file", owner="load_grid")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(
            "grid", str(path), f"a valid UTF-8 TOML file ({e})", owner="load_grid"
        ) from None
    unknown = sorted(set(data) - set(GRID_KEYS))
    if unknown:
        raise ConfigError(unknown[0], data[unknown[0]], f"one of {GRID_KEYS}", owner="load_grid")
    scenarios = data.get("scenarios", [])
    if not isinstance(scenarios, list):
        raise ConfigError("scenarios", scenarios, "a list of names or paths", owner="load_grid")
    resolved = []
    for s in scenarios:
        if isinstance(s, str) and (s.lower().endswith(".toml") or "/" in s):
            p = Path(s) if Path(s).is_absolute() else path.parent / s
            resolved.append(p)
        else:
            resolved.append(s)
    kwargs = {k: data[k] for k in GRID_KEYS if k in data and k not in ("scenarios",)}
    return Grid(scenarios=resolved, **kwargs)
