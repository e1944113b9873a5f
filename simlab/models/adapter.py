"""Deployed models: any scikit-learn estimator, cloned per training, never refit in place."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from dataclasses import dataclass, field

import numpy as np
from sklearn import config_context
from sklearn.base import clone

from simlab.batch import Batch
from simlab.detectors.base import View
from simlab.errors import ConfigError
from simlab.models.pipelines import FeaturePipeline
from simlab.models.scoring import binary_sums, metrics_from_sums, regression_sums
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_real

__all__ = ["ESTIMATORS", "MODELS", "Deployed", "ModelAdapter"]

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
        A `View` of held-out rows (inputs, the model's scores, labels) that monitors fit on.

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

    def scores(self, columns) -> np.ndarray:
        """P(Y=1) per row for a classifier, the prediction for a regressor."""
        x = self.serving_pipeline_.transform(columns)
        if x.shape[0] == 0:
            return np.empty(0)
        # the pipeline imputes every non-finite value, so scikit-learn's finiteness scan is moot
        with config_context(assume_finite=True):
            if self.task == "binary":
                return self.estimator_.predict_proba(x)[:, 1]
            return np.asarray(self.estimator_.predict(x), dtype=float)


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
        A registered name ("logistic_regression", "random_forest", ...) or an unfitted
        scikit-learn estimator.
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
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "get_params"):
            raise ConfigError(
                "estimator",
                self.estimator,
                "a registered name or a scikit-learn estimator",
                owner="ModelAdapter",
            )
        return clone(self.estimator)

    def to_dict(self):
        if not isinstance(self.estimator, str):
            raise ConfigError(
                "estimator",
                self.estimator,
                "a registered name (an estimator object is not JSON-able; use a name and params)",
                owner="ModelAdapter",
            )
        return super().to_dict()

    def check_task(self, task: str) -> None:
        """Raise `ConfigError` unless the estimator can serve this task."""
        if task == "binary" and not hasattr(self._prototype, "predict_proba"):
            raise ConfigError(
                "estimator",
                self.estimator,
                "an estimator with predict_proba (binary monitors and metrics need scores)",
                owner="ModelAdapter",
            )
        if task == "regression" and not hasattr(self._prototype, "predict"):
            raise ConfigError("estimator", self.estimator, "a regressor", owner="ModelAdapter")

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
        if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
            est.set_params(random_state=int(rng.integers(2**31 - 1)))
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
        return dataclasses.replace(deployed, offline=offline, reference=reference)
