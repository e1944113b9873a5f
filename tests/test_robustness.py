"""Nothing lost, nothing silently wrong: one test per case the hostile-input trial found, and
tests aimed at the truths the planted bugs broke."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import scipy.stats
import xarray as xr
from sklearn.linear_model import LogisticRegression

from simlab import ConfigError, SchemaError, evaluate, load, save, simulate
from simlab.cli import main
from simlab.detectors import (
    PSI,
    BaseDetector,
    ScorePSI,
    Tags,
    Verdict,
    View,
    Watches,
    WindowedMetric,
)
from simlab.faults import Float32, ReorderColumns, Round, ServeTimeImpute
from simlab.models import ModelAdapter
from simlab.rng import Rngs
from simlab.scenarios import get_scenario, loads
from simlab.sim import Bursts, Canary, Constant, Diurnal, FixedDelay, Periodic, Scenario
from simlab.world import (
    SEA,
    CovariateShift,
    Gradual,
    Incremental,
    Sequence,
    Sudden,
    gaussian_classes,
    logistic,
    sea,
)

ROOT = Path(__file__).parents[1]


def tiny(**kw) -> Scenario:
    spec = {
        "world": logistic(n_features=2),
        "horizon_hours": 24.0,
        "train_rows": 500,
        "traffic": Constant(rate_per_hour=50.0),
    }
    spec.update(kw)
    return Scenario(**spec)


# --------------------------------------------------------------------------- 1. interrupted saves


def test_1_an_interrupted_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "run.nc"
    save(simulate(tiny(), seed=0), path)
    before = path.read_bytes()
    real = xr.Dataset.to_netcdf

    def write_then_interrupt(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C lands while the file is being written
        return out

    monkeypatch.setattr(xr.Dataset, "to_netcdf", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(simulate(tiny(), seed=1), path)
    assert path.read_bytes() == before  # the earlier run, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]  # nothing half-written left


@pytest.mark.slow
def test_1_sigint_during_simlab_run_leaves_the_earlier_run_or_a_refused_file(tmp_path):
    """A real SIGINT to `simlab run`, swept over the moments around the save."""
    out = tmp_path / "out"
    toml = tmp_path / "s.toml"
    toml.write_text('extends = "no_change"\nhorizon_hours = 400\ntrain_rows = 2000\n')
    cmd = [sys.executable, "-m", "simlab.cli", "run", str(toml), "--out", str(out), "--quiet"]
    # time a whole run once, then send the signal at moments spread across its end, where
    # the save happens (and a little before and after)
    start = time.perf_counter()
    subprocess.run([*cmd, "--seed", "0"], check=True, capture_output=True)
    whole = time.perf_counter() - start
    earlier = (out / "run.nc").read_bytes()
    outcomes = []
    for fraction in np.linspace(0.7, 1.05, 16):
        proc = subprocess.Popen(
            [*cmd, "--seed", "2", "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(whole * fraction)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert time.perf_counter() - sent < 5.0, "the process did not exit within 5 s"
        now = (out / "run.nc").read_bytes()
        if now == earlier:
            outcomes.append("kept")
        else:
            try:  # a complete new run is fine; anything else must be refused on load
                load(out / "run.nc")
                outcomes.append("new")
            except SchemaError:
                outcomes.append("refused")
        earlier = now
        assert not [p for p in out.iterdir() if p.name.startswith(".")], "a partial file stayed"
    assert "kept" in outcomes  # some signals did land before the rename


# --------------------------------------------------------------------------- 2. seeds


def test_2_a_seed_beyond_64_bits_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"seed=18446744073709551616"):
        simulate(tiny(), seed=2**64)
    out = tmp_path / "out"
    assert main(["run", "no_change", "--out", str(out), "--seed", str(2**64)]) == 2
    assert "seed=" in capsys.readouterr().err
    assert not (out / "run.nc").exists()


# --------------------------------------------------------------------------- 3. not judged


def test_3_harm_that_could_not_be_judged_is_not_called_benign(capsys):
    shift = CovariateShift(features=("x0",), mean=3.0, schedule=Sudden(start=48.0))
    s = tiny(
        world=logistic(n_features=2, quadratic=(-0.8, 0.0), shifts=(shift,)),
        traffic=Constant(rate_per_hour=15.0),  # 24-hour windows of about 360 rows < 500
        horizon_hours=200.0,
    )
    run = simulate(s, seed=0)
    report = evaluate(run)
    assert float(run.true_metric.sel(metric="accuracy").isel(time=-1)) < 0.6  # real harm
    assert not bool(report.harm_judged)
    assert not bool(report.is_benign)
    assert 300 < int(report.largest_true_window) < 500
    from simlab.cli import summary

    text = summary(run, report)
    assert "harm not judged" in text
    assert "benign" not in text


# --------------------------------------------------------------------------- 4. dates


@pytest.mark.parametrize(
    ("start", "match"),
    [
        ("9999-12-31T23:00:00", "horizon ends before"),
        ("2026-01-05T00:00:00+05:00", "without a time zone"),
        ("2026-01-05T00:00:00Z", "without a time zone"),
        ("1678-01-02T00:00:00", "after 1678"),
        ("2026-02-30", "ISO 8601"),
    ],
)
def test_4_dates_outside_the_calendar_or_with_time_zones_are_refused(start, match):
    with pytest.raises(ConfigError, match=match):
        tiny(start=start)


# --------------------------------------------------------------------------- 5. sizes


@pytest.mark.parametrize(
    "changes",
    [
        {"tick_hours": 1e-6},
        {"monitors": (PSI(window_size=10**10),)},
        {"monitors": (PSI(n_bins=10**9),)},
        {"traffic": Constant(rate_per_hour=1e18)},
        {"horizon_hours": 1e7, "start": "2000-01-01"},
    ],
    ids=["tick", "window", "bins", "rate", "horizon"],
)
def test_5_plans_beyond_the_memory_budget_are_refused_at_once(changes):
    begin = time.perf_counter()
    with pytest.raises(ConfigError, match=r"(memory budget|horizon ends before)"):
        simulate(tiny(**changes), memory_budget=4e9)
    assert time.perf_counter() - begin < 5.0


def test_5_the_budget_can_be_raised_and_the_estimate_is_stated():
    s = tiny(horizon_hours=200.0)
    with pytest.raises(
        ConfigError, match=r"within the memory budget of 1 kB; this one needs about"
    ):
        simulate(s, memory_budget=1e3)
    assert simulate(s, memory_budget=1e9).sizes["time"] == 200


# --------------------------------------------------------------------------- 6. --out


def test_6_out_is_checked_before_anything_runs(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for out, what in [
        (a_file, "a file is there"),
        (a_file / "under", "is a file"),
        (Path("/proc/simlab-cannot-write-here"), "writable"),
    ]:
        start = time.perf_counter()
        assert main(["run", "no_change", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert what in err
        assert err.count("\n") == 1  # one line
        assert time.perf_counter() - start < 5.0  # before the eight-week simulation


def test_6_an_earlier_run_is_replaced_only_with_force(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text('extends = "no_change"\nhorizon_hours = 30\ntrain_rows = 500\n')
    out = tmp_path / "out"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    first = (out / "run.nc").read_bytes()
    assert main(["run", str(toml), "--out", str(out), "--seed", "1", "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "run.nc").read_bytes() == first
    assert main(["run", str(toml), "--out", str(out), "--seed", "1", "--force", "--quiet"]) == 0
    assert (out / "run.nc").read_bytes() != first


# --------------------------------------------------------------------------- 7. loader edges


def test_7_loader_edges(tmp_path):
    from simlab.scenarios import load as load_scenario

    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00name = 1")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_scenario(binary)
    folder = tmp_path / "x.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="folder"):
        load_scenario(folder)
    with pytest.raises(ConfigError, match="start"):
        loads('extends = "no_change"\nstart = 2026-01-05T00:00:00\n')  # an unquoted date
    text = tmp_path / "scenario.txt"
    text.write_text('extends = "no_change"\nname = "from_txt"\n')
    assert load_scenario(text).name == "from_txt"  # an existing file is TOML, whatever suffix
    with pytest.raises(ConfigError, match="an existing TOML file"):
        load_scenario(tmp_path / "nope.toml")


def test_7_run_suffixes_match_in_any_case(tmp_path):
    run = simulate(tiny(), seed=0)
    xr.testing.assert_identical(run, load(save(run, tmp_path / "run.NC")))


# --------------------------------------------------------------------------- 8. types


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[traffic]\nkind = "constant"\npoisson = "false"', "poisson='false'"),
        ("name = 42", "name=42"),
        ('description = ["a", "b"]', "description="),
        ('cause = "drift"', "cause='drift'"),
    ],
)
def test_8_types_are_strict(text, match):
    with pytest.raises(ConfigError, match=match):
        loads('extends = "no_change"\n' + text)


# --------------------------------------------------------------------------- 9. load


def test_9_load_refuses_what_is_not_a_run(tmp_path):
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"a": ("x", np.arange(3))}).to_netcdf(foreign, engine="netcdf4")
    with pytest.raises(SchemaError, match=r"foreign\.nc is not a simlab Run"):
        load(foreign)
    good = save(simulate(tiny(), seed=0), tmp_path / "good.nc")
    cut = tmp_path / "cut.nc"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = tmp_path / "empty.nc"
    empty.write_bytes(b"")
    words = tmp_path / "words.nc"
    words.write_text("not a netCDF file")
    for path in (cut, empty, words):
        with pytest.raises(SchemaError, match=path.name):
            load(path)
    partial = simulate(tiny(), seed=0).drop_vars(["n_rows", "feature_mean"])
    partial.to_netcdf(tmp_path / "partial.nc", engine="netcdf4")
    with pytest.raises(SchemaError, match="n_rows"):
        load(tmp_path / "partial.nc")


# --------------------------------------------------------------------------- 10. blind detectors


def test_10_detectors_refuse_references_that_would_blind_them_and_wrong_types():
    inf = np.full(50, np.inf)
    with pytest.raises(ConfigError, match="reference='x'"):
        PSI().fit(View(columns={"x": inf}))
    with pytest.raises(ConfigError, match="reference='scores'"):
        ScorePSI().fit(View(scores=np.full(50, np.nan)))
    with pytest.raises(ConfigError, match="mae=inf"):
        WindowedMetric(metric="mae").fit(View(labels=np.zeros(50), label_scores=inf))
    with pytest.raises(ConfigError, match="reference='NoneType'"):
        PSI().fit(None)
    det = PSI().fit(View(columns={"x": np.random.default_rng(0).normal(size=100)}))
    with pytest.raises(ConfigError, match="view='ndarray'"):
        det.update(np.zeros(3))
    with pytest.raises(ConfigError, match=r"\(3,\).*\(2,\)"):
        View(labels=np.zeros(3), label_scores=np.zeros(2))


# --------------------------------------------------------------------------- the CLI


def test_the_cli_shows_a_traceback_only_with_debug(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("something simlab did not foresee")

    monkeypatch.setattr("simlab.cli._cmd_show", boom)
    assert main(["show", "no_change"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "RuntimeError: something simlab did not foresee" in err
    assert "--debug" in err
    with pytest.raises(RuntimeError):
        main(["--debug", "show", "no_change"])


def test_ctrl_c_during_a_run_exits_130_with_one_line(monkeypatch, capsys, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("simlab.sim.simulate", interrupted)
    assert main(["run", "no_change", "--out", str(tmp_path / "o")]) == 130
    assert "interrupted" in capsys.readouterr().err


# --------------------------------------------------------------------------- planted bugs


def test_a_retraining_sees_only_labels_that_have_arrived():
    # labels 5 hours late, a job every 24 hours on the last 12 hours: the job starting at
    # T (before tick T runs) has the labels delivered by tick T-1, of rows served at s with
    # s + 5 <= T - 1, inside [T - 12, T)
    policy = Periodic(period_hours=24.0, window_hours=12.0, job_hours=1.0, min_rows=10)
    run = simulate(tiny(delay=FixedDelay(hours=5.0), policy=policy, horizon_hours=80.0), seed=0)
    rows = run.n_rows.values
    trains = [e for e in run.simlab.events() if e.kind.value == "train" and e.source == "model"]
    for e in trains[1:]:
        start = round(e.end)  # the window's end is the job's start, T
        expected = int(rows[start - 12 : start - 5].sum())
        assert e.detail["n_rows"] == expected, f"job at {start} h trained on the wrong rows"


class _Recorder(LogisticRegression):
    """Records the rows it was fitted on and the rows it scored (for the split test)."""

    fitted: ClassVar[list] = []
    scored: ClassVar[list] = []

    def fit(self, X, y, sample_weight=None):
        _Recorder.fitted.append(np.array(X))
        return super().fit(X, y)

    def predict_proba(self, X):
        _Recorder.scored.append(np.array(X))
        return super().predict_proba(X)


def test_b_random_split_train_and_test_rows_are_disjoint():
    _Recorder.fitted.clear()
    _Recorder.scored.clear()
    batch = logistic(n_features=3).sample(2000, 0.0, rng=0)
    ModelAdapter(estimator=_Recorder()).train(batch, version=0, rng=0)
    # fits: the deployed model (the time split's head), then the random split's train rows;
    # the random split's test rows are the last scored
    random_train, random_test = _Recorder.fitted[1], _Recorder.scored[-1]
    train = {tuple(r) for r in random_train.round(12)}
    test = {tuple(r) for r in random_test.round(12)}
    assert len(train) + len(test) == 2000
    assert not train & test


def test_b_a_memorising_model_is_not_promised_perfection_offline():
    # a full-depth tree memorises its training rows; on SEA's 10% label noise an honest
    # held-out accuracy is about 0.85, far from the 1.0 of testing on training rows
    batch = sea().sample(4000, 0.0, rng=0)
    m = ModelAdapter(estimator="decision_tree").train(batch, version=0, rng=0)
    assert m.offline["random"][0] < 0.95


@pytest.mark.parametrize(
    "schedule", [Gradual(start=10.0, width=8.0), Incremental(start=10.0, width=8.0)]
)
def test_c_ramps_are_continuous_at_both_ends(schedule):
    eps = 1e-6
    start, end = 10.0, 18.0
    assert schedule.weight(start) == 0.0
    assert schedule.weight(end) == 1.0
    # no jump: within eps of either end the weight is within a few eps/width of its end value
    assert schedule.weight(start + eps) < 1e-4
    assert schedule.weight(start - eps) == 0.0
    assert 1.0 - schedule.weight(end - eps) < 1e-4
    assert schedule.weight(end + eps) == 1.0


def test_d_sea_labels_the_boundary_as_documented():
    # "y = 1 when x0 + x1 <= threshold": exactly on the boundary is 1
    c = SEA(threshold=8.0, noise=0.0)
    cols = {"x0": np.array([3.0, 3.0]), "x1": np.array([5.0, 5.0 + 1e-9])}
    assert c.proba(cols).tolist() == [1.0, 0.0]


def test_e_traffic_counts_follow_their_law():
    t = np.arange(20000.0)
    rng = np.random.default_rng(0)
    counts = Constant(rate_per_hour=50.0).counts(t, 1.0, rng)
    # index of dispersion: sum (x - mean)^2 / mean ~ chi2(n - 1) for Poisson counts; a
    # two-sided 1e-4 test (about 3.9 sd of the chi-square) rejects constant or
    # over-dispersed counts and accepts Poisson ones
    n = counts.size
    d = ((counts - counts.mean()) ** 2).sum() / counts.mean()
    lo, hi = scipy.stats.chi2.ppf([5e-5, 1 - 5e-5], n - 1)
    assert lo < d < hi
    assert abs(counts.mean() - 50.0) < 4 * math.sqrt(50.0 / n)
    exact = Constant(rate_per_hour=50.0, poisson=False).counts(t, 1.0, rng)
    assert (exact == 50).all()
    diurnal = Diurnal(rate_per_hour=50.0, amplitude=0.5).counts(t, 1.0, rng)
    rate = Diurnal(rate_per_hour=50.0, amplitude=0.5).rate(t)
    z = (diurnal - rate) / np.sqrt(rate)  # Poisson: mean 0, variance 1 at every rate
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 4 * math.sqrt(2.0 / n)


class _ReferenceSpy(BaseDetector):
    name = "reference_spy"
    tags: ClassVar = Tags(watches=Watches.FEATURES)
    seen: ClassVar[list] = []

    def __init__(self):
        pass

    def _fit(self, reference):
        _ReferenceSpy.seen.append(reference)

    def _update(self, view):
        return Verdict(statistic=0.0, threshold=1.0, alarm=False)


def test_f_monitors_fit_on_the_held_out_tail_of_the_training_window():
    import simpy

    from simlab.sim.engine import _Run

    _ReferenceSpy.seen.clear()
    s = tiny(monitors=(_ReferenceSpy(),), train_rows=1000)
    simulate(s, seed=4)
    reference = _ReferenceSpy.seen[0]
    history = _Run(s, Rngs(4), simpy.Environment()).initial_training_batch()
    tail = history.take(slice(800, 1000))  # the last 20%: the model never trained on them
    assert reference.n == 200
    for name in history.names:
        np.testing.assert_array_equal(reference.columns[name], tail.columns[name])
    np.testing.assert_array_equal(reference.labels, tail.y)


def test_the_catalogue_default_runs_stay_within_the_default_budget():
    for name in ("real_world_drift", "lending_selective_labels", "covariate_extrapolation"):
        from simlab.sim.resources import estimate

        assert estimate(get_scenario(name)).total < 2e9


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Canary(shares=-1), "shares=-1"),
        (lambda: Round(columns=-1), "columns=-1"),
        (lambda: Float32(columns=("",)), "columns"),
        (lambda: ReorderColumns(order=3), "order=3"),
        (lambda: ServeTimeImpute(columns=7), "columns=7"),
        (lambda: Sequence(parts=-1), "parts=-1"),
        (lambda: Bursts(start=math.nan), "start=nan"),
        (lambda: gaussian_classes(separation="x"), "separation='x'"),
        (lambda: gaussian_classes(n_features=math.nan), "n_features=nan"),
        (lambda: ModelAdapter(features=5), "features=5"),
    ],
)
def test_g_a_wrong_type_is_refused_by_name_not_by_python(make, match):
    # found by building every component with wrong types (ints for names, NaN for times):
    # each used to escape as a bare TypeError from inside the constructor, or be kept
    with pytest.raises(ConfigError, match=match):
        make()
