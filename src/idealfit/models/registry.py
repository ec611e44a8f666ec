"""Model families: a plain dict, each family saying which kinds of data and which tasks it takes.

An impossible pair (a U-Net on a table, an MLP on masks) is refused before any work, with the valid
choices; `model.name=auto` is one table keyed by (kind, task).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from idealfit.config import ModelConfig
from idealfit.errors import UserError
from idealfit.models.cnn import build_cnn
from idealfit.models.mlp import build_mlp


def build_unet(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    from idealfit.models.unet import UNet

    if len(input_shape) != 3:
        raise UserError(f"model.name=unet needs images (C, H, W); this data has shape {tuple(input_shape)}")
    return [UNet(input_shape[0], out_dim, widths=tuple(cfg.widths), skip=cfg.skip, batchnorm=cfg.batchnorm,
                 dropout=cfg.dropout)]


def build_autoencoder(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """Convolutional (transposed convolutions up) for images and signals, dense for tables."""
    from idealfit.models.autoencoder import ConvAutoencoder, DenseAutoencoder

    if len(input_shape) in (2, 3):
        return [ConvAutoencoder(input_shape, latent=cfg.latent, widths=tuple(cfg.widths), batchnorm=cfg.batchnorm)]
    return [DenseAutoencoder(input_shape, latent=cfg.latent, hidden=tuple(cfg.hidden), batchnorm=cfg.batchnorm,
                             dropout=cfg.dropout)]


@dataclass(frozen=True)
class Family:
    build: Callable[[tuple[int, ...], int, ModelConfig], list[nn.Module]]  # (input shape, outputs, config) -> layers
    kinds: tuple[str, ...]  # the data kinds it takes
    tasks: tuple[str, ...]  # the tasks it learns
    defaults: dict[str, Any] = field(default_factory=dict)  # config values it prefers, unless set by the user


FAMILIES: dict[str, Family] = {
    "mlp": Family(build_mlp, ("table", "signal", "image"), ("classification", "regression")),
    "cnn": Family(build_cnn, ("image", "signal"), ("classification", "regression")),
    # widths [16, 32, 64]: three levels reach 16×16 features on 64×64 images at a few seconds per epoch
    "unet": Family(build_unet, ("image",), ("segmentation",), {"model.widths": [16, 32, 64]}),
    # Chosen on denoising MNIST-1D at σ = 0.5 (benchmarks/denoising.py): a 32-wide code and the one-cycle
    # schedule reach test MSE 0.119 in ~13 s on one core (a 16-wide code stalls near 0.16, whatever the
    # network: the code is the limit; the dense autoencoder stalls near the best linear filter, 0.122).
    "autoencoder": Family(build_autoencoder, ("table", "signal", "image"), ("reconstruction",),
                          {"model.widths": [32, 64], "model.latent": 32, "train.schedule": "onecycle",
                           "train.epochs": 60, "train.batch_size": 64}),
}

AUTO: dict[tuple[str, str], str] = {
    ("table", "classification"): "mlp", ("table", "regression"): "mlp",
    ("image", "classification"): "cnn", ("image", "regression"): "cnn",
    ("signal", "classification"): "cnn", ("signal", "regression"): "cnn",
    ("image", "segmentation"): "unet",
    ("table", "reconstruction"): "autoencoder", ("signal", "reconstruction"): "autoencoder",
    ("image", "reconstruction"): "autoencoder",
}


def choose_family(name: str, *, kind: str, task: str) -> str:
    """The family for `model.name` (auto: by kind and task), refused if it cannot take this data or task."""
    if name == "auto":
        if (kind, task) not in AUTO:
            raise UserError(f"no model family learns {task} on {kind} data")
        return AUTO[kind, task]
    fam = FAMILIES[name]
    if kind not in fam.kinds or task not in fam.tasks:
        valid = [n for n, f in FAMILIES.items() if kind in f.kinds and task in f.tasks]
        needs = f"{' or '.join(fam.kinds)} data for {' or '.join(fam.tasks)}"
        raise UserError(f"model.name={name} needs {needs}; this is {task} on {kind} data: use "
                        f"model.name={' or '.join(valid) if valid else 'auto'}")
    return name
