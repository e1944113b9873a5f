"""The scenario catalogue, TOML loading and the simlab command."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr

import simlab
from simlab import ConfigError, UnknownNameError
from simlab.cli import main
from simlab.scenarios import (
    SCENARIOS,
    TOML_DIR,
    dumps,
    get_scenario,
    load,
    loads,
    scenario_names,
)
from simlab.sim import CAUSES, Constant, Scenario
from simlab.testing.checks import check_run


@pytest.mark.parametrize("name", SCENARIOS.names())
def test_catalogue_scenarios_round_trip_and_run(name):
    s = get_scenario(name)
    assert s.name == name
    assert s.description
    assert s.cause in CAUSES
    assert Scenario.from_json(s.to_json()) == s
    run = simlab.simulate(s.replace(horizon_hours=48.0, train_rows=1000), seed=0)
    check_run(run)


@pytest.mark.parametrize("name", SCENARIOS.names())
def test_every_catalogue_scenario_ships_as_toml_and_runs_the_same_from_it(name):
    path = TOML_DIR / f"{name}.toml"
    text = path.read_text()
    # the shipped file is exactly what write_catalogue() writes (rerun it after a change)
    assert text.split("\n", 1)[1] == dumps(get_scenario(name))
    from_file = load(path)
    assert from_file == get_scenario(name)
    # a light version of both, through three days after the change, must be the same Run
    onset = min((e.start for e in from_file.world.events(from_file.horizon_hours)), default=0.0)
    light = {
        "horizon_hours": min(from_file.horizon_hours, max(onset, 0.0) + 72.0),
        "traffic": Constant(rate_per_hour=60.0),
        "train_rows": 1000,
    }
    a = simlab.simulate(from_file.replace(**light), seed=3)
    b = simlab.simulate(get_scenario(name).replace(**light), seed=3)
    xr.testing.assert_identical(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS.names())
def test_every_catalogue_scenario_runs_in_full_the_same_from_name_and_toml(name):
    a = simlab.simulate(load(TOML_DIR / f"{name}.toml"), seed=0)
    b = simlab.simulate(get_scenario(name), seed=0)
    xr.testing.assert_identical(a, b)


def test_list_filters_by_root_cause(capsys):
    assert main(["list", "--cause", "skew"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == scenario_names("skew")
    assert all(line.split()[1] == "skew" for line in lines)
    assert main(["list", "--cause", "drift"]) == 2  # an unknown cause: a named error
    assert "Unknown root cause 'drift'" in capsys.readouterr().err


def test_every_root_cause_has_scenarios():
    for cause in CAUSES:
        assert scenario_names(cause), f"no scenario for {cause}"


def test_show_toml_round_trips(capsys, tmp_path):
    assert main(["show", "upstream_category_remap", "--toml"]) == 0
    path = tmp_path / "copy.toml"
    path.write_text(capsys.readouterr().out)
    assert load(path) == get_scenario("upstream_category_remap")


@pytest.mark.parametrize("path", sorted(TOML_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_toml_loads(path):
    s = load(path)
    assert s.name == path.stem
    assert Scenario.from_json(s.to_json()) == s


def test_extends_overrides_keys():
    s = loads('extends = "label_shift"\nhorizon_hours = 100\n[delay]\nkind = "fixed"\nhours = 5')
    assert s.horizon_hours == 100
    assert s.delay.hours == 5
    assert s.world == get_scenario("label_shift").world


def test_unknown_scenario_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean 'label_shift'"):
        load("label_shfit")


def test_bad_toml_is_a_config_error():
    with pytest.raises(ConfigError, match="valid TOML"):
        loads("horizon_hours = = 3")


def test_cli_list_and_show(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in SCENARIOS.names():
        assert name in out
    assert main(["show", "no_change"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "no_change"


def test_cli_run_writes_outputs(tmp_path, capsys):
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        'extends = "covariate_extrapolation"\nname = "tiny"\n'
        "horizon_hours = 60\ntrain_rows = 1000\n"
    )
    assert main(["run", str(toml), "--seed", "2", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "scenario  tiny" in out
    assert "windowed_metric" in out
    run = simlab.load(tmp_path / "out" / "run.nc")
    assert run.attrs["seed"] == 2
    assert (tmp_path / "out" / "timeline.png").stat().st_size > 10_000


def test_cli_reports_errors_without_a_traceback(capsys):
    assert main(["run", "no_such_scenario"]) == 2
    assert "Unknown scenario" in capsys.readouterr().err


def test_demo_story_holds(tmp_path, capsys):
    """The headline: input and score monitors lead the labels on covariate shift only."""
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"(\d+) of \1 label-free monitors stayed silent", out)
    assert "The same harm twice" in out
    cov = simlab.load(tmp_path / "covariate_extrapolation" / "run.nc")
    report = simlab.evaluate(cov)
    lead = report.lead_hours.sel(detector="score_psi")
    assert float(lead) > 7 * 24  # days before the two-week-late labels
    con_run = simlab.load(tmp_path / "silent_concept_drift" / "run.nc")
    worst = [float(r.true_metric.sel(metric="accuracy").min()) for r in (cov, con_run)]
    assert abs(worst[0] - worst[1]) < 0.05  # the two stories do the same harm
    con = simlab.evaluate(con_run)
    label_lag = (con.label_alarm - con.onset) / np.timedelta64(1, "h")
    assert 14 * 24 <= float(label_lag) <= 17 * 24


def test_summary_says_when_there_is_nothing_to_detect(tmp_path, capsys):
    toml = tmp_path / "quiet.toml"
    toml.write_text(
        'extends = "no_change"\nname = "quiet"\nhorizon_hours = 48\ntrain_rows = 1000\n'
    )
    assert main(["run", str(toml), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "no change: every alarm is a false alarm" in out
    assert "missed" not in out


def test_lending_story_holds():
    """Selective labels: retrained on approved loans, the model looks far better than it is."""
    from simlab.decisions import Explore
    from simlab.scenarios import get_scenario
    from simlab.sim import Constant

    s = get_scenario("lending_selective_labels").replace(
        horizon_hours=6 * 168.0, traffic=Constant(rate_per_hour=100.0)
    )
    run = simlab.simulate(s, seed=0)
    assert int(run.deployed_version.max()) == 1  # retrained once, at four weeks

    def acc(r, view, tick=-1):
        return float(r[view].sel(metric="accuracy").isel(time=tick))

    # labels are two weeks late: the last observed window holds the rows that the true
    # window held two weeks (336 ticks) earlier
    then = -1 - 336
    offline = float(run.offline_metric.sel(metric="accuracy", split="random").isel(time=-1))
    # a week's windows hold about 16,800 rows (true) and 5,000 labels (observed): SEs below
    # 0.004 and 0.007, so gaps of 0.1 are over ten of them
    assert offline - acc(run, "true_metric") > 0.1  # the retrained model's own promise
    assert acc(run, "observed_metric") - acc(run, "true_metric", then) > 0.1
    assert acc(run, "ipw_metric") == acc(run, "observed_metric")  # nothing to reweight
    explored = simlab.simulate(
        s.replace(decision=Explore(rule=s.decision, epsilon=0.1, p_random=1.0)), seed=0
    )
    # the weighted estimate rests on about 6,500 labels, a tenth of them weighted 10: its SE
    # is about 0.015, so it lies within 0.05 of the truth while the raw labels are far off
    true = acc(explored, "true_metric", then)
    assert abs(acc(explored, "ipw_metric") - true) < 0.05
    assert acc(explored, "observed_metric") - true > 0.07
