"""Contact sheets: small images side by side in one PNG, for the figures a task writes into its run folder
(segmentation masks, generated images, their progress over epochs)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

GAP = 4  # white pixels between the cells and below each row
TITLE_BAND = 16  # pixels of the (enlarged) sheet above the first row that hold the column titles


def to_rgb8(img: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1], C = 1 or 3 (or more: the first three) -> (H, W, 3) uint8."""
    a = np.clip(img, 0, 1)
    a = np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a[:3]
    return (a.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def write_sheet(path: str | Path, rows: list[list[np.ndarray]], *, scale: int = 2,
                titles: list[str] | None = None) -> Path:
    """One PNG of `rows` of (H, W, 3) uint8 cells, a white gap between cells and below each row, enlarged
    `scale`× with nearest-neighbour sampling (pixels stay crisp); written atomically.

    `titles`: one per column, written in black above the first row (default None: no title band), so the
    PNG reads on its own, away from the report's caption.
    """
    from PIL import Image

    from idealfit.run_files import atomic_write

    lines = []
    for cells in rows:
        white = np.full((cells[0].shape[0], GAP, 3), 255, np.uint8)
        row = np.concatenate([part for cell in cells for part in (cell, white)][:-1], axis=1)
        lines += [row, np.full((GAP, row.shape[1], 3), 255, np.uint8)]
    sheet = np.concatenate(lines)
    im = Image.fromarray(sheet).resize((sheet.shape[1] * scale, sheet.shape[0] * scale), Image.NEAREST)
    if titles:
        im = _titled(im, titles, cell=rows[0][0].shape[1] * scale, step=(rows[0][0].shape[1] + GAP) * scale)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return atomic_write(path, buf.getvalue())


def _titled(im, titles: list[str], *, cell: int, step: int):
    """`im` below a white band with `titles[i]` centred over column i (`cell` pixels wide, every `step`)."""
    from PIL import Image, ImageDraw, ImageFont

    out = Image.new("RGB", (im.width, im.height + TITLE_BAND), "white")
    out.paste(im, (0, TITLE_BAND))
    draw, font = ImageDraw.Draw(out), ImageFont.load_default()  # Pillow's bundled font: nothing to install
    for i, title in enumerate(titles):
        left, _, right, _ = draw.textbbox((0, 0), title, font=font)
        draw.text((i * step + max(0, (cell - (right - left)) // 2), 2), title, fill="black", font=font)
    return out
