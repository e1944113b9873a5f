"""Recommender feedback loops: a recommender trained on its own logs homogenises its users.

Chaney, Stewart and Engelhardt (2018) showed in simulation that a recommender retrained on
the interactions it caused ("algorithmic confounding") makes similar users consume ever
more similar items (*homogenisation*) and lowers their utility below what an ideal
recommender, which knows every true preference, achieves on the same world. T-RECS
(Lucherini et al. 2021) replicated the study. This module rebuilds it on numpy, vectorised
over users and items (one Python step per time step, never per user or item):

- `RecommenderWorld`: users with latent preferences and items with latent attributes
  (Dirichlet draws), true utility their inner product, new items every step. Each step
  every user is shown a ranked list; the user consumes the unconsumed item with the highest
  utility discounted by its position, ``rank ** -attention``: only what was shown can be
  chosen. The consumed item is clicked with probability equal to its true utility (the
  click-through rate, CTR, is the business proxy a team would watch).
- Recommenders: `Ideal`, `RandomRecommender`, `Popularity`, `ContentFiltering`,
  `MatrixFactorisation`, and exploration around any of them (`EpsilonGreedy`,
  `RandomSlots`).
- `replay` runs one recommender through one world; `homogenisation_trial` replays every
  recommender on the same realised world with common random numbers (the same startup
  exposure, the same random positions for new items, the same click dice), so the
  differences are the recommenders', not the dice's; `homogenisation_study` repeats
  trials over worlds.

Training modes: ``"repeated"`` retrains after every step on everything logged so far;
``"once"`` trains after the start-up period of random exposure and never again. Items the
model was not trained on (the step's new items; under ``"once"``, everything that arrived
after training) are shown at random positions: the model cannot rank what it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.rng import Rngs
from simlab.validation import check_int, check_real

__all__ = [
    "RECOMMENDERS",
    "Catalogue",
    "ContentFiltering",
    "EpsilonGreedy",
    "History",
    "Ideal",
    "MatrixFactorisation",
    "Popularity",
    "RandomRecommender",
    "RandomSlots",
    "Recommender",
    "RecommenderWorld",
    "Replay",
    "default_recommenders",
    "homogenisation_study",
    "homogenisation_trial",
    "loop_views",
    "replay",
    "watch_loop",
]

RECOMMENDERS: Registry = Registry("recommender")

_TRAINING = ("repeated", "once")


@dataclass(frozen=True)
class Catalogue:
    """One realised recommender world: who the users are, what the items are, and the truth.

    Parameters
    ----------
    preferences
        Users' latent preferences, shape (users, attributes); each row sums to 1.
    attributes
        Items' latent attributes, shape (items, attributes); each row sums to 1.
    utility
        True utility of every item for every user, in [0, 1], shape (users, items).
    arrival
        The step at which each item enters the catalogue, shape (items,).
    partners
        A fixed random partner for each user (never the user), for homogenisation over
        random pairs.

    Examples
    --------
    >>> cat = RecommenderWorld(n_users=4, steps=3, startup_steps=1, items_per_step=2).draw(0)
    >>> cat.utility.shape, cat.arrival.tolist()
    ((4, 6), [0, 0, 1, 1, 2, 2])
    """

    preferences: np.ndarray
    attributes: np.ndarray
    utility: np.ndarray
    arrival: np.ndarray
    partners: np.ndarray

    @property
    def n_users(self) -> int:
        """Number of users."""
        return self.utility.shape[0]


@dataclass(frozen=True)
class History:
    """What a recommender may learn from when it is (re)trained.

    Parameters
    ----------
    consumed
        True where a user consumed an item, shape (users, items known to the model).
    clicks
        True where the consumption was clicked (same shape).
    attributes
        The known items' attributes (content filtering reads them), shape (items, attributes).
    utility
        The true utility of the known items: only `Ideal` reads it.
    preferences
        The users' true preferences: only `Ideal` reads them.

    Examples
    --------
    >>> h = History(np.zeros((2, 3), bool), np.zeros((2, 3), bool), np.eye(3), None, None)
    >>> h.n_items
    3
    """

    consumed: np.ndarray
    clicks: np.ndarray
    attributes: np.ndarray
    utility: np.ndarray | None
    preferences: np.ndarray | None

    @property
    def n_items(self) -> int:
        """Number of items known to the model."""
        return self.consumed.shape[1]


def tastes(rng, n_users, n_items, n_attributes, preference_concentration, attribute_concentration):
    """Users' preferences and items' attributes: Dirichlet draws around drawn population means.

    The population's mean preference is itself a flat Dirichlet draw scaled by
    `preference_concentration` (so some attributes are popular, others niche); items'
    attributes concentrate on few attributes when `attribute_concentration` is small.

    Examples
    --------
    >>> p, a = tastes(np.random.default_rng(0), 3, 4, 2, 10.0, 0.1)
    >>> p.shape, a.shape, bool(np.allclose(p.sum(axis=1), 1))
    ((3, 2), (4, 2), True)
    """
    k = n_attributes
    user_mean = rng.dirichlet(np.ones(k)) * preference_concentration
    item_mean = rng.dirichlet(np.full(k, 100.0)) * attribute_concentration * k
    # a Dirichlet with tiny concentrations has components that underflow to 0: floor them
    preferences = rng.dirichlet(np.maximum(user_mean, 1e-3), size=n_users)
    attributes = rng.dirichlet(np.maximum(item_mean, 1e-3), size=n_items)
    return preferences, attributes


class RecommenderWorld(Component):
    """Users, items and true utilities, with new items every step (Chaney et al.'s world).

    Users' preferences and items' attributes are Dirichlet draws over `n_attributes`
    latent attributes, each around a population-wide mean that is itself drawn (so some
    attributes are popular and others niche); the true utility of an item for a user is
    the inner product of the two, in [0, 1]. `items_per_step` new items arrive every step
    (the first at step 0); during the first `startup_steps` steps users are shown random
    rankings, the same for every recommender.

    Parameters
    ----------
    n_users
        Number of users.
    n_attributes
        Number of latent attributes.
    items_per_step
        New items per step.
    steps
        Steps in a run, start-up included.
    startup_steps
        Steps of random exposure before any recommender is trained (at least 1).
    attention
        Position discount: the user weighs the item at rank r (1 = top) by
        ``r ** -attention``; 0 ignores positions.
    preference_concentration
        Concentration of users' preferences around the population mean (higher: more
        alike users).
    attribute_concentration
        Concentration of items' attributes (lower: items about fewer attributes).

    Examples
    --------
    >>> world = RecommenderWorld(n_users=20, steps=12, startup_steps=2)
    >>> cat = world.draw(seed=0)
    >>> cat.utility.shape, bool((cat.utility >= 0).all() and (cat.utility <= 1).all())
    ((20, 120), True)
    """

    def __init__(
        self,
        *,
        n_users: int = 100,
        n_attributes: int = 20,
        items_per_step: int = 10,
        steps: int = 100,
        startup_steps: int = 10,
        attention: float = 0.8,
        preference_concentration: float = 10.0,
        attribute_concentration: float = 0.1,
    ):
        self.n_users = n_users
        self.n_attributes = n_attributes
        self.items_per_step = items_per_step
        self.steps = steps
        self.startup_steps = startup_steps
        self.attention = attention
        self.preference_concentration = preference_concentration
        self.attribute_concentration = attribute_concentration
        owner = "RecommenderWorld"
        check_int(owner, "n_users", n_users, 2)
        check_int(owner, "n_attributes", n_attributes, 1)
        check_int(owner, "items_per_step", items_per_step, 1)
        check_int(owner, "steps", steps, 1)
        check_int(owner, "startup_steps", startup_steps, 1, steps)
        check_real(owner, "attention", attention, low=0.0)
        check_real(
            owner, "preference_concentration", preference_concentration, low=0.0, open_low=True
        )
        check_real(
            owner, "attribute_concentration", attribute_concentration, low=0.0, open_low=True
        )

    @property
    def n_items(self) -> int:
        """Items in the catalogue by the last step."""
        return self.steps * self.items_per_step

    def draw(self, seed: int = 0) -> Catalogue:
        """Realise the world: preferences, attributes, utilities and arrivals for `seed`."""
        rng = Rngs(seed)["recsys/world"]
        k, u, i = self.n_attributes, self.n_users, self.n_items
        preferences, attributes = tastes(
            rng, u, i, k, self.preference_concentration, self.attribute_concentration
        )
        utility = preferences @ attributes.T
        arrival = np.repeat(np.arange(self.steps), self.items_per_step)
        # a random partner per user, never the user: a random derangement by shifting
        perm = rng.permutation(u)
        partners = np.empty(u, dtype=np.int64)
        partners[perm] = perm[np.r_[1:u, 0]]
        return Catalogue(preferences, attributes, utility, arrival, partners)


class Recommender(Component):
    """Base for recommenders: ``fit(history, rng)`` then ``score(rng)`` per step.

    `score` returns one score per (user, known item), higher first; NaN asks for the item
    to be shown at a random position instead (what exploration does). `user_vectors`
    returns the learned user representation (for "most similar users"), or None when the
    recommender has none.

    Examples
    --------
    >>> rec = Popularity().fit(History(np.eye(2, dtype=bool), np.eye(2, dtype=bool),
    ...                                np.eye(2), None, None), np.random.default_rng(0))
    >>> rec.score(np.random.default_rng(0)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """

    def fit(self, history: History, rng: np.random.Generator) -> Recommender:
        raise NotImplementedError

    def score(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def user_vectors(self) -> np.ndarray | None:
        """The learned user representation, one row per user (None: it has none)."""
        return None

    #: True for a recommender that reads the truth and so needs no training: it ranks every
    #: item in the catalogue at every step, new ones included, whatever the training mode.
    knows_truth = False


@RECOMMENDERS.register("ideal")
class Ideal(Recommender):
    """The ideal recommender: ranks by every user's true utility (the reference for the rest).

    It needs no training, so it ranks every item at every step, new ones included, in
    either training mode.

    Examples
    --------
    >>> h = History(np.zeros((1, 2), bool), np.zeros((1, 2), bool), np.eye(2),
    ...             np.array([[0.2, 0.7]]), np.array([[0.5, 0.5]]))
    >>> Ideal().fit(h, np.random.default_rng(0)).score(None).tolist()
    [[0.2, 0.7]]
    """

    knows_truth = True

    def fit(self, history, rng):
        if history.utility is None:
            raise ConfigError("history.utility", None, "the true utilities", owner="Ideal")
        self.scores_ = history.utility
        self.vectors_ = history.preferences
        return self

    def score(self, rng):
        return self.scores_

    def user_vectors(self):
        return self.vectors_


@RECOMMENDERS.register("random")
class RandomRecommender(Recommender):
    """Random rankings, redrawn every step (and random user vectors).

    Examples
    --------
    >>> h = History(np.zeros((2, 3), bool), np.zeros((2, 3), bool), np.eye(3), None, None)
    >>> RandomRecommender().fit(h, np.random.default_rng(0)).score(np.random.default_rng(1)).shape
    (2, 3)
    """

    def fit(self, history, rng):
        self.shape_ = history.consumed.shape
        self.vectors_ = rng.random((history.consumed.shape[0], 2))
        return self

    def score(self, rng):
        self.vectors_ = rng.random(self.vectors_.shape)
        return rng.random(self.shape_)

    def user_vectors(self):
        return self.vectors_


@RECOMMENDERS.register("popularity")
class Popularity(Recommender):
    """Items ranked by how often they were consumed; the same list for every user.

    Examples
    --------
    >>> c = np.array([[1, 0, 1], [0, 0, 1]], dtype=bool)
    >>> Popularity().fit(History(c, c, np.eye(3), None, None), None).score(None)[0].tolist()
    [1.0, 0.0, 2.0]
    """

    def fit(self, history, rng):
        counts = history.consumed.sum(axis=0, dtype=np.float64)
        self.scores_ = np.broadcast_to(counts, history.consumed.shape)
        return self

    def score(self, rng):
        return self.scores_


@RECOMMENDERS.register("content_filtering")
class ContentFiltering(Recommender):
    """Content filtering: each user's profile regressed on the attributes of what they consumed.

    The profile is the ridge regression of the user's consumption (1 consumed, 0 not) on
    the known items' true attributes, ``P = C A (AᵀA + λI)⁻¹``, for all users at once;
    scores are ``P Aᵀ``. (Chaney et al. used non-negative least squares; the ranking is
    what matters here, and ridge solves every user in one matrix product.)

    Parameters
    ----------
    alpha
        Ridge penalty λ (> 0).

    Examples
    --------
    >>> a = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    >>> c = np.array([[True, False, False]])
    >>> s = ContentFiltering().fit(History(c, c, a, None, None), None).score(None)
    >>> bool(s[0, 2] > s[0, 1])  # an item like the consumed one ranks above an unlike one
    True
    """

    def __init__(self, *, alpha: float = 0.1):
        self.alpha = alpha
        check_real("ContentFiltering", "alpha", alpha, low=0.0, open_low=True)

    def fit(self, history, rng):
        a = history.attributes
        gram = a.T @ a + self.alpha * np.eye(a.shape[1])
        self.profiles_ = np.linalg.solve(gram, (history.consumed @ a).T).T
        self.scores_ = self.profiles_ @ a.T
        return self

    def score(self, rng):
        return self.scores_

    def user_vectors(self):
        return self.profiles_


@RECOMMENDERS.register("matrix_factorisation")
class MatrixFactorisation(Recommender):
    """Matrix factorisation of the logged interactions by alternating least squares.

    The binary consumption matrix (users × known items) is approximated by ``W Hᵀ`` with
    `n_factors` factors, each side solved in closed form in turn with ridge penalty `alpha`
    (``W = C H (HᵀH + αI)⁻¹``, ``H = Cᵀ W (WᵀW + αI)⁻¹``). Retraining warm-starts from the
    previous factors; items new to the model start from small random factors.

    Parameters
    ----------
    n_factors
        Latent factors.
    alpha
        Ridge penalty (> 0).
    n_iter
        Alternating sweeps per fit.

    Examples
    --------
    >>> c = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> mf = MatrixFactorisation(n_factors=2).fit(History(c, c, np.eye(3), None, None),
    ...                                           np.random.default_rng(0))
    >>> mf.score(None).shape, mf.user_vectors().shape
    ((3, 3), (3, 2))
    """

    def __init__(self, *, n_factors: int = 20, alpha: float = 0.1, n_iter: int = 5):
        self.n_factors = n_factors
        self.alpha = alpha
        self.n_iter = n_iter
        check_int("MatrixFactorisation", "n_factors", n_factors, 1)
        check_real("MatrixFactorisation", "alpha", alpha, low=0.0, open_low=True)
        check_int("MatrixFactorisation", "n_iter", n_iter, 1)

    def fit(self, history, rng):
        c = history.consumed.astype(np.float64)
        n_items, k = c.shape[1], self.n_factors
        old = getattr(self, "items_", None)
        h = rng.normal(0.0, 0.1, size=(n_items, k))
        if old is not None:
            keep = min(old.shape[0], n_items)
            h[:keep] = old[:keep]
        ridge = self.alpha * np.eye(k)
        for _ in range(self.n_iter):
            w = np.linalg.solve(h.T @ h + ridge, (c @ h).T).T
            h = np.linalg.solve(w.T @ w + ridge, (c.T @ w).T).T
        self.users_, self.items_ = w, h
        self.scores_ = w @ h.T
        return self

    def score(self, rng):
        return self.scores_

    def user_vectors(self):
        return self.users_


class _Exploring(Recommender):
    @property
    def knows_truth(self):
        return self.recommender.knows_truth

    def fit(self, history, rng):
        if not hasattr(self, "recommender_"):
            self.recommender_ = self.recommender.clone()
        self.recommender_.fit(history, rng)
        return self

    def user_vectors(self):
        return self.recommender_.user_vectors()


@RECOMMENDERS.register("epsilon_greedy")
class EpsilonGreedy(_Exploring):
    """Exploration by user: with probability `epsilon` a user's whole list is random this step.

    Parameters
    ----------
    recommender
        The recommender explored around.
    epsilon
        The probability, per user and step, of a random list, in [0, 1].

    Examples
    --------
    >>> c = np.eye(3, dtype=bool)
    >>> rec = EpsilonGreedy(recommender=Popularity(), epsilon=1.0)
    >>> bool(np.isnan(rec.fit(History(c, c, np.eye(3), None, None), None)
    ...                  .score(np.random.default_rng(0))).all())
    True
    """

    def __init__(self, *, recommender: Recommender, epsilon: float = 0.1):
        self.recommender = recommender
        self.epsilon = epsilon
        _check_recommender("EpsilonGreedy", recommender)
        check_real("EpsilonGreedy", "epsilon", epsilon, low=0.0, high=1.0, open_high=False)

    def score(self, rng):
        s = np.array(self.recommender_.score(rng), dtype=np.float64)
        s[rng.random(s.shape[0]) < self.epsilon] = np.nan
        return s


@RECOMMENDERS.register("random_slots")
class RandomSlots(_Exploring):
    """Exploration by slot: each item is placed at a random position with probability `share`.

    Parameters
    ----------
    recommender
        The recommender explored around.
    share
        The probability, per user, item and step, that the item's position is random.

    Examples
    --------
    >>> c = np.eye(4, dtype=bool)
    >>> rec = RandomSlots(recommender=Popularity(), share=0.5)
    >>> s = rec.fit(History(c, c, np.eye(4), None, None), None).score(np.random.default_rng(0))
    >>> s.shape
    (4, 4)
    """

    def __init__(self, *, recommender: Recommender, share: float = 0.1):
        self.recommender = recommender
        self.share = share
        _check_recommender("RandomSlots", recommender)
        check_real("RandomSlots", "share", share, low=0.0, high=1.0, open_high=False)

    def score(self, rng):
        s = np.array(self.recommender_.score(rng), dtype=np.float64)
        s[rng.random(s.shape) < self.share] = np.nan
        return s


def _check_recommender(owner, rec):
    if not isinstance(rec, Recommender):
        raise ConfigError("recommender", rec, "a simlab.feedback.Recommender", owner=owner)


def default_recommenders() -> dict[str, Recommender]:
    """The six recommenders of the homogenisation study, by label.

    Examples
    --------
    >>> list(default_recommenders())  # doctest: +NORMALIZE_WHITESPACE
    ['ideal', 'random', 'popularity', 'content_filtering', 'matrix_factorisation',
     'mf_epsilon_greedy']
    """
    return {
        "ideal": Ideal(),
        "random": RandomRecommender(),
        "popularity": Popularity(),
        "content_filtering": ContentFiltering(),
        "matrix_factorisation": MatrixFactorisation(),
        "mf_epsilon_greedy": EpsilonGreedy(recommender=MatrixFactorisation(), epsilon=0.1),
    }


@dataclass(frozen=True)
class Replay:
    """What happened when one recommender served one world.

    Parameters
    ----------
    chosen
        The item each user consumed at each step, shape (steps, users).
    clicked
        Whether that consumption was clicked, shape (steps, users).
    utility
        Its true utility, shape (steps, users).
    similar
        Each user's most similar other user by the recommender's user vectors at each step
        (a random other user when it has none, and during start-up), shape (steps, users).
    exposure_gini
        Gini coefficient of the items' cumulative exposure (position-discounted views) over
        the items in the catalogue, per step.
    coverage
        Share of the catalogue consumed at least once so far, per step.
    top_score
        Mean over users of the score the recommender gave its top-ranked item (NaN in
        start-up), per step: what a score monitor sees.

    Examples
    --------
    >>> r = replay(RecommenderWorld(n_users=5, steps=4, startup_steps=1), Popularity())
    >>> r.chosen.shape, r.coverage.shape
    ((4, 5), (4,))
    """

    chosen: np.ndarray
    clicked: np.ndarray
    utility: np.ndarray
    similar: np.ndarray
    exposure_gini: np.ndarray
    coverage: np.ndarray
    top_score: np.ndarray


def _step_rng(seed: int, name: str, step: int) -> np.random.Generator:
    seq = Rngs(seed).sequence(name)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, step)))
    )


def _gini(x: np.ndarray) -> float:
    n = x.shape[0]
    total = x.sum()
    if n < 2 or total <= 0:
        return 0.0
    s = np.sort(x)
    return float((2.0 * np.arange(1, n + 1) - n - 1) @ s / (n * total))


def _most_similar(vectors, u: int, rng) -> np.ndarray:
    noise = rng.random((u, u)) * 1e-9  # breaks ties at random (popularity: all tie)
    if vectors is None:
        sim = noise
    else:
        v = np.asarray(vectors, dtype=np.float64)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        v = v / np.where(norm > 0, norm, 1.0)
        sim = v @ v.T + noise
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(axis=1)


def replay(
    world: RecommenderWorld,
    recommender: Recommender,
    *,
    training: str = "repeated",
    seed: int = 0,
    catalogue: Catalogue | None = None,
    label: str | None = None,
) -> Replay:
    """Run one recommender through one realised world, step by step.

    Every step: each user's list ranks the items the model knows by its scores and puts
    the step's new items (and items the model asked to explore) at random positions; the
    user consumes the unconsumed item with the highest ``utility * rank ** -attention``
    and clicks it with probability equal to its utility; then (``training="repeated"``)
    the recommender is retrained on everything logged. Random positions and click dice
    come from per-step streams of `seed` that do not depend on the recommender (common
    random numbers); the recommender draws from its own stream (named by `label`).

    Parameters
    ----------
    world
        The world.
    recommender
        The recommender (cloned: the argument is never fitted).
    training
        ``"repeated"`` (retrained after every step) or ``"once"`` (after start-up only).
    seed
        The world's seed: same seed, same world and dice.
    catalogue
        The realised world, if already drawn (``world.draw(seed)``).
    label
        Names the recommender's own random stream (default: its registered name).

    Examples
    --------
    >>> world = RecommenderWorld(n_users=10, steps=8, startup_steps=2)
    >>> r = replay(world, Popularity(), seed=0)
    >>> r.chosen.shape, bool((r.coverage[1:] >= r.coverage[0] * 0).all())
    ((8, 10), True)
    """
    if training not in _TRAINING:
        raise ConfigError("training", training, f"one of {list(_TRAINING)}", owner="replay")
    _check_recommender("replay", recommender)
    cat = world.draw(seed) if catalogue is None else catalogue
    rec = recommender.clone()
    rec_rng = Rngs(seed)[f"recsys/recommender/{label or type(recommender).name}"]
    u, n_total = cat.utility.shape
    ips, steps, start = world.items_per_step, world.steps, world.startup_steps
    weights = np.arange(1, n_total + 1, dtype=np.float64) ** -world.attention
    consumed = np.zeros((u, n_total), dtype=bool)
    clicks = np.zeros((u, n_total), dtype=bool)
    exposure = np.zeros(n_total)
    chosen = np.empty((steps, u), dtype=np.int64)
    clicked = np.empty((steps, u), dtype=bool)
    utility = np.empty((steps, u))
    similar = np.empty((steps, u), dtype=np.int64)
    gini = np.empty(steps)
    coverage = np.empty(steps)
    top_score = np.full(steps, np.nan)
    rows = np.arange(u)[:, None]
    n_known = 0
    for s in range(steps):
        n_av = (s + 1) * ips
        dice = _step_rng(seed, "recsys/step", s)
        keys = dice.random((u, n_av))  # random positions (start-up, new and explored items)
        click_u = dice.random(u)
        pair_rng = _step_rng(seed, "recsys/pairs", s)
        if rec.knows_truth and s >= start:
            n_known = n_av
        elif s >= start and (training == "repeated" or s == start):
            n_known = s * ips
        if s >= start and (rec.knows_truth or training == "repeated" or s == start):
            history = History(
                consumed[:, :n_known],
                clicks[:, :n_known],
                cat.attributes[:n_known],
                cat.utility[:, :n_known],
                cat.preferences,
            )
            rec.fit(history, rec_rng)
        if s < start:
            similar[s] = _most_similar(None, u, pair_rng)
        else:
            scores = np.asarray(rec.score(rec_rng), dtype=np.float64)
            if scores.shape != (u, n_known):
                raise ConfigError(
                    "score", scores.shape, f"shape {(u, n_known)}", owner=type(rec).__name__
                )
            similar[s] = _most_similar(rec.user_vectors(), u, pair_rng)
            ranked = ~np.isnan(scores)
            # rank the known items per user (ties at random, by the step's keys) and space
            # them evenly in (0, 1); unranked items keep their uniform random key
            order = np.lexsort((keys[:, :n_known], np.where(ranked, -scores, np.inf)), axis=-1)
            m = np.maximum(ranked.sum(axis=1, keepdims=True), 1)
            slot = np.empty_like(keys[:, :n_known])
            np.put_along_axis(slot, order, (np.arange(n_known) + 0.5)[None, :] / m, axis=1)
            keys[:, :n_known] = np.where(ranked, slot, keys[:, :n_known])
            if n_known:
                top = np.take_along_axis(scores, order[:, :1], axis=1)[:, 0]
                top_score[s] = float(np.nanmean(top)) if np.isfinite(top).any() else np.nan
        keys[consumed[:, :n_av]] = np.inf  # consumed items leave the list
        order = np.argsort(keys, axis=1)
        shown = np.isfinite(np.take_along_axis(keys, order, axis=1))
        w = np.where(shown, weights[:n_av][None, :], 0.0)
        value = np.take_along_axis(cat.utility[:, :n_av], order, axis=1) * w
        value[~shown] = -1.0
        pos = value.argmax(axis=1)
        item = order[rows[:, 0], pos]
        chosen[s] = item
        util = cat.utility[rows[:, 0], item]
        utility[s] = util
        clicked[s] = click_u < util
        consumed[rows[:, 0], item] = True
        clicks[rows[:, 0], item] = clicked[s]
        exposure[:n_av] += np.bincount(order[shown], weights=w[shown], minlength=n_av)
        gini[s] = _gini(exposure[:n_av])
        coverage[s] = consumed[:, :n_av].any(axis=0).mean()
    return Replay(chosen, clicked, utility, similar, gini, coverage, top_score)


def _jaccard(chosen: np.ndarray, pairs: np.ndarray, n_items: int) -> np.ndarray:
    """Mean Jaccard index of consumed sets over (user, pairs[s, user]) at every step."""
    steps, u = chosen.shape
    seen = np.zeros((u, n_items), dtype=bool)
    out = np.empty(steps)
    users = np.arange(u)
    for s in range(steps):
        seen[users, chosen[s]] = True
        inter = (seen & seen[pairs[s]]).sum(axis=1)
        size = s + 1  # one new item per user per step, never repeated
        out[s] = float(np.mean(inter / (2 * size - inter)))
    return out


_METRICS = {
    "homogenisation_similar": "change in Jaccard similarity of consumed sets between most "
    "similar users (by the recommender's user vectors), relative to the ideal recommender",
    "homogenisation_random": "the same over fixed random pairs of users",
    "jaccard_similar": "Jaccard similarity of consumed sets between most similar users",
    "utility": "mean true utility of the consumed items",
    "utility_vs_ideal": "relative change in mean utility against the ideal recommender, "
    "(recommender - ideal) / ideal",
    "ctr": "click-through rate (share of consumptions clicked): the business proxy",
    "exposure_gini": "Gini coefficient of the items' cumulative position-discounted exposure",
    "coverage": "share of the catalogue consumed at least once so far",
    "top_score": "mean score of each user's top-ranked item (what a score monitor sees)",
}


def homogenisation_trial(
    world: RecommenderWorld | None = None,
    recommenders: dict[str, Recommender] | None = None,
    *,
    training=("repeated", "once"),
    seed: int = 0,
) -> xr.Dataset:
    """Replay every recommender on one realised world, and measure them against the ideal.

    All recommenders see the same world, start-up exposure, random positions and click dice
    (common random numbers). Homogenisation at step t is the mean Jaccard similarity of the
    item sets consumed so far by pairs of users under the recommender, minus the same
    pairs' similarity under the ideal recommender (positive: the recommender made them
    consume more alike than their preferences would). Pairs are each user's most similar
    user by the recommender's learned user vectors at step t, or fixed random pairs.

    Parameters
    ----------
    world
        The world (default: `RecommenderWorld()`, 100 users, 20 attributes, 10 new items
        per step, 100 steps).
    recommenders
        Label -> recommender; must include ``"ideal"`` (added if missing). Default:
        `default_recommenders`.
    training
        Training modes to run, among ``"repeated"`` and ``"once"``.
    seed
        The world's seed.

    Returns
    -------
    xarray.Dataset
        Dims (recommender, training, step); variables as listed in each one's
        ``description`` attribute.

    Examples
    --------
    >>> world = RecommenderWorld(n_users=20, steps=15, startup_steps=3)
    >>> ds = homogenisation_trial(world, {"popularity": Popularity()}, training=("repeated",))
    >>> float(ds.utility_vs_ideal.sel(recommender="ideal").max())
    0.0
    >>> ds.homogenisation_similar.dims
    ('recommender', 'training', 'step')
    """
    world = RecommenderWorld() if world is None else world
    recs = default_recommenders() if recommenders is None else dict(recommenders)
    if "ideal" not in recs:
        recs = {"ideal": Ideal(), **recs}
    modes = (training,) if isinstance(training, str) else tuple(training)
    for m in modes:
        if m not in _TRAINING:
            raise ConfigError(
                "training", m, f"any of {list(_TRAINING)}", owner="homogenisation_trial"
            )
    cat = world.draw(seed)
    u, n_items = cat.utility.shape
    random_pairs = np.broadcast_to(cat.partners, (world.steps, u))
    labels = list(recs)
    data = {k: np.empty((len(labels), len(modes), world.steps)) for k in _METRICS}
    for j, mode in enumerate(modes):
        runs = {
            lab: replay(world, rec, training=mode, seed=seed, catalogue=cat, label=lab)
            for lab, rec in recs.items()
        }
        ideal = runs["ideal"]
        ideal_util = ideal.utility.mean(axis=1)
        ideal_random = _jaccard(ideal.chosen, random_pairs, n_items)
        for i, lab in enumerate(labels):
            r = runs[lab]
            jac_sim = _jaccard(r.chosen, r.similar, n_items)
            ideal_sim = _jaccard(ideal.chosen, r.similar, n_items)
            util = r.utility.mean(axis=1)
            data["homogenisation_similar"][i, j] = jac_sim - ideal_sim
            data["homogenisation_random"][i, j] = (
                _jaccard(r.chosen, random_pairs, n_items) - ideal_random
            )
            data["jaccard_similar"][i, j] = jac_sim
            data["utility"][i, j] = util
            data["utility_vs_ideal"][i, j] = (util - ideal_util) / ideal_util
            data["ctr"][i, j] = r.clicked.mean(axis=1)
            data["exposure_gini"][i, j] = r.exposure_gini
            data["coverage"][i, j] = r.coverage
            data["top_score"][i, j] = r.top_score
    dims = ("recommender", "training", "step")
    ds = xr.Dataset(
        {k: (dims, v, {"description": _METRICS[k]}) for k, v in data.items()},
        coords={"recommender": labels, "training": list(modes), "step": np.arange(world.steps)},
    )
    ds.attrs.update(
        world=repr(world), seed=seed, startup_steps=world.startup_steps, n_users=world.n_users
    )
    return ds


def homogenisation_study(
    world: RecommenderWorld | None = None,
    recommenders: dict[str, Recommender] | None = None,
    *,
    trials: int = 10,
    training=("repeated", "once"),
    seed: int = 0,
    n_jobs: int = 1,
) -> xr.Dataset:
    """`homogenisation_trial` over `trials` worlds (seeds ``seed, seed + 1, ...``).

    Parameters
    ----------
    world, recommenders, training
        As for `homogenisation_trial`.
    trials
        Number of realised worlds.
    seed
        The first trial's seed.
    n_jobs
        Worker processes (joblib); the result does not depend on it.

    Returns
    -------
    xarray.Dataset
        `homogenisation_trial`'s variables with a leading ``trial`` dim.

    Examples
    --------
    >>> world = RecommenderWorld(n_users=10, steps=6, startup_steps=2)
    >>> ds = homogenisation_study(world, {"random": RandomRecommender()}, trials=2)
    >>> ds.sizes["trial"]
    2
    """
    check_int("homogenisation_study", "trials", trials, 1)
    check_int("homogenisation_study", "n_jobs", n_jobs, 1)
    seeds = [seed + i for i in range(trials)]
    if n_jobs == 1:
        parts = [
            homogenisation_trial(world, recommenders, training=training, seed=s) for s in seeds
        ]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(
            delayed(homogenisation_trial)(world, recommenders, training=training, seed=s)
            for s in seeds
        )
    out = xr.concat(parts, dim="trial", combine_attrs="drop_conflicts")
    return out.assign_coords(trial=seeds)


def loop_views(replay: Replay, catalogue: Catalogue) -> list:
    """What a team can see of a recommender loop, one `simlab.detectors.View` per step.

    Each step's view holds one row per user: the consumed item's attributes (``a0``,
    ``a1``, ...), its ``age`` (steps since it arrived) and its ``popularity`` (how many
    users had consumed it before, log1p), so item-distribution monitors (PSI, KS) watch
    what the loop makes users consume; and the click on it as an arrived label (a
    label-rate monitor on them is a CTR monitor). Labels arrive at once: clicks are fast.

    Parameters
    ----------
    replay
        A recommender's `Replay`.
    catalogue
        The world it was replayed on.

    Examples
    --------
    >>> world = RecommenderWorld(n_users=6, steps=3, startup_steps=1)
    >>> views = loop_views(replay(world, Popularity()), world.draw(0))
    >>> len(views), sorted(views[0].columns)[:2], views[0].n_labels
    (3, ['a0', 'a1'], 6)
    """
    from simlab.view import View

    steps, u = replay.chosen.shape
    n_items = catalogue.attributes.shape[0]
    counts = np.zeros(n_items)
    views = []
    for s in range(steps):
        item = replay.chosen[s]
        columns = {
            f"a{j}": catalogue.attributes[item, j] for j in range(catalogue.attributes.shape[1])
        }
        columns["age"] = (s - catalogue.arrival[item]).astype(np.float64)
        columns["popularity"] = np.log1p(counts[item])
        views.append(
            View(
                t=float(s),
                columns=columns,
                labels=replay.clicked[s].astype(np.float64),
                label_scores=np.zeros(u),
            )
        )
        np.add.at(counts, item, 1.0)
    return views


def watch_loop(
    replay: Replay,
    catalogue: Catalogue,
    monitors,
    *,
    reference: slice,
) -> xr.Dataset:
    """Run monitors over a recommender loop's steps (`loop_views`), fitted on `reference`.

    Parameters
    ----------
    replay, catalogue
        As for `loop_views`.
    monitors
        Label -> unfitted detector (any `simlab.detectors` monitor of features or labels).
    reference
        The steps whose views, pooled, are the reference (e.g. the first steps after
        start-up, when the model was first deployed).

    Returns
    -------
    xarray.Dataset
        ``statistic`` and ``alarm`` with dims (detector, step); steps in the reference
        have no verdict (NaN, False).

    Examples
    --------
    >>> from simlab.detectors import PSI, LabelRate
    >>> world = RecommenderWorld(n_users=30, steps=20, startup_steps=2)
    >>> cat = world.draw(0)
    >>> r = replay(world, Popularity(), catalogue=cat)
    >>> ds = watch_loop(r, cat, {"psi": PSI(features=("popularity",)),
    ...                          "ctr": LabelRate(window_size=30, min_samples=30)},
    ...                 reference=slice(2, 6))
    >>> ds.alarm.dims, int(ds.sizes["step"])
    (('detector', 'step'), 20)
    """
    from simlab.view import View

    views = loop_views(replay, catalogue)
    ref = views[reference]
    if not ref:
        raise ConfigError(
            "reference", reference, "a slice of at least one step", owner="watch_loop"
        )
    pooled = View(
        t=ref[0].t,
        columns={k: np.concatenate([v.columns[k] for v in ref]) for k in ref[0].columns},
        labels=np.concatenate([v.labels for v in ref]),
        label_scores=np.concatenate([v.label_scores for v in ref]),
    )
    in_ref = np.zeros(len(views), dtype=bool)
    in_ref[reference] = True
    labels = list(monitors)
    stat = np.full((len(labels), len(views)), np.nan)
    alarm = np.zeros((len(labels), len(views)), dtype=bool)
    for i, name in enumerate(labels):
        det = monitors[name].clone().fit(pooled)
        for s, view in enumerate(views):
            if in_ref[s] or s < reference.start:
                continue
            v = det.update(view)
            values = np.atleast_1d(np.asarray(v.statistic, dtype=float))
            if not np.isnan(values).all():  # per-feature monitors: the largest statistic
                stat[i, s] = float(np.nanmax(values))
            alarm[i, s] = bool(np.any(v.alarm))
    return xr.Dataset(
        {"statistic": (("detector", "step"), stat), "alarm": (("detector", "step"), alarm)},
        coords={"detector": labels, "step": np.arange(len(views))},
    )
