"""The next `data.horizon` values of a series from the `data.window` before them (data kind `series`).

Trained with MSE on standardized targets; scored in the data's units:
    MAE    mean |y - ŷ| over every forecast value (the run's metric)
    RMSE   √(mean (y - ŷ)²)
    sMAPE  mean of 200 · |y - ŷ| / (|y| + |ŷ|), in percent (0 where both are 0); test split and baselines
    MASE   MAE / the training part's in-sample naive error, mean |y_t - y_(t-1)| (Hyndman & Koehler 2006):
           below 1 beats "tomorrow as today" as it did inside the training data
    mae_per_step   MAE of each horizon step (1 ... horizon ahead)

Baselines on the same samples (`summary["baselines"]`), from the raw series:
    naive           every step ahead = the last value seen (persistence)
    seasonal_naive  step h = the value one season before it, y(t + h - m·⌈h/m⌉), m = data.season (where that
                    lies before the series' start, the last value seen); only for a season of more than one step:
                    with m = 1 it is the naive forecast itself, listed once (yearly data, or a step with no season)
    ar              a linear autoregressive model: least squares on the training samples' window of the target
                    (plus an intercept), one set of coefficients per horizon step (the direct strategy)
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idealfit.tasks.base import MetricInfo, Task

SPLITS = ("train", "val", "test")


def scores(y_true: np.ndarray, y_pred: np.ndarray, *, naive_mae: float) -> dict[str, Any]:
    """mae, rmse, smape (%), mase and mae_per_step of forecasts (N, horizon) in the data's units."""
    yt, yp = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    err = np.abs(yp - yt)
    denom = np.abs(yt) + np.abs(yp)
    smape = np.where(denom > 0, 200.0 * err / np.where(denom > 0, denom, 1.0), 0.0)
    mae = float(err.mean())
    return {"mae": mae, "rmse": float(np.sqrt(((yp - yt) ** 2).mean())), "smape": float(smape.mean()),
            "mase": mae / naive_mae if naive_mae > 0 else float("nan"),
            "mae_per_step": err.reshape(len(err), -1).mean(0).tolist()}


class Forecasting(Task):
    name = "forecasting"
    metric = "mae"
    metrics = {"mae": MetricInfo(False, False, "mean absolute error"),
               "rmse": MetricInfo(False, False, "root mean squared error"),
               "smape": MetricInfo(False, False, "symmetric mean absolute percentage error (%)"),
               "mase": MetricInfo(False, False, "mean absolute scaled error (1 = the in-sample naive error)")}
    epoch_metrics = ("mae",)
    scales_targets = True

    def fit_targets(self, y_train: np.ndarray) -> dict[str, Any]:
        # "naive_mae" (MASE's scale) is added by data.prepare from the series' training part
        return {"mean": float(y_train.mean()), "std": float(y_train.std() or 1.0), "horizon": int(y_train.shape[1])}

    def encode_targets(self, y: np.ndarray, state) -> np.ndarray:
        return ((y - state["mean"]) / state["std"]).astype(np.float32)

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        return int((targets or {}).get("horizon", 1))

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y.reshape(out.shape))

    def stats(self, out, y, loss):
        s = super().stats(out, y, loss)
        err = out.detach().double() - y.reshape(out.shape).double()  # (B, horizon)
        s.update(sse=(err ** 2).sum(), sae_step=err.abs().sum(0), values=float(err.numel()))
        return s

    def finish(self, sums: dict[str, Any], state: dict[str, Any] | None) -> dict[str, Any]:
        state = state or {}
        std, n = state.get("std", 1.0), sums["n"]
        step = [v / n * std for v in np.atleast_1d(sums["sae_step"]).tolist()]
        mae = sum(step) / len(step)
        naive = state.get("naive_mae", 0.0)
        return {"loss": sums["loss"] / n, "mae": mae, "rmse": math.sqrt(max(sums["sse"], 0.0) / sums["values"]) * std,
                "mase": mae / naive if naive > 0 else float("nan"), "mae_per_step": step}

    def decode(self, out: torch.Tensor, state) -> np.ndarray:
        return (out.float() * state["std"] + state["mean"]).numpy()

    def prediction_arrays(self, out, y, state):
        return {"y_true": (y.reshape(out.shape).float() * state["std"] + state["mean"]).numpy(),
                "y_pred": self.decode(out, state)}

    def test_metrics(self, prep, predictions: dict[str, np.ndarray]) -> dict[str, float]:
        naive = prep.state["target"]["naive_mae"]
        return {"smape": scores(predictions["y_true"], predictions["y_pred"], naive_mae=naive)["smape"]}

    def evaluate_metrics(self, out, y, state, *, labels, class_names, data) -> dict[str, float]:
        arrays = self.prediction_arrays(out, y, state)
        return {"smape": scores(arrays["y_true"], arrays["y_pred"], naive_mae=state["naive_mae"])["smape"]}

    def baselines(self, prep, *, seed: int) -> dict[str, dict[str, Any]]:
        return forecast_baselines(prep.dataset, prep.indices, naive_mae=prep.state["target"]["naive_mae"])

    def figures(self, run_dir, prep, predictions, model) -> None:
        from idealfit.report.forecasting import write_figures

        write_figures(run_dir, prep, predictions)


def ar_coefficients(ds, indices: dict[str, Any]) -> np.ndarray:
    """(window + 1, horizon) least-squares coefficients of the AR baseline: the target's last `window` raw
    values, then an intercept, fitted on the training samples (the network's wide path starts here)."""
    train = indices["train"]
    feats = np.c_[ds.x[train][:, 0].astype(np.float64), np.ones(len(train))]
    return np.linalg.lstsq(feats, ds.y[train].astype(np.float64), rcond=None)[0]


def baseline_forecasts(ds, indices: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """{baseline: {split: forecasts (N, horizon)}} for naive, seasonal_naive (a season above 1 step) and ar (see
    the module doc)."""
    info = ds.meta["series"]
    w, h, m = info["window"], info["horizon"], max(1, int(info["season"]))
    series = ds.values[:, 0]
    out: dict[str, dict[str, np.ndarray]] = {"naive": {}, **({"seasonal_naive": {}} if m > 1 else {}), "ar": {}}
    steps = np.arange(1, h + 1)
    lag = m * np.ceil(steps / m).astype(np.int64) - steps  # how far before the origin step h's seasonal value is
    feats = {s: np.c_[ds.x[indices[s]][:, 0].astype(np.float64), np.ones(len(indices[s]))] for s in SPLITS}
    coef = ar_coefficients(ds, indices)  # (w + 1, h)
    for s in SPLITS:
        origin = indices[s] + w - 1  # the last step each sample sees
        last = series[origin][:, None]
        out["naive"][s] = np.repeat(last, h, axis=1)
        seas_idx = origin[:, None] - lag[None, :]
        if m > 1:
            out["seasonal_naive"][s] = np.where(seas_idx >= 0, series[np.maximum(seas_idx, 0)], last)
        out["ar"][s] = feats[s] @ coef
    return out


def forecast_baselines(ds, indices: dict[str, Any], *, naive_mae: float) -> dict[str, dict[str, Any]]:
    t0 = time.perf_counter()
    preds = baseline_forecasts(ds, indices)
    seconds = round(time.perf_counter() - t0, 3)
    info = ds.meta["series"]
    notes = {"naive": "the last value seen, for every step ahead",
             "seasonal_naive": f"the value one season (data.season={info['season']} steps) before",
             "ar": f"least squares on the last {info['window']} values (data.window) and an intercept, fitted on "
                   "the training samples"}
    if "seasonal_naive" not in preds:  # a season of one step: the seasonal naive forecast is this one
        notes["naive"] += f" (data.season={info['season']}: also the seasonal naive forecast)"
    out = {}
    for name, per in preds.items():
        out[name] = {s: scores(ds.y[indices[s]], per[s], naive_mae=naive_mae) for s in SPLITS}
        out[name].update(seconds=seconds, note=notes[name])
    return out
