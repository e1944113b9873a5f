"""Concepts P(Y|X): what the target is given the features, for binary and regression tasks."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import expit

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import as_tuple, check_real
from simlab.world._blend import _lerp, floats, lerp_array, without_cache
from simlab.world.schema import Task

__all__ = [
    "CONCEPTS",
    "SEA",
    "Concept",
    "Friedman",
    "Hyperplane",
    "Linear",
    "Logistic",
    "Rules",
]

CONCEPTS: Registry[Concept] = Registry("concept")


def _features(owner, features, n=None) -> tuple[str, ...]:
    if isinstance(features, str):
        features = (features,)
    allowed = "a non-empty tuple of feature names"
    features = as_tuple(owner, "features", features, allowed) if features is not None else ()
    if not features or not all(isinstance(f, str) and f for f in features):
        raise ConfigError("features", features, "a non-empty tuple of feature names", owner=owner)
    if n is not None and len(features) != n:
        raise ConfigError("features", features, f"exactly {n} feature names", owner=owner)
    return features


def _coef(owner, key, value, d) -> np.ndarray:
    try:
        v = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        allowed = f"{d} finite numbers (one per feature)"
        raise ConfigError(key, value, allowed, owner=owner) from None
    if v.ndim == 0:
        v = np.full(d, float(v))
    if v.shape != (d,) or not np.isfinite(v).all():
        raise ConfigError(key, value, f"{d} finite numbers (one per feature)", owner=owner)
    return v


def _col(columns, name) -> np.ndarray:
    return np.asarray(columns[name], dtype=float)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # scipy's expit is one pass, and stable: it never overflows for large |z|
    return expit(z)


def _sum_terms(terms: np.ndarray) -> np.ndarray:
    """Add up ``terms`` (K, terms, n) along the middle axis, term after term, in order.

    The same additions in the same order as a Python loop ``acc = terms[0]; acc += ...``
    (the loop `Logistic.logit` runs), in one C loop. Only the sign of a zero sum may
    differ (numpy's reduction starts from +0.0), which no caller can see: σ(±0) and
    ``±0 >= threshold`` agree.
    """
    if terms.shape[2] >= _REDUCE_MIN:
        # numpy adds along an axis that is not the fast one term after term, in order
        # (pairwise summation is only ever used along the fast axis)
        return np.add.reduce(terms, axis=1)
    acc = terms[:, 0].copy()
    for j in range(1, terms.shape[1]):
        acc += terms[:, j]
    return acc


# below this many rows, add with a plain loop (a reduction over a single row would run
# along the fast axis, pairwise)
_REDUCE_MIN = 16


class _ConceptStack:
    """K concepts of one family on the same features, prepared to be evaluated together.

    `stack` builds one, or returns None when the concepts are not supported: concepts
    that sum weighted features (`Logistic` with the same quadratic terms, `Hyperplane`),
    of one family, on the same features. ``proba(x)``, with `x` the features as rows in
    the concepts' order, is ``[c.proba(columns) for c in concepts]`` as a (K, n) array,
    bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> a = Logistic(features=("u", "v"), coef=(1.0, -1.0))
    >>> b = Logistic(features=("u", "v"), coef=(0.5, 2.0), intercept=0.25)
    >>> x = np.random.default_rng(0).standard_normal((2, 5))
    >>> cols = {"u": x[0], "v": x[1]}
    >>> p = _ConceptStack.stack((a, b)).proba(x)
    >>> np.array_equal(p[0], a.proba(cols)), np.array_equal(p[1], b.proba(cols))
    (True, True)
    """

    __slots__ = ("_extra", "_intercepts", "_order", "_weights", "concepts", "hyperplane", "rows")

    @classmethod
    def stack(cls, concepts) -> _ConceptStack | None:
        """The stack of `concepts`, or None if they cannot be evaluated together."""
        first = concepts[0]
        kind = type(first)
        if kind not in (Logistic, Hyperplane) or any(
            type(c) is not kind or c._features != first._features for c in concepts
        ):
            return None
        out = cls.__new__(cls)
        out.concepts = tuple(concepts)
        out.hyperplane = kind is Hyperplane
        out.rows = None  # for its user: where the features are (see `_Layout.stack`)
        out._extra = out._order = None
        out._intercepts = ()
        if out.hyperplane:
            weights = np.array([c._weights for c in concepts])
        else:
            squared = first._squared_terms()
            if any(c._squared_terms() != squared for c in concepts):
                return None
            weights = np.array([c._coef for c in concepts])
            if squared:
                # x² terms go right after their feature's x term, as `logit` adds them
                out._extra = (
                    list(squared),
                    np.array([[c._quad[j] for j in squared] for c in concepts])[:, :, None],
                )
                d = len(first._features)
                slot = {j: d + i for i, j in enumerate(squared)}
                out._order = [k for j in range(d) for k in ((j, slot[j]) if j in slot else (j,))]
            out._intercepts = tuple((k, c.intercept) for k, c in enumerate(concepts) if c.intercept)
        out._weights = weights[:, :, None]  # (K, d, 1)
        return out

    def proba(self, x: np.ndarray) -> np.ndarray:
        """The K concepts' ``proba`` at the rows of `x` (features × rows), as (K, n)."""
        terms = self._weights * x  # (K, d, n); w * x is x * w, exactly
        if self._extra is not None:
            rows, quad = self._extra
            x2 = x[rows] * x[rows]
            squares = quad * x2  # q * (x * x), as `logit` computes (x * x) * q
            terms = np.concatenate([terms, squares], axis=1)[:, self._order]
        z = _sum_terms(terms)
        if self.hyperplane:
            return np.array(
                [
                    np.where(s >= c._threshold, 1.0 - c.noise, c.noise)
                    for s, c in zip(z, self.concepts, strict=True)
                ]
            )
        for k, intercept in self._intercepts:
            z[k] += intercept
        return _sigmoid(z)


class Concept(Component):
    """Base: ``proba(columns)`` is P(Y=1|x) (binary) or E[Y|x] (regression).

    Examples
    --------
    >>> isinstance(SEA(), Concept), Friedman().task.value
    (True, 'regression')
    """

    task: Task = Task.BINARY
    features: tuple[str, ...]

    def __getstate__(self):
        return without_cache(self)

    def proba(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """P(Y=1|x) for a binary concept, E[Y|x] for a regression concept."""
        raise NotImplementedError

    def draw(self, mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw targets given ``mean = proba(columns)``: Bernoulli, or mean plus Gaussian noise."""
        if self.task is Task.BINARY:
            # 0/1 as int8: numpy's bools are the bytes 0 and 1, so a view says it without a copy
            return (rng.random(mean.shape[0]) < mean).view(np.int8)
        return mean + self.noise * rng.standard_normal(mean.shape[0])

    def expanded(self) -> Concept:
        """The same concept with every default spelled out (so two can be interpolated)."""
        return self

    def rotated(self, degrees: float) -> Concept:
        """The concept with its weight vector rotated in the plane of its first two features."""
        raise ConfigError(
            "rotate",
            degrees,
            "a concept with a weight vector (logistic, linear, hyperplane)",
            owner=type(self).__name__,
        )

    def _rotate(self, key: str, degrees: float) -> Concept:
        w = np.asarray(getattr(self, "_" + key), dtype=float).copy()
        if w.shape[0] < 2:
            raise ConfigError("rotate", degrees, "a concept on >= 2 features", owner=self.name)
        a = math.radians(degrees)
        c, s = math.cos(a), math.sin(a)
        w[0], w[1] = c * w[0] - s * w[1], s * w[0] + c * w[1]
        return self.clone(**{key: tuple(float(x) for x in w)})


@CONCEPTS.register("logistic_concept")
class Logistic(Concept):
    """Logistic concept: ``P(Y=1|x) = σ(intercept + coef·x + quadratic·x²)``.

    Parameters
    ----------
    features
        The numeric features it reads.
    coef
        One weight per feature.
    intercept
        The bias.
    quadratic
        Optional weight per feature on x² (a curve a linear model cannot fit far from its data).

    Examples
    --------
    >>> import numpy as np
    >>> c = Logistic(features=("a",), coef=(2.0,), intercept=0.0)
    >>> c.proba({"a": np.array([0.0])}).round(2).tolist()
    [0.5]
    """

    def __init__(self, *, features, coef, intercept: float = 0.0, quadratic=None):
        self.features = features
        self.coef = coef
        self.intercept = intercept
        self.quadratic = quadratic
        self._features = _features("Logistic", features)
        d = len(self._features)
        self._coef = _coef("Logistic", "coef", coef, d)
        self._quad = None if quadratic is None else _coef("Logistic", "quadratic", quadratic, d)
        check_real("Logistic", "intercept", intercept)

    def expanded(self):
        d = len(self._features)
        quad = (0.0,) * d if self._quad is None else tuple(map(float, self._quad))
        return self.clone(
            coef=tuple(map(float, self._coef)), intercept=float(self.intercept), quadratic=quad
        )

    def _squared_terms(self) -> tuple[int, ...]:
        """The features whose x² term `logit` adds (a non-zero quadratic weight)."""
        if self._quad is None:
            return ()
        return tuple(j for j, q in enumerate(self._quad) if q)

    def _lerp_setup(self, other, spec, other_spec):
        # ``w -> Logistic``, as `_blend.interpolate` builds it, without encoding or checks
        d = len(self._features)
        ca, cb = floats(spec["coef"], d), floats(other_spec["coef"], d)
        qa, qb = spec["quadratic"], other_spec["quadratic"]
        if qa is not None or qb is not None:
            qa, qb = floats(qa, d), floats(qb, d)
            if qa is None or qb is None:
                return None
        if ca is None or cb is None:
            return None
        features, ia, ib = tuple(spec["features"]), spec["intercept"], other_spec["intercept"]

        def build(w):
            coef = lerp_array(ca, cb, w)
            quad = None if qa is None else lerp_array(qa, qb, w)
            c = Logistic.__new__(Logistic)
            c.features, c.coef, c.intercept = features, tuple(coef.tolist()), _lerp(ia, ib, w)
            c.quadratic = None if quad is None else tuple(quad.tolist())
            c._features, c._coef, c._quad = features, coef, quad
            return c

        return build

    def logit(self, columns) -> np.ndarray:
        """The log-odds of each row."""
        # accumulate in place: one output array and one scratch array, whatever the width
        z = scratch = None
        for j, f in enumerate(self._features):
            x = _col(columns, f)
            if z is None:
                z = np.multiply(x, self._coef[j])
                scratch = np.empty_like(z)
            else:
                z += np.multiply(x, self._coef[j], out=scratch)
            if self._quad is not None and self._quad[j]:
                np.multiply(x, x, out=scratch)
                scratch *= self._quad[j]
                z += scratch
        if self.intercept:
            z += self.intercept
        return z

    def proba(self, columns):
        return _sigmoid(self.logit(columns))

    def rotated(self, degrees):
        return self._rotate("coef", degrees)


@CONCEPTS.register("linear_concept")
class Linear(Concept):
    """Linear regression concept: ``y = intercept + coef·x + noise·ε``.

    Parameters
    ----------
    features
        The numeric features it reads.
    coef
        One weight per feature.
    intercept
        The bias.
    noise
        Standard deviation of the Gaussian noise (>= 0).

    Examples
    --------
    >>> import numpy as np
    >>> Linear(features=("a",), coef=(3.0,), intercept=1.0).proba({"a": np.array([2.0])}).tolist()
    [7.0]
    """

    task = Task.REGRESSION

    def __init__(self, *, features, coef, intercept: float = 0.0, noise: float = 1.0):
        self.features = features
        self.coef = coef
        self.intercept = intercept
        self.noise = noise
        self._features = _features("Linear", features)
        self._coef = _coef("Linear", "coef", coef, len(self._features))
        check_real("Linear", "intercept", intercept)
        check_real("Linear", "noise", noise, low=0.0)

    def expanded(self):
        return self.clone(coef=tuple(map(float, self._coef)), intercept=float(self.intercept))

    def _lerp_setup(self, other, spec, other_spec):
        d = len(self._features)
        ca, cb = floats(spec["coef"], d), floats(other_spec["coef"], d)
        if ca is None or cb is None:
            return None
        features = tuple(spec["features"])
        ia, ib = spec["intercept"], other_spec["intercept"]
        na, nb = spec["noise"], other_spec["noise"]

        def build(w):
            coef = lerp_array(ca, cb, w)
            c = Linear.__new__(Linear)
            c.features, c.coef = features, tuple(coef.tolist())
            c.intercept, c.noise = _lerp(ia, ib, w), _lerp(na, nb, w)
            c._features, c._coef = features, coef
            return c

        return build

    def proba(self, columns):
        z = self.intercept
        for j, f in enumerate(self._features):
            z = z + self._coef[j] * _col(columns, f)
        return np.asarray(z, dtype=float)

    def rotated(self, degrees):
        return self._rotate("coef", degrees)


@CONCEPTS.register("hyperplane_concept")
class Hyperplane(Concept):
    """Hyperplane concept (as in river and MOA): ``y = 1`` when ``weights·x >= threshold``.

    Each label is flipped with probability `noise`.

    Parameters
    ----------
    features
        The numeric features it reads.
    weights
        One weight per feature.
    threshold
        The offset; default ``sum(weights) / 2`` (half the rows positive on [0, 1]^d).
    noise
        Probability that a label is flipped, in [0, 0.5].

    Examples
    --------
    >>> import numpy as np
    >>> h = Hyperplane(features=("a", "b"), weights=(1.0, 1.0), noise=0.1)
    >>> h.proba({"a": np.array([0.9, 0.1]), "b": np.array([0.9, 0.1])}).tolist()
    [0.9, 0.1]
    """

    def __init__(self, *, features, weights, threshold: float | None = None, noise: float = 0.05):
        self.features = features
        self.weights = weights
        self.threshold = threshold
        self.noise = noise
        self._features = _features("Hyperplane", features)
        self._weights = _coef("Hyperplane", "weights", weights, len(self._features))
        self._threshold = (
            float(self._weights.sum() / 2)
            if threshold is None
            else check_real("Hyperplane", "threshold", threshold)
        )
        check_real("Hyperplane", "noise", noise, low=0.0, high=0.5, open_high=False)

    def proba(self, columns):
        s = None
        for j, f in enumerate(self._features):
            term = self._weights[j] * _col(columns, f)
            s = term if s is None else s + term
        return np.where(s >= self._threshold, 1.0 - self.noise, self.noise)

    def expanded(self):
        return self.clone(weights=tuple(map(float, self._weights)), threshold=self._threshold)

    def _lerp_setup(self, other, spec, other_spec):
        d = len(self._features)
        wa, wb = floats(spec["weights"], d), floats(other_spec["weights"], d)
        ta, tb = spec["threshold"], other_spec["threshold"]
        if wa is None or wb is None or ta is None or tb is None:
            return None
        features, na, nb = tuple(spec["features"]), spec["noise"], other_spec["noise"]

        def build(w):
            weights = lerp_array(wa, wb, w)
            h = Hyperplane.__new__(Hyperplane)
            h.features, h.weights = features, tuple(weights.tolist())
            h.threshold, h.noise = _lerp(ta, tb, w), _lerp(na, nb, w)
            h._features, h._weights, h._threshold = features, weights, float(h.threshold)
            return h

        return build

    def rotated(self, degrees):
        return self._rotate("weights", degrees).clone(threshold=self._threshold)


@CONCEPTS.register("sea_concept")
class SEA(Concept):
    """SEA concept (Street and Kim, 2001): ``y = 1`` when ``x0 + x1 <= threshold``.

    Each label is flipped with probability `noise`.

    Parameters
    ----------
    features
        The two features summed (a third, irrelevant one is usual in the world).
    threshold
        8, 9, 7 and 9.5 are the four classic concepts on [0, 10]^3.
    noise
        Probability that a label is flipped, in [0, 0.5].

    References
    ----------
    Street, W. N. and Kim, Y. (2001). A streaming ensemble algorithm (SEA) for large-scale
    classification. KDD.

    Examples
    --------
    >>> import numpy as np
    >>> cols = {"x0": np.array([3.0, 6.0]), "x1": np.array([4.0, 4.0])}
    >>> SEA(threshold=8.0, noise=0.0).proba(cols)
    array([1., 0.])
    """

    def __init__(self, *, features=("x0", "x1"), threshold: float = 8.0, noise: float = 0.1):
        self.features = features
        self.threshold = threshold
        self.noise = noise
        self._features = _features("SEA", features, 2)
        check_real("SEA", "noise", noise, low=0.0, high=0.5, open_high=False)
        check_real("SEA", "threshold", threshold)

    def proba(self, columns):
        s = _col(columns, self._features[0]) + _col(columns, self._features[1])
        return np.where(s <= self.threshold, 1.0 - self.noise, self.noise)

    def _lerp_setup(self, other, spec, other_spec):
        features = tuple(spec["features"])
        ta, tb, na, nb = (
            spec["threshold"],
            other_spec["threshold"],
            spec["noise"],
            other_spec["noise"],
        )

        def build(w):
            c = SEA.__new__(SEA)
            c.features, c.threshold, c.noise = features, _lerp(ta, tb, w), _lerp(na, nb, w)
            c._features = features
            return c

        return build


@CONCEPTS.register("rules_concept")
class Rules(Concept):
    """A rule list over numeric and categorical features (a small decision tree, flattened).

    Each rule is a mapping ``{"p": P(Y=1), feature: condition, ...}``; a condition is a
    list of categories for a categorical feature or ``[low, high]`` (``low <= x < high``,
    ±inf allowed) for a numeric one. The first rule that matches a row decides it.

    Parameters
    ----------
    rules
        The rules, in priority order.
    default
        P(Y=1) for rows no rule matches.

    Examples
    --------
    >>> import numpy as np
    >>> r = Rules(rules=({"p": 0.9, "color": ["red"], "x0": [0.5, float("inf")]},), default=0.2)
    >>> cols = {"color": np.array(["red", "red", "blue"]), "x0": np.array([1.0, 0.0, 1.0])}
    >>> r.proba(cols).tolist()
    [0.9, 0.2, 0.2]
    """

    def __init__(self, *, rules, default: float = 0.5):
        self.rules = rules
        self.default = default
        check_real("Rules", "default", default, low=0.0, high=1.0, open_high=False)
        if not rules:
            raise ConfigError("rules", rules, "at least one rule", owner="Rules")
        parsed, feats = [], []
        for i, rule in enumerate(rules):
            if not isinstance(rule, Mapping) or "p" not in rule:
                raise ConfigError(f"rules[{i}]", rule, 'a mapping with a "p" key', owner="Rules")
            p = check_real("Rules", f"rules[{i}].p", rule["p"], low=0.0, high=1.0, open_high=False)
            conds = []
            for feat, cond in rule.items():
                if feat == "p":
                    continue
                cond = list(cond)
                if cond and all(isinstance(c, str) for c in cond):
                    conds.append((feat, "in", np.array(cond)))
                elif len(cond) == 2 and all(isinstance(c, (int, float)) for c in cond):
                    if not cond[0] < cond[1]:
                        raise ConfigError(
                            f"rules[{i}].{feat}", cond, "[low, high] with low < high", owner="Rules"
                        )
                    conds.append((feat, "range", (float(cond[0]), float(cond[1]))))
                else:
                    raise ConfigError(
                        f"rules[{i}].{feat}",
                        cond,
                        "a list of categories or [low, high]",
                        owner="Rules",
                    )
                if feat not in feats:
                    feats.append(feat)
            parsed.append((p, conds))
        self._rules = parsed
        self.features = tuple(feats)

    def proba(self, columns):
        n = len(next(iter(columns.values()))) if columns else 0
        out = np.full(n, float(self.default))
        undecided = np.ones(n, dtype=bool)
        for p, conds in self._rules:
            match = undecided.copy()
            for feat, op, arg in conds:
                col = np.asarray(columns[feat])
                if op == "in":
                    match &= np.isin(col, arg)
                else:
                    x = col.astype(float)
                    match &= (x >= arg[0]) & (x < arg[1])
            out[match] = p
            undecided &= ~match
        return out


@CONCEPTS.register("friedman_concept")
class Friedman(Concept):
    """Friedman #1 regression: ``10 sin(π x0 x1) + 20 (x2 - ½)² + 10 x3 + 5 x4 + noise·ε``.

    Parameters
    ----------
    features
        Five numeric features (usually uniform on [0, 1]).
    noise
        Standard deviation of the Gaussian noise (>= 0).

    References
    ----------
    Friedman, J. H. (1991). Multivariate adaptive regression splines. Annals of Statistics.

    Examples
    --------
    >>> import numpy as np
    >>> cols = {f"x{i}": np.array([0.5]) for i in range(5)}
    >>> round(float(Friedman().proba(cols)[0]), 3)
    14.571
    """

    task = Task.REGRESSION

    def __init__(self, *, features=("x0", "x1", "x2", "x3", "x4"), noise: float = 1.0):
        self.features = features
        self.noise = noise
        self._features = _features("Friedman", features, 5)
        check_real("Friedman", "noise", noise, low=0.0)

    def proba(self, columns):
        x = [_col(columns, f) for f in self._features]
        return (
            10.0 * np.sin(np.pi * x[0] * x[1]) + 20.0 * (x[2] - 0.5) ** 2 + 10.0 * x[3] + 5.0 * x[4]
        )
