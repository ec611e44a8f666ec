"""Preprocessing fitted on the training split only, stored as plain JSON.

The deck's three steps, each an option of `DataConfig`:
    cleaning        missing values (drop rows, or impute mean / median / most frequent, with an optional
                    0/1 missing-indicator column) and noise (clip each column to training quantiles);
    transformation  standardize (mean 0, std 1) or min-max ([0, 1]) or nothing;
    reduction       PCA to k components or a variance share; average-pooling images and signals.

scikit-learn fits the statistics; we keep only the fitted numbers (fill values, quantiles, offsets,
scales, categories, PCA components and mean) and apply them with numpy, so a saved run loads without
unpickling anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idealfit.data.table import Table, is_missing
from idealfit.errors import UserError

_is_missing = is_missing


def missing_rows(x: np.ndarray | Table) -> np.ndarray:
    """(N,) bool: True where a row of an (N, F) table of raw cells has any missing cell (None or NaN)."""
    return Table.from_array(x).missing()


def _is_numeric(col: np.ndarray) -> bool:
    """A column of numbers (float64, or an object column of floats and missing cells)."""
    return col.dtype.kind in "biuf" or all(isinstance(v, float) or v is None for v in col)


def _as_text(col: np.ndarray) -> np.ndarray:
    """A column's cells as category strings ("" for missing)."""
    return np.array(["" if _is_missing(v) else str(v) for v in col], dtype=object)


def _as_numbers(col: np.ndarray, name: str, names: list[str] | None) -> np.ndarray:
    """A column trained as numeric, as float64 (NaN = missing); text in it is the user's to fix."""
    if col.dtype.kind in "biuf":
        return col.astype(np.float64)
    out = np.empty(len(col))
    for i, v in enumerate(col):
        try:
            out[i] = np.nan if _is_missing(v) else float(v)
        except (TypeError, ValueError):
            row = names[i] if names is not None else f"row {i}"
            raise UserError(f"{row}: column '{name}' holds the text '{v}', but this run was trained on numbers "
                            "in that column; fix the value or leave out the row") from None
    return out


def fit_pca(x: np.ndarray, n: float) -> dict[str, list]:
    """PCA of (N, F) training vectors: `n` >= 1 keeps that many components, `n` < 1 the fewest whose
    explained variance reaches that share. Returns only `components_` (k, F) and `mean_` (F,)."""
    from sklearn.decomposition import PCA

    limit = min(x.shape)
    if n >= 1 and n > limit:
        raise UserError(f"data.pca={int(n)} asks for more components than the {limit} that {x.shape[0]} training "
                        f"samples of {x.shape[1]} features allow; use data.pca <= {limit} or a variance share < 1")
    pca = PCA(n_components=int(n) if n >= 1 else n, svd_solver="full").fit(x.astype(np.float64))
    return {"components": pca.components_.tolist(), "mean": pca.mean_.tolist()}


def pca_transform(pca: dict[str, list], x: np.ndarray) -> np.ndarray:
    """Project (N, F) vectors onto the fitted components: (x - mean) @ components.T -> (N, k)."""
    return (x - np.asarray(pca["mean"])) @ np.asarray(pca["components"]).T


def clip_bounds(num: np.ndarray, *, quantiles: list[float] | None, fences: float | None) -> list[list[float]]:
    """[[lows], [highs]] per column of (N, F) training numbers (NaN = missing): each bound a training value.

    quantiles [low, high]: the bounds are taken at a training value on the inner side of each quantile, never
    interpolated toward the outer one: with ~100 values, numpy's default 0.99 quantile is 1% of the way to the
    largest, so a typo 10^4 times too large stays ~10^2 times too large and squashes the column when scaled.
    fences k: the bounds move in to the most extreme training values inside Tukey's fences [Q1 - k·IQR,
    Q3 + k·IQR] (a box plot's whisker ends): a quantile lets through as many typos as lie beyond its share
    (two in 100 rows pass a 0.99 quantile, and the one left squashes the column), the fences clip any number of
    them. A column with IQR 0 (mostly one value: a flag, counts of mostly zero) keeps its quantile bounds, as
    its fences would clip every other value.
    """
    if quantiles is not None:
        lows = np.nanquantile(num, quantiles[0], axis=0, method="higher")
        highs = np.nanquantile(num, quantiles[1], axis=0, method="lower")
    else:
        lows, highs = np.nanmin(num, axis=0), np.nanmax(num, axis=0)
    if fences is not None:
        q1, q3 = np.nanquantile(num, [0.25, 0.75], axis=0)
        for j in np.flatnonzero(q3 > q1):
            col = num[:, j]
            inside = col[(col >= q1[j] - fences * (q3[j] - q1[j])) & (col <= q3[j] + fences * (q3[j] - q1[j]))]
            lows[j], highs[j] = max(lows[j], inside.min()), min(highs[j], inside.max())
    return [lows.tolist(), highs.tolist()]


def clip_rule(options: dict[str, Any], *, keys: bool = False) -> str:
    """How a table's clip bounds were fitted, from its saved options: "training quantiles [0.01, 0.99] and Tukey's
    fences (k = 3)" for a report; with `keys`, the options' names, "data.clip_quantiles, data.clip_fences"."""
    q, k = options.get("clip_quantiles"), options.get("clip_fences")  # no clip_fences: a run from before it
    if keys:
        return ", ".join(f"data.{name}" for name, v in (("clip_quantiles", q), ("clip_fences", k)) if v is not None)
    said = ([f"training quantiles {q}"] if q is not None else []) + ([f"Tukey's fences (k = {k:g})"] if k else [])
    return " and ".join(said)


class TablePreprocessor:
    """Numeric columns: clip, impute, scale (+ missing indicators); text columns: one-hot; then PCA.

    Args:
        columns: the feature column names, in order.
        impute: drop | mean | median | most_frequent (default median). `drop` expects rows without
            missing cells (the caller drops them) and refuses to transform a row with one.
        missing_indicator: add a 0/1 column for each numeric column with missing values in training (default False).
        clip_quantiles: [low, high] quantiles of each numeric column to clip to, e.g. [0.01, 0.99] (default None).
        clip_fences: k, to clip each numeric column to Tukey's fences as well, [Q1 - k·IQR, Q3 + k·IQR] of its
            training values (default None = off).
        scale: standard | minmax | none, for numeric columns (default standard).
        pca: components (>= 1) or variance share (< 1) of the encoded features (default None = no PCA).
    """

    def __init__(self, columns: list[str], *, impute: str = "median", missing_indicator: bool = False,
                 clip_quantiles: list[float] | None = None, clip_fences: float | None = None, scale: str = "standard",
                 pca: float | None = None):
        self.columns = list(columns)
        self.impute, self.missing_indicator, self.clip_quantiles = impute, missing_indicator, clip_quantiles
        self.clip_fences = clip_fences
        self.scale, self.pca = scale, pca

    def fit(self, x: np.ndarray | Table) -> TablePreprocessor:
        """Learn the statistics from `x` (N, F): a `Table`, or an object array of floats/strings (NaN = missing)."""
        from sklearn.preprocessing import OneHotEncoder

        x = Table.from_array(x)
        if self.impute == "drop":
            x = x[~x.missing()]
            if len(x) == 0:
                raise UserError("every training row has a missing value, so data.impute=drop leaves nothing; "
                                "use data.impute=median (or mean, most_frequent)")
        self.numeric_ = [i for i, c in enumerate(x.cols) if _is_numeric(c)]
        self.categorical_ = [i for i in range(x.shape[1]) if i not in self.numeric_]
        self.fill_ = self.clip_ = self.offsets_ = self.scales_ = self.pca_ = self.missing_ = None
        self.indicator_: list[int] = []  # positions in numeric_ of the columns that get a 0/1 indicator
        if self.numeric_:
            self._fit_numeric(self._numbers(x))
        self.categories_: list[list[str]] = []
        if self.categorical_:
            cat = np.column_stack([_as_text(x.cols[j]) for j in self.categorical_]).astype(str)
            enc = OneHotEncoder(handle_unknown="ignore").fit(cat)
            self.categories_ = [c.tolist() for c in enc.categories_]
        if self.pca is not None:  # reduction is the last step, on the encoded training rows
            self.pca_ = fit_pca(self._encode(x), self.pca)
        return self

    def _fit_numeric(self, num: np.ndarray) -> None:  # (N, numeric columns) float64, NaN = missing
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import MinMaxScaler, StandardScaler

        empty = np.isnan(num).all(axis=0)
        if empty.any():
            col = self.columns[self.numeric_[int(empty.argmax())]]
            raise UserError(f"column '{col}' has no values in the training split; drop the column")
        self.missing_ = np.isnan(num).sum(axis=0).astype(int).tolist()  # per column: what the report says was filled
        if self.missing_indicator:  # as SimpleImputer(add_indicator=True): columns with gaps in training
            self.indicator_ = np.flatnonzero(np.isnan(num).any(axis=0)).tolist()
        if self.clip_quantiles is not None or self.clip_fences is not None:  # noise first, so outliers do not
            self.clip_ = clip_bounds(num, quantiles=self.clip_quantiles, fences=self.clip_fences)  # pull fills, scales
            num = np.clip(num, *self.clip_)  # NaN stays NaN
        if self.impute != "drop":
            imp = SimpleImputer(strategy=self.impute).fit(num)
            self.fill_ = imp.statistics_.tolist()
            num = imp.transform(num)
        if self.scale == "standard":
            scaler = StandardScaler().fit(num)
            self.offsets_, self.scales_ = scaler.mean_.tolist(), scaler.scale_.tolist()  # zero std -> 1
        elif self.scale == "minmax":
            scaler = MinMaxScaler().fit(num)
            rng = scaler.data_range_
            self.offsets_, self.scales_ = scaler.data_min_.tolist(), np.where(rng > 0, rng, 1.0).tolist()

    @property
    def n_features_out(self) -> int:
        if self.pca_ is not None:
            return len(self.pca_["components"])
        return len(self.numeric_) + sum(len(c) for c in self.categories_) + len(self.indicator_)

    def transform(self, x: np.ndarray, *, names: list[str] | None = None) -> np.ndarray:
        """(N, F) raw cells -> (N, n_features_out) float32.

        Args:
            names: one name per row for error messages (default: "row i").
        """
        out = self._encode(x, names=names)
        if self.pca_ is not None:
            out = pca_transform(self.pca_, out)
        return out.astype(np.float32)

    def _numbers(self, x: Table, names: list[str] | None = None) -> np.ndarray:
        """The numeric columns as one (N, k) float64 block, NaN = missing."""
        num = np.empty((len(x), len(self.numeric_)))
        for k, j in enumerate(self.numeric_):
            num[:, k] = _as_numbers(x.cols[j], self.columns[j], names)
        return num

    def _encode(self, x: np.ndarray | Table, *, names: list[str] | None = None) -> np.ndarray:
        """Everything but PCA: (N, F) raw cells -> (N, numeric + one-hot + indicators) float64.

        The numeric block is changed in place: a large table is not copied once per step.
        """
        x = Table.from_array(x)
        if self.impute == "drop":
            self._refuse_missing(x, names)
        out = np.empty((len(x), len(self.numeric_) + sum(map(len, self.categories_)) + len(self.indicator_)))
        k = len(self.numeric_)
        if self.numeric_:
            num = self._numbers(x, names)
            missing = np.isnan(num)
            if self.clip_ is not None:
                np.clip(num, *self.clip_, out=num)
            if self.fill_ is not None:
                np.copyto(num, np.asarray(self.fill_)[None, :], where=missing)
            if self.offsets_ is not None:
                num -= np.asarray(self.offsets_)
                num /= np.asarray(self.scales_)
            out[:, :k] = num
            del num
        for j, cats in zip(self.categorical_, self.categories_, strict=True):
            col = _as_text(x.cols[j]).astype(str)
            out[:, k:k + len(cats)] = col[:, None] == np.array(cats)[None, :]  # unknown -> all zeros
            k += len(cats)
        if self.indicator_:
            out[:, k:] = missing[:, self.indicator_]
        return out

    def _refuse_missing(self, x: Table, names: list[str] | None) -> None:
        bad = x.missing()
        if bad.any():
            i = int(bad.argmax())
            col = self.columns[next(j for j, v in enumerate(x[i]) if _is_missing(v))]
            row = names[i] if names is not None else f"row {i}"
            raise UserError(f"{row} has no value in column '{col}', and this run was trained with "
                            "data.impute=drop, which cannot fill it; fill in the value or leave out the row")

    def feature_names(self) -> list[str]:
        if self.pca_ is not None:
            return [f"pc{k + 1}" for k in range(len(self.pca_["components"]))]
        names = [self.columns[i] for i in self.numeric_]
        for j, cats in zip(self.categorical_, self.categories_, strict=True):
            names += [f"{self.columns[j]}={c}" for c in cats]
        return names + [f"{self.columns[self.numeric_[k]]} missing" for k in self.indicator_]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns,
                "options": {"impute": self.impute, "missing_indicator": self.missing_indicator,
                            "clip_quantiles": self.clip_quantiles, "clip_fences": self.clip_fences,
                            "scale": self.scale, "pca": self.pca},
                "numeric": self.numeric_, "categorical": self.categorical_, "fill": self.fill_, "missing": self.missing_,
                "indicator": self.indicator_, "clip": self.clip_, "offsets": self.offsets_, "scales": self.scales_,
                "categories": self.categories_, "pca": self.pca_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TablePreprocessor:
        self = cls(d["columns"], **d.get("options", {}))
        self.numeric_, self.categorical_, self.categories_ = d["numeric"], d["categorical"], d["categories"]
        self.fill_, self.indicator_, self.clip_ = d["fill"], d["indicator"], d["clip"]
        self.offsets_, self.scales_, self.pca_ = d["offsets"], d["scales"], d["pca"]
        self.missing_ = d.get("missing")  # None in runs from before it was recorded
        return self


def avg_pool(x: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool (N, C, *spatial) by `factor` along every spatial axis, as torch's avg_pool1d/2d
    with kernel = stride = factor: each side shrinks to side // factor, a remainder is cut off."""
    if factor == 1:
        return x
    out = [s // factor for s in x.shape[2:]]
    x = x[(slice(None), slice(None), *[slice(0, o * factor) for o in out])]
    blocks = x.reshape(*x.shape[:2], *[d for o in out for d in (o, factor)])  # (N, C, o1, f, o2, f)
    return blocks.mean(axis=tuple(range(3, 3 + 2 * len(out), 2)), dtype=np.float64).astype(np.float32)


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of (N, C, ...) training inputs, for the model's input normalization."""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, dtype=np.float64)
    std = x.std(axis=axes, dtype=np.float64)
    return mean.tolist(), np.where(std > 1e-8, std, 1.0).tolist()


def channel_range(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel min and (max - min) of (N, C, ...) training inputs; a constant channel gets range 1."""
    axes = (0,) + tuple(range(2, x.ndim))
    lo, hi = x.min(axis=axes).astype(np.float64), x.max(axis=axes).astype(np.float64)
    return lo.tolist(), np.where(hi - lo > 1e-8, hi - lo, 1.0).tolist()


def channel_norm(x: np.ndarray, scale: str) -> dict[str, Any] | None:
    """The per-channel scaling `scale` fitted on (N, C, ...) inputs, as (x - mean) / std.

    standard: mean and std; minmax: mean = min, std = max - min (so the result lies in [0, 1] on
    training data); none: None.
    """
    if scale == "none":
        return None
    mean, std = channel_stats(x) if scale == "standard" else channel_range(x)
    return {"kind": scale, "mean": mean, "std": std}


def _apply_norm(norm: dict[str, Any] | None, x: np.ndarray) -> np.ndarray:  # (N, C, ...) -> same
    if norm is None:
        return x
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - np.reshape(norm["mean"], shape)) / np.reshape(norm["std"], shape)


class ArrayPreprocessor:
    """Images (N, C, H, W) and signals (N, C, L): average-pool, scale per channel, optionally PCA.

    Without PCA the per-channel scaling is the model's first layer (`model_norm`), so augmentations
    before it still see the data's own value range. With PCA the inputs become vectors before the
    model, so the scaling is applied here, before the projection (scale, then reduce, as for tables:
    channels in different units would otherwise dominate the components), and the model gets none.

    Args:
        downsample: average-pool by this factor along each side (default 1 = off).
        scale: standard | minmax | none (default standard).
        pca: components (>= 1) or variance share (< 1) of the flattened inputs (default None = no PCA).
    """

    def __init__(self, *, downsample: int = 1, scale: str = "standard", pca: float | None = None):
        self.downsample, self.scale, self.pca = downsample, scale, pca

    def fit(self, x: np.ndarray) -> ArrayPreprocessor:
        """Learn the scaling (and PCA) from raw training inputs `x` (N, C, ...)."""
        self.raw_shape_ = list(x.shape[1:])
        side = min(self.raw_shape_[1:])
        if self.downsample > side:
            raise UserError(f"data.downsample={self.downsample} is larger than the inputs' side of {side}; "
                            f"use data.downsample <= {side}")
        # the raw value range, for the note on inputs in other units (0..255 or 0..16 for a 0..1 run)
        self.range_ = [float(np.nanmin(x)), float(np.nanmax(x))] if x.size else None
        x = avg_pool(x, self.downsample)
        self.norm_ = channel_norm(x, self.scale)
        self.pca_ = None
        if self.pca is not None:
            self.pca_ = fit_pca(_apply_norm(self.norm_, x).reshape(len(x), -1), self.pca)
        return self

    @property
    def model_norm(self) -> dict[str, Any] | None:
        """The scaling the model applies as its first layer (None with PCA or scale=none)."""
        return None if self.pca_ is not None else self.norm_

    @property
    def output_shape(self) -> list[int]:
        if self.pca_ is not None:
            return [len(self.pca_["components"])]
        c, *spatial = self.raw_shape_
        return [c] + [s // self.downsample for s in spatial]

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Raw (N, *raw_shape) -> (N, *output_shape) float32."""
        if list(x.shape[1:]) != self.raw_shape_:
            raise UserError(f"inputs have samples of shape {tuple(x.shape[1:])}; this run expects "
                            f"{tuple(self.raw_shape_)}")
        x = avg_pool(x.astype(np.float32), self.downsample)
        if self.pca_ is not None:
            x = pca_transform(self.pca_, _apply_norm(self.norm_, x).reshape(len(x), -1))
        return x.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"options": {"downsample": self.downsample, "scale": self.scale, "pca": self.pca},
                "raw_shape": self.raw_shape_, "norm": self.norm_, "pca": self.pca_, "range": self.range_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArrayPreprocessor:
        self = cls(**d["options"])
        self.raw_shape_, self.norm_, self.pca_ = d["raw_shape"], d["norm"], d["pca"]
        self.range_ = d.get("range")  # runs saved before it was recorded have none: no range note
        return self
