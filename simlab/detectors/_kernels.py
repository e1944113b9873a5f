"""The only home of the detectors' shared maths: binning, ring buffers, PSI, KS and friends.

Everything here is vectorised NumPy over the rows of a tick (a Python loop over
features is allowed, a loop over rows never). The per-tick paths are written for the
engine's budget (one ``update`` per simulated hour, ~1,000 rows × 10 features): a few
vector operations over the whole ``(features, rows)`` block to code a tick
(`BucketSearch`), slice assignments to slide a window and ``np.add.at`` to count it
(`CodeWindow`), no sort, and work arrays kept from one tick to the next;
``bench/detectors.py`` measures them. Nothing here knows about
`View`, `Verdict` or parameters' meaning beyond the small argument checks at the bottom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import betaln, chdtrc, chdtri, gammaln

from simlab.errors import ConfigError
from simlab.validation import check_int, check_real

__all__ = [
    "CORRECTIONS",
    "PSI_EPS",
    "BucketSearch",
    "CategoricalBinner",
    "CodeWindow",
    "ECDFCoder",
    "KSDistance",
    "NumericBinner",
    "QuantileCoupling",
    "Ring",
    "betabinom_critical",
    "bincount_2d",
    "check_features",
    "check_int",
    "check_real",
    "check_some_finite",
    "chi2_critical",
    "chi2_homogeneity",
    "chi2_pvalue",
    "corrected_level",
    "cusum_path",
    "cusum_reflect",
    "cusum_walk",
    "hellinger",
    "is_numeric",
    "jensen_shannon",
    "ks_critical",
    "ks_from_codes",
    "ks_from_counts",
    "ks_pvalue",
    "linear_recursion",
    "missing_mask",
    "psi",
    "psi_from_counts",
]

#: Floor applied to bin proportions before the PSI logarithm (see `psi`).
PSI_EPS = 1e-4


# --------------------------------------------------------------------------- binning


def is_numeric(values: np.ndarray) -> bool:
    """True if a column is numeric (bool, int, unsigned or float dtype).

    Examples
    --------
    >>> import numpy as np
    >>> is_numeric(np.array([1.0, 2.0])), is_numeric(np.array(["a", "b"]))
    (True, False)
    """
    return np.asarray(values).dtype.kind in "biuf"


def missing_mask(values) -> np.ndarray:
    """True where a value is missing: NaN, None, NaT, or the empty string.

    Integer and boolean columns have no missing values; a float column's are its NaN;
    a string column's are its empty strings; an object column's are None, NaN and "".

    Examples
    --------
    >>> import numpy as np
    >>> missing_mask(np.array([1.0, np.nan])).tolist()
    [False, True]
    >>> missing_mask(np.array(["a", "", None, float("nan")], dtype=object)).tolist()
    [False, True, True, True]
    """
    a = np.asarray(values)
    kind = a.dtype.kind
    if kind in "fc":
        return np.isnan(a)
    if kind in "US":
        return a == a.dtype.type()
    if kind in "mM":
        return np.isnat(a)
    if kind == "O":
        missing = np.equal(a, None) | np.not_equal(a, a) | np.equal(a, "")
        return np.asarray(missing, dtype=bool)
    return np.zeros(a.shape, dtype=bool)


def _as_float(values) -> np.ndarray:
    """A float64 copy-or-view of a numeric column (``None`` in object arrays becomes NaN)."""
    a = np.asarray(values)
    if a.dtype == np.float64:
        return a
    if a.dtype.kind == "O":
        a = np.where(np.equal(a, None), np.nan, a)
    return np.asarray(a, dtype=np.float64)


def _nan_padded(keys: np.ndarray, length: int) -> np.ndarray:
    """`keys` (sorted, no NaN) followed by NaN up to `length` entries.

    NumPy orders NaN after every number (``+inf`` included) in ``sort`` and
    ``searchsorted``, so ``searchsorted(_nan_padded(keys, L), x, side="right")`` is the
    number of keys ``<= x`` for a number ``x`` and ``L`` for NaN: the "missing" code
    comes out of the same single search, with no ``isnan`` pass.
    """
    out = np.full(length, np.nan)
    out[: keys.size] = keys
    return out


def check_some_finite(owner: str, name: str, values) -> None:
    """Refuse a numeric reference with no finite value: it has no bin edges to compare with.

    Examples
    --------
    >>> import numpy as np
    >>> check_some_finite("PSI", "x", np.array([np.inf, np.nan]))
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: PSI: reference='x' is not allowed; expected ...
    """
    x = _as_float(values)
    if not np.isfinite(x).any():
        raise ConfigError(
            "reference",
            name,
            "a reference with finite values in every numeric column it monitors (without "
            "them there are no bins, and the statistic would be 0 whatever came)",
            owner=owner,
        )


class NumericBinner:
    """Bins from reference quantiles; NaN goes to a dedicated last "missing" bin.

    Parameters
    ----------
    reference
        The reference values (NaN and ±inf allowed; edges use the finite ones).
    n_bins
        The number of quantile bins requested; tied quantiles are merged, so the
        number of value bins is ``len(edges_) + 1 <= n_bins``.

    Attributes
    ----------
    edges_
        Sorted, unique interior edges. Bin ``i`` is ``[edges_[i-1], edges_[i])`` with outer
        edges -inf and +inf, so ±inf fall into the outer bins.
    n_cells
        Value bins plus the missing bin.

    Examples
    --------
    >>> import numpy as np
    >>> b = NumericBinner(np.arange(10.0), n_bins=2)
    >>> [int(c) for c in b.codes(np.array([-np.inf, 4.0, 5.0, np.inf, np.nan]))]
    [0, 0, 1, 1, 2]
    """

    def __init__(self, reference, n_bins: int):
        ref = _as_float(reference)
        finite = ref[np.isfinite(ref)]
        if finite.size:
            probs = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
            self.edges_ = np.unique(np.quantile(finite, probs))
        else:
            self.edges_ = np.empty(0)
        self.n_cells = self.edges_.size + 2
        self._keys = _nan_padded(self.edges_, self.n_cells - 1)

    def codes(self, values) -> np.ndarray:
        """Bin index of every value (``n_cells - 1`` for NaN)."""
        return np.searchsorted(self._keys, _as_float(values), side="right")


class CategoricalBinner:
    """One bin per reference category, then an "unseen" bin, then a "missing" bin.

    Values are compared as strings; ``None`` and NaN are missing.

    Parameters
    ----------
    reference
        The reference values.

    Attributes
    ----------
    categories_
        The sorted reference categories (missing excluded).
    n_cells
        ``len(categories_) + 2``.

    Examples
    --------
    >>> import numpy as np
    >>> b = CategoricalBinner(np.array(["b", "a", "b"]))
    >>> [int(c) for c in b.codes(np.array(["a", "b", "zz", None], dtype=object))]
    [0, 1, 2, 3]
    """

    def __init__(self, reference):
        strings, missing = self._strings(reference)
        self.categories_ = np.unique(strings[~missing])
        self.n_cells = self.categories_.size + 2

    @staticmethod
    def _strings(values) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(values)
        if a.dtype.kind == "O":
            missing = np.equal(a, None) | np.not_equal(a, a)
            a = np.where(missing, "", a)
        elif a.dtype.kind == "f":
            missing = np.isnan(a)
        else:
            missing = np.zeros(a.shape, dtype=bool)
        return a.astype(str), np.asarray(missing, dtype=bool)

    def codes(self, values) -> np.ndarray:
        """Bin index of every value (``n_cells - 2`` unseen, ``n_cells - 1`` missing)."""
        strings, missing = self._strings(values)
        n_cat = self.categories_.size
        if n_cat == 0:
            codes = np.zeros(strings.shape, dtype=np.intp)
        else:
            codes = np.searchsorted(self.categories_, strings)
            found = self.categories_[np.minimum(codes, n_cat - 1)] == strings
            codes[~found] = n_cat
        codes[missing] = n_cat + 1
        return codes


class ECDFCoder:
    """Codes that keep exactly what the two-sample KS statistic needs from a value.

    With the sorted unique non-NaN reference values ``u_0 < ... < u_{K-1}``, a value
    ``x`` gets code ``2i + 1`` if ``x == u_i`` and ``2i`` if ``u_{i-1} < x < u_i``
    (``u_{-1} = -inf``, ``u_K = +inf``); NaN gets ``n_cells - 1``. Codes are monotone
    in ``x``, and two values with the same code have the same reference ECDF value and
    nothing of the reference between them, which is all `KSDistance` uses. A code is
    found with a single ``searchsorted`` (see `codes`).

    Parameters
    ----------
    reference
        The reference values (NaN are dropped; ±inf are ordinary values).
    n_cells
        The total number of cells, at least ``2K + 2``; larger values pad (so that
        several features can share one table width).

    Attributes
    ----------
    n_
        Non-NaN reference values.
    values_
        The sorted unique non-NaN reference values.
    keys_
        The search keys ``u_0, u_0⁺, u_1, u_1⁺, ...`` (``u⁺``: the next float after
        ``u``; none after +inf): a value's code is the number of keys ``<= x``.
    table_
        ``(n_cells, 2)``: per code, the reference ECDF at the value and just below it.

    Examples
    --------
    >>> import numpy as np
    >>> c = ECDFCoder(np.array([1.0, 2.0, 2.0]))
    >>> [int(v) for v in c.codes(np.array([0.5, 1.0, 1.5, 2.0, 3.0, np.nan]))]
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, reference, n_cells: int | None = None):
        ref = _as_float(reference)
        ref = ref[~np.isnan(ref)]
        self.n_ = int(ref.size)
        self.values_, counts = np.unique(ref, return_counts=True)
        k = self.values_.size
        self.n_cells = 2 * k + 2 if n_cells is None else int(n_cells)
        cdf = np.cumsum(counts) / max(self.n_, 1)
        below = np.concatenate(([0.0], cdf))  # ECDF just below u_i, and at u_{i-1}
        right = np.ones(self.n_cells)
        left = np.ones(self.n_cells)
        right[0 : 2 * k + 1 : 2] = below  # strictly between: ECDF is constant
        left[0 : 2 * k + 1 : 2] = below
        right[1 : 2 * k : 2] = cdf  # equal to u_i: the jump
        left[1 : 2 * k : 2] = below[:-1]
        self.table_ = np.stack((right, left), axis=1)
        # Code 2i + [x == u_i] is the number of keys <= x among u_0 < u_0⁺ < u_1 < u_1⁺ ...
        # where u⁺ is the next float after u: x == u_i counts u_i but not u_i⁺, and
        # u_{i-1} < x < u_i counts u_{i-1}⁺ <= x. +inf has no successor (nothing is above
        # it); NaN padding sends NaN to n_cells - 1 (see `_nan_padded`).
        keys = np.empty(2 * k)
        keys[0::2] = self.values_
        keys[1::2] = np.nextafter(self.values_, np.inf)
        self.keys_ = keys[: 2 * k - 1] if k and np.isposinf(self.values_[-1]) else keys
        self._keys = _nan_padded(self.keys_, self.n_cells - 1)

    def codes(self, values) -> np.ndarray:
        """The code of every value."""
        return np.searchsorted(self._keys, _as_float(values), side="right")


class BucketSearch:
    """``searchsorted(keys[f], x[f], side="right")`` for every feature of a tick at once.

    The same numbers as one ``searchsorted`` per feature, several times faster on fresh
    data: a binary search over unsorted values mispredicts a branch at almost every
    level, while here every step is one vector operation over the whole
    ``(features, rows)`` block. The bulk of each feature's keys is cut into equal
    buckets (the values beyond it share the two end buckets). A value's bucket ``φ(x)``
    is computed with the same floating-point operations as the keys' buckets, so ``φ``
    is monotone and ``table[φ(x)]``, the number of keys in earlier buckets, is a lower
    bound on the answer; comparisons with the keys in the value's bucket finish it.
    Buckets are made fine enough that almost all hold at most `steps` keys: the value
    is then compared with the `steps` keys after its lower bound, for every value at
    once. A bucket that holds more (*crowded*) is marked in the table (its entry minus
    `size`: a negative index that gathers the same key), and only the few values that
    land in one are finished by a short scan (and a plain ``searchsorted`` if even that
    is not enough). Exact for every input, ±inf included, whatever the keys'
    distribution (a crowded one is only slower).

    Parameters
    ----------
    keys
        Per feature, the sorted keys (no NaN; ±inf allowed, duplicates allowed).
    nan_codes
        Per feature, the code of NaN.
    offsets
        Per feature, added to every code (as `CodeWindow.offsets`); increasing, with
        ``offsets[f + 1] - offsets[f] > len(keys[f])``.
    steps
        Keys compared after the table look-up.
    pairs
        The keys are `ECDFCoder.keys_`: pairs ``u, u⁺`` (``u⁺`` the next float after
        ``u``; none after +inf). Buckets are then cut on the ``u`` alone, and one
        comparison with ``u`` settles a pair (``x >= u⁺`` is ``x > u``); `steps` is
        ignored (a bucket is crowded if it holds two pairs).

    Attributes
    ----------
    n_buckets
        Buckets per feature.
    scale, shift, low, high
        ``(features, 1)``: a value's bucket is ``x · scale + shift``, clipped to
        ``[low, high]`` and truncated (feature f's buckets are ``f · n_buckets`` to
        ``f · n_buckets + n_buckets - 1``).
    table
        Flat ``(features · n_buckets,)``: per bucket, the code of the first key in it or
        after it (offset included); minus `size` if the bucket is crowded. int32, or
        int64 when that still makes a small table.
    crowded
        True if any bucket is crowded.
    keys
        The keys laid out at the callers' offsets, NaN elsewhere (`size` entries): a
        value's code is its position after the keys ``<= x``. ``lookahead[j]`` is the
        same shifted by ``j`` within each feature (NaN past its last key), for
        ``j < steps``.
    size
        The length of `keys` and of every ``lookahead[j]``.

    Notes
    -----
    The buckets and a large table are int32: a table half the size of an int64 one, with
    twice the buckets, stays in cache, and NumPy's float to int32 conversion is the fast
    one. The work arrays are kept from one call to the next (see `_scratch`).

    Examples
    --------
    >>> import numpy as np
    >>> s = BucketSearch([np.array([1.0, 2.0, 2.0, 3.0])], [9], [0])
    >>> s.search(np.array([[0.0, 1.0, 2.0, 2.5, np.inf, np.nan]])).tolist()
    [[0, 1, 3, 3, 4, 9]]

    With ``pairs=True``, `ECDFCoder` codes:

    >>> c = ECDFCoder(np.array([1.0, 2.0, 2.0]))
    >>> s = BucketSearch([c.keys_], [c.n_cells - 1], [0], pairs=True)
    >>> s.search(np.array([[0.5, 1.0, 1.5, 2.0, 3.0, np.nan]])).tolist()
    [[0, 1, 2, 3, 4, 5]]
    """

    def __init__(
        self, keys: Sequence[np.ndarray], nan_codes, offsets, steps: int = 2, *, pairs=False
    ):
        keys = [np.asarray(k, dtype=np.float64) for k in keys]
        n_features = len(keys)
        offsets = np.asarray(offsets, dtype=np.intp).reshape(n_features)
        nan_codes = np.asarray(nan_codes, dtype=np.intp).reshape(n_features)
        if np.any(offsets[1:] - offsets[:-1] <= [k.size for k in keys[:-1]]):
            raise ValueError("BucketSearch: the offsets leave no room for the keys")
        self.pairs = bool(pairs)
        self.steps = 1 if self.pairs else int(steps)
        # Bucket boundaries count the keys (or, for pairs, the pairs' first keys).
        grid = [k[0::2] for k in keys] if self.pairs else keys
        # Keys laid out at the callers' offsets: a code is a position in `keys`. The NaN
        # after each feature's keys stops every scan (NaN compares false); the arrays
        # reach past every feature's last key, so every gather is in bounds.
        self.size = max(
            (int(o) + k.size + 2 for o, k in zip(offsets, keys, strict=True)), default=2
        )
        self.lookahead = []
        for j in range(self.steps):
            shifted = np.full(self.size, np.nan)
            for k, o in zip(keys, offsets, strict=True):
                shifted[o : o + max(k.size - j, 0)] = k[j:]
            self.lookahead.append(shifted)
        self.keys = self.lookahead[0]
        self.rows = [self.keys[o : o + k.size + 1] for k, o in zip(keys, offsets, strict=True)]
        self.offsets = offsets
        self.nan_codes = (nan_codes + offsets)[:, None]
        # Small key sets get enough buckets that none holds more than `steps` keys, when
        # that takes no more than 4096: then no value can fall short and `search` skips
        # the check (PSI's bin edges). Large ones get 4 buckets per key, or 16 per pair,
        # capped at 32,768 (a 128 kB table per feature): a pair is two keys at one
        # point, and a bucket with two of them makes every value in it a short one.
        longest = max((g.size for g in grid), default=0)
        size = 64
        while size < (16 if self.pairs else 4) * longest and size < 32768:
            size *= 2
        while True:
            self._build(grid, offsets, size)
            if not self.crowded or size >= 4096:
                break
            size *= 2
        self._n = self._capacity = -1  # the scratch arrays' row count and size (`_scratch`)

    def _build(self, grid, offsets, size: int) -> None:
        """The map to `size` buckets and the table of the keys in earlier buckets."""
        n_features = len(grid)
        self.n_buckets = size
        self.scale = np.ones((n_features, 1))
        self.shift = np.zeros((n_features, 1))
        table = np.empty((n_features, size), dtype=np.int32)
        self.crowded = False
        per = 2 if self.pairs else 1  # keys per grid point
        most = 1 if self.pairs else self.steps  # grid points a bucket may hold
        # Feature f's buckets are f · size .. f · size + size - 1 of one flat table:
        # its shift and bounds include f · size, so no offset is added per value.
        self.low = np.arange(n_features, dtype=np.float64)[:, None] * size
        self.high = self.low + (size - 1)
        for f, (g, offset) in enumerate(zip(grid, offsets, strict=True)):
            finite = g[np.isfinite(g)]
            if finite.size:
                # The bulk (all but 0.1% of the keys at either end) maps onto buckets
                # 1 .. size - 1; the rest share the two end buckets.
                tail = int(0.001 * (finite.size - 1))
                a, b = float(finite[tail]), float(finite[finite.size - 1 - tail])
                with np.errstate(all="ignore"):  # any finite positive scale is exact
                    scale = float(np.float64(size - 2) / (np.float64(b) - a)) if b > a else 1.0
                    if not (math.isfinite(scale) and scale > 0):
                        scale = 1.0
                    shift = 1.0 - a * scale
                if math.isfinite(shift):
                    self.scale[f, 0], self.shift[f, 0] = scale, shift
            self.shift[f, 0] += self.low[f, 0]
            buckets = self._buckets(g[None, :], f) - f * size
            first = np.searchsorted(buckets[0], np.arange(size + 1), side="left")
            table[f] = offset + per * first[:-1]
            crowded = np.diff(first) > most
            if crowded.any():
                table[f, crowded] -= self.size  # a negative index still gathers the same key
                self.crowded = True
        # A small table stays in cache whatever its type: int64 then spares a conversion
        self.table = table.ravel() if table.size * 8 > 1 << 16 else table.ravel().astype(np.intp)

    def _buckets(self, x: np.ndarray, f: int) -> np.ndarray:
        """Feature `f`'s (non-NaN) values' buckets, by the operations `search` applies."""
        with np.errstate(over="ignore"):  # beyond ±1.8e308 is ±inf: the end buckets
            t = x * self.scale[f, 0]
        t += self.shift[f, 0]
        np.clip(t, self.low[f, 0], self.high[f, 0], out=t)
        return t.astype(np.int32)

    def _scratch(self, n: int) -> None:
        """Scratch arrays for ticks of `n` rows, in buffers kept across ticks.

        The map's constants are kept at full size, so that each step is a plain
        element-wise operation on contiguous arrays (a column broadcast along the rows,
        a scalar bound in ``minimum`` or a strided view costs two to four times as
        much). The buffers grow to the largest tick seen; a tick of another size than
        the last refills the constants (four broadcast copies).
        """
        n_features = self.scale.shape[0]
        if n > self._capacity:
            self._capacity = max(n, self._capacity + self._capacity // 4)
            size = n_features * self._capacity
            self._buffers = [np.empty(size) for _ in range(5)] + [np.empty(size, np.int32)]
        self._n = n
        views = [buffer[: n_features * n].reshape(n_features, n) for buffer in self._buffers]
        for view, column in zip(views, (self.scale, self.shift, self.low, self.high), strict=False):
            np.copyto(view, column)
        self._scale, self._shift, self._low, self._high, self._t, self._b = views

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["_n"] = state["_capacity"] = -1  # scratch arrays are remade on the first search
        return state

    def search(self, x: np.ndarray) -> np.ndarray:
        """``(features, rows)`` codes of a ``(features, rows)`` float64 block."""
        n_features, n = x.shape
        if n == 0 or n_features == 0:
            return np.empty(x.shape, dtype=np.intp)
        if n != self._n:
            self._scratch(n)
        t = self._t
        with np.errstate(over="ignore"):  # beyond ±1.8e308 is ±inf: the end buckets
            np.multiply(x, self._scale, out=t)
        t += self._shift
        np.minimum(t, self._high, out=t)  # NaN stays NaN
        np.maximum(t, self._low, out=t)
        nan = None
        if math.isnan(t.max()):  # every other value is finite now
            nan = np.isnan(t)
            t[nan] = 0.0
        b = self._b
        np.copyto(b, t, casting="unsafe")
        c = self.table.take(b)
        g = self.keys.take(c)
        if self.pairs:  # the pair u, u⁺ at c: x >= u, and x >= u⁺ (that is, x > u)
            s = np.less_equal(g, x).view(np.uint8) + np.less(g, x).view(np.uint8)
        else:
            s = np.less_equal(g, x).view(np.uint8)
            for shifted in self.lookahead[1:]:
                s += np.less_equal(shifted.take(c), x).view(np.uint8)
        if c.dtype == np.intp:
            c += s
        else:
            c = np.add(c, s, dtype=np.intp)  # codes index counts: NumPy's own index type
        if self.crowded:  # values in crowded buckets (negative codes): scan on
            neg = c < 0
            if neg.any():
                short = np.flatnonzero(neg)
                flat = c.reshape(-1)
                flat[short] += self.size
                self._finish(flat, x.reshape(-1), short, n)
        if nan is not None:
            np.copyto(c, self.nan_codes, where=nan)
        return c

    def _finish(self, c: np.ndarray, x: np.ndarray, short: np.ndarray, n: int) -> None:
        """Complete the codes ``c[short]`` (flat views), still below their answer."""
        keys = self.keys
        cs, xs = c[short], x[short]
        for _ in range(8):  # a few more scan steps, on these values only
            g = keys.take(cs)
            more = np.less_equal(g, xs).view(np.uint8)
            if self.pairs:  # a step passes a whole pair (from a pair's start)
                more += np.less(g, xs).view(np.uint8)
            if not more.any():
                c[short] = cs
                return
            cs += more
        c[short] = cs
        short = short[keys.take(cs) <= xs]  # a crowded bucket: search the rest
        if not short.size:
            return
        feature = short // n
        bounds = np.searchsorted(feature, np.arange(feature[-1] + 2))
        values = x[short]
        for f in np.flatnonzero(bounds[1:] > bounds[:-1]):
            part = slice(bounds[f], bounds[f + 1])
            found = np.searchsorted(self.rows[f], values[part], side="right")
            c[short[part]] = found + self.offsets[f]


# --------------------------------------------------------------------------- windows


class Ring:
    """A fixed-capacity FIFO of rows: the last `capacity` rows pushed.

    Parameters
    ----------
    capacity
        Rows kept.
    width
        Columns per row.
    dtype, fill
        Storage type, and the value of slots never written.

    Examples
    --------
    >>> import numpy as np
    >>> r = Ring(3, 1, dtype=np.int64, fill=-1)
    >>> [int(v) for v in r.push(np.array([[1], [2]]))[:, 0]]
    [-1, -1]
    >>> [int(v) for v in r.push(np.array([[3], [4]]))[:, 0]]
    [-1, 1]
    >>> sorted(int(v) for v in r.values[:, 0]), r.size
    ([2, 3, 4], 3)
    """

    def __init__(self, capacity: int, width: int, *, dtype, fill):
        self.capacity = int(capacity)
        self.fill = fill
        self.data = np.full((self.capacity, width), fill, dtype=dtype)
        self.pos = 0  # next slot to write; while not full, pos == size
        self.size = 0

    @property
    def values(self) -> np.ndarray:
        """The rows held, in storage order (not time order)."""
        return self.data if self.size == self.capacity else self.data[: self.size]

    def push(self, rows: np.ndarray) -> np.ndarray:
        """Append rows; return every row that left or never entered (``fill`` for empty slots).

        Pushed rows that are evicted by later rows of the same push are returned too,
        so ``count(held) == count(held before) + count(rows) - count(returned)``.
        """
        rows = np.asarray(rows, dtype=self.data.dtype)
        r = rows.shape[0]
        if r == 0:
            return self.data[:0].copy()
        cap, pos = self.capacity, self.pos
        if r >= cap:
            evicted = np.concatenate((self.data, rows[: r - cap]))
            self.data = rows[r - cap :].copy()
            self.pos, self.size = 0, cap
            return evicted
        # At most two contiguous slices: [pos, pos + r) and its wrap-around [0, end - cap).
        end = pos + r
        if end <= cap:
            evicted = self.data[pos:end].copy()
            self.data[pos:end] = rows
        else:
            evicted = np.concatenate((self.data[pos:], self.data[: end - cap]))
            self.data[pos:] = rows[: cap - pos]
            self.data[: end - cap] = rows[cap - pos :]
        self.pos = end % cap
        self.size = min(self.size + r, cap)
        return evicted

    def extend(self, rows: np.ndarray) -> None:
        """`push` without returning what left: nothing is copied out.

        The ring may keep `rows` itself (when it holds at least `capacity` rows): the
        caller must not modify it afterwards.

        Examples
        --------
        >>> import numpy as np
        >>> r = Ring(3, 1, dtype=np.float64, fill=np.nan)
        >>> r.extend(np.array([[1.0], [2.0]]))
        >>> r.extend(np.array([[3.0], [4.0]]))
        >>> sorted(float(v) for v in r.values[:, 0]), r.size
        ([2.0, 3.0, 4.0], 3)
        """
        rows = np.asarray(rows, dtype=self.data.dtype)
        r = rows.shape[0]
        cap, pos = self.capacity, self.pos
        if r >= cap:
            last = rows[r - cap :]
            own = last.flags.c_contiguous and last.flags.writeable
            self.data = last if own else last.copy()
            self.pos, self.size = 0, cap
            return
        end = pos + r
        if end <= cap:
            self.data[pos:end] = rows
        else:
            self.data[pos:] = rows[: cap - pos]
            self.data[: end - cap] = rows[cap - pos :]
        self.pos = end % cap
        self.size = min(self.size + r, cap)


class CodeWindow:
    """The last `capacity` codes of each of `n_features` features, and their counts.

    A sliding window of integer codes (bin indices, `ECDFCoder` codes) kept as a
    ``(features, capacity)`` ring, so a tick enters with at most two slice assignments,
    together with ``counts``, the ``(features, n_cells)`` histogram of the codes held.
    Codes travel *flat*, ``code + feature · n_cells`` (add `offsets`), so that one
    update counts every feature: the counts are updated in place with the codes that
    enter and those that leave (``np.add.at``), or recounted when a push replaces all of
    it (then an array of exactly `capacity` codes becomes the ring itself, uncopied).

    Parameters
    ----------
    capacity
        Codes kept per feature (the window size).
    n_features
        Features (rows of the ring).
    n_cells
        Codes are in ``[0, n_cells)``.

    Attributes
    ----------
    data
        ``(n_features, capacity)`` flat codes ``code + feature · n_cells``, in storage
        order (not time order); only the first `size` columns are meaningful until full.
    counts
        ``(n_features, n_cells)`` int64 counts of the codes held (updated in place);
        ``(n_features, 0)`` when the window was made with ``counting=False`` (for a reader
        of the codes themselves, which then costs no counting at all).
    offsets
        ``(n_features, 1)``: ``feature · n_cells``, to add to codes to make them flat.
    size
        Codes held per feature.

    Examples
    --------
    >>> import numpy as np
    >>> w = CodeWindow(3, 2, n_cells=4)
    >>> w.push(np.array([[0, 1], [3, 3]]) + w.offsets)
    >>> w.push(np.array([[2, 2], [0, 1]]) + w.offsets)
    >>> w.size, w.counts.tolist()
    (3, [[0, 1, 2, 0], [1, 1, 0, 1]])
    """

    def __init__(self, capacity: int, n_features: int, n_cells: int, counting: bool = True):
        self.capacity = int(capacity)
        self.n_cells = int(n_cells)
        self.counting = bool(counting)
        self.data = np.zeros((n_features, self.capacity), dtype=np.intp)
        shape = (n_features, self.n_cells) if counting else (n_features, 0)
        self.counts = np.zeros(shape, dtype=np.int64)
        self.offsets = (np.arange(n_features, dtype=np.intp) * self.n_cells)[:, None]
        self.pos = 0  # next slot to write; while not full, pos == size
        self.size = 0

    def _add(self, flat: np.ndarray, sign: int) -> None:
        """Count (`sign` 1) or discount (-1) flat codes, in place.

        ``np.add.at`` beats ``bincount`` here: no pass to find the codes' range and no
        histogram as large as `counts` to allocate, fill and add.
        """
        if self.counting:
            (np.add if sign > 0 else np.subtract).at(self.counts.reshape(-1), flat.ravel(), 1)

    def push(self, flat: np.ndarray) -> None:
        """Append a ``(n_features, rows)`` array of flat codes; the oldest codes leave.

        The window may keep `flat` itself (when it holds exactly `capacity` codes per
        feature): the caller must not modify it afterwards.
        """
        r = flat.shape[1]
        if r == 0:
            return
        cap, pos = self.capacity, self.pos
        if r >= cap:
            if r == cap and flat.flags.c_contiguous and flat.flags.writeable:
                self.data = flat
            else:
                self.data = np.array(flat[:, r - cap :], order="C")
            self.pos, self.size = 0, cap
            self.counts.fill(0)
            self._add(self.data, 1)
            return
        end = pos + r
        # Counting what leaves and what enters touches 2r codes, recounting the ring cap:
        # once the ring is full and r > cap / 2, recount.
        recount = self.size == cap and 2 * r > cap
        # While the ring is not full, pos == size and slots [pos, cap) hold nothing yet;
        # wrapped-around slots [0, end - cap) always hold the oldest codes.
        if self.size == cap and not recount:
            self._add(self.data[:, pos : min(end, cap)], -1)
        if end <= cap:
            self.data[:, pos:end] = flat
        else:
            if not recount:
                self._add(self.data[:, : end - cap], -1)
            self.data[:, pos:] = flat[:, : cap - pos]
            self.data[:, : end - cap] = flat[:, cap - pos :]
        if recount:
            self.counts.fill(0)
            self._add(self.data, 1)
        else:
            self._add(flat, 1)
        self.pos = end % cap
        self.size = min(self.size + r, cap)


def bincount_2d(codes: np.ndarray, n_cells: int) -> np.ndarray:
    """Counts per (column, code) of an ``(rows, columns)`` int array; negative codes ignored.

    Examples
    --------
    >>> import numpy as np
    >>> bincount_2d(np.array([[0, 1], [0, -1]]), 2).tolist()
    [[2, 0], [0, 1]]
    """
    n_cols = codes.shape[1]
    width = n_cells + 1  # cell 0 of each column collects the negative (ignored) codes
    flat = np.maximum(codes, -1) + 1 + np.arange(n_cols) * width
    counts = np.bincount(flat.ravel(), minlength=n_cols * width).reshape(n_cols, width)
    return counts[:, 1:]


# --------------------------------------------------------------------------- statistics


def psi(p: np.ndarray, q: np.ndarray, eps: float = PSI_EPS) -> np.ndarray:
    """Population stability index along the last axis: Σ (p − q) ln(p / q).

    Proportions below `eps` are raised to `eps` first (no renormalisation), so an
    empty bin on one side contributes a large but finite term and a bin empty on
    both sides contributes exactly 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(psi(np.array([0.25, 0.75]), np.array([0.5, 0.5]))), 6)
    0.274653
    """
    p = np.maximum(p, eps)
    q = np.maximum(q, eps)
    return np.sum((p - q) * np.log(p / q), axis=-1)


def psi_from_counts(counts: np.ndarray, size: int, q: np.ndarray) -> np.ndarray:
    """`psi` of a window's counts against floored reference proportions, in place.

    The same numbers as ``psi(counts / size, reference)`` with
    ``q = np.maximum(reference, PSI_EPS)`` computed once (the reference does not move),
    and no temporaries beyond two arrays the size of `counts`.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.maximum(np.array([0.5, 0.5]), PSI_EPS)
    >>> round(float(psi_from_counts(np.array([1, 3]), 4, q)), 6)
    0.274653
    """
    p = np.divide(counts, size)
    np.maximum(p, PSI_EPS, out=p)
    gap = p - q
    np.divide(p, q, out=p)
    np.log(p, out=p)
    gap *= p  # (p − q) · ln(p / q): the product commutes exactly
    return gap.sum(axis=-1)


class KSDistance:
    """Two-sample KS statistic per feature from a window's histogram of `ECDFCoder` codes.

    Parameters
    ----------
    right
        ``(features, n_cells - 1)``: the reference ECDF at each code, the first column of
        `ECDFCoder.table_` without NaN's cell.

    Notes
    -----
    Codes refine the line into cells (each reference value, and each open gap between
    neighbours) on which the reference ECDF ``F`` is constant. With ``cum[c]`` the
    window values with code ``<= c``, the window ECDF on cell ``c`` is at most
    ``cum[c] / m`` and, just below the cell, ``cum[c - 1] / m``, where ``F`` equals its
    value on cell ``c - 1``. Both ECDFs are step functions, so
    ``sup |F − G| = max_c |right[c] − cum[c] / m|`` over the grid, whatever cells the
    window occupies: no sort, O(cells) vector operations per feature. It is evaluated as
    ``max_c |m · right[c] − cum[c]| / m``, with ``m · right`` kept from one call to the
    next while ``m`` does not change; the result is within a few units in the last place
    of `scipy.stats.ks_2samp`'s.

    Examples
    --------
    >>> import numpy as np
    >>> c = ECDFCoder(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> counts = np.bincount(c.codes(np.array([3.5, 4.5])), minlength=c.n_cells)
    >>> d, m = KSDistance(c.table_[None, :-1, 0])(counts[None])
    >>> float(d[0]), int(m[0])
    (0.75, 2)
    """

    def __init__(self, right: np.ndarray):
        self.right = np.ascontiguousarray(right, dtype=np.float64)
        self.m = None
        self.scaled = None
        self._key = None  # ``m.tobytes()`` of `scaled` (cheaper than comparing arrays)
        self._cum = self._gap = None  # work arrays, kept from one call to the next
        self._flat_key = None  # the ``m`` that `from_codes`' flat arrays were made for

    def __call__(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The statistic (nan where the window has no non-NaN value) and ``m``, per feature.

        `counts` is ``(features, n_cells)``, its last cell NaN's (ignored).
        """
        if self._cum is None:
            self._cum = np.empty(self.right.shape, dtype=np.int64)
            self._gap = np.empty(self.right.shape)
        cum = np.cumsum(counts[:, : self.right.shape[1]], axis=1, out=self._cum)
        m = cum[:, -1].copy()
        key = m.tobytes()
        if key != self._key:
            self.m, self._key = m, key
            self.scaled = self.right * m[:, None]
        gap = np.subtract(self.scaled, cum, out=self._gap)
        np.abs(gap, out=gap)
        stat = gap.max(axis=1) / np.maximum(m, 1)
        return np.where(m > 0, stat, np.nan), m

    def from_codes(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same statistic and ``m`` from the window's flat codes, read at occupied cells.

        `codes` is ``(features, size)`` flat codes ``code + feature · n_cells`` (NaN's cell
        last, ignored). With ``K`` window values at or below a cell, ``G − F`` is
        ``K − m · right`` times ``1/m``; between two occupied cells ``K`` is constant and
        ``m · right`` rises, so ``K − m · right[c]`` is largest at the first cell of the
        stretch, an occupied one, and ``m · right[c] − K`` at its last, the cell just below
        an occupied one. Over the sorted codes ``s`` that is the largest of
        ``(i + 1) − m · right[s_i]`` and ``m · right[s_i − 1] − i``: within a run of equal
        codes the first is largest at the run's last position and the second at its first,
        so every position may be taken and no tie needs finding. Subtraction is exact under
        a change of sign, so the result is bit-identical to `__call__`'s, in
        O(size log size) instead of O(cells): faster when the reference holds many more
        distinct values than the window holds rows.

        Examples
        --------
        >>> import numpy as np
        >>> c = ECDFCoder(np.array([1.0, 2.0, 3.0, 4.0]))
        >>> codes = c.codes(np.array([4.5, 3.5]))[None]
        >>> d, m = KSDistance(c.table_[None, :-1, 0]).from_codes(codes)
        >>> float(d[0]), int(m[0])
        (0.75, 2)
        """
        k, size = codes.shape
        cells = self.right.shape[1] + 1
        if size == 0:
            return np.full(k, np.nan), np.zeros(k, dtype=np.int64)
        s = np.sort(codes, axis=1)
        nan = np.arange(1, k + 1) * cells - 1  # each feature's NaN code, its largest
        m = np.full(k, size, dtype=np.int64)
        if np.any(s[:, -1] == nan):
            m -= np.count_nonzero(s == nan[:, None], axis=1)
        key = m.tobytes()
        if key != self._key:
            self.m, self._key = m, key
            self.scaled = self.right * m[:, None]
        if self._flat_key != key:  # m · right at each flat code, and at the one below
            at = np.empty((k, cells))
            at[:, :-1] = self.scaled
            at[:, -1] = np.inf  # NaN's codes: never the largest
            below = np.empty((k, cells))
            below[:, 0] = 0.0
            below[:, 1:-1] = self.scaled[:, :-1]
            below[:, -1] = -np.inf
            self._at, self._below, self._flat_key = at.ravel(), below.ravel(), key
        i = np.arange(size, dtype=np.int64)
        a = self._at[s]
        np.subtract(i + 1, a, out=a)
        b = self._below[s]
        np.subtract(b, i, out=b)
        stat = np.maximum(a.max(axis=1), b.max(axis=1)) / np.maximum(m, 1)
        return np.where(m > 0, stat, np.nan), m


def ks_from_counts(counts: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample KS statistic per feature from a window's histogram of `ECDFCoder` codes.

    A one-off `KSDistance` (see there): `counts` is ``(features, n_cells)``, `right` the
    reference ECDF on the first ``n_cells - 1`` codes.

    Examples
    --------
    >>> import numpy as np
    >>> c = ECDFCoder(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> counts = np.bincount(c.codes(np.array([3.5, 4.5])), minlength=c.n_cells)
    >>> d, m = ks_from_counts(counts[None], c.table_[None, :-1, 0])
    >>> float(d[0]), int(m[0])
    (0.75, 2)
    """
    return KSDistance(right[:, : counts.shape[1] - 1])(counts)


def ks_from_codes(
    codes: np.ndarray, table: np.ndarray, nan_code: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample KS statistic per feature from a window's `ECDFCoder` codes.

    Parameters
    ----------
    codes
        ``(features, rows)`` window codes (any order).
    table
        ``(features, n_cells, 2)``: the `ECDFCoder.table_` of each feature.
    nan_code
        The code of NaN (dropped), the same for every feature (``n_cells - 1``).

    Returns
    -------
    statistic, m
        As `ks_from_counts`, which does the work on the codes' histogram.

    Examples
    --------
    >>> import numpy as np
    >>> c = ECDFCoder(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> codes = c.codes(np.array([3.5, 4.5]))[None, :]
    >>> d, m = ks_from_codes(codes, c.table_[None], c.n_cells - 1)
    >>> float(d[0]), int(m[0])
    (0.75, 2)
    """
    k, size = codes.shape
    if size == 0:
        return np.full(k, np.nan), np.zeros(k, dtype=np.int64)
    counts = bincount_2d(np.ascontiguousarray(codes.T), nan_code + 1)
    return ks_from_counts(counts, table[:, : nan_code + 1, 0])


def betabinom_critical(m: int, a, b, level: float) -> np.ndarray:
    """Smallest ``k`` with ``P(X >= k) <= level``, ``X ~ BetaBinomial(m, a, b)``, per ``(a, b)``.

    The critical count of a one-sided test whose null law of a count out of `m` is
    beta-binomial: the count alarms at ``k >= critical``. Returns ``m + 1`` (never) where
    no count is that unlikely, or where ``a`` or ``b`` is nan. The upper tail is summed
    from the top (``m``) down, so it is accurate where it is small.

    Parameters
    ----------
    m
        Trials (the window's values), ``>= 0``.
    a, b
        The beta law's shapes, one per test (positive; nan: untestable).
    level
        The largest tail probability that alarms.

    Examples
    --------
    The window of 20 rows of a column whose reference had 0 missing values in 100 rows
    (``a = 0 + 1``, ``b = 100 + 1``): 2 missing values alarm at level 0.05, 1 does not.

    >>> import numpy as np
    >>> betabinom_critical(20, np.array([1.0]), np.array([101.0]), 0.05).tolist()
    [2]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 1)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 1)
    k = np.arange(m + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        log_pmf = gammaln(m + 1.0) - gammaln(k + 1.0) - gammaln(m - k + 1.0)
        log_pmf = log_pmf + betaln(k + a, m - k + b) - betaln(a, b)
        tail = np.cumsum(np.exp(log_pmf)[:, ::-1], axis=1)[:, ::-1]
    over = tail <= level  # tails only shrink with k: False, then True
    return np.where(over.any(axis=1), over.argmax(axis=1), m + 1)


def ks_critical(alpha: float, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Asymptotic two-sample KS critical value c(α)·sqrt((n + m) / (n·m)).

    ``c(α) = sqrt(−ln(α / 2) / 2)``; nan where ``n`` or ``m`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(ks_critical(0.05, np.array([100]), np.array([100]))[0]), 4)
    0.1921
    """
    n = np.asarray(n, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    c = math.sqrt(-math.log(alpha / 2.0) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        crit = c * np.sqrt((n + m) / (n * m))
    return np.where((n > 0) & (m > 0), crit, np.nan)


def ks_pvalue(d: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Asymptotic two-sample KS p-value ``min(1, 2 exp(−2 D² n m / (n + m)))``.

    The inverse of `ks_critical` (its one-term Kolmogorov tail): ``D > ks_critical(a)``
    exactly when the p-value is below ``a``. nan where `d` is nan or ``n`` or ``m`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(ks_pvalue(np.array([0.1921]), np.array([100]), np.array([100]))[0]), 3)
    0.05
    """
    d = np.asarray(d, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.minimum(1.0, 2.0 * np.exp(-2.0 * d * d * (n * m / (n + m))))
    return np.where((n > 0) & (m > 0), p, np.nan)


#: The multiple-testing corrections a per-feature test may apply across its features.
CORRECTIONS = ("bonferroni", "fdr")


def corrected_level(pvalues: np.ndarray, alpha: float, correction: str) -> tuple[float, float]:
    """The level below which a feature's p-value rejects, over ``k = len(pvalues)`` tests.

    ``"bonferroni"``: ``α / k`` (the chance that any feature rejects under no change is
    at most α). ``"fdr"``: Benjamini–Hochberg, ``i* α / k`` with ``i*`` the largest rank
    ``i`` whose ``i``-th smallest p-value is ``<= i α / k`` (the expected share of
    false rejections among the rejections is at most α for independent tests; under no
    change at all, that is again the chance of any rejection). NaN p-values (untestable
    features) never reject but still count in ``k``.

    Returns
    -------
    cutoff, level
        A feature rejects when its p-value is ``<= cutoff`` (0.0: none does); `level`
        is the level to report thresholds at: `cutoff`, or ``α / k`` when nothing
        rejects (the least a feature would need to reach).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.001, 0.012, 0.02, 0.5])
    >>> corrected_level(p, 0.05, "bonferroni")
    (0.0125, 0.0125)
    >>> corrected_level(p, 0.05, "fdr")
    (0.0375, 0.0375)
    """
    k = pvalues.shape[0]
    if k == 0:
        return 0.0, alpha
    least = alpha / k
    if correction == "bonferroni":
        return least, least
    p = np.sort(pvalues[~np.isnan(pvalues)])
    passed = np.flatnonzero(p <= np.arange(1, p.size + 1) * least)
    if passed.size == 0:
        return 0.0, least
    cutoff = (int(passed[-1]) + 1) * least
    return cutoff, cutoff


def chi2_homogeneity(reference: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson's chi-square test of homogeneity of two rows of counts, per feature.

    Parameters
    ----------
    reference, window
        ``(features, cells)`` counts of the two samples (the same cells).

    Returns
    -------
    statistic, df
        ``Σ_c (R_c m − W_c n)² / (n m T_c)`` over the cells with ``T_c = R_c + W_c > 0``
        (``n``, ``m`` the row totals): the same number as
        ``scipy.stats.chi2_contingency([R, W], correction=False)`` on those cells;
        degrees of freedom: those cells less one. nan (and df 0) where a row is empty.

    Examples
    --------
    >>> import numpy as np
    >>> s, df = chi2_homogeneity(np.array([[50, 50, 0]]), np.array([[30, 70, 0]]))
    >>> round(float(s[0]), 4), int(df[0])
    (8.3333, 1)
    """
    r = np.asarray(reference, dtype=np.float64)
    w = np.asarray(window, dtype=np.float64)
    n = r.sum(axis=1, keepdims=True)
    m = w.sum(axis=1, keepdims=True)
    total = r + w
    used = total > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.square(r * m - w * n) / (n * m * total)
    statistic = np.where(used, terms, 0.0).sum(axis=1)
    df = used.sum(axis=1) - 1
    empty = (n[:, 0] == 0) | (m[:, 0] == 0)
    statistic[empty] = np.nan
    df[empty] = 0
    return statistic, df


def chi2_pvalue(statistic: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Upper tail of the chi-square law: 1.0 where ``df <= 0``, nan where the statistic is.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(chi2_pvalue(np.array([3.841459, 1.0, np.nan]), np.array([1, 0, 2])), 4).tolist()
    [0.05, 1.0, nan]
    """
    df = np.asarray(df)
    with np.errstate(invalid="ignore"):
        p = chdtrc(np.maximum(df, 1), statistic)
    return np.where(np.isnan(statistic), np.nan, np.where(df > 0, p, 1.0))


def chi2_critical(level: float, df: np.ndarray) -> np.ndarray:
    """The chi-square statistic whose upper tail is `level` (inf where ``df <= 0``).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(chi2_critical(0.05, np.array([1, 9, 0])), 3).tolist()
    [3.841, 16.919, inf]
    """
    df = np.asarray(df)
    return np.where(df > 0, chdtri(np.maximum(df, 1), level), np.inf)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance (base 2, in [0, 1]) along the last axis.

    ``sqrt(½ KL(p‖μ) + ½ KL(q‖μ))`` with ``μ = (p + q) / 2`` and ``0 log 0 = 0``: the
    square root of the divergence in bits, as ``scipy.spatial.distance.jensenshannon(p, q,
    base=2)`` for proportions that sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> float(jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
    1.0
    """
    mid = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log2(p / mid), 0.0)
        b = np.where(q > 0, q * np.log2(q / mid), 0.0)
    return np.sqrt(np.maximum(0.5 * (a.sum(axis=-1) + b.sum(axis=-1)), 0.0))


def hellinger(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hellinger distance (in [0, 1]) along the last axis: ``sqrt(½ Σ (√p − √q)²)``.

    The same number as ``sqrt(1 − Σ √(p q))`` for proportions that sum to 1, without
    its cancellation when the two are close.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(hellinger(np.array([0.5, 0.5]), np.array([0.9, 0.1]))), 4)
    0.3249
    """
    return np.sqrt(0.5 * np.square(np.sqrt(p) - np.sqrt(q)).sum(axis=-1))


class QuantileCoupling:
    """1-D Wasserstein-1 distances between sorted samples of sizes `n` and `m`.

    ``W1 = ∫₀¹ |F⁻¹(u) − G⁻¹(u)| du``: both quantile functions are steps, constant
    between consecutive points of ``{i/n} ∪ {j/m}``, so the integral is a sum over those
    segments of their width times ``|r_i − x_j|``, with the segments' indices into the
    two sorted samples and their widths worked out once per ``(n, m)`` (exact integer
    arithmetic on the scale ``n m``).

    Parameters
    ----------
    n, m
        Sample sizes (both >= 1).

    Attributes
    ----------
    i, j
        Per segment, the index into the first and the second sorted sample.
    width
        Per segment, its share of [0, 1] (they sum to 1).

    Examples
    --------
    >>> import numpy as np
    >>> c = QuantileCoupling(2, 3)
    >>> r, x = np.array([[0.0, 1.0]]), np.array([[0.0, 0.5, 2.0]])
    >>> round(float(c.distance(r, x)[0]), 6)
    0.5
    """

    def __init__(self, n: int, m: int):
        n, m = int(n), int(m)
        grid = np.union1d(
            np.arange(n + 1, dtype=np.int64) * m, np.arange(m + 1, dtype=np.int64) * n
        )
        low = grid[:-1]
        self.i = (low // m).astype(np.intp)
        self.j = (low // n).astype(np.intp)
        self.width = np.diff(grid) / (n * m)

    def distance(self, r: np.ndarray, x: np.ndarray) -> np.ndarray:
        """W1 per row of two ``(features, size)`` blocks sorted along the rows.

        Each row's first `n` (`m`) entries are used. Equal values pair at distance 0,
        ±inf included, so a distance is inf exactly when the two samples put different
        mass at +inf or at −inf.
        """
        a = r[:, self.i]
        b = x[:, self.j]
        with np.errstate(invalid="ignore"):
            gap = np.abs(a - b)
        gap[a == b] = 0.0
        return gap @ self.width


# --------------------------------------------------------------------------- recursions


def cusum_walk(increments: np.ndarray, start: float = 0.0) -> np.ndarray:
    """``C_t = start + x_1 + ... + x_t`` for every ``t``, summed in that order (a new array).

    Examples
    --------
    >>> import numpy as np
    >>> cusum_walk(np.array([1.0, -3.0, 2.0]), start=1.0).tolist()
    [2.0, -1.0, 1.0]
    """
    walk = np.array(increments, dtype=np.float64)
    if walk.shape[0]:
        walk[0] += start
    return np.add.accumulate(walk, out=walk)  # cumsum's loop, without its wrapper's cost


def cusum_reflect(walk: np.ndarray) -> np.ndarray:
    """``S_t = C_t − min(0, min_{s<=t} C_s)`` from a walk `cusum_walk` made (a new array).

    See `cusum_path`.

    Examples
    --------
    >>> import numpy as np
    >>> cusum_reflect(np.array([2.0, -1.0, 1.0])).tolist()
    [2.0, 0.0, 2.0]
    """
    low = np.minimum.accumulate(walk)
    np.minimum(low, 0.0, out=low)
    return np.subtract(walk, low, out=low)


def cusum_path(increments: np.ndarray, start: float = 0.0) -> np.ndarray:
    """``S_t = max(0, S_{t-1} + x_t)`` for every ``t`` at once, from ``S_0 = start >= 0``.

    The max-plus recursion of a CUSUM, through the identity
    ``S_t = C_t − min(0, min_{s<=t} C_s)`` with ``C_t = start + x_1 + ... + x_t``
    (`cusum_walk`, then `cusum_reflect`): if ``m_t = min(0, min_{s<=t} C_s)``, then
    ``S_{t-1} + x_t = C_t − m_{t-1}`` and
    ``max(0, C_t − m_{t-1}) = C_t − min(C_t, m_{t-1}) = C_t − m_t``; at ``t = 0``,
    ``S_0 = C_0 − 0`` since ``start >= 0``. Exact in real arithmetic; in floating point
    the partial sums round differently from the recursion's, by at most about
    ``t · u · Σ|x|`` (``u`` the unit roundoff; the same additions for ``t = 1``). The
    running sum starts at `start`, so a caller that carries ``S`` from one batch to the
    next keeps the sums small. Every ``S_t`` is at most ``max C − min(0, min C)``, so a
    caller that only needs to know whether ``S`` crosses a level can test that first.

    Examples
    --------
    >>> import numpy as np
    >>> cusum_path(np.array([1.0, -3.0, 2.0, 0.5]), start=1.0).tolist()
    [2.0, 0.0, 2.0, 2.5]
    """
    return cusum_reflect(cusum_walk(increments, start))


#: Largest growth factor ``a^-k`` a block of `linear_recursion` may reach (keeps the
#: rescaled sums far from overflow while losing no relative precision).
_GROWTH_LIMIT = 230.0  # natural log: e^230 ≈ 1e100

_POWERS: dict[float, tuple[np.ndarray, np.ndarray]] = {}


def _powers(a: float, n: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a^k, a^-k)`` for ``k = 1..n``, ``n <= block`` (cached per `a`, grown as needed)."""
    have = _POWERS.get(a)
    if have is None or have[0].size < n:
        k = np.arange(1, min(max(n, 1024), block) + 1, dtype=np.float64)
        have = (np.power(a, k), np.power(a, -k))
        _POWERS[a] = have
    return have[0][:n], have[1][:n]


def linear_recursion(u: np.ndarray, a: float, start: float) -> np.ndarray:
    """``y_t = a · y_{t-1} + u_t`` for every ``t`` at once, from ``y_0 = start``; ``0 <= a <= 1``.

    The first-order linear recursion of an exponentially weighted mean or a faded sum,
    as ``y_t = a^t (y_0 + Σ_{s<=t} a^-s u_s)``: one cumulative sum per block of rows,
    the blocks short enough that ``a^-s`` stays below about 1e100. ``a = 1`` is a plain
    running sum (the same additions, in the same order, as the loop); ``a = 0`` gives
    ``u``. In floating point the result is within about ``t · u · Σ_s a^(t-s) |u_s|``
    of the loop's (``u`` the unit roundoff).

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(v), 6) for v in linear_recursion(np.array([1.0, 1.0, 0.0]), 0.5, 2.0)]
    [2.0, 2.0, 1.0]
    """
    u = np.asarray(u, dtype=np.float64)
    n = u.size
    if a == 1.0:
        return np.add.accumulate(np.concatenate(([float(start)], u)))[1:]
    if a == 0.0 or n == 0:
        return u.copy()
    block = max(1, int(_GROWTH_LIMIT / -math.log(a)))
    out = np.empty(n)
    y0 = float(start)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        decay, growth = _powers(a, hi - lo, block)
        z = np.multiply(u[lo:hi], growth, out=out[lo:hi])
        np.add.accumulate(z, out=z)
        z += y0
        z *= decay
        y0 = float(z[-1])
    return out


# --------------------------------------------------------------------------- argument checks


def check_features(owner: str, value) -> None:
    """Raise `ConfigError` unless `value` is None or a non-empty sequence of distinct names.

    Examples
    --------
    >>> check_features("PSI", ("x0", "x1"))
    >>> check_features("PSI", "x0")
    Traceback (most recent call last):
    ...
    simlab.errors.ConfigError: PSI: features='x0' is not allowed; expected None or ...
    """
    if value is None:
        return
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(v, str) for v in value)
        and len(set(value)) == len(value)
    )
    if not ok:
        raise ConfigError(
            "features",
            value,
            "None or a non-empty list of distinct column names",
            owner=owner,
        )
