"""A fuzz of scenario specs and TOML text: every invalid one gets a simlab error before any tick
runs, and every valid one runs (a short horizon)."""

from __future__ import annotations

import copy
import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simlab.sim.engine as engine
from simlab import SimlabError, simulate
from simlab.scenarios import dumps, loads
from simlab.sim import Scenario

#: What the fuzz saw (for the closing note: how many invalid inputs, all with clean errors).
TALLY: Counter = Counter()

BASE = {
    "world": {"kind": "sea"},
    "horizon_hours": 12.0,
    "train_rows": 200,
    "traffic": {"kind": "constant", "rate_per_hour": 40.0},
    "delay": {"kind": "fixed", "hours": 2.0},
    "monitors": [
        {"kind": "psi", "window_size": 100, "min_samples": 10},
        {"kind": "windowed_metric", "window_size": 100, "min_samples": 10},
    ],
    "policy": {"kind": "periodic", "period_hours": 6.0, "window_hours": 6.0, "min_rows": 50},
    "decision": {"kind": "threshold"},
}

#: Where a hostile value goes: a top-level key, or a path into a component.
PATHS = [
    ("horizon_hours",),
    ("tick_hours",),
    ("train_rows",),
    ("train_hours",),
    ("tolerance",),
    ("window_hours",),
    ("min_rows",),
    ("n_bins",),
    ("start",),
    ("name",),
    ("description",),
    ("cause",),
    ("world",),
    ("world", "kind"),
    ("world", "threshold"),
    ("world", "noise"),
    ("traffic",),
    ("traffic", "rate_per_hour"),
    ("traffic", "poisson"),
    ("delay",),
    ("delay", "hours"),
    ("delay", "never"),
    ("monitors",),
    ("monitors", 0),
    ("monitors", 0, "window_size"),
    ("monitors", 0, "n_bins"),
    ("monitors", 0, "threshold"),
    ("monitors", 0, "features"),
    ("monitors", 1, "metric"),
    ("monitors", 1, "tolerance"),
    ("policy",),
    ("policy", "period_hours"),
    ("policy", "min_rows"),
    ("decision",),
    ("decision", "threshold"),
    ("model",),
    ("serving",),
    ("not_a_key",),
]

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(-3, 3), max_size=2),
    st.sampled_from(
        [
            {"kind": "nope"},
            {"kind": "psi"},
            {"kind": "sea", "threshold": "high"},
            {"kind": "fixed", "hours": -1},
            {"kind": "top_share", "share": 2},
            {"kind": "explore"},
            {"kind": "serving_fault", "fault": {"kind": "round", "columns": ["nope"]}},
            [{"kind": "serving_fault", "fault": {"kind": "round", "columns": ["x0"]}}],
            "2026-01-05T00:00:00+05:00",
            "9999-12-31T23:00:00",
            "false",
            2**64,
            1e18,
            -0.0,
        ]
    ),
)


def _set(spec: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(spec)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


class _Ticks:
    """Counts the ticks the engine ran (an error after one is a refusal that came too late)."""

    count = 0
    real = staticmethod(engine._Run.tick)


def _counted_tick(self, k, t, n):
    _Ticks.count += 1
    return _Ticks.real(self, k, t, n)


@pytest.fixture(autouse=True)
def _count_ticks(monkeypatch):
    monkeypatch.setattr(engine._Run, "tick", _counted_tick)


def _judge(make) -> None:
    """Build with `make`; an invalid input must raise a simlab error, a valid one must run."""
    try:
        scenario = make()
    except SimlabError as err:
        # the registry's last-resort guard chains the unforeseen error: a hole in a check
        cause = err.__cause__
        assert cause is None or isinstance(cause, SimlabError), f"unforeseen: {cause!r}"
        TALLY["invalid: refused while building"] += 1
        return
    if not isinstance(scenario, Scenario):
        raise AssertionError(f"built {type(scenario).__name__}, not a Scenario")
    # a short horizon of the same scenario: at most 24 ticks
    short = min(scenario.horizon_hours, 24 * scenario.tick_hours)
    try:
        scenario = scenario.replace(horizon_hours=short)
    except SimlabError:
        TALLY["invalid: refused while building"] += 1
        return
    _Ticks.count = 0
    try:
        run = simulate(scenario, seed=0, memory_budget=2e9)
    except SimlabError:
        assert _Ticks.count == 0, f"refused only after {_Ticks.count} ticks had run"
        TALLY["invalid: refused before the first tick"] += 1
        return
    assert run.sizes["time"] == scenario.n_ticks
    TALLY["valid: ran"] += 1


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples every run: CI is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(PATHS), HOSTILE)
def test_every_scenario_spec_is_refused_cleanly_or_runs(path, value):
    _judge(lambda: Scenario.from_dict(_set(BASE, path, value)))


_TOML_VALUES = st.one_of(
    st.sampled_from(
        [
            '"false"',
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "1e400",
            "9223372036854775808",
            '[1, "a"]',
            '{ kind = "nope" }',
            "2026-01-05T00:00:00",
            "true",
            '"',
            "[[",
            '""',
            '"x" = 3',
        ]
    ),
    st.text(max_size=12),
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples every run: CI is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_every_toml_text_is_refused_cleanly_or_runs(data):
    lines = dumps(Scenario.from_dict(BASE)).splitlines()
    editable = [i for i, line in enumerate(lines) if " = " in line]
    i = data.draw(st.sampled_from(editable))
    key = lines[i].split(" = ", 1)[0]
    lines[i] = f"{key} = {data.draw(_TOML_VALUES)}"
    if data.draw(st.booleans()):  # and sometimes a stray line too
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(st.text(max_size=20)))
    _judge(lambda: loads("\n".join(lines)))


def test_the_fuzz_saw_both_kinds():
    """Run after the two fuzz tests in this module: both refusals and valid runs happened."""
    assert TALLY["valid: ran"] > 0
    refused = (
        TALLY["invalid: refused while building"] + TALLY["invalid: refused before the first tick"]
    )
    assert refused > 0
    assert math.isfinite(refused)
