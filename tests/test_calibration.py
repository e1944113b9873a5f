"""No-change twins, tapes, calibration to a common ARL0, and the oracle's optimality.

Statistical tolerances are derived where they are used: Poisson or ratio-estimator intervals
for false-alarm counts, standard errors of means for delays, each stated beside its test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlab import ConfigError
from simlab.detectors import KS, PSI, OracleCUSUM, SchemaCheck, ScorePSI, WindowedMetric
from simlab.faults import DropColumn, Faulted, FillMissing, ServingFault
from simlab.scenarios import get_scenario, scenario_names
from simlab.sim import Constant, FixedDelay, OnAlarm, Periodic, Scenario, simulate
from simlab.sim.calibrate import arl0, arl0_interval, calibrate
from simlab.sim.tape import record_tape
from simlab.view import View
from simlab.world import (
    Ambient,
    CovariateShift,
    LabelShift,
    Seasonal,
    Sudden,
    gaussian_classes,
    logistic,
    sea,
    twin,
)

# -- the no-change twin ---------------------------------------------------------------------


def _same(a, b) -> bool:
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


@pytest.mark.parametrize("name", scenario_names())
def test_every_catalogue_scenario_has_a_twin_without_changes_drawing_the_same_rows(name):
    s = get_scenario(name)
    t = s.twin()
    h = s.horizon_hours
    assert t.world.events(h) == []
    assert t.serving == ()
    assert t.cause == "none"
    starts = [e.start for e in s.world.events(h)] + [
        e.start for slot in s.serving for e in slot.events(h)
    ]
    before = max(min(starts, default=h) - 1.0, 0.0)
    a, b = s.world.sample(200, before, rng=5), t.world.sample(200, before, rng=5)
    assert set(b.columns) <= set(a.columns)
    assert all(_same(a.columns[k], b.columns[k]) for k in b.columns)
    assert np.array_equal(a.y, b.y)


def test_twin_removes_faults_and_keeps_normal_life():
    daily = CovariateShift(features=("x0",), mean=1.0, schedule=Seasonal(period=24.0))
    ambient = Ambient(world=logistic(n_features=2, shifts=(daily,)))
    assert twin(ambient) == ambient  # its shifts are normal life: nothing to remove
    faulted = Faulted(world=ambient, fault=DropColumn(column="x1"), start=5.0)
    assert twin(faulted) == ambient
    shifted = sea(shifts=(CovariateShift(features=("x0",), mean=1.0, schedule=Sudden(start=3)),))
    assert twin(shifted) == sea()
    assert twin(twin(shifted)) == twin(shifted)


def test_twin_refuses_a_world_that_cannot_say_and_a_twin_that_keeps_changes():
    class Opaque:
        schema = sea().schema

        def sample(self, n, t, rng):
            return sea().sample(n, t, rng)

    with pytest.raises(ConfigError, match="twin"):
        twin(Opaque())

    class Liar(Opaque):
        def twin(self):
            shift = CovariateShift(features=("x0",), mean=1.0, schedule=Sudden(start=1.0))
            return sea(shifts=(shift,))

    with pytest.raises(ConfigError, match="removes every injected change"):
        twin(Liar())


def test_scenario_twin_empties_the_serving_slot():
    s = Scenario(
        world=sea(),
        serving=(ServingFault(fault=FillMissing(columns=("x0",), value=0.0), start=5.0),),
        horizon_hours=24.0,
        name="skewed",
    )
    t = s.twin()
    assert t.serving == ()
    assert t.name == "skewed_twin"
    assert t.world == s.world


# -- tapes ----------------------------------------------------------------------------------


_SHIFT = CovariateShift(features=("x0",), mean=2.0, schedule=Sudden(start=60))


def _small(**kw):
    base = {
        "world": sea(
            shifts=(CovariateShift(features=("x0",), mean=2.0, schedule=Sudden(start=60)),)
        ),
        "traffic": Constant(rate_per_hour=300.0),
        "delay": FixedDelay(hours=3.0),
        "horizon_hours": 120.0,
        "train_rows": 2000,
        "min_rows": 100,
    }
    base.update(kw)
    return Scenario(**base)


@pytest.mark.parametrize(
    "policy",
    [
        None,
        Periodic(period_hours=40.0, window_hours=40.0, min_rows=500),
        OnAlarm(detector="psi", cooldown_hours=10.0, window_hours=30.0, min_rows=500),
    ],
    ids=["never", "periodic", "on_alarm"],
)
def test_a_replay_gives_the_verdicts_the_run_recorded(policy):
    monitors = (
        PSI(),
        KS(),
        PSI(on="served"),
        ScorePSI(min_samples=50),
        WindowedMetric(min_samples=50),
    )
    s = _small(monitors=monitors, **({} if policy is None else {"policy": policy}))
    run = simulate(s, seed=3)
    tape = record_tape(s, seed=3)
    assert tape.n_ticks == s.n_ticks
    deploys = [e for e in run.simlab.events() if e.kind.value == "deploy"]
    assert len(tape.deploys) == len(deploys)
    if policy is not None:
        assert len(deploys) > 1  # the retraining path is exercised
    for m, name in zip(s.monitors, s.monitor_names(), strict=True):
        r = tape.replay(m, name=name)
        assert np.array_equal(r.alarm, run["alarm"].sel(detector=name).values), name
        stat = run["statistic"].sel(detector=name).values
        assert np.array_equal(r.statistic, stat, equal_nan=True), name


def test_a_tape_keeps_only_what_was_asked_and_says_so():
    s = _small()
    lean = record_tape(s, seed=0, upstream=False, served=False)
    full = record_tape(s, seed=0)
    assert lean.nbytes < full.nbytes / 2
    with pytest.raises(ConfigError, match="upstream=True"):
        lean.replay(PSI())
    with pytest.raises(ConfigError, match="served=True"):
        lean.replay(PSI(on="served"))
    a, b = lean.replay(ScorePSI()), full.replay(ScorePSI())
    assert np.array_equal(a.alarm, b.alarm)


def test_replay_onsets_count_runs_of_alarms_and_restart_at_deployments():
    from simlab.sim.tape import Replay

    alarm = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1], bool)
    r = Replay("d", np.zeros(9), np.ones(9), alarm, (0, 4), 1.0)
    assert r.onsets.tolist() == [0, 3, 4, 8]
    assert arl0([r]) == 9 / 6


# -- calibration ----------------------------------------------------------------------------


def test_arl0_interval_covers_at_its_level():
    # Garwood's interval is exact-or-conservative: over 4,000 Poisson draws its coverage of
    # the true ARL0 must be at least 95% less three binomial standard errors
    # (sqrt(0.95 x 0.05 / 4000) = 0.0034), and it should not be wildly conservative.
    rng = np.random.default_rng(0)
    ticks, true_arl = 5_000, 250.0
    counts = rng.poisson(ticks / true_arl, size=4000)
    cover = np.mean([lo <= true_arl <= hi for lo, hi in (arl0_interval(c, ticks) for c in counts)])
    assert 0.95 - 3 * 0.0034 <= cover <= 0.99


def test_arl0_interval_widens_for_clustered_alarms():
    narrow = arl0_interval(40, 4000)
    clustered = arl0_interval(40, 4000, per_tape=[(40, 1000), (0, 1000), (0, 1000), (0, 1000)])
    assert clustered[0] <= narrow[0]
    assert clustered[1] >= narrow[1]


def _null_scenario(**kw):
    base = {
        "world": sea(),
        "traffic": Constant(rate_per_hour=300.0),
        "horizon_hours": 300.0,
        "train_rows": 3000,
    }
    base.update(kw)
    return Scenario(**base)


def test_a_calibrated_detector_keeps_its_false_alarm_rate_on_fresh_seeds():
    s = _null_scenario()
    c = calibrate(ScorePSI(min_samples=50), s, target_arl0=15.0, n_alarms=60)
    assert c.param == "threshold"
    assert c.n_ticks >= 60 * 15
    assert c.within()  # the target lies in the achieved ARL0's interval
    # fresh seeds: the false-alarm count there and at calibration are two estimates of one
    # rate; both intervals (ratio-estimator, widened for clustered alarms, at 99.9%) overlap
    tapes = [record_tape(s, seed, upstream=False, served=False) for seed in range(6)]
    per = [(int(t.replay(c.detector).alarm.sum()), t.n_ticks) for t in tapes]
    count, ticks = sum(p[0] for p in per), sum(p[1] for p in per)
    lo, hi = arl0_interval(count, ticks, level=0.999, per_tape=per)
    clo, chi = arl0_interval(c.n_alarms, c.n_ticks, level=0.999)
    assert lo <= chi, (lo, hi, clo, chi)
    assert clo <= hi, (lo, hi, clo, chi)


def test_a_calibrated_detector_alarms_within_a_few_ticks_of_a_large_shift():
    s = _null_scenario()
    c = calibrate(PSI(), s, target_arl0=50.0, n_alarms=20)
    shifted = s.replace(
        world=sea(shifts=(CovariateShift(features=("x0",), mean=3.0, schedule=Sudden(start=150)),)),
        monitors=(c.detector,),
    )
    run = simulate(shifted, seed=11)
    alarms = np.flatnonzero(run["alarm"].sel(detector="psi").values)
    assert alarms[alarms >= 150].min() <= 150 + 3


def test_calibration_moves_a_significance_level_the_declared_way():
    s = _null_scenario(horizon_hours=200.0)
    loose = calibrate(KS(), s, target_arl0=5.0, n_alarms=40)
    strict = calibrate(KS(), s, target_arl0=40.0, n_alarms=20)
    assert strict.value < loose.value  # alpha: smaller is stricter
    assert strict.achieved_arl0 > loose.achieved_arl0


def test_calibration_is_deterministic():
    s = _null_scenario(horizon_hours=150.0)
    a = calibrate(ScorePSI(min_samples=50), s, target_arl0=10.0, n_alarms=15)
    b = calibrate(ScorePSI(min_samples=50), s, target_arl0=10.0, n_alarms=15)
    assert a.value == b.value
    assert a.grid == b.grid
    assert a.seeds == b.seeds


def test_calibration_refuses_what_it_cannot_do():
    s = _null_scenario(horizon_hours=50.0)
    with pytest.raises(ConfigError, match="threshold parameter"):
        calibrate(SchemaCheck(), s, target_arl0=100.0)
    with pytest.raises(ConfigError, match="target_arl0"):
        calibrate(PSI(), s, target_arl0=0.5)
    with pytest.raises(ConfigError, match="scenario"):
        calibrate(PSI(), "sea", target_arl0=10.0)
    with pytest.raises(ConfigError, match="seeds"):
        calibrate(PSI(), s, target_arl0=10.0, seeds=())


# -- the oracle -----------------------------------------------------------------------------


def _oracle_stream(kl_tick: float, n: int = 10):
    delta = math.sqrt(2 * kl_tick / n)  # KL of N(delta, 1) from N(0, 1) is delta^2 / 2 per row
    world = logistic(
        n_features=1,
        shifts=(CovariateShift(features=("x0",), mean=delta, schedule=Sudden(start=1.0)),),
    )
    return world, delta


def test_the_oracle_meets_lorden_and_siegmund():
    # A CUSUM of Gaussian log-likelihood ratios: increments N(-K, 2K) before the change and
    # N(+K, 2K) after, K = KL per tick. Siegmund's corrected-boundary approximation with
    # b = h + 1.166 sqrt(2K) gives ARL0 = (e^b - b - 1)/K and ARL1 = (e^-b + b - 1)/K; Lorden's
    # asymptotics say the delay is log(ARL0)/K. With K = 2 and h = 5: ARL0 ~ 760, ARL1 ~ 3.17.
    kl, h, n = 2.0, 5.0, 10
    world, delta = _oracle_stream(kl, n)
    det = OracleCUSUM(world=world, before=0.0, after=1.0, threshold=h).fit(View())
    rng = np.random.default_rng(0)
    ticks = 60_000
    x = rng.standard_normal((ticks, n))
    alarms = sum(det.update(View(columns={"x0": row})).alarm for row in x)
    arl0_hat = ticks / alarms
    delays = []
    for _ in range(2000):
        d = det.clone().fit(View())
        k = 0
        while True:
            k += 1  # post-change ticks seen, the alarm's included (the ARL convention)
            if d.update(View(columns={"x0": rng.standard_normal(n) + delta})).alarm:
                break
        delays.append(k)
    delay = float(np.mean(delays))
    delay_se = float(np.std(delays, ddof=1) / math.sqrt(len(delays)))
    b = h + 1.166 * math.sqrt(2 * kl)
    arl0_siegmund = (math.exp(b) - b - 1) / kl
    arl1_siegmund = (math.exp(-b) + b - 1) / kl
    # ARL0 from ~75 alarms: relative standard error 1/sqrt(75) = 0.115; three of them
    assert abs(arl0_hat / arl0_siegmund - 1) < 3 / math.sqrt(alarms)
    # the delay's standard error is ~0.03 ticks; Siegmund's approximation itself is good to
    # a few percent here: 5% plus three standard errors
    assert abs(delay - arl1_siegmund) < 0.05 * arl1_siegmund + 3 * delay_se
    # Lorden: the measured delay against log(ARL0)/KL, within 20%
    assert abs(delay / (math.log(arl0_hat) / kl) - 1) < 0.2


def test_the_oracle_sees_label_shift_through_p_of_x():
    w = gaussian_classes(
        prior=0.5,
        separation=2.0,
        n_features=2,
        shifts=(LabelShift(prior=0.9, schedule=Sudden(start=10.0)),),
    )
    det = OracleCUSUM(world=w, before=0.0, after=10.0, threshold=8.0).fit(View())
    before = [det.update(View(columns=w.sample(200, t, rng=t).columns)).alarm for t in range(10)]
    after = [det.update(View(columns=w.sample(200, t, rng=t).columns)).alarm for t in range(10, 20)]
    assert not any(before)
    assert after[0]


def test_the_oracle_skips_what_it_cannot_judge_and_refuses_worlds_without_a_density():
    world, _ = _oracle_stream(1.0)
    det = OracleCUSUM(world=world, before=0.0, after=1.0).fit(View())
    nan = det.update(View(columns={"x0": np.array([np.nan, np.nan])}))
    assert np.isnan(nan.statistic)
    assert not nan.alarm
    missing = det.update(View(columns={"other": np.ones(3)}))
    assert np.isnan(missing.statistic)
    text = det.update(View(columns={"x0": np.array(["a", "b"])}))
    assert np.isnan(text.statistic)
    inf = det.update(View(columns={"x0": np.array([np.inf, 0.5])}))
    assert not np.isnan(inf.statistic)
    with pytest.raises(ConfigError, match="density"):
        OracleCUSUM(world=Faulted(world=world, fault=DropColumn(column="x0")), before=0, after=1)
    with pytest.raises(ConfigError, match="after"):
        OracleCUSUM(world=world, before=2.0, after=1.0)


# -- per-feature statistics, when asked ------------------------------------------------------


def test_per_feature_statistics_are_recorded_when_asked():
    from simlab.sim.run import run_problems

    shift = CovariateShift(features=("x2",), mean=3.0, schedule=Sudden(start=20))
    s = Scenario(
        world=sea(shifts=(shift,)),
        monitors=(PSI(), KS(), ScorePSI(), PSI(on="served")),
        horizon_hours=40.0,
        train_rows=2000,
    )
    run = simulate(s, seed=0, feature_statistics=True)
    assert run_problems(run) == []
    fs = run["feature_statistic"]
    assert fs.dims == ("time", "detector", "feature")
    # the Run's statistic is the largest of the per-feature ones
    per = fs.sel(detector=["psi", "ks", "psi_served"]).max("feature")
    assert np.array_equal(
        per.values, run["statistic"].sel(detector=["psi", "ks", "psi_served"]).values
    )
    assert fs.sel(detector="score_psi").isnull().all()  # not a per-feature detector
    late = fs.isel(time=30).sel(detector="psi").values
    assert late.argmax() == 2  # x2 moved
    plain = simulate(s, seed=0)
    assert "feature_statistic" not in plain
    assert plain["statistic"].equals(run["statistic"])  # asking changes nothing else
    broken = run.assign(feature_statistic=run["feature_statistic"].isel(feature=0))
    assert any("feature_statistic" in p for p in run_problems(broken))
    with pytest.raises(ConfigError, match="feature_statistics"):
        simulate(s, seed=0, feature_statistics="yes")


def test_bisection_on_shared_tapes_reaches_the_grids_count_with_fewer_replays():
    """`search="bisect"` on tapes recorded once: the same false-alarm count as the grid.

    Both searches stop when neighbouring values' counts differ by at most `precision` x
    the goal, so their chosen counts may differ by that much and by the grid's own spacing
    (an alarm or two here); the bisection must replay far fewer thresholds.
    """
    s = _null_scenario(horizon_hours=200.0)
    tapes = [record_tape(s.twin(), seed) for seed in range(1_000_000, 1_000_003)]
    for det in (ScorePSI(min_samples=50), KS()):
        grid = calibrate(det, s, target_arl0=20.0, tapes=tapes)
        fast = calibrate(det, s, target_arl0=20.0, tapes=tapes, search="bisect")
        assert fast.seeds == grid.seeds == (1_000_000, 1_000_001, 1_000_002)
        assert fast.n_ticks == grid.n_ticks == 600
        goal = 600 / 20.0
        assert abs(fast.n_alarms - grid.n_alarms) <= max(2, 0.1 * goal)
        assert fast.within()
        assert len(fast.grid[0]) <= 16 < len(grid.grid[0])
    with pytest.raises(ConfigError, match="search"):
        calibrate(PSI(), s, target_arl0=20.0, tapes=tapes, search="newton")
    with pytest.raises(ConfigError, match="tapes"):
        calibrate(PSI(), s, target_arl0=20.0, tapes=[])
