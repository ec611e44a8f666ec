"""The report's translation figure: test inputs, generated images and the real targets, side by side."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

EXAMPLES = 6
FIGURE = "translation.png"


def _rgb(img: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8."""
    a = np.clip(img, 0, 1)
    a = np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a[:3]
    return (a.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def write_examples(run_dir: Path, prep, predictions: dict[str, np.ndarray], *, scale: int = 2) -> None:
    """translation.png (one row per test sample: input | generated | target), added to the report."""
    from PIL import Image

    from idealfit.report.html import add_extra
    from idealfit.run_files import atomic_write

    inputs, fake, real = prep.x["test"][:EXAMPLES], predictions["y_pred"][:EXAMPLES], predictions["y_true"][:EXAMPLES]
    if not len(inputs):
        return
    gap = 4
    rows = []
    for a, f, r in zip(inputs, fake, real, strict=True):
        h = a.shape[1]
        white = np.full((h, gap, 3), 255, np.uint8)
        rows.append(np.concatenate([_rgb(a), white, _rgb(f), white, _rgb(r)], axis=1))
        rows.append(np.full((gap, rows[-1].shape[1], 3), 255, np.uint8))
    sheet = np.concatenate(rows)
    im = Image.fromarray(sheet).resize((sheet.shape[1] * scale, sheet.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    atomic_write(run_dir / FIGURE, buf.getvalue())
    add_extra(run_dir, section="Generated images", caption="test samples: input, generated, real target",
              path=FIGURE)
