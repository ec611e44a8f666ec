"""What `idealfit predict --out` may replace: only files an earlier `predict` wrote, never its inputs.

A newcomer's natural moves (`--out new.csv` for the CSV being predicted, `--out my_data/masks/` for a
segmentation folder's own masks, `--out photos/` for the input images) would otherwise replace data that
exists nowhere else. So, before any work and before anything is written:

- a CSV `--out` must be a file in an existing, writable folder, not one of the run's own files;
- `--out` may not be one of the inputs, nor (for a folder of PNGs) a folder that directly holds an input,
  nor a segmentation dataset's `images/` (or, with `--overlay`, its `masks/`: overlays there stop it training);
- an existing file is replaced only when an earlier `predict` wrote it: a prediction CSV (its header is one
  `predict` writes) or a PNG tagged `Software: idealfit predict` in its text chunk. Any other file is refused.
"""

from __future__ import annotations

from pathlib import Path

from idealfit.errors import UserError

PNG_TAG = ("Software", "idealfit predict")  # the tEXt chunk that marks a PNG `predict` may replace


def png_options(predicted: bool) -> dict:
    """PIL's `save` options for a PNG: with `predicted`, the `pnginfo` that tags it as written by `predict`
    (masks, overlays, generated images), so a later `predict` may replace it; else none."""
    if not predicted:
        return {}
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(*PNG_TAG)
    return {"pnginfo": info}


def _tagged_png(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.text.get(PNG_TAG[0]) == PNG_TAG[1]
    except Exception:  # not an image at all: certainly not ours  # noqa: BLE001
        return False


def _prediction_csv(path: Path) -> bool:
    """Whether `path` starts with a header `predict` writes: `input,...` or `<time>,steps_ahead,...`."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            cells = fh.readline().rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError):
        return False
    return cells[0] == "input" or cells[1:2] == ["steps_ahead"]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _input_files(inputs: list[str], kind: str) -> list[Path]:
    """The inputs as files (folders expanded quietly), for comparing with --out; missing ones left to the reader."""
    from idealfit.data.inputs import folder_inputs

    files: list[Path] = []
    for p in map(Path, inputs):
        if p.is_dir():
            files += folder_inputs(p, kind=kind)[0]  # the listing predict reads, without its notes
        else:
            files.append(p)
    return files


def check_out_file(out: str, run_dir: Path, inputs: list[str], *, kind: str) -> None:
    """Refuse a CSV `--out` that is a folder, in a missing or read-only folder, one of the run's own files, an
    input, or an existing file `predict` did not write: it must name a new file or an earlier prediction CSV."""
    from idealfit.run_files import writable_parent

    path = Path(out)
    if path.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {path / 'preds.csv'}")
    parent = writable_parent(f"--out {out}", path)
    if parent.resolve() == Path(run_dir).resolve() and path.exists():
        raise UserError(f"--out {out} would overwrite the run's own {path.name}; give a new file name")
    for p in _input_files(inputs, kind):
        if _same(path, p):
            raise UserError(f"--out {out} is one of the inputs; writing the predictions there would replace it: "
                            "give a new file name")
    if path.exists() and not _prediction_csv(path):
        raise UserError(f"--out {out} exists and is not a prediction CSV (predict replaces only its own "
                        "files); give a new file name, or delete it first")


def _dataset_part(folder: Path) -> str | None:
    """'images' or 'masks' when `folder` lies in that part of a segmentation dataset (images/ beside masks/)."""
    for d in [folder, *folder.parents]:
        if d.name in ("images", "masks") and (d.parent / "images").is_dir() and (d.parent / "masks").is_dir():
            return d.name
    return None


def check_out_folder(folder: Path, inputs: list[str], *, kind: str, overlay: bool = False) -> None:
    """Refuse a PNG `--out` folder that holds an input or is part of a dataset `predict` would damage."""
    resolved = folder.resolve()
    for p in _input_files(inputs, kind):
        if p.exists() and (p.resolve().parent == resolved or p.resolve() == resolved):
            raise UserError(f"--out {folder} holds the input {p}; its outputs could replace the inputs: "
                            "write to a new folder")
    part = _dataset_part(resolved)
    if part == "images":
        raise UserError(f"--out {folder} is a segmentation dataset's images/ folder; write to a new folder")
    if part == "masks" and overlay:
        raise UserError(f"--out {folder} is a segmentation dataset's masks/ folder, where overlays would stop "
                        "it training; drop --overlay or write to a new folder")


def check_replaceable(folder: Path, names: list[str]) -> None:
    """Refuse when a PNG about to be written in `folder` exists and was not written by `predict`."""
    if not folder.is_dir():
        return
    taken = [n for n in names if (folder / n).exists() and not _tagged_png(folder / n)]
    if taken:
        more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
        raise UserError(f"--out {folder} already holds {taken[0]}{more}, not written by predict (predict replaces "
                        "only its own files); write to a new folder, or delete those files first")
