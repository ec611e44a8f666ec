"""The report's segmentation sections: per-class IoU and Dice, and test images with their masks."""

from __future__ import annotations

import base64
from html import escape

from idealfit.report import sections as tables
from idealfit.report.run_folder import RunFiles
from idealfit.run_files import is_file, read_bytes

EXAMPLES = "segmentation.png"  # written by the segmentation task at the end of training


def _background(name) -> str:
    """" (background)" after class 0's name, unless the name says so itself."""
    return "" if str(name).strip().lower() == "background" else " (background)"


def per_class_table(summary: dict) -> str:
    """IoU and Dice of every class on the test split, from summary.json."""
    test = (summary.get("metrics") or {}).get("test") or {}
    names = summary.get("class_names") or []
    iou, dice = test.get("iou_per_class") or [], test.get("dice_per_class") or []
    if not iou or len(iou) != len(names):
        return ""
    rows = "".join(f"<tr><th>{escape(str(n))}{_background(n) if k == 0 else ''}</th><td>{tables.fmt(a)}</td>"
                   f"<td>{tables.fmt(b)}</td></tr>" for k, (n, a, b) in enumerate(zip(names, iou, dice, strict=True)))
    note = ('<p class="note">IoU = overlap / union of the true and predicted pixels of a class; Dice = 2 × overlap / '
            "(true + predicted). The headline Dice and mean IoU average the foreground classes.</p>")
    return f'<table class="per-class"><tr><th>class</th><th>IoU</th><th>Dice</th></tr>{rows}</table>{note}'


def legend(names: list[str]) -> str:
    """Which overlay colour is which class: a swatch of each foreground class's colour (class_colours, the
    palette the overlays and predicted mask PNGs use) beside its name; background is left clear."""
    from idealfit.data.masks import class_colours

    if len(names) < 2:
        return ""
    colours = class_colours(len(names))
    items = "".join(
        f'<span style="white-space: nowrap; margin-right: 1em"><span style="display: inline-block; width: 0.9em; '
        f"height: 0.9em; vertical-align: -0.1em; border: 1px solid #888; background: "
        f'#{r:02x}{g:02x}{b:02x}"></span> {escape(str(n))}</span>'
        for n, (r, g, b) in zip(names[1:], colours[1:].tolist(), strict=True))
    return f'<p class="legend">colours: {items} (class {escape(str(names[0]))}: clear)</p>'


def sections(run: RunFiles) -> list[tuple[str, str, str]]:
    out = [("per-class", "Per-class IoU and Dice", per_class_table(run.summary))]
    if run.run_dir is not None and is_file(run.run_dir, EXAMPLES):
        data = base64.b64encode(read_bytes(run.run_dir, EXAMPLES)).decode("ascii")
        caption = ("Test images (left), the true mask over the image (middle) and the predicted mask "
                   "(right); each class has its own colour, background is left clear.")
        out.append(("examples", "Test images and masks",
                    f'<figure><img src="data:image/png;base64,{data}" alt="test images with true and predicted '
                    f'masks" style="image-rendering: pixelated; max-width: 100%"><figcaption>{escape(caption)}'
                    f"{legend(run.summary.get('class_names') or [])}</figcaption></figure>"))
    return out
