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
