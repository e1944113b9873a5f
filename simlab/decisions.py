"""Decisions: what the deployed model's scores make happen, one tick's rows at a time.

A decision rule turns a tick's scores into actions: act on a row (approve the loan, show the
item, flag the transaction) or not. Each row's *propensity* (the probability that the rule acts
on it, given the tick's scores) is recorded beside the action, so that estimates from the rows
that were acted on can be reweighted to the whole population (inverse-propensity weighting).
Deterministic rules have propensities 0 or 1; `Explore` mixes in random actions and so gives
every row a chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlab.batch import constant, readonly
from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_int, check_real

__all__ = [
    "DECISIONS",
    "Budget",
    "Decision",
    "DecisionRule",
    "Explore",
    "Threshold",
    "TopK",
    "TopShare",
]

DECISIONS: Registry = Registry("decision")


@dataclass(frozen=True, slots=True)
class Decision:
    """What a decision rule did with one tick's rows.

    Parameters
    ----------
    action
        1 where the rule acted on the row, 0 elsewhere (``int8``).
    p_act
        The probability that the rule acts on the row, given the tick's scores.
    explored
        True where the action was drawn at random (exploration) rather than by the rule.
    rank
        The row's position in its slate (0 = top) for ranking rules, -1 where it was not
        ranked; None for rules that do not rank.

    Examples
    --------
    >>> import numpy as np
    >>> d = Threshold(threshold=0.5).decide(np.array([0.2, 0.7, 0.9]))
    >>> d.action.tolist(), d.n_acted, d.propensity.tolist()
    ([0, 1, 1], 2, [1.0, 1.0, 1.0])
    """

    action: np.ndarray
    p_act: np.ndarray
    explored: np.ndarray
    rank: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "action", readonly(np.asarray(self.action, dtype=np.int8)))
        object.__setattr__(self, "p_act", readonly(np.asarray(self.p_act, dtype=np.float64)))
        object.__setattr__(self, "explored", readonly(np.asarray(self.explored, dtype=bool)))
        if self.rank is not None:
            object.__setattr__(self, "rank", readonly(np.asarray(self.rank, dtype=np.int64)))
        n = self.action.shape[0]
        for name in ("p_act", "explored", "rank"):
            value = getattr(self, name)
            if value is not None and value.shape != (n,):
                raise ConfigError(name, value.shape, f"shape ({n},) like action", owner="Decision")

    @property
    def n(self) -> int:
        """Rows decided."""
        return int(self.action.shape[0])

    @property
    def n_acted(self) -> int:
        """Rows acted on."""
        return int(np.count_nonzero(self.action))

    @property
    def propensity(self) -> np.ndarray:
        """The probability of the action each row actually got."""
        return np.where(self.action == 1, self.p_act, 1.0 - self.p_act)

    @classmethod
    def deterministic(cls, action: np.ndarray, rank: np.ndarray | None = None) -> Decision:
        """A decision whose every action was certain (propensities 0 or 1).

        Examples
        --------
        >>> import numpy as np
        >>> Decision.deterministic(np.array([True, False])).p_act.tolist()
        [1.0, 0.0]
        """
        action = np.asarray(action)
        action = action.view(np.int8) if action.dtype == bool else action.astype(np.int8)
        return cls(action, action.astype(np.float64), constant(action.shape[0], False, bool), rank)


class DecisionRule(Component):
    """Base of decision rules: ``decide(scores, columns=None, rng=None) -> Decision``.

    `scores` are the model's scores for the tick's rows (NaN where the request failed: such a
    row is never acted on by a rule, though `Explore` may act on it at random); `columns` are
    the tick's upstream columns (for rules that group rows); `rng` is the rule's own random
    stream (for rules that draw).

    Examples
    --------
    >>> isinstance(Threshold(), DecisionRule)
    True
    """

    def decide(self, scores, columns=None, rng=None) -> Decision:
        raise NotImplementedError


def _scores(scores) -> np.ndarray:
    return np.asarray(scores, dtype=np.float64)


def _top(s: np.ndarray, k: int) -> np.ndarray:
    """1 for the `k` highest scores (ties broken by row order; NaN never chosen)."""
    action = np.zeros(s.shape[0], dtype=np.int8)
    scored = np.flatnonzero(~np.isnan(s))
    k = min(k, scored.size)
    if k > 0:
        order = np.argsort(-s[scored], kind="stable")
        action[scored[order[:k]]] = 1
    return action


@DECISIONS.register("threshold")
class Threshold(DecisionRule):
    """Act on every row whose score is at least `threshold` (the classic 0.5 cut-off).

    Parameters
    ----------
    threshold
        The cut-off on the score.

    Examples
    --------
    >>> import numpy as np
    >>> Threshold(threshold=0.8).decide(np.array([0.5, 0.8, np.nan])).action.tolist()
    [0, 1, 0]
    """

    def __init__(self, *, threshold: float = 0.5):
        self.threshold = threshold
        check_real("Threshold", "threshold", threshold)

    def decide(self, scores, columns=None, rng=None) -> Decision:
        return Decision.deterministic(_scores(scores) >= self.threshold)


@DECISIONS.register("top_share")
class TopShare(DecisionRule):
    """Act on the top `share` of each tick's rows by score (approve the best 30% of applicants).

    The number acted on is ``round(share * n)`` of the tick's ``n`` rows (at most the rows
    that have a score); ties are broken by row order.

    Parameters
    ----------
    share
        The share of rows acted on, in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> TopShare(share=0.5).decide(np.array([0.1, 0.9, 0.4, 0.6])).action.tolist()
    [0, 1, 0, 1]
    """

    def __init__(self, *, share: float):
        self.share = share
        check_real("TopShare", "share", share, low=0.0, high=1.0, open_low=True, open_high=False)

    def decide(self, scores, columns=None, rng=None) -> Decision:
        s = _scores(scores)
        return Decision.deterministic(_top(s, int(np.floor(self.share * s.shape[0] + 0.5))))


@DECISIONS.register("budget")
class Budget(DecisionRule):
    """Act on at most `per_tick` rows each tick, the highest-scoring ones (a fixed capacity).

    Parameters
    ----------
    per_tick
        Rows acted on per tick (fewer when fewer rows have a score).

    Examples
    --------
    >>> import numpy as np
    >>> Budget(per_tick=1).decide(np.array([0.1, 0.9, 0.4])).action.tolist()
    [0, 1, 0]
    """

    def __init__(self, *, per_tick: int):
        self.per_tick = per_tick
        check_int("Budget", "per_tick", per_tick, 0)

    def decide(self, scores, columns=None, rng=None) -> Decision:
        return Decision.deterministic(_top(_scores(scores), self.per_tick))


@DECISIONS.register("top_k")
class TopK(DecisionRule):
    """A slate per group: act on the `k` highest-scoring rows of each value of `group`.

    Each row of the tick is a candidate (a user-item pair, say); the rows of one group (one
    user) compete for its `k` slots. The decision's ``rank`` is each row's position in its
    group's ranking (0 = top slot), -1 for rows without a score.

    Parameters
    ----------
    k
        Slots per group.
    group
        The column whose values define the groups; None puts every row in one slate.

    Examples
    --------
    >>> import numpy as np
    >>> cols = {"user": np.array(["a", "a", "a", "b", "b"])}
    >>> d = TopK(k=1, group="user").decide(np.array([0.2, 0.9, 0.5, 0.3, 0.1]), cols)
    >>> d.action.tolist(), d.rank.tolist()
    ([0, 1, 0, 1, 0], [2, 0, 1, 0, 1])
    """

    def __init__(self, *, k: int, group: str | None = None):
        self.k = k
        self.group = group
        check_int("TopK", "k", k, 1)
        if group is not None and not isinstance(group, str):
            raise ConfigError("group", group, "None or a column name", owner="TopK")

    def decide(self, scores, columns=None, rng=None) -> Decision:
        s = _scores(scores)
        n = s.shape[0]
        if self.group is None:
            keys = np.zeros(n, dtype=np.int64)
        else:
            if columns is None or self.group not in columns:
                have = [] if columns is None else sorted(columns)
                raise ConfigError("group", self.group, f"one of the columns {have}", owner="TopK")
            _, keys = np.unique(np.asarray(columns[self.group]), return_inverse=True)
        scored = ~np.isnan(s)
        # sort by group, then score (highest first; unscored last), then row order
        order = np.lexsort((np.arange(n), np.where(scored, -s, np.inf), keys))
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        first = np.repeat(starts, np.diff(np.r_[starts, n]))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - first
        rank[~scored] = -1
        return Decision.deterministic((rank >= 0) & (rank < self.k), rank=rank)


@DECISIONS.register("explore")
class Explore(DecisionRule):
    """Exploration: each row, with probability `epsilon`, gets a random action instead.

    The rule's action is kept with probability ``1 - epsilon``; otherwise the row is acted on
    with probability `p_random`. Every row's propensity is then known exactly,
    ``P(act) = (1 - epsilon) * rule + epsilon * p_random``, which is what inverse-propensity
    estimates need: with ``epsilon > 0`` and ``p_random > 0`` every row has a chance to be
    acted on (and so, in a selective-labels world, to be labelled).

    Parameters
    ----------
    rule
        The rule being explored around.
    epsilon
        The share of rows whose action is random, in [0, 1].
    p_random
        The probability of acting in a random action, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> rule = Explore(rule=TopShare(share=0.5), epsilon=0.2, p_random=1.0)
    >>> d = rule.decide(np.array([0.1, 0.9]), rng=np.random.default_rng(0))
    >>> d.p_act.round(2).tolist()
    [0.2, 1.0]
    """

    def __init__(self, *, rule: DecisionRule, epsilon: float = 0.1, p_random: float = 0.5):
        self.rule = rule
        self.epsilon = epsilon
        self.p_random = p_random
        if not isinstance(rule, DecisionRule):
            raise ConfigError("rule", rule, "a decision rule (threshold, top_share, ...)")
        check_real("Explore", "epsilon", epsilon, low=0.0, high=1.0, open_high=False)
        check_real("Explore", "p_random", p_random, low=0.0, high=1.0, open_high=False)

    def decide(self, scores, columns=None, rng=None) -> Decision:
        if rng is None:
            raise ConfigError("rng", None, "a numpy Generator (Explore draws)", owner="Explore")
        base = self.rule.decide(scores, columns, rng)
        n = base.n
        explored = rng.random(n) < self.epsilon
        random_action = rng.random(n) < self.p_random
        action = np.where(explored, random_action, base.action)
        p_act = (1.0 - self.epsilon) * base.p_act + self.epsilon * self.p_random
        return Decision(action, p_act, explored | base.explored, base.rank)
