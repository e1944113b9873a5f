"""Generic conformance checks every detector must pass (as scikit-learn's ``estimator_checks``).

`yield_detector_checks(det)` yields check functions ``check_x(det)``; `check_detector(det)`
runs them all. Each check works on clones of `det`, so `det` itself is never fitted.
Per-feature detectors must expose ``features_`` (the order of their statistic) once fitted.

The synthetic stream: three standard-normal numeric columns ``x0, x1, x2``, a categorical
column ``c`` (``a``/``b``/``c`` with probabilities 0.5/0.3/0.2), scores
``sigmoid(x0 + x1)`` and labels drawn as ``Bernoulli(score)`` (a calibrated model, so
accuracy at 0.5 is about 0.75), all drawn from ``np.random.default_rng(seed)``.
Every tick's labels arrive in the same tick, with the scores of their rows.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable, Iterator

import numpy as np

from simlab.detectors.base import Verdict, View, Watches
from simlab.errors import NotFittedError
from simlab.registry import build

__all__ = [
    "H0_MAX_ALARM_RATE",
    "H1_MAX_TICKS",
    "check_clone_and_params_round_trip",
    "check_column_order_invariance",
    "check_detector",
    "check_detects_shift_h1",
    "check_deterministic",
    "check_empty_and_single_row",
    "check_fit_idempotent",
    "check_inputs_not_mutated",
    "check_pickle_mid_stream",
    "check_stationary_h0",
    "check_threshold_moves_alarms",
    "check_update_before_fit",
    "check_verdict_shape",
    "make_stream",
    "make_view",
    "yield_detector_checks",
]

#: Rows of the reference view and of every stream tick.
REFERENCE_ROWS = 5000
TICK_ROWS = 500

#: H0 smoke test: ticks of stationary data, and the largest alarm rate tolerated.
#: A detector tuned to a per-tick false-alarm probability p0 <= 0.05 alarms on average
#: at rate p0. Overlapping windows make consecutive verdicts dependent; with windows of
#: up to 2000 rows and ticks of 500 rows, at most d = 4 consecutive ticks share data,
#: which inflates the variance of the rate by at most d. The bound p0 + 4·sqrt(p0(1 − p0)·d/N)
#: with N = 200 ticks is 0.05 + 4·sqrt(0.0475·4/200) ≈ 0.173: a correct detector exceeds
#: it with negligible probability, a detector that fires on noise does not stay under it.
H0_TICKS = 200
H0_MAX_ALARM_RATE = 0.05 + 4.0 * float(np.sqrt(0.05 * 0.95 * 4 / H0_TICKS))

#: H1 smoke test: a shift this many standard deviations must alarm within H1_MAX_TICKS.
H1_SHIFT = 3.0
H1_MAX_TICKS = 10


def make_view(
    rng: np.random.Generator,
    n: int,
    *,
    shift: float = 0.0,
    flip: bool | float = False,
    t: float = 0.0,
) -> View:
    """One tick of the synthetic stream (see the module docstring).

    Parameters
    ----------
    rng
        Where the rows are drawn from.
    n
        Rows (and arrived labels).
    shift
        Added to every numeric column, in standard deviations.
    flip
        Flip every label (accuracy drops from about 0.75 to about 0.25), or, as a number,
        that share of the labels.
    t
        The view's time.

    Examples
    --------
    >>> import numpy as np
    >>> v = make_view(np.random.default_rng(0), 4)
    >>> sorted(v.columns), v.n, v.n_labels
    (['c', 'x0', 'x1', 'x2'], 4, 4)
    """
    x = rng.normal(loc=shift, size=(3, n))
    c = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.5, 0.3, 0.2])
    scores = 1.0 / (1.0 + np.exp(-(x[0] + x[1])))
    labels = (rng.uniform(size=n) < scores).astype(np.int64)
    if flip is True:
        labels = 1 - labels
    elif flip:
        labels = np.where(rng.uniform(size=n) < flip, 1 - labels, labels)
    columns = {"x0": x[0], "x1": x[1], "x2": x[2], "c": c}
    # the proxies are the labels themselves (a perfect tie; no extra random draws)
    return View(
        t=t,
        columns=columns,
        scores=scores,
        labels=labels,
        label_scores=scores,
        proxies=labels.astype(np.float64),
    )


def make_stream(
    seed: int = 0, n_ticks: int = 5, *, shift: float = 0.0, flip: bool | float = False
) -> tuple[View, list[View]]:
    """A stationary reference view and `n_ticks` stream views (shifted if asked).

    Examples
    --------
    >>> ref, views = make_stream(0, 3)
    >>> ref.n, len(views), views[0].n
    (5000, 3, 500)
    """
    rng = np.random.default_rng(seed)
    reference = make_view(rng, REFERENCE_ROWS)
    views = [
        make_view(rng, TICK_ROWS, shift=shift, flip=flip, t=float(i + 1)) for i in range(n_ticks)
    ]
    return reference, views


def _n_out(det) -> int | None:
    return len(det.features_) if det.tags.per_feature else None


def _same_verdicts(a: list[Verdict], b: list[Verdict]) -> bool:
    if len(a) != len(b):
        return False
    for u, v in zip(a, b, strict=True):
        if u.alarm != v.alarm:
            return False
        for x, y in ((u.statistic, v.statistic), (u.threshold, v.threshold)):
            if not np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True):
                return False
    return True


def _run(det, views: list[View]) -> list[Verdict]:
    return [det.update(v) for v in views]


def check_clone_and_params_round_trip(det) -> None:
    """``clone()`` equals `det` by params and is unfitted; ``to_dict()`` rebuilds an equal one."""
    clone = det.clone()
    assert clone == det, f"{det!r}: clone() differs: {clone!r}"
    assert clone.get_params() == det.get_params(), f"{det!r}: clone() changed params"
    assert not clone.is_fitted, f"{det!r}: clone() is fitted"
    reference, _ = make_stream(0, 0)
    fitted = det.clone().fit(reference)
    refitted_clone = fitted.clone()
    assert not refitted_clone.is_fitted, f"{det!r}: clone() of a fitted detector is fitted"
    rebuilt = build(det.to_dict())
    assert type(rebuilt) is type(det), f"{det!r}: build(to_dict()) has type {type(rebuilt)}"
    assert rebuilt == det, f"{det!r}: build(to_dict()) differs: {rebuilt!r}"
    assert repr(rebuilt) == repr(det)


def check_update_before_fit(det) -> None:
    """``update`` before ``fit`` raises `NotFittedError`."""
    _, views = make_stream(0, 1)
    try:
        det.clone().update(views[0])
    except NotFittedError:
        return
    raise AssertionError(f"{det!r}: update before fit did not raise NotFittedError")


def _check_one(det, verdict: Verdict) -> None:
    assert isinstance(verdict, Verdict), f"{det!r}: update returned {type(verdict)}"
    assert type(verdict.alarm) is bool, f"{det!r}: alarm is {type(verdict.alarm)}"
    n_out = _n_out(det)
    for name in ("statistic", "threshold"):
        value = getattr(verdict, name)
        if n_out is None:
            assert isinstance(value, float), f"{det!r}: {name} is {type(value)}, not a float"
        else:
            assert isinstance(value, np.ndarray), f"{det!r}: {name} is not an array"
            assert value.shape == (n_out,), f"{det!r}: {name} shape {value.shape}"
            assert value.dtype == np.float64, f"{det!r}: {name} dtype {value.dtype}"


def check_verdict_shape(det) -> None:
    """Verdicts have the declared shape and dtype; ``alarm`` is a bool."""
    reference, views = make_stream(0, 4)
    d = det.clone().fit(reference)
    for view in views:
        _check_one(d, d.update(view))


def _snapshot(view: View) -> dict:
    return copy.deepcopy(
        {
            "columns": {k: np.array(v) for k, v in view.columns.items()},
            "scores": None if view.scores is None else np.array(view.scores),
            "labels": None if view.labels is None else np.array(view.labels),
            "label_scores": None if view.label_scores is None else np.array(view.label_scores),
        }
    )


def _same_snapshot(a: dict, b: dict) -> bool:
    if a["columns"].keys() != b["columns"].keys():
        return False
    pairs = [(a["columns"][k], b["columns"][k]) for k in a["columns"]]
    pairs += [(a[k], b[k]) for k in ("scores", "labels", "label_scores")]
    for x, y in pairs:
        if (x is None) != (y is None):
            return False
        if x is not None and not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return True


def check_inputs_not_mutated(det) -> None:
    """``fit`` and ``update`` leave their views' arrays as they were."""
    reference, views = make_stream(0, 3)
    before = [_snapshot(v) for v in (reference, *views)]
    d = det.clone().fit(reference)
    _run(d, views)
    after = [_snapshot(v) for v in (reference, *views)]
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert _same_snapshot(a, b), f"{det!r}: view {i} was mutated"


def check_deterministic(det) -> None:
    """The same data gives the same verdicts."""
    reference, views = make_stream(0, 6, shift=0.3)
    first = _run(det.clone().fit(reference), views)
    reference, views = make_stream(0, 6, shift=0.3)
    second = _run(det.clone().fit(reference), views)
    assert _same_verdicts(first, second), f"{det!r}: verdicts differ between identical runs"


def check_pickle_mid_stream(det) -> None:
    """A fitted detector pickled mid-stream gives the same next verdicts as the original."""
    reference, views = make_stream(0, 6, shift=0.3)
    d = det.clone().fit(reference)
    _run(d, views[:3])
    restored = pickle.loads(pickle.dumps(d))
    assert restored == d
    assert _same_verdicts(_run(d, views[3:]), _run(restored, views[3:])), (
        f"{det!r}: unpickled detector diverges"
    )


def check_fit_idempotent(det) -> None:
    """Fitting twice equals fitting once, and ``fit`` forgets an earlier stream."""
    reference, views = make_stream(0, 4, shift=0.5)
    other_reference, other_views = make_stream(1, 3)
    once = _run(det.clone().fit(reference), views)
    twice = det.clone().fit(reference).fit(reference)
    assert _same_verdicts(once, _run(twice, views)), f"{det!r}: fit twice != fit once"
    reused = det.clone().fit(other_reference)
    _run(reused, other_views)
    assert _same_verdicts(once, _run(reused.fit(reference), views)), (
        f"{det!r}: fit after a stream != fresh fit"
    )


def _reorder(view: View) -> View:
    columns = {k: view.columns[k] for k in reversed(list(view.columns))}
    return dataclasses.replace(view, columns=columns)


def check_column_order_invariance(det) -> None:
    """The verdicts do not depend on the order of the views' columns."""
    reference, views = make_stream(0, 4, shift=0.3)
    plain = _run(det.clone().fit(reference), views)
    reordered = _run(det.clone().fit(_reorder(reference)), [_reorder(v) for v in views])
    assert _same_verdicts(plain, reordered), f"{det!r}: column order changes the verdicts"


def _empty_like(view: View, n: int) -> View:
    def cut(a):
        return None if a is None else np.array(a[:n])

    return View(
        view.t,
        {k: cut(v) for k, v in view.columns.items()},
        cut(view.scores),
        cut(view.labels),
        cut(view.label_scores),
        proxies=cut(view.proxies),
    )


def check_empty_and_single_row(det) -> None:
    """Empty batches and batches of one row give well-formed verdicts, before and after warm-up."""
    reference, views = make_stream(0, 3)
    d = det.clone().fit(reference)
    for view in (_empty_like(views[0], 0), _empty_like(views[0], 1)):
        _check_one(d, d.update(view))
    _run(d, views)
    for view in (_empty_like(views[0], 0), _empty_like(views[0], 1)):
        _check_one(d, d.update(view))
    fresh = det.clone().fit(reference)
    verdict = fresh.update(_empty_like(views[0], 0))
    assert not verdict.alarm, f"{det!r}: alarm on an empty first batch"
    assert np.all(np.isnan(np.asarray(verdict.statistic, dtype=float))), (
        f"{det!r}: a statistic from no data"
    )


def check_stationary_h0(det) -> None:
    """On stationary data the alarm rate stays under `H0_MAX_ALARM_RATE`."""
    reference, views = make_stream(0, H0_TICKS)
    d = det.clone().fit(reference)
    rate = float(np.mean([v.alarm for v in _run(d, views)]))
    assert rate <= H0_MAX_ALARM_RATE, (
        f"{det!r}: alarm rate {rate:.3f} on stationary data > {H0_MAX_ALARM_RATE:.3f}"
    )


def check_detects_shift_h1(det) -> None:
    """A 3-standard-deviation shift (or flipped labels) alarms within `H1_MAX_TICKS` ticks."""
    watches = det.tags.watches
    reference, _ = make_stream(0, 0)
    _, views = make_stream(
        1,
        H1_MAX_TICKS,
        # proxies follow the labels, whose rate follows the shifted scores
        shift=H1_SHIFT if watches in (Watches.FEATURES, Watches.SCORES, Watches.PROXY) else 0.0,
        flip=watches is Watches.LABELS,
    )
    d = det.clone().fit(reference)
    alarms = [v.alarm for v in _run(d, views)]
    assert any(alarms), f"{det!r}: no alarm within {H1_MAX_TICKS} ticks of a large shift"


def check_threshold_moves_alarms(det) -> None:
    """The declared threshold parameter (`Tags.threshold`) moves alarms the declared way.

    On a stream with a small change (a tenth of a standard deviation; a fifth of the labels
    flipped) the detector runs at a ladder of settings from loose to strict (its value times
    or divided by 1/16, 1/4, 1, 4, 16, 256, as its `Tags.direction` says, skipping values it
    refuses); the number of alarming ticks must never rise as the setting gets stricter, and
    must fall somewhere along the ladder if the loosest setting alarmed at all.
    """
    tags = det.tags
    if tags.threshold is None:
        return
    from simlab.errors import ConfigError

    value = det.get_params()[tags.threshold]
    watches = tags.watches
    reference, _ = make_stream(0, 0)
    _, views = make_stream(
        2,
        30,
        shift=0.1 if watches in (Watches.FEATURES, Watches.SCORES, Watches.QUALITY) else 0.0,
        flip=0.2 if watches is Watches.LABELS else False,
    )
    counts = []
    for factor in (1 / 16, 1 / 4, 1.0, 4.0, 16.0, 256.0):  # from loose to strict
        setting = value * factor if tags.direction > 0 else value / factor
        try:
            d = det.clone(**{tags.threshold: setting}).fit(reference)
        except ConfigError:
            continue  # a value the detector refuses (outside its range): not on the ladder
        counts.append((setting, sum(v.alarm for v in _run(d, views))))
    alarms = [c for _, c in counts]
    assert alarms == sorted(alarms, reverse=True), (
        f"{det!r}: alarms at {tags.threshold} = {counts} do not fall as it gets stricter"
    )
    if alarms and alarms[0] > 0:
        assert alarms[-1] < alarms[0], f"{det!r}: {tags.threshold} changes nothing: {counts}"


_CHECKS: tuple[Callable, ...] = (
    check_clone_and_params_round_trip,
    check_update_before_fit,
    check_verdict_shape,
    check_inputs_not_mutated,
    check_deterministic,
    check_pickle_mid_stream,
    check_fit_idempotent,
    check_column_order_invariance,
    check_empty_and_single_row,
    check_stationary_h0,
    check_detects_shift_h1,
    check_threshold_moves_alarms,
)


def yield_detector_checks(det) -> Iterator[Callable]:
    """Yield every conformance check that applies to `det` (each takes the detector).

    Examples
    --------
    >>> from simlab.detectors import PSI
    >>> names = [c.__name__ for c in yield_detector_checks(PSI())]
    >>> "check_pickle_mid_stream" in names, len(names)
    (True, 12)
    """
    yield from _CHECKS


def check_detector(det) -> None:
    """Run every check of `yield_detector_checks` on `det`; raise on the first failure.

    Examples
    --------
    >>> from simlab.detectors import WindowedMetric
    >>> check_detector(WindowedMetric())
    """
    for check in yield_detector_checks(det):
        check(det)
