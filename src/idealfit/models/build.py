"""One entry point from a model config to a network with the right head for the task."""

from __future__ import annotations

from typing import Any

from torch import nn

from idealfit.config import ModelConfig
from idealfit.models.blocks import Normalize
from idealfit.models.registry import FAMILIES


def build_model(cfg: ModelConfig, *, input_shape: tuple[int, ...], out_dim: int,
                norm: dict[str, Any] | None = None) -> nn.Sequential:
    """The network for `cfg.name`, with the fitted input normalization as its first layer.

    The head is linear: `out_dim` logits for classification (softmax lives in the cross-entropy loss
    and in predict), one value for regression (MSE loss), or logits per pixel for segmentation.

    Args:
        input_shape: one sample's shape, e.g. (1, 8, 8), (1, 40) or (10,).
        out_dim: the task's outputs per sample (or per pixel): `Task.out_dim`.
        norm: {"mean": [...], "std": [...]} per input channel, or None for inputs already standardized.
    """
    layers = FAMILIES[cfg.name].build(tuple(input_shape), out_dim, cfg)
    if norm is not None:
        layers.insert(0, Normalize(norm["mean"], norm["std"]))
    return nn.Sequential(*layers)
