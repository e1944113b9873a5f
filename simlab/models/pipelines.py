"""Feature pipelines: how raw columns become the model's input matrix, at training and at serving.

The training pipeline and the serving pipeline are separate objects on purpose: train/serve
skew is a difference between them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from simlab.errors import ConfigError, NotFittedError
from simlab.params import Component
from simlab.registry import Registry
from simlab.validation import check_names

__all__ = ["PIPELINES", "FeaturePipeline"]

PIPELINES: Registry = Registry("pipeline")

_IMPUTE = ("mean", "median", "zero")
_ON_MISSING = ("fallback", "fail")


def _is_numeric(col: np.ndarray) -> bool:
    return col.dtype.kind in "biuf"


def _n_rows(columns: Mapping[str, np.ndarray]) -> int:
    """Rows in a mapping of columns (0 if it has none)."""
    for col in columns.values():
        return len(np.asarray(col))
    return 0


@PIPELINES.register("features")
class FeaturePipeline(Component):
    """Numeric columns imputed, categorical columns one-hot encoded.

    Non-finite numeric values (NaN, ±inf) are treated as missing and imputed with the
    statistic learned at fit; categories unseen at fit encode as all zeros. Both are
    what a careful serving stack does instead of crashing, and both are documented
    here rather than hidden.

    Parameters
    ----------
    features
        Columns to use, in order; None for every column seen at fit.
    impute
        Statistic that fills missing numeric values: "mean", "median" or "zero".
    on_missing
        What serving does when a column the pipeline was fitted on is absent (dropped or
        renamed upstream) or unusable (strings where numbers were): ``"fallback"`` serves
        the fill value for a numeric column and "unseen" (all zeros) for a categorical one;
        ``"fail"`` fails the request, so the rows get no score. Either is what a real
        serving stack is configured to do, and the engine logs it as an event.

    Attributes
    ----------
    features_ : tuple of str
        Columns used.
    fill_ : dict
        Fill value per numeric column.
    categories_ : dict
        Known categories per categorical column.
    names_out_ : tuple of str
        The name of each column of the model matrix: a numeric feature's own name,
        ``"feature=category"`` for each one-hot column.

    Examples
    --------
    >>> import numpy as np
    >>> p = FeaturePipeline().fit({"a": np.array([1.0, 3.0]), "c": np.array(["u", "v"])})
    >>> p.transform({"a": np.array([np.nan]), "c": np.array(["w"])}).tolist()
    [[2.0, 0.0, 0.0]]
    """

    def __init__(self, *, features=None, impute: str = "mean", on_missing: str = "fallback"):
        self.features = features
        self.impute = impute
        self.on_missing = on_missing
        if impute not in _IMPUTE:
            raise ConfigError("impute", impute, f"one of {list(_IMPUTE)}", owner="FeaturePipeline")
        if on_missing not in _ON_MISSING:
            raise ConfigError(
                "on_missing", on_missing, f"one of {list(_ON_MISSING)}", owner="FeaturePipeline"
            )
        if features is not None:
            check_names("FeaturePipeline", "features", features, "None or a tuple of column names")

    def fit(self, columns: Mapping[str, np.ndarray]) -> FeaturePipeline:
        """Learn fill values and categories from training columns."""
        names = tuple(columns) if self.features is None else tuple(self.features)
        missing = [f for f in names if f not in columns]
        if missing:
            raise ConfigError(
                "features", missing[0], f"one of {list(columns)}", owner="FeaturePipeline"
            )
        fill, cats = {}, {}
        for f in names:
            col = np.asarray(columns[f])
            if _is_numeric(col):
                x = col.astype(float)
                x = x[np.isfinite(x)]
                if self.impute == "zero" or x.size == 0:
                    fill[f] = 0.0
                else:
                    fill[f] = float(np.mean(x) if self.impute == "mean" else np.median(x))
            else:
                cats[f] = np.unique(col.astype(str))
        self.features_ = names
        self.fill_ = fill
        self.categories_ = cats
        return self

    @property
    def n_outputs_(self) -> int:
        """Width of the model matrix."""
        return len(self.fill_) + sum(len(c) for c in self.categories_.values())

    @property
    def names_out_(self) -> tuple[str, ...]:
        """The model matrix's column names."""
        out = []
        for f in self.features_:
            if f in self.fill_:
                out.append(f)
            else:
                out.extend(f"{f}={c}" for c in self.categories_[f])
        return tuple(out)

    def differing_fills(self, other: FeaturePipeline) -> tuple[str, ...] | None:
        """The numeric features whose fill differs, if `other` lays out the same matrix.

        None when the two pipelines make different matrices (other columns, categories
        or failure rule). Otherwise both transform any columns to the same matrix except
        where a listed feature's fill is used (a non-finite value, or the column
        unusable): a second model with the same layout can be served the first one's
        matrix (a shadow beside its champion) when those columns are finite.

        Examples
        --------
        >>> import numpy as np
        >>> a = FeaturePipeline().fit({"x": np.array([1.0, 3.0]), "c": np.array(["u", "v"])})
        >>> b = FeaturePipeline().fit({"x": np.array([1.0, 5.0]), "c": np.array(["v", "u"])})
        >>> a.differing_fills(b), a.differing_fills(a)
        (('x',), ())
        >>> a.differing_fills(FeaturePipeline().fit({"x": np.array([1.0])})) is None
        True
        """
        if (
            type(other) is not type(self)
            or other.features_ != self.features_
            or other.on_missing != self.on_missing
            or other.fill_.keys() != self.fill_.keys()
            or any(not np.array_equal(v, other.categories_[f]) for f, v in self.categories_.items())
        ):
            return None
        return tuple(f for f, v in self.fill_.items() if other.fill_[f] != v)

    def unusable(self, columns: Mapping[str, np.ndarray]) -> list[str]:
        """The fitted columns that are absent from `columns`, or numeric ones that are not numbers.

        Examples
        --------
        >>> import numpy as np
        >>> p = FeaturePipeline().fit({"a": np.zeros(2), "b": np.ones(2)})
        >>> p.unusable({"a": np.array(["x", "y"])})
        ['a', 'b']
        """
        if not hasattr(self, "features_"):
            raise NotFittedError("FeaturePipeline is not fitted; call fit(columns) first")
        return [
            f
            for f in self.features_
            if f not in columns or (f in self.fill_ and not _is_numeric(np.asarray(columns[f])))
        ]

    def transform(self, columns: Mapping[str, np.ndarray], *, n: int | None = None) -> np.ndarray:
        """The model matrix ``(n, n_outputs_)`` for these columns.

        Unusable columns (see `unusable`) get the fallback when ``on_missing="fallback"``
        and raise `ConfigError` when ``on_missing="fail"``. `n` gives the row count when
        no fitted column is present to tell it.
        """
        return self.transform_filled(columns, n=n)[0]

    def transform_filled(
        self, columns: Mapping[str, np.ndarray], *, n: int | None = None, unusable=None
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        """`transform`, and the numeric columns in which the fallback replaced a value.

        A numeric column is *filled* when it is unusable or has a value that is not finite:
        two pipelines that differ only in the fill values of columns that were not filled
        make the same matrix. `unusable` is `unusable(columns)` when the caller has it.

        Examples
        --------
        >>> import numpy as np
        >>> p = FeaturePipeline().fit({"a": np.zeros(2), "b": np.ones(2)})
        >>> x, filled = p.transform_filled({"a": np.array([1.0, np.nan]), "b": np.ones(2)})
        >>> x.tolist(), filled
        ([[1.0, 1.0], [0.0, 1.0]], ('a',))
        """
        bad = self.unusable(columns) if unusable is None else list(unusable)
        if bad and self.on_missing == "fail":
            raise ConfigError(
                "columns",
                bad[0],
                f"the columns the pipeline was fitted on {list(self.features_)}, "
                "numeric where they were numeric",
                owner="FeaturePipeline",
            )
        present = [f for f in self.features_ if f not in bad]
        if present:
            n = len(np.asarray(columns[present[0]]))
        elif n is None:
            n = _n_rows(columns)
        out = np.empty((n, self.n_outputs_), dtype=np.float64)
        filled = []
        j = 0
        for f in self.features_:
            if f in bad:
                width = 1 if f in self.fill_ else self.categories_[f].size
                out[:, j : j + width] = self.fill_.get(f, 0.0)
                if f in self.fill_:
                    filled.append(f)
                j += width
                continue
            col = np.asarray(columns[f])
            if f in self.fill_:
                x = col if col.dtype == np.float64 else col.astype(float)
                finite = np.isfinite(x)
                if finite.all():
                    out[:, j] = x
                else:
                    out[:, j] = np.where(finite, x, self.fill_[f])
                    filled.append(f)
                j += 1
            else:
                known = self.categories_[f]
                k = known.size
                s = col.astype(str)
                pos = np.minimum(np.searchsorted(known, s), k - 1)
                hit = known[pos] == s
                block = out[:, j : j + k]
                block[:] = 0.0
                rows = np.flatnonzero(hit)
                block[rows, pos[hit]] = 1.0
                j += k
        return out, tuple(filled)
