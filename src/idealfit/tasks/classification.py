"""One class per input: softmax + cross-entropy, accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idealfit.tasks.base import MetricInfo, Task


class Classification(Task):
    name = "classification"
    metric = "accuracy"
    metrics = {"accuracy": MetricInfo(True, True, "accuracy")}
    epoch_metrics = ("accuracy",)
    stratify = True
    has_classes = True

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        return num_classes

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y)  # softmax lives here (and in decode), the head is linear

    def stats(self, out, y, loss):
        s = super().stats(out, y, loss)
        s["correct"] = (out.argmax(1) == y).sum()
        return s

    def finish(self, sums: dict[str, float], state: dict[str, Any] | None) -> dict[str, float]:
        n = sums["n"]
        return {"loss": sums["loss"] / n, "accuracy": sums["correct"] / n}

    def decode(self, out: torch.Tensor, state) -> np.ndarray:
        return torch.softmax(out.float(), dim=1).numpy()  # class probabilities (N, K)

    def prediction_arrays(self, out, y, state):
        # proba: for ROC curves and the report's most confident mistakes
        return {"y_true": y.numpy(), "y_pred": out.argmax(1).numpy(), "proba": self.decode(out, state)}
