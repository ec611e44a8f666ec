"""Dense (fully connected) networks: the deck's Deep Feed Forward (DFF) network."""

from __future__ import annotations

import math

from torch import nn

from idealfit.config import ModelConfig
from idealfit.models.blocks import activation


def dense_stack(in_features: int, out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """Hidden layers [dropout] -> Linear -> [BatchNorm] -> activation, then [dropout] -> Linear head.

    Dropout sits before every Linear layer (the deck: "randomly set some activations to 0"),
    so its probability shapes what each dense layer may rely on.
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in cfg.hidden:
        if cfg.dropout:
            layers.append(nn.Dropout(cfg.dropout))
        layers.append(nn.Linear(width, h))
        if cfg.batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(activation(cfg.activation))
        width = h
    if cfg.dropout:
        layers.append(nn.Dropout(cfg.dropout))
    layers.append(nn.Linear(width, out_dim))
    return layers


def build_mlp(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """Flatten any input (table row, image, signal) and apply the dense stack."""
    return [nn.Flatten(), *dense_stack(math.prod(input_shape), out_dim, cfg)]
