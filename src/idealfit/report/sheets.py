"""Contact sheets: small images side by side in one PNG, for the figures a task writes into its run folder
(segmentation masks, generated images, their progress over epochs)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

GAP = 4  # white pixels between the cells and below each row


def to_rgb8(img: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1], C = 1 or 3 (or more: the first three) -> (H, W, 3) uint8."""
    a = np.clip(img, 0, 1)
    a = np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a[:3]
    return (a.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def write_sheet(path: str | Path, rows: list[list[np.ndarray]], *, scale: int = 2) -> Path:
    """One PNG of `rows` of (H, W, 3) uint8 cells, a white gap between cells and below each row, enlarged
    `scale`× with nearest-neighbour sampling (pixels stay crisp); written atomically."""
    from PIL import Image

    from idealfit.run_files import atomic_write

    lines = []
    for cells in rows:
        white = np.full((cells[0].shape[0], GAP, 3), 255, np.uint8)
        row = np.concatenate([part for cell in cells for part in (cell, white)][:-1], axis=1)
        lines += [row, np.full((GAP, row.shape[1], 3), 255, np.uint8)]
    sheet = np.concatenate(lines)
    im = Image.fromarray(sheet).resize((sheet.shape[1] * scale, sheet.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return atomic_write(path, buf.getvalue())
