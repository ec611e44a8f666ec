"""What every task provides, so the loop, the session and the report hold no task knowledge.

A task owns its loss, its metrics (as sums per batch, turned into values once per epoch), how targets
are scaled for training and back, and what its predictions look like. Metrics as sums first make an
epoch's value independent of how the samples were batched, and multi-process training one
all-reduce of the sums per epoch (as Keras 3 reduces its metric variables once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch


@dataclass(frozen=True)
class MetricInfo:
    """Which way a metric is better, and how to show it: the one table of metric directions."""

    higher_is_better: bool
    bounded: bool  # a score in [0, 1] (shown as a percentage); else an error in the data's units
    label: str  # a plain name for people: "accuracy", "root mean squared error"


LOSS = MetricInfo(False, False, "loss")


class Task:
    """The base of every task. Subclasses set the class attributes and override the methods.

    Targets `y` reach the task as the batches carry them: class ids (B,) int64, standardized values
    (B,) float32, class masks (B, H, W) int64, or clean inputs (B, ...) for reconstruction.
    """

    name: ClassVar[str]
    metric: ClassVar[str]  # the primary metric: logged every epoch, printed, diagnosed
    metrics: ClassVar[dict[str, MetricInfo]]  # every metric `finish` returns, except "loss"
    epoch_metrics: ClassVar[tuple[str, ...]]  # logged per epoch (train_ and val_ columns) beside the loss
    epoch_extras: ClassVar[tuple[str, ...]] = ()  # logged per epoch when the step reports them (a GAN's parts)
    stratify: ClassVar[bool] = False  # split so that every class keeps its share
    has_classes: ClassVar[bool] = False  # class_names are part of the run
    augments_targets: ClassVar[bool] = False  # geometric augmentation moves the targets with the inputs
    targets_are_inputs: ClassVar[bool] = False  # the targets are the (clean) inputs themselves: autoencoders
    additive_loss: bool = True  # the loss is a mean over samples (a Dice loss is not: it is one per batch)
    scales_targets: ClassVar[bool] = False  # fit_targets returns a state (recorded as preprocess.json's "target")

    # --- targets ---------------------------------------------------------------------------------------
    def fit_targets(self, y_train: np.ndarray) -> dict[str, Any] | None:
        """JSON state fitted on the training targets (e.g. their mean and std), or None."""
        return None

    def encode_targets(self, y: np.ndarray, state: dict[str, Any] | None) -> np.ndarray:
        """Targets in data units -> the units the model trains on."""
        return y

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        """Outputs per sample (per pixel for dense tasks) the model's head must produce; `targets` is the
        state `fit_targets` recorded."""
        raise NotImplementedError

    # --- training --------------------------------------------------------------------------------------
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The mean loss of a batch, the one that is minimized."""
        raise NotImplementedError

    def stats(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> dict[str, torch.Tensor]:
        """Summable statistics of one batch (no device sync): always "n" (a number) and "loss" (the loss times n)."""
        n = float(len(y))
        return {"n": n, "loss": loss.detach() * n}

    def finish(self, sums: dict[str, float], state: dict[str, Any] | None) -> dict[str, float]:
        """Every metric from the summed statistics of an epoch or a split; "loss" included."""
        raise NotImplementedError

    # --- predictions -----------------------------------------------------------------------------------
    def decode(self, out: torch.Tensor, state: dict[str, Any] | None) -> np.ndarray:
        """Model outputs -> what `Run.predict` returns, in the data's units."""
        raise NotImplementedError

    def prediction_arrays(self, out: torch.Tensor, y: torch.Tensor, state: dict[str, Any] | None) -> dict[str, np.ndarray]:
        """What predictions.npz holds for the test split (always y_true and y_pred, in data units)."""
        raise NotImplementedError

    def baselines(self, prep, *, seed: int) -> dict[str, dict[str, Any]]:
        """Simple models on the same split and inputs, scored with this task's metrics (summary["baselines"])."""
        from idealfit.baselines import fit_baselines

        return fit_baselines(prep, seed=seed)

    def figures(self, run_dir, prep, predictions: dict[str, np.ndarray], model: torch.nn.Module) -> None:
        """Write this task's own figures into the run folder at the end of training (the report shows them)."""

    def test_metrics(self, prep, predictions: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics of the test split that need each sample (not sums), added to summary's metrics.test."""
        return {}

    def evaluate_metrics(self, out: torch.Tensor, y: torch.Tensor, state: dict[str, Any] | None, *,
                         labels: np.ndarray, class_names: list[str] | None, data) -> dict[str, float]:
        """`test_metrics` again for `Run.evaluate`, from what it has instead of the training split: the model
        outputs `out` and targets `y` (as batches carry them) of every evaluated sample, the run's target
        state, the samples' labels (class ids into `class_names`, where the data has classes) and the run's
        data config (`data`, a DataConfig). Default: none."""
        return {}

    def callbacks(self, run_dir, prep, *, device: torch.device) -> list:
        """Training callbacks of this task's own (train.callbacks.Callback), e.g. figures drawn during training."""
        return []

    def history_facts(self, history: list[dict]) -> dict[str, Any]:
        """Facts about the training curves worth a summary field of their own (a GAN's balance), or {}."""
        return {}

    def monitors(self) -> list[str]:
        """The history columns early stopping can watch: val_/train_ loss and this task's epoch metrics."""
        return [f"{split}_{m}" for split in ("val", "train") for m in ("loss", *self.epoch_metrics)]

    def check_metric(self, monitor: str) -> MetricInfo:
        """The MetricInfo of a column of `monitors()`, such as "val_loss" or "val_accuracy"."""
        name = monitor.split("_", 1)[-1]
        return LOSS if name == "loss" else self.metrics[name]


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
