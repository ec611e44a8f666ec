"""Data kinds: a plain dict, each kind owning its fitted preprocessing (fitted on the training split,
recorded as JSON in preprocess.json), how a saved run applies it to new raw inputs, and the shape of one
raw sample. Tasks (tasks/) and model families (models/registry.py) are the other two axes.

    table   CSV cells (numbers, text, gaps): cleaning, clipping, scaling, one-hot encoding, PCA, all here
    image   (C, H, W) and signal (C, L) arrays: pooling and PCA here; the per-channel scaling is the
            model's first layer (models.blocks.Normalize), so a saved model takes raw pixels
    series  windows (C, window) of a regular time series (data/series.py), scaled here on the training part
    text    free text (data/text.py): tokens, a vocabulary fitted on the training part, padded token ids;
            with table columns beside it, their table preprocessing too (data/text_table.py)
    audio   waveforms (1, samples) at one rate (data/audio.py): normalized log-mel spectrograms (1, mels, frames)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from idealfit.config import DataConfig
from idealfit.data.audio import fit_audio, transform_audio
from idealfit.data.base import Dataset
from idealfit.data.preprocess import ArrayPreprocessor, TablePreprocessor, missing_rows
from idealfit.data.series import fit_series, transform_series
from idealfit.data.text_table import fit_text_kind, raw_text_shape, transform_text_kind
from idealfit.errors import UserError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Kind:
    # (dataset, split indices, options, state to record into) -> (model-ready x per split, indices kept)
    fit: Callable[[Dataset, dict, DataConfig, dict], tuple[dict[str, np.ndarray], dict]]
    # (a run's state, raw inputs, a name per input or None) -> model-ready inputs
    transform: Callable[[dict, np.ndarray, list[str] | None], np.ndarray]
    raw_shape: Callable[[dict], tuple[int, ...]]  # one raw sample's shape, from a run's state
    state_keys: dict[str, type]  # what preprocess.json must hold for this kind (checked by load_run)


def _drop_missing(ds: Dataset, indices: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """data.impute=drop: remove the rows with any missing cell from every split, and record them."""
    kept, dropped = dict(indices), {}
    for s in SPLITS:
        bad = missing_rows(ds.x[indices[s]])
        kept[s], dropped[s] = indices[s][~bad], indices[s][bad].tolist()
        if len(kept[s]) == 0:
            raise UserError(f"every {s} row of {ds.name} has a missing value, so data.impute=drop leaves "
                            "nothing; use data.impute=median (or mean, most_frequent)")
    state["dropped_rows"] = dropped  # dataset row indices, per split
    return kept


def _prepare_table(ds: Dataset, indices: dict[str, Any], cfg: DataConfig, state: dict[str, Any]) -> dict:
    pre = TablePreprocessor(ds.columns or [], impute=cfg.impute, missing_indicator=cfg.missing_indicator,
                            clip_quantiles=cfg.clip_quantiles, clip_fences=cfg.clip_fences, scale=cfg.scale,
                            pca=cfg.pca)
    pre.fit(ds.x[indices["train"]])
    state["table"] = pre.to_dict()
    _note_far_clipped(ds, indices["train"], pre, state["table"])
    state["input_shape"] = [pre.n_features_out]
    state["norm"] = None  # already scaled by the table preprocessor
    return {s: pre.transform(ds.x[indices[s]]) for s in SPLITS}


def _note_far_clipped(ds: Dataset, train: np.ndarray, pre: TablePreprocessor, table: dict[str, Any]) -> None:
    """Training values clipped from far outside the rest (typos): one note at train, the counts in the report."""
    from idealfit.data.far_values import far_clipped, far_clipped_note
    from idealfit.data.preprocess import clip_rule
    from idealfit.data.table import Table
    from idealfit.report.examples import row_name  # names rows as predict and the report do

    if pre.clip_ is None or not pre.numeric_:
        return
    found = far_clipped(pre, pre._numbers(Table.from_array(ds.x[train])), [row_name(ds, int(i)) for i in train])
    if found:
        table["far_clipped"] = {c: {"count": len(v), "examples": v[:20]} for c, v in found.items()}
        note, notes = far_clipped_note(found, keys=clip_rule(table["options"], keys=True)), ds.meta.setdefault("notes", [])
        notes += [note] if note not in notes else []  # a dataset prepared again (tune's trials): said once


def _prepare_arrays(ds: Dataset, indices: dict[str, Any], cfg: DataConfig, state: dict[str, Any]) -> dict:
    """Images and signals: pooling and PCA happen here; the per-channel scaling is the model's first layer."""
    pre = ArrayPreprocessor(downsample=cfg.downsample, scale=cfg.scale, pca=cfg.pca)
    if ds.paths is not None:  # streamed from disk: statistics from a sample; no pooling or PCA (checked)
        pre.fit(_sample_images(ds, indices["train"]))
        x = {s: ds.x for s in SPLITS}  # shape carriers only
    else:
        pre.fit(ds.x[indices["train"]])
        x = {s: pre.transform(ds.x[indices[s]]) for s in SPLITS}
    state["array"] = pre.to_dict()
    state["input_shape"] = pre.output_shape
    state["norm"] = pre.model_norm  # applied by the model's first layer (None: no normalization layer)
    return x


def _sample_images(ds: Dataset, train_idx: np.ndarray, n: int = 512) -> np.ndarray:
    from idealfit.data.images import read_streamed

    rng = np.random.default_rng(0)
    return read_streamed(ds, rng.choice(train_idx, size=min(n, len(train_idx)), replace=False))


def _fit_table(ds: Dataset, indices: dict[str, Any], cfg: DataConfig, state: dict[str, Any]) -> tuple[dict, dict]:
    state["identifiers"] = list(ds.meta.get("identifiers", []))  # left out; they name the rows of predictions
    if cfg.impute == "drop":
        indices = _drop_missing(ds, indices, state)
    return _prepare_table(ds, indices, cfg, state), indices


def _fit_arrays(ds: Dataset, indices: dict[str, Any], cfg: DataConfig, state: dict[str, Any]) -> tuple[dict, dict]:
    return _prepare_arrays(ds, indices, cfg, state), indices


def _arrays(state: dict[str, Any], x: np.ndarray, names: list[str] | None) -> np.ndarray:
    return ArrayPreprocessor.from_dict(state["array"]).transform(x)


_ARRAYS = Kind(_fit_arrays, _arrays, lambda state: tuple(state["array"]["raw_shape"]), {"array": dict})
KINDS: dict[str, Kind] = {
    "table": Kind(_fit_table, lambda state, x, names: TablePreprocessor.from_dict(state["table"]).transform(x, names=names),
                  lambda state: (len(state["columns"]),), {"columns": list, "table": dict}),
    "image": _ARRAYS,
    "signal": _ARRAYS,
    "image_pair": _ARRAYS,  # the input images A; the targets B are the task's (translation)
}

# series (forecasting): windows (C, window) of a regular time series, scaled on the training part (data/series.py)
KINDS["series"] = Kind(fit_series, transform_series, lambda state: tuple(state["input_shape"]), {"series": dict})

# text: (N,) strings -> (N, L) padded token ids with the vocabulary of the training part (data/text.py); beside
# table columns, (N, F + L) float32: the table preprocessing's features, then the ids (data/text_table.py)
KINDS["text"] = Kind(fit_text_kind, transform_text_kind, raw_text_shape, {"text": dict})

# audio: (N, 1, samples) waveforms -> (N, 1, mels, frames) log-mel spectrograms, nothing fitted (data/audio.py)
KINDS["audio"] = Kind(fit_audio, transform_audio, lambda state: (1, state["audio"]["clip_samples"]), {"audio": dict})
