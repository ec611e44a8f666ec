"""Layers shared by every model family."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
}


def activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


class Normalize(nn.Module):
    """Per-channel standardization fitted on the training split: (x - mean) / std.

    Living inside the model, the statistics travel with the weights, so predict needs nothing
    else, and augmentations before it still see the data's own value range.

    Args:
        mean, std: one value per channel (dim 1 of the input).
    """

    def __init__(self, mean: list[float], std: list[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, ...) -> same
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - self.mean.view(shape)) / self.std.view(shape)

    def extra_repr(self) -> str:
        return f"channels={self.mean.numel()}"
