"""Paired images for image-to-image translation (pix2pix): input A -> target B, both (C, S, S) in [0, 1].

Two embedded datasets are generated from the shapes generator (data/shapes.py), so target B is
exactly `make_shapes(n, size=size, seed=seed).x`, the textured, shaded rendering:

    labels2shapes   A = the mask as a colour-coded label map (class k in `class_colours(4)[k]`, the
                    VOC palette of masks.py: background black, circle dark red, rectangle dark green,
                    triangle olive). One label map allows many renderings (colours, texture, light).
    edges2shapes    A = the outlines, 1 channel, black lines (0) on white (1) as in pix2pix's
                    edges2shoes: a pixel is on a line where a 4-neighbour has another class. Two touching
                    shapes of one class share a mask value, so no line separates them.

Both are seeded and cached as uint8 .npz (one file per dataset, n, size, seed and version).

User folders come in the two layouts pix2pix users have: `root/A/<name>.<ext>` beside
`root/B/<name>.<ext>` (paired by the path inside A/ and B/ without the extension), or one folder of
images holding A | B side by side (pix2pix's datasets; split at the middle). A and B of a pair are
made square by the same `resize` rule, so they stay aligned. Every problem a user can cause raises
`UserError` with one line naming the file and the fix.
"""

from __future__ import annotations

import numpy as np

from idealfit.data import shapes
from idealfit.data.base import Dataset
from idealfit.data.embedded import _cache_dir
from idealfit.data.masks import class_colours
from idealfit.run_files import atomic_write, npz_bytes

VERSION = 1  # bump whenever A's derivation changes; shapes.VERSION is part of the cache name as well


def label_map(mask: np.ndarray) -> np.ndarray:
    """(N, 3, S, S) uint8 colour-coded label maps of masks (N, S, S) with class ids 0..3."""
    colours = class_colours(len(shapes.CLASS_NAMES))  # (4, 3)
    return colours[mask].transpose(0, 3, 1, 2)


def edge_map(mask: np.ndarray) -> np.ndarray:
    """(N, 1, S, S) uint8 outlines of masks (N, S, S): 0 where a 4-neighbour has another class, else 255."""
    right = np.diff(mask, axis=-1) != 0  # (N, S, S-1): differs from the pixel to its right
    down = np.diff(mask, axis=-2) != 0  # (N, S-1, S): differs from the pixel below
    edge = np.zeros(mask.shape, bool)
    edge[..., :, :-1] |= right
    edge[..., :, 1:] |= right  # both pixels of a changing pair: a line the same on either side
    edge[..., :-1, :] |= down
    edge[..., 1:, :] |= down
    return np.where(edge, 0, 255).astype(np.uint8)[:, None]


_INPUTS = {"labels2shapes": (label_map, 3), "edges2shapes": (edge_map, 1)}  # A and its channels


def _generated(kind: str, n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A uint8, B uint8, masks uint8) of `kind`, from the cache or generated and cached."""
    if n < 1 or size < 16:
        raise ValueError(f"{kind} needs n >= 1 and size >= 16, got n={n}, size={size}")
    derive, channels = _INPUTS[kind]
    path = _cache_dir() / f"{kind}-v{VERSION}.{shapes.VERSION}-n{n}-size{size}-seed{seed}.npz"
    try:
        with np.load(path) as f:
            a, b, mask = f["a"], f["b"], f["masks"]
        if b.shape != (n, 3, size, size) or mask.shape != (n, size, size) or a.shape != (n, channels, size, size):
            raise ValueError("cached arrays have the wrong shape")
    except (OSError, KeyError, ValueError):
        # The same generator and seed as make_shapes, so B and the masks are make_shapes' x and y.
        b, mask = shapes._generate(n, size, np.random.default_rng(seed))
        a = derive(mask)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, npz_bytes(a=a, b=b, masks=mask))  # no half-written cache
    return a, b, mask


def _pair_dataset(kind: str, n: int, size: int, seed: int) -> Dataset:
    a, b, _ = _generated(kind, n, size, seed)
    meta = {"source": "generated", "side": size, "seed": seed, "version": VERSION, "resize": "crop"}
    return Dataset(kind, a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0, "translation", "image_pair",
                   class_names=None, meta=meta)


def make_labels2shapes(n: int = 2000, *, size: int = 64, seed: int = 0) -> Dataset:
    """Label maps x = A (N, 3, S, S) and renderings y = B (N, 3, S, S), float32 in [0, 1].

    Args:
        n: number of pairs (default 2000).
        size: the side S in pixels (default 64; at least 16).
        seed: the generator's seed; the same (n, size, seed) always gives the same arrays.

    Example:
        >>> ds = make_labels2shapes(8, size=32)
        >>> ds.x.shape, ds.y.shape, ds.task, ds.kind
        ((8, 3, 32, 32), (8, 3, 32, 32), 'translation', 'image_pair')
    """
    return _pair_dataset("labels2shapes", n, size, seed)


def make_edges2shapes(n: int = 2000, *, size: int = 64, seed: int = 0) -> Dataset:
    """Edge maps x = A (N, 1, S, S) (0 on a line, 1 elsewhere) and renderings y = B (N, 3, S, S), float32.

    Args and determinism as `make_labels2shapes`; the same seed gives the same shapes in both.
    """
    return _pair_dataset("edges2shapes", n, size, seed)


def labels2shapes_masks(n: int = 2000, *, size: int = 64, seed: int = 0) -> np.ndarray:
    """(N, S, S) int64 class ids (0 background, 1 circle, 2 rectangle, 3 triangle) behind
    `make_labels2shapes(n, size=size, seed=seed)`, and behind `make_edges2shapes` with the same
    arguments: the labels an FCN-score compares a segmentation of generated images with. Read from
    the labels2shapes cache (generated and cached if missing)."""
    return _generated("labels2shapes", n, size, seed)[2].astype(np.int64)

