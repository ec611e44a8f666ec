"""User segmentation folders: `root/images/<name>.<ext>` beside `root/masks/<name>.png`.

A mask is a PNG of class indices, one per pixel: a palette ('P') PNG's indices, or a grayscale ('L')
PNG's values. RGB masks are refused: a colour has no agreed class index. Class names come from an
optional `root/classes.txt` (one per line, the first line is class 0), otherwise they are "0".."K-1"
with K - 1 the largest value in any mask. Images and masks are paired by their path inside
`images/` and `masks/` without the extension (`images/a/1.jpg` pairs with `masks/a/1.png`).

Images are read by `data.images.open_image` and made square by the same `resize` rule (crop |
squash | pad); masks follow the same geometry with nearest-neighbour sampling, so a resized mask
holds only class indices, and pad pads a mask with class 0.

Every problem a user can cause raises `UserError` with one line naming the file and the fix.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from idealfit.data.base import Dataset
from idealfit.data.files import fingerprint
from idealfit.data.images import MAX_AUTO_SIDE, RESIZE, _probe, images_in, open_image, opened, to_square
from idealfit.errors import UserError
from idealfit.run_files import atomic_write

if TYPE_CHECKING:
    pass

MASK_MODES = ("P", "L", "1")  # modes whose pixel values are class indices ('1': 0 and 1)
_FIX_MODE = "save it as a palette (P) or 8-bit grayscale (L) PNG whose pixel values are class indices"
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def is_mask_folder(root: Path) -> bool:
    """Whether `root` looks like a segmentation folder: it has `images/` and `masks/` sub-folders."""
    root = Path(root)
    return (root / "images").is_dir() and (root / "masks").is_dir()


def load_mask_folder(root: Path, *, image_size: int | None = None, channels: int | None = None,
                     resize: str = RESIZE[0]) -> Dataset:
    """Images (N, C, S, S) float32 in [0, 1] and masks (N, S, S) int64 class ids, paired by file name.

    Args:
        root: a folder holding `images/`, `masks/` and optionally `classes.txt`.
        image_size: the side S (default: the first image's longer side, at most 64).
        channels: 1 or 3 (default: 3 if any of the first 64 images has colour, else 1).
        resize: how non-square images become S x S: crop (default) | squash | pad.
    """
    root = Path(root)
    pairs, skipped = _pairs(root)
    names = _class_names(root)
    w, h = _size(pairs[0][0])
    size = image_size or min(max(w, h), MAX_AUTO_SIDE)
    if channels is None:
        channels = 3 if any(_probe(img)[1] for img, _ in pairs[:64]) else 1
    xs, ys, holders = [], [], {}
    for img, mask_path in pairs:
        mask, values = _read_mask(mask_path, expect=_size(img), size=size, resize=resize)
        if names is not None and values[-1] >= len(names):  # the file's values: a bad one outside a crop too
            raise UserError(_beyond_names(root, mask_path, values, len(names)))
        for v in values.tolist():
            holders.setdefault(v, []).append(mask_path)
        xs.append(open_image(img, size=size, channels=channels, resize=resize))
        ys.append(mask)
    y = np.stack(ys).astype(np.int64)
    if names is None:
        _check_contiguous(root, holders)
        names = [str(k) for k in range(max(holders) + 1)]
        if len(names) < 2:
            raise UserError(f"every mask in {root / 'masks'} is all 0 (background); mark the objects with class "
                            "values 1, 2, ... in the masks")
    meta = {"source": str(root), "resize": resize, "image_size": size, "channels": channels,
            "fingerprint": fingerprint(root, _flat(pairs)), "skipped_files": skipped}
    return Dataset(root.name, np.stack(xs), y, "segmentation", "image", class_names=names, meta=meta)


_BINARY_FIX = "save the masks as 0 and 1 (divide by 255), since a mask's pixel values are class indices"


# 255 beside small class ids is the "ignore" border of Pascal VOC style masks; a data.ignore_index (those pixels left
# out of the loss and every metric) would touch the loss, each metric, the baselines and the figures, so for now
# the refusal says how to make such masks trainable
_IGNORE_FIX = ("255 is the usual 'ignore' value (a Pascal VOC border), which idealfit does not support: set those "
               "pixels to a class, e.g. the background 0 (numpy: mask[mask == 255] = 0), and save the masks again")


def _beyond_names(root: Path, mask_path: Path, values: np.ndarray, n: int) -> str:
    """The error for a mask value past classes.txt's names, with the fix that fits: a 0/255 mask is a binary mask
    (adding a line would make 256 classes), a value one past the names may be a class without a name."""
    bad = int(values[values >= n][0])
    said = f"{mask_path} has class value {bad}, but {root / 'classes.txt'} names only {n} classes (0..{n - 1})"
    if set(values.tolist()) <= {0, 255}:
        return f"{said}; it holds only 0 and 255, a binary mask saved black and white: {_BINARY_FIX}"
    if set(values[values >= n].tolist()) == {255}:
        return f"{said}; {_IGNORE_FIX}"
    if bad == n:
        return f"{said}; add a line for class {bad} or fix the mask"
    return f"{said}; mask values are class indices 0..{n - 1}: fix the mask"


def _check_contiguous(root: Path, holders: dict[int, list[Path]]) -> None:
    """Without classes.txt the classes are 0..K-1 with K - 1 the largest value, so a value past a gap (255 in
    a 0/255 mask, one stray 7) would make classes that never occur; refuse it naming the values and files."""
    values = sorted(holders)
    if values == [0, 255]:
        raise UserError(f"the masks in {root / 'masks'} hold only the values 0 and 255: binary masks saved black "
                        f"and white? {_BINARY_FIX}")
    missing = sorted(set(range(1, values[-1] + 1)) - set(values))  # class 0, the background, may be absent
    if not missing:
        return
    past = [v for v in values if v > missing[0]]
    files = sorted({p.relative_to(root).as_posix() for v in past for p in holders[v]})
    gaps = f"{missing[0]}..{missing[-1]}" if len(missing) > 2 and missing[-1] - missing[0] == len(missing) - 1 \
        else ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    if past == [255]:  # naming 256 classes in classes.txt is no fix for an ignore border
        raise UserError(f"the masks in {root / 'masks'} use class values {', '.join(map(str, values[:-1][:8]))}, and "
                        f"255 in {shown}; {_IGNORE_FIX}")
    raise UserError(f"the masks in {root / 'masks'} use class values {', '.join(map(str, values[:8]))} but never "
                    f"{gaps}, so classes would be missing; mask values are class indices 0..K-1: fix the value"
                    f"{'s' * (len(past) > 1)} {', '.join(map(str, past[:5]))} in {shown}, or name every class in "
                    f"{root / 'classes.txt'}")


def mask_folder_files(root: Path) -> list[Path]:
    """The files a segmentation folder's fingerprint covers (each image, then its mask, sorted by name):
    evaluate rescans the folder with this to tell whether it still holds the training samples."""
    return _flat(_pairs(Path(root))[0])


def _flat(pairs: list[tuple[Path, Path]]) -> list[Path]:
    return [p for pair in pairs for p in pair]


def _pairs(root: Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """[(image, mask)] sorted by name, and the files skipped as not images; UserError for a bad folder."""
    for sub in ("images", "masks"):
        if not (root / sub).is_dir():
            raise UserError(f"{root} has no {sub}/ folder; a segmentation folder holds images/<name>.png and "
                            "masks/<name>.png with the same names")
    images, other = images_in(root / "images")
    masks, other_masks = images_in(root / "masks")
    if not images:
        raise UserError(f"{root / 'images'} has no images; put PNG or JPEG files there, each with a mask of the "
                        "same name in masks/")
    for m in masks:
        if m.suffix.lower() != ".png":
            raise UserError(f"{m} is not a PNG; masks must be lossless PNGs of class indices (JPEG blurs them): "
                            f"{_FIX_MODE}")
    by_image = by_stem(root / "images", images)
    by_mask = by_stem(root / "masks", masks)
    for key, img in by_image.items():
        if key not in by_mask:
            raise UserError(f"{img} has no mask; add {root / 'masks' / key}.png or remove the image")
    for key, mask in by_mask.items():
        if key not in by_image:
            raise UserError(f"{mask} has no image; add the image as {root / 'images' / key}.png (or .jpg) "
                            "or remove the mask")
    skipped = [p.relative_to(root).as_posix() for p in other + other_masks]
    return [(by_image[k], by_mask[k]) for k in sorted(by_image)], skipped


def by_stem(folder: Path, files: list[Path], *, partner: str = "its mask") -> dict[str, Path]:
    """{path inside `folder` without extension: file}, how paired folders (images/ and masks/, A/ and B/)
    match their files; two files of one name are ambiguous."""
    out: dict[str, Path] = {}
    for f in files:
        key = f.relative_to(folder).with_suffix("").as_posix()
        if key in out:
            raise UserError(f"{out[key]} and {f} have the same name, so which one pairs with {partner} is "
                            "unclear; rename or remove one")
        out[key] = f
    return out


def _class_names(root: Path) -> list[str] | None:
    """The lines of root/classes.txt (class 0 first; blank lines at the end ignored), or None."""
    path = root / "classes.txt"
    if not path.is_file():
        return None
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save it as UTF-8 with one class name per line") from None
    while lines and not lines[-1]:
        lines.pop()
    if "" in lines:
        raise UserError(f"{path} line {lines.index('') + 1} is blank; give every class 0..K-1 a name, one per line")
    if len(lines) < 2:
        raise UserError(f"{path} names {len(lines)} class(es); segmentation needs at least 2 (e.g. background "
                        "and one object class), one per line")
    if len(set(lines)) < len(lines):
        dup = next(n for n in lines if lines.count(n) > 1)
        raise UserError(f"{path} names class '{dup}' twice; give each class a distinct name")
    return lines


def _size(path: Path) -> tuple[int, int]:
    """(width, height) of an image as displayed (after its EXIF rotation), without decoding pixels."""
    with opened(path) as im:
        w, h = im.size
        return (h, w) if im.getexif().get(0x0112) in _ROTATED else (w, h)


def _read_mask(path: Path, *, expect: tuple[int, int], size: int, resize: str) -> tuple[np.ndarray, np.ndarray]:
    """(the mask as (size, size) uint8 class ids, the sorted values in the file), checked to be its
    image's size (`expect`, (w, h))."""
    from PIL import Image, ImageOps

    with opened(path) as im:
        if im.mode not in MASK_MODES:
            kind = "an RGB" if im.mode.startswith("RGB") else f"a {im.mode}-mode"
            raise UserError(f"{path} is {kind} mask, whose colours have no class index; {_FIX_MODE}")
        im = ImageOps.exif_transpose(im)  # the same turn as its image gets in open_image
        if im.size != expect:
            raise UserError(f"{path} is {im.size[0]}x{im.size[1]} pixels but its image is {expect[0]}x{expect[1]}; "
                            "save the mask at its image's size")
        values = np.unique(np.asarray(im, dtype=np.uint8))
        # mode L of the indices (no palette to carry along), resized with nearest sampling and 0 as padding
        square = to_square(Image.fromarray(np.asarray(im, dtype=np.uint8)), size, resize, nearest=True)
        return np.asarray(square, dtype=np.uint8), values


def class_colours(num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8 distinct colours: the PASCAL VOC palette (class 0 black, 1 dark red, ...).

    VOC's masks use it, so our masks and overlays look like the ones people already know; its 256
    colours are all distinct (each index's bits are spread over the three channels).
    """
    k = np.arange(num_classes)
    colours = np.zeros((num_classes, 3), np.int64)
    for bit in range(8):
        for c in range(3):
            colours[:, c] |= ((k >> (3 * bit + c)) & 1) << (7 - bit)
    return colours.astype(np.uint8)


def write_mask_png(path: str | Path, mask: np.ndarray, *, num_classes: int, predicted: bool = False) -> Path:
    """Write `mask` (H, W) of class ids 0..num_classes-1 as a palette PNG whose pixel values are the ids.

    Colours come from `class_colours`, so the file opens as a readable picture. Written atomically.
    `predicted` tags it as `predict`'s output, which a later `predict` may replace (predict_guard.py).
    """
    from PIL import Image

    from idealfit.predict_guard import png_options

    mask = np.asarray(mask)
    if not 1 <= num_classes <= 256:
        raise ValueError(f"a palette PNG holds 1 to 256 classes, not num_classes={num_classes}")
    if mask.ndim != 2 or mask.dtype.kind not in "iub":
        raise ValueError(f"mask must be a 2-D integer array (H, W), got {mask.dtype} of shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() >= num_classes):
        raise ValueError(f"mask values must lie in 0..{num_classes - 1}, got {mask.min()}..{mask.max()}")
    im = Image.fromarray(mask.astype(np.uint8))  # mode L
    im.putpalette(class_colours(num_classes).ravel().tolist())  # L becomes P, its values now palette indices
    buf = io.BytesIO()
    im.save(buf, format="PNG", **png_options(predicted))
    return atomic_write(path, buf.getvalue())


def overlay(image: np.ndarray, mask: np.ndarray, *, alpha: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8: `image` (C, H, W) in [0, 1] with each class's colour blended in at `alpha`.

    Background (class 0) stays as it is; a gray image (C = 1) is shown in gray.
    """
    image, mask = np.asarray(image, np.float32), np.asarray(mask)
    if image.ndim != 3 or image.shape[0] not in (1, 3) or image.shape[1:] != mask.shape:
        raise ValueError(f"image must be (1 or 3, H, W) and mask (H, W), got {image.shape} and {mask.shape}")
    rgb = np.broadcast_to(image, (3, *mask.shape)).transpose(1, 2, 0) * 255.0  # (H, W, 3)
    colours = class_colours(int(mask.max()) + 1).astype(np.float32)[mask]  # (H, W, 3)
    blended = np.where((mask > 0)[..., None], (1 - alpha) * rgb + alpha * colours, rgb)
    return np.rint(np.clip(blended, 0, 255)).astype(np.uint8)


def write_overlay_png(path: str | Path, image: np.ndarray, mask: np.ndarray, *, alpha: float = 0.5) -> Path:
    """`overlay(image, mask)` written atomically as an RGB PNG (for `predict --overlay`, so tagged as its output)."""
    from PIL import Image

    from idealfit.predict_guard import png_options

    buf = io.BytesIO()
    Image.fromarray(overlay(image, mask, alpha=alpha)).save(buf, format="PNG", **png_options(True))
    return atomic_write(path, buf.getvalue())
