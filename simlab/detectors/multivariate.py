"""Multivariate input monitors: one statistic for the joint law of the numeric features.

Univariate monitors (`PSI`, `KS`, ...) compare each column's marginal distribution, so a
change in how columns move *together* (a correlation that breaks, a new cluster inside
unchanged marginals) passes them by. `MMD` (a kernel two-sample test), `DomainClassifier`
(a classifier told to separate reference rows from window rows) and `PCAReconstruction`
(the reference's principal subspace no longer fits) see such changes.

All three read the numeric features only (categorical columns are the univariate
monitors' business: `ChiSquare`, `PSI`), standardised by the reference's mean and
standard deviation. Missing values (NaN, None, a column the view lacks) are imputed at
the reference mean (0 once standardised), as a serving pipeline's mean imputation would
do, so a column that goes missing shows as its values collapsing onto the mean, which
these monitors see; ±inf and values beyond ±1,000 reference standard deviations are
clipped there. Nothing here crashes on NaN, inf, empty or one-row views or missing
columns.
"""

from __future__ import annotations

import copy
import math
from typing import ClassVar

import numpy as np
from scipy.special import ndtri

from simlab.detectors._kernels import Ring, check_features, check_int, check_real, is_numeric
from simlab.detectors.base import DETECTORS, BaseDetector, Tags, Verdict, View, Watches
from simlab.detectors.features import _block, _floats, _numeric_only, _select
from simlab.errors import ConfigError

__all__ = ["MMD", "DomainClassifier", "PCAReconstruction"]

#: Standardised values are clipped to ±CLIP (±inf included): reference sds.
CLIP = 1e3

_TAGS = {"watches": Watches.FEATURES, "per_feature": False}


# --------------------------------------------------------------------------- helpers


def _numeric_features(owner: str, features, reference: View) -> list[str]:
    """The monitored columns: `features` (numeric, refused otherwise) or every numeric one."""
    if features is not None:
        return _numeric_only(owner, features, reference)
    names = sorted(f for f, v in reference.columns.items() if is_numeric(v))
    if not names:
        raise ConfigError(
            "reference",
            f"columns {list(reference.columns)}",
            "a reference view with numeric columns (multivariate monitors read numbers only)",
            owner=owner,
        )
    return _select(owner, names, reference)


def _generator(det) -> np.random.Generator:
    """A copy of the detector's stream (`BaseDetector.seed`) at its current state.

    The detector draws from the copy, so ``rng_`` itself never advances: fitting twice
    replays the same draws (``fit`` is idempotent). An unseeded detector draws from
    ``np.random.default_rng(0)``.
    """
    rng = getattr(det, "rng_", None)
    return np.random.default_rng(0) if rng is None else copy.deepcopy(rng)


class _Standardised:
    """Standardisation by the reference, with imputation and clipping (see the module).

    Sets ``features_``, ``mean_`` and ``scale_`` at fit; `_rows` turns a view into
    ``(rows, features)`` standardised values. The class using it provides ``features``.
    """

    def _fit_rows(self, reference: View) -> np.ndarray:
        owner = type(self).__name__
        names = _numeric_features(owner, self.features, reference)
        x = _floats(owner, names, [reference.columns[f] for f in names], reference.n)
        finite = np.isfinite(x)
        empty = [f for f, ok in zip(names, finite.any(axis=1), strict=True) if not ok]
        if empty:
            raise ConfigError(
                "reference",
                empty[0],
                "a reference with finite values in every numeric column it monitors",
                owner=owner,
            )
        held = np.where(finite, x, np.nan)
        self.features_ = names
        self.mean_ = np.nanmean(held, axis=1)
        sd = np.nanstd(held, axis=1)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        return self._standardise(x)

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        """``(features, rows)`` raw values -> ``(rows, features)`` standardised ones."""
        z = (x.T - self.mean_) / self.scale_
        np.nan_to_num(z, copy=False, nan=0.0, posinf=CLIP, neginf=-CLIP)
        return np.clip(z, -CLIP, CLIP, out=z)

    def _rows(self, view: View) -> np.ndarray:
        return self._standardise(_block(type(self).__name__, self.features_, view))


def _sq_distances(a: np.ndarray, b: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` squared Euclidean distances, from the rows' squared norms."""
    d = a2[:, None] + b2[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0, out=d)


def _auc(negative: np.ndarray, positive: np.ndarray, *, is_sorted: bool = False) -> float:
    """P(positive score > negative score) + ½ P(tie): the Mann–Whitney U over n0 · n1."""
    neg = negative if is_sorted else np.sort(negative)
    below = np.searchsorted(neg, positive, side="left")
    upto = np.searchsorted(neg, positive, side="right")
    return float((below.sum() + upto.sum()) / (2.0 * neg.size * positive.size))


def _top(names: list[str], weight: np.ndarray) -> tuple[str, ...]:
    """The names whose weight is at least half the largest (positive) one, largest first."""
    if weight.size == 0 or not np.isfinite(weight).any() or np.nanmax(weight) <= 0:
        return ()
    keep = np.flatnonzero(weight >= 0.5 * np.nanmax(weight))
    keep = keep[np.argsort(-weight[keep], kind="stable")]
    return tuple(names[i] for i in keep)


# --------------------------------------------------------------------------- MMD


@DETECTORS.register("mmd")
class MMD(_Standardised, BaseDetector):
    r"""Kernel maximum mean discrepancy between the window and a reference sample.

    Parameters
    ----------
    features
        Numeric columns to monitor; None means every numeric column of the reference
        view, sorted by name (categorical columns are left out; listing one is refused).
    alpha
        The permutation test's level: the false-alarm probability per tick under no
        change (see Notes). At least ``1 / (n_permutations + 1)``.
    n_permutations
        Permutations of the null distribution, drawn once at fit.
    reference_size
        Rows of the reference kept as its sample (drawn at random).
    sample_size
        Window rows each tick's statistic uses (drawn at random from the window): with
        `reference_size`, what bounds the cost of a tick.
    window_size
        Rows the window holds.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns.
    mean_, scale_
        The reference's mean and standard deviation per feature (1 where it is 0).
    reference_sample_
        ``(rows, features)`` the standardised reference sample ``Y``.
    bandwidth_
        The Gaussian kernel's σ (the median heuristic).
    null_
        The sorted permutation statistics.
    threshold_
        The alarm level of the statistic.
    window_
        The window's standardised rows (a `Ring`).

    Notes
    -----
    With the Gaussian kernel ``k(x, y) = exp(−‖x − y‖² / (2σ²))`` on standardised
    features, a window sample ``X`` of ``m`` rows and the reference sample ``Y`` of ``n``
    rows, the statistic is the unbiased estimate of the squared MMD,

    .. math:: \widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)} \sum_{i \ne j} k(x_i, x_j)
              + \frac{1}{n(n-1)} \sum_{i \ne j} k(y_i, y_j)
              - \frac{2}{m n} \sum_{i, j} k(x_i, y_j),

    which is 0 on average when both come from one law and positive when they differ, in
    any way the kernel can see (means, variances, correlations, shapes). σ is the median
    distance between rows of ``Y`` (the median heuristic; 1 if that is 0), fixed at fit.
    The ``Y`` term is computed once; a tick costs the ``m²`` and ``m n`` kernel values
    (``m`` = `sample_size`, ``n`` = `reference_size`): the quadratic estimator on
    subsamples, not the linear-time one, whose variance is much larger.

    The threshold comes from a permutation test run once at fit: ``Y`` and ``m`` further
    reference rows (disjoint from ``Y``) are pooled, their labels permuted
    `n_permutations` times (all at once: one product of the pooled kernel matrix with
    the ``(rows, permutations)`` label indicators), and the threshold is the ``k``-th
    largest permuted statistic, ``k = ⌊α (B + 1)⌋`` (``B`` permutations): a statistic
    above it has permutation p-value ``(1 + #\{T_b \ge T\}) / (B + 1) \le α``. Under no
    change, the chance that a tick alarms is then about α on average over references;
    a given reference sample can sit above or below that (ticks share ``Y``). The
    reference needs ``sample_size + 2`` rows at least (``Y`` gets what the calibration
    sample leaves, up to `reference_size`). Until the window holds `sample_size` rows
    the statistic is nan (the null is for samples of that size).

    The median heuristic's σ grows with the number of features (about ``\sqrt{2d}`` for
    ``d`` independent standardised ones), so a change confined to two features among
    many moves the kernel little: a correlation of 0.8 between two standard normal
    features that vanishes is seen on nearly every tick with three features, and on
    only 10–80% of ticks with six, at the default sizes (the loss of power with
    dimension that Ramdas et al. describe). `DomainClassifier` and
    `PCAReconstruction` do not lose it there.

    Randomised (`Tags.randomised`): the reference sample, the permutations and each
    tick's window sample are drawn from the stream `BaseDetector.seed` gives (a copy,
    restarted at every fit). MMD blames no feature: the kernel does not say which.

    References
    ----------
    .. [1] Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. & Smola, A. (2012).
       A kernel two-sample test. *JMLR* 13, 723–773.
    .. [2] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS*.
    .. [3] Ramdas, A., Reddi, S. J., Póczos, B., Singh, A. & Wasserman, L. (2015). On the
       decreasing power of kernel and distance based nonparametric hypothesis tests in
       high dimensions. *AAAI*.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import MMD, View
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2, 1000))
    >>> det = MMD(sample_size=200, window_size=200).fit(View(columns={"a": x[0], "b": x[1]}))
    >>> y = rng.normal(size=(2, 200))
    >>> det.update(View(columns={"a": y[0], "b": y[1]})).alarm
    False
    >>> y[1] = 0.9 * y[0] + 0.44 * y[1]  # the same marginals, now correlated
    >>> det.update(View(columns={"a": y[0], "b": y[1]})).alarm
    True
    """

    tags: ClassVar[Tags] = Tags(**_TAGS, threshold="alpha", direction=-1, randomised=True)

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        alpha: float = 0.01,
        n_permutations: int = 300,
        reference_size: int = 500,
        sample_size: int = 250,
        window_size: int = 1000,
        on: str = "upstream",
    ):
        self.features = features
        self.alpha = alpha
        self.n_permutations = n_permutations
        self.reference_size = reference_size
        self.sample_size = sample_size
        self.window_size = window_size
        self.on = on
        self._check_on()
        check_features("MMD", features)
        check_int("MMD", "n_permutations", n_permutations, 1)
        least = 1.0 / (n_permutations + 1) if isinstance(n_permutations, int) else 0.0
        check_real("MMD", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        if alpha < least:
            raise ConfigError(
                "alpha",
                alpha,
                f"a number in [1 / (n_permutations + 1), 1) = [{least:.3g}, 1): "
                f"{n_permutations} permutations cannot resolve a smaller level",
                owner="MMD",
            )
        check_int("MMD", "reference_size", reference_size, 2)
        check_int("MMD", "window_size", window_size, 2)
        check_int("MMD", "sample_size", sample_size, 2, window_size)

    def _fit(self, reference: View) -> None:
        z = self._fit_rows(reference)
        gen = _generator(self)
        n, m = z.shape[0], self.sample_size
        if n < m + 2:
            raise ConfigError(
                "reference",
                f"{n} rows",
                f"at least sample_size + 2 = {m + 2} rows (a reference sample and a "
                "calibration sample of sample_size rows)",
                owner="MMD",
            )
        order = gen.permutation(n)
        n_y = min(self.reference_size, n - m)
        pooled = z[np.concatenate((order[:n_y], order[n_y : n_y + m]))]
        sq = np.einsum("ij,ij->i", pooled, pooled)
        d2 = _sq_distances(pooled, pooled, sq, sq)
        np.fill_diagonal(d2, 0.0)
        within = d2[:n_y, :n_y][np.triu_indices(n_y, 1)]
        median = float(np.median(np.sqrt(within)))
        self.bandwidth_ = median if median > 0 else 1.0
        self._gamma = 1.0 / (2.0 * self.bandwidth_**2)
        kernel = np.exp(-self._gamma * d2)
        self.reference_sample_ = pooled[:n_y]
        self._y2 = sq[:n_y]
        self._yy = (kernel[:n_y, :n_y].sum() - n_y) / (n_y * (n_y - 1))
        self.null_ = np.sort(self._permutations(kernel, n_y, m, gen))
        k = math.floor(self.alpha * (self.n_permutations + 1) + 1e-9)
        self.threshold_ = float(self.null_[self.n_permutations - k])
        self.window_ = Ring(self.window_size, len(self.features_), dtype=np.float64, fill=0.0)
        self._gen = gen

    def _permutations(self, kernel: np.ndarray, n_y: int, m: int, gen) -> np.ndarray:
        """The statistic under `n_permutations` random relabellings of the pooled rows."""
        size = n_y + m
        k0 = kernel.copy()
        np.fill_diagonal(k0, 0.0)
        labels = np.zeros((self.n_permutations, size))
        labels[:, :m] = 1.0
        a = gen.permuted(labels, axis=1).T  # (rows, permutations): 1 for the "window"
        ka = k0 @ a
        xx = np.einsum("ij,ij->j", a, ka)  # a' K0 a
        col = ka.sum(axis=0)  # 1' K0 a
        xy = col - xx  # (1 - a)' K0 a
        yy = k0.sum() - 2.0 * col + xx  # (1 - a)' K0 (1 - a)
        return xx / (m * (m - 1)) + yy / (n_y * (n_y - 1)) - 2.0 * xy / (m * n_y)

    def _statistic(self, x: np.ndarray) -> float:
        """The unbiased MMD² of the window sample `x` against the reference sample."""
        m, n = x.shape[0], self.reference_sample_.shape[0]
        x2 = np.einsum("ij,ij->i", x, x)
        kxx = _sq_distances(x, x, x2, x2)
        kxx *= -self._gamma
        np.exp(kxx, out=kxx)
        kxy = _sq_distances(x, self.reference_sample_, x2, self._y2)
        kxy *= -self._gamma
        np.exp(kxy, out=kxy)
        xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        return float(xx + self._yy - 2.0 * kxy.sum() / (m * n))

    def _update(self, view: View) -> Verdict:
        rows = self._rows(view)
        if rows.shape[0]:
            self.window_.extend(rows)
        size = self.window_.size
        if size < self.sample_size:
            return Verdict(math.nan, self.threshold_, False)
        held = self.window_.values
        if size > self.sample_size:
            held = held[self._gen.choice(size, self.sample_size, replace=False)]
        statistic = self._statistic(held)
        return Verdict(statistic, self.threshold_, statistic > self.threshold_)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {},
            {
                "features": ("x0", "x1"),
                "alpha": 0.05,
                "n_permutations": 100,
                "reference_size": 200,
                "sample_size": 100,
                "window_size": 300,
                "on": "served",
            },
        ]


# --------------------------------------------------------------------------- domain classifier


def _default_classifier():
    """A logistic regression on the features, their squares and pairwise products."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    return make_pipeline(
        PolynomialFeatures(degree=2, include_bias=False),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    )


def _scores(estimator, x: np.ndarray) -> np.ndarray:
    """The classifier's score for "window" (decision function, else P(window))."""
    if x.shape[0] == 0:
        return np.empty(0)
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(x), dtype=np.float64).reshape(-1)
    return np.asarray(estimator.predict_proba(x), dtype=np.float64)[:, 1]


@DETECTORS.register("domain_classifier")
class DomainClassifier(_Standardised, BaseDetector):
    r"""A classifier's held-out AUC at telling window rows from reference rows.

    Parameters
    ----------
    features
        Numeric columns to monitor; None means every numeric column of the reference
        view, sorted by name (categorical columns are left out; listing one is refused).
    estimator
        The classifier: None for the default (a logistic regression on the standardised
        features, their squares and pairwise products), the name of a registered
        estimator (``"gradient_boosting"``, ``"random_forest"``, ... as
        `simlab.models.ModelAdapter` takes), or an unfitted scikit-learn classifier
        (cloned at every training; an object cannot travel in a JSON scenario).
    alpha
        Level of the AUC bound: the false-alarm probability per tick under no change.
    threshold
        None: alarm when the AUC exceeds the Mann–Whitney bound at level `alpha` for the
        tick's sample sizes; a number in (0.5, 1]: alarm when it exceeds that AUC.
    reference_size
        Reference rows kept (drawn at random): half train the classifier, half test it.
    window_size
        Rows the window holds.
    min_samples
        The first classifier is trained once the window holds this many rows; until
        then the statistic is nan.
    every
        Retrain after this many ticks (the cost of a tick is otherwise one prediction of
        its new rows).
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns.
    mean_, scale_
        The reference's mean and standard deviation per feature (1 where it is 0).
    estimator_
        The classifier in use (None before the first training).
    n_trainings_
        Trainings since fit.
    importances_
        Permutation importance of each feature for the current classifier (the AUC it
        loses when that feature's values are shuffled), computed at its first alarm;
        None until then.
    window_
        The window's standardised rows, each with a flag (trained on) and its score.

    Notes
    -----
    Every `every` ticks (and first once the window holds `min_samples` rows) a fresh
    clone of the estimator learns to tell a random half of the window's rows (label 1)
    from the training half of the reference sample (label 0). Its statistic at every
    tick is its AUC on rows it was not trained on: the reference's test half (``n₀``
    rows) against every window row it has not seen (``n₁``: the other half of the
    window at training, then the rows that arrive after it). Under no change those
    scores are exchangeable whatever the classifier learnt, so the AUC is the
    Mann–Whitney statistic ``U / (n₀ n₁)``, with mean ½ and variance
    ``(n₀ + n₁ + 1) / (12 n₀ n₁)`` without ties (ties make it smaller), and the bound

    .. math:: \mathrm{AUC} > \tfrac12 + z_{1-α} \sqrt{\frac{n_0 + n_1 + 1}{12\, n_0 n_1}}

    alarms with probability about α per tick (at most α for large samples; the normal
    approximation is conservative for small ``n₁``, whose tails are lighter).
    Consecutive ticks share rows, so their alarms are not independent. The default
    classifier is quadratic in the features because the log density ratio of two
    Gaussian laws is quadratic: it sees changes of means, variances and correlations.

    When it alarms, the verdict blames the features whose permutation importance is at
    least half the largest one (shuffling a feature's values among the test rows breaks
    what the classifier uses of it: the drop in AUC), computed once per classifier.
    Randomised (`Tags.randomised`): the reference split, the window split, the
    estimator's ``random_state`` (if it has one) and the importance shuffles are drawn
    from the stream `BaseDetector.seed` gives (a copy, restarted at every fit).

    References
    ----------
    .. [1] Rabanser, S., Günnemann, S. & Lipton, Z. (2019). Failing loudly: an empirical
       study of methods for detecting dataset shift. *NeurIPS* (domain classifiers).
    .. [2] Lopez-Paz, D. & Oquab, M. (2017). Revisiting classifier two-sample tests.
       *ICLR*.
    .. [3] Mann, H. B. & Whitney, D. R. (1947). On a test of whether one of two random
       variables is stochastically larger than the other. *Annals of Mathematical
       Statistics* 18(1), 50–60.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import DomainClassifier, View
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2, 1000))
    >>> det = DomainClassifier(window_size=400, min_samples=400)
    >>> det = det.fit(View(columns={"a": x[0], "b": x[1]}))
    >>> y = rng.normal(size=(2, 400))
    >>> y[1] = 0.9 * y[0] + 0.44 * y[1]  # the same marginals, now correlated
    >>> v = det.update(View(columns={"a": y[0], "b": y[1]}))
    >>> round(v.statistic, 1), v.alarm, sorted(v.blame)
    (0.8, True, ['a', 'b'])
    """

    tags: ClassVar[Tags] = Tags(**_TAGS, threshold="alpha", direction=-1, randomised=True)

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        estimator=None,
        alpha: float = 0.01,
        threshold: float | None = None,
        reference_size: int = 1000,
        window_size: int = 1000,
        min_samples: int = 200,
        every: int = 10,
        on: str = "upstream",
    ):
        self.features = features
        self.estimator = estimator
        self.alpha = alpha
        self.threshold = threshold
        self.reference_size = reference_size
        self.window_size = window_size
        self.min_samples = min_samples
        self.every = every
        self.on = on
        self._check_on()
        check_features("DomainClassifier", features)
        check_real("DomainClassifier", "alpha", alpha, low=0.0, high=1.0, open_low=True)
        if threshold is not None:
            check_real(
                "DomainClassifier",
                "threshold",
                threshold,
                low=0.5,
                high=1.0,
                open_low=True,
                open_high=False,
            )
        check_int("DomainClassifier", "reference_size", reference_size, 4)
        check_int("DomainClassifier", "window_size", window_size, 4)
        check_int("DomainClassifier", "min_samples", min_samples, 4, window_size)
        check_int("DomainClassifier", "every", every, 1)
        self._prototype()  # fail fast on an estimator it cannot use

    def _prototype(self):
        """A fresh, unfitted classifier."""
        est = self.estimator
        if est is None:
            return _default_classifier()
        if isinstance(est, str):
            from simlab.models import ESTIMATORS

            return ESTIMATORS.make({"kind": est})
        ok = hasattr(est, "fit") and hasattr(est, "get_params")
        ok = ok and (hasattr(est, "decision_function") or hasattr(est, "predict_proba"))
        if not ok:
            raise ConfigError(
                "estimator",
                est,
                "None, a registered estimator name, or a scikit-learn classifier",
                owner="DomainClassifier",
            )
        from sklearn.base import clone

        return clone(est)

    def _fit(self, reference: View) -> None:
        z = self._fit_rows(reference)
        gen = _generator(self)
        if z.shape[0] < 4:
            raise ConfigError(
                "reference", f"{z.shape[0]} rows", "at least 4 rows", owner="DomainClassifier"
            )
        order = gen.permutation(z.shape[0])[: self.reference_size]
        half = order.size // 2
        self._reference_train = z[order[:half]]
        self._reference_test = z[order[half:]]
        d = len(self.features_)
        # columns: the standardised features, a "trained on" flag, the current score
        self.window_ = Ring(self.window_size, d + 2, dtype=np.float64, fill=np.nan)
        self.estimator_ = None
        self.n_trainings_ = 0
        self.importances_ = None
        self._negative = np.empty(0)  # the reference test rows' scores, sorted
        self._since = 0
        self._z = float(ndtri(1.0 - self.alpha))
        self._gen = gen

    def _train(self) -> None:
        d = len(self.features_)
        held = self.window_.values
        order = self._gen.permutation(held.shape[0])
        train = order[: order.size // 2]
        x = np.concatenate((self._reference_train, held[train, :d]))
        y = np.concatenate((np.zeros(len(self._reference_train)), np.ones(train.size)))
        est = self._prototype()
        if "random_state" in est.get_params():
            est.set_params(random_state=int(self._gen.integers(2**31 - 1)))
        est.fit(x, y)
        held[:, d] = 0.0
        held[train, d] = 1.0
        held[:, d + 1] = _scores(est, held[:, :d])
        self._negative = np.sort(_scores(est, self._reference_test))
        self.estimator_ = est
        self.n_trainings_ += 1
        self.importances_ = None
        self._since = 0

    def _importances(self, unseen: np.ndarray) -> np.ndarray:
        """The AUC lost when each feature is shuffled among the test rows (one shuffle)."""
        est, d = self.estimator_, len(self.features_)
        x = np.concatenate((self._reference_test, unseen))
        n0 = self._reference_test.shape[0]
        base = _auc(self._negative, _scores(est, unseen), is_sorted=True)
        drop = np.empty(d)
        for j in range(d):  # a loop over features: one prediction each
            shuffled = x.copy()
            shuffled[:, j] = x[self._gen.permutation(x.shape[0]), j]
            s = _scores(est, shuffled)
            drop[j] = base - _auc(s[:n0], s[n0:])
        return drop

    def _update(self, view: View) -> Verdict:
        d = len(self.features_)
        rows = self._rows(view)
        if rows.shape[0]:
            block = np.empty((rows.shape[0], d + 2))
            block[:, :d] = rows
            block[:, d] = 0.0
            block[:, d + 1] = np.nan if self.estimator_ is None else _scores(self.estimator_, rows)
            self.window_.extend(block)
        self._since += 1
        ready = self.window_.size >= self.min_samples
        if ready and (self.estimator_ is None or self._since >= self.every):
            self._train()
        if self.estimator_ is None:
            return Verdict(math.nan, math.nan, False)
        held = self.window_.values
        unseen = held[held[:, d] == 0.0]
        n0, n1 = self._negative.size, unseen.shape[0]
        if n1 == 0 or n0 == 0:
            return Verdict(math.nan, math.nan, False)
        auc = _auc(self._negative, unseen[:, d + 1], is_sorted=True)
        if self.threshold is None:
            threshold = 0.5 + self._z * math.sqrt((n0 + n1 + 1) / (12.0 * n0 * n1))
        else:
            threshold = float(self.threshold)
        alarm = auc > threshold
        blame = ()
        if alarm:
            if self.importances_ is None:
                self.importances_ = self._importances(unseen[:, :d])
            blame = _top(self.features_, self.importances_)
        return Verdict(auc, threshold, alarm, blame)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {"window_size": 500, "min_samples": 300, "every": 5},
            {
                "features": ("x0", "x1", "x2"),
                "estimator": "logistic_regression",
                "alpha": 0.05,
                "reference_size": 400,
                "window_size": 300,
                "min_samples": 100,
                "every": 3,
                "on": "served",
            },
        ]


# --------------------------------------------------------------------------- PCA


@DETECTORS.register("pca_reconstruction")
class PCAReconstruction(_Standardised, BaseDetector):
    r"""Mean PCA reconstruction error of the window, relative to the reference's.

    Parameters
    ----------
    features
        Numeric columns to monitor; None means every numeric column of the reference
        view, sorted by name (categorical columns are left out; listing one is refused).
    variance
        Keep the fewest principal components that explain this share of the
        standardised reference's variance (at most one fewer than the features).
    threshold
        Alarm when the window's mean error exceeds this multiple of the reference's.
    window_size
        The statistic averages the most recent `window_size` rows seen.
    min_samples
        Until the window holds this many rows the statistic is nan and there is no alarm.
    on
        ``"upstream"``: the columns as the world emits them; ``"served"``: the model's
        served features, against what the training pipeline made of the reference rows.

    Attributes
    ----------
    features_
        The monitored columns.
    mean_, scale_
        The reference's mean and standard deviation per feature (1 where it is 0).
    center_
        The standardised reference's mean (PCA's centre; 0 up to imputed values).
    components_
        ``(components, features)``: the kept principal axes.
    explained_variance_ratio_
        Every axis's share of the variance, largest first.
    reference_error_
        Per feature, the reference rows' mean squared reconstruction error.
    window_
        The window rows' squared reconstruction errors per feature (a `Ring`).

    Notes
    -----
    The reference is standardised (``z``) and its principal axes found (an
    eigendecomposition of the ``features × features`` covariance); the ``k`` leading
    axes ``V`` are kept, ``k`` the fewest explaining a share `variance` of the variance,
    and at most ``d − 1`` for ``d`` features so that something is left to reconstruct
    (with one feature, ``k = 0``: the error is the squared standardised deviation). A
    row's error is

    .. math:: e(z) = \|(z - c) - (z - c) V^\top V\|^2 = \sum_j r_j(z)^2,

    what a ``sklearn.decomposition.PCA`` with ``k`` components loses in
    ``inverse_transform(transform(z))``, and the statistic is the window's mean error
    over the reference's, ``ē_w / ē_r``: about 1 under no change, larger when window
    rows leave the reference's principal subspace (a correlation that breaks, a shift
    across it, a new mode). A shift *along* the kept axes changes nothing: that is
    what the univariate monitors see. ``ē_r`` is measured on the reference rows the
    axes were fitted on (in-sample, slightly optimistic: a share of about ``k/n`` with
    ``n`` rows); a reference reconstructed exactly divides by the smallest positive float.

    When it alarms, the verdict blames the features whose mean squared error exceeds
    the reference's by at least half the largest excess, ``r_j²``'s window mean minus
    its reference mean. An update costs one ``(rows × features) · (features × k)``
    product for the new rows and a mean over the window.

    References
    ----------
    .. [1] Jackson, J. E. & Mudholkar, G. S. (1979). Control procedures for residuals
       associated with principal component analysis. *Technometrics* 21(3), 341–349.
    .. [2] Kourti, T. & MacGregor, J. F. (1996). Multivariate SPC methods for process
       and product monitoring. *Journal of Quality Technology* 28(4), 409–428.

    Examples
    --------
    >>> import numpy as np
    >>> from simlab.detectors import PCAReconstruction, View
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2, 1000))
    >>> x[1] = 0.9 * x[0] + 0.44 * x[1]  # correlated in the reference
    >>> det = PCAReconstruction(window_size=200).fit(View(columns={"a": x[0], "b": x[1]}))
    >>> y = rng.normal(size=(2, 200))  # the same marginals, no longer correlated
    >>> v = det.update(View(columns={"a": y[0], "b": y[1]}))
    >>> round(v.statistic, 1), v.alarm, sorted(v.blame)
    (11.0, True, ['a', 'b'])
    """

    tags: ClassVar[Tags] = Tags(**_TAGS, threshold="threshold")

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        variance: float = 0.9,
        threshold: float = 1.5,
        window_size: int = 1000,
        min_samples: int = 100,
        on: str = "upstream",
    ):
        self.features = features
        self.variance = variance
        self.threshold = threshold
        self.window_size = window_size
        self.min_samples = min_samples
        self.on = on
        self._check_on()
        check_features("PCAReconstruction", features)
        check_real(
            "PCAReconstruction",
            "variance",
            variance,
            low=0.0,
            high=1.0,
            open_low=True,
            open_high=False,
        )
        check_real("PCAReconstruction", "threshold", threshold, low=0.0, open_low=True)
        check_int("PCAReconstruction", "window_size", window_size, 1)
        check_int("PCAReconstruction", "min_samples", min_samples, 1, window_size)

    def _fit(self, reference: View) -> None:
        z = self._fit_rows(reference)
        d = z.shape[1]
        self.center_ = z.mean(axis=0)
        centred = z - self.center_
        values, vectors = np.linalg.eigh(centred.T @ centred / z.shape[0])
        values, vectors = np.maximum(values[::-1], 0.0), vectors[:, ::-1]
        total = values.sum()
        ratio = values / total if total > 0 else np.full(d, 1.0 / d)
        self.explained_variance_ratio_ = ratio
        k = int(np.searchsorted(np.cumsum(ratio), self.variance - 1e-12)) + 1
        self.components_ = vectors[:, : min(k, d - 1)].T.copy()
        self.reference_error_ = self._errors(z).mean(axis=0)
        self._total = max(float(self.reference_error_.sum()), np.finfo(np.float64).tiny)
        self._threshold = float(self.threshold)
        self.window_ = Ring(self.window_size, d, dtype=np.float64, fill=0.0)

    def _errors(self, z: np.ndarray) -> np.ndarray:
        """``(rows, features)`` squared reconstruction residuals of standardised rows."""
        centred = z - self.center_
        residual = centred - (centred @ self.components_.T) @ self.components_
        return np.square(residual, out=residual)

    def _update(self, view: View) -> Verdict:
        rows = self._rows(view)
        if rows.shape[0]:
            self.window_.extend(self._errors(rows))
        if self.window_.size < self.min_samples:
            return Verdict(math.nan, self._threshold, False)
        per_feature = self.window_.values.mean(axis=0)
        statistic = float(per_feature.sum() / self._total)
        alarm = statistic > self._threshold
        blame = _top(self.features_, per_feature - self.reference_error_) if alarm else ()
        return Verdict(statistic, self._threshold, alarm, blame)

    @classmethod
    def _test_params(cls) -> list[dict]:
        return [
            {},
            {
                "features": ("x0", "x1", "x2"),
                "variance": 0.5,
                "threshold": 1.3,
                "window_size": 300,
                "min_samples": 50,
                "on": "served",
            },
        ]
