"""The PatchGAN discriminator of pix2pix (Isola et al. 2017, the reference code's NLayerDiscriminator).

Instead of one real/fake verdict per image it gives a map of verdicts, one per overlapping patch: each
output logit sees only a `receptive_field(layers)`-pixel square of the input (70×70 for the default
`layers=3`). The L1 term already gets the low frequencies right; the discriminator only has to judge
local texture and sharpness, which a patch can, with far fewer parameters than a whole-image judge.

The input is the conditional pair concatenated along channels, concat(A, B) or concat(A, G(A)), so
`in_channels = C_A + C_B`.

Example:
    >>> d = PatchDiscriminator(1 + 3, width=8)
    >>> d(torch.zeros(2, 4, 64, 64)).shape  # one logit per 70×70 patch, patches 8 pixels apart
    torch.Size([2, 1, 6, 6])
"""

from __future__ import annotations

import torch
from torch import nn

from idealfit.errors import UserError

NORMS = ("batch", "instance", "none")
KERNEL, PADDING = 4, 1  # every convolution is 4×4 with padding 1, as in the reference code


def conv_strides(layers: int) -> tuple[int, ...]:
    """The stride of every 4×4 convolution, input to output: `layers` of 2, then two of 1.

    The first stride-1 convolution widens the features once more, the second one gives the 1-channel map.
    """
    return (2,) * layers + (1, 1)


def receptive_field(layers: int) -> int:
    """Side in input pixels of the square one output logit depends on: 16, 34, 70, 142, 286 for layers 1..5.

    Walking back from one output pixel, a k×k convolution of stride s turns a window of r pixels into
    (r − 1)·s + k.
    """
    r = 1
    for s in reversed(conv_strides(layers)):
        r = (r - 1) * s + KERNEL
    return r


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels)  # affine=False, no running statistics: the reference's choice
    return nn.Identity()


class PatchDiscriminator(nn.Module):
    """(B, in_channels, H, W) pair -> (B, 1, H', W') real/fake logits, one per receptive_field(layers)² patch.

    H' = H / 2^layers − 2 for H a multiple of 2^layers (6×6 for 64×64 and layers=3, 30×30 for 256×256).

    Args:
        in_channels: channels of the concatenated pair, C_A + C_B (e.g. 3 + 3 for RGB to RGB).
        width: channels of the first convolution (default 64, the reference's ndf); each later
            convolution doubles them, up to 8·width.
        layers: stride-2 convolutions (default 3: 70×70 patches; 1: 16×16; 5: 286×286, the "ImageGAN"
            for 256×256 images).
        norm: "batch" (default, as pix2pix), "instance" or "none"; never on the first convolution, which
            sees the raw pixels, nor on the last, which gives the logits.
    """

    def __init__(self, in_channels: int, *, width: int = 64, layers: int = 3, norm: str = "batch"):
        super().__init__()
        if in_channels < 1 or width < 1:
            raise UserError(f"patchgan: in_channels and width must be >= 1, got {in_channels} and {width}")
        if layers < 1:
            raise UserError(f"patchgan: layers (stride-2 convolutions) must be >= 1, got {layers}")
        if norm not in NORMS:
            raise UserError(f"patchgan: unknown norm {norm!r}; choose one of {', '.join(NORMS)}")
        self.in_channels, self.width, self.layers, self.norm = in_channels, width, layers, norm
        # BatchNorm's shift replaces a bias; InstanceNorm without affine has none, so keep it there
        bias = norm != "batch"
        strides = conv_strides(layers)
        chans = [in_channels] + [width * min(2**i, 8) for i in range(len(strides) - 1)] + [1]
        blocks: list[nn.Module] = []
        for i, s in enumerate(strides):
            first, last = i == 0, i == len(strides) - 1
            blocks.append(nn.Conv2d(chans[i], chans[i + 1], KERNEL, stride=s, padding=PADDING,
                                    bias=bias or first or last))
            if not last:
                if not first:
                    blocks.append(_norm(norm, chans[i + 1]))
                blocks.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*blocks)

    @property
    def receptive_field(self) -> int:
        """Side in input pixels of the patch each output logit judges."""
        return receptive_field(self.layers)

    @property
    def min_size(self) -> int:
        """Smallest H and W that leave a 1×1 patch map: 3·2^layers (24 for layers=3)."""
        return 3 * 2**self.layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise UserError(f"patchgan expects image pairs (B, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.min_size:
            raise UserError(f"patchgan with layers={self.layers} needs images of at least {self.min_size}×"
                            f"{self.min_size} pixels, got {tuple(x.shape[-2:])}; use fewer layers or larger images")
        # stride-2 convs: (B, C, H, W) -> (B, w, H/2, W/2) -> ... -> (B, w·2^(L-1) capped at 8w, H/2^L, W/2^L)
        # stride-1 convs: -> (B, 8w at most, H/2^L − 1, ...) -> (B, 1, H/2^L − 2, W/2^L − 2)
        return self.net(x)
