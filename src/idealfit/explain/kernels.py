"""The deck's "Feature extraction with convolutions" slide: Original / Sharpen / Edge Detect / "Strong" Edge Detect.

The slide shows only the four pictures. The kernels are the classic 3x3 ones from the table in
Wikipedia's "Kernel (image processing)" article, which has exactly these pictures: identity, sharpen
[[0,-1,0],[-1,5,-1],[0,-1,0]], and two of its edge detectors, the 4-neighbour Laplacian
[[0,1,0],[1,-4,1],[0,1,0]] and the 8-neighbour one [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] (the "strong" one:
it also responds to diagonal edges, and its centre weight is twice as large).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from idealfit.errors import UserError

CLASSIC_KERNELS = {
    "Original": torch.tensor([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "Sharpen": torch.tensor([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "Edge detect": torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "Strong edge detect": torch.tensor([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
}


def _to_gray(pil_image, max_side: int | None) -> Tensor:
    gray = pil_image.convert("L")  # ITU-R 601-2 luma: L = 0.299 R + 0.587 G + 0.114 B
    if max_side is not None and max(gray.size) > max_side:
        gray.thumbnail((max_side, max_side))  # keeps the aspect ratio
    return torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)


def load_gray_image(path: str | Path | None = None, *, max_side: int | None = 256) -> Tensor:
    """A grayscale image in [0, 1], shape (H, W).

    Args:
        path: any image file Pillow reads (default None: scikit-learn's shipped sample photo china.jpg,
            which works offline).
        max_side: shrink so that the longer side is at most this many pixels (default 256; None keeps
            the full size).
    """
    from PIL import Image, ImageOps

    from idealfit.data.images import opened

    if path is None:
        from sklearn.datasets import load_sample_image  # ships with scikit-learn: no download

        return _to_gray(Image.fromarray(load_sample_image("china.jpg")), max_side)
    path = Path(path)
    if not path.is_file():
        raise UserError(f"image {path} not found; pass the path of a PNG or JPEG file")
    with opened(path, folder=False) as img:  # a corrupt file or a decompression bomb: one line naming it
        return _to_gray(ImageOps.exif_transpose(img), max_side)  # a phone photo upright


def apply_kernels(image, *, kernels: dict | None = None) -> dict[str, Tensor]:
    """Convolve a grayscale image with each kernel (torch conv2d, cross-correlation like the deck's formula).

    The border is padded by repeating the edge pixels, so the output keeps the input's size without the
    bright frame that zero padding would make edge detectors draw.

    Args:
        image: (H, W) gray values (float).
        kernels: name -> (k, k) kernel with k odd (default CLASSIC_KERNELS).

    Returns:
        name -> (H, W) filtered image (not clipped).
    """
    x = torch.as_tensor(image, dtype=torch.float32)
    if x.dim() != 2:
        raise UserError(f"apply_kernels needs a 2-D grayscale image (H, W), got shape {tuple(x.shape)}")
    out = {}
    for name, kernel in (CLASSIC_KERNELS if kernels is None else kernels).items():
        w = torch.as_tensor(kernel, dtype=torch.float32)
        if w.dim() != 2 or w.shape[0] != w.shape[1] or w.shape[0] % 2 == 0:
            raise UserError(f"kernel {name!r} must be square with an odd side, got shape {tuple(w.shape)}")
        r = w.shape[0] // 2
        padded = F.pad(x[None, None], (r, r, r, r), mode="replicate")  # (1, 1, H+2r, W+2r)
        out[name] = F.conv2d(padded, w[None, None])[0, 0]  # (H, W)
    return out


def classic_kernels_figure(image=None, *, kernels: dict | None = None):
    """The deck's 2x2 panel: each kernel applied to a grayscale photo, shown clipped to [0, 1] like an image editor.

    Args:
        image: (H, W) gray values in [0, 1] (default None: scikit-learn's china.jpg, see load_gray_image).
        kernels: name -> kernel, four of them for a 2x2 panel (default CLASSIC_KERNELS).
    """
    from matplotlib.figure import Figure  # no pyplot: no global state

    image = load_gray_image() if image is None else image
    results = apply_kernels(image, kernels=kernels)
    cols = 2 if len(results) > 1 else 1
    rows = -(-len(results) // cols)
    fig = Figure(figsize=(5 * cols, 4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    kernels = CLASSIC_KERNELS if kernels is None else kernels
    for ax, (name, filtered) in zip(axes, results.items(), strict=False):
        ax.imshow(filtered.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        matrix = " / ".join(" ".join(f"{float(v):g}" for v in row) for row in torch.as_tensor(kernels[name]))
        ax.set_title(f"{name}\n[{matrix}]", fontsize=9)
        ax.axis("off")
    for ax in axes[len(results) :]:
        ax.axis("off")
    return fig
