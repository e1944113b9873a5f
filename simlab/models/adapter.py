"""Deployed models: any scikit-learn estimator, cloned per training, never refit in place."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from sklearn import config_context
from sklearn.base import clone, is_classifier

from simlab.batch import Batch
from simlab.errors import ConfigError
from simlab.models.pipelines import FeaturePipeline
from simlab.params import Component, encode
from simlab.registry import Registry
from simlab.scoring import binary_sums, metrics_from_sums, regression_sums
from simlab.validation import check_names, check_real
from simlab.view import View

__all__ = [
    "ESTIMATORS",
    "MODELS",
    "Deployed",
    "LinearScores",
    "ModelAdapter",
    "Served",
    "estimator_spec",
]

ESTIMATORS: Registry = Registry("estimator", index=False)
MODELS: Registry = Registry("model")


def _sk(path: str):
    def factory(**params):
        module, _, name = path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        allowed = sorted(cls().get_params())
        for key, value in params.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(key, value, f"a parameter of {name}: {allowed}{hint}", owner=name)
        return cls(**params)

    factory.__name__ = path.rpartition(".")[2]
    factory.__doc__ = f"Build `{path}` with the given parameters."
    return factory


for _name, _path in {
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "random_forest": "sklearn.ensemble.RandomForestClassifier",
    "gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
    "decision_tree": "sklearn.tree.DecisionTreeClassifier",
    "naive_bayes": "sklearn.naive_bayes.GaussianNB",
    "mlp": "sklearn.neural_network.MLPClassifier",
    "linear_regression": "sklearn.linear_model.LinearRegression",
    "ridge": "sklearn.linear_model.Ridge",
    "random_forest_regressor": "sklearn.ensemble.RandomForestRegressor",
    "gradient_boosting_regressor": "sklearn.ensemble.HistGradientBoostingRegressor",
    "linear_svc": "sklearn.svm.LinearSVC",
}.items():
    ESTIMATORS.register(_name)(_sk(_path))


#: Estimator classes a JSON spec may name: importing another module could run its code.
_REBUILDABLE = ("sklearn.",)


def _class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _encode_value(value, problems: list[str], where: str):
    if hasattr(value, "get_params") and hasattr(value, "fit") and not isinstance(value, type):
        return _encode_estimator(value, problems, where)
    if isinstance(value, (list, tuple)):
        return [_encode_value(v, problems, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _encode_value(v, problems, f"{where}.{k}") for k, v in value.items()}
    try:
        return encode(value)
    except ConfigError:
        problems.append(f"{where}={value!r} is not JSON-able")
        return {"repr": repr(value)}


def _encode_estimator(est, problems: list[str], where: str) -> dict:
    path = _class_path(est)
    if not path.startswith(_REBUILDABLE):
        problems.append(f"{where} is a {path} (only scikit-learn classes are rebuilt from JSON)")
    params = est.get_params(deep=False)
    return {
        "class": path,
        "params": {
            k: _encode_value(v, problems, f"{where}.{k}") for k, v in sorted(params.items())
        },
    }


def estimator_spec(estimator) -> dict:
    """An estimator object as JSON-able data: its class and its parameters, recursively.

    Nested estimators (a `~sklearn.pipeline.Pipeline`'s steps) become specs too. A value JSON
    cannot hold becomes ``{"repr": ...}``, and then, or when the class is not scikit-learn's,
    the spec says ``"rebuildable": false`` with the reasons: the Run still records what the
    model was, but the scenario cannot be rebuilt from its JSON alone.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> spec = estimator_spec(LogisticRegression(C=0.5))
    >>> spec["class"], spec["params"]["C"], spec["rebuildable"]
    ('sklearn.linear_model._logistic.LogisticRegression', 0.5, True)
    """
    problems: list[str] = []
    spec = _encode_estimator(estimator, problems, "estimator")
    spec["rebuildable"] = not problems
    if problems:
        spec["problems"] = problems
    return spec


def _decode_value(value, top: bool):
    if isinstance(value, Mapping) and "class" in value:
        return _build_estimator(value)
    if isinstance(value, (list, tuple)):
        items = [_decode_value(v, False) for v in value]
        return items if top else tuple(items)  # a Pipeline's steps: a list of (name, step) pairs
    if isinstance(value, Mapping):
        return {k: _decode_value(v, False) for k, v in value.items()}
    return value


def _build_estimator(spec):
    """The estimator an `estimator_spec` describes (scikit-learn classes only)."""
    path = spec.get("class")
    if not spec.get("rebuildable", True) or not isinstance(path, str):
        raise ConfigError(
            "estimator",
            path,
            "a rebuildable spec; this one cannot be rebuilt from JSON "
            f"({'; '.join(spec.get('problems', [])) or 'no class'}): pass the estimator object",
            owner="ModelAdapter",
        )
    if not path.startswith(_REBUILDABLE):
        raise ConfigError(
            "estimator", path, "a scikit-learn class (or pass the object)", owner="ModelAdapter"
        )
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ConfigError("estimator", path, "an importable class", owner="ModelAdapter") from None
    params = spec.get("params", {})
    if not isinstance(params, Mapping):
        raise ConfigError("estimator.params", params, "a mapping", owner="ModelAdapter")
    return cls(**{k: _decode_value(v, True) for k, v in params.items()})


@dataclass(frozen=True, slots=True)
class Served:
    """What serving made of one tick's columns.

    Attributes
    ----------
    scores
        The model's scores (NaN for every row when the request failed).
    features
        The model matrix ``(n, k)`` it was served (None when the request failed).
    unusable
        The fitted columns that were absent or unusable (see `FeaturePipeline.unusable`).
    failed
        True when the request failed (``on_missing="fail"`` and a column was unusable).
    filled
        The numeric columns in which the fallback replaced a value (see
        `FeaturePipeline.transform_filled`).

    Examples
    --------
    >>> from simlab.world import sea
    >>> m = ModelAdapter().train(sea().sample(1000, 0.0, rng=0), version=0)
    >>> served = m.serve({"x0": [1.0, 9.0], "x2": [0.0, 0.0]})
    >>> served.unusable, served.failed, served.features.shape, served.filled
    (('x1',), False, (2, 3), ('x1',))
    """

    scores: np.ndarray
    features: np.ndarray | None
    unusable: tuple[str, ...] = ()
    failed: bool = False
    filled: tuple[str, ...] = ()


class LinearScores:
    """P(Y=1) of a fitted binary `LogisticRegression`, without scikit-learn's input checks.

    The same operations as its ``predict_proba`` (the matrix product with ``coef_.T``, the
    intercept, the logistic function), so the same scores to the bit, in a tenth of the
    time at 1,000 rows: scikit-learn's checks of the matrix cost far more than the
    arithmetic, and a serving pipeline's matrix (float64, finite, the fitted width) needs
    none. `probe` builds one only when it gives scikit-learn's scores exactly on the
    matrix it is shown; any other estimator, or a mismatch, gives None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 3))
    >>> est = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    >>> fast = LinearScores.probe(est, "binary", x)
    >>> bool(np.array_equal(fast(x), est.predict_proba(x)[:, 1]))
    True
    >>> LinearScores.probe(est, "regression", x) is None
    True
    """

    __slots__ = ("coef_t", "intercept")

    def __init__(self, coef_t: np.ndarray, intercept: np.ndarray):
        self.coef_t = coef_t
        self.intercept = intercept

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.coef_t + self.intercept
        return expit(z.reshape(-1))

    @classmethod
    def probe(cls, estimator, task: str, x: np.ndarray) -> LinearScores | None:
        """A `LinearScores` for `estimator` if it reproduces its scores on `x`, else None."""
        from sklearn.linear_model import LogisticRegression

        if (
            task != "binary"
            or type(estimator) is not LogisticRegression
            or getattr(estimator, "classes_", np.empty(0)).size != 2
            or hasattr(estimator, "feature_names_in_")
            or x.ndim != 2
            or x.shape[0] == 0
            or x.dtype != np.float64
        ):
            return None
        coef = np.asarray(estimator.coef_)
        if coef.shape != (1, x.shape[1]):
            return None
        fast = cls(coef.T, np.asarray(estimator.intercept_))
        with config_context(assume_finite=True):
            expected = estimator.predict_proba(x)[:, 1]
        return fast if np.array_equal(fast(x), expected) else None


@dataclass(frozen=True, slots=True)
class Deployed:
    """One trained model version, immutable.

    Attributes
    ----------
    version
        0 for the model deployed at the start, then 1, 2, ...
    trained_at
        Simulated hour at which its training data ended.
    estimator_
        The fitted scikit-learn estimator.
    training_pipeline_, serving_pipeline_
        Fitted feature pipelines (they differ only when skew is injected).
    offline
        ``{"random": metrics, "time": metrics}``: what offline evaluation promised.
    reference
        A `View` of held-out rows (upstream columns, the model's scores, labels) that
        monitors fit on.
    reference_served
        The same rows as the training pipeline turned them into model features: the
        reference of monitors that watch served features.
    fast_
        For an estimator whose scores are one matrix product (`LinearScores`), the same
        arithmetic without scikit-learn's input checks; None otherwise.

    Examples
    --------
    >>> from simlab.world import sea
    >>> m = ModelAdapter().train(sea().sample(1000, 0.0, rng=0), version=0)
    >>> isinstance(m, Deployed), m.scores(sea().sample(3, 0.0, rng=1).columns).shape
    (True, (3,))
    """

    version: int
    trained_at: float
    estimator_: object
    training_pipeline_: FeaturePipeline
    serving_pipeline_: FeaturePipeline
    task: str
    offline: dict = field(default_factory=dict)
    reference: View | None = None
    reference_served: View | None = None
    fast_: LinearScores | None = field(default=None, compare=False, repr=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores of a model matrix: P(Y=1) per row for a classifier, the prediction otherwise."""
        if x.shape[0] == 0:
            return np.empty(0)
        if self.fast_ is not None and x.dtype == np.float64:
            return self.fast_(x)
        # the pipeline imputes every non-finite value, so scikit-learn's finiteness scan is moot
        with config_context(assume_finite=True):
            if self.task == "binary":
                return self.estimator_.predict_proba(x)[:, 1]
            return np.asarray(self.estimator_.predict(x), dtype=float)

    def serve(self, columns, *, n: int | None = None) -> Served:
        """Serve these columns: the serving pipeline, then the model (see `Served`).

        `n` is the number of rows, for when no fitted column is present to tell it.
        """
        pipeline = self.serving_pipeline_
        unusable = tuple(pipeline.unusable(columns))
        if unusable and pipeline.on_missing == "fail":
            rows = n if n is not None else _rows(columns)
            return Served(np.full(rows, np.nan), None, unusable, True)
        x, filled = pipeline.transform_filled(columns, n=n, unusable=unusable)
        return Served(self.predict(x), x, unusable, False, filled)

    def scores(self, columns) -> np.ndarray:
        """P(Y=1) per row for a classifier, the prediction for a regressor (NaN: failed)."""
        return self.serve(columns).scores

    def served_columns(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """A served model matrix as named columns (what monitors of served features read)."""
        names = self.serving_pipeline_.names_out_
        return {name: features[:, j] for j, name in enumerate(names)}


def _rows(columns) -> int:
    for col in columns.values():
        return len(np.asarray(col))
    return 0


def _metrics(task, y, s) -> np.ndarray:
    if task == "binary":
        sums, hist = binary_sums(y, s)
        return metrics_from_sums(task, sums, hist)
    return metrics_from_sums(task, regression_sums(y, s))


@MODELS.register("model")
class ModelAdapter(Component):
    """A scikit-learn estimator as a deployable thing: train on a window, evaluate, serve.

    Each training clones the unfitted estimator (``sklearn.base.clone``) and returns a new
    immutable `Deployed`. The window is split in time: the first ``1 - holdout`` share
    trains the deployed model, the last share is its held-out reference. Offline
    evaluation is reported both ways teams do it: a *random* split (train on a random
    share, test on the rest) and a *time* split (the deployed model on the last share).

    Parameters
    ----------
    estimator
        A registered name ("logistic_regression", "random_forest", ...), an unfitted
        scikit-learn estimator object (a `~sklearn.pipeline.Pipeline` included), or an
        `estimator_spec` mapping (how an object comes back from JSON).
    params
        Estimator parameters (with a name).
    features
        Columns the model reads (None: all).
    training, serving
        Feature pipelines; serving defaults to the training pipeline's spec.
    holdout
        Share of the training window held out, in (0, 0.9].

    Examples
    --------
    >>> from simlab.world import logistic
    >>> batch = logistic(n_features=3).sample(2000, 0.0, rng=0)
    >>> m = ModelAdapter(estimator="logistic_regression").train(batch, version=0, rng=0)
    >>> m.version, sorted(m.offline), round(float(m.offline["time"][0]), 1)
    (0, ['random', 'time'], 0.7)
    """

    def __init__(
        self,
        *,
        estimator="logistic_regression",
        params=None,
        features=None,
        training: FeaturePipeline | None = None,
        serving: FeaturePipeline | None = None,
        holdout: float = 0.2,
    ):
        self.estimator = estimator
        self.params = params
        self.features = features
        self.training = training
        self.serving = serving
        self.holdout = holdout
        check_real(
            "ModelAdapter", "holdout", holdout, low=0.0, high=0.9, open_low=True, open_high=False
        )
        if params is not None and not isinstance(params, dict):
            raise ConfigError("params", params, "None or a mapping", owner="ModelAdapter")
        if features is not None:
            check_names("ModelAdapter", "features", features, "None or a tuple of column names")
        if not isinstance(estimator, str) and params:
            raise ConfigError(
                "params",
                params,
                "None when estimator is an object (set them on it)",
                owner="ModelAdapter",
            )
        for key in ("training", "serving"):
            v = getattr(self, key)
            if v is not None and not isinstance(v, FeaturePipeline):
                raise ConfigError(key, v, "None or a FeaturePipeline", owner="ModelAdapter")
            if (
                v is not None
                and features is not None
                and v.features is not None
                and tuple(v.features) != tuple(features)
            ):
                raise ConfigError(
                    f"{key}.features",
                    v.features,
                    f"None or the model's features {tuple(features)}",
                    owner="ModelAdapter",
                )
        self._prototype = self._make()

    def _make(self):
        if isinstance(self.estimator, str):
            return ESTIMATORS.make({"kind": self.estimator, **(self.params or {})})
        if isinstance(self.estimator, Mapping):
            return _build_estimator(self.estimator)
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "get_params"):
            raise ConfigError(
                "estimator",
                self.estimator,
                "a registered name or a scikit-learn estimator",
                owner="ModelAdapter",
            )
        return clone(self.estimator)

    def to_dict(self):
        params = self.get_params()
        if self._spec is not None:  # an estimator object travels as its spec
            params["estimator"] = self._spec
        return {"kind": self.name, **{k: encode(v) for k, v in params.items()}}

    @property
    def _spec(self) -> dict | None:
        """The estimator object's spec (None for a name or a mapping)."""
        if isinstance(self.estimator, (str, Mapping)):
            return None
        return estimator_spec(self.estimator)

    def estimator_class(self) -> str:
        """The estimator's class, as ``module.Class``.

        Examples
        --------
        >>> ModelAdapter().estimator_class()
        'sklearn.linear_model._logistic.LogisticRegression'
        """
        return _class_path(self._prototype)

    def rebuild_problems(self) -> list[str]:
        """Why this model cannot be rebuilt from its JSON alone (empty when it can).

        Examples
        --------
        >>> ModelAdapter().rebuild_problems()
        []
        """
        spec = self._spec if self._spec is not None else self.estimator
        if isinstance(spec, Mapping):
            return list(spec.get("problems", []))
        return []

    def check_task(self, task: str) -> None:
        """Raise `ConfigError` unless the estimator can serve this task."""
        if task == "binary" and not hasattr(self._prototype, "predict_proba"):
            raise ConfigError(
                "estimator",
                self.estimator,
                "an estimator with predict_proba (binary monitors and metrics need scores)",
                owner="ModelAdapter",
            )
        if task == "regression" and (
            not hasattr(self._prototype, "predict") or is_classifier(self._prototype)
        ):
            raise ConfigError(
                "estimator",
                self.estimator,
                "a regressor for a regression world (linear_regression, ridge, "
                "random_forest_regressor, gradient_boosting_regressor, or a regressor object)",
                owner="ModelAdapter",
            )

    def _pipeline(self, spec: FeaturePipeline | None) -> FeaturePipeline:
        """A fresh, unfitted pipeline reading the model's features."""
        spec = spec or FeaturePipeline()
        if self.features is not None and spec.features is None:
            return spec.clone(features=tuple(self.features))
        return spec.clone()

    def _fit(self, columns, y, rng, task):
        if task == "binary":
            classes = np.unique(y)
            if classes.size < 2:
                raise ConfigError(
                    "y",
                    f"only class {classes.tolist()} in {len(y)} training rows",
                    "training rows of both classes 0 and 1",
                    owner="ModelAdapter",
                )
        training = self._pipeline(self.training)
        training.fit(columns)
        est = clone(self._prototype)
        # every unset random_state (a Pipeline's steps too) gets a seed from the run's stream
        unset = sorted(
            k
            for k, v in est.get_params().items()
            if (k == "random_state" or k.endswith("__random_state")) and v is None
        )
        if unset:
            est.set_params(**{k: int(rng.integers(2**31 - 1)) for k in unset})
        est.fit(training.transform(columns), y)
        return est, training

    def train(
        self, batch: Batch, *, version: int, trained_at: float | None = None, rng=0, task=None
    ) -> Deployed:
        """Train on `batch` (rows in time order) and return the deployed model.

        `task` is "binary" or "regression"; None infers it from ``batch.y`` (integers 0/1
        make a binary task).
        """
        if task is None:
            binary = batch.y.dtype.kind in "biu" and np.isin(batch.y, (0, 1)).all()
            task = "binary" if binary else "regression"
        self.check_task(task)
        g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        n = batch.n
        n_test = max(1, round(self.holdout * n))
        if n - n_test < 2:
            raise ConfigError("train_rows", n, "enough rows to train (>= 10)", owner="ModelAdapter")
        head, tail = batch.take(slice(0, n - n_test)), batch.take(slice(n - n_test, n))
        est, training = self._fit(head.columns, head.y, g, task)
        serving = (
            training if self.serving is None else self._pipeline(self.serving).fit(head.columns)
        )
        deployed = Deployed(
            version=version,
            trained_at=float(batch.t if trained_at is None else trained_at),
            estimator_=est,
            training_pipeline_=training,
            serving_pipeline_=serving,
            task=task,
            fast_=LinearScores.probe(est, task, serving.transform(tail.columns)),
        )
        tail_scores = deployed.scores(tail.columns)
        perm = g.permutation(n)
        rnd_train, rnd_test = batch.take(perm[: n - n_test]), batch.take(perm[n - n_test :])
        est_r, pipe_r = self._fit(rnd_train.columns, rnd_train.y, g, task)
        x_r = pipe_r.transform(rnd_test.columns)
        rnd_scores = est_r.predict_proba(x_r)[:, 1] if task == "binary" else est_r.predict(x_r)
        offline = {
            "random": _metrics(task, rnd_test.y, rnd_scores),
            "time": _metrics(task, tail.y, tail_scores),
        }
        reference = View(
            t=batch.t,
            columns=tail.columns,
            scores=tail_scores,
            labels=tail.y,
            label_scores=tail_scores,
        )
        trained = training.transform(tail.columns)  # what training made of the held-out rows
        reference_served = View(
            t=batch.t,
            columns=dict(zip(training.names_out_, trained.T, strict=True)),
            scores=tail_scores,
            labels=tail.y,
            label_scores=tail_scores,
        )
        return dataclasses.replace(
            deployed, offline=offline, reference=reference, reference_served=reference_served
        )
