"""Preprocessing fitted on the training split only, stored as plain JSON.

scikit-learn fits the statistics; we keep only the fitted numbers (medians, means, scales,
categories) and apply them with numpy, so a saved run loads without unpickling anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idealfit.errors import UserError


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


class TablePreprocessor:
    """Numeric columns: median imputation then standardization; text columns: one-hot categories.

    Args:
        columns: the feature column names, in order.
    """

    def __init__(self, columns: list[str]):
        self.columns = list(columns)

    def fit(self, x: np.ndarray) -> TablePreprocessor:
        """Learn the statistics from `x` (N, F) object array of floats/strings (NaN = missing)."""
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        self.numeric_ = [i for i in range(x.shape[1]) if all(isinstance(v, float) or _is_missing(v) for v in x[:, i])]
        self.categorical_ = [i for i in range(x.shape[1]) if i not in self.numeric_]
        self.medians_ = self.means_ = self.scales_ = []
        if self.numeric_:
            num = x[:, self.numeric_].astype(np.float64)
            if np.isnan(num).all(axis=0).any():
                col = self.columns[self.numeric_[int(np.isnan(num).all(axis=0).argmax())]]
                raise UserError(f"column '{col}' has no values in the training split; drop the column")
            imp = SimpleImputer(strategy="median").fit(num)
            scaler = StandardScaler().fit(imp.transform(num))
            self.medians_ = imp.statistics_.tolist()
            self.means_ = scaler.mean_.tolist()
            self.scales_ = scaler.scale_.tolist()
        self.categories_: list[list[str]] = []
        if self.categorical_:
            cat = np.array([[("" if _is_missing(v) else str(v)) for v in row] for row in x[:, self.categorical_]])
            enc = OneHotEncoder(handle_unknown="ignore").fit(cat)
            self.categories_ = [c.tolist() for c in enc.categories_]
        return self

    @property
    def n_features_out(self) -> int:
        return len(self.numeric_) + sum(len(c) for c in self.categories_)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(N, F) raw cells -> (N, n_features_out) float32."""
        parts = []
        if self.numeric_:
            num = x[:, self.numeric_].astype(np.float64)
            num = np.where(np.isnan(num), np.asarray(self.medians_), num)
            parts.append((num - np.asarray(self.means_)) / np.asarray(self.scales_))
        for j, cats in zip(self.categorical_, self.categories_, strict=True):
            col = np.array(["" if _is_missing(v) else str(v) for v in x[:, j]])
            parts.append((col[:, None] == np.array(cats)[None, :]).astype(np.float64))  # unknown -> all zeros
        return np.concatenate(parts, axis=1).astype(np.float32)

    def feature_names(self) -> list[str]:
        names = [self.columns[i] for i in self.numeric_]
        for j, cats in zip(self.categorical_, self.categories_, strict=True):
            names += [f"{self.columns[j]}={c}" for c in cats]
        return names

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "numeric": self.numeric_, "categorical": self.categorical_,
                "medians": self.medians_, "means": self.means_, "scales": self.scales_,
                "categories": self.categories_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TablePreprocessor:
        self = cls(d["columns"])
        self.numeric_, self.categorical_ = d["numeric"], d["categorical"]
        self.medians_, self.means_, self.scales_ = d["medians"], d["means"], d["scales"]
        self.categories_ = d["categories"]
        return self


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of (N, C, ...) training inputs, for the model's input normalization."""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, dtype=np.float64)
    std = x.std(axis=axes, dtype=np.float64)
    return mean.tolist(), np.where(std > 1e-8, std, 1.0).tolist()
