"""Autoencoders (the deck's table: dense or convolutional layers): x -> encode -> z (B, latent) -> decode -> x.

Trained to reproduce their input through a narrow code, or (denoising) to map a noisy input to the
clean one. The output is linear, in the units of the (standardized) data: no sigmoid.

    DenseAutoencoder: any input shape (table rows, 1-D signals, images), flattened.
    ConvAutoencoder: images (C, H, W) or signals (C, L); stride-2 convolutions down, transposed
        convolutions ("deconvolution") up.

Example:
    >>> ae = ConvAutoencoder((1, 28, 28), latent=16)
    >>> ae.encode(torch.zeros(4, 1, 28, 28)).shape, ae(torch.zeros(4, 1, 28, 28)).shape
    (torch.Size([4, 16]), torch.Size([4, 1, 28, 28]))
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from idealfit.errors import UserError


def _check_common(name: str, input_shape: tuple[int, ...], latent: int, dropout: float = 0.0) -> None:
    if not input_shape or any(s < 1 for s in input_shape):
        raise UserError(f"{name}: input_shape must be positive sizes without the batch, got {tuple(input_shape)}")
    if latent < 1:
        raise UserError(f"{name}: latent must be >= 1, got {latent}")
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"{name}: dropout is a probability in [0, 1), got {dropout}")


def _dense_layers(sizes: list[int], *, batchnorm: bool, dropout: float) -> list[nn.Module]:
    """[Dropout] -> Linear -> [BatchNorm] -> ReLU between consecutive sizes, the last Linear bare (linear code
    or linear output)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU())
    return layers


class DenseAutoencoder(nn.Module):
    """Fully connected autoencoder for any input shape: flatten -> hidden -> latent -> reversed hidden -> reshape.

    Args:
        input_shape: one sample's shape without the batch, e.g. (10,), (1, 40) or (1, 8, 8).
        latent: size of the code z (default 16).
        hidden: encoder hidden widths; the decoder uses them reversed (default (128,); () for a linear AE,
            which learns the same subspace as PCA).
        batchnorm: BatchNorm1d after every hidden Linear (default False).
        dropout: probability before every Linear, the input's included (default 0.0: none).
    """

    def __init__(self, input_shape: tuple[int, ...], *, latent: int = 16, hidden: tuple[int, ...] = (128,),
                 batchnorm: bool = False, dropout: float = 0.0):
        super().__init__()
        _check_common("dense autoencoder", input_shape, latent, dropout)
        if any(h < 1 for h in hidden):
            raise UserError(f"dense autoencoder: hidden widths must be positive, got {tuple(hidden)}")
        self.input_shape, self.latent, self.hidden = tuple(input_shape), latent, tuple(hidden)
        self.batchnorm, self.dropout = batchnorm, dropout
        sizes = [math.prod(input_shape), *hidden, latent]
        self.encoder = nn.Sequential(nn.Flatten(), *_dense_layers(sizes, batchnorm=batchnorm, dropout=dropout))
        self.decoder = nn.Sequential(*_dense_layers(sizes[::-1], batchnorm=batchnorm, dropout=dropout),
                                     nn.Unflatten(1, self.input_shape))

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, *input_shape) -> (B, latent)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) -> (B, *input_shape)
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, *input_shape) -> same
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for images (C, H, W) or signals (C, L).

    Encoder: per width, a 3-wide stride-2 convolution (same padding, size -> ceil(size/2)) -> [BatchNorm]
    -> ReLU; then flatten -> Linear to the code. Decoder: Linear -> ReLU -> unflatten, then per width
    reversed a stride-2 transposed convolution back to exactly the encoder's size at that level (its
    `output_padding` is 1 for even and 0 for odd sizes, so 8×8, 28×28 and 37×45 all round-trip without
    cropping) -> [BatchNorm] -> ReLU; the last one to C channels, linear.

    Args:
        input_shape: (C, H, W) for images or (C, L) for signals, without the batch.
        latent: size of the code z (default 16).
        widths: encoder channels, one stride-2 convolution each (default (16, 32)).
        batchnorm: BatchNorm after every convolution but the output (default True).
    """

    def __init__(self, input_shape: tuple[int, ...], *, latent: int = 16, widths: tuple[int, ...] = (16, 32),
                 batchnorm: bool = True):
        super().__init__()
        _check_common("conv autoencoder", input_shape, latent)
        if len(input_shape) not in (2, 3):
            raise UserError(f"conv autoencoder needs images (C, H, W) or signals (C, L), got shape "
                            f"{tuple(input_shape)}: use the dense autoencoder")
        if not widths or any(w < 1 for w in widths):
            raise UserError(f"conv autoencoder: widths must be one or more positive channel counts, got {tuple(widths)}")
        self.input_shape, self.latent, self.widths, self.batchnorm = tuple(input_shape), latent, tuple(widths), batchnorm
        one_d = len(input_shape) == 2
        conv, convT, bn = ((nn.Conv1d, nn.ConvTranspose1d, nn.BatchNorm1d) if one_d
                           else (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d))
        sizes = [list(input_shape[1:])]  # spatial size at every level, input first
        for _ in widths:
            sizes.append([(s + 1) // 2 for s in sizes[-1]])
        chans = [input_shape[0], *widths]

        enc: list[nn.Module] = []
        for c_in, c_out in pairwise(chans):
            enc += [conv(c_in, c_out, 3, stride=2, padding=1, bias=not batchnorm)]
            enc += [bn(c_out), nn.ReLU()] if batchnorm else [nn.ReLU()]
        flat = widths[-1] * math.prod(sizes[-1])
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(flat, latent))

        dec: list[nn.Module] = [nn.Linear(latent, flat), nn.ReLU(), nn.Unflatten(1, (widths[-1], *sizes[-1]))]
        for level in range(len(widths), 0, -1):  # level -> level-1: size ceil(s/2) back to s
            c_in, c_out, last = chans[level], chans[level - 1], level == 1
            out_pad = tuple(1 - s % 2 for s in sizes[level - 1])  # 2·ceil(s/2) - 1 + pad = s
            dec.append(convT(c_in, c_out, 3, stride=2, padding=1, output_padding=out_pad,
                             bias=last or not batchnorm))
            if not last:
                dec += [bn(c_out), nn.ReLU()] if batchnorm else [nn.ReLU()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) or (B, C, L) -> (B, latent)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) -> (B, *input_shape)
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, *input_shape) -> same
        return self.decode(self.encode(x))
