"""TOML scenarios: parsed and validated once, at the edge, into a `Scenario`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from simlab.errors import ConfigError
from simlab.scenarios.catalog import SCENARIOS, get_scenario
from simlab.sim.scenario import Scenario

__all__ = ["TOML_DIR", "load", "loads"]

TOML_DIR = Path(__file__).parent / "toml"


def loads(text: str, *, source: str = "<string>") -> Scenario:
    r"""Parse a TOML scenario.

    Top-level keys are the `Scenario` fields; components are tables with a ``kind``.
    ``extends = "NAME"`` starts from a catalogue scenario and replaces the keys given.

    Examples
    --------
    >>> s = loads('extends = "no_change"\nhorizon_hours = 48\nname = "short"')
    >>> s.name, s.horizon_hours
    ('short', 48)
    """
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("toml", source, f"valid TOML ({err})") from None
    base = spec.pop("extends", None)
    if base is not None:
        if not isinstance(base, str):
            raise ConfigError("extends", base, "the name of a catalogue scenario")
        if base not in SCENARIOS:
            SCENARIOS.get(base)  # raises with a suggestion
        spec = {**get_scenario(base).to_dict(), **spec}
    return Scenario.from_dict(spec)


def load(path_or_name: str | Path) -> Scenario:
    """A scenario from a TOML file, a shipped TOML's stem, or a catalogue name.

    Examples
    --------
    >>> load("no_change").name
    'no_change'
    """
    name = str(path_or_name)
    path = Path(name)
    if path.suffix == ".toml":
        if not path.exists():
            raise ConfigError("path", name, "an existing TOML file")
        return loads(path.read_text(), source=name)
    if name in SCENARIOS:
        return get_scenario(name)
    shipped = TOML_DIR / f"{name}.toml"
    if shipped.exists():
        return loads(shipped.read_text(), source=str(shipped))
    known = SCENARIOS.names() + sorted(p.stem for p in TOML_DIR.glob("*.toml"))
    from simlab.errors import UnknownNameError

    raise UnknownNameError("scenario", name, known)
