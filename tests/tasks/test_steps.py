"""The training step and the tasks' baselines: masks move with the images, baselines see only training data."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from idealfit.data.augment import Augment
from idealfit.data.base import Dataset
from idealfit.data.prepare import Prepared
from idealfit.tasks import get_task
from idealfit.tasks.reconstruction import reconstruction_baselines
from idealfit.tasks.segmentation import pixel_baselines
from idealfit.train.step import SupervisedStep


def _one_hot_images(mask: torch.Tensor) -> torch.Tensor:
    return F.one_hot(mask, 3).permute(0, 3, 1, 2).float()  # (B, 3, H, W): the class is in the channels


@pytest.mark.parametrize("aug", [[{"name": "flip", "p": 1.0}], [{"name": "crop", "padding": 2}],
                                 [{"name": "flip", "p": 1.0}, "contrast", "tint"]])
def test_a_segmentation_step_moves_the_mask_with_the_image(aug):
    g = torch.Generator().manual_seed(0)
    mask = torch.randint(0, 3, (4, 8, 8), generator=g)
    mask[:, :, :4] = 0  # left half background, so a flip changes the mask
    model = nn.Conv2d(3, 3, 1)
    with torch.no_grad():  # logits = 10 × the one-hot image: argmax is the class drawn in the image
        model.weight.copy_(torch.eye(3)[:, :, None, None] * 10)
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    step = SupervisedStep(model, {"main": opt}, {}, task=get_task("segmentation"),
                          augment=Augment(aug, generator=torch.Generator().manual_seed(1)))
    stats = step.train((_one_hot_images(mask), mask))
    # photometric ops (contrast, tint) rescale the channels but keep the argmax; geometric ones move both
    assert float(stats["inter"].sum()) == mask.numel()  # every pixel's class matches the moved mask


def _prep(ds: Dataset, x: dict, y: dict, state: dict | None = None, eval_x: dict | None = None) -> Prepared:
    idx = {"train": np.arange(len(x["train"])), "val": np.arange(len(x["val"])), "test": np.arange(len(x["test"]))}
    return Prepared(ds, x, y, idx, state or {}, eval_x or {})


def test_segmentation_baselines_are_fitted_on_the_training_split_only():
    rng = np.random.default_rng(0)
    x = {s: rng.random((6, 3, 8, 8)).astype(np.float32) for s in ("train", "val", "test")}
    y = {s: (x[s][:, 0] > 0.6).astype(np.int64) + (x[s][:, 1] > 0.8) for s in x}
    ds = Dataset("t", x["train"], y["train"], "segmentation", "image", class_names=["bg", "a", "b"])
    a = pixel_baselines(_prep(ds, x, y), seed=0)
    x2, y2 = copy.deepcopy(x), copy.deepcopy(y)
    for s in ("val", "test"):  # other held-out data: a baseline fitted on training data alone scores train the same
        x2[s], y2[s] = rng.random((6, 3, 8, 8)).astype(np.float32), rng.integers(0, 3, (6, 8, 8))
    b = pixel_baselines(_prep(ds, x2, y2), seed=0)
    for name in ("majority", "per_pixel"):
        assert a[name]["train"] == b[name]["train"]
        assert a[name]["val"] != b[name]["val"]
    assert a["per_pixel"]["train"]["dice"] > a["majority"]["train"]["dice"]


def test_reconstruction_baselines_are_fitted_on_the_clean_training_split_only():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(3, 20))
    clean = {s: (rng.normal(size=(50, 3)) @ basis).astype(np.float32)[:, None] for s in ("train", "val", "test")}
    noisy = {s: v + 0.5 * rng.normal(size=v.shape).astype(np.float32) for s, v in clean.items()}
    state = {"reconstruction": {"noise": 0.5, "mask_prob": 0.0, "latent": 3}, "target": {"mean": [0.0], "std": [1.0]}}
    ds = Dataset("t", clean["train"], np.zeros(50), "reconstruction", "signal")
    x = {"train": clean["train"], "val": noisy["val"], "test": noisy["test"]}
    a = reconstruction_baselines(_prep(ds, x, clean, state, {"train": noisy["train"]}), seed=0)
    assert a["identity"]["test"]["mse"] == pytest.approx(0.25, rel=0.15)  # ≈ σ²
    assert a["pca"]["test"]["mse"] < 0.5 * a["identity"]["test"]["mse"]  # 3 of 20 dimensions keep 3/20 of the noise
    x2 = dict(x, val=noisy["val"] * 0 + 5, test=noisy["test"] * 0 - 5)
    b = reconstruction_baselines(_prep(ds, x2, clean, state, {"train": noisy["train"]}), seed=0)
    assert a["pca"]["train"] == b["pca"]["train"] and a["identity"]["train"] == b["identity"]["train"]
    # the constant: each value's training mean, whatever the inputs
    expect = float(((clean["test"] - clean["train"].astype(np.float64).mean(axis=0)) ** 2).mean())
    assert a["mean"]["test"]["mse"] == pytest.approx(expect, rel=1e-5)
    assert a["mean"] == {**b["mean"], "seconds": a["mean"]["seconds"]}
    assert a["pca"]["test"]["mse"] < a["mean"]["test"]["mse"]
    assert "anomaly_auroc" not in a["pca"]["test"]  # no data.normal_classes: no anomalies to rank


def test_pca_scores_anomalies_by_its_own_reconstruction_error():
    """data.normal_classes: PCA fitted on the normal classes' subspace ranks samples off it as anomalies."""
    rng = np.random.default_rng(2)
    basis, other = rng.normal(size=(3, 20)), rng.normal(size=(3, 20))
    label = {"train": np.zeros(60, int), "val": np.zeros(20, int), "test": np.repeat([0, 1], 20)}
    clean = {s: np.where((lab == 0)[:, None], rng.normal(size=(len(lab), 3)) @ basis,
                         rng.normal(size=(len(lab), 3)) @ other).astype(np.float32)[:, None]
             for s, lab in label.items()}
    state = {"reconstruction": {"noise": 0.0, "mask_prob": 0.0, "latent": 3}, "target": {"mean": [0.0], "std": [1.0]}}
    ds = Dataset("t", clean["test"], label["test"], "reconstruction", "signal", class_names=["ok", "odd"],
                 meta={"normal_classes": ["ok"]})
    a = reconstruction_baselines(_prep(ds, clean, clean, state), seed=0)
    assert a["pca"]["test"]["anomaly_auroc"] == pytest.approx(1.0)  # the normal subspace is exact: error 0 vs > 0
    ds.y = np.repeat([1, 0], 20)  # the same samples with the labels swapped: the normal ones rank highest
    assert reconstruction_baselines(_prep(ds, clean, clean, state), seed=0)["pca"]["test"]["anomaly_auroc"] == 0.0
    ds.y = np.zeros(40, int)  # no anomaly in the test split: nothing to rank
    assert "anomaly_auroc" not in reconstruction_baselines(_prep(ds, clean, clean, state), seed=0)["pca"]["test"]


def test_reconstruction_without_corruption_lists_no_identity_baseline():
    # without data.noise or data.mask_prob the input is the target: the identity's error is a trivial 0, which
    # printed as "identity val 0 test 0" beside the network's 0.43 (newcomer R20)
    rng = np.random.default_rng(2)
    clean = {s: rng.normal(size=(40, 1, 12)).astype(np.float32) for s in ("train", "val", "test")}
    state = {"reconstruction": {"noise": 0.0, "mask_prob": 0.0, "latent": 2}, "target": {"mean": [0.0], "std": [1.0]}}
    ds = Dataset("t", clean["train"], np.zeros(40), "reconstruction", "signal")
    plain = reconstruction_baselines(_prep(ds, clean, clean, state), seed=0)
    assert set(plain) == {"mean", "pca"}
    assert plain["pca"]["val"]["mse"] > 0.5  # 2 of 12 independent dimensions: most of the variance is lost
    erased = {**state, "reconstruction": {**state["reconstruction"], "mask_prob": 0.3}}
    x = {s: np.where(rng.random(v.shape) < 0.3, 0, v).astype(np.float32) for s, v in clean.items()}
    masked = reconstruction_baselines(_prep(ds, x, clean, erased), seed=0)
    expect = float(((x["val"] - clean["val"]) ** 2).mean())
    assert masked["identity"]["val"]["mse"] == pytest.approx(expect, rel=1e-6) and expect > 0.2
