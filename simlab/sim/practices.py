"""Deployment practices: a champion and challengers on live traffic (shadow, A/B, canary).

A *challenger* is a second model beside the deployed *champion*:

- `Shadow`: scores every row; its decisions are never acted on, so the run is the one
  without it (bit for bit, apart from the challenger's own variables). Its score
  distribution is compared at once, its metric when labels arrive.
- `ABTest`: a random share of traffic is decided by the challenger; an always-valid
  sequential test (a mixture SPRT) compares the arms on arrived labels or on a fast proxy
  and promotes the challenger or stops the test, and a guard rail stops it early when an
  upper bound on the harm it has done reaches a budget.
- `Canary`: a new version takes a small share, then larger ones, and is rolled back as soon
  as the guard rail fires, or promoted after the last stage.

Every promotion, stop and rollback is an event in the Run. The Run gets, on a
``challenger`` dim, each challenger's traffic share, its true and observed metrics, its
score histogram, the test's statistic and its true harm (excess errors on the rows it
decided, against the champion's decisions on the same rows: the simulator knows both).
"""

from __future__ import annotations

import math

import numpy as np

from simlab.errors import ConfigError
from simlab.events import Event, EventKind
from simlab.models import ModelAdapter
from simlab.params import Component
from simlab.registry import Registry
from simlab.scoring import (
    CUTOFF,
    N_AUC_BINS,
    binary_sums,
    binary_sums_into,
    coarse_scores,
    regression_sums,
    row_values,
)
from simlab.sim.labels import _kernels
from simlab.validation import as_tuple, check_bool, check_int, check_real

__all__ = ["PRACTICES", "ABTest", "Canary", "Practice", "Shadow", "msprt"]

PRACTICES: Registry = Registry("practice")

_SIGNALS = ("labels", "proxy", "both")


def msprt(mean_a, n_a, mean_b, n_b, *, tau: float) -> float:
    r"""Log of the mixture SPRT statistic for the difference of two means (normal approximation).

    With ``Δ̂ = mean_b − mean_a``, the pooled Bernoulli variance ``σ̂² = p̄(1 − p̄)`` and
    ``V = σ̂² (1/n_a + 1/n_b)``, a ``N(0, τ²)`` mixture over the true difference gives

    .. math:: \log Λ = \tfrac12 \log\frac{V}{V + τ²} + \frac{Δ̂² τ²}{2 V (V + τ²)}.

    Rejecting "no difference" the first time ``Λ ≥ 1/α`` keeps the false-positive rate at
    most ``α`` however often the test is looked at (Robbins 1970; Johari et al. 2017):
    the test can be monitored continuously. -inf until both arms have data.

    Examples
    --------
    >>> round(msprt(0.20, 5000, 0.20, 5000, tau=0.05), 2)  # no difference: evidence < 0
    -1.85
    >>> msprt(0.20, 5000, 0.26, 5000, tau=0.05) > math.log(1 / 0.05)  # a clear one
    True
    """
    if n_a <= 0 or n_b <= 0:
        return -math.inf
    pooled = (mean_a * n_a + mean_b * n_b) / (n_a + n_b)
    var = max(pooled * (1.0 - pooled), 1e-12) * (1.0 / n_a + 1.0 / n_b)
    diff = mean_b - mean_a
    t2 = tau * tau
    return 0.5 * math.log(var / (var + t2)) + diff * diff * t2 / (2.0 * var * (var + t2))


class Practice(Component):
    """Base of the deployment practices: a challenger model and when it starts.

    Parameters
    ----------
    model
        The challenger (a `ModelAdapter`).
    start_hours
        When it starts. At 0 it is trained on the scenario's history, as the champion is;
        later, on the labelled rows that arrived over the last `window_hours`.
    window_hours
        Its training window when it starts after hour 0.
    label
        Its name in the Run (``challenger`` coordinate) and in events.

    Examples
    --------
    >>> Shadow().share_at(10.0), Shadow().label
    (0.0, 'shadow')
    """

    #: The traffic share the practice decides at hour `t` while it runs (0: none).
    def share_at(self, t: float) -> float:
        return 0.0

    def _check_common(self, owner: str) -> None:
        if not isinstance(self.model, ModelAdapter):
            raise ConfigError("model", self.model, "a ModelAdapter", owner=owner)
        check_real(owner, "start_hours", self.start_hours, low=0.0)
        check_real(owner, "window_hours", self.window_hours, low=0.0, open_low=True)
        if not isinstance(self.label, str) or not self.label:
            raise ConfigError("label", self.label, "a non-empty string", owner=owner)
        check_int(owner, "min_samples", self.min_samples, 1)

    def _check_test(self, owner: str) -> None:
        """The sequential test's parameters (`Shadow` with promotion, `ABTest`)."""
        check_real(owner, "alpha", self.alpha, low=0.0, high=1.0, open_low=True)
        check_real(owner, "tau", self.tau, low=0.0, open_low=True)


@PRACTICES.register("shadow")
class Shadow(Practice):
    """A shadow deployment: the challenger scores every row, and nothing it says is acted on.

    With ``promote=True`` it is the *shadow-then-promote* practice: the shadow and the
    champion are compared on the labels that arrive (both scored every row, so both are
    judged on the same rows) by the always-valid test of `ABTest` (`msprt`), and the shadow
    is promoted when it is better. With `every_hours`, a fresh candidate is trained every
    period on the labelled rows of the last `window_hours`, and shadowed in turn.

    Parameters
    ----------
    model, start_hours, window_hours, label
        As for `Practice`.
    promote
        Promote the shadow when the test finds it better than the champion.
    every_hours
        Train a new candidate every this many hours (None: one candidate).
    alpha, tau, min_samples
        The test (as for `ABTest`).

    Examples
    --------
    >>> import simlab
    >>> from simlab.models import ModelAdapter
    >>> from simlab.sim import Scenario
    >>> from simlab.world import sea
    >>> shadow = Shadow(model=ModelAdapter(estimator="decision_tree"))
    >>> run = simlab.simulate(Scenario(world=sea(), horizon_hours=48, challengers=(shadow,)))
    >>> run.challenger.values.tolist(), float(run.challenger_share.max())
    (['shadow'], 0.0)
    """

    def __init__(
        self,
        *,
        model: ModelAdapter | None = None,
        promote: bool = False,
        every_hours: float | None = None,
        alpha: float = 0.05,
        tau: float = 0.05,
        min_samples: int = 200,
        start_hours: float = 0.0,
        window_hours: float = 168.0,
        label: str = "shadow",
    ):
        self.model = ModelAdapter() if model is None else model
        self.promote = promote
        self.every_hours = every_hours
        self.alpha = alpha
        self.tau = tau
        self.min_samples = min_samples
        self.start_hours = start_hours
        self.window_hours = window_hours
        self.label = label
        self._check_common("Shadow")
        check_bool("Shadow", "promote", promote)
        if every_hours is not None:
            check_real("Shadow", "every_hours", every_hours, low=0.0, open_low=True)
        self._check_test("Shadow")


class _Guarded(Practice):
    """What `ABTest` and `Canary` share: a guard rail on the harm the challenger does."""

    def _check_guard(self, owner: str) -> None:
        if self.budget is not None:
            check_real(owner, "budget", self.budget, low=0.0, open_low=True)
        check_real(owner, "guard_alpha", self.guard_alpha, low=0.0, high=1.0, open_low=True)


@PRACTICES.register("ab_test")
class ABTest(_Guarded):
    """An A/B test: a random share of traffic is decided by the challenger.

    Each row goes to the challenger's arm with probability `share` (from the practice's own
    random stream). The arms are compared by an always-valid sequential test (`msprt`) on
    arrived labels (``signal="labels"``: each arm's accuracy on the rows it decided), on
    the proxy outcome (``signal="proxy"``, for worlds that emit one: the proxy rate of each
    arm's rows, higher is better), or on both (``"both"``: each at level ``alpha / 2``, the
    first to decide decides). When the test rejects "no difference" at level `alpha` the
    challenger is promoted (if it is better and `promote`) or the test stops.

    The guard rail stops the test when an upper bound on the challenger's harm reaches
    `budget` excess errors: rows of its arm whose labels arrived, or will never arrive,
    count at an upper bound of the arms' difference in error rate (each arm's rate within
    Hoeffding's ``sqrt(ln(2/guard_alpha) / 2n)``: valid for any number of labels, 1 before
    both arms have one), and rows whose labels are still on their way count as errors.
    So the bound holds, whatever the label delay, with probability at least about
    ``1 − guard_alpha``. The guard fires when the bound plus the next tick's rows for the
    challenger (each, at worst, one more error) reaches the budget, so the harm stays under
    it; a budget must therefore exceed one tick of the challenger's traffic.

    Parameters
    ----------
    model, start_hours, window_hours, label
        As for `Practice`.
    share
        The challenger's share of traffic, in (0, 1).
    signal
        ``"labels"``, ``"proxy"`` or ``"both"``.
    alpha
        The test's level (its false-positive rate, at most).
    tau
        The spread of the mixture over effect sizes (the size of difference it expects).
    promote
        Promote the challenger when the test finds it better.
    budget
        Excess errors the guard rail allows (None: no guard rail).
    guard_alpha
        One-sided level of the guard's confidence bound.
    min_samples
        Labels (or proxies) per arm before the test looks at them.

    Examples
    --------
    >>> ab = ABTest(share=0.2, budget=300.0)
    >>> ab.share_at(5.0), ab.label
    (0.2, 'ab_test')
    """

    def __init__(
        self,
        *,
        model: ModelAdapter | None = None,
        share: float = 0.1,
        signal: str = "labels",
        alpha: float = 0.05,
        tau: float = 0.05,
        promote: bool = True,
        budget: float | None = None,
        guard_alpha: float = 0.05,
        min_samples: int = 200,
        start_hours: float = 0.0,
        window_hours: float = 168.0,
        label: str = "ab_test",
    ):
        self.model = ModelAdapter() if model is None else model
        self.share = share
        self.signal = signal
        self.alpha = alpha
        self.tau = tau
        self.promote = promote
        self.budget = budget
        self.guard_alpha = guard_alpha
        self.min_samples = min_samples
        self.start_hours = start_hours
        self.window_hours = window_hours
        self.label = label
        self._check_common("ABTest")
        check_real("ABTest", "share", share, low=0.0, high=1.0, open_low=True)
        if signal not in _SIGNALS:
            raise ConfigError("signal", signal, f"one of {list(_SIGNALS)}", owner="ABTest")
        self._check_test("ABTest")
        check_bool("ABTest", "promote", promote)
        self._check_guard("ABTest")

    def share_at(self, t: float) -> float:
        return float(self.share) if t >= self.start_hours else 0.0


@PRACTICES.register("canary")
class Canary(_Guarded):
    """A canary release: the new version takes growing shares, rolled back if the guard fires.

    The challenger decides ``shares[0]`` of traffic from `start_hours`, then each next
    share every `step_hours`; after ``len(shares)`` stages with no guard alarm it is
    promoted (it becomes the champion). The guard rail (as `ABTest`'s) rolls it back at
    once: its share drops to 0 and a ``rollback`` event is logged.

    Parameters
    ----------
    model, start_hours, window_hours, label
        As for `Practice`.
    shares
        The stages' traffic shares, increasing, each in (0, 1].
    step_hours
        How long each stage lasts.
    budget, guard_alpha, min_samples
        The guard rail (as for `ABTest`).

    Examples
    --------
    >>> c = Canary(shares=(0.05, 0.5), step_hours=24.0, budget=100.0)
    >>> c.share_at(0.0), c.share_at(30.0), c.share_at(50.0)
    (0.05, 0.5, 0.0)
    """

    def __init__(
        self,
        *,
        model: ModelAdapter | None = None,
        shares: tuple = (0.05, 0.25, 0.5),
        step_hours: float = 24.0,
        budget: float | None = 100.0,
        guard_alpha: float = 0.05,
        min_samples: int = 200,
        start_hours: float = 0.0,
        window_hours: float = 168.0,
        label: str = "canary",
    ):
        self.model = ModelAdapter() if model is None else model
        self.shares = as_tuple("Canary", "shares", shares, "increasing shares in (0, 1]")
        self.step_hours = step_hours
        self.budget = budget
        self.guard_alpha = guard_alpha
        self.min_samples = min_samples
        self.start_hours = start_hours
        self.window_hours = window_hours
        self.label = label
        self._check_common("Canary")
        if not self.shares or any(
            not isinstance(s, (int, float)) or not 0.0 < s <= 1.0 for s in self.shares
        ):
            raise ConfigError("shares", shares, "shares in (0, 1], at least one", owner="Canary")
        if list(self.shares) != sorted(self.shares):
            raise ConfigError("shares", shares, "increasing shares", owner="Canary")
        check_real("Canary", "step_hours", step_hours, low=0.0, open_low=True)
        self._check_guard("Canary")

    @property
    def end_hours(self) -> float:
        """When the last stage ends (the canary is then promoted)."""
        return self.start_hours + len(self.shares) * self.step_hours

    def share_at(self, t: float) -> float:
        if t < self.start_hours or t >= self.end_hours:
            return 0.0
        return float(self.shares[int((t - self.start_hours) // self.step_hours)])


class Challengers:
    """The run's challengers: route traffic, track their metrics and tests, and decide.

    Built by the engine from ``scenario.challengers``; one tick calls `route` (which rows
    each challenger decides, and the scores acted on), `after_response` (true metrics,
    harm, proxies, labels in flight) and `deliver` (labels arriving now: tests, guard
    rails, promotions).
    """

    def __init__(self, practices, *, task: str, n_ticks: int, tick_hours: float, n_bins: int):
        self.practices = list(practices)
        self.labels = [p.label for p in self.practices]
        #: whether any practice decides traffic (an A/B test, a canary): only then are arms kept
        self.splits = any(not isinstance(p, Shadow) for p in self.practices)
        # the arm of each row (-1: the champion's) rides with its label: one byte if it can
        self._arm_dtype = np.int8 if len(self.practices) < 127 else np.int64
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError(
                "challengers", self.labels, "challengers with distinct labels", owner="Scenario"
            )
        self.task = task
        self.tick_hours = tick_hours
        self.n_bins = n_bins
        c, t = len(self.practices), n_ticks
        self.models = [None] * c
        self.status = ["waiting"] * c  # waiting, running, promoted, stopped, rolled back
        self.next_start = np.full(c, np.inf)  # a shadow's next candidate (every_hours)
        self.started_at = np.zeros(c)  # when the current candidate started
        self.share = np.zeros((t, c))
        self.true_sums = np.zeros((t, c, 3))
        self.true_hist = np.zeros((t, c, 2, N_AUC_BINS), np.int64) if task == "binary" else None
        self.obs_sums = np.zeros((t, c, 3))
        self.obs_hist = np.zeros((t, c, 2, N_AUC_BINS), np.int64) if task == "binary" else None
        # binary: read from true_hist at the end (coarse_scores)
        self.score_hist = None if task == "binary" else np.zeros((t, c, n_bins), np.int64)
        self.statistic = np.full((t, c), np.nan)
        self.harm = np.zeros((t, c))
        self.harm_bound = np.full((t, c), np.nan)
        self._harm = np.zeros(c)
        # per challenger and arm (0: champion's rows, 1: challenger's): label and proxy sums
        self.n_lab = np.zeros((c, 2))
        self.good_lab = np.zeros((c, 2))
        self.n_proxy = np.zeros((c, 2))
        self.sum_proxy = np.zeros((c, 2))
        self.n_served_b = np.zeros(c)
        self.n_flight_b = np.zeros(c)
        self.n_ticks = n_ticks
        self.events: list[Event] = []
        self._arm = None
        self._scores = None
        # per challenger: (champion, challenger, differing fills) last compared
        self._layouts = [(None, None, None)] * c

    # -- per tick ---------------------------------------------------------------------

    def start(self, k: int, t: float, history, initial, rngs) -> None:
        """Train the challengers whose start has come (on `initial` at hour 0, else `history`)."""
        for i, p in enumerate(self.practices):
            renew = (
                isinstance(p, Shadow)
                and p.every_hours is not None
                and self.status[i] in ("running", "promoted")
                and t >= self.next_start[i]
            )
            if not renew and (self.status[i] != "waiting" or t < p.start_hours):
                continue
            first = p.start_hours == 0.0 and self.status[i] == "waiting"
            batch = initial if first else history(t, p.window_hours)
            if batch is None or batch.n == 0:
                continue  # no labelled rows yet: try again next tick
            self.models[i] = p.model.train(
                batch,
                version=0,
                trained_at=t,
                rng=rngs[f"challenger/{p.label}/model"],
                task=self.task,
            )
            self.status[i] = "running"
            self.n_lab[i] = self.good_lab[i] = 0.0  # a new candidate: a new comparison
            self.started_at[i] = t
            if isinstance(p, Shadow) and p.every_hours is not None:
                self.next_start[i] = t + p.every_hours
            self.events.append(
                Event(
                    EventKind.TRAIN,
                    t - (0.0 if first else p.window_hours),
                    t,
                    source=f"challenger/{p.label}",
                    detail={"n_rows": batch.n},
                )
            )

    def _serve(self, i: int, columns, n: int, served, model) -> np.ndarray:
        """Challenger `i`'s scores: on the champion's matrix when it would make the same one."""
        mine = self.models[i]
        if served.features is not None:
            if self._layouts[i][:2] != (model, mine):
                pipe = model.serving_pipeline_
                self._layouts[i] = (model, mine, pipe.differing_fills(mine.serving_pipeline_))
            differ = self._layouts[i][2]  # fill values that differ: fine where none was used
            if differ is not None and not any(f in served.filled for f in differ):
                return mine.predict(served.features)
        return mine.serve(columns, n=n).scores

    def route(self, k: int, t: float, columns, n: int, served, model, rngs) -> np.ndarray:
        """Score the running challengers; return the scores acted on (the champion's elsewhere).

        `served` is what serving made of the tick for the champion `model`: a challenger
        whose pipeline makes the same matrix is served that matrix.
        """
        c = len(self.practices)
        champion = served.scores
        self._n_tick = n
        # the arm that decided each row (-1: the champion), for practices that split traffic
        self._arm = np.full(n, -1, dtype=self._arm_dtype) if self.splits else None
        self._scores = [None] * c  # per challenger: its scores (None: it is not running)
        acted = champion
        for i, p in enumerate(self.practices):
            if self.status[i] != "running":
                continue
            s = self._serve(i, columns, n, served, model)
            self._scores[i] = s
            share = p.share_at(t)
            self.share[k, i] = share
            if share <= 0.0:
                continue
            if acted is champion:
                acted = champion.copy()
            u = rngs[f"challenger/{p.label}"].random(n)
            _kernels().assign_arm(u, float(share), i, self._arm, acted, s)
        return acted

    def after_response(self, k, t, y, champion, delays, labelled, proxy) -> None:
        """Record true metrics and harm; queue labels; count proxies per arm."""
        for i in range(len(self.practices)):
            if self.status[i] != "running":
                continue
            s = self._scores[i]
            if self.task == "binary":  # the score histogram is read from true_hist at the end
                if not binary_sums_into(y, s, self.true_sums[k, i], self.true_hist[k, i]):
                    self.true_sums[k, i], self.true_hist[k, i] = binary_sums(y, s)
            else:
                self.true_sums[k, i] = regression_sums(y, s)
            if not self.splits:
                continue  # shadows only: no arms, no harm, no per-arm proxies
            # arms exist only on binary tasks (the Scenario refuses splits elsewhere): one
            # compiled pass counts this arm's rows, its excess errors and its labels to come
            n_b, excess, n_due = _kernels().split_harm(
                self._arm, i, y, s, champion, CUTOFF,
                float(t), delays, float(self.tick_hours), self.n_ticks, labelled,
            )  # fmt: skip
            self._harm[i] += float(excess)
            self.n_served_b[i] += n_b
            self.n_flight_b[i] += n_due
            if proxy is not None:
                for arm, rows in ((0, self._arm < 0), (1, self._arm == i)):
                    seen = proxy[rows]
                    seen = seen[~np.isnan(seen)]
                    self.n_proxy[i, arm] += seen.shape[0]
                    self.sum_proxy[i, arm] += float(seen.sum())
        self.harm[k] = self._harm

    def carried(self) -> dict:
        """What the engine's label queue carries for the challengers: their scores and the arm."""
        out = {"ch:arm": self._arm} if self.splits else {}
        for i, s in enumerate(self._scores):  # NaN: not running when the row was served
            out[f"ch:s{i}"] = np.full(self._n_tick, np.nan) if s is None else s
        return out

    def deliver(self, k: int, t: float, arrived, deployment) -> None:
        """Labels arriving now: observed metrics, tests and guard rails; act on their verdicts.

        `arrived` is the engine's delivery (with the champion's ``score`` and what
        `carried` added), or None.
        """
        if arrived is not None:
            arrived = {
                "t": arrived["t"],
                "y": arrived["y"],
                "champion": arrived["score"],
                "arm": arrived["ch:arm"] if self.splits else None,
                **{f"s{i}": arrived[f"ch:s{i}"] for i in range(len(self.practices))},
            }
        for i, p in enumerate(self.practices):
            if arrived is not None and self.models[i] is not None:
                s = arrived[f"s{i}"]
                y = arrived["y"]
                # the usual case: it scored every row, all in [0, 1] (one compiled pass)
                if self.task == "binary" and binary_sums_into(
                    y, s, self.obs_sums[k, i], self.obs_hist[k, i]
                ):
                    unknown = None
                else:  # judged on the rows it scored
                    unknown = np.isnan(s)
                    every = not unknown.any()
                    y = y if every else y[~unknown]
                    scored = s if every else s[~unknown]
                    if self.task == "binary":
                        self.obs_sums[k, i], self.obs_hist[k, i] = binary_sums(y, scored)
                    else:
                        self.obs_sums[k, i] = regression_sums(y, scored)
                if isinstance(p, Shadow):
                    if p.promote and self.status[i] == "running":
                        # both scored every row: judge both on the arrived labels of rows
                        # this candidate scored
                        mine = arrived["t"] >= self.started_at[i]
                        if unknown is not None:
                            mine &= ~unknown
                        for arm, sc in ((0, arrived["champion"]), (1, s)):
                            good = 1.0 - _errors(self.task, arrived["y"][mine], sc[mine])
                            self.n_lab[i, arm] += good.shape[0]
                            self.good_lab[i, arm] += float(good.sum())
                else:  # arms (binary only): per-arm arrived labels in one compiled pass
                    counts = np.zeros(4, np.int64)
                    _kernels().arm_correct(
                        arrived["arm"], i, arrived["y"], arrived["champion"], s, CUTOFF, counts
                    )
                    n_a, good_a, n_b, good_b = counts.tolist()
                    self.n_lab[i, 0] += n_a
                    self.n_lab[i, 1] += n_b
                    self.good_lab[i, 0] += good_a
                    self.good_lab[i, 1] += good_b
                    self.n_flight_b[i] -= n_b
            if self.status[i] != "running":
                continue
            if isinstance(p, Shadow):
                if p.promote:
                    self._judge_shadow(k, t, i, p, deployment)
                continue
            self._judge(k, t, i, p, deployment)

    def _judge_shadow(self, k, t, i, p, deployment) -> None:
        (na, nb), (ga, gb) = self.n_lab[i], self.good_lab[i]
        if min(na, nb) < p.min_samples:
            return
        stat = msprt(ga / na, na, gb / nb, nb, tau=p.tau)
        self.statistic[k, i] = stat
        if stat >= math.log(1.0 / p.alpha) and gb / nb > ga / na:
            self._promote(i, t, deployment, {"reason": "shadow better", "signal": "labels"})

    def _judge(self, k, t, i, p, deployment) -> None:
        n_a, n_b = self.n_lab[i].tolist()  # Python floats: the same values, faster arithmetic
        # the guard rail: an upper bound on the excess errors done so far
        if p.budget is not None:
            if n_a and n_b:  # Hoeffding bounds on each arm's error rate, valid for any n
                good_a, good_b = self.good_lab[i].tolist()
                ea, eb = 1 - good_a / n_a, 1 - good_b / n_b
                slack = math.log(2.0 / p.guard_alpha) / 2.0
                rate = eb - ea + math.sqrt(slack / n_a) + math.sqrt(slack / n_b)
                rate = min(1.0, max(0.0, rate))
            else:
                rate = 1.0
            served, flight = float(self.n_served_b[i]), float(self.n_flight_b[i])
            bound = (served - flight) * rate + flight
            self.harm_bound[k, i] = bound
            # stop before the next tick could take the harm past the budget: at worst each
            # of its rows for the challenger is one more error
            upcoming = self._n_tick * p.share_at(t + self.tick_hours)
            if bound + upcoming >= p.budget:
                kind = EventKind.ROLLBACK if isinstance(p, Canary) else EventKind.STOP
                self._end(i, t, kind, {"reason": "guard rail", "harm_bound": bound})
                return
        if isinstance(p, ABTest):
            signals = ("labels", "proxy") if p.signal == "both" else (p.signal,)
            level = math.log(len(signals) / p.alpha)  # Bonferroni over the signals watched
            best = -math.inf
            for signal in signals:
                if signal == "labels":
                    (na, nb), (ga, gb) = self.n_lab[i].tolist(), self.good_lab[i].tolist()
                else:
                    (na, nb), (ga, gb) = self.n_proxy[i].tolist(), self.sum_proxy[i].tolist()
                if min(na, nb) < p.min_samples:
                    continue
                stat = msprt(ga / na, na, gb / nb, nb, tau=p.tau)
                best = max(best, stat)
                if stat >= level:
                    self.statistic[k, i] = stat
                    better = gb / nb > ga / na
                    if better and p.promote:
                        self._promote(i, t, deployment, {"reason": "test", "signal": signal})
                    else:
                        who = "challenger" if better else "champion"
                        detail = {"reason": f"test: {who} better", "signal": signal}
                        self._end(i, t, EventKind.STOP, detail)
                    return
            if math.isfinite(best):
                self.statistic[k, i] = best
        elif isinstance(p, Canary) and t + self.tick_hours > p.end_hours:
            self._promote(i, t, deployment, {"reason": "canary passed"})

    def _end(self, i, t, kind, detail) -> None:
        self.status[i] = {EventKind.ROLLBACK: "rolled back"}.get(kind, "stopped")
        self.events.append(Event(kind, t, t, source=f"challenger/{self.labels[i]}", detail=detail))

    def _promote(self, i, t, deployment, detail) -> None:
        self.status[i] = "promoted"
        self.events.append(
            Event(EventKind.PROMOTE, t, t, source=f"challenger/{self.labels[i]}", detail=detail)
        )
        deployment.promote(self.models[i], self.practices[i].model, now=t)

    # -- the Run ----------------------------------------------------------------------

    def variables(self, windowed) -> dict:
        """The Run's challenger variables (`windowed(sums, hist)` makes windowed metrics)."""
        c = len(self.practices)
        true_m = np.stack(
            [
                windowed(
                    self.true_sums[:, i], None if self.true_hist is None else self.true_hist[:, i]
                )
                for i in range(c)
            ],
            axis=1,
        )
        obs_m = np.stack(
            [
                windowed(
                    self.obs_sums[:, i], None if self.obs_hist is None else self.obs_hist[:, i]
                )
                for i in range(c)
            ],
            axis=1,
        )
        return {
            "challenger_share": self.share,
            "challenger_true_metric": true_m,
            "challenger_observed_metric": obs_m,
            "challenger_score_hist": (
                self.score_hist
                if self.true_hist is None
                else coarse_scores(self.true_hist, self.n_bins)
            ),
            "challenger_statistic": self.statistic,
            "challenger_harm": self.harm,
            "challenger_harm_bound": self.harm_bound,
        }


def _errors(task: str, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-row error as the Run counts it (`simlab.scoring.row_values`).

    A wrong class at the cut-off (binary; a NaN score is wrong), or the absolute error.
    """
    if task == "binary":
        return 1.0 - row_values("accuracy", y, scores)
    return row_values("mae", y, scores)
