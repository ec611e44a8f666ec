"""Paired images for image-to-image translation (pix2pix): input A -> target B, both (C, S, S) in [0, 1].

Two embedded datasets are generated from the shapes generator (data/shapes.py), so target B is
exactly `make_shapes(n, size=size, seed=seed).x`, the textured, shaded rendering:

    labels2shapes   A = the mask as a colour-coded label map (class k in `class_colours(4)[k]`, the
                    VOC palette of masks.py: background black, circle dark red, rectangle dark green,
                    triangle olive). One label map allows many renderings (colours, texture, light).
    edges2shapes    A = the outlines, 1 channel, black lines (0) on white (1) as in pix2pix's
                    edges2shoes: a pixel is on a line where a 4-neighbour has another class. Two touching
                    shapes of one class share a mask value, so no line separates them.

Both are seeded and cached as uint8 .npz (one file per dataset, n, size, seed and version; A, B and
the masks: 55 MB for labels2shapes' default 2000 pairs, 40 MB for edges2shapes'). Measured 2026-11-27
on a shared 2-core machine, 2 runs each: 2000 pairs of 64×64 take 1.2 to 2.0 s of CPU time (1.3 to
2.1 s wall including the cache write); a cached load takes 0.05 to 0.5 s.

User folders come in the two layouts pix2pix users have: `root/A/<name>.<ext>` beside
`root/B/<name>.<ext>` (paired by the path inside A/ and B/ without the extension), or one folder of
images holding A | B side by side (pix2pix's datasets; split at the middle). A and B of a pair are
made square by the same `resize` rule, so they stay aligned. Every problem a user can cause raises
`UserError` with one line naming the file and the fix.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from idealfit.data import shapes
from idealfit.data.base import Dataset
from idealfit.data.embedded import _cache_dir
from idealfit.data.files import fingerprint
from idealfit.data.images import MAX_AUTO_SIDE, RESIZE, _deep_gray, images_in, open_image, opened, to_square
from idealfit.data.masks import by_stem, class_colours
from idealfit.errors import UserError
from idealfit.run_files import atomic_write, npz_bytes

if TYPE_CHECKING:
    from PIL import Image

VERSION = 1  # bump whenever A's derivation changes; shapes.VERSION is part of the cache name as well
PAIRS = ("folders", "side_by_side")  # the folder layouts load_pair_folder reads
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


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
    a, b, masks = _generated(kind, n, size, seed)
    meta = {"source": "generated", "side": size, "seed": seed, "version": VERSION, "resize": "crop"}
    return Dataset(kind, a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0, "translation", "image_pair",
                   class_names=None, meta=meta, masks=masks.astype(np.int64))


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


MAX_LABEL_COLOURS = 32  # inputs with this many distinct colours or fewer are read as colour-coded label maps


def palette_masks(a: np.ndarray) -> np.ndarray | None:
    """(N, S, S) int64 class ids of RGB inputs `a` (N, 3, S, S) in [0, 1] that are colour-coded label maps
    (at most MAX_LABEL_COLOURS distinct colours over all images, as Cityscapes' or our labels2shapes'),
    one class per colour in the order of their (r, g, b) values; None for any other input (photos, edge
    maps, JPEG-compressed label maps): the FCN-score needs the classes behind each input."""
    if a.ndim != 4 or a.shape[1] != 3 or len(a) == 0:
        return None
    rgb = np.rint(a * 255).astype(np.int32)
    codes = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]  # (N, S, S) one number per colour
    colours, ids = np.unique(codes, return_inverse=True)
    if not 2 <= len(colours) <= MAX_LABEL_COLOURS:
        return None
    return ids.reshape(codes.shape).astype(np.int64)


def is_pair_folder(root: Path) -> bool:
    """Whether `root` looks like a paired folder: it has `A/` and `B/` sub-folders."""
    root = Path(root)
    return (root / "A").is_dir() and (root / "B").is_dir()


def load_pair_folder(root: Path, *, image_size: int | None = None, channels: int | None = None,
                     resize: str = RESIZE[0], pairs: str = PAIRS[0]) -> Dataset:
    """Inputs x = A (N, C_A, S, S) and targets y = B (N, C_B, S, S), float32 in [0, 1], sorted by name.

    Args:
        root: `folders`: a folder holding A/ and B/ with the same file names (sub-folders allowed);
            `side_by_side`: a folder of images each holding A (left half) | B (right half).
        image_size: the side S (default: the first pair's longer side, at most 64).
        channels: 1 or 3 for both A and B (default: each side 3 if any of its first 64 images has
            colour, else 1; meta["channels"] is C_A and meta["target_channels"] C_B).
        resize: how non-square images become S x S, the same for A and B: crop (default) | squash | pad.
        pairs: the layout, folders (default) | side_by_side.
    """
    root = Path(root)
    if resize not in RESIZE or pairs not in PAIRS or channels not in (None, 1, 3):
        raise ValueError(f"resize must be one of {RESIZE}, pairs one of {PAIRS} and channels None, 1 or 3; got "
                         f"{resize!r}, {pairs!r}, {channels!r}")  # our bug: config validates them
    load = _load_folders if pairs == "folders" else _load_side_by_side
    xs, ys, files, skipped, (size, c_a, c_b) = load(root, image_size=image_size, channels=channels, resize=resize)
    meta = {"source": str(root), "pairs": pairs, "resize": resize, "image_size": size, "channels": c_a,
            "target_channels": c_b, "fingerprint": fingerprint(root, files), "skipped_files": skipped}
    x = np.stack(xs)
    return Dataset(root.name, x, np.stack(ys), "translation", "image_pair", class_names=None, meta=meta,
                   masks=palette_masks(x))


LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, PIL's convert("L"): the grey a colour image is read as


def match_pair_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """(N, C, S, S) images in [0, 1] with `channels` (1 or 3): grey repeated into RGB, colour to PIL's grey,
    as open_image reads a file into a run's channels."""
    have = images.shape[1]
    if have == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=1)
    w = np.asarray(LUMA, dtype=images.dtype).reshape(1, 3, 1, 1)
    return (images[:, :3] * w).sum(axis=1, keepdims=True)


def pair_folder_files(root: Path, pairs: str = PAIRS[0]) -> list[Path]:
    """The files a paired folder's fingerprint covers, in `load_pair_folder`'s order (folders: A then B of
    each pair; side_by_side: each image): evaluate rescans the folder with this."""
    root = Path(root)
    if pairs == "folders":
        return [p for pair in _folder_pairs(root)[0] for p in pair]
    return _side_by_side_files(root)[0]


def _geometry(first: tuple[int, int], colour: tuple[bool, bool], image_size: int | None,
              channels: int | None) -> tuple[int, int, int]:
    """(S, C_A, C_B): the side from the first pair's (width, height) unless given, channels from colour."""
    size = image_size or min(max(first), MAX_AUTO_SIDE)
    return size, channels or (3 if colour[0] else 1), channels or (3 if colour[1] else 1)


def _load_folders(root: Path, *, image_size, channels, resize):
    """(A arrays, B arrays, files, skipped files, (S, C_A, C_B)) of root/A/ and root/B/."""
    found, skipped = _folder_pairs(root)
    probes = [(_probe(a), _probe(b)) for a, b in found]  # every file checked before any is decoded
    for (a, b), ((size_a, _), (size_b, _)) in zip(found, probes, strict=True):
        if size_a != size_b:
            raise UserError(f"{a} is {size_a[0]}x{size_a[1]} pixels but its partner {b} is {size_b[0]}x"
                            f"{size_b[1]}; save both images of a pair at the same size")
    colour = tuple(any(p[k][1] for p in probes[:64]) for k in (0, 1))
    size, c_a, c_b = _geometry(probes[0][0][0], colour, image_size, channels)
    xs = [open_image(a, size=size, channels=c_a, resize=resize) for a, _ in found]
    ys = [open_image(b, size=size, channels=c_b, resize=resize) for _, b in found]
    return xs, ys, [p for pair in found for p in pair], skipped, (size, c_a, c_b)


def _load_side_by_side(root: Path, *, image_size, channels, resize):
    """(A arrays, B arrays, files, skipped files, (S, C_A, C_B)) of the A | B images under root."""
    files, skipped = _side_by_side_files(root)
    probes = [_probe(f) for f in files]
    for f, ((w, _), _) in zip(files, probes, strict=True):
        if w % 2:
            raise UserError(f"{f} is {w} pixels wide, an odd width, so it cannot be split into A | B halves "
                            "of one size; data.pairs=side_by_side needs images of A and B side by side")
    (w, h), _ = probes[0]
    colour = any(c for _, c in probes[:64])  # one file: one mode for both halves
    size, c_a, c_b = _geometry((w // 2, h), (colour, colour), image_size, channels)
    halves = [_read_halves(f, size=size, channels=(c_a, c_b), resize=resize) for f in files]
    return [a for a, _ in halves], [b for _, b in halves], files, skipped, (size, c_a, c_b)


def _folder_pairs(root: Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """[(A file, B file)] sorted by name, and the non-image files skipped; UserError for a bad folder."""
    for sub in ("A", "B"):
        if not (root / sub).is_dir():
            raise UserError(f"{root} has no {sub}/ folder; a paired folder holds A/<name>.png (inputs) and "
                            "B/<name>.png (targets) with the same names, or set data.pairs=side_by_side for "
                            "images of A | B side by side")
    a_files, other_a = images_in(root / "A")
    b_files, other_b = images_in(root / "B")
    if not a_files and not b_files:
        raise UserError(f"{root / 'A'} and {root / 'B'} have no images; put each input in A/ and its target "
                        "under the same name in B/ (PNG or JPEG)")
    by_a, by_b = by_stem(root / "A", a_files, partner="its target"), by_stem(root / "B", b_files, partner="its input")
    for key, a in by_a.items():
        if key not in by_b:
            raise UserError(f"{a} has no partner in B/; add its target as {root / 'B' / key}.png or remove it")
    for key, b in by_b.items():
        if key not in by_a:
            raise UserError(f"{b} has no partner in A/; add its input as {root / 'A' / key}.png or remove it")
    skipped = [p.relative_to(root).as_posix() for p in other_a + other_b]
    return [(by_a[k], by_b[k]) for k in sorted(by_a)], skipped


def _side_by_side_files(root: Path) -> tuple[list[Path], list[str]]:
    """The images under `root` (sorted by path inside it) and the non-image files skipped."""
    if is_pair_folder(root):
        raise UserError(f"{root} has A/ and B/ folders, but data.pairs=side_by_side reads images of A | B side "
                        "by side; set data.pairs=folders to pair A/ with B/")
    files, other = images_in(root)
    if not files:
        raise UserError(f"{root} has no images; data.pairs=side_by_side needs images each holding input A "
                        "(left half) and target B (right half), PNG or JPEG")
    return files, [p.relative_to(root).as_posix() for p in other]


def _probe(path: Path) -> tuple[tuple[int, int], bool]:
    """(width, height) as displayed (after its EXIF rotation) and whether the image has colour,
    without decoding its pixels."""
    with opened(path, folder=False) as im:
        w, h = im.size
        return ((h, w) if im.getexif().get(0x0112) in _ROTATED else (w, h)), im.mode not in _GRAY_MODES


def _read_halves(path: Path, *, size: int, channels: tuple[int, int], resize: str) -> tuple[np.ndarray, np.ndarray]:
    """The left (A) and right (B) halves of a side-by-side image, each decoded like `open_image` decodes
    a file: (C, size, size) float32 in [0, 1]."""
    from PIL import ImageOps

    with opened(path, folder=False) as im:
        im = ImageOps.exif_transpose(im)
        w, h = im.size
        left, right = im.crop((0, 0, w // 2, h)), im.crop((w // 2, 0, w, h))
        return (_to_array(path, left, size=size, channels=channels[0], resize=resize),
                _to_array(path, right, size=size, channels=channels[1], resize=resize))


def _to_array(path: Path, im: Image.Image, *, size: int, channels: int, resize: str) -> np.ndarray:
    """`open_image`'s conversion of an upright image (16-bit gray scaled by 65535); a test checks the two agree."""
    if im.mode.startswith("I") or im.mode == "F":
        arr = np.asarray(to_square(_deep_gray(path, im), size, resize), dtype=np.float32)[None]
        return arr if channels == 1 else np.repeat(arr, 3, axis=0)
    arr = np.asarray(to_square(im.convert("L" if channels == 1 else "RGB"), size, resize), dtype=np.float32) / 255.0
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def write_image_png(path: str | Path, image: np.ndarray, *, predicted: bool = False) -> Path:
    """Write `image` (C, H, W) float in [0, 1], C = 1 (gray) or 3 (RGB), as an 8-bit PNG, atomically.

    Values outside [0, 1] are clipped (a generator's tanh output mapped to [0, 1] can overshoot by
    rounding); NaN is refused, as it has no pixel value. For `predict --out DIR`: `predicted` tags it as
    `predict`'s output, which a later `predict` may replace (predict_guard.py).
    """
    from PIL import Image

    from idealfit.predict_guard import png_options

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"image must be (1 or 3, H, W), got shape {image.shape}")
    if np.isnan(image).any():
        raise ValueError("image holds NaN values, which have no pixel value")
    pixels = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)  # (C, H, W)
    im = Image.fromarray(pixels[0]) if image.shape[0] == 1 else Image.fromarray(pixels.transpose(1, 2, 0))
    buf = io.BytesIO()
    im.save(buf, format="PNG", **png_options(predicted))
    return atomic_write(path, buf.getvalue())
