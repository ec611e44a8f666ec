"""User image folders: one sub-folder per class, files decoded to (C, S, S) float32 in [0, 1].

Every problem a user can cause raises `UserError` naming the file and the fix, before any training.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from idealfit.data.base import Dataset
from idealfit.data.files import fingerprint
from idealfit.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_AUTO_SIDE = 64  # an image folder's default side: its first image's, at most this


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name not in ("Thumbs.db", "desktop.ini")


def _unreadable(path: Path, exc: Exception) -> UserError:
    return UserError(f"{path} is not a readable image ({type(exc).__name__}); remove it or replace it "
                     "with a PNG or JPEG file")


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """PIL's Image.open with a corrupt file or a decompression bomb (a header claiming more than
    Image.MAX_IMAGE_PIXELS, which PIL only warns about up to twice that) as a UserError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                yield im
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{path} claims more than {Image.MAX_IMAGE_PIXELS:,} pixels, which idealfit refuses to "
                        "decode (a possible decompression bomb); resize the image or remove it") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def open_image(path: Path, *, size: int, channels: int) -> np.ndarray:
    """One image file as (C, size, size) float32 in [0, 1]; UserError names a corrupt file.

    EXIF orientation is applied (a phone photo comes out upright); 16-bit gray images are scaled by
    65535 rather than clipped to 8 bits (PIL's convert("L") would turn them all white).
    """
    from PIL import Image, ImageOps

    with _opened(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I") or im.mode == "F":
            gray = _deep_gray(path, im).resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(gray, dtype=np.float32)[None]
            return arr if channels == 1 else np.repeat(arr, 3, axis=0)
        im = im.convert("L" if channels == 1 else "RGB").resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _deep_gray(path: Path, im: Image.Image) -> Image.Image:
    """A 16-bit (I;16*), 32-bit integer (I) or float (F) gray image as a mode-F image in [0, 1].

    16-bit modes and `I` (what PIL makes of most 16-bit PNGs and TIFFs) are divided by 65535; values
    outside 0..65535 (I) or 0..1 (F) have no agreed scale, so they are refused rather than guessed.
    """
    from PIL import Image

    arr = np.asarray(im, dtype=np.float64)
    top = 1.0 if im.mode == "F" else 65535.0
    if arr.size and (arr.min() < 0 or arr.max() > top):
        raise UserError(f"{path} is a {im.mode}-mode image with values in [{arr.min():g}, {arr.max():g}], outside "
                        f"0..{top:g}; save it as an 8- or 16-bit PNG")
    return Image.fromarray((arr / top).astype(np.float32))  # float32 (H, W) -> mode F


def _probe(path: Path) -> tuple[tuple[int, int], bool]:
    """(width, height) and whether the image has colour, without decoding all pixels."""
    with _opened(path) as im:
        return im.size, im.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def scan_image_folder(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Files and class ids of `root/<class>/<image>`; checks the folder's shape."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if not classes:
        raise UserError(f"{root} has no class sub-folders; put each class's images in its own folder, "
                        f"e.g. {root}/cat/1.png and {root}/dog/1.png")
    files: list[Path] = []
    labels: list[int] = []
    for i, c in enumerate(classes):
        imgs = sorted(p for p in c.iterdir() if p.is_file() and _visible(p))
        if len(imgs) < 2:
            raise UserError(f"class folder {c} has {len(imgs)} image(s); each class needs at least 2 "
                            "(add images or remove the folder)")
        files += imgs
        labels += [i] * len(imgs)
    if len(classes) < 2:
        raise UserError(f"{root} has only one class folder ({classes[0].name}); classification needs at least 2")
    return files, np.array(labels, np.int64), [c.name for c in classes]


def load_image_folder(root: Path, *, image_size: int | None, channels: int | None,
                      max_memory_mb: float) -> Dataset:
    """Images resized to a common square side and channel count, (N, C, S, S) in [0, 1].

    A folder whose pixels would exceed `max_memory_mb` is not loaded: the Dataset then carries
    `paths`, and training streams it through a DataLoader.
    """
    files, y, names = scan_image_folder(root)
    (w, h), _ = _probe(files[0])
    size = image_size or min(max(w, h), MAX_AUTO_SIDE)
    if channels is None:  # colour if any of the first images has it (all of them when loading in memory)
        channels = 3 if any(_probe(f)[1] for f in files[:64]) else 1
    nbytes = len(files) * channels * size * size * 4
    meta = {"source": str(root), "image_size": size, "channels": channels, "fingerprint": fingerprint(root, files)}
    if nbytes > max_memory_mb * 2**20:
        for f in files:  # fail now on an unreadable file rather than mid-epoch
            _probe(f)
        x = np.empty((len(files), channels, size, size), np.float32)[:0]  # shape carrier only
        meta["input_shape"] = (channels, size, size)
        return Dataset(root.name, x, y, "classification", "image", class_names=names,
                       paths=[str(f) for f in files], meta=meta)
    x = np.stack([open_image(f, size=size, channels=channels) for f in files])
    return Dataset(root.name, x, y, "classification", "image", class_names=names, meta=meta)
