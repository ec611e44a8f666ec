"""The fitted baseline of images, signals and audio: a linear model on the principal components of the inputs.

Tables get a tuned linear model and gradient boosting (`idealfit.baselines`); arrays had only the majority class,
so the diagnosis fell back to a fixed 90% training-accuracy threshold there. This baseline gives it a rival fitted
on the same split and the same model-ready inputs (`Prepared.x`: the pixels after the run's pooling, a signal's
values, audio's log-mel features), flattened:

    StandardScaler -> PCA (at most MAX_COMPONENTS components) -> StandardScaler ->
        LogisticRegression (C = 1; classification) / RidgeCV (alpha from 1e-3..1e3; regression)

It is fitted on at most MAX_TRAIN_ROWS random training samples (so it takes about a second on a busy 2-core
machine, whatever the data set's size; the entry's "note" says so) and scored on every sample of every split,
train included, so its training score compares with the network's.

Example:
    >>> entry = array_linear("classification", prep.x, y, seed=0)   # doctest: +SKIP
    >>> entry["val"]["accuracy"], entry["note"]                       # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

ARRAY_KINDS = ("image", "signal", "audio")  # the kinds whose inputs are fixed-shape arrays, flattened here
MAX_COMPONENTS = 50  # PCA components the linear model sees (digits: 50 of 64 pixels; mnist: 50 of 784)
MAX_TRAIN_ROWS = 2000  # fitted on at most this many training samples: about a second beside a busy process
CHUNK = 4096  # rows transformed at a time, so a large split is never copied whole into float64


def array_linear(task: str, x: dict[str, np.ndarray], y: dict[str, np.ndarray], *, seed: int,
                 max_rows: int = MAX_TRAIN_ROWS, scores=None) -> dict[str, Any] | None:
    """The `linear` entry of summary["baselines"] for arrays, or None when there is nothing to fit.

    Args:
        task: "classification" or "regression". x: split -> (n, ...) model-ready inputs. y: split -> (n,) labels,
            or targets in the data's units. seed: the subsample's and PCA's randomness. max_rows: fit on at most
            this many training samples (default MAX_TRAIN_ROWS). scores: (task, y_true, y_pred) -> {metric: v}
            (idealfit.baselines' own, so the numbers match the table baselines').
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from idealfit.baselines import linear_model

    t0 = time.perf_counter()
    flat = {s: v.reshape(len(v), -1) for s, v in x.items()}
    n, features = flat["train"].shape
    pick = np.arange(n)
    if n > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
    xt, yt = flat["train"][pick], y["train"][pick]
    if task == "classification" and len(np.unique(yt)) < 2:
        return None  # one class: nothing to fit
    k = min(MAX_COMPONENTS, features, len(pick) - 1)
    if k < 1:
        return None
    # the scalers: pixels and features have no common scale once pooled; the components' variances differ by
    # orders of magnitude, which slows lbfgs and makes C = 1 mean something else per data set
    model = make_pipeline(StandardScaler(), PCA(n_components=k, random_state=seed), StandardScaler(),
                          linear_model(task))
    model.fit(xt.astype(np.float64), yt)
    entry: dict[str, Any] = {s: scores(task, y[s], _predict(model, flat[s])) for s in flat}
    entry["seconds"] = round(time.perf_counter() - t0, 3)
    kind = "logistic regression" if task == "classification" else "ridge regression"
    fitted = (f"fitted on a random {len(pick):,} of the {n:,} training samples" if len(pick) < n
              else f"fitted on the {n:,} training samples")
    entry["note"] = f"{kind} on {k} principal components of the flattened inputs, {fitted}"
    return entry


def _predict(model, flat: np.ndarray) -> np.ndarray:
    """Predictions in chunks of CHUNK rows (a 60,000-image split in float64 would be 376 MB at once)."""
    parts = [model.predict(flat[i:i + CHUNK].astype(np.float64)) for i in range(0, len(flat), CHUNK)]
    return np.concatenate(parts) if parts else np.zeros(0)
