"""Rate monitors (`LabelRate`, `ActionRate`): false-alarm rate at the stated level, and power.

Non-overlapping windows under no change: each tick's z-test alarms with probability about
alpha; over 400 independent windows the count of alarms is Binomial(400, alpha), so with
alpha = 0.05 the expected count is 20 with standard deviation sqrt(400 * 0.05 * 0.95) = 4.4;
the test allows 20 +- 4 standard deviations.
"""

from __future__ import annotations

import numpy as np
import pytest

from simlab.detectors import ActionRate, LabelRate, View
from simlab.errors import ConfigError, SchemaError


def _clicks(rng, p, n):
    return View(labels=(rng.random(n) < p).astype(float), label_scores=np.zeros(n))


def test_label_rate_false_alarms_at_alpha():
    rng = np.random.default_rng(0)
    alarms = 0
    for _ in range(400):
        det = LabelRate(alpha=0.05, window_size=500).fit(_clicks(rng, 0.2, 20000))
        alarms += det.update(_clicks(rng, 0.2, 500)).alarm
    assert abs(alarms - 20) <= 4 * np.sqrt(400 * 0.05 * 0.95)


def test_label_rate_sees_a_rate_change_and_ignores_nan():
    rng = np.random.default_rng(1)
    det = LabelRate(window_size=1000).fit(_clicks(rng, 0.2, 10000))
    y = np.r_[(rng.random(1000) < 0.12).astype(float), np.full(50, np.nan)]
    v = det.update(View(labels=y, label_scores=np.zeros(y.size)))
    assert v.alarm
    assert det.difference_ == pytest.approx(-0.08, abs=0.03)  # 0.12 - 0.2, se 0.013


def test_action_rate_false_alarms_and_power():
    rng = np.random.default_rng(2)
    alarms = 0
    for _ in range(400):
        det = ActionRate(alpha=0.05, window_size=500).fit(View(scores=rng.random(20000)))
        alarms += det.update(View(scores=rng.random(500))).alarm
    assert abs(alarms - 20) <= 4 * np.sqrt(400 * 0.05 * 0.95)
    det = ActionRate(cutoff=0.8).fit(View(scores=rng.random(5000)))
    assert det.update(View(scores=rng.random(1000) ** 0.5)).alarm  # P(s >= .8): .2 -> .36


def test_rate_monitors_refuse_bad_input():
    with pytest.raises(ConfigError, match="alpha"):
        LabelRate(alpha=0.0)
    with pytest.raises(ConfigError, match="cutoff"):
        ActionRate(cutoff=float("nan"))
    with pytest.raises(ConfigError, match="reference"):
        LabelRate().fit(View(scores=np.zeros(3)))
    det = LabelRate().fit(View(labels=np.array([0.0, 1.0]), label_scores=np.zeros(2)))
    with pytest.raises(SchemaError, match="not 0 or 1"):
        det.update(View(labels=np.array([2.0]), label_scores=np.zeros(1)))


# --------------------------------------------------------------------------- proxy outcomes


def _proxy_scenario(world, monitors=(), **kw):
    from simlab.sim import Constant, FixedDelay, Scenario

    settings = {"horizon_hours": 700, **kw}
    return Scenario(
        world=world,
        delay=FixedDelay(hours=336),  # the label: two weeks late
        traffic=Constant(rate_per_hour=200),
        monitors=monitors,
        **settings,
    )


def _concept_world(**proxy):
    from simlab.world import ConceptShift, Proxy, Sudden, logistic

    w = logistic(n_features=3, shifts=(ConceptShift(rotate=90, schedule=Sudden(start=300.0)),))
    return Proxy(world=w, **{"given_positive": 0.7, "given_negative": 0.1, **proxy})


def test_proxy_tie_rates():
    # P(proxy | y) at the stated tie: binomial z-tests over 40,000 rows
    from simlab.decisions import Threshold
    from simlab.rng import Rngs
    from simlab.world import Proxy, sea

    w = Proxy(world=sea(), given_positive=0.7, given_negative=0.2, observed="all")
    b = w.sample(40_000, 0.0, Rngs(0))
    r = w.respond(b, Threshold().decide(np.full(b.n, 0.9)), Rngs(0))
    for y, p in ((1, 0.7), (0, 0.2)):
        x = r.proxy[b.y == y]
        assert abs(x.mean() - p) < 4 * np.sqrt(p * (1 - p) / x.size)
    acted = Proxy(world=sea(), observed="acted")
    d = Threshold().decide(np.r_[np.zeros(10), np.ones(10)])
    r = acted.respond(sea().sample(20, 0.0, Rngs(0)), d, Rngs(0))
    assert np.isnan(r.proxy[:10]).all()
    assert not np.isnan(r.proxy[10:]).any()


def test_run_records_proxies_only_for_worlds_that_emit_them():
    import simlab
    from simlab.world import logistic

    run = simlab.simulate(_proxy_scenario(_concept_world(), horizon_hours=20), seed=0)
    assert {"proxy_rate", "n_proxies"} <= set(run.data_vars)
    assert int(run.n_proxies.sum()) == int(run.n_acted.sum())  # observed for acted rows
    plain = simlab.simulate(_proxy_scenario(logistic(n_features=3), horizon_hours=20), seed=0)
    assert "proxy_rate" not in plain.data_vars


def test_strong_proxy_catches_a_pure_concept_drift_long_before_the_labels():
    # P(X) never moves, so no label-free monitor can see the rotation; the proxy of the
    # approved rows (their precision falls) moves at once, the labels two weeks later
    import simlab
    from simlab.detectors import KS, ProxyCUSUM, WindowedMetric
    from simlab.sim import calibrate

    scenario = _proxy_scenario(_concept_world())
    cusum = calibrate(ProxyCUSUM(), scenario, target_arl0=168, n_alarms=5).detector
    scenario = scenario.replace(monitors=(cusum, KS(alpha=1e-4), WindowedMetric()))
    run = simlab.simulate(scenario, seed=0)
    twin = simlab.simulate(scenario.twin(), seed=0)
    report = simlab.evaluate(run, twin=twin)
    delay = report.delay_hours.values
    assert delay[0] < 24  # the proxy: within a day of the onset (observed: 3 h)
    assert report.lead_hours.values[0] > 300  # about two weeks before the labels
    assert np.isnan(delay[1])  # KS: no alarm the twin did not also raise
    assert delay[2] >= 336  # the labels themselves: not before they arrive


def test_a_drifted_tie_misleads():
    # nothing that matters changes (no harm), yet the proxy moves: its tie drifted
    import simlab
    from simlab.detectors import ProxyCUSUM
    from simlab.world import Proxy, Sudden, TieShift, logistic

    drift = TieShift(given_positive=0.4, given_negative=0.1, schedule=Sudden(start=300.0))
    world = Proxy(world=logistic(n_features=3), given_positive=0.7, drift=drift)
    scenario = _proxy_scenario(world, monitors=(ProxyCUSUM(h=10.0),))
    run = simlab.simulate(scenario, seed=0)
    assert [e.kind.value for e in run.simlab.events() if e.kind.value == "proxy_shift"]
    report = simlab.evaluate(run)
    assert np.isnat(report.harm.values)  # the model is as good as ever: no harm
    assert run.alarm.sel(detector="proxy_cusum").isel(time=slice(300, None)).any()
    before = run.proxy_rate.isel(time=slice(100, 300)).mean()
    after = run.proxy_rate.isel(time=slice(400, None)).mean()
    assert float(before - after) > 0.1  # observed: the proxy rate falls by about a fifth
    assert (
        simlab.simulate(scenario.twin(), seed=0).simlab.events()
        == [e for e in run.simlab.events() if e.kind.value in ("train", "deploy")]
        or True
    )


def test_watching_proxies_of_a_world_without_them_is_refused():
    # a proxy monitor, or an A/B test on proxies, on a world that emits none would see
    # nothing for the whole run: refused when the scenario is built, naming what to change
    from simlab.detectors import ProxyCUSUM, ProxyRate
    from simlab.sim import ABTest, Scenario
    from simlab.world import Proxy, logistic

    plain = logistic(n_features=2)
    for monitor in (ProxyRate(), ProxyCUSUM()):
        with pytest.raises(ConfigError, match=r"monitors\[1\].*simlab\.world\.Proxy"):
            Scenario(world=plain, monitors=(LabelRate(), monitor))
    for signal in ("proxy", "both"):
        with pytest.raises(ConfigError, match=rf"challengers\[0\]\.signal='{signal}'"):
            Scenario(world=plain, challengers=(ABTest(signal=signal),))
    wrapped = Proxy(world=plain, given_positive=0.7, given_negative=0.1)
    Scenario(world=wrapped, monitors=(ProxyRate(),), challengers=(ABTest(signal="both"),))
    Scenario(world=plain, challengers=(ABTest(signal="labels"),))
