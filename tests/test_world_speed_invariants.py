"""The fast paths of world generation give the same numbers, bit for bit, as the slow way.

Worlds cache what depends only on their configuration (spelled-out blocks and concepts,
interpolation plans, stacked concept weights, the layout of a tick's draws) and build
interpolated blocks and concepts without encoding or validation. Every test here compares
a world against a reference written from the public pieces the slow way, the way
generation worked before those caches: weights from the schedules' array branch,
components interpolated through `_blend.interpolate` (encode, lerp, build and validate),
blocks shifted afresh, rows drawn with `Block.sample` / `Block.sample_into`, one concept's
`proba` at a time. The reference never caches, so a cache that answered for another time
(a stale concept or block) shows up as a difference. The times below move on every call,
and go back and forth, as they never do in the engine but could in a notebook.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from simlab import Rngs
from simlab.world import (
    SEA,
    AnticausalWorld,
    Block,
    Categorical,
    CausalWorld,
    ConceptShift,
    CovariateShift,
    Friedman,
    Gaussian,
    Gradual,
    Hyperplane,
    Incremental,
    LabelShift,
    Linear,
    Logistic,
    Recurring,
    Rules,
    Seasonal,
    Sequence,
    Sudden,
    Uniform,
    _blend,
    credit,
    friedman,
    gaussian_classes,
    hyperplane,
    logistic,
    sea,
)
from simlab.world._blend import can_interpolate, interpolate
from simlab.world.concepts import _ConceptStack
from simlab.world.schema import Kind, Task

# -- the reference: generation the slow way, from the public pieces ------------------------


def ref_weight(schedule, t) -> float:
    """The schedule's weight through its array branch (never the scalar shortcut)."""
    return float(np.asarray(schedule.weight(np.array([float(t)])))[0])


def ref_step(components, weight, blend, after_of, lerp):
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


def ref_lerp_blocks(blocks, after, w):
    pairs = [
        (b, a) if a is b else (b.expanded(), a.expanded())
        for b, a in zip(blocks, after, strict=True)
    ]
    if not all(a is b or can_interpolate(b, a) for b, a in pairs):
        return None
    return tuple(b if a is b else interpolate(b, a, w) for b, a in pairs)


def ref_lerp_concepts(before, after, w):
    before, after = before.expanded(), after.expanded()
    return interpolate(before, after, w) if can_interpolate(before, after) else None


def ref_covariates(world, t):
    blocks = world.covariates
    blocks = (blocks,) if isinstance(blocks, Block) else tuple(blocks)
    components = [(1.0, blocks)]
    for s in world.shifts:
        if isinstance(s, CovariateShift):
            # `_after` afresh: never the cached answer of `after`
            w = ref_weight(s.schedule, t)
            components = ref_step(components, w, s.schedule.blend, s._after, ref_lerp_blocks)
    return components


def ref_concepts(world, t):
    components = [(1.0, world.concept)]
    current = world.concept
    for s in world.shifts:
        if isinstance(s, ConceptShift):
            current = target = s.target(current)
            w = ref_weight(s.schedule, t)
            components = ref_step(
                components, w, s.schedule.blend, lambda _c, x=target: x, ref_lerp_concepts
            )
    return components


def ref_sample_mixture(components, n, rng, specs):
    if len(components) == 1:
        cols = {}
        for block in components[0][1]:
            cols.update(block.sample(n, rng))
        return cols
    weights = np.array([w for w, _ in components])
    cdf = np.cumsum(weights / weights.sum())
    which = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(components) - 1)
    cols = {
        s.name: np.empty(n, dtype=np.float64 if s.kind is Kind.NUMERIC else object) for s in specs
    }
    for k, (_, blocks) in enumerate(components):
        idx = np.flatnonzero(which == k)
        for block in blocks:
            block.sample_into(cols, idx, rng)
    for s in specs:
        if s.kind is not Kind.NUMERIC:
            cols[s.name] = cols[s.name].astype(str)
    return cols


def ref_mixture_proba(concepts, columns):
    out = None
    for w, c in concepts:
        p = c.proba(columns) if w == 1.0 else w * c.proba(columns)
        out = p if out is None else out + p
    return out


def ref_sample(world, n, t, seed):
    """What `world.sample(n, t, Rngs(seed))` gave before the fast paths, as (columns, y)."""
    g = Rngs(seed)[world.name]
    if isinstance(world, AnticausalWorld):
        return ref_sample_anticausal(world, n, t, g)
    cols = ref_sample_mixture(ref_covariates(world, t), n, g, world.schema.features)
    cols = {name: cols[name] for name in world.schema.names}
    concepts = ref_concepts(world, t)
    mean = ref_mixture_proba(concepts, cols)
    if world.schema.task is Task.BINARY:
        y = (g.random(n) < mean).astype(np.int8)
    elif len(concepts) == 1:
        y = mean + concepts[0][1].noise * g.standard_normal(n)
    else:
        weights = np.array([w for w, _ in concepts])
        which = np.searchsorted(np.cumsum(weights), g.random(n) * weights.sum(), side="right")
        which = np.minimum(which, len(concepts) - 1)
        means = np.choose(which, [c.proba(cols) for _, c in concepts])
        noise = np.choose(which, [c.noise for _, c in concepts])
        y = means + noise * g.standard_normal(n)
    return cols, y


def ref_prior(world, t):
    p = float(world.prior)
    for s in world.shifts:
        w = ref_weight(s.schedule, t)
        p = float(round((1.0 - w) * p + w * s.prior, 15))
    return p


def ref_sample_anticausal(world, n, t, g):
    y = (g.random(n) < ref_prior(world, t)).astype(np.int8)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    neg_blocks = (world.negative,) if isinstance(world.negative, Block) else world.negative
    pos_blocks = (world.positive,) if isinstance(world.positive, Block) else world.positive
    cols = {}
    for idx, blocks in ((neg, neg_blocks), (pos, pos_blocks)):
        for block in blocks:
            for name, values in block.sample(idx.size, g).items():
                if name not in cols:
                    dtype = values.dtype if values.dtype.kind == "f" else object
                    cols[name] = np.empty(n, dtype=dtype)
                cols[name][idx] = values
    for spec in world.schema.features:
        if spec.kind is not Kind.NUMERIC:
            cols[spec.name] = cols[spec.name].astype(str)
    return {k: cols[k] for k in world.schema.names}, y


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_same_batch(world, n, t, seed):
    batch = world.sample(n, t, Rngs(seed))
    cols, y = ref_sample(world, n, t, seed)
    assert tuple(batch.columns) == tuple(cols), f"column order differs at t={t}"
    for name in cols:
        assert same_bits(batch.columns[name], cols[name]), f"column {name} differs at t={t}"
    assert same_bits(batch.y, y), f"y differs at t={t}"


# -- the worlds: every kind of schedule, on covariates and on concepts -----------------------

G, I = Gradual, Incremental  # noqa: E741


def _worlds():
    corr_world = CausalWorld(
        covariates=(
            Gaussian(
                features=("a", "b", "c"), mean=(1.0, 2.0, 3.0), scale=(1.0, 2.0, 0.5), corr=0.3
            ),
            Uniform(features=("u",), low=-1.0, high=2.0),
        ),
        concept=Linear(features=("a", "b", "u"), coef=(1.0, -2.0, 0.5), intercept=3.0, noise=0.5),
        shifts=(
            ConceptShift(rotate=60.0, schedule=G(start=10.0, width=40.0)),
            ConceptShift(
                after=Linear(features=("a", "c"), coef=(2.0, 1.0), noise=2.0),
                schedule=I(start=30.0, width=40.0),
            ),
            CovariateShift(
                features=("b", "c"), mean=(1.0, 1.0), corr=-0.2, schedule=I(start=20.0, width=40.0)
            ),
            CovariateShift(features=("u",), scale=3.0, schedule=G(start=15.0, width=40.0)),
        ),
    )
    return {
        "bench: gradual covariate + gradual concept": logistic(
            n_features=10,
            shifts=(
                CovariateShift(features=("x0", "x1"), mean=1.0, schedule=G(start=10.0, width=50.0)),
                ConceptShift(rotate=60.0, schedule=G(start=20.0, width=50.0)),
            ),
        ),
        "incremental covariate + incremental concept": logistic(
            n_features=6,
            shifts=(
                CovariateShift(
                    features=("x0", "x2"),
                    mean=(1.0, -2.0),
                    scale=1.5,
                    schedule=I(start=5, width=60),
                ),
                ConceptShift(rotate=45.0, schedule=I(start=10.0, width=50.0)),
            ),
        ),
        "stacked incremental and gradual, quadratic concept": logistic(
            n_features=5,
            quadratic=(0.3, 0.0, -0.2, 0.0, 0.1),
            intercept=0.25,
            shifts=(
                CovariateShift(features=("x0",), mean=1.0, schedule=G(start=10.0, width=60.0)),
                CovariateShift(
                    features=("x0", "x1"),
                    mean=(0.5, 0.5),
                    scale=(2.0, 0.5),
                    schedule=I(start=30.0, width=60.0),
                ),
                ConceptShift(rotate=40.0, schedule=I(start=20.0, width=50.0)),
                ConceptShift(rotate=-70.0, schedule=G(start=40.0, width=50.0)),
                ConceptShift(
                    after=Logistic(
                        features=("x0", "x1", "x2", "x3", "x4"),
                        coef=(0.1, 0.2, 0.3, 0.4, 0.5),
                        intercept=-1,
                        quadratic=(0.1,) * 5,
                    ),
                    schedule=I(start=60.0, width=30.0),
                ),
            ),
        ),
        "recurring covariate and concept": logistic(
            n_features=3,
            shifts=(
                ConceptShift(rotate=90.0, schedule=Recurring(start=5.0, period=24.0, duty=0.25)),
                CovariateShift(
                    features=("x2",),
                    mean=3.0,
                    schedule=Recurring(start=0.0, period=17.0, duty=0.5, n_cycles=4),
                ),
            ),
        ),
        "seasonal covariate and concept": logistic(
            n_features=3,
            shifts=(
                ConceptShift(rotate=90.0, schedule=Seasonal(period=24.0, amplitude=0.7)),
                CovariateShift(
                    features=("x1",),
                    mean=2.0,
                    scale=0.5,
                    schedule=Seasonal(period=40.0, start=3.0),
                ),
            ),
        ),
        "sequences, sudden": logistic(
            n_features=3,
            shifts=(
                ConceptShift(
                    rotate=50.0,
                    schedule=Sequence(
                        parts=(I(start=10.0, width=20.0), Sudden(start=50.0), I(start=60, width=10))
                    ),
                ),
                CovariateShift(
                    features=("x0",),
                    mean=2.0,
                    schedule=Sequence(parts=(G(start=5.0, width=20.0), Sudden(start=40.0))),
                ),
            ),
        ),
        "hyperplane: incremental and seasonal rotation, threshold moves": CausalWorld(
            covariates=(Uniform(features=("a", "b", "c")),),
            concept=Hyperplane(features=("a", "b", "c"), weights=(1.0, 2.0, 3.0)),
            shifts=(
                ConceptShift(
                    after=Hyperplane(
                        features=("a", "b", "c"), weights=(3.0, 2.0, 1.0), threshold=1.0, noise=0.2
                    ),
                    schedule=I(start=10.0, width=40.0),
                ),
                ConceptShift(rotate=20.0, schedule=Seasonal(period=12.0, amplitude=0.5)),
            ),
        ),
        "hyperplane, gradual rotation": hyperplane(
            n_features=5, shifts=(ConceptShift(rotate=45.0, schedule=G(start=20.0, width=50.0)),)
        ),
        "SEA, incremental threshold, uniform shifts": sea(
            shifts=(
                ConceptShift(after=SEA(threshold=6.0, noise=0.2), schedule=I(start=10, width=80)),
                CovariateShift(
                    features=("x0", "x1"), mean=1.0, scale=0.5, schedule=G(start=10, width=50)
                ),
                CovariateShift(features=("x2",), mean=-1.0, schedule=I(start=10.0, width=50.0)),
            )
        ),
        "categorical frequencies and a rule list": credit(
            shifts=(
                CovariateShift(
                    features=("region",), p=(0.1, 0.2, 0.3, 0.4), schedule=I(start=10, width=50)
                ),
                CovariateShift(features=("income",), mean=20.0, schedule=G(start=20, width=40)),
                ConceptShift(
                    after=Rules(rules=({"p": 0.9, "income": [60.0, math.inf]},), default=0.3),
                    schedule=I(start=30.0, width=40.0),
                ),
            )
        ),
        "regression: gradual and incremental Friedman": friedman(
            shifts=(
                CovariateShift(features=("x0",), mean=0.3, schedule=G(start=10.0, width=40.0)),
                ConceptShift(after=Friedman(noise=3.0), schedule=G(start=20.0, width=40.0)),
                ConceptShift(after=Friedman(noise=1.5), schedule=I(start=30.0, width=40.0)),
            )
        ),
        "regression mixture, correlated blocks, moving correlation": corr_world,
        "label shift, gradual": gaussian_classes(
            n_features=3, shifts=(LabelShift(prior=0.2, schedule=G(start=10.0, width=50.0)),)
        ),
        "label shift, seasonal, categorical classes": AnticausalWorld(
            prior=0.4,
            negative=(
                Gaussian(features=("a",), mean=-1.0),
                Categorical(feature="c", categories=("p", "q", "r"), p=(0.5, 0.3, 0.2)),
            ),
            positive=(
                Gaussian(features=("a",), mean=1.0, scale=2.0),
                Categorical(feature="c", categories=("p", "q", "r"), p=(0.2, 0.3, 0.5)),
            ),
            shifts=(LabelShift(prior=0.7, schedule=Seasonal(period=24.0)),),
        ),
    }


WORLDS = _worlds()
# hourly ticks across every schedule above, then back and forth (never in order twice)
TIMES = [float(h) for h in range(-5, 100)] + [57.5, 12.25, 80.0, 33.3, 57.5, 1e6, 22.0]


@pytest.mark.parametrize("name", list(WORLDS))
def test_sample_is_the_slow_reference_bit_for_bit(name):
    world = WORLDS[name]
    for i, t in enumerate(TIMES):
        n = (1000, 257, 1, 0, 16, 15)[i % 6]
        assert_same_batch(world, n, t, seed=i)


@pytest.mark.parametrize("name", [k for k, w in WORLDS.items() if isinstance(w, CausalWorld)])
def test_mixtures_and_proba_are_the_slow_reference(name):
    world = WORLDS[name]
    x = world.sample(300, 0.0, Rngs(99)).columns
    for t in TIMES:
        fast, slow = world.concept_at(t), ref_concepts(world, t)
        assert [w for w, _ in fast] == [w for w, _ in slow], f"concept weights at t={t}"
        for (_, a), (_, b) in zip(fast, slow, strict=True):
            assert_same_component(a, b, t)
        fast, slow = world.covariates_at(t), ref_covariates(world, t)
        assert [w for w, _ in fast] == [w for w, _ in slow], f"covariate weights at t={t}"
        for (_, a), (_, b) in zip(fast, slow, strict=True):
            for block_a, block_b in zip(a, b, strict=True):
                assert_same_component(block_a, block_b, t)
        assert same_bits(world.proba(x, t), ref_mixture_proba(ref_concepts(world, t), x))


def assert_same_component(a, b, t):
    """Equal parameters and the same derived state (what __init__ would have stored)."""
    assert type(a) is type(b), f"{type(a).__name__} vs {type(b).__name__} at t={t}"
    assert repr(a) == repr(b), f"{a!r} vs {b!r} at t={t}"
    assert a.to_json() == b.to_json(), f"{a!r} vs {b!r} at t={t}"
    va = {k: v for k, v in vars(a).items() if k != "_fast"}
    vb = {k: v for k, v in vars(b).items() if k != "_fast"}
    assert va.keys() == vb.keys(), f"attributes {sorted(va)} vs {sorted(vb)} at t={t}"
    for key, value in va.items():
        if isinstance(value, np.ndarray):
            assert same_bits(value, vb[key]), f"{type(a).__name__}.{key} at t={t}"
        else:
            assert repr(value) == repr(vb[key]), f"{type(a).__name__}.{key} at t={t}"


def test_a_world_used_at_many_times_answers_each_time_afresh():
    # one world object, its caches warm, asked about t then t' then t again
    world = WORLDS["incremental covariate + incremental concept"]
    for t in (20.0, 21.0, 20.0, 35.5, 21.0, 0.0, 100.0, 20.0):
        assert_same_batch(world, 500, t, seed=3)
    a = world.concept_at(20.0)[0][1].coef
    b = world.concept_at(21.0)[0][1].coef
    assert a != b  # the interpolated concept moves with t


def test_the_reference_catches_a_stale_interpolation(monkeypatch):
    # the comparisons above would fail if an interpolated component were reused across t
    world = logistic(
        n_features=3, shifts=(ConceptShift(rotate=45.0, schedule=I(start=0.0, width=10.0)),)
    )
    assert_same_batch(world, 200, 2.0, seed=0)
    call = _blend._Interpolator.__call__
    stale = {}

    def remembers_the_first_weight(self, w):
        return stale.setdefault(id(self), call(self, w))

    monkeypatch.setattr(_blend._Interpolator, "__call__", remembers_the_first_weight)
    stale.clear()
    world.sample(10, 2.0, Rngs(0))  # the interpolator now answers t=2 for every t
    with pytest.raises(AssertionError, match=r"y differs at t=7\.0"):
        assert_same_batch(world, 200, 7.0, seed=0)


# -- the pieces --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 17, 1000])
def test_concept_stack_is_each_concepts_proba(n):
    rng = np.random.default_rng(n)
    feats = ("a", "b", "c", "d", "e", "f", "g", "h", "i")
    x = rng.standard_normal((len(feats), n)) * 10.0 ** rng.integers(-6, 6, size=(len(feats), 1))
    x[:, : n // 3] = np.where(rng.random((len(feats), n // 3)) < 0.2, -0.0, x[:, : n // 3])
    cols = dict(zip(feats, x, strict=True))
    quad = (0.5, 0.0, -1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.25)
    families = [
        [Logistic(features=feats, coef=tuple(rng.standard_normal(9))) for _ in range(3)],
        [
            Logistic(
                features=feats, coef=tuple(rng.standard_normal(9)), intercept=i, quadratic=quad
            )
            for i in (0, 0.5, -2)
        ],
        [Hyperplane(features=feats, weights=tuple(rng.random(9)), noise=0.1) for _ in range(2)],
        [Hyperplane(features=feats, weights=tuple(rng.random(9)), noise=0)],
    ]
    for concepts in families:
        p = _ConceptStack.stack(concepts).proba(x)
        for k, c in enumerate(concepts):
            assert same_bits(p[k], c.proba(cols)), (type(c).__name__, k)
    assert _ConceptStack.stack([families[0][0], families[2][0]]) is None  # two families
    assert _ConceptStack.stack([families[0][0], families[1][0]]) is None  # other x² terms


@pytest.mark.parametrize(
    "schedule",
    [
        Sudden(start=10.0),
        Gradual(start=10.0, width=50.0),
        Gradual(start=3, width=7),
        Incremental(start=10.0, width=50.0),
        Recurring(start=5.0, period=24.0, duty=0.25),
        Recurring(start=-3.0, period=7.5, duty=0.9, n_cycles=3),
        Seasonal(period=24.0, amplitude=0.7),
        Seasonal(period=168.0, start=12.0),
        Sequence(parts=(Gradual(start=5.0, width=20.0), Gradual(start=40.0, width=30.0))),
        Sequence(parts=(Incremental(start=0.0, width=10.0), Sudden(start=20.0))),
    ],
)
def test_scalar_weights_are_the_array_weights(schedule):
    times = np.concatenate([np.linspace(-60.0, 260.0, 6401), np.arange(-10.0, 80.0)])
    array = np.asarray(schedule.weight(times))
    for t, w in zip(times, array, strict=True):
        for scalar in (float(t), np.float64(t)):
            got = schedule.weight(scalar)
            assert type(got) is float, (scalar, got)
            assert same_bits(got, w), (scalar, got, w)
    for t in range(-10, 80):
        assert same_bits(schedule.weight(t), schedule.weight(np.array([float(t)]))[0])
    with np.errstate(invalid="ignore"):  # cos(inf)
        for t in (math.nan, math.inf, -math.inf):  # not the scalar branch: still answered
            assert same_bits(schedule.weight(t), np.asarray(schedule.weight(np.array([t])))[0])


def test_caches_are_not_pickled_and_a_pickled_world_draws_the_same():
    world = WORLDS["stacked incremental and gradual, quadratic concept"]
    for t in TIMES[:40]:
        world.sample(50, t, Rngs(1))
    assert "_fast" in vars(world)
    again = pickle.loads(pickle.dumps(world))
    assert "_fast" not in vars(again)
    assert again == world
    assert all("_fast" not in vars(b) for b in again._blocks)
    for t in (0.0, 35.0, 65.0, 95.0):
        a, b = world.sample(100, t, Rngs(2)), again.sample(100, t, Rngs(2))
        assert all(same_bits(a.columns[k], b.columns[k]) for k in a.columns)
        assert same_bits(a.y, b.y)


def test_interpolated_components_are_what_the_reference_builds():
    # each family's fast interpolation against `_blend.interpolate`, at many weights
    pairs = [
        (Gaussian(features=("a", "b"), mean=(0.0, 1.0), corr=0.5), {"mean": (1.0, -3.0)}),
        (Gaussian(features=("a", "b"), scale=(1.0, 2.0)), {"scale": (4.0, 0.5)}),
        (Uniform(features=("a", "b"), low=(0.0, -1.0), high=(1.0, 1.0)), {"high": (3.0, 2.0)}),
        (Categorical(feature="c", categories=("x", "y"), p=(0.3, 0.7)), {"p": (0.9, 0.1)}),
        (Logistic(features=("a", "b"), coef=(1.0, 2.0), quadratic=(0.0, 1.0)), {"coef": (0, 1)}),
        (Linear(features=("a",), coef=(1.0,), intercept=2, noise=0), {"noise": 1.5}),
        (Hyperplane(features=("a", "b"), weights=(1.0, 3.0)), {"threshold": 0.5, "noise": 0.2}),
        (SEA(threshold=8, noise=0.1), {"threshold": 9.5}),
    ]
    for before, change in pairs:
        a, b = before.expanded(), before.clone(**change).expanded()
        move = _blend.interpolator(a, b)
        assert move is not None, before
        for w in (1e-9, 0.1, 1 / 3, 0.5, 0.75, 1 - 1e-12):
            assert_same_component(move(w), interpolate(a, b, w), w)


def test_a_block_subclass_with_its_own_draws_is_drawn_its_way():
    class Offset(Gaussian):  # draws differently from its parent
        def sample(self, n, rng):
            return {k: v + 100.0 for k, v in super().sample(n, rng).items()}

    world = CausalWorld(
        covariates=(Offset(features=("a", "b")),),
        concept=Logistic(features=("a", "b"), coef=(1.0, -1.0)),
        shifts=(CovariateShift(features=("a",), mean=1.0, schedule=G(start=10.0, width=10.0)),),
    )
    batch = world.sample(200, 0.0, Rngs(0))
    assert batch.columns["a"].min() > 50.0
    for t in (0.0, 12.0, 15.0, 30.0):  # one block, then a mixture, then the shifted block
        assert_same_batch(world, 200, t, seed=0)
