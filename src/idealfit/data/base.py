"""The in-memory dataset bundle every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from idealfit.errors import UserError


@dataclass
class Dataset:
    """Samples and labels as numpy arrays, before any fitted preprocessing.

    Shapes: images (N, C, H, W) float32, usually in [0, 1]; signals (N, C, L) float32; tables (N, F)
    raw cells (numbers or strings, NaN for missing) with `columns` naming them: a `data.table.Table`
    (float64 numeric columns, object text columns) from files, or an object array of cells.
    `y` is (N,) int64 class ids for classification or float32 values for regression.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    task: str  # classification | regression
    kind: str  # image | signal | table | series | text | audio | image_pair
    class_names: list[str] | None = None
    columns: list[str] | None = None  # tables: feature column names
    fixed_test: np.ndarray | None = None  # indices of a dataset's own standard test split (mnist1d)
    paths: list[str] | None = None  # image folders that stream from disk: one file per sample
    meta: dict = field(default_factory=dict)  # loader facts worth recording (image size, source...)
    masks: np.ndarray | None = None  # image pairs: (N, H, W) class ids behind each input, for the FCN-score
    groups: np.ndarray | None = None  # (N,) a group per sample (spoken_digits: its voice); a group stays in one split
    lengths: np.ndarray | None = None  # audio: (N,) real samples of each clip, the rest silence padding (None: all real)
    lines: np.ndarray | None = None  # CSV rows: (N,) each row's line in its file (header = 1), to name rows
    row_ids: np.ndarray | None = None  # CSV rows: (N,) the first identifier column's cells, to name rows (None: none)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample as the model sees it (tables: after preprocessing, set later)."""
        return tuple(self.meta.get("input_shape", self.x.shape[1:]))


def infer_task(y: np.ndarray) -> str:
    """Integers or strings with few distinct values are classes; anything else is regression."""
    if y.dtype.kind in "OUSb":
        return "classification"
    if y.dtype.kind in "iu" or np.all(np.mod(y[np.isfinite(y)], 1) == 0):
        return "classification" if len(np.unique(y)) <= max(20, int(0.05 * len(y))) else "regression"
    return "regression"


def class_ids(y: np.ndarray, *, where: str) -> tuple[np.ndarray, list[str]]:
    """`encode_labels` of a training target, refusing a single class (nothing to tell apart): the one check
    of every training path (tables, text, text beside table columns, NPZ). `where` names the labels in the
    message, e.g. "data.csv: target 'vote'". Evaluation data may hold one class: it uses `encode_labels`."""
    ids, names = encode_labels(y)
    if len(names) < 2:
        numbers = y.dtype.kind in "iuf"
        raise UserError(f"{where} holds only one class ({names[0] if names else 'none'}); classification needs at "
                        "least 2" + (" (or use --task regression)" if numbers else ""))
    return ids, names


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Map labels to 0..K-1 ids, sorted naturally (numbers by value, text alphabetically)."""
    values = np.unique(y)
    ids = np.searchsorted(values, y).astype(np.int64)
    names = [str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v) for v in values]
    return ids, names


def plural(n: int, word: str) -> str:
    """ "1 row", "2 rows": a count and its noun (a regular plural: + s)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
