"""One value per input: MSE on standardized targets; RMSE, MAE and R² in the data's units."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idealfit.tasks.base import MetricInfo, Task


class Regression(Task):
    name = "regression"
    metric = "rmse"
    metrics = {"rmse": MetricInfo(False, False, "root mean squared error"),
               "mae": MetricInfo(False, False, "mean absolute error"),
               "r2": MetricInfo(True, False, "R²")}
    epoch_metrics = ("rmse",)
    scales_targets = True

    def fit_targets(self, y_train: np.ndarray) -> dict[str, Any]:
        # trained on standardized targets (a well-scaled loss whatever the units); metrics in data units
        return {"mean": float(y_train.mean()), "std": float(y_train.std() or 1.0)}

    def encode_targets(self, y: np.ndarray, state) -> np.ndarray:
        return ((y - state["mean"]) / state["std"]).astype(np.float32)

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        return 1

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out.squeeze(-1), y)

    def stats(self, out, y, loss):
        s = super().stats(out, y, loss)
        err = out.detach().squeeze(-1).double() - y.double()
        yd = y.double()
        s.update(sse=(err ** 2).sum(), sae=err.abs().sum(), sy=yd.sum(), syy=(yd ** 2).sum())
        return s

    def finish(self, sums: dict[str, float], state: dict[str, Any] | None) -> dict[str, float]:
        n, std = sums["n"], (state or {}).get("std", 1.0)
        ss_tot = sums["syy"] - sums["sy"] ** 2 / n  # Σ(y − ȳ)², from the sums
        return {"loss": sums["loss"] / n, "rmse": math.sqrt(max(sums["sse"], 0.0) / n) * std,
                "mae": sums["sae"] / n * std, "r2": 1.0 - sums["sse"] / (ss_tot if ss_tot > 1e-12 else 1e-12)}

    def decode(self, out: torch.Tensor, state) -> np.ndarray:
        return (out.squeeze(-1).float() * state["std"] + state["mean"]).numpy()

    def prediction_arrays(self, out, y, state):
        return {"y_true": (y.float() * state["std"] + state["mean"]).numpy(), "y_pred": self.decode(out, state)}
