"""A class per pixel (the deck's convolution + deconvolution row): cross-entropy and/or Dice loss;
pixel accuracy, mean IoU and Dice over the foreground classes.

Class 0 is the background. IoU and Dice are averaged over the foreground classes (1..K-1) that
occur in the targets or the predictions of the evaluated set: a class absent from both has no
defined overlap, and counting it as 1 (or 0) would flatter (or punish) a model for nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idealfit.tasks.base import MetricInfo, Task

LOSSES = ("ce", "dice", "ce+dice")
SMOOTH = 1.0  # Dice loss smoothing: an empty class in a batch gives a loss of 0, not 0/0


def soft_dice_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """1 − mean over foreground classes of (2·Σ p·t + s) / (Σ p + Σ t + s), p = softmax(out), over the batch.

    Args:
        out: (B, K, H, W) logits. y: (B, H, W) class ids.
    """
    p = torch.softmax(out.float(), dim=1)
    t = F.one_hot(y, out.shape[1]).permute(0, 3, 1, 2).float()  # (B, K, H, W)
    dims = (0, 2, 3)
    inter, total = (p * t).sum(dims), p.sum(dims) + t.sum(dims)  # (K,)
    dice = (2 * inter + SMOOTH) / (total + SMOOTH)
    return 1 - dice[1:].mean() if out.shape[1] > 1 else 1 - dice.mean()


class Segmentation(Task):
    name = "segmentation"
    metric = "dice"
    metrics = {"dice": MetricInfo(True, True, "Dice (mean over foreground classes)"),
               "miou": MetricInfo(True, True, "mean IoU (over foreground classes)"),
               "pixel_accuracy": MetricInfo(True, True, "pixel accuracy")}
    epoch_metrics = ("dice", "miou", "pixel_accuracy")
    has_classes = True
    augments_targets = True  # a flip or crop moves the mask with the image

    def __init__(self, loss: str = "ce"):
        self.loss_name = loss
        # a Dice loss is computed over a whole batch, so an epoch's logged loss is a mean of batch
        # losses and depends (a little) on the batching; the metrics never do
        self.additive_loss = loss == "ce"

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        return num_classes

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "ce":
            return F.cross_entropy(out, y)
        if self.loss_name == "dice":
            return soft_dice_loss(out, y)
        return F.cross_entropy(out, y) + soft_dice_loss(out, y)

    def stats(self, out, y, loss):
        s = super().stats(out, y, loss)
        k = out.shape[1]
        pred = out.argmax(1)
        # per-class pixel counts in one bincount each: true, predicted, and both (the intersection)
        s["true"] = torch.bincount(y.reshape(-1), minlength=k).double()
        s["pred"] = torch.bincount(pred.reshape(-1), minlength=k).double()
        s["inter"] = torch.bincount(y[pred == y].reshape(-1), minlength=k).double()
        return s

    def finish(self, sums: dict[str, Any], state) -> dict[str, Any]:
        return {"loss": sums["loss"] / sums["n"], **overlap_metrics(sums["true"], sums["pred"], sums["inter"])}

    def decode(self, out: torch.Tensor, state) -> np.ndarray:
        return out.argmax(1).numpy().astype(np.uint8 if out.shape[1] <= 256 else np.int64)  # (N, H, W) masks

    def prediction_arrays(self, out, y, state):
        masks = self.decode(out, state)
        return {"y_true": y.numpy().astype(masks.dtype), "y_pred": masks}


    def baselines(self, prep, *, seed: int) -> dict[str, dict[str, Any]]:
        return pixel_baselines(prep, seed=seed)

    def figures(self, run_dir, prep, predictions: dict[str, np.ndarray], model) -> None:
        if prep.dataset.paths is not None or not len(predictions["y_pred"]):
            return
        write_examples(run_dir / "segmentation.png", prep.x["test"][:EXAMPLES], predictions["y_true"][:EXAMPLES],
                       predictions["y_pred"][:EXAMPLES])


def overlap_metrics(true: list[float], pred: list[float], inter: list[float]) -> dict[str, Any]:
    """Pixel accuracy, IoU and Dice per class and their means over the foreground classes that occur."""
    t, p, i = (np.asarray(v, dtype=np.float64) for v in (true, pred, inter))
    union, total = t + p - i, t + p
    with np.errstate(invalid="ignore", divide="ignore"):
        iou, dice = np.where(union > 0, i / union, np.nan), np.where(total > 0, 2 * i / total, np.nan)
    fg = slice(1, None) if len(t) > 1 else slice(None)
    seen = ~np.isnan(iou[fg])
    return {"pixel_accuracy": float(i.sum() / t.sum()) if t.sum() else float("nan"),
            "miou": float(iou[fg][seen].mean()) if seen.any() else float("nan"),
            "dice": float(dice[fg][seen].mean()) if seen.any() else float("nan"),
            "iou_per_class": [None if np.isnan(v) else float(v) for v in iou],
            "dice_per_class": [None if np.isnan(v) else float(v) for v in dice]}


EXAMPLES = 6  # test images in the report's figure
PIXEL_SAMPLE = 100_000  # training pixels the per-pixel baseline fits on


def _counts(y: np.ndarray, pred: np.ndarray, k: int) -> dict[str, Any]:
    y, pred = y.reshape(-1).astype(np.int64), pred.reshape(-1).astype(np.int64)
    return overlap_metrics(np.bincount(y, minlength=k), np.bincount(pred, minlength=k),
                           np.bincount(y[pred == y], minlength=k))


def pixel_baselines(prep, *, seed: int) -> dict[str, dict[str, Any]]:
    """Two baselines that see no neighbourhood (the deck's point that a dense network on pixels has no
    spatial information): every pixel the most frequent training class ("majority"), and a logistic
    regression on each pixel's own channel values ("per_pixel", fitted on PIXEL_SAMPLE training pixels)."""
    import time

    from sklearn.linear_model import LogisticRegression

    from idealfit.baselines import SPLITS

    if prep.dataset.paths is not None:
        return {}  # streamed from disk: no arrays to fit on cheaply
    k = prep.dataset.num_classes
    x, y = prep.x, prep.y
    t0 = time.perf_counter()
    major = int(np.bincount(y["train"].reshape(-1), minlength=k).argmax())
    out: dict[str, dict[str, Any]] = {"majority": {s: _scores(_counts(y[s], np.full_like(y[s], major), k))
                                                   for s in SPLITS}}
    out["majority"]["seconds"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()

    def pixels(split: str) -> np.ndarray:  # (N, C, H, W) -> (N·H·W, C)
        a = x[split]
        return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1]).astype(np.float64)

    xt, yt = pixels("train"), y["train"].reshape(-1)
    pick = np.random.default_rng(seed).choice(len(yt), size=min(PIXEL_SAMPLE, len(yt)), replace=False)
    if len(np.unique(yt[pick])) < 2:
        return out
    # balanced class weights: unweighted, colour alone predicts the background everywhere (Dice 0)
    model = LogisticRegression(max_iter=500, class_weight="balanced").fit(xt[pick], yt[pick])
    out["per_pixel"] = {s: _scores(_counts(y[s], model.predict(pixels(s)).reshape(y[s].shape), k)) for s in SPLITS}
    out["per_pixel"]["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _scores(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in ("dice", "miou", "pixel_accuracy", "iou_per_class")}


def write_examples(path, images: np.ndarray, true: np.ndarray, pred: np.ndarray, *, scale: int = 2) -> None:
    """One PNG: a row per image (image | true mask over it | predicted mask over it), enlarged `scale`×."""
    from idealfit.data.masks import overlay
    from idealfit.report.sheets import to_rgb8, write_sheet

    write_sheet(path, [[to_rgb8(im), overlay(im, t), overlay(im, p)] for im, t, p in zip(images, true, pred, strict=True)],
                scale=scale, titles=["image", "truth", "prediction"])
