"""A recommender as an engine world: slates decided by the deployed model, clicks only on them.

`recommender.py` runs the homogenisation study on its own loop; this world puts the same
kind of loop into `simlab.simulate`, so every monitor, metric, retraining policy and the Run
apply to it. Each tick's rows are candidate (user, item) pairs: a visit by a user brings
`candidates` items from the catalogue; the deployed model scores every pair; a `TopK`
decision grouped by ``"user"`` shows the best `k` of each visit; the user clicks a shown
item at rank r (0 = top) with probability ``utility * (r + 1) ** -attention`` (a
position-based click model); items not shown are never clicked and never labelled.
Retraining therefore sees only what the model chose to show, at the positions it chose:
exposure and position bias feed back into the next model.
"""

from __future__ import annotations

import math

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.feedback.recommender import tastes
from simlab.params import Component
from simlab.rng import Rngs
from simlab.validation import check_int, check_real
from simlab.world.base import Response
from simlab.world.schema import FeatureSpec, Schema, Task
from simlab.world.worlds import WORLDS, _rngs

__all__ = ["Recommendations"]


@WORLDS.register("recommendations")
class Recommendations(Component):
    """Users visit, the deployed model ranks candidate items, users click what they are shown.

    Users have latent preferences and items latent attributes (Dirichlet draws, as in
    `RecommenderWorld`), fixed by `population_seed`: the population is part of the world's
    definition, so every run and seed serves the same users and items (the run's seed
    draws the visits, the candidates and the clicks). The true utility of an item for a
    user is the inner product of the two, in [0, 1].

    Each row is a candidate pair with the columns ``user`` (the user's id, which a `TopK`
    decision groups by), ``u0, u1, ...`` (what the service knows of the user's tastes: the
    preferences plus Gaussian noise of sd `noise`), ``i0, i1, ...`` (the item's attributes)
    and ``item_age`` (hours since the item entered the catalogue). `start_items` items are
    in the catalogue at hour 0, having arrived at the same rate before it, and
    `items_per_hour` more arrive every hour, up to `n_items`.

    Two visits by one user in the same tick are one slate (a `TopK` grouped by ``"user"``
    ranks them together).

    A row's outcome y is whether the user would click the item if it were shown at the
    top (probability: its utility); `respond` keeps a shown item's click with probability
    ``(rank + 1) ** -attention`` and labels only the shown rows (an item never shown is never
    clicked, so its outcome is never observed). The true metric (every row, clicks at the
    top) measures how well the model ranks; the observed metric sees only shown rows with
    position-discounted clicks.

    Parameters
    ----------
    n_users
        Users.
    n_items
        Items in the catalogue by the end.
    start_items
        Items available at hour 0 (at least `candidates`).
    items_per_hour
        New items per hour (>= 0).
    candidates
        Candidate items per visit (the rows of one user's slate).
    n_attributes
        Latent attributes.
    attention
        Position discount of clicks (0: position does not matter).
    noise
        Standard deviation of the noise on the user features the model sees.
    population_seed
        Seed of the population (users, items, their arrival).

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.decisions import TopK
    >>> w = Recommendations(n_users=50, n_items=200, start_items=100, candidates=5)
    >>> b = w.sample(10, 0.0, rng=0)  # two visits of five candidates
    >>> b.columns["user"].tolist()[:6]
    [47.0, 47.0, 47.0, 47.0, 47.0, 49.0]
    >>> d = TopK(k=2, group="user").decide(np.linspace(0, 1, 10), b.columns)
    >>> r = w.respond(b, d, Rngs(0))
    >>> int(r.labelled.sum())  # two shown per visit: only they can be clicked and labelled
    4
    """

    def __init__(
        self,
        *,
        n_users: int = 200,
        n_items: int = 2000,
        start_items: int = 500,
        items_per_hour: float = 2.0,
        candidates: int = 20,
        n_attributes: int = 5,
        attention: float = 0.8,
        noise: float = 0.05,
        population_seed: int = 0,
    ):
        self.n_users = n_users
        self.n_items = n_items
        self.start_items = start_items
        self.items_per_hour = items_per_hour
        self.candidates = candidates
        self.n_attributes = n_attributes
        self.attention = attention
        self.noise = noise
        self.population_seed = population_seed
        owner = "Recommendations"
        check_int(owner, "n_users", n_users, 1)
        check_int(owner, "candidates", candidates, 1)
        check_int(owner, "n_items", n_items, candidates)
        check_int(owner, "start_items", start_items, candidates, n_items)
        check_real(owner, "items_per_hour", items_per_hour, low=0.0)
        check_int(owner, "n_attributes", n_attributes, 1)
        check_real(owner, "attention", attention, low=0.0)
        check_real(owner, "noise", noise, low=0.0)
        check_int(owner, "population_seed", population_seed, 0)
        k = n_attributes
        self._u = tuple(f"u{j}" for j in range(k))
        self._i = tuple(f"i{j}" for j in range(k))
        specs = [FeatureSpec("user"), *(FeatureSpec(c) for c in self._u)]
        specs += [*(FeatureSpec(c) for c in self._i), FeatureSpec("item_age", units="hours")]
        self.schema = Schema(specs, task=Task.BINARY)
        g = np.random.default_rng(population_seed)
        self._prefs, self._attrs = tastes(g, n_users, n_items, k, 10.0, 0.5)
        self._seen = self._prefs + g.normal(0.0, noise, size=self._prefs.shape)
        # the catalogue grew at the same rate before hour 0 (a catalogue that does not grow
        # has been there for 10,000 hours); later items arrive every 1 / rate hours
        if items_per_hour > 0:
            ids = np.arange(n_items, dtype=np.float64)
            self._arrival = (ids - (start_items - 1)) / items_per_hour
        else:
            self._arrival = np.r_[
                np.full(start_items, -1e4), np.full(n_items - start_items, np.inf)
            ]

    #: No scheduled shifts: the loop itself is the change.
    shifts: tuple = ()

    def available(self, t: float) -> int:
        """How many items are in the catalogue at hour `t` (at least `candidates`)."""
        return max(int(np.searchsorted(self._arrival, t, side="right")), self.candidates)

    def sample(self, n: int, t: float, rng) -> Batch:
        """`n` candidate rows: visits of `candidates` rows each (the last may be cut short)."""
        n = check_int(self.name, "n", n, 0)
        g = _rngs(rng)[self.name]
        visits = -(-n // self.candidates)
        users = np.repeat(g.integers(0, self.n_users, size=visits), self.candidates)[:n]
        items = g.integers(0, self.available(t), size=n)
        u = g.random(n)
        columns = {"user": users.astype(np.float64)}
        columns.update(zip(self._u, self._seen[users].T, strict=True))
        columns.update(zip(self._i, self._attrs[items].T, strict=True))
        columns["item_age"] = t - self._arrival[items]
        y = (u < self._utility(users, items)).astype(np.int64)
        return Batch(t=t, columns=columns, y=y)

    def _utility(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", self._prefs[users], self._attrs[items])

    def proba(self, columns, t: float) -> np.ndarray:
        """P(click | shown at the top): the user's true preferences times the item's attributes."""
        missing = [c for c in ("user", *self._i) if c not in columns]
        if missing:
            raise ConfigError(
                "columns", sorted(columns), f"columns including {missing}", owner=self.name
            )
        users = np.asarray(columns["user"], dtype=np.int64)
        attrs = np.stack([np.asarray(columns[c], dtype=np.float64) for c in self._i], axis=1)
        return np.einsum("ij,ij->i", self._prefs[users], attrs)

    def respond(self, batch: Batch, decision, rng: Rngs) -> Response:
        """Clicks on shown rows, discounted by rank; labels only for shown rows."""
        if decision.n != batch.n:
            raise ConfigError(
                "decision", decision.n, f"one action per row ({batch.n})", owner=self.name
            )
        shown = decision.action == 1
        rank = np.zeros(batch.n) if decision.rank is None else np.maximum(decision.rank, 0)
        keep = rng[f"{self.name}/clicks"].random(batch.n) < (rank + 1.0) ** -self.attention
        y = np.where(shown, batch.y * keep, batch.y)
        return Response(y.astype(batch.y.dtype), shown, np.where(shown, decision.p_act, 0.0))

    def events(self, horizon: float = math.inf) -> list:
        """No injected changes (the feedback loop is not an event)."""
        return []

    def twin(self) -> Recommendations:
        """The world itself: it injects no change (the loop is what it is)."""
        return self.clone()
