"""User data: an image folder (one sub-folder per class), a CSV file, or an NPZ with `x` and `y`.

Every problem a user can cause raises `UserError` naming the file and the fix, before any training.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from idealfit.data.base import Dataset, encode_labels, infer_task
from idealfit.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_AUTO_SIDE = 64  # an image folder's default side: its first image's, at most this


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name not in ("Thumbs.db", "desktop.ini")


def _unreadable(path: Path, exc: Exception) -> UserError:
    return UserError(f"{path} is not a readable image ({type(exc).__name__}); remove it or replace it "
                     "with a PNG or JPEG file")


def open_image(path: Path, *, size: int, channels: int) -> np.ndarray:
    """One image file as (C, size, size) float32 in [0, 1]; UserError names a corrupt file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB").resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _probe(path: Path) -> tuple[tuple[int, int], bool]:
    """(width, height) and whether the image has colour, without decoding all pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size, im.mode not in ("1", "L", "LA", "I", "I;16", "F")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise _unreadable(path, exc) from None


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
    meta = {"source": str(root), "image_size": size, "channels": channels}
    if nbytes > max_memory_mb * 2**20:
        for f in files:  # fail now on an unreadable file rather than mid-epoch
            _probe(f)
        x = np.empty((len(files), channels, size, size), np.float32)[:0]  # shape carrier only
        meta["input_shape"] = (channels, size, size)
        return Dataset(root.name, x, y, "classification", "image", class_names=names,
                       paths=[str(f) for f in files], meta=meta)
    x = np.stack([open_image(f, size=size, channels=channels) for f in files])
    return Dataset(root.name, x, y, "classification", "image", class_names=names, meta=meta)


def _parse_cell(v: str) -> float | str:
    v = v.strip()
    if v == "" or v.lower() in ("na", "nan", "null", "none", "?"):
        return np.nan
    try:
        return float(v)
    except ValueError:
        return v


def load_csv(path: Path, *, target: str | None, task: str | None) -> Dataset:
    """A CSV with a header row; `target` names the column to predict, every other column is a feature."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text CSV file; save it as CSV (UTF-8)") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise UserError(f"{path} has no data rows; a CSV needs a header row and at least one row per sample")
    header = [h.strip() for h in rows[0]]
    if target is None:
        raise UserError(f"{path} is a CSV: name the column to predict with --target COLUMN "
                        f"(columns: {', '.join(header)})")
    if target not in header:
        import difflib

        close = difflib.get_close_matches(target, header, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"columns are: {', '.join(header)}"
        raise UserError(f"{path} has no column '{target}' to use as target; {hint}")
    bad = [i + 2 for i, r in enumerate(rows[1:]) if len(r) != len(header)]
    if bad:
        raise UserError(f"{path} line {bad[0]} has a different number of fields than the header "
                        f"({len(header)}); fix or remove that line")
    cells = np.array([[_parse_cell(c) for c in r] for r in rows[1:]], dtype=object)
    t = header.index(target)
    y_raw = cells[:, t]
    missing = [i + 2 for i, v in enumerate(y_raw) if isinstance(v, float) and np.isnan(v)]
    if missing:
        raise UserError(f"{path}: target column '{target}' is empty or NaN on {len(missing)} row(s) "
                        f"(first on line {missing[0]}); drop or fill those rows")
    feats = [i for i in range(len(header)) if i != t]
    if not feats:
        raise UserError(f"{path} has no feature columns besides the target '{target}'")
    for i in feats:
        _check_column(path, header[i], cells[:, i])
    numeric = all(isinstance(v, float) for v in y_raw)
    y_num = y_raw.astype(np.float64) if numeric else y_raw.astype(str)
    task = task or infer_task(y_num)
    if task == "regression":
        if not numeric:
            raise UserError(f"{path}: target '{target}' holds text, so it cannot be a regression target; "
                            "use --task classification")
        y, names = y_num.astype(np.float32), None
    else:
        y, names = _class_ids(path, y_num, f"target '{target}'")
    return Dataset(path.stem, cells[:, feats], y, task, "table", class_names=names,
                   columns=[header[i] for i in feats], meta={"source": str(path), "target": target})


def _class_ids(path: Path, y: np.ndarray, what: str) -> tuple[np.ndarray, list[str]]:
    """Class ids and names, refusing a single class (nothing to tell apart)."""
    ids, names = encode_labels(y)
    if len(names) < 2:
        raise UserError(f"{path}: {what} holds only one class ({names[0]}); "
                        "classification needs at least 2 (or use --task regression)")
    return ids, names


def _check_column(path: Path, name: str, col: np.ndarray) -> None:
    present = [v for v in col if not (isinstance(v, float) and np.isnan(v))]
    if not present:
        raise UserError(f"{path}: column '{name}' is empty in every row; drop the column")
    text = [v for v in present if isinstance(v, str)]
    if text and len(text) < len(present):
        raise UserError(f"{path}: column '{name}' mixes numbers and text (e.g. '{text[0]}'); "
                        "make it all numbers or all categories")
    distinct = len(set(text))
    if text and distinct > 50 and distinct > 0.5 * len(text):
        raise UserError(f"{path}: column '{name}' is text with {distinct} distinct values in {len(col)} rows, "
                        "which looks like an ID or free text; drop the column")


def load_npz(path: Path, *, task: str | None) -> Dataset:
    """An .npz with `x` (N, F) table, (N, C, L) signal, (N, H, W) or (N, C, H, W) images, and `y` (N,)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            if not {"x", "y"} <= keys:
                raise UserError(f"{path} must hold arrays named 'x' and 'y'; it has: {', '.join(sorted(keys)) or 'none'}")
            x, y = f["x"], f["y"]
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable .npz file ({exc}); save it with numpy.savez(path, x=..., y=...)") from None
    if x.ndim == 0 or y.ndim == 0:
        raise UserError(f"{path}: x and y must be arrays with one entry per sample, not single numbers")
    if len(x) != len(y):
        raise UserError(f"{path}: x has {len(x)} samples but y has {len(y)}; they must match")
    if len(y) == 0:
        raise UserError(f"{path}: x and y hold no samples; save the data with numpy.savez(path, x=..., y=...)")
    if y.ndim != 1:
        raise UserError(f"{path}: y must be one label or value per sample, shape (N,); got {y.shape}")
    if x.dtype.kind not in "biuf":
        raise UserError(f"{path}: x must be numeric; got dtype {x.dtype}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise UserError(f"{path}: y has {int((~np.isfinite(y)).sum())} NaN or inf value(s); drop or fill those samples")
    x = x.astype(np.float32)
    kind = {2: "table", 3: "signal", 4: "image"}.get(x.ndim)
    bad = np.isinf(x) if kind == "table" else ~np.isfinite(x)  # tables impute NaN; nothing can use inf
    if bad.any():
        raise UserError(f"{path}: x has {int(bad.sum())} non-finite value(s) (NaN or inf); fix or drop those samples")
    if x.ndim == 3 and x.shape[1] > 4 and x.shape[2] > 4:  # (N, H, W) gray images
        x, kind = x[:, None], "image"
    if kind is None:
        raise UserError(f"{path}: x must be (N, F), (N, C, L), (N, H, W) or (N, C, H, W); got {x.shape}")
    task = task or infer_task(y)
    if task == "classification":
        y, names = _class_ids(path, y, "y")
    else:
        y, names = y.astype(np.float32), None
    if kind == "table":
        return Dataset(path.stem, x.astype(object), y, task, kind, class_names=names,
                       columns=[f"x{i}" for i in range(x.shape[1])], meta={"source": str(path)})
    return Dataset(path.stem, x, y, task, kind, class_names=names, meta={"source": str(path)})
