"""Text beside table columns: a CSV with a column of free text and columns of numbers or categories.

    inputs      a `Table` of the text column first, then the table columns (data/text.load_text_csv)
    text        token ids with the vocabulary of the training split (data/text.fit_text), as for text alone
    table       the table kind's own preprocessing (data/preprocess.TablePreprocessor: impute, clip, scale,
                one-hot, PCA), fitted on the training split only, recorded in preprocess.json "text"."table"
    model-ready one (N, F + L) float32 array per split: the F preprocessed table features, then the L token
                ids (exact in float32: ids stay far below 2**24). One array, so batching, predict, the model
                summary and export treat it like any other input; models/rnn.TextTableNet splits it again.

A text run without other columns is unchanged: (N, L) int64 ids (data/text.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idealfit.data.preprocess import TablePreprocessor
from idealfit.data.table import Table
from idealfit.data.text import Vocabulary, as_texts, fit_text, transform_text
from idealfit.errors import UserError

SPLITS = ("train", "val", "test")


def table_columns(columns: list[str] | None) -> list[str]:
    """The table columns of a text dataset's (or run's) `columns`: all but the first, the text column."""
    return list(columns or [])[1:]


def fit_text_kind(ds, indices: dict, cfg, state: dict[str, Any]) -> tuple[dict, dict]:
    """Kind text: the vocabulary on the training texts, and the table preprocessing on the training rows' other
    columns when the dataset has any."""
    state["identifiers"] = list(ds.meta.get("identifiers", []))  # they name the rows of predictions
    others = table_columns(ds.columns)
    if not others:
        return fit_text(ds, indices, cfg, state)
    if cfg.impute == "drop":
        from idealfit.data.kinds import _drop_missing

        indices = _drop_missing(ds, indices, state)  # an empty text is "" (load_text_csv), never missing
    ids, indices = fit_text(ds, indices, cfg, state)
    cols = list(range(1, len(ds.columns)))
    pre = TablePreprocessor(others, impute=cfg.impute, missing_indicator=cfg.missing_indicator,
                            clip_quantiles=cfg.clip_quantiles, clip_fences=cfg.clip_fences, scale=cfg.scale,
                            pca=cfg.pca)
    pre.fit(ds.x[indices["train"]][:, cols])
    f = pre.n_features_out
    state["text"]["table"] = pre.to_dict()
    state["norm"]["table_features"] = f  # models/build.py: a TextTableNet, F features then the token ids
    state["input_shape"] = [f + int(ids["train"].shape[1])]
    x = {s: np.concatenate([pre.transform(ds.x[indices[s]][:, cols]), ids[s].astype(np.float32)], axis=1)
         for s in SPLITS}
    return x, indices


def transform_text_kind(state: dict[str, Any], x, names: list[str] | None = None) -> np.ndarray:
    """Raw inputs -> model-ready: texts (N,) -> (N, L) ids; rows of the text and table cells (N, 1 + F) ->
    (N, F' + L) float32 with the run's vocabulary and table preprocessing."""
    t = state["text"]
    if "table" not in t:
        return transform_text(state, x, names)
    cells = Table.from_array(x if isinstance(x, Table) else np.asarray(x, dtype=object))
    want = len(state["columns"])
    if cells.shape[1] != want:
        raise UserError(f"this run reads rows of {want} cells ({', '.join(state['columns'])}); got rows of "
                        f"{cells.shape[1]}")
    ids = Vocabulary.from_dict(t).encode(as_texts(cells.cols[0]), max_length=t["max_length"])
    feats = TablePreprocessor.from_dict(t["table"]).transform(cells[:, list(range(1, want))], names=names)
    return np.concatenate([feats, ids.astype(np.float32)], axis=1)


def raw_text_shape(state: dict[str, Any]) -> tuple[int, ...]:
    """One raw sample: a text (1,), or a row of the text and the table cells (1 + F,)."""
    return (max(1, len(state.get("columns") or [])),)
