"""Property-based tests (Hypothesis): invariants that must hold for any valid input."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab import Batch, build
from simlab.sim import LabelQueue
from simlab.world import Gaussian, Gradual, Incremental, Recurring, Seasonal, Sudden

finite = st.floats(-1e6, 1e6, allow_nan=False)
hours = st.floats(-1e4, 1e4, allow_nan=False)
widths = st.floats(1e-3, 1e4, allow_nan=False)
schedules = st.one_of(
    st.builds(lambda s: Sudden(start=s), hours),
    st.builds(lambda s, w: Gradual(start=s, width=w), hours, widths),
    st.builds(lambda s, w: Incremental(start=s, width=w), hours, widths),
    st.builds(
        lambda s, p, d: Recurring(start=s, period=p, duty=d), hours, widths, st.floats(0.01, 0.99)
    ),
    st.builds(lambda p, s: Seasonal(period=p, start=s), widths, hours),
)


@given(schedules, st.lists(hours, min_size=1, max_size=20))
def test_schedule_weights_lie_in_unit_interval(schedule, times):
    w = np.asarray(schedule.weight(np.array(times)))
    assert ((w >= 0) & (w <= 1)).all()
    assert float(schedule.weight(times[0])) == w[0]  # scalar and array agree


@given(
    st.one_of(
        st.builds(lambda s, w: Gradual(start=s, width=w), hours, widths),
        st.builds(lambda s, w: Incremental(start=s, width=w), hours, widths),
    ),
    st.lists(hours, min_size=2, max_size=20),
)
def test_ramps_never_go_back(schedule, times):
    t = np.sort(np.array(times))
    assert (np.diff(schedule.weight(t)) >= -1e-12).all()
    assert schedule.weight(schedule.start) == 0.0
    assert schedule.weight(schedule.start + schedule.width) == 1.0


@given(schedules)
def test_schedules_round_trip_through_json(schedule):
    assert build(schedule.to_dict()) == schedule


@given(
    st.integers(1, 4).flatmap(
        lambda d: st.tuples(
            st.lists(finite, min_size=d, max_size=d),
            st.lists(st.floats(1e-3, 1e3), min_size=d, max_size=d),
        )
    )
)
def test_gaussian_blocks_round_trip_and_expand_to_the_same_law(params):
    mean, scale = params
    names = tuple(f"f{i}" for i in range(len(mean)))
    g = Gaussian(features=names, mean=tuple(mean), scale=tuple(scale))
    assert build(g.to_dict()) == g
    a = g.sample(5, np.random.default_rng(0))
    b = g.expanded().sample(5, np.random.default_rng(0))
    for name in names:
        np.testing.assert_array_equal(a[name], b[name])


@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.data())
def test_batch_take_then_concat_restores_rows(sizes, data):
    n = sum(sizes)
    b = Batch(t=0.0, columns={"x": np.arange(n, dtype=float)}, y=np.arange(n) % 2)
    cuts = np.cumsum([0, *sizes])
    parts = [b.take(slice(int(lo), int(hi))) for lo, hi in itertools.pairwise(cuts)]
    back = Batch.concat(parts)
    np.testing.assert_array_equal(back.columns["x"], b.columns["x"])
    np.testing.assert_array_equal(back.row_id, b.row_id)


@settings(max_examples=50)
@given(
    st.lists(st.lists(st.integers(0, 30), max_size=40), min_size=1, max_size=40),
)
def test_label_queue_releases_each_row_once_on_its_tick(pushes):
    q = LabelQueue(span=100)
    released = []
    for k, delays in enumerate(pushes):
        keys = k + np.array(delays, dtype=np.int64)
        q.push(keys, {"key": keys, "push": np.full(keys.size, k), "row": np.arange(keys.size)})
        got = q.pop(k)
        # popped every tick, tick k's arrivals come out in push order, each push's rows in order
        want = [
            (p, r) for p, ds in enumerate(pushes[: k + 1]) for r, d in enumerate(ds) if p + d == k
        ]
        have = (
            [] if got is None else list(zip(got["push"].tolist(), got["row"].tolist(), strict=True))
        )
        assert have == want
        if got is not None:
            released.extend(got["key"].tolist())
    rest = q.pop(10**9)
    total = released + ([] if rest is None else rest["key"].tolist())
    assert sorted(total) == sorted(k + d for k, ds in enumerate(pushes) for d in ds)
