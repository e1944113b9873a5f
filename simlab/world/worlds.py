"""Synthetic worlds in both factorisations: causal (X, then Y|X) and anticausal (Y, then X|Y)."""

from __future__ import annotations

import math

import numpy as np

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.events import Event
from simlab.params import Component
from simlab.registry import Registry
from simlab.rng import Rngs
from simlab.validation import as_tuple, check_real
from simlab.world._blend import cache_of, recall, without_cache
from simlab.world.base import WorldWrapper
from simlab.world.concepts import Concept, _ConceptStack
from simlab.world.covariates import Block
from simlab.world.schema import Kind, Schema, Task
from simlab.world.shifts import ConceptShift, CovariateShift, LabelShift, Shift

__all__ = ["WORLDS", "Ambient", "AnticausalWorld", "CausalWorld"]

WORLDS: Registry = Registry("world")


def _rngs(rng) -> Rngs:
    return rng if isinstance(rng, Rngs) else Rngs(rng)


def _check_n(owner, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError("n", n, "an int >= 0", owner=owner)
    return int(n)


def _blocks(owner, key, blocks) -> tuple[Block, ...]:
    if isinstance(blocks, Block):
        blocks = (blocks,)
    blocks = as_tuple(owner, key, blocks, "a non-empty tuple of covariate blocks")
    if not blocks or not all(isinstance(b, Block) for b in blocks):
        raise ConfigError(key, blocks, "a non-empty tuple of covariate blocks", owner=owner)
    names = [f for b in blocks for f in b.features]
    dupes = sorted({f for f in names if names.count(f) > 1})
    if dupes:
        raise ConfigError(key, dupes, "each feature in exactly one block", owner=owner)
    return blocks


def _shifts(owner, shifts, allowed: tuple[type, ...]) -> tuple[Shift, ...]:
    shifts = as_tuple(owner, "shifts", shifts, "a tuple of shifts")
    for i, s in enumerate(shifts):
        if not isinstance(s, allowed):
            names = " or ".join(c.__name__ for c in allowed)
            raise ConfigError(f"shifts[{i}]", s, names, owner=owner)
    return shifts


def _sample_mixture(components, n, rng, specs) -> dict[str, np.ndarray]:
    """Draw `n` rows from a mixture ``[(w, blocks), ...]``; one component per row.

    Column by column, with each block's own `sample` / `sample_into`: for worlds whose
    blocks `_Layout` does not know (`_Layout.draw` makes the same draws into one matrix).
    """
    if len(components) == 1:
        cols = {}
        for block in components[0][1]:
            cols.update(block.sample(n, rng))
        return cols
    cols = {
        s.name: np.empty(n, dtype=np.float64 if s.kind is Kind.NUMERIC else object) for s in specs
    }
    for idx, (_, blocks) in zip(_component_rows(components, n, rng), components, strict=True):
        for block in blocks:
            block.sample_into(cols, idx, rng)
    for s in specs:
        if s.kind is not Kind.NUMERIC:
            cols[s.name] = cols[s.name].astype(str)
    return cols


def _mixture_logpdf(components, columns) -> np.ndarray:
    logs = []
    for w, blocks in components:
        lp = np.log(w) + sum(b.logpdf(columns) for b in blocks)
        logs.append(lp)
    return np.logaddexp.reduce(np.stack(logs), axis=0)


def _mixture_proba(concepts, columns) -> np.ndarray:
    """P(Y=1|x) (or E[Y|x]) of a concept mixture ``[(w, concept), ...]``."""
    out = None
    for w, c in concepts:
        p = c.proba(columns) if w == 1.0 else w * c.proba(columns)
        out = p if out is None else out + p
    return out


def _component_rows(components, n, rng) -> list[np.ndarray]:
    """The rows that each mixture component draws, one uniform per row.

    ``searchsorted`` on the cumulative weights; for two components, the same answer by
    one comparison.
    """
    if len(components) == 2:
        # searchsorted(cdf, u, side="right") is 0 exactly where u < cdf[0]; cdf[0] is
        # w0 / (w0 + w1), the sum of two weights being the same in any order
        w0, w1 = components[0][0], components[1][0]
        first = rng.random(n) < w0 / (w0 + w1)
        return [first.nonzero()[0], (~first).nonzero()[0]]
    weights = np.array([w for w, _ in components])
    cdf = np.cumsum(weights / weights.sum())
    which = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(components) - 1)
    return [np.flatnonzero(which == k) for k in range(len(components))]


def _fills(block) -> bool:
    # the block's own class draws into a matrix (`Block._fill`); a subclass that may
    # draw otherwise (its own `sample`) goes the general way
    return "_fill" in vars(type(block))


class _Layout:
    """Where a world's features live in a tick's draws; computed once from its blocks.

    Numeric blocks draw into one (features x rows) float matrix, each into its own band
    of rows (the schema's order), so that a concept reads its features as a matrix and
    the batch's columns are rows of it; categorical blocks keep their own columns. The
    draws are those of `_sample_mixture` (and of each block's `sample`), in the same
    order, so the numbers are the same to the bit.
    """

    def __init__(self, blocks):
        self.bands = []  # per block: (first row, end row), or None for a categorical block
        self.rows = {}  # numeric feature -> row of the matrix
        self.supported = True
        for block in blocks:
            specs = block.specs()
            if all(s.kind is Kind.NUMERIC for s in specs) and _fills(block):
                start = len(self.rows)
                self.rows.update({s.name: start + i for i, s in enumerate(specs)})
                self.bands.append((start, len(self.rows)))
            elif all(s.kind is not Kind.NUMERIC for s in specs):
                self.bands.append(None)
            else:
                self.supported = False
        self.n_numeric = len(self.rows)
        self.names = list(self.rows)
        self.other = [s.name for b in blocks for s in b.specs() if s.name not in self.rows]
        self.one_band = self.bands == [(0, self.n_numeric)]  # one numeric block, nothing else
        self._stacks: dict[tuple[int, ...], tuple] = {}

    def fits(self, blocks) -> bool:
        """True if `blocks` have this layout's bands (the same features per block)."""
        return len(blocks) == len(self.bands) and all(
            (band is None and all(s.kind is not Kind.NUMERIC for s in b.specs()))
            or (
                band is not None
                and _fills(b)
                and [s.name for s in b.specs()] == self.names[band[0] : band[1]]
            )
            for b, band in zip(blocks, self.bands, strict=True)
        )

    def draw(self, components, n, rng, names):
        """The columns (schema order) and the numeric matrix of `n` rows of a mixture."""
        if len(components) == 1:
            x = np.empty((self.n_numeric, n))
            other = {}
            for block, band in zip(components[0][1], self.bands, strict=True):
                if band is None:
                    other.update(block.sample(n, rng))
                else:
                    block._fill(x[band[0] : band[1]], rng)
            return self._columns(x, other, names)
        rows = _component_rows(components, n, rng)
        return self.draw_parts(
            list(zip(rows, [b for _, b in components], strict=True)), n, rng, names
        )

    def draw_parts(self, parts, n, rng, names):
        """Like `draw`, for rows already split: ``parts = [(rows, blocks), ...]``, in draw order."""
        x = np.empty((self.n_numeric, n))
        if self.one_band and len({blocks[0]._raw for _, blocks in parts}) == 1:
            # every part's draws are plain draws of one kind, one after the other: make
            # them with one call to the generator and hand each part its stretch
            kind = parts[0][1][0]._raw
            if kind is not None:
                d = self.n_numeric
                flat = np.empty(d * n)
                (rng.standard_normal if kind == "normal" else rng.random)(out=flat)
                start = 0
                for idx, (block,) in parts:
                    part = flat[start : start + d * idx.size].reshape(d, idx.size)
                    start += d * idx.size
                    block._finish(part)
                    x[:, idx] = part
                return self._columns(x, {}, names)
        cells = {name: np.empty(n, dtype=object) for name in self.other}
        for idx, blocks in parts:
            for block, band in zip(blocks, self.bands, strict=True):
                if band is None:
                    block.sample_into(cells, idx, rng)
                else:
                    part = np.empty((band[1] - band[0], idx.size))
                    block._fill(part, rng)
                    x[band[0] : band[1], idx] = part
        return self._columns(x, {name: col.astype(str) for name, col in cells.items()}, names)

    def _columns(self, x, other, names):
        x.flags.writeable = False  # the batch's columns are views of it, read-only anyway
        if not other and len(names) == self.n_numeric:
            return dict(zip(names, x, strict=True)), x
        return {f: x[self.rows[f]] if f in self.rows else other[f] for f in names}, x

    def stack(self, concepts):
        """The `_ConceptStack` of `concepts` with its rows of the matrix, or None.

        Prepared once per tuple of concepts (the mixtures of a world come back tick after
        tick; an interpolated concept, new on every tick, takes one of a few places).
        """
        return recall(self._stacks, concepts, lambda: self._stack(concepts))

    def _stack(self, concepts):
        stack = _ConceptStack.stack(concepts)
        if stack is not None:
            rows = [self.rows.get(f) for f in concepts[0]._features]
            if None in rows:
                return None
            if rows == list(range(self.n_numeric)):
                stack.rows = None  # the whole matrix, in order
            elif rows == list(range(rows[0], rows[0] + len(rows))):
                stack.rows = slice(rows[0], rows[0] + len(rows))  # a view
            else:
                stack.rows = rows
        return stack


def _proba_rows(concepts, columns, x, layout) -> np.ndarray:
    """`_mixture_proba` of a concept mixture, with concepts of one family evaluated at once."""
    probas = None
    if x is not None:
        stack = layout.stack(tuple(c for _, c in concepts))
        if stack is not None:
            probas = stack.proba(x if stack.rows is None else x[stack.rows])
    if probas is None:
        probas = [c.proba(columns) for _, c in concepts]
    out = None
    for (w, _), p in zip(concepts, probas, strict=True):
        if out is None:
            out = p if w == 1.0 else w * p
        elif w == 1.0:
            out = out + p
        else:
            out = out + w * p
    return out


def _sources(shifts) -> list[str]:
    names = [s.name for s in shifts]
    return [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]


class _Synthetic(Component):
    """Shared plumbing of the synthetic worlds."""

    schema: Schema
    shifts: tuple[Shift, ...]

    def _columns_check(self, columns) -> None:
        missing = [f for f in self.schema.names if f not in columns]
        if missing:
            raise ConfigError(
                "columns", sorted(columns), f"columns including {missing}", owner=self.name
            )

    def events(self, horizon: float = math.inf) -> list[Event]:
        """Every injected change within `horizon` hours, sorted by start."""
        out = []
        for source, shift in zip(_sources(self.shifts), self.shifts, strict=True):
            out.extend(shift.events(horizon, source=source, magnitude=self._magnitude(shift)))
        return sorted(out, key=lambda e: (e.start, e.source))

    def _magnitude(self, shift):
        return None

    def twin(self):
        """The same world without its shifts (see `simlab.world.base.twin`)."""
        return self.clone(shifts=())

    def __getstate__(self):
        return without_cache(self)


@WORLDS.register("causal")
class CausalWorld(_Synthetic):
    """A world drawn causally: X from the covariate blocks, then Y from the concept P(Y|X).

    Covariate shifts move the blocks and leave the concept alone; concept shifts move
    the concept and leave the blocks alone. Label shift needs `AnticausalWorld`.

    Parameters
    ----------
    covariates
        Covariate blocks (`Gaussian`, `Uniform`, `Categorical`), independent of each other.
    concept
        P(Y|X) (or E[Y|X] for regression).
    shifts
        `CovariateShift` and `ConceptShift` instances, applied in order.

    Examples
    --------
    >>> from simlab.world import Gaussian, Logistic, ConceptShift, Sudden
    >>> w = CausalWorld(
    ...     covariates=(Gaussian(features=("a", "b")),),
    ...     concept=Logistic(features=("a", "b"), coef=(2.0, 0.0)),
    ...     shifts=(ConceptShift(rotate=90, schedule=Sudden(start=10.0)),),
    ... )
    >>> b = w.sample(1000, t=0.0, rng=0)
    >>> b.n, w.schema.names
    (1000, ('a', 'b'))
    >>> x = {"a": [1.0], "b": [0.0]}
    >>> round(float(w.proba(x, 0.0)[0]), 3), round(float(w.proba(x, 20.0)[0]), 3)
    (0.881, 0.5)
    """

    def __init__(self, *, covariates, concept: Concept, shifts=()):
        self.covariates = covariates
        self.concept = concept
        self.shifts = shifts
        self._blocks = _blocks("CausalWorld", "covariates", covariates)
        if not isinstance(concept, Concept):
            raise ConfigError("concept", concept, "a Concept", owner="CausalWorld")
        specs = [s for b in self._blocks for s in b.specs()]
        self.schema = Schema(specs, task=concept.task)
        self.schema.check_names(concept.features, key="concept.features", owner="CausalWorld")
        self.shifts = _shifts("CausalWorld", shifts, (CovariateShift, ConceptShift))
        self._targets = {}
        current = concept
        for i, s in enumerate(self.shifts):
            if isinstance(s, CovariateShift):
                self.schema.check_names(
                    s.features, key=f"shifts[{i}].features", owner="CausalWorld"
                )
                s.after(self._blocks)  # fail now, not at the first tick
            else:
                current = s.target(current)
                self.schema.check_names(
                    current.features, key=f"shifts[{i}].after.features", owner="CausalWorld"
                )
                self._targets[i] = current

    def _fast_state(self):
        # what every tick needs that depends only on the configuration (never pickled)
        cache = cache_of(self)
        state = cache.get("state")
        if state is None:
            covariate = tuple(s for s in self.shifts if isinstance(s, CovariateShift))
            concept = tuple(
                (s, lambda _c, target=self._targets[i]: target)
                for i, s in enumerate(self.shifts)
                if isinstance(s, ConceptShift)
            )
            state = cache["state"] = (covariate, concept, _Layout(self._blocks))
        return state

    def covariates_at(self, t: float) -> list[tuple[float, tuple[Block, ...]]]:
        """P(X) at time `t`, as a mixture ``[(weight, blocks), ...]``."""
        return self._covariates_at(t, self._fast_state()[0])

    def _covariates_at(self, t, shifts):
        components = [(1.0, self._blocks)]
        for s in shifts:
            components = s.step(components, t)
        return components

    def concept_at(self, t: float) -> list[tuple[float, Concept]]:
        """P(Y|X) at time `t`, as a mixture ``[(weight, concept), ...]``."""
        return self._concept_at(t, self._fast_state()[1])

    def _concept_at(self, t, steps):
        components = [(1.0, self.concept)]
        for s, target_of in steps:
            components = s.step(components, t, target_of)
        return components

    def proba(self, columns, t: float) -> np.ndarray:
        """True P(Y=1|x) (binary) or E[Y|x] (regression) at time `t`."""
        self._columns_check(columns)
        return _mixture_proba(self.concept_at(t), columns)

    def logpdf(self, columns, t: float) -> np.ndarray:
        """The log density of P(X) at time `t` for each row of `columns` (log mass, categorical).

        What the oracle detector (`simlab.detectors.OracleCUSUM`) compares before and after a
        change. A row with a missing value has a NaN density.

        Examples
        --------
        >>> from simlab.world import logistic
        >>> round(float(logistic(n_features=1).logpdf({"x0": [0.0]}, 0.0)[0]), 4)
        -0.9189
        """
        self._columns_check(columns)
        return _mixture_logpdf(self.covariates_at(t), columns)

    def sample(self, n: int, t: float, rng) -> Batch:
        """Draw `n` rows at time `t` from the stream ``rng[self.name]``."""
        n = _check_n("CausalWorld", n)
        g = _rngs(rng)[self.name]
        covariate_shifts, concept_steps, layout = self._fast_state()
        covariates = self._covariates_at(t, covariate_shifts)
        names = self.schema.names
        if layout.supported:
            cols, x = layout.draw(covariates, n, g, names)
        else:
            cols = _sample_mixture(covariates, n, g, self.schema.features)
            cols, x = {name: cols[name] for name in names}, None
        concepts = self._concept_at(t, concept_steps)
        if self.schema.task is Task.BINARY or len(concepts) == 1:
            mean = _proba_rows(concepts, cols, x, layout)
            y = concepts[0][1].draw(mean, g)
        else:  # a mixture of regression concepts: each row follows one of them
            weights = np.array([w for w, _ in concepts])
            which = np.searchsorted(np.cumsum(weights), g.random(n) * weights.sum(), side="right")
            which = np.minimum(which, len(concepts) - 1)
            means = np.choose(which, [c.proba(cols) for _, c in concepts])
            noise = np.choose(which, [c.noise for _, c in concepts])
            y = means + noise * g.standard_normal(n)
        y.flags.writeable = False  # a fresh array; the batch would make a read-only view
        return Batch(t=t, columns=cols, y=y)


@WORLDS.register("anticausal")
class AnticausalWorld(_Synthetic):
    """A world drawn anticausally: Y from the prior, then X from P(X|Y).

    A `LabelShift` moves the prior and leaves P(X|Y) alone; the true P(Y=1|x) follows
    by Bayes' rule, ``π f1(x) / (π f1(x) + (1 - π) f0(x))``.

    Parameters
    ----------
    prior
        P(Y=1) before any shift, in [0, 1].
    negative, positive
        Covariate blocks of P(X|Y=0) and P(X|Y=1), with the same features.
    shifts
        `LabelShift` instances, applied in order.

    Examples
    --------
    >>> from simlab.world import Gaussian, LabelShift, Sudden
    >>> w = AnticausalWorld(
    ...     prior=0.5,
    ...     negative=(Gaussian(features=("a",), mean=-1.0),),
    ...     positive=(Gaussian(features=("a",), mean=1.0),),
    ...     shifts=(LabelShift(prior=0.1, schedule=Sudden(start=10.0)),),
    ... )
    >>> round(float(w.sample(10000, 0.0, rng=0).y.mean()), 1), w.prior_at(20.0)
    (0.5, 0.1)
    >>> round(float(w.proba({"a": [0.0]}, 0.0)[0]), 3)
    0.5
    """

    def __init__(self, *, prior: float, negative, positive, shifts=()):
        self.prior = prior
        self.negative = negative
        self.positive = positive
        self.shifts = shifts
        check_real("AnticausalWorld", "prior", prior, low=0.0, high=1.0, open_high=False)
        self._neg = _blocks("AnticausalWorld", "negative", negative)
        self._pos = _blocks("AnticausalWorld", "positive", positive)
        specs = [s for b in self._neg for s in b.specs()]
        pos_specs = [s for b in self._pos for s in b.specs()]
        if specs != pos_specs:
            raise ConfigError(
                "positive",
                [(s.name, s.kind.value, s.categories) for s in pos_specs],
                "the same features as negative (names, kinds and categories): "
                f"{[(s.name, s.kind.value, s.categories) for s in specs]}",
                owner="AnticausalWorld",
            )
        self.schema = Schema(specs, task=Task.BINARY)
        self.shifts = _shifts("AnticausalWorld", shifts, (LabelShift,))

    def _layout(self):
        # where the features go in a tick's draws (never pickled); None: the general path
        cache = cache_of(self)
        if "layout" not in cache:
            layout = _Layout(self._neg)
            ok = layout.supported and layout.fits(self._neg) and layout.fits(self._pos)
            cache["layout"] = layout if ok else None
        return cache["layout"]

    def prior_at(self, t: float) -> float:
        """P(Y=1) at time `t`."""
        p = float(self.prior)
        for s in self.shifts:
            p = s.prior_at(p, t)
        return p

    def _magnitude(self, shift):
        before = float(self.prior)
        for s in self.shifts:
            if s is shift:
                return abs(s.prior - before)
            before = s.prior
        return None

    def proba(self, columns, t: float) -> np.ndarray:
        """True P(Y=1|x) at time `t`, by Bayes' rule."""
        self._columns_check(columns)
        pi = self.prior_at(t)
        if pi in (0.0, 1.0):
            n = len(np.asarray(columns[self.schema.names[0]]))
            return np.full(n, pi)
        lp = _mixture_logpdf([(pi, self._pos)], columns)
        ln = _mixture_logpdf([(1.0 - pi, self._neg)], columns)
        return 1.0 / (1.0 + np.exp(np.clip(ln - lp, -700, 700)))

    def logpdf(self, columns, t: float) -> np.ndarray:
        """The log density of P(X) at time `t`: the class densities mixed by the prior.

        Examples
        --------
        >>> from simlab.world import gaussian_classes
        >>> w = gaussian_classes(n_features=1, separation=0.0)
        >>> round(float(w.logpdf({"x0": [0.0]}, 0.0)[0]), 4)
        -0.9189
        """
        self._columns_check(columns)
        pi = self.prior_at(t)
        parts = [(w, blocks) for w, blocks in ((1.0 - pi, self._neg), (pi, self._pos)) if w > 0]
        return _mixture_logpdf(parts, columns)

    def sample(self, n: int, t: float, rng) -> Batch:
        """Draw `n` rows at time `t` from the stream ``rng[self.name]``."""
        n = _check_n("AnticausalWorld", n)
        g = _rngs(rng)[self.name]
        pi = self.prior_at(t)
        y = (g.random(n) < pi).astype(np.int8)
        # rows of each class come from that class's blocks
        pos = np.flatnonzero(y == 1)
        neg = np.flatnonzero(y == 0)
        layout = self._layout()
        if layout is not None:  # the same draws, into one matrix
            parts = [(neg, self._neg), (pos, self._pos)]
            cols, _ = layout.draw_parts(parts, n, g, self.schema.names)
            y.flags.writeable = False  # a fresh array; the batch would make a read-only view
            return Batch(t=t, columns=cols, y=y)
        cols = {}
        for idx, blocks in ((neg, self._neg), (pos, self._pos)):
            for block in blocks:
                for name, values in block.sample(idx.size, g).items():
                    if name not in cols:
                        cols[name] = np.empty(
                            n, dtype=values.dtype if values.dtype.kind == "f" else object
                        )
                    cols[name][idx] = values
        for spec in self.schema.features:
            if spec.kind is not Kind.NUMERIC:
                cols[spec.name] = cols[spec.name].astype(str)
        return Batch(t=t, columns={k: cols[k] for k in self.schema.names}, y=y)


@WORLDS.register("ambient")
class Ambient(WorldWrapper):
    """A world whose changes are part of normal life: it draws the same rows, injects nothing.

    The inner world's shifts still move its rows (a daily cycle, an autocorrelated wander),
    but none of them is an injected change: `events` is empty, so every alarm on such a
    world is a false alarm. This is the null twin for detectors that assume independent,
    identically distributed rows.

    Parameters
    ----------
    world
        The world whose shifts are normal life.

    Examples
    --------
    >>> from simlab.world import CovariateShift, Seasonal, logistic
    >>> daily = CovariateShift(features=("x0",), mean=1.0, schedule=Seasonal(period=24.0))
    >>> w = Ambient(world=logistic(n_features=2, shifts=(daily,)))
    >>> w.events(), len(w.world.events())
    ([], 1)
    """

    def events(self, horizon: float = math.inf) -> list[Event]:
        """Nothing is injected."""
        return []

    def twin(self):
        """Itself: nothing is injected, so the world is its own no-change twin."""
        return self.clone()
