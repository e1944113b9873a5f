"""Selective labels: outcomes are observed only for the rows the model's decision acted on.

A lender learns whether an approved applicant repaid, never whether a rejected one would have;
a fraud team confirms only the transactions it flagged. The model's own decisions choose its
next training data, and the rows it sees labels for are not the rows it serves.
"""

from __future__ import annotations

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.rng import Rngs
from simlab.world.base import Response, WorldWrapper, respond
from simlab.world.concepts import Logistic
from simlab.world.covariates import Gaussian, Uniform
from simlab.world.worlds import WORLDS, CausalWorld

__all__ = ["SelectiveLabels", "lending"]

_OBSERVED = ("acted", "not_acted")


@WORLDS.register("selective_labels")
class SelectiveLabels(WorldWrapper):
    """A world whose outcomes reach the team only for rows the decision acted on (or did not).

    The rows and their outcomes are the inner world's; the response marks as labelled only
    the rows on the `observed` side of the decision, with the label propensity the decision
    gave them (so inverse-propensity weights can undo the selection when the rule explores).
    The true metric still sees every outcome (the simulator knows what the rejected would
    have done); the observed metric, monitors and retraining see only the labelled rows.

    Parameters
    ----------
    world
        The world whose outcomes are selectively observed.
    observed
        ``"acted"``: labels only for rows acted on (approved loans, flagged transactions);
        ``"not_acted"``: only for rows left alone.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.decisions import Threshold
    >>> from simlab.world import sea
    >>> w = SelectiveLabels(world=sea())
    >>> b = w.sample(4, 0.0, rng=0)
    >>> r = w.respond(b, Threshold().decide(np.array([0.9, 0.1, 0.8, 0.2])), Rngs(0))
    >>> r.labelled.tolist()
    [True, False, True, False]
    """

    def __init__(self, *, world, observed: str = "acted"):
        super().__init__(world=world)
        self.observed = observed
        if observed not in _OBSERVED:
            raise ConfigError(
                "observed", observed, f"one of {list(_OBSERVED)}", owner="SelectiveLabels"
            )

    def respond(self, batch: Batch, decision, rng: Rngs) -> Response:
        """Outcomes as the inner world answers; labels only on the observed side."""
        inner = respond(self.world, batch, decision, rng)
        if decision.n != batch.n:
            raise ConfigError(
                "decision", decision.n, f"one action per row ({batch.n})", owner="SelectiveLabels"
            )
        acted = decision.action == 1
        if self.observed == "acted":
            side, p_side = acted, decision.p_act
        else:
            side, p_side = ~acted, 1.0 - decision.p_act
        labelled = inner.labelled & side
        return Response(inner.y, labelled, inner.label_propensity * p_side)


@WORLDS.register("lending")
def lending(*, shifts=(), observed: str = "acted") -> SelectiveLabels:
    """A lending world with selective labels: y = 1 when the applicant repays.

    Applicants have an income (kUSD), a debt-to-income ratio and a credit history length
    (years). The log-odds of repaying rise with income and history and fall with the debt
    ratio, faster as it grows (a curve: ``-2 d - 8 d²``), so a linear model trained on
    approved applicants only, who have low debt ratios, extrapolates poorly to the rest.
    About 70% of applicants would repay. Repayment is observed only for approved loans.

    Parameters
    ----------
    shifts
        Shifts of the applicant population or of repayment behaviour.
    observed
        As for `SelectiveLabels`.

    Examples
    --------
    >>> w = lending()
    >>> b = w.sample(20000, 0.0, rng=0)
    >>> b.names, round(float(b.y.mean()), 2)
    (('income', 'debt_ratio', 'history_years'), 0.7)
    """
    features = ("income", "debt_ratio", "history_years")
    return SelectiveLabels(
        world=CausalWorld(
            covariates=(
                Gaussian(features=("income",), mean=55.0, scale=18.0, units="kUSD"),
                Gaussian(features=("debt_ratio",), mean=0.35, scale=0.12),
                Uniform(features=("history_years",), low=0.0, high=30.0, units="years"),
            ),
            concept=Logistic(
                features=features,
                coef=(0.035, -2.0, 0.05),
                intercept=0.2,
                quadratic=(0.0, -8.0, 0.0),
            ),
            shifts=shifts,
        ),
        observed=observed,
    )
