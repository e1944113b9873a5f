"""Covariate models: P(X) as independent blocks (Gaussian, uniform, categorical)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from simlab.errors import ConfigError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_names
from simlab.world._blend import floats, lerp_array, without_cache
from simlab.world.schema import FeatureSpec, Kind

__all__ = ["COVARIATES", "Block", "Categorical", "Gaussian", "Uniform"]

COVARIATES: Registry[Block] = Registry("covariates")


def _names(owner, features) -> tuple[str, ...]:
    if isinstance(features, str):
        features = (features,)
    features = check_names(owner, "features", features, "a non-empty tuple of names")
    if len(set(features)) != len(features):
        raise ConfigError("features", features, "unique names", owner=owner)
    return tuple(features)


def _floats(owner, key, value, allowed) -> np.ndarray:
    """`value` as a float array, or a ConfigError naming the key (never a bare ValueError)."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(key, value, allowed, owner=owner) from None


def _vector(owner, key, value, d, *, positive=False) -> np.ndarray:
    allowed = f"a number or {d} numbers"
    v = _floats(owner, key, value, allowed)
    if v.ndim == 0:
        v = np.broadcast_to(v, (d,))
    else:
        if v.shape != (d,):
            raise ConfigError(key, value, f"a number or {d} numbers", owner=owner)
    if not np.isfinite(v).all() or (positive and not (v > 0).all()):
        raise ConfigError(key, value, "finite numbers" + (" > 0" if positive else ""), owner=owner)
    return np.array(v)


class Block(Component):
    """Base of covariate blocks: some features, drawn jointly, independent of other blocks.

    Examples
    --------
    >>> import numpy as np
    >>> block = Uniform(features=("a", "b"))
    >>> isinstance(block, Block), sorted(block.sample(3, np.random.default_rng(0)))
    (True, ['a', 'b'])
    """

    features: tuple[str, ...]

    def specs(self) -> list[FeatureSpec]:
        """The `FeatureSpec` of each feature of the block."""
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw `n` rows as columns."""
        raise NotImplementedError

    def sample_into(self, columns: dict[str, np.ndarray], index: np.ndarray, rng) -> None:
        """Draw ``len(index)`` rows into ``columns[name][index]`` (the same draws as `sample`)."""
        for name, values in self.sample(index.size, rng).items():
            columns[name][index] = values

    def logpdf(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Log density (or log mass) of each row of the block's columns."""
        raise NotImplementedError

    def shifted(self, features, *, mean=0.0, scale=1.0, corr=None, p=None) -> Block:
        """The block after a covariate shift of `features` (a new block; this one is unchanged)."""
        raise NotImplementedError

    def expanded(self) -> Block:
        """The same distribution with every parameter spelled out (one value per feature)."""
        return self.shifted(())

    def __getstate__(self):
        return without_cache(self)

    # Private fast paths, used by the worlds on every tick (same draws as `sample`):
    # ``_fill(out, rng)`` draws ``out.shape[1]`` rows into the (features, rows) float
    # array `out`, for numeric blocks; when ``_raw`` names the generator's method whose
    # plain draws those are ("normal", "uniform"), ``_finish(out)`` turns such draws
    # into the block's, so that several blocks can share one call to the generator.
    # ``_lerp_setup(other, spec, other_spec)`` returns ``w -> block`` (the block that
    # `_blend.interpolate` would build) or None.


@COVARIATES.register("gaussian")
class Gaussian(Block):
    """Jointly Gaussian numeric features.

    Parameters
    ----------
    features
        Feature names.
    mean, scale
        One number for all features, or one per feature; scale > 0.
    corr
        Correlation: one number for every pair (equicorrelation), or a full matrix.
    units
        Units of the features (one string for all).

    Examples
    --------
    >>> import numpy as np
    >>> g = Gaussian(features=("a", "b"), mean=(0.0, 5.0), scale=2.0, corr=0.5)
    >>> cols = g.sample(20000, np.random.default_rng(0))
    >>> round(float(cols["b"].mean()), 1), round(float(np.corrcoef(cols["a"], cols["b"])[0, 1]), 1)
    (5.0, 0.5)
    """

    def __init__(self, *, features, mean=0.0, scale=1.0, corr=0.0, units: str = "1"):
        self.features = features
        self.mean = mean
        self.scale = scale
        self.corr = corr
        self.units = units
        names = _names("Gaussian", features)
        d = len(names)
        self._mean = _vector("Gaussian", "mean", mean, d)
        self._scale = _vector("Gaussian", "scale", scale, d, positive=True)
        if np.ndim(corr) == 0:
            c = float(_floats("Gaussian", "corr", corr, "a correlation or a matrix"))
            if not (-1.0 / max(d - 1, 1) < c < 1.0 or c == 0.0):
                raise ConfigError(
                    "corr",
                    corr,
                    f"a correlation in ({-1.0 / max(d - 1, 1):.3g}, 1)",
                    owner="Gaussian",
                )
            r = np.full((d, d), c)
            np.fill_diagonal(r, 1.0)
        else:
            r = _floats("Gaussian", "corr", corr, "a correlation or a matrix")
            if r.shape != (d, d) or not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1):
                raise ConfigError(
                    "corr", corr, f"a symmetric {d}x{d} matrix with unit diagonal", owner="Gaussian"
                )
        try:
            self._chol = np.linalg.cholesky(r)
        except np.linalg.LinAlgError:
            raise ConfigError(
                "corr", corr, "a positive-definite correlation", owner="Gaussian"
            ) from None
        self._names = names
        self._identity = bool(np.allclose(r, np.eye(d)))
        # skip the arithmetic that would not change a value (x * 1.0, x + 0.0): same draws, faster
        self._unit_scale = bool((self._scale == 1.0).all())
        self._zero_mean = bool((self._mean == 0.0).all())

    def specs(self):
        return [FeatureSpec(f, units=self.units) for f in self._names]

    def sample(self, n, rng):
        d = len(self._names)
        z = rng.standard_normal((d, n))
        if not self._identity:
            z = self._chol @ z
        # in place: a fresh (d, n) array per step costs more than the arithmetic itself
        if not self._unit_scale:
            z *= self._scale[:, None]
        if not self._zero_mean:
            z += self._mean[:, None]
        return dict(zip(self._names, z, strict=True))

    @property
    def _raw(self):
        # independent features: the draws are plain standard normals, then `_finish`
        return "normal" if self._identity else None

    def _fill(self, out, rng):
        if self._identity:
            rng.standard_normal(out=out)
        else:
            out[...] = self._chol @ rng.standard_normal(out.shape)  # as `sample` does
        self._finish(out)

    def _finish(self, out):
        if not self._unit_scale:
            out *= self._scale[:, None]
        if not self._zero_mean:
            out += self._mean[:, None]

    def _lerp_setup(self, other, spec, other_spec):
        d = len(self._names)
        ma, mb = floats(spec["mean"], d), floats(other_spec["mean"], d)
        sa, sb = floats(spec["scale"], d), floats(other_spec["scale"], d)
        corr = spec["corr"]
        same_corr = corr == other_spec["corr"] and all(floats(row, d) is not None for row in corr)
        if ma is None or mb is None or sa is None or sb is None or not same_corr:
            return None  # a moving correlation needs a new factorisation: the reference path
        features = tuple(spec["features"])
        corr = tuple(tuple(row) for row in corr)
        units, chol, identity = spec["units"], self._chol, self._identity

        def build(w):
            mean, scale = lerp_array(ma, mb, w), lerp_array(sa, sb, w)
            if not (scale > 0).all():
                return None
            # what __init__ stores, without re-checking or re-factorising: the correlation
            # is the same matrix as this block's, so its Cholesky factor is too
            g = Gaussian.__new__(Gaussian)
            g.features, g.mean, g.scale = features, tuple(mean.tolist()), tuple(scale.tolist())
            g.corr, g.units = corr, units
            g._mean, g._scale, g._chol = mean, scale, chol
            g._names, g._identity = features, identity
            g._unit_scale = bool((scale == 1.0).all())
            g._zero_mean = bool((mean == 0.0).all())
            return g

        return build

    def sample_into(self, columns, index, rng):
        if not self._identity:
            return super().sample_into(columns, index, rng)
        # Row j of standard_normal((d, k)) is the j-th run of k draws, so one feature at a
        # time gives the same numbers while keeping the temporaries small and cache-hot.
        k = index.size
        for j, name in enumerate(self._names):
            v = rng.standard_normal(k)
            if not self._unit_scale:
                v *= self._scale[j]
            if not self._zero_mean:
                v += self._mean[j]
            columns[name][index] = v
        return None

    def logpdf(self, columns):
        x = np.stack([np.asarray(columns[f], dtype=float) for f in self._names])
        z = (x - self._mean[:, None]) / self._scale[:, None]
        if not self._identity:
            from scipy.linalg import solve_triangular

            z = solve_triangular(self._chol, z, lower=True)
        d = len(self._names)
        log_det = np.log(np.diag(self._chol)).sum() + np.log(self._scale).sum()
        return -0.5 * (z * z).sum(axis=0) - log_det - 0.5 * d * math.log(2 * math.pi)

    def correlation(self) -> np.ndarray:
        """The correlation matrix."""
        return self._chol @ self._chol.T

    def shifted(self, features, *, mean=0.0, scale=1.0, corr=None, p=None):
        if p is not None:
            raise ConfigError("p", p, "None (a Gaussian block has no categories)", owner="Gaussian")
        idx = [self._names.index(f) for f in features]
        m, s = self._mean.copy(), self._scale.copy()
        m[idx] += np.broadcast_to(np.asarray(mean, dtype=float), (len(idx),))
        s[idx] *= np.broadcast_to(np.asarray(scale, dtype=float), (len(idx),))
        r = self.correlation()
        if corr is not None:
            for i in idx:
                for j in idx:
                    if i != j:
                        r[i, j] = float(corr)
        return Gaussian(
            features=self._names,
            mean=tuple(m),
            scale=tuple(s),
            corr=[list(row) for row in np.round(r, 15)],
            units=self.units,
        )


@COVARIATES.register("uniform")
class Uniform(Block):
    """Independent uniform numeric features on ``[low, high)``.

    Parameters
    ----------
    features
        Feature names.
    low, high
        Bounds: one number, or one per feature; high > low.
    units
        Units of the features.

    Examples
    --------
    >>> import numpy as np
    >>> u = Uniform(features=("a",), low=0.0, high=10.0)
    >>> round(float(u.sample(10000, np.random.default_rng(0))["a"].mean()), 0)
    5.0
    """

    def __init__(self, *, features, low=0.0, high=1.0, units: str = "1"):
        self.features = features
        self.low = low
        self.high = high
        self.units = units
        self._names = _names("Uniform", features)
        d = len(self._names)
        self._low = _vector("Uniform", "low", low, d)
        self._high = _vector("Uniform", "high", high, d)
        if not (self._high > self._low).all():
            raise ConfigError("high", high, f"values above low={low}", owner="Uniform")

    def specs(self):
        return [FeatureSpec(f, units=self.units) for f in self._names]

    def sample(self, n, rng):
        u = rng.random((len(self._names), n))
        x = u * (self._high - self._low)[:, None]
        x += self._low[:, None]
        return dict(zip(self._names, x, strict=True))

    _raw = "uniform"  # the draws are plain uniforms on [0, 1), then `_finish`

    def _fill(self, out, rng):
        rng.random(out=out)
        self._finish(out)

    def _finish(self, out):
        out *= (self._high - self._low)[:, None]
        out += self._low[:, None]

    def _lerp_setup(self, other, spec, other_spec):
        d = len(self._names)
        la, lb = floats(spec["low"], d), floats(other_spec["low"], d)
        ha, hb = floats(spec["high"], d), floats(other_spec["high"], d)
        if la is None or lb is None or ha is None or hb is None:
            return None
        features, units = tuple(spec["features"]), spec["units"]

        def build(w):
            low, high = lerp_array(la, lb, w), lerp_array(ha, hb, w)
            if not (high > low).all():
                return None  # the reference path raises the constructor's error
            u = Uniform.__new__(Uniform)
            u.features, u.low, u.high = features, tuple(low.tolist()), tuple(high.tolist())
            u.units, u._names, u._low, u._high = units, features, low, high
            return u

        return build

    def logpdf(self, columns):
        out = np.zeros(len(next(iter(columns.values()))) if columns else 0)
        for f, lo, hi in zip(self._names, self._low, self._high, strict=True):
            x = np.asarray(columns[f], dtype=float)
            out = out + np.where((x >= lo) & (x < hi), -math.log(hi - lo), -np.inf)
        return out

    def shifted(self, features, *, mean=0.0, scale=1.0, corr=None, p=None):
        if corr is not None or p is not None:
            raise ConfigError(
                "corr" if corr is not None else "p",
                corr if corr is not None else p,
                "None (uniform features are independent and numeric)",
                owner="Uniform",
            )
        idx = [self._names.index(f) for f in features]
        lo, hi = self._low.copy(), self._high.copy()
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        centre[idx] += np.broadcast_to(np.asarray(mean, dtype=float), (len(idx),))
        half[idx] *= np.broadcast_to(np.asarray(scale, dtype=float), (len(idx),))
        return Uniform(
            features=self._names,
            low=tuple(centre - half),
            high=tuple(centre + half),
            units=self.units,
        )


@COVARIATES.register("categorical")
class Categorical(Block):
    """One categorical feature with given category frequencies.

    Parameters
    ----------
    feature
        Feature name.
    categories
        Category labels.
    p
        Probabilities, one per category, summing to 1; uniform if omitted.

    Examples
    --------
    >>> import numpy as np
    >>> c = Categorical(feature="color", categories=("red", "blue"), p=(0.8, 0.2))
    >>> col = c.sample(10000, np.random.default_rng(0))["color"]
    >>> round(float((col == "red").mean()), 1)
    0.8
    """

    def __init__(self, *, feature: str, categories, p=None):
        self.feature = feature
        self.categories = categories
        self.p = p
        _names("Categorical", (feature,))
        cats = tuple(str(c) for c in categories)
        if len(cats) < 1 or len(set(cats)) != len(cats):
            raise ConfigError("categories", categories, "unique labels", owner="Categorical")
        k = len(cats)
        probs = (
            np.full(k, 1.0 / k)
            if p is None
            else _floats("Categorical", "p", p, f"{k} probabilities in [0, 1]")
        )
        if probs.shape != (k,) or (probs < 0).any() or (probs > 1).any():
            raise ConfigError("p", p, f"{k} probabilities in [0, 1]", owner="Categorical")
        if not math.isclose(probs.sum(), 1.0, abs_tol=1e-9):
            raise ConfigError("p", p, "probabilities that sum to 1", owner="Categorical")
        self.features = (feature,)
        self._cats = np.array(cats)
        self._p = probs
        self._cdf = np.cumsum(probs)
        self._cdf[-1] = 1.0

    def specs(self):
        return [FeatureSpec(self.feature, kind=Kind.CATEGORICAL, categories=tuple(self._cats))]

    def sample(self, n, rng):
        idx = np.searchsorted(self._cdf, rng.random(n), side="right")
        return {self.feature: self._cats[np.minimum(idx, len(self._cats) - 1)]}

    def logpdf(self, columns):
        col = np.asarray(columns[self.feature])
        idx = np.searchsorted(self._cats[np.argsort(self._cats)], col)
        order = np.argsort(self._cats)
        idx = np.minimum(idx, len(order) - 1)
        code = order[idx]
        known = self._cats[code] == col
        with np.errstate(divide="ignore"):
            logp = np.log(self._p)
        return np.where(known, logp[code], -np.inf)

    def shifted(self, features, *, mean=0.0, scale=1.0, corr=None, p=None):
        if p is None or mean != 0.0 or scale != 1.0 or corr is not None:
            raise ConfigError(
                "p",
                p,
                "new category probabilities (and no mean, scale or corr)",
                owner="Categorical",
            )
        return Categorical(feature=self.feature, categories=self.categories, p=p)

    def expanded(self):
        return Categorical(
            feature=self.feature, categories=tuple(self._cats.tolist()), p=tuple(self._p.tolist())
        )

    def _lerp_setup(self, other, spec, other_spec):
        k = len(self._cats)
        pa, pb = floats(spec["p"], k), floats(other_spec["p"], k)
        if pa is None or pb is None or not all(isinstance(c, str) for c in spec["categories"]):
            return None
        feature, categories, cats = spec["feature"], tuple(spec["categories"]), self._cats

        def build(w):
            p = lerp_array(pa, pb, w)
            if (p < 0).any() or (p > 1).any() or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
                return None
            c = Categorical.__new__(Categorical)
            c.feature, c.categories, c.p = feature, categories, tuple(p.tolist())
            c.features, c._cats, c._p = (feature,), cats, p
            c._cdf = np.cumsum(p)
            c._cdf[-1] = 1.0
            return c

        return build
