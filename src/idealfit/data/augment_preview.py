"""The deck's augmentation slide (Original / Flip / Random crop / Contrast / Tint) for real images.

`preview` applies each augmentation of `data.augment.Augment` alone to a few images; `preview_figure`
draws that as a grid. `idealfit augment` and every augmented run's report (`augment.png`) show it.
With a partner (a segmentation mask per image, or a pix2pix target B per input A), the partner is drawn
below its image, moved by the same draw, as training moves it: masks follow flip and crop only, and
pairs take flip and crop only (`train.setup.PairAugment`).

Example:
    >>> fig = preview_figure(torch.rand(2, 1, 8, 8), ["flip", "crop"])  # 2 rows, 3 columns
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from idealfit.data.augment import Augment, check_images
from idealfit.errors import UserError

if TYPE_CHECKING:  # matplotlib loads only for a preview: ~0.35 s that a training run does not need
    from matplotlib.figure import Figure

    from idealfit.data.prepare import Prepared

# The deck's slide, in its order; `preview` and `preview_figure` default to it.
DECK_AUGMENTATIONS = ("flip", "crop", "contrast", "tint")
TITLES = {"flip": "Flip", "crop": "Random crop", "contrast": "Contrast", "tint": "Tint",  # column titles
          "freq_mask": "Frequency mask", "time_mask": "Time mask"}


def preview(images: torch.Tensor, specs=DECK_AUGMENTATIONS, *, seed: int = 0,
            partner: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Each image, then each augmentation applied alone at full strength (flip with p=1).

    Args:
        images: (N, C, H, W) float in [0, 1].
        specs: augmentations as for `Augment` (default: the deck's flip, crop, contrast, tint).
        seed: seed of the generator used for the draws (default 0).
        partner: None, masks (N, H, W) integer class ids, or targets (N, C_B, H, W) float: moved with
            their image by the same draw (masks as `Augment(x, mask=...)`, targets as paired images).

    Returns:
        (N, 1 + len(specs), C, H, W): index 0 along dim 1 is the original; with a partner, also its
        grid, (N, 1 + len(specs), H, W) masks or (N, 1 + len(specs), C_B, H, W) targets.
    """
    check_images(images)
    steps = Augment(list(specs)).get_config()
    generator = torch.Generator().manual_seed(seed)
    columns, partners = [images], [partner]
    for step in steps:
        if step["name"] == "flip":
            step["p"] = 1.0  # a preview that sometimes shows no flip would not teach anything
        aug = Augment([step], generator=generator)
        if partner is None:
            columns.append(aug(images))
        elif partner.is_floating_point():  # a target image: one draw for A and B stacked on channels
            both = aug(torch.cat([images, partner], 1))
            columns.append(both[:, : images.shape[1]])
            partners.append(both[:, images.shape[1] :])
        else:
            x, m = aug(images, mask=partner)
            columns.append(x)
            partners.append(m)
    grid = torch.stack(columns, dim=1)
    return grid if partner is None else (grid, torch.stack(partners, dim=1))


def preview_figure(images: torch.Tensor, specs=DECK_AUGMENTATIONS, *, seed: int = 0,
                   partner: torch.Tensor | None = None) -> Figure:
    """Draw `preview` as a grid: rows = images, columns = Original / Flip / Random crop / Contrast / Tint.

    Args:
        images: (N, C, H, W) float in [0, 1], C = 1 (grey) or 3 (RGB).
        specs: augmentations as for `Augment` (default: the deck's four).
        seed: seed of the generator used for the draws (default 0).
        partner: masks (N, H, W) or targets (N, C_B, H, W), as for `preview`: a row below each image's
            row, masks in their class colours (data.masks.class_colours).
    """
    if isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[1] not in (1, 3):
        raise UserError(f"preview_figure: can draw 1 (grey) or 3 (RGB) channels, got {images.shape[1]}")
    out = preview(images, specs, seed=seed, partner=partner)
    grid, partners = (out, None) if partner is None else out
    grid = grid.detach().cpu()  # (N, K, C, H, W)
    if partners is not None:  # rows: image 0, its partner, image 1, ...
        below = _as_images(partners.detach().cpu(), classes=int(partner.max()) + 1)
        if below.shape[2] != grid.shape[2]:  # gray beside colour: both drawn as RGB
            grid, below = (t.expand(-1, -1, 3, -1, -1) if t.shape[2] == 1 else t for t in (grid, below))
        grid = torch.stack([grid, below], 1).flatten(0, 1)  # (2N, K, C, H, W)
    titles = ["Original"] + [TITLES[s["name"]] for s in Augment(list(specs)).get_config()]
    n, k = grid.shape[:2]
    # pixels in [0, 1] as they are; spectrograms (normalized per file, low bands at the bottom) over their range
    image = float(grid.min()) >= 0.0 and float(grid.max()) <= 1.0
    lo, hi = (0.0, 1.0) if image else (float(grid.min()), float(grid.max()))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6 * k, 1.6 * n + 0.3), layout="constrained")
    axes = fig.subplots(n, k, squeeze=False)
    for i in range(n):
        for j in range(k):
            img = grid[i, j]  # (C, H, W)
            ax = axes[i][j]
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray" if image else "magma", vmin=lo, vmax=hi,
                          origin="upper" if image else "lower", aspect="equal" if image else "auto")
            else:
                ax.imshow(img.permute(1, 2, 0).numpy().clip(0.0, 1.0))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=9)
    return fig


def _as_images(partners: torch.Tensor, *, classes: int) -> torch.Tensor:
    """Partner grids as images (N, K, C, H, W) in [0, 1]: masks in their class colours (RGB), targets
    as they are."""
    from idealfit.data.masks import class_colours

    if not partners.is_floating_point():  # (N, K, H, W) class ids
        colours = torch.from_numpy(class_colours(max(classes, 2))).float() / 255.0  # (classes, 3)
        return colours[partners.long()].permute(0, 1, 4, 2, 3)  # (N, K, 3, H, W)
    return partners


def first_train_images(prep: Prepared, n: int = 4) -> torch.Tensor:
    """A run's first `n` training images (n, C, H, W) as the loop sees them before augmentation.

    In-memory data comes from the prepared arrays; a folder streamed from disk (its arrays are empty
    shape carriers) reads just those files, with the folder's size, channels and resize rule.
    """
    if prep.dataset.paths is None:
        return torch.from_numpy(np.ascontiguousarray(prep.x["train"][:n]))
    from idealfit.data.images import read_streamed

    return torch.from_numpy(read_streamed(prep.dataset, prep.indices["train"][:n]))


def first_train_partners(prep: Prepared, n: int = 4) -> torch.Tensor | None:
    """The masks (segmentation) or targets B (translation) of `first_train_images`, for the preview's row
    below each image; None for other tasks and for folders streamed from disk."""
    if prep.dataset.task not in ("segmentation", "translation") or prep.dataset.paths is not None:
        return None
    return torch.from_numpy(np.ascontiguousarray(prep.y["train"][:n]))
