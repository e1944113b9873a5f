"""simlab: simulate why models degrade in production, and measure which monitor tells you first."""

from __future__ import annotations

from simlab._version import __version__
from simlab.batch import Batch
from simlab.errors import (
    ConfigError,
    NotFittedError,
    SchemaError,
    SimlabError,
    UnknownNameError,
)
from simlab.events import Event, EventKind
from simlab.metrics import evaluate
from simlab.registry import Registry, build, registered
from simlab.rng import Rngs
from simlab.sim import Scenario, load, save, simulate

__all__ = [
    "Batch",
    "ConfigError",
    "Event",
    "EventKind",
    "NotFittedError",
    "Registry",
    "Rngs",
    "Scenario",
    "SchemaError",
    "SimlabError",
    "UnknownNameError",
    "__version__",
    "build",
    "evaluate",
    "load",
    "registered",
    "save",
    "simulate",
]
