"""Losses and metrics: cross-entropy + accuracy for classification, MSE + RMSE/MAE/R² for regression."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

METRIC = {"classification": "accuracy", "regression": "rmse"}  # the per-epoch metric of each task
HIGHER_IS_BETTER = {"accuracy": True, "rmse": False, "loss": False, "mae": False, "r2": True}


def loss_fn(task: str):
    """Softmax + cross-entropy on logits (classification) or MSE on standardized targets (regression)."""
    if task == "classification":
        return F.cross_entropy
    return lambda out, y: F.mse_loss(out.squeeze(-1), y)


@torch.no_grad()
def predict_batches(model: torch.nn.Module, batches) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated model outputs and targets over `batches`, in eval mode (restored afterwards)."""
    was_training = model.training
    model.eval()
    outs, ys = [], []
    try:
        for xb, yb in batches:
            outs.append(model(xb))
            ys.append(yb)
    finally:
        model.train(was_training)
    return torch.cat(outs), torch.cat(ys)


def compute_metrics(out: torch.Tensor, y: torch.Tensor, *, task: str, y_std: float = 1.0) -> dict[str, float]:
    """All metrics of a task from outputs and targets; regression errors in the data's own units."""
    loss = float(loss_fn(task)(out, y))
    if task == "classification":
        return {"loss": loss, "accuracy": float((out.argmax(1) == y).float().mean())}
    pred = out.squeeze(-1)
    err = (pred - y) * y_std
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1e-12
    return {"loss": loss, "rmse": math.sqrt(float((err ** 2).mean())), "mae": float(err.abs().mean()),
            "r2": 1.0 - float(((pred - y) ** 2).sum()) / ss_tot}
