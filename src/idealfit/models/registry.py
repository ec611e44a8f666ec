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
from idealfit.models.rnn import build_rnn


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


def build_pix2pix(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    from idealfit.models.pix2pix import Pix2Pix

    if len(input_shape) != 3:
        raise UserError(f"model.name=pix2pix needs images (C, H, W); this data has shape {tuple(input_shape)}")
    return [Pix2Pix(input_shape[0], out_dim, widths=tuple(cfg.widths), skip=cfg.skip, batchnorm=cfg.batchnorm,
                    dropout=cfg.dropout, discriminator=cfg.gan_weight > 0, d_width=cfg.d_width)]


@dataclass(frozen=True)
class Family:
    build: Callable[[tuple[int, ...], int, ModelConfig], list[nn.Module]]  # (input shape, outputs, config) -> layers
    kinds: tuple[str, ...]  # the data kinds it takes
    tasks: tuple[str, ...]  # the tasks it learns
    defaults: dict[str, Any] = field(default_factory=dict)  # config values it prefers, unless set by the user


FAMILIES: dict[str, Family] = {
    "mlp": Family(build_mlp, ("table", "signal", "image", "audio"), ("classification", "regression")),
    "cnn": Family(build_cnn, ("image", "signal", "audio"), ("classification", "regression")),
    # Its own defaults live in ModelConfig (cell gru, 2 layers of 64); the generic training ones (Adam lr 3e-3,
    # cosine, 30 epochs, batch 64) suit it. Measured on mnist1d (benchmarks/sequences.py; 2-core CPU shared with
    # other jobs, 1 thread chosen by train.threads=auto; test accuracy, seeds 0/1/2, seconds of training):
    # 2 GRU layers of 64: 97.4/97.5/98.0% in 38-58 s (45-72 s at load 5-6). One layer of 64: 95.8/97.0/96.0%
    # in 25-30 s; one of 128: 96.4/97.8/97.1% in 54-58 s; one bidirectional layer of 64: 97.4% (seed 0) in 47 s;
    # bidirectional 128 for 40 epochs: 98.2% but 187 s, over the 3-minute budget. Target: >= 94% (Greydanus:
    # GRU 91%, CNN 94%).
    # Other cells at these settings (seed 0): lstm 90.3% in 58 s (one layer: 68.6%); the plain rnn stays at
    # chance (9.4%, stopped after 9 epochs; train.clip_grad=1 and lr 1e-3: 49.3%): the vanishing gradient
    # over 40 steps that the gated cells were made for.
    # On text, token ids go through an embedding first (models/build.py): `words` 76.4% / 75.2% test accuracy
    # (seeds 0/1; naive Bayes of the same runs 74.7% / 74.1%) in 81 / 63 s with config.TEXT_DEFAULTS (benchmarks/text.py).
    # On audio it reads the spectrogram's frames as time steps (mels features each), with config.AUDIO_DEFAULTS:
    # spoken_digits 99.2% test accuracy on held-out voices (seeds 0 and 1) in 36-37 s; the CNN defaults with the same
    # masks 95.8% in 228 s (benchmarks/speech.py), so model.name=auto picks rnn for audio.
    "rnn": Family(build_rnn, ("signal", "text", "audio"), ("classification", "regression")),
    # Chosen on `shapes` (benchmarks/segmentation.py): widths [8, 16, 32] train ~4x faster per epoch than
    # [16, 32, 64] for a similar Dice; the one-cycle schedule at lr 1e-2 reached test Dice 0.93 in 14 epochs
    # (lr 3e-3: 0.80 after 8). Batch normalization stays on (without it: Dice 0.44 after one epoch, not 0.84).
    "unet": Family(build_unet, ("image",), ("segmentation",),
                   {"model.widths": [8, 16, 32], "train.schedule": "onecycle", "train.lr": 1e-2, "train.epochs": 12}),
    # Chosen on denoising MNIST-1D at σ = 0.5 (benchmarks/denoising.py): a 32-wide code and the one-cycle
    # schedule reach test MSE 0.119 in ~13 s on one core (a 16-wide code stalls near 0.16, whatever the
    # network: the code is the limit; the dense autoencoder stalls near the best linear filter, 0.122).
    # The paper's optimizer settings (Adam lr 2e-4, β1 = 0.5: set by the pix2pix step), constant rate. The
    # discriminator is a quarter of the paper's width (d_width 16, not 64: 0.18M weights, not 2.8M): on
    # labels2shapes a training step on 2 CPU threads takes 141 ms, not 382 ms (an epoch ~15 s, not ~35 s),
    # and it still turns the L1-only grey average into coloured, textured renderings (benchmarks/gan.py:
    # sharpness_ratio 0.023 -> 0.215, FCN mean IoU 0.000 -> 0.084 after 10 epochs).
    "pix2pix": Family(build_pix2pix, ("image_pair",), ("translation",),
                      {"model.widths": [16, 32, 64], "model.d_width": 16, "train.lr": 2e-4,
                       "train.schedule": "constant", "train.batch_size": 16, "train.epochs": 20,
                       # no early stopping on the L1 score: a GAN's L1 rises as its images leave the blurry
                       # average (a labels2shapes run stopped at epoch 9 and kept epoch 1's weights); the
                       # paper trains a fixed number of epochs, and so does the L1-only ablation beside it
                       "train.early_stopping": False}),
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
    ("image_pair", "translation"): "pix2pix",
    ("text", "classification"): "rnn",
    ("audio", "classification"): "rnn",  # chosen on spoken_digits (benchmarks/speech.py; see the rnn family)
}

# Forecasting (issue 11): a series window (C, window) is a signal to the dense (mlp: every value of the window),
# 1-D conv (cnn) and recurrent (rnn: one step per time step) families. A series is only ever forecast, and only
# series are forecast (`accepts`).
for _name in ("mlp", "cnn", "rnn"):
    _fam = FAMILIES[_name]
    FAMILIES[_name] = Family(_fam.build, (*_fam.kinds, "series"), (*_fam.tasks, "forecasting"), _fam.defaults)
AUTO[("series", "forecasting")] = "mlp"
ONLY_TOGETHER = {"series": "forecasting"}  # a kind that has one task, and that task's only kind


def accepts(family: str, *, kind: str, task: str) -> bool:
    """Whether `family` learns `task` on `kind` data (the kind and task also fit each other)."""
    fam = FAMILIES[family]
    pair_ok = all((kind == k) == (task == t) for k, t in ONLY_TOGETHER.items())
    return kind in fam.kinds and task in fam.tasks and pair_ok


def choose_family(name: str, *, kind: str, task: str) -> str:
    """The family for `model.name` (auto: by kind and task), refused if it cannot take this data or task."""
    if name == "auto":
        if (kind, task) not in AUTO:
            raise UserError(f"no model family learns {task} on {kind} data")
        return AUTO[kind, task]
    fam = FAMILIES[name]
    if not accepts(name, kind=kind, task=task):
        valid = [n for n in FAMILIES if accepts(n, kind=kind, task=task)]
        needs = f"{' or '.join(fam.kinds)} data for {' or '.join(fam.tasks)}"
        raise UserError(f"model.name={name} needs {needs}; this is {task} on {kind} data: use "
                        f"model.name={' or '.join(valid) if valid else 'auto'}")
    return name
