"""The scenario catalogue and its TOML form."""

from __future__ import annotations

from simlab.scenarios.catalog import SCENARIOS, get_scenario, scenario_names
from simlab.scenarios.loader import TOML_DIR, dumps, load, loads, write_catalogue

__all__ = [
    "SCENARIOS",
    "TOML_DIR",
    "dumps",
    "get_scenario",
    "load",
    "loads",
    "scenario_names",
    "write_catalogue",
]
