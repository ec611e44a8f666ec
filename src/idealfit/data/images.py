"""User image folders: one sub-folder per class, files decoded to (C, S, S) float32 in [0, 1].

A folder as users bring it: `root/<class>/**/<image>`, where a class folder's sub-folders
(`cat/2019/x.png`) are read recursively and sorted by their path inside the class folder; files that
are not images (notes.txt, .DS_Store, Thumbs.db, a README.md) are skipped and listed, never fatal.
A corrupt image stops loading with one line naming it, unless `data.skip_unreadable` is set.

Non-square images become S x S by `data.resize`, the same function at train, evaluate, predict and
when streaming: `crop` (default: scale the short side to S, cut the centre), `squash` (scale each
side to S, distorting the aspect ratio) or `pad` (scale the long side to S, black borders).

Every problem a user can cause raises `UserError` naming the file and the fix, before any training.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from idealfit.data.base import Dataset
from idealfit.data.files import fingerprint
from idealfit.errors import UnreadableFile, UserError

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_AUTO_SIDE = 64  # an image folder's default side: its first image's, at most this
# crop is the default because it keeps shapes undistorted (a CNN's filters see a cat's proportions the
# same in portrait and landscape photos) and is what torchvision's Resize+CenterCrop and fastai's
# Resize do; squash keeps every pixel but stretches; pad keeps both at the cost of borders.
RESIZE = ("crop", "squash", "pad")
OLD_RUN_RESIZE = "squash"  # what runs saved before data.resize existed did
_SYSTEM_FILES = ("Thumbs.db", "desktop.ini")


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name not in _SYSTEM_FILES


def is_image_file(p: Path) -> bool:
    """A visible file with an image suffix (an AppleDouble `._x.png` is hidden, so not an image)."""
    return p.is_file() and _visible(p) and p.suffix.lower() in IMAGE_SUFFIXES


def images_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """(images, other files) under `folder`, recursively, each sorted by its path inside `folder`.

    Hidden folders (.git, .ipynb_checkpoints) are not entered; other files are everything that is not
    an image: notes, .DS_Store, Thumbs.db.
    """
    images: list[Path] = []
    other: list[Path] = []
    for p in sorted(folder.rglob("*"), key=lambda q: q.relative_to(folder).as_posix()):
        rel_dirs = p.relative_to(folder).parts[:-1]
        if any(d.startswith(".") for d in rel_dirs) or not p.is_file():
            continue
        (images if is_image_file(p) else other).append(p)
    return images, other


def _unreadable(path: Path, exc: Exception, *, folder: bool) -> UnreadableFile:
    skip = " (or set data.skip_unreadable=true to skip such files)" if folder else ""
    return UnreadableFile(f"{path} is not a readable image ({type(exc).__name__}); remove it or replace it "
                          f"with a PNG or JPEG file{skip}", path=path)


@contextmanager
def opened(path: Path, *, folder: bool = True) -> Iterator[Image.Image]:
    """The one image opener: PIL's Image.open with a corrupt file or a decompression bomb (a header
    claiming more than Image.MAX_IMAGE_PIXELS, which PIL only warns about up to twice that) as a
    UserError naming it. Lazy like Image.open: the pixels are decoded when first used.

    Args:
        path: the image file.
        folder: the file is part of an image folder (default): the error offers data.skip_unreadable.
    """
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
        raise _unreadable(path, exc, folder=folder) from None


def to_square(im: Image.Image, size: int, resize: str, *, nearest: bool = False) -> Image.Image:
    """`im` as size x size by the `resize` rule (crop | squash | pad; see the module docstring), padded with 0.

    Bilinear sampling for pictures; `nearest` for class masks, whose values must never be blended."""
    from PIL import Image, ImageOps

    method = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if resize == "squash" or im.size == (size, size):
        return im.resize((size, size), method)
    if resize == "crop":
        return ImageOps.fit(im, (size, size), method=method)
    if resize == "pad":
        return ImageOps.pad(im, (size, size), method=method, color=0)
    raise ValueError(f"unknown resize rule {resize!r}; one of {RESIZE}")  # our bug: config validates it


def open_image(path: Path, *, size: int, channels: int, resize: str = RESIZE[0], folder: bool = True) -> np.ndarray:
    """One image file as (C, size, size) float32 in [0, 1]; UserError names a corrupt file.

    EXIF orientation is applied (a phone photo comes out upright); 16-bit gray images are scaled by
    65535 rather than clipped to 8 bits (PIL's convert("L") would turn them all white). A non-square
    image is made square by `resize` (crop | squash | pad, default crop). `folder`: as for `opened`.
    """
    return image_array(to_square(upright(path, channels=channels, folder=folder), size, resize), channels)


def upright(path: Path, *, channels: int, folder: bool = True) -> Image.Image:
    """An image file decoded upright (its EXIF turn applied) as mode L (channels 1) or RGB (3), or as mode F
    in [0, 1] for 16-bit and float gray images; `image_array` turns it into the model's (C, H, W) array."""
    from PIL import ImageOps

    with opened(path, folder=folder) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I") or im.mode == "F":
            return _deep_gray(path, im)
        out = im.convert("L" if channels == 1 else "RGB")
        out.load()
        return out


def image_array(im: Image.Image, channels: int) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] of an image from `upright` (resized or not)."""
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float32)[None]
        return arr if channels == 1 else np.repeat(arr, 3, axis=0)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def read_streamed(ds: Dataset, indices) -> np.ndarray:
    """Samples `indices` of a folder streamed from disk (`ds.paths`), (n, C, S, S) float32 in [0, 1],
    decoded with the folder's side, channels and resize rule, exactly as training streams them."""
    size, channels, resize = ds.meta["image_size"], ds.meta["channels"], ds.meta["resize"]
    return np.stack([open_image(Path(ds.paths[i]), size=size, channels=channels, resize=resize) for i in indices])


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
    with opened(path) as im:
        return im.size, im.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


@dataclass
class FolderScan:
    """What `scan_image_folder` found: images with class ids, and the files it skipped."""

    files: list[Path]  # every image, class by class, each class sorted by path inside its folder
    labels: np.ndarray  # (N,) int64 class ids
    names: list[str]  # class names, sorted (the folder names)
    skipped: list[Path] = field(default_factory=list)  # files that are not images (root and class folders)
    loose: list[Path] = field(default_factory=list)  # images beside the class folders, in no class

    def __getitem__(self, i: int):  # scan[0] is the file list, as when this was a tuple
        return (self.files, self.labels, self.names)[i]


def _side_by_side_hint(root: Path) -> str:
    """A hint at data.pairs=side_by_side when the loose images look like the pix2pix datasets' A|B files (each
    twice as wide as tall): such a folder has no classes by design. Only the first few are opened (headers only)."""
    from PIL import Image

    sizes = []
    for p in sorted(p for p in root.iterdir() if is_image_file(p))[:5]:
        try:
            with Image.open(p) as im:
                sizes.append(im.size)
        except OSError:  # an unreadable file is reported where the images are read, not in a hint
            continue
    if not sizes or any(w != 2 * h for w, h in sizes):
        return ""
    return ("; or, if each image holds an input and its target side by side (A|B, twice as wide as tall), "
            "train image-to-image translation with --set data.pairs=side_by_side")


def scan_image_folder(root: Path) -> FolderScan:
    """Images and class ids of `root/<class>/**/<image>`; checks the folder's shape."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if not classes:
        raise UserError(f"{root} has no class sub-folders; put each class's images in its own folder, "
                        f"e.g. {root}/cat/1.png and {root}/dog/1.png" + _side_by_side_hint(root))
    at_root = sorted(p for p in root.iterdir() if p.is_file())
    scan = FolderScan([], np.empty(0, np.int64), [c.name for c in classes],
                      skipped=[p for p in at_root if not is_image_file(p)], loose=[p for p in at_root if is_image_file(p)])
    labels: list[int] = []
    for i, c in enumerate(classes):
        imgs, other = images_in(c)
        if len(imgs) < 2:
            raise UserError(f"class folder {c} has {len(imgs)} image(s); each class needs at least 2 "
                            "(add images or remove the folder)")
        scan.files += imgs
        scan.skipped += other
        labels += [i] * len(imgs)
    if len(classes) < 2:
        raise UserError(f"{root} has only one class folder ({classes[0].name}); classification needs at least 2")
    scan.labels = np.array(labels, np.int64)
    return scan


def _listed(paths: list[str], limit: int = 5) -> str:
    more = f", and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def folder_notes(meta: dict) -> list[str]:
    """The lines `idealfit train` prints about what an image or WAV folder's loader skipped (none: [])."""
    notes = []
    audio = "sample_rate" in meta  # an audio folder's meta records its rate
    what = "WAV file" if audio else "image"
    if meta.get("skipped_files"):
        n = len(meta["skipped_files"])
        notes.append(f"skipped {n} non-{'WAV' if audio else 'image'} file{'s' * (n != 1)} "
                     f"({_listed(meta['skipped_files'])}){skipped_hint(meta['skipped_files']) if audio else ''}")
    if meta.get("loose_images"):
        n = len(meta["loose_images"])
        notes.append(f"skipped {n} {what}{'s' * (n != 1)} outside the class folders ({_listed(meta['loose_images'])}); "
                     "move them into a class folder to train on them")
    if meta.get("unreadable_files"):
        n = len(meta["unreadable_files"])
        notes.append(f"skipped {n} unreadable {what}{'s' * (n != 1)} (data.skip_unreadable): "
                     f"{_listed(meta['unreadable_files'])}")
    return notes


def skipped_hint(names: list[str]) -> str:
    """The fix for skipped recordings in a format idealfit cannot read (an .mp3 beside the WAVs), naming only
    them when other files were skipped too (a notes.txt is no recording to convert), else ''."""
    from idealfit.data.audio import OTHER_AUDIO_SUFFIXES

    audio = [n for n in names if Path(n).suffix.lower() in OTHER_AUDIO_SUFFIXES]
    if not audio:
        return ""
    if len(audio) == len(names):
        return ": convert them to .wav to use them"
    return f": convert the recordings ({_listed(audio)}) to .wav to use them; the other files are not audio"


def _readable(files: list[Path], y: np.ndarray, read, *, skip: bool) -> tuple[list[Path], np.ndarray, list, list]:
    """(kept files, their labels, read(f) of each, unreadable files); `read` raising UserError on a
    file stops here unless `skip`."""
    kept, ys, out, bad = [], [], [], []
    for f, label in zip(files, y, strict=True):
        try:
            out.append(read(f))
        except UserError:
            if not skip:
                raise
            bad.append(f)
            continue
        kept.append(f)
        ys.append(label)
    return kept, np.array(ys, np.int64), out, bad


def load_image_folder(root: Path, *, image_size: int | None, channels: int | None, max_memory_mb: float,
                      resize: str = RESIZE[0], skip_unreadable: bool = False) -> Dataset:
    """Images made square (`resize`: crop | squash | pad) at a common side and channel count, (N, C, S, S) in [0, 1].

    A folder whose pixels would exceed `max_memory_mb` is not loaded: the Dataset then carries
    `paths`, and training streams it through a DataLoader. Non-image files are skipped and listed in
    meta["skipped_files"]; with `skip_unreadable`, corrupt images too (meta["unreadable_files"]).
    """
    scan = scan_image_folder(root)
    files, y = scan.files, scan.labels
    meta = {"source": str(root), "resize": resize, "fingerprint": fingerprint(root, files),
            "skipped_files": [p.relative_to(root).as_posix() for p in scan.skipped],
            "loose_images": [p.name for p in scan.loose]}
    probed = _readable(files, y, _probe, skip=skip_unreadable)  # fail now, not mid-epoch
    files, y, sizes = probed[0], probed[1], probed[2]
    unreadable = probed[3]
    if len(files) == 0:
        raise UserError(f"{root} has no readable images; check the files or unset data.skip_unreadable")
    (w, h), _ = sizes[0]
    size = image_size or min(max(w, h), MAX_AUTO_SIDE)
    if channels is None:  # colour if any of the first images has it (all of them when loading in memory)
        channels = 3 if any(colour for _, colour in sizes[:64]) else 1
    meta.update(image_size=size, channels=channels)
    nbytes = len(files) * channels * size * size * 4
    if nbytes <= max_memory_mb * 2**20:
        files, y, xs, more = _readable(files, y, lambda f: open_image(f, size=size, channels=channels, resize=resize),
                                       skip=skip_unreadable)
        unreadable += more
    _check_classes(root, y, scan.names)
    meta["unreadable_files"] = [p.relative_to(root).as_posix() for p in unreadable]
    if nbytes > max_memory_mb * 2**20:
        x = np.empty((len(files), channels, size, size), np.float32)[:0]  # shape carrier only
        meta["input_shape"] = (channels, size, size)
        return Dataset(root.name, x, y, "classification", "image", class_names=scan.names,
                       paths=[str(f) for f in files], meta=meta)
    return Dataset(root.name, np.stack(xs), y, "classification", "image", class_names=scan.names, meta=meta)


def _check_classes(root: Path, y: np.ndarray, names: list[str]) -> None:
    """After skipping unreadable images, every class still needs 2 images."""
    counts = np.bincount(y, minlength=len(names))
    for name, n in zip(names, counts, strict=True):
        if n < 2:
            raise UserError(f"class folder {root / name} has {n} readable image(s) after skipping unreadable "
                            "ones; each class needs at least 2 (add images or remove the folder)")
