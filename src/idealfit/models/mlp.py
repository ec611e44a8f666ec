"""Dense (fully connected) networks: the deck's Deep Feed Forward (DFF) network."""

from __future__ import annotations

import math

import torch
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


class WideDeep(nn.Module):
    """Wide & deep (Cheng et al. 2016): out = deep(x) + wide(x), a linear path beside the dense stack.

    The wide path is what a linear model fits; the deep path only has to learn what the linear one
    misses. It has no bias: the deep head's bias already shifts the sum. `model.wide`, on by default for tables
    and series (config.TABLE_DEFAULTS, SERIES_DEFAULTS) with `model.wide_init=linear`, which starts it at the
    linear baseline's fit (models/linear_init.py): on benchmarks/tables.py that halved the cells more than a
    point below the better scikit-learn baseline (see its header); started at random it did not close the gap.

    Args:
        deep: the dense stack, (B, in_features) -> (B, out_dim); or a CNN or RNN over a series window (B, C, L),
            whose wide path then reads the window flattened (C · L features: the AR model's inputs).
        in_features, out_dim: sizes of the wide Linear layer.
        encode: a table's piecewise-linear encoding (models/ple.PiecewiseLinear) that the wide path reads
            (`model.ple_paths=wide`); `encode_deep`: the deep path reads it too (`both`). Default None: raw inputs.
    """

    def __init__(self, deep: nn.Module, in_features: int, out_dim: int, *, encode: nn.Module | None = None,
                 encode_deep: bool = False):
        super().__init__()
        self.deep = deep
        self.wide = nn.Linear(in_features, out_dim, bias=False)
        # model.ple_paths=wide|both: the wide path (and with both, the deep one) reads the table's piecewise-linear
        # encoding (models/ple.py), computed once here; `in_features` is then the encoding's width
        self.encode, self.encode_deep = encode, encode_deep

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_features) or (B, C, L) -> (B, out_dim)
        if self.encode is None:
            return self.deep(x) + self.wide(x.flatten(1))  # a CNN's deep path reads the window unflattened
        e = self.encode(x)  # (B, F) -> (B, F · T)
        return self.deep(e if self.encode_deep else x) + self.wide(e)


def build_mlp(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """Flatten any input (table row, image, signal) and apply the dense stack (with `cfg.wide`, beside a
    linear path from the inputs to the output; with `cfg.num_embedding=ple`, the dense stack, the wide path or
    both (`cfg.ple_paths`) read each input's piecewise-linear encoding in `cfg.ple_bins` bins: models/ple.py,
    whose `fit_piecewise` sets the bins' edges from the training split before training)."""
    in_features = math.prod(input_shape)
    if cfg.num_embedding != "ple":
        layers = dense_stack(in_features, out_dim, cfg)
        if cfg.wide:
            return [nn.Flatten(), WideDeep(nn.Sequential(*layers), in_features, out_dim)]
        return [nn.Flatten(), *layers]
    from idealfit.models.ple import PerFeatureLinear, PiecewiseLinear

    # model.ple_paths: the deep path reads each feature's bins (models/ple.py), or d learned numbers made of them
    # (model.ple_dim), and the wide path the raw features (deep); or the wide path reads the bins (wide); or both do
    encode, coded = PiecewiseLinear(in_features, cfg.ple_bins), in_features * cfg.ple_bins
    embed = [PerFeatureLinear(in_features, cfg.ple_bins, cfg.ple_dim)] if cfg.ple_dim else []
    deep_in = in_features if cfg.ple_paths == "wide" else in_features * cfg.ple_dim if embed else coded
    deep = [*embed, *dense_stack(deep_in, out_dim, cfg)]
    if cfg.wide and cfg.ple_paths != "deep":
        both = cfg.ple_paths == "both"
        return [nn.Flatten(), WideDeep(nn.Sequential(*deep), coded, out_dim, encode=encode, encode_deep=both)]
    if cfg.wide:
        return [nn.Flatten(), WideDeep(nn.Sequential(encode, *deep), in_features, out_dim)]
    return [nn.Flatten(), encode, *deep]
