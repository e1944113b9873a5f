"""Shifts: bind a schedule to what moves — P(X), P(Y) or P(Y|X) — and nothing else."""

from __future__ import annotations

import math

import numpy as np

from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.params import Component, encode
from simlab.registry import Registry
from simlab.validation import check_real
from simlab.world._blend import cache_of, expanded, interpolator, recall, without_cache
from simlab.world.concepts import Concept
from simlab.world.schedules import Schedule

__all__ = ["SHIFTS", "ConceptShift", "CovariateShift", "LabelShift", "Shift"]

SHIFTS: Registry[Shift] = Registry("shift")


def _schedule(owner, schedule) -> Schedule:
    if not isinstance(schedule, Schedule):
        raise ConfigError("schedule", schedule, "a Schedule (sudden, gradual, ...)", owner=owner)
    return schedule


def _mixture_step(components, weight, blend, after_of, lerp):
    """Apply one shift to a mixture ``[(w, state), ...]`` at schedule weight `weight`.

    ``lerp(state, after, weight)`` returns the interpolated state, or None when the two
    cannot be interpolated (then the rows are mixed instead).
    """
    if weight <= 0.0:
        return components
    out = []
    for w, state in components:
        after = after_of(state)
        mid = None
        if weight >= 1.0:
            mid = after
        elif blend == "interpolate":
            mid = lerp(state, after, weight)
        if mid is not None:
            out.append((w, mid))
        else:
            out.append((w * (1.0 - weight), state))
            out.append((w * weight, after))
    return out


def _lerp_blocks(blocks, after, w):
    # a block the shift does not touch stays as it is; both sides are spelled out in full
    # so that a scalar mean (``mean=0.0``) lines up with a per-feature one. The spelled-out
    # blocks and the check that a pair can be interpolated are computed once per pair
    # (`_blend.interpolator`), not once per tick.
    movers = [
        None if a is b else interpolator(expanded(b), expanded(a))
        for b, a in zip(blocks, after, strict=True)
    ]
    if any(m is None for m, b, a in zip(movers, blocks, after, strict=True) if a is not b):
        return None
    return tuple(b if m is None else m(w) for m, b in zip(movers, blocks, strict=True))


def _lerp_concepts(before, after, w):
    move = interpolator(expanded(before), expanded(after))
    return None if move is None else move(w)


class Shift(Component):
    """Base: a schedule bound to one of P(X), P(Y), P(Y|X).

    Examples
    --------
    >>> from simlab.world import Sudden
    >>> s = LabelShift(prior=0.2, schedule=Sudden(start=5.0))
    >>> isinstance(s, Shift), s.kind.value
    (True, 'label_shift')
    """

    kind: EventKind
    schedule: Schedule
    features: tuple[str, ...] = ()

    def __getstate__(self):
        return without_cache(self)

    def magnitude(self) -> float:
        """A size of the change in the shift's own terms (nan if none applies)."""
        return math.nan

    def events(self, horizon: float, *, source: str = "", magnitude=None) -> list[Event]:
        """One ground-truth `Event` per episode of the schedule within `horizon`."""
        size = self.magnitude() if magnitude is None else magnitude
        return [
            Event(
                self.kind,
                s,
                e,
                source=source or self.name,
                features=tuple(self.features),
                magnitude=size,
                detail={"schedule": self.schedule.name},
            )
            for s, e in self.schedule.episodes(horizon)
        ]


@SHIFTS.register("covariate_shift")
class CovariateShift(Shift):
    """Covariate shift: P(X) of some features moves; P(Y|X) is untouched.

    Parameters
    ----------
    features
        The features whose distribution moves.
    schedule
        When and how (a `Schedule`).
    mean
        Added to the mean of each numeric feature (one number, or one per feature).
    scale
        Multiplies the spread of each numeric feature (> 0).
    corr
        New correlation between every pair of the (Gaussian) features, or None.
    p
        New category probabilities, for one categorical feature, or None.

    Examples
    --------
    >>> from simlab.world import Gaussian, Logistic, CausalWorld, Sudden
    >>> w = CausalWorld(
    ...     covariates=(Gaussian(features=("a", "b")),),
    ...     concept=Logistic(features=("a", "b"), coef=(1.0, -1.0)),
    ...     shifts=(CovariateShift(features=("a",), mean=2.0, schedule=Sudden(start=10.0)),),
    ... )
    >>> [(e.kind.value, e.start) for e in w.events(100.0)]
    [('covariate_shift', 10.0)]
    """

    kind = EventKind.COVARIATE_SHIFT

    def __init__(self, *, features, schedule: Schedule, mean=0.0, scale=1.0, corr=None, p=None):
        self.features = (features,) if isinstance(features, str) else tuple(features)
        self.schedule = schedule
        self.mean = mean
        self.scale = scale
        self.corr = corr
        self.p = p
        if not self.features:
            raise ConfigError("features", features, "at least one feature", owner="CovariateShift")
        if len(set(self.features)) != len(self.features):
            raise ConfigError(
                "features", features, "distinct feature names", owner="CovariateShift"
            )
        _schedule("CovariateShift", schedule)
        try:
            m = np.asarray(mean, dtype=float)
            s = np.asarray(scale, dtype=float)
        except (TypeError, ValueError):
            raise ConfigError(
                "mean/scale",
                (mean, scale),
                "numbers (one, or one per feature)",
                owner="CovariateShift",
            ) from None
        k = len(self.features)
        for key, value, arr in (("mean", mean, m), ("scale", scale, s)):
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != k):
                raise ConfigError(
                    key, value, f"one number, or {k} (one per feature)", owner="CovariateShift"
                )
        if not np.isfinite(m).all():
            raise ConfigError("mean", mean, "finite numbers", owner="CovariateShift")
        if not (np.isfinite(s).all() and (s > 0).all()):
            raise ConfigError("scale", scale, "factors > 0", owner="CovariateShift")
        if corr is not None and not (isinstance(corr, (int, float)) and -1.0 < corr < 1.0):
            raise ConfigError(
                "corr", corr, "None or a correlation in (-1, 1)", owner="CovariateShift"
            )
        if p is not None and len(self.features) != 1:
            raise ConfigError(
                "p", p, "category probabilities for exactly one feature", owner="CovariateShift"
            )
        if p is not None and not (np.all(m == 0) and np.all(s == 1) and corr is None):
            raise ConfigError(
                "p",
                p,
                "None when mean, scale or corr is given (p shifts a categorical feature; "
                "use a second CovariateShift for numeric ones)",
                owner="CovariateShift",
            )
        no_change = np.all(m == 0) and np.all(s == 1) and corr is None and p is None
        if no_change:
            raise ConfigError(
                "mean",
                mean,
                "a change: a mean, scale, corr or p that differs from no shift",
                owner="CovariateShift",
            )

    def magnitude(self):
        """The largest mean shift, in the feature's units; nan when the mean does not move.

        A shift of scale, correlation or category frequencies has no single size here;
        the event's detail carries its parameters.
        """
        size = float(np.max(np.abs(np.asarray(self.mean, dtype=float))))
        return size if size > 0 else float("nan")

    def events(self, horizon: float, *, source: str = "", magnitude=None) -> list:
        out = super().events(horizon, source=source, magnitude=magnitude)
        detail = {"mean": self.mean, "scale": self.scale, "corr": self.corr, "p": self.p}
        detail = {k: encode(v) for k, v in detail.items() if v is not None}
        for event in out:
            event.detail.update(detail)
        return out

    def after(self, blocks: tuple) -> tuple:
        """The covariate blocks after the shift is complete."""
        # The same input blocks come back every tick: remember the answers used most
        # recently, by the identity of the blocks (`_blend.recall`), and the last one
        cache = cache_of(self)
        last = cache.get("after_last")
        if last is not None and last[0] is blocks:  # the same tuple as last time
            return last[1]
        out = recall(cache.setdefault("after", {}), tuple(blocks), lambda: self._after(blocks))
        cache["after_last"] = (blocks, out)
        return out

    def _after(self, blocks: tuple) -> tuple:
        if self.corr is not None and not any(
            sum(f in b.features for f in self.features) >= 2 for b in blocks
        ):
            raise ConfigError(
                "corr",
                self.corr,
                "None unless two or more of the shifted features share one Gaussian block "
                "(a correlation needs a pair)",
                owner="CovariateShift",
            )
        out = []
        for block in blocks:
            mine = [f for f in self.features if f in block.features]
            if not mine:
                out.append(block)
                continue
            idx = [self.features.index(f) for f in mine]
            mean = np.broadcast_to(np.asarray(self.mean, dtype=float), (len(self.features),))[idx]
            scale = np.broadcast_to(np.asarray(self.scale, dtype=float), (len(self.features),))
            kwargs = {"mean": tuple(mean), "scale": tuple(scale[idx]), "corr": self.corr}
            if self.p is not None:
                kwargs = {"p": self.p}
            out.append(block.shifted(tuple(mine), **kwargs))
        return tuple(out)

    def step(self, components, t):
        """Apply the shift at time `t` to a covariate mixture ``[(w, blocks), ...]``."""
        w = float(self.schedule.weight(t))
        return _mixture_step(components, w, self.schedule.blend, self.after, _lerp_blocks)


@SHIFTS.register("label_shift")
class LabelShift(Shift):
    """Label shift: the class prior P(Y=1) moves to `prior`; P(X|Y) is untouched.

    Needs an `AnticausalWorld` (Y is drawn first, then X given Y).

    Parameters
    ----------
    prior
        P(Y=1) once the shift is complete, in [0, 1].
    schedule
        When and how.

    Examples
    --------
    >>> from simlab.world import Gradual
    >>> LabelShift(prior=0.2, schedule=Gradual(start=0.0, width=10.0)).prior_at(0.5, 5.0)
    0.35
    """

    kind = EventKind.LABEL_SHIFT

    def __init__(self, *, prior: float, schedule: Schedule):
        self.prior = prior
        self.schedule = schedule
        check_real("LabelShift", "prior", prior, low=0.0, high=1.0, open_high=False)
        _schedule("LabelShift", schedule)

    def prior_at(self, before: float, t: float) -> float:
        """P(Y=1) at time `t`, given the prior `before` the shift."""
        w = float(self.schedule.weight(t))
        return float(round((1.0 - w) * before + w * self.prior, 15))


@SHIFTS.register("concept_shift")
class ConceptShift(Shift):
    """Concept shift: P(Y|X) moves (to another concept, or by rotating weights); P(X) is untouched.

    With an ``"interpolate"`` schedule (incremental, seasonal) the parameters move when
    both concepts share a family and structure; otherwise P(Y|x) is the mixture
    ``(1 - w) p_before(x) + w p_after(x)``, which is exactly river's row-wise mixing.

    Parameters
    ----------
    schedule
        When and how.
    after
        The concept once the shift is complete.
    rotate
        Or: rotate the concept's weight vector by this many degrees (logistic, linear, hyperplane).

    Examples
    --------
    >>> from simlab.world import Sudden, SEA
    >>> ConceptShift(after=SEA(threshold=9.0), schedule=Sudden(start=5.0)).after.threshold
    9.0
    """

    kind = EventKind.CONCEPT_SHIFT

    def __init__(self, *, schedule: Schedule, after: Concept | None = None, rotate=None):
        self.schedule = schedule
        self.after = after
        self.rotate = rotate
        _schedule("ConceptShift", schedule)
        if (after is None) == (rotate is None):
            raise ConfigError(
                "after",
                after,
                "either a concept or rotate=degrees (exactly one)",
                owner="ConceptShift",
            )
        if after is not None and not isinstance(after, Concept):
            raise ConfigError("after", after, "a Concept", owner="ConceptShift")
        if rotate is not None and not (
            isinstance(rotate, (int, float)) and math.isfinite(rotate) and rotate % 360 != 0
        ):
            raise ConfigError(
                "rotate", rotate, "a finite, non-zero angle in degrees", owner="ConceptShift"
            )

    def step(self, components, t, after_of):
        """Apply the shift at time `t` to a concept mixture ``[(w, concept), ...]``."""
        w = float(self.schedule.weight(t))
        return _mixture_step(components, w, self.schedule.blend, after_of, _lerp_concepts)

    def target(self, before: Concept) -> Concept:
        """The concept after the shift, given the one before."""
        after = before.rotated(self.rotate) if self.after is None else self.after
        if after.task != before.task:
            raise ConfigError(
                "after",
                self.after,
                f"a {before.task.value} concept like the one before",
                owner="ConceptShift",
            )
        return after

    def magnitude(self):
        return float(self.rotate) if self.rotate is not None else math.nan
