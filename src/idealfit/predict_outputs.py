"""`idealfit predict` for the tasks whose output is not one value per input.

Reconstruction: each input's reconstruction error (MSE in standardized units, after the run's fixed
corruption), the score an anomaly detector ranks inputs by.

Segmentation: one class-index mask PNG per input image.

Translation: one generated image PNG per input image.

Masks and generated images have their input's size: the fully convolutional network sees the whole
image at the run's scale (data/whole.py), and its answer is resized back. Mask pixel values are class
ids (a palette PNG, so a viewer shows colours and a program reads ids), and with `--overlay` each
input is also written with its predicted mask drawn over it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from idealfit.data.base import plural
from idealfit.errors import UserError
from idealfit.predict_guard import check_out_folder, check_replaceable

# --out's rule for the runs that write PNGs (segmentation, translation): a folder, existing or new inside an existing
# folder. A name ending in a file suffix (.png, .csv, ...) is refused, never made into a folder (`--out
# s000_pred.png` used to become a directory of that name holding s000.png).
OUTPUTS = {"segmentation": ("a segmentation run", "mask PNG", "masks", "predicts masks"),
           "translation": ("a translation run", "generated image PNG", "generated images", "generates images")}
FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".csv", ".npz", ".npy", ".txt",
                 ".json")  # data.images.IMAGE_SUFFIXES and the files predict reads or writes


def _out_dir(out: str | None, run_dir: Path, *, task: str = "segmentation") -> Path:
    run, one, many, does = OUTPUTS[task]
    if not out:
        raise UserError(f"{run} {does}: pass --out FOLDER for the PNGs")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out} is a file; {run} writes one {one} per input into a folder")
    if not path.exists() and path.suffix.lower() in FILE_SUFFIXES:
        raise UserError(f"--out {out} names a file ({path.suffix}); {run} writes one {one} per input into a "
                        f"folder: give a folder such as {path.with_suffix('')}/")
    if path.resolve() == Path(run_dir).resolve():
        raise UserError(f"--out {out} is the run folder; write the {many} somewhere else")
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


def _whole(run, paths: list[Path]) -> list[tuple[np.ndarray, tuple[int, int]]] | None:
    """[(the network's answer at the run's scale, the input's (width, height))] for image files when the
    run's model takes whole images (data/whole.py), else None (NPZ inputs, pooled or PCA runs: S x S).
    Every input is read and predicted before anything is written."""
    from idealfit.data.images import IMAGE_SUFFIXES
    from idealfit.data.whole import predicts_whole, read_whole

    if not paths or not predicts_whole(run.state) or any(p.suffix.lower() not in IMAGE_SUFFIXES for p in paths):
        return None
    for p in paths:
        if not p.is_file():
            raise UserError(f"input {p} does not exist; pass existing files")
    out = []
    for p in paths:  # one at a time: the images may all differ in size
        x, size = read_whole(run.state, p)
        out.append((run._predict_ready(x)[0], size))
    return out


def at_input_size(run, whole: list[tuple[np.ndarray, tuple[int, int]]]) -> list[np.ndarray]:
    """`_whole`'s answers resized back to each input's (width, height): a mask (H, W) of class ids with
    nearest-neighbour, a generated image (C, H, W) in [0, 1] bilinearly (data/whole.to_size)."""
    from idealfit.data.whole import to_size

    return [to_size(out, *size, nearest=run.task == "segmentation") for out, size in whole]


def predict_whole(run, paths: list[Path]) -> list[np.ndarray] | None:
    """What `idealfit predict` writes for these inputs of a segmentation or translation run, as arrays (the
    Python API's `Run.predict`): each at its input's size, or None where the run's S x S path applies
    (NPZ inputs, pooled or PCA runs, other tasks)."""
    if run.task not in ("segmentation", "translation"):
        return None
    whole = _whole(run, paths)
    return None if whole is None else at_input_size(run, whole)


def _sizes(shapes: list[tuple[int, int]]) -> str:
    """"H×W" of the outputs (rows × columns, as numpy shapes print), or a phrase when they differ."""
    return "×".join(map(str, shapes[0])) if len(set(shapes)) == 1 else "each its input's size"


def _scaled(run, whole) -> bool:
    """Whether some input was not already the run's S x S (so the line says how it was scaled)."""
    from idealfit.data.whole import run_scale

    side = run_scale(run.state)[0]
    return whole is not None and any(size != (side, side) for _, size in whole)


def predict_masks(run, inputs: list[str], *, out: str | None, overlay: bool = False, echo=print) -> int:
    """A segmentation run: the class-id mask PNG of every input image, at the input's size, as
    `<stem>.png` in the folder `out` (and `<stem>-overlay.png` with `overlay`)."""
    from idealfit.data.inputs import read_inputs
    from idealfit.data.masks import write_mask_png, write_overlay_png
    from idealfit.data.whole import read_original, scale_note
    from idealfit.run import _as_paths

    folder = _out_dir(out, run.dir)
    check_out_folder(folder, inputs, kind=run.state["kind"], overlay=overlay)
    paths = _as_paths(inputs, kind=run.state["kind"])
    whole = _whole(run, paths)
    if whole is None:  # model-sized inputs: masks at the run's side
        x, names = read_inputs(run.state, paths)  # checked before anything is written
        masks = list(run._predict_ready(x))  # (H, W) class ids each
        images = [np.clip(image, 0, 1) for image in x]
    else:
        names = [str(p) for p in paths]
        masks = at_input_size(run, whole)
        images = None
    stems = _unique_stems(names)
    check_replaceable(folder, [f"{s}{end}" for s in stems for end in (".png", "-overlay.png")[:1 + overlay]])
    folder.mkdir(exist_ok=True)
    k = len(run.class_names or []) or int(max(m.max() for m in masks)) + 1
    for i, (stem, mask) in enumerate(zip(stems, masks, strict=True)):
        write_mask_png(folder / f"{stem}.png", mask, num_classes=k, predicted=True)
        if overlay:
            image = images[i] if images is not None else read_original(run.state, paths[i])
            write_overlay_png(folder / f"{stem}-overlay.png", image, mask)
    how = f"; {scale_note(run.state)}, mask resized back with nearest-neighbour" if _scaled(run, whole) else ""
    echo(f"wrote {plural(len(names), 'mask')} ({_sizes([m.shape for m in masks])}, pixel value = class id: "
         f"{', '.join(f'{i} {n}' for i, n in enumerate(run.class_names or []))}{how}) to {folder}"
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
    """A translation run: the generated image of every input, at the input's size, as `<stem>.png` in the
    folder `out`."""
    from idealfit.data.inputs import read_inputs
    from idealfit.data.pairs import write_image_png
    from idealfit.data.whole import scale_note
    from idealfit.run import _as_paths

    folder = _out_dir(out, run.dir, task="translation")
    check_out_folder(folder, inputs, kind=run.state["kind"])
    paths = _as_paths(inputs, kind=run.state["kind"])
    whole = _whole(run, paths)
    if whole is None:  # model-sized inputs: images at the run's side
        x, names = read_inputs(run.state, paths)  # checked before anything is written
        images = list(run._predict_ready(x))  # (C, H, W) in [0, 1] each
    else:
        names = [str(p) for p in paths]
        images = at_input_size(run, whole)
    stems = _unique_stems(names)
    check_replaceable(folder, [f"{s}.png" for s in stems])
    folder.mkdir(exist_ok=True)
    for stem, image in zip(stems, images, strict=True):
        write_image_png(folder / f"{stem}.png", image, predicted=True)
    how = f"; {scale_note(run.state)}, output resized back bilinearly" if _scaled(run, whole) else ""
    echo(f"wrote {plural(len(names), 'generated image')} ({_sizes([im.shape[1:] for im in images])}{how}) "
         f"to {folder}")
    return 0
