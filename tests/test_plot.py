"""Run figures: they build, carry the expected lines and labels, and save as non-empty PNGs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh

from simlab.errors import ConfigError
from simlab.plot import format_hours, run_figure, score_heatmap, timeline
from simlab.sim.run import RUN_DATA_VARS
from simlab.testing._runs import make_run


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_timeline_lines_and_labels():
    run = make_run(onset_hours=100.0, harm_hours=130.0, label_delay_hours=24.0)
    ax = timeline(run)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == [
        "offline (random split)",
        RUN_DATA_VARS["true_metric"].long_name,
        RUN_DATA_VARS["observed_metric"].long_name,
    ]
    assert ax.get_lines()[0].get_linestyle() == "--"
    legend = legend_texts(ax)
    for entry in ("early first alarm", "late first alarm", "harm", "label alarm", "concept shift"):
        assert entry in legend
    assert ax.get_ylabel() == "accuracy [1]"
    assert "lead time 44.0 hours" in texts(ax)
    assert " concept_shift" in texts(ax)
    # the open-ended concept shift is shaded, and the first alarm of "early" sits at 110 h
    assert len(ax.patches) == 1
    early = next(line for line in ax.get_lines() if line.get_label() == "early first alarm")
    expected = mdates.date2num(run.time.values[110])
    assert float(early.get_xdata()[0]) == pytest.approx(expected)


def test_timeline_lead_time_in_days_and_best_detector():
    run = make_run(
        n_ticks=300,
        onset_hours=100.0,
        harm_hours=130.0,
        label_delay_hours=72.0,
        detectors={"slow": [180.0], "fast": [110.0]},
    )
    ax = timeline(run)
    # label alarm 202 h; the fast detector leads by 92 h = 3.8 days
    assert "lead time 3.8 days" in texts(ax)


def test_timeline_instant_event_is_a_line():
    run = make_run(extra_events=[("fault", 60.0, 60.0)], change_end_hours=150.0)
    ax = timeline(run)
    assert len(ax.patches) == 1  # only the concept shift has a window
    assert " fault" in texts(ax)
    assert "fault" in legend_texts(ax)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"onset_hours": None, "harm_hours": None},
        {"detectors": {}},
        {"label_delay_hours": 200.0},  # no label ever arrives: observed metric all NaN
        {"onset_hours": None, "harm_hours": None, "detectors": {}, "label_delay_hours": 200.0},
    ],
)
def test_timeline_degenerate_runs(kwargs):
    run = make_run(**kwargs)
    ax = timeline(run)
    assert not any(t.startswith("lead time") for t in texts(ax))
    assert len(ax.get_lines()) >= 3


def test_timeline_detector_without_alarm_gets_a_legend_entry():
    ax = timeline(make_run(detectors={"quiet": []}))
    assert "quiet: no alarm" in legend_texts(ax)


def test_timeline_other_metric_and_regression():
    ax = timeline(make_run(), metric="log_loss")
    assert ax.get_ylabel() == "log_loss [nats]"
    ax = timeline(make_run(task="regression"))
    assert ax.get_ylabel() == "mae [target units]"
    with pytest.raises(ConfigError, match="metric"):
        timeline(make_run(), metric="rmse")


def test_timeline_draws_on_given_axes():
    fig, ax = plt.subplots()
    assert timeline(make_run(), ax=ax) is ax
    assert score_heatmap(make_run(), ax=ax) is ax
    assert fig.axes[0] is ax


def test_score_heatmap_shares_sum_to_one():
    run = make_run(n_ticks=50, onset_hours=20.0, harm_hours=None, detectors={})
    ax = score_heatmap(run)
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    share = np.asarray(meshes[0].get_array()).reshape(run.sizes["bin"], run.sizes["time"])
    np.testing.assert_allclose(share.sum(axis=0), 1.0)
    assert ax.get_ylabel() == "score"
    # the change onset is marked
    starts = [float(line.get_xdata()[0]) for line in ax.get_lines()]
    assert mdates.date2num(run.time.values[20]) in starts


def test_run_figure_saves_png(tmp_path):
    fig = run_figure(make_run())
    assert len(fig.axes) >= 2
    top, bottom = fig.axes[:2]
    assert top.get_shared_x_axes().joined(top, bottom)
    path = tmp_path / "timeline.png"
    fig.savefig(path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 10_000


def test_format_hours():
    assert format_hours(47.9) == "47.9 hours"
    assert format_hours(48.0) == "2.0 days"
    assert format_hours(76.8) == "3.2 days"
