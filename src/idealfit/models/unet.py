"""Image segmentation: the deck's Deconvolution network (DN) and the U-Net (Ronneberger et al. 2015).

Both have a convolutional encoder that halves the image at every level and a decoder of transposed
convolutions ("deconvolution", `nn.ConvTranspose2d(kernel_size=2, stride=2)`) that doubles it back, so
every pixel gets `num_classes` logits. With `skip=True` each decoder level also sees the encoder's
feature map of the same size (concatenated along channels): the U-Net. The skips carry the fine
position detail that the pooled bottleneck has lost, so boundaries come out sharp.

Example:
    >>> net = UNet(in_channels=1, num_classes=2, widths=(16, 32, 64))
    >>> net(torch.zeros(4, 1, 37, 45)).shape
    torch.Size([4, 2, 37, 45])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from idealfit.errors import UserError


class ConvBlock(nn.Sequential):
    """Two 3×3 convolutions (same padding), each -> [BatchNorm] -> ReLU, then [Dropout2d].

    The convolutions have no bias with batchnorm: BatchNorm's shift replaces it.
    """

    def __init__(self, in_channels: int, out_channels: int, *, batchnorm: bool, dropout: float):
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout2d(dropout))  # drops whole feature maps: neighbouring pixels correlate
        super().__init__(*layers)


class UpBlock(nn.Module):
    """Transposed convolution that doubles H and W, [concatenate the skip], then a ConvBlock."""

    def __init__(self, in_channels: int, out_channels: int, *, skip: bool, batchnorm: bool, dropout: float):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.skip = skip
        conv_in = 2 * out_channels if skip else out_channels
        self.conv = ConvBlock(conv_in, out_channels, batchnorm=batchnorm, dropout=dropout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = self.up(x)  # (B, C_in, h, w) -> (B, C_out, 2h, 2w)
        if self.skip:
            x = torch.cat([skip, x], dim=1)  # (B, 2·C_out, 2h, 2w)
        return self.conv(x)  # (B, C_out, 2h, 2w)


def _exporting() -> bool:
    """Whether torch.export is tracing (torch.compiler.is_exporting, torch >= 2.5; earlier torch cannot export)."""
    check = getattr(torch.compiler, "is_exporting", None)
    return bool(check and check())


class UNet(nn.Module):
    """Encoder-decoder segmentation network: (B, C, H, W) -> (B, num_classes, H, W) logits, any H, W.

    Level i of the encoder works at 1/2^i of the input size with `widths[i]` channels; the last level is
    the bottleneck. The decoder mirrors it with transposed convolutions. H and W are padded up to a
    multiple of 2^(len(widths)-1) (reflection, or edge replication for maps too small to reflect) and
    the logits are cropped back, so every input size works.

    Args:
        in_channels: channels of the input image (1 grey, 3 RGB).
        num_classes: logits per pixel (2 for foreground/background with cross-entropy).
        widths: channels per level, encoder order (default (16, 32, 64): two poolings, 1/4 at the bottom).
        skip: concatenate encoder maps into the decoder (U-Net, default True); False gives the plain
            deconvolution network of the deck (encoder -> bottleneck -> transposed-conv decoder).
        batchnorm: BatchNorm after every 3×3 convolution (default True).
        dropout: Dropout2d probability at the end of every conv block (default 0.0: none).
    """

    def __init__(self, in_channels: int, num_classes: int, *, widths: tuple[int, ...] = (16, 32, 64),
                 skip: bool = True, batchnorm: bool = True, dropout: float = 0.0):
        super().__init__()
        if in_channels < 1 or num_classes < 1:
            raise UserError(f"unet: in_channels and num_classes must be >= 1, got {in_channels} and {num_classes}")
        if not widths or any(w < 1 for w in widths):
            raise UserError(f"unet: widths must be one or more positive channel counts, got {tuple(widths)}")
        if not 0.0 <= dropout < 1.0:
            raise UserError(f"unet: dropout is a probability in [0, 1), got {dropout}")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.widths, self.skip, self.batchnorm, self.dropout = tuple(widths), skip, batchnorm, dropout
        opts = {"batchnorm": batchnorm, "dropout": dropout}
        chans = (in_channels, *widths)
        self.down = nn.ModuleList(ConvBlock(chans[i], chans[i + 1], **opts) for i in range(len(widths)))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(UpBlock(widths[i], widths[i - 1], skip=skip, **opts)
                                for i in range(len(widths) - 1, 0, -1))
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    @property
    def multiple(self) -> int:
        """H and W are padded to a multiple of this (one halving per pooling)."""
        return 2 ** (len(self.widths) - 1)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        ph, pw = -H % self.multiple, -W % self.multiple
        if not ph and not pw and not _exporting():  # an exported graph (export.py) pads any H x W, so it keeps the pad
            return x
        # Reflection keeps textures continuous at the border; it needs the pad smaller than the map.
        mode = "reflect" if ph < H and pw < W else "replicate"
        return F.pad(x, (0, pw, 0, ph), mode=mode)  # pad right and bottom only: crop is [:H, :W]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise UserError(f"unet expects images (B, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        H, W = x.shape[-2:]
        x = self._pad(x)  # (B, C, H', W'), H' and W' multiples of 2^(levels-1)
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = self.pool(x)  # (B, widths[i-1], h/2, w/2)
            x = block(x)  # (B, widths[i], H'/2^i, W'/2^i)
            skips.append(x)
        skips.pop()  # the bottleneck's own output is x
        for block in self.up:
            x = block(x, skips.pop())  # (B, widths[i-1], 2h, 2w)
        return self.head(x)[..., :H, :W]  # (B, num_classes, H, W)
