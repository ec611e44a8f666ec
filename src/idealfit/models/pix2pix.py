"""pix2pix (Isola et al. 2017): a U-Net generator (convolutions down, transposed convolutions up, skip
connections) and a PatchGAN discriminator that judges (input, output) pairs patch by patch.

`forward` is the generator alone, so evaluate, predict and the model summary see an image-to-image
network; the training step (train/gan_step.py) reaches both networks by name.
"""

from __future__ import annotations

import torch
from torch import nn

from idealfit.models.patchgan import PatchDiscriminator
from idealfit.models.unet import UNet


class Pix2Pix(nn.Module):
    """Args:
        in_channels / out_channels: channels of the input image A and of the generated image B.
        widths, skip, batchnorm, dropout: the U-Net generator's (models/unet.py).
        discriminator: build the PatchGAN (False for the L1-only ablation, which never uses one).
        d_width, d_layers: the discriminator's first width and number of stride-2 layers (70×70 patches at 3).
    """

    def __init__(self, in_channels: int, out_channels: int, *, widths: tuple[int, ...] = (16, 32, 64),
                 skip: bool = True, batchnorm: bool = True, dropout: float = 0.0, discriminator: bool = True,
                 d_width: int = 64, d_layers: int = 3):
        super().__init__()
        # sigmoid: generated images in [0, 1], as the targets (the reference code's tanh on [-1, 1] data)
        self.generator = nn.Sequential(UNet(in_channels, out_channels, widths=widths, skip=skip, batchnorm=batchnorm,
                                            dropout=dropout), nn.Sigmoid())
        self.discriminator = (PatchDiscriminator(in_channels + out_channels, width=d_width, layers=d_layers)
                              if discriminator else None)

    def forward(self, a: torch.Tensor) -> torch.Tensor:  # (B, C_A, H, W) -> (B, C_B, H, W) in [0, 1]
        return self.generator(a)
