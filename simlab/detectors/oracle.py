"""The oracle: a likelihood-ratio CUSUM that knows the world's true densities before and after.

No monitor can detect a change faster, at the same false-alarm rate, than a CUSUM of the
log-likelihood ratio between the true pre- and post-change distributions (Lorden 1971;
Moustakides 1986 proved it optimal). Its delay at in-control average run length ARL0 is
about ``log(ARL0) / KL(post || pre)`` observations, the floor against which every real
detector's delay is reported as a ratio.

The oracle reads the world itself (``world.logpdf(columns, t)``, the density of P(X) at
hour `t`), so it exists only in simulation, for changes the world can write down: covariate
shift in a causal world, label shift in an anticausal one (where P(X) moves with the prior).
A concept drift leaves P(X) alone and has no oracle on features.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.errors import ConfigError
from simlab.validation import check_real
from simlab.world.schema import Kind

__all__ = ["OracleCUSUM"]


@DETECTORS.register("oracle_cusum")
class OracleCUSUM(BaseDetector):
    r"""A CUSUM of the true log-likelihood ratio of each tick's rows, after against before.

    Parameters
    ----------
    world
        The world the rows come from; it must know its density (``logpdf(columns, t)``):
        `CausalWorld`, `AnticausalWorld`, or a wrapper that leaves their rows alone.
    before, after
        Hours at which the world is in its pre-change and post-change state (for a sudden
        change at hour ``s``: any ``before < s <= after``; for a ramp, its two ends).
    threshold
        The CUSUM alarms when its statistic exceeds this (in nats); larger is rarer.

    Attributes
    ----------
    features_
        The world's features (the columns it reads).
    cusum_
        The running statistic.

    Notes
    -----
    For the rows ``x_1..x_m`` of a tick, ``L = Σ log p_after(x_i) − log p_before(x_i)``, and
    ``S ← max(0, S + L)``; the verdict alarms when ``S > threshold`` and the statistic then
    restarts from 0 (so each alarm is one tick, as for the sequential detectors). A row with
    a missing or unparseable value, or one impossible under both states (an unseen
    category), carries no likelihood ratio and is skipped; a column the tick lacks is all
    missing. The reference is not used: the oracle knows the truth.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.world import CovariateShift, Sudden, logistic
    >>> w = logistic(n_features=2, shifts=(
    ...     CovariateShift(features=("x0",), mean=0.5, schedule=Sudden(start=10.0)),))
    >>> det = OracleCUSUM(world=w, before=0.0, after=10.0, threshold=5.0).fit(View())
    >>> v = [det.update(View(columns=w.sample(200, t, rng=0).columns)).alarm for t in (1.0, 11.0)]
    >>> v
    [False, True]
    """

    tags: ClassVar[Tags] = Tags(
        watches=Watches.FEATURES, threshold="threshold", direction=1, restarts=True
    )

    def __init__(self, *, world, before: float, after: float, threshold: float = 10.0):
        self.world = world
        self.before = before
        self.after = after
        self.threshold = threshold
        owner = "OracleCUSUM"
        if not (hasattr(world, "logpdf") and hasattr(world, "schema")):
            raise ConfigError(
                "world", world, "a world that knows its density (logpdf(columns, t))", owner=owner
            )
        if getattr(world, "alters_rows", False):
            raise ConfigError(
                "world",
                world,
                "a world whose rows have a known density (a faulted world's do not)",
                owner=owner,
            )
        check_real(owner, "before", before)
        check_real(owner, "after", after)
        check_real(owner, "threshold", threshold, low=0.0)
        if not after > before:
            raise ConfigError("after", after, f"a time after before={before}", owner=owner)

    @classmethod
    def _test_params(cls) -> list[dict]:
        # the conformance stream's world: x0..x2 standard normal, c in a/b/c; the oracle
        # knows a change of +0.1 in every numeric feature at hour 1
        from simlab.world import (
            Categorical,
            CausalWorld,
            CovariateShift,
            Gaussian,
            Logistic,
            Sudden,
        )

        names = ("x0", "x1", "x2")
        world = CausalWorld(
            covariates=(
                Gaussian(features=names),
                Categorical(feature="c", categories=("a", "b", "c"), p=(0.5, 0.3, 0.2)),
            ),
            concept=Logistic(features=("x0", "x1"), coef=(1.0, 1.0)),
            shifts=(CovariateShift(features=names, mean=0.1, schedule=Sudden(start=1.0)),),
        )
        return [{"world": world, "before": 0.0, "after": 1.0}]

    def _fit(self, reference: View) -> None:
        self.features_ = tuple(self.world.schema.names)
        self.cusum_ = 0.0

    def _columns(self, view: View) -> dict:
        n = view.n
        out = {}
        for spec in self.world.schema:
            col = view.columns.get(spec.name)
            if spec.kind is Kind.NUMERIC:
                if col is None:
                    col = np.full(n, np.nan)
                else:
                    try:
                        col = np.asarray(col, dtype=float)
                    except (TypeError, ValueError):
                        col = np.full(n, np.nan)  # not numbers (a type change): no ratio
            elif col is None:
                col = np.full(n, "")
            out[spec.name] = col
        return out

    def _update(self, view: View) -> Verdict:
        if view.n == 0:
            return Verdict(statistic=np.nan, threshold=float(self.threshold), alarm=False)
        columns = self._columns(view)
        with np.errstate(invalid="ignore"):
            llr = self.world.logpdf(columns, self.after) - self.world.logpdf(columns, self.before)
        llr = llr[~np.isnan(llr)]
        if not llr.size:
            return Verdict(statistic=np.nan, threshold=float(self.threshold), alarm=False)
        with np.errstate(invalid="ignore"):
            total = float(llr.sum())
        if np.isnan(total):  # +inf and -inf in one tick: certain both ways, no information
            total = 0.0
        s = max(0.0, self.cusum_ + total)
        alarm = s > self.threshold
        self.cusum_ = 0.0 if alarm else s
        return Verdict(statistic=s, threshold=float(self.threshold), alarm=alarm)
