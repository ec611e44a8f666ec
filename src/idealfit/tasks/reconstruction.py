"""Reproduce the input through a narrow code (an autoencoder); with noise, a *denoising* one.

Inputs and targets are standardized on the training split (tables by the table preprocessor, images
and signals per channel here), and the corruption is given in those units: `data.noise` = σ of added
Gaussian noise, `data.mask_prob` = share of input values erased (set to 0, the training mean).
Training draws a fresh corruption for every batch; validation and test each use one fixed, seeded
corruption (each its own draw), so their numbers compare across runs. Metrics (mse, mae) are in the same standardized
units, where the identity baseline's MSE is about σ².
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idealfit.tasks.base import MetricInfo, Task

CORRUPTION_SEED = 12345  # the fixed validation corruption (same for every run of a dataset)
# the test split's own draw: with the validation seed, two splits of one size got the very same noise (their
# identity baselines agreed to 7 digits), so the test corruption was not independent of model selection's
TEST_CORRUPTION_SEED = 67890


class Corruption:
    """Gaussian noise of std `noise` plus erasing (to 0) with probability `mask_prob`, per value.

    Args:
        noise: σ in standardized units (0 = none). mask_prob: share of values erased (0 = none).
        generator: CPU generator for the draws, seeded and checkpointed with the run.
    """

    def __init__(self, *, noise: float, mask_prob: float, generator: torch.Generator | None = None):
        self.noise, self.mask_prob, self.generator = noise, mask_prob, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.noise > 0:
            x = x + self.noise * torch.randn(x.shape, generator=self.generator).to(x.device)
        if self.mask_prob > 0:
            keep = torch.rand(x.shape, generator=self.generator).to(x.device) >= self.mask_prob
            x = x * keep
        return x

    def fixed(self, x: np.ndarray, *, seed: int = CORRUPTION_SEED) -> np.ndarray:
        """The one corruption of a validation or test split: a seeded draw."""
        g = torch.Generator().manual_seed(seed)
        return Corruption(noise=self.noise, mask_prob=self.mask_prob, generator=g)(torch.from_numpy(x)).numpy()


class Reconstruction(Task):
    name = "reconstruction"
    metric = "mse"
    metrics = {"mse": MetricInfo(False, False, "mean squared error (standardized units)"),
               "mae": MetricInfo(False, False, "mean absolute error (standardized units)"),
               "anomaly_auroc": MetricInfo(True, True, "ROC AUC of the reconstruction error at telling anomalies")}
    epoch_metrics = ("mse",)
    scales_targets = True
    targets_are_inputs = True

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        return int(np.prod(input_shape))

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y)

    def stats(self, out, y, loss):
        s = super().stats(out, y, loss)
        err = out.detach().double() - y.double()
        s.update(sse=(err ** 2).sum(), sae=err.abs().sum(), values=float(y.numel()))
        return s

    def finish(self, sums: dict[str, Any], state) -> dict[str, float]:
        v = sums["values"]
        return {"loss": sums["loss"] / sums["n"], "mse": sums["sse"] / v, "mae": sums["sae"] / v}

    def decode(self, out: torch.Tensor, state) -> np.ndarray:
        return unstandardize(out.float().numpy(), state)

    def prediction_arrays(self, out, y, state):
        return {"y_true": unstandardize(y.float().numpy(), state), "y_pred": self.decode(out, state)}

    def baselines(self, prep, *, seed: int) -> dict[str, dict[str, Any]]:
        return reconstruction_baselines(prep, seed=seed)

    def test_metrics(self, prep, predictions: dict[str, np.ndarray]) -> dict[str, float]:
        """anomaly_auroc (data.normal_classes): how well the reconstruction error ranks the test samples of the
        other classes above the normal ones (0.5 = chance, 1 = perfect)."""
        std = np.asarray(prep.state["target"]["std"], np.float32)
        diff = predictions["y_pred"] - predictions["y_true"]
        auroc = anomaly_auroc(prep, diff / per_channel(std, diff))
        return {} if auroc is None else {"anomaly_auroc": auroc}

    def evaluate_metrics(self, out, y, state, *, labels, class_names, data) -> dict[str, float]:
        """anomaly_auroc of the evaluated samples, as `test_metrics`; `y` are the inputs, standardized."""
        auroc = rank_anomalies(labels, class_names, data.normal_classes, (out.float() - y).numpy())
        return {} if auroc is None else {"anomaly_auroc": auroc}

    def figures(self, run_dir, prep, predictions, model) -> None:
        from idealfit.report.reconstruction import write_examples, write_latent

        write_examples(run_dir, prep, predictions)
        write_latent(run_dir, prep, model)


def anomaly_auroc(prep, err: np.ndarray) -> float | None:
    """ROC AUC of each test sample's mean squared reconstruction error `err` (test split, standardized units)
    at telling the classes outside data.normal_classes from those inside; None without normal_classes, or when
    the test split holds only one of the two kinds."""
    ds = prep.dataset
    return rank_anomalies(ds.y[prep.indices["test"]], ds.class_names, ds.meta.get("normal_classes"), err)


def rank_anomalies(labels: np.ndarray, class_names: list[str] | None, normal: list | None,
                   err: np.ndarray) -> float | None:
    """ROC AUC of the per-sample mean squared `err` (N, ...) at ranking samples whose label (ids into
    `class_names`) is not one of the `normal` class names above those that are; None when there is nothing
    to rank (no normal classes given, or the samples hold one kind only)."""
    if not normal or not class_names:
        return None
    from sklearn.metrics import roc_auc_score

    ids = [class_names.index(str(c)) for c in normal if str(c) in class_names]
    anomaly = ~np.isin(labels, ids)
    if anomaly.all() or not anomaly.any():
        return None
    return float(roc_auc_score(anomaly, (err.astype(np.float64) ** 2).reshape(len(err), -1).mean(axis=1)))


def per_channel(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A per-channel vector `v` (the target's std) shaped to broadcast over x (N, C, ...); a scalar for one."""
    return v.reshape(_channel_shape(x)) if v.size > 1 else v.reshape(())


def _channel_shape(x: np.ndarray) -> tuple[int, ...]:
    return (1, -1) + (1,) * (x.ndim - 2)  # broadcast a per-channel vector over (N, C, ...)


def standardize(x: dict[str, np.ndarray], norm: dict | None, kind: str) -> tuple[dict, dict[str, Any]]:
    """Per split, the inputs in standardized units, and the target state {"mean", "std"} per channel.

    `norm` is the per-channel {"mean", "std"} fitted on the training split (or a run's target state)."""
    if kind == "table" or norm is None:  # tables come standardized from the table preprocessor
        return x, {"mean": [0.0], "std": [1.0]}
    mean, std = np.asarray(norm["mean"], np.float32), np.asarray(norm["std"], np.float32)
    shape = _channel_shape(next(iter(x.values())))
    return ({s: ((v - mean.reshape(shape)) / std.reshape(shape)).astype(np.float32) for s, v in x.items()},
            {"mean": mean.tolist(), "std": std.tolist()})


def unstandardize(x: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    mean, std = np.asarray(state["mean"], np.float32), np.asarray(state["std"], np.float32)
    if x.ndim < 2 or mean.size == 1:
        return x * std.reshape(()) + mean.reshape(()) if mean.size == 1 else x
    shape = _channel_shape(x)
    return x * std.reshape(shape) + mean.reshape(shape)


def reconstruction_baselines(prep, *, seed: int) -> dict[str, dict[str, Any]]:
    """identity (only when data.noise or data.mask_prob corrupts the input: else it is the target itself, error 0,
    which printed as "identity val 0 test 0" beside the network's error read as a rival it cannot beat): the
    corrupted input returned as it is (MSE ≈ σ² + erased share); mean: the training split's
    mean target for every sample (about 1: no learning at all); pca: the clean training split's first `latent`
    principal components, applied to the corrupted inputs (with data.normal_classes, also its test
    anomaly_auroc: its reconstruction error as the anomaly score)."""
    import time

    from sklearn.decomposition import PCA

    from idealfit.baselines import SPLITS

    cfg = prep.state["reconstruction"]
    x, y = prep.x, prep.y
    # the training split's inputs are clean in prep.x (corrupted per batch): the run's fixed corruption
    inputs = {s: prep.eval_x.get(s, x[s]) for s in SPLITS}

    def scores(pred: dict[str, np.ndarray]) -> dict[str, Any]:
        return {s: {"mse": float(((pred[s] - y[s]) ** 2).mean()), "mae": float(np.abs(pred[s] - y[s]).mean())}
                for s in SPLITS}

    out: dict[str, dict[str, Any]] = {}
    if cfg["noise"] or cfg["mask_prob"]:  # without corruption the input is the target: a "perfect" 0, no rival
        t0 = time.perf_counter()
        out["identity"] = scores(inputs)
        out["identity"]["seconds"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    mean = y["train"].astype(np.float64).mean(axis=0)  # the training split's mean target: the constant to beat
    out["mean"] = scores({s: np.broadcast_to(mean, y[s].shape).astype(np.float32) for s in SPLITS})
    out["mean"]["seconds"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    flat = {s: v.reshape(len(v), -1).astype(np.float64) for s, v in inputs.items()}
    k = min(cfg["latent"], *flat["train"].shape)
    pca = PCA(n_components=k, random_state=seed).fit(y["train"].reshape(len(y["train"]), -1))
    recon = {s: pca.inverse_transform(pca.transform(v)).reshape(y[s].shape).astype(np.float32) for s, v in flat.items()}
    out["pca"] = scores(recon)
    # anomaly detection's classic baseline: PCA's reconstruction error as the anomaly score, on the same test split
    if (auroc := anomaly_auroc(prep, recon["test"] - y["test"])) is not None:
        out["pca"]["test"]["anomaly_auroc"] = auroc
    out["pca"]["seconds"] = round(time.perf_counter() - t0, 3)
    out["pca"]["note"] = f"{k} components (model.latent), fitted on the clean training split"
    return out
