"""The compiled per-tick reductions and label-queue kernels give NumPy's values to the bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from simlab import _compiled
from simlab.scoring import (
    CUTOFF,
    EPS,
    N_AUC_BINS,
    binary_sums,
    binary_sums_into,
    row_values,
    score_bins,
)
from simlab.sim import _compiled as engine_kernels


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 255, 256, 1000, 1001, 4096, 20_001])
def test_pairwise_sum_is_numpys_sum_to_the_bit(n):
    g = np.random.default_rng(n)
    for scale in (1e-3, 1.0, 1e6):
        a = g.standard_normal(n) * scale + g.uniform(-100, 100)
        assert _compiled.pairwise_sum(a) == a.sum()


@pytest.mark.parametrize("n", [1, 5, 64, 200, 1000, 3333])
def test_feature_moments_are_numpys_to_the_bit(n):
    g = np.random.default_rng(n)
    x = g.standard_normal((4, n)) * [[1.0], [1e-4], [1e5], [3.0]] + [[0.0], [7.0], [-1e3], [2.0]]
    mean, std = np.empty(4), np.empty(4)
    assert _compiled.feature_moments(x, mean, std)
    want = x.sum(1) / n
    dev = x - want[:, None]
    np.testing.assert_array_equal(mean, want)
    np.testing.assert_array_equal(std, np.sqrt((dev * dev).sum(1) / n))
    x[2, n // 2] = np.nan  # a row with a NaN: refused, nothing written
    mean[:], std[:] = -1.0, -1.0
    assert not _compiled.feature_moments(x, mean, std)
    assert (mean == -1.0).all()
    assert (std == -1.0).all()


@pytest.mark.parametrize("dtype", [np.int8, np.int64, bool, np.float64])
def test_binary_sums_compiled_pass_equals_the_row_values(dtype):
    g = np.random.default_rng(3)
    y = g.integers(0, 2, 3000).astype(dtype)
    s = g.random(3000)
    s[:40] = [0.0, 1.0, CUTOFF, np.nextafter(CUTOFF, 0), 1e-17, 1 - 1e-17] * 6 + [0.0] * 4
    sums, hist = binary_sums(y, s)
    want = [y.shape[0], row_values("accuracy", y, s).sum(), row_values("log_loss", y, s).sum()]
    assert sums[:2].tolist() == want[:2]
    q = np.maximum(np.where(y == 1, s, 1.0 - s), EPS)
    assert sums[2] == -np.log(q).sum()  # the same logarithms, summed in NumPy's order
    assert sums[2] == pytest.approx(want[2], rel=1e-12)
    codes = (y == 1).astype(np.int64) * N_AUC_BINS + score_bins(s)
    np.testing.assert_array_equal(hist.ravel(), np.bincount(codes, minlength=2 * N_AUC_BINS))


def test_binary_sums_leaves_scores_outside_the_unit_interval_to_the_general_path():
    y = np.array([1, 0, 1])
    for bad in (np.nan, 1.5, -0.1):
        sums, hist = binary_sums(y, np.array([0.9, bad, 0.2]))
        assert sums[0] == 3
        assert sums[1] == 1.0 + (bad < CUTOFF)  # a NaN score is wrong; -0.1 predicts 0
        assert hist.sum() == (2 if np.isnan(bad) else 3)  # a NaN score has no AUC bin


def test_binary_sums_of_no_rows_are_zeros_written_in_place():
    # a tick without labels: written in place (no general path), the values binary_sums had
    sums, hist = np.full(3, 7.0), np.full((2, N_AUC_BINS), 7, np.int64)
    assert binary_sums_into(np.array([], np.int8), np.array([]), sums, hist)
    assert sums.tolist() == [0.0, 0.0, 0.0]
    assert not np.signbit(sums).any()
    assert not hist.any()
    y, s = np.array([], np.int64), np.array([])
    general = [0.0, row_values("accuracy", y, s).sum(), row_values("log_loss", y, s).sum()]
    assert np.array_equal(np.array(general, dtype=float), sums)


def test_the_kernels_reload_from_the_disk_cache_in_a_new_process():
    # numba's cache cannot reload a recursive function (the process crashes): the kernels
    # are compiled once here, then a second process must load and run them
    code = (
        "import numpy as np\n"
        "from simlab import _compiled as c\n"
        "from simlab.sim import _compiled as q\n"
        "x = np.arange(3000.0).reshape(3, 1000)\n"
        "m, s = np.empty(3), np.empty(3)\n"
        "assert c.feature_moments(x, m, s) and c.pairwise_sum(x[0]) == x[0].sum()\n"
        "h, y, p = np.zeros((2, 200), np.int64), np.array([1, 0]), np.array([0.9, 0.2])\n"
        "assert c.binary_pass(y, p, 0.5, 1e-15, np.empty(2), h) == 2\n"
        "z = lambda: np.zeros(10, np.int64)\n"
        "f = lambda: np.full(10, -1, np.int64)\n"
        "print(q.queue_push(np.array([3]), f(), f(), z(), z(), z(), z(), 0, z(), z()))\n"
    )
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "-1"  # no free page: one page needed, nothing changed


def test_the_arm_kernels_count_what_the_row_values_count():
    g = np.random.default_rng(5)
    n = 2000
    arm = g.integers(-1, 2, n)
    y = g.integers(0, 2, n).astype(np.int8)
    champion, mine = g.random(n), g.random(n)
    mine[::97] = np.nan  # failed rows are wrong
    delays = g.exponential(30.0, n)
    delays[::13], delays[::31] = np.inf, np.nan  # never arrive
    labelled = g.random(n) < 0.8
    t, horizon = 17.0, 60
    wrong = {name: 1.0 - row_values("accuracy", y, s) for name, s in (("c", champion), ("m", mine))}
    due = labelled & (np.ceil((t + delays) / 1.0 - 1e-9) < horizon)
    for i in (0, 1):
        rows = arm == i
        got = engine_kernels.split_harm(
            arm, i, y, mine, champion, CUTOFF, t, delays, 1.0, horizon, labelled
        )
        excess = (wrong["m"][rows] - wrong["c"][rows]).sum()
        assert got == (rows.sum(), excess, (rows & due).sum())
        out = np.zeros(4, np.int64)
        engine_kernels.arm_correct(arm, i, y, champion, mine, CUTOFF, out)
        a = arm < 0
        want = [a.sum(), (1 - wrong["c"][a]).sum(), rows.sum(), (1 - wrong["m"][rows]).sum()]
        assert out.tolist() == want


def test_assign_arm_takes_the_unassigned_rows_under_the_share():
    g = np.random.default_rng(7)
    arm = np.where(g.random(500) < 0.3, 0, -1).astype(np.int8)
    u, champion, mine = g.random(500), g.random(500), g.random(500)
    want_arm, want_acted = arm.copy(), champion.copy()
    take = (u < 0.2) & (arm < 0)
    want_arm[take], want_acted[take] = 1, mine[take]
    acted = champion.copy()
    assert engine_kernels.assign_arm(u, 0.2, 1, arm, acted, mine) == take.sum()
    np.testing.assert_array_equal(arm, want_arm)
    np.testing.assert_array_equal(acted, want_acted)
