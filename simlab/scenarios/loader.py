"""TOML scenarios: parsed and validated once, at the edge, into a `Scenario`."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

from simlab.errors import ConfigError
from simlab.scenarios.catalog import SCENARIOS, get_scenario
from simlab.sim.scenario import Scenario

__all__ = ["TOML_DIR", "dumps", "load", "loads", "write_catalogue"]

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


def _read_text(path: Path) -> str:
    if path.is_dir():
        raise ConfigError("path", str(path), "a TOML file (this is a folder)")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            "path", str(path), f"a UTF-8 text file ({err.reason} at byte {err.start})"
        ) from None
    except OSError as err:
        raise ConfigError("path", str(path), f"a readable file ({err.strerror or err})") from None


def load(path_or_name: str | Path) -> Scenario:
    """A scenario from a TOML file, a shipped TOML's stem, or a catalogue name.

    An existing file is read as TOML whatever its suffix; a name ending in ``.toml`` that is
    not there is an error, not a catalogue look-up.

    Examples
    --------
    >>> load("no_change").name
    'no_change'
    """
    name = str(path_or_name)
    path = Path(name)
    if path.exists() and (path.is_file() or path.suffix.lower() == ".toml"):
        return loads(_read_text(path), source=name)
    if path.suffix.lower() == ".toml":
        raise ConfigError("path", name, "an existing TOML file")
    if name in SCENARIOS:
        return get_scenario(name)
    shipped = TOML_DIR / f"{name}.toml"
    if shipped.exists():
        return loads(shipped.read_text(), source=str(shipped))
    known = sorted(set(SCENARIOS.names()) | {p.stem for p in TOML_DIR.glob("*.toml")})
    from simlab.errors import UnknownNameError

    raise UnknownNameError("scenario", name, known)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value) -> str:
    """One TOML value, inline (tables inline too); None is left out by the caller."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise ConfigError("value", value, "TOML-able data (numbers, strings, lists, tables)")


def _table(path: str, table: dict) -> list[str]:
    """A table's own entries under ``[path]``, then each nested table as ``[path.key]``."""
    own = [
        f"{_key(k)} = {_value(v)}"
        for k, v in table.items()
        if v is not None and not isinstance(v, dict)
    ]
    out = [f"[{path}]\n" + "\n".join(own)]
    for k, v in table.items():
        if isinstance(v, dict):
            out.extend(_table(f"{path}.{_key(k)}", v))
    return out


def dumps(scenario: Scenario) -> str:
    """The scenario as TOML text that `loads` turns back into an equal scenario.

    Scalars first, then one table per component (nested components as sub-tables, those in
    lists inline) and one array of tables per list of components (monitors, serving faults).
    Keys whose value is None are left out (every such parameter defaults to None).

    Examples
    --------
    >>> from simlab.scenarios import get_scenario
    >>> s = get_scenario("no_change")
    >>> loads(dumps(s)) == s
    True
    """
    spec = scenario.to_dict()
    head, tables, arrays = [], [], []
    for key, value in spec.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.extend(_table(key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                body = [f"{_key(k)} = {_value(v)}" for k, v in item.items() if v is not None]
                arrays.append(f"[[{key}]]\n" + "\n".join(body))
        else:
            head.append(f"{_key(key)} = {_value(value)}")
    return "\n\n".join(["\n".join(head), *tables, *arrays]) + "\n"


def write_catalogue(directory: str | Path = TOML_DIR) -> list[Path]:
    """Write every catalogue scenario to ``directory/NAME.toml`` (the shipped TOML files).

    The tests check that the shipped files are exactly what this writes, so after changing
    the catalogue run ``python -c "from simlab.scenarios import write_catalogue;
    write_catalogue()"``.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_catalogue(tempfile.mkdtemp())
    >>> load(paths[0]) == get_scenario(paths[0].stem)
    True
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name in SCENARIOS.names():
        path = directory / f"{name}.toml"
        path.write_text(
            f"# The catalogue scenario {name!r}, written by write_catalogue().\n"
            + dumps(get_scenario(name))
        )
        out.append(path)
    return out
