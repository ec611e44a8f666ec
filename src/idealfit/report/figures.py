"""Matplotlib figures for a run: learning curves, confusion matrix, predicted-vs-true, image grids.

Every function returns a `matplotlib.figure.Figure` built directly (no pyplot), so nothing touches
global state and figures are freed like any other object. `to_png` / `save_png` turn them into
bytes or files; `metrics_csv.read_history` gives the rows `learning_curves` plots.

Example:
    >>> fig = learning_curves(read_history("runs/x/metrics.csv"), metric="accuracy", best_epoch=7)
    >>> save_png(fig, "runs/x/curves.png")
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from idealfit.errors import UserError

# Past this many classes the per-cell counts are too small to read; the colours still show them.
MAX_ANNOTATED_CLASSES = 30


def learning_curves(history: list[dict], *, metric: str, best_epoch: int | None = None) -> Figure:
    """Two panels, loss and `metric`, each with train and validation curves per epoch.

    Args:
        history: rows from `read_history` (keys `epoch`, `train_loss`, `val_loss`, `train_<metric>`,
            `val_<metric>`; None or missing cells are skipped).
        metric: the second panel's metric, e.g. "accuracy" or "rmse".
        best_epoch: draw a dashed vertical line there (default None: no line).
    """
    if not history:
        raise UserError("the history has no epochs (metrics.csv is empty); train for at least one epoch")
    columns = set().union(*history)
    for name in ("loss", metric):
        if f"train_{name}" not in columns and f"val_{name}" not in columns:
            raise UserError(
                f"the history has no train_{name} or val_{name} column; columns are {sorted(columns)}"
            )
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    for ax, name in zip(fig.subplots(1, 2), ("loss", metric), strict=True):
        for split, label in (("train", "train"), ("val", "validation")):
            points = [
                (row.get("epoch", i + 1), row[f"{split}_{name}"])
                for i, row in enumerate(history)
                if row.get(f"{split}_{name}") is not None
            ]
            if points:
                epochs, values = zip(*points, strict=True)
                ax.plot(epochs, values, marker="o" if len(points) <= 30 else None, ms=3, label=label)
        if best_epoch is not None:
            ax.axvline(
                best_epoch, color="0.35", linestyle="--", linewidth=1, label=f"best epoch ({best_epoch})"
            )
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    return fig


def _as_labels(values, name: str, n_classes: int) -> np.ndarray:
    """Integer class indices in [0, n_classes) as a flat array, or UserError."""
    arr = np.asarray(values).ravel()
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise UserError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise UserError(
            f"{name} holds class {bad} but only {n_classes} class names were given; pass one name per class"
        )
    return arr


def confusion_matrix(y_true, y_pred, *, class_names: list[str]) -> Figure:
    """Confusion matrix heat map (rows true, columns predicted) with each cell's count written in it.

    Args:
        y_true: true class indices, shape (N,).
        y_pred: predicted class indices, shape (N,).
        class_names: one name per class; index i names class i.
    """
    n = len(class_names)
    if n == 0:
        raise UserError("class_names is empty; pass one name per class")
    y_true = _as_labels(y_true, "y_true", n)
    y_pred = _as_labels(y_pred, "y_pred", n)
    if y_true.shape != y_pred.shape:
        raise UserError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}; pass matching arrays")
    # Imported here: sklearn takes ~1 s to import and only this figure needs it.
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    counts = sk_confusion_matrix(y_true, y_pred, labels=np.arange(n))  # (n, n)
    side = min(max(4.5, 0.45 * n + 2.5), 14)
    fig = Figure(figsize=(side + 1, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0, interpolation="nearest")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, label="count")
    colorbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    names = [str(c) for c in class_names]
    ticks = np.arange(n)
    # parse_math=False: a class name such as "$5" must show as typed, not as TeX.
    ax.set_xticks(ticks, names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right", parse_math=False)
    ax.set_yticks(ticks, names, parse_math=False)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix (n={counts.sum()}, accuracy {accuracy:.1%})")
    if n <= MAX_ANNOTATED_CLASSES:
        threshold = counts.max() / 2
        size = 10 if n <= 10 else 7
        for i in range(n):
            for j in range(n):
                color = "white" if counts[i, j] > threshold else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=color, fontsize=size)
    return fig


def predicted_vs_true(y_true, y_pred) -> Figure:
    """Scatter of predictions against targets with the identity line y = x (perfect predictions).

    Args:
        y_true: targets, any shape; flattened.
        y_pred: predictions, same shape as y_true.
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise UserError(
            f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}; pass matching arrays"
        )
    if y_true.size == 0:
        raise UserError("y_true and y_pred are empty; there are no predictions to plot")
    y_true, y_pred = y_true.ravel(), y_pred.ravel()
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(y_true, y_pred, s=12 if y_true.size <= 1000 else 4, alpha=0.6, edgecolors="none")
    lo = float(min(y_true.min(), y_pred.min()))
    hi = float(max(y_true.max(), y_pred.max()))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", linewidth=1, label="y = x (perfect)")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    rmse = float(np.sqrt(np.mean((y_pred - y_true) ** 2)))
    ax.set_title(f"Predicted vs true (n={y_true.size}, RMSE {rmse:.4g})")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="upper left")
    return fig


def _to_numpy(images) -> np.ndarray:
    """A numpy copy of an array or a torch tensor (any device), without importing torch here."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    return np.asarray(images, dtype=np.float64)


def image_grid(
    images,
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    normalize: bool = False,
) -> Figure:
    """A grid of small images, one per axis, filled row by row.

    Args:
        images: array or tensor, (N, C, H, W) with C = 1 (drawn with `cmap`) or 3 (RGB), or (N, H, W).
        titles: one title per image (default None: no titles).
        ncols: images per row (default 8; fewer when N is smaller).
        cmap: colour map for one-channel images (default "gray").
        normalize: scale each image to [0, 1] by its own min and max (default False: clip to [0, 1]).
    """
    arr = _to_numpy(images)
    if arr.ndim == 3:
        arr = arr[:, None]  # (N, 1, H, W)
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise UserError(f"images must be (N, C, H, W) with C = 1 or 3, or (N, H, W); got shape {arr.shape}")
    n = arr.shape[0]
    if n == 0:
        raise UserError("images is empty; pass at least one image")
    if titles is not None and len(titles) != n:
        raise UserError(f"got {len(titles)} titles for {n} images; pass one title per image")
    if ncols < 1:
        raise UserError(f"ncols must be at least 1, got {ncols}")
    if normalize:
        lo = arr.min(axis=(1, 2, 3), keepdims=True)
        span = arr.max(axis=(1, 2, 3), keepdims=True) - lo
        arr = (arr - lo) / np.where(span > 0, span, 1.0)  # a constant image becomes all zeros
    else:
        arr = np.clip(arr, 0.0, 1.0)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    title_room = 0.3 if titles is not None else 0.0
    fig = Figure(figsize=(1.4 * ncols, (1.4 + title_room) * nrows), layout="constrained")
    for i, ax in enumerate(fig.subplots(nrows, ncols, squeeze=False).flat):
        ax.set_axis_off()
        if i >= n:
            continue
        if arr.shape[1] == 1:
            ax.imshow(arr[i, 0], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")  # (H, W)
        else:
            ax.imshow(arr[i].transpose(1, 2, 0), interpolation="nearest")  # (H, W, 3)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8, parse_math=False)
    return fig


def to_png(fig: Figure, *, dpi: int = 100, palette: bool = False) -> bytes:
    """The figure as PNG bytes.

    Args:
        fig: the figure.
        dpi: pixels per inch (default 100); the PNG is figsize * dpi pixels.
        palette: store at most 256 colours (Pillow's octree quantizer, no dithering; default False). For grids
            of colour-mapped images (feature maps, filters), whose smooth gradients a full-colour PNG stores
            poorly: a 32-map 64 px grid fell from 668 KB to about 130 KB (each colour channel off by at most
            ~15 of 255), and the report that embeds them shrank alike.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    if not palette:
        return buffer.getvalue()
    from PIL import Image

    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                                                       dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


OTHER_FORMATS = {".jpg", ".jpeg", ".svg", ".pdf", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".eps", ".html"}


def png_path(path: str | Path, *, flag: str = "--out") -> Path:
    """The PNG file a command writes at `path`: a name without ".png" gets it (`--out runs/lrf` writes
    runs/lrf.png); another image or document format's suffix is refused (the bytes are a PNG whatever the name)."""
    p = Path(path)
    if p.suffix.lower() == ".png":
        return p
    if p.suffix.lower() in OTHER_FORMATS:
        raise UserError(f"{flag} {path}: this writes a PNG image; give a name ending in .png, e.g. {p.with_suffix('.png')}")
    if p.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name such as {p / 'plot.png'}")
    return p.with_name(p.name + ".png")


def save_png(fig: Figure, path: str | Path, *, dpi: int = 100) -> Path:
    """Save the figure as a PNG file atomically (temporary file, then rename); returns the path.

    Args:
        fig: the figure.
        path: where to write; missing parent folders are created.
        dpi: pixels per inch (default 100).
    """
    from idealfit.run_files import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, to_png(fig, dpi=dpi))
