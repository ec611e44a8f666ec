"""Convolutional networks (the deck's Deep Convolution Network): conv -> non-linearity -> pooling, then dense.

1-D inputs (C, L) get Conv1d, images (C, H, W) get Conv2d.
"""

from __future__ import annotations

import math

from torch import nn

from idealfit.config import ModelConfig
from idealfit.errors import UserError
from idealfit.models.blocks import activation
from idealfit.models.mlp import dense_stack


def build_cnn(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """Blocks of Conv (same padding) -> [BatchNorm] -> activation -> [2× pooling], then Flatten and dense.

    With `model.block_convs` = n >= 2 a block is airbench94's ConvGroup: Conv -> pool -> [BN] -> act, then
    n - 1 × (Conv -> [BN] -> act) at the pooled size (pooling first makes the later convolutions 4× cheaper).
    """
    if len(input_shape) not in (2, 3):
        raise UserError(f"model.name=cnn needs images (C, H, W) or signals (C, L); this data has shape "
                        f"{tuple(input_shape)}: use model.name=mlp")
    one_d = len(input_shape) == 2
    conv, bn = (nn.Conv1d, nn.BatchNorm1d) if one_d else (nn.Conv2d, nn.BatchNorm2d)
    pool = {"max": nn.MaxPool1d if one_d else nn.MaxPool2d, "avg": nn.AvgPool1d if one_d else nn.AvgPool2d}
    layers: list[nn.Module] = []
    channels, spatial = input_shape[0], list(input_shape[1:])
    for w in cfg.widths:
        pools = cfg.pool != "none" and min(spatial) >= 2  # stop pooling once a map is a single pixel
        for i in range(cfg.block_convs):
            layers.append(conv(channels if i == 0 else w, w, cfg.kernel_size, padding=cfg.kernel_size // 2))
            if pools and i == 0 and cfg.block_convs > 1:
                layers.append(pool[cfg.pool](2))
            if cfg.batchnorm:
                layers.append(bn(w))
            layers.append(activation(cfg.activation))
        if pools:
            if cfg.block_convs == 1:
                layers.append(pool[cfg.pool](2))
            spatial = [s // 2 for s in spatial]
        channels = w
    return [*layers, nn.Flatten(), *dense_stack(channels * math.prod(spatial), out_dim, cfg)]
