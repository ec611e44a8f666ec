"""`idealfit predict` for the tasks whose output is not one value per input.

Reconstruction: each input's reconstruction error (MSE in standardized units, after the run's fixed
corruption), the score an anomaly detector ranks inputs by.

Segmentation: one class-index mask PNG per input image.

Translation: one generated image PNG per input image.

Masks have the size the model sees (the run's image side, after its resize rule), the pixel values
are class ids (a palette PNG, so a viewer shows colours and a program reads ids), and with
`--overlay` each input is also written with its predicted mask drawn over it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from idealfit.errors import UserError


def _out_dir(out: str | None, run_dir: Path) -> Path:
    if not out:
        raise UserError("a segmentation run predicts masks: pass --out FOLDER for the mask PNGs")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out} is a file; a segmentation run writes one mask PNG per input into a folder")
    if path.resolve() == Path(run_dir).resolve():
        raise UserError(f"--out {out} is the run folder; write the masks somewhere else")
    parent = path if path.is_dir() else path.parent
    if not parent.is_dir():
        raise UserError(f"--out {out}: the folder {parent} does not exist; create it or write somewhere else")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot write in {parent}; write somewhere else")
    return path


def _unique_stems(paths: list[str]) -> list[str]:
    """File stems, made unique with -2, -3... (two inputs a.png from different folders)."""
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        stem = Path(p).stem
        seen[stem] = seen.get(stem, 0) + 1
        out.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return out


def predict_masks(run, inputs: list[str], *, out: str | None, overlay: bool = False, echo=print) -> int:
    from idealfit.data.inputs import read_inputs
    from idealfit.data.masks import write_mask_png, write_overlay_png
    from idealfit.run import _as_paths

    folder = _out_dir(out, run.dir)
    x, names = read_inputs(run.state, _as_paths(inputs, kind=run.state["kind"]))  # checked before anything is written
    masks = run._predict_ready(x)  # (N, H, W) class ids
    folder.mkdir(exist_ok=True)
    k = len(run.class_names or []) or int(masks.max()) + 1
    for stem, image, mask in zip(_unique_stems(names), x, masks, strict=True):
        write_mask_png(folder / f"{stem}.png", mask, num_classes=k)
        if overlay:
            write_overlay_png(folder / f"{stem}-overlay.png", np.clip(image, 0, 1), mask)
    side = "×".join(str(s) for s in masks.shape[1:])
    echo(f"wrote {len(names)} masks ({side}, pixel value = class id: "
         f"{', '.join(f'{i} {n}' for i, n in enumerate(run.class_names or []))}) to {folder}"
         + (", with overlays" if overlay else ""))
    return 0


def reconstruction_errors(run, inputs: list[str]) -> tuple[list[str], np.ndarray]:
    """(input names, per-input MSE) of a reconstruction run, in the standardized units of its metrics."""
    from idealfit.data.inputs import read_inputs
    from idealfit.run import _as_paths

    x, names = read_inputs(run.state, _as_paths(inputs, kind=run.state["kind"]))  # standardized, as the model's targets
    out = run._forward(run._seen(x)).numpy()
    return names, ((out - x) ** 2).reshape(len(x), -1).mean(axis=1)


def predict_images(run, inputs: list[str], *, out: str | None, echo=print) -> int:
    """A translation run: the generated image of every input, as `<stem>.png` in the folder `out`."""
    from idealfit.data.inputs import read_inputs
    from idealfit.data.pairs import write_image_png
    from idealfit.run import _as_paths

    if not out:
        raise UserError("a translation run generates images: pass --out FOLDER for the PNGs")
    folder = _out_dir(out, run.dir)
    x, names = read_inputs(run.state, _as_paths(inputs, kind=run.state["kind"]))  # checked before anything is written
    images = run._predict_ready(x)  # (N, C, H, W) in [0, 1]
    folder.mkdir(exist_ok=True)
    for stem, image in zip(_unique_stems(names), images, strict=True):
        write_image_png(folder / f"{stem}.png", image)
    echo(f"wrote {len(names)} generated images ({'×'.join(map(str, images.shape[2:]))}) to {folder}")
    return 0
