"""A saved run's inputs: files to predict on, and labelled data to evaluate on.

Table inputs are matched to the run's training columns by name, never by position: a CSV with its
columns reordered, or with extra columns (an ID), gives the same numbers as the original.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from idealfit.config import DataConfig
from idealfit.data.base import Dataset, encode_labels
from idealfit.data.table import CsvTable, Table, csv_header, is_csv_path, read_csv_table
from idealfit.errors import UnreadableFile, UserError


def read_images(state: dict[str, Any], paths: list[str | Path]) -> np.ndarray:
    """Image files at the run's raw size and channels, then its fitted input preprocessing."""
    from idealfit.data.images import OLD_RUN_RESIZE, open_image
    from idealfit.data.prepare import raw_input_shape, transform_inputs

    meta = state["meta"]
    c, *spatial = raw_input_shape(state)
    size = meta.get("image_size", spatial[0])
    resize = meta.get("resize", OLD_RUN_RESIZE)  # the run's own rule, so predict sees what training saw
    # folder=False: these are inputs to a saved run, where data.skip_unreadable (a training option) means nothing
    x = np.stack([open_image(Path(p), size=size, channels=c, resize=resize, folder=False) for p in paths])
    lo, hi = meta.get("pixel_range", (0.0, 1.0))
    x = (x * (hi - lo) + lo).astype(np.float32)  # files are read as [0, 1]; match the training data's range
    return transform_inputs(state, x, names=[str(p) for p in paths])


def expand_folders(paths: str | Path | list[str | Path], *, kind: str) -> list[Path]:
    """One path or a list of them; a single string is one file, not a sequence of one-letter names.

    A folder stands for every input file of the run's `kind` under it (an audio run's .wav files, any other
    run's images), recursively (sub-folders too), sorted by the path inside the folder; its other files
    (notes, .DS_Store) are left out, as in a training folder.
    """
    from idealfit.data.audio import AUDIO_SUFFIXES
    from idealfit.data.images import IMAGE_SUFFIXES

    given = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    audio = kind == "audio"
    what, plural, suffixes = ("WAV", "WAV files", AUDIO_SUFFIXES) if audio else ("image", "images", IMAGE_SUFFIXES)
    out: list[Path] = []
    for p in given:
        if p.is_dir():
            found, other = folder_inputs(p, kind=kind)
            if not found:
                raise UserError(f"input folder {p} holds no {what} files ({', '.join(sorted(suffixes))}); "
                                f"pass a folder of {plural}, or the files themselves")
            if other and kind in ("image", "image_pair", "audio"):  # as training's note, on stderr (stdout: predictions)
                import sys

                from idealfit.data.images import _listed, skipped_hint

                names = [q.relative_to(p).as_posix() for q in other]
                print(f"{p}: skipped {len(other)} non-{what} file{'s' * (len(other) != 1)} ({_listed(names)})"
                      f"{skipped_hint(names) if audio else ''}", file=sys.stderr)
            out += found
        else:
            out.append(p)
    return out


def folder_inputs(folder: Path, *, kind: str) -> tuple[list[Path], list[Path]]:
    """(the input files of a run of `kind` under `folder`, its other files): `wavs_in` for audio, else `images_in`."""
    from idealfit.data.audio import wavs_in
    from idealfit.data.images import images_in

    return wavs_in(folder) if kind == "audio" else images_in(folder)


def split_readable(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(readable, unreadable) among `paths`: each image or WAV file decoded once by the same readers predict
    uses; other files (a CSV, an NPZ) count as readable here and are checked when read.

    Decoding twice costs a second read of each file, only when asked (`predict --skip-unreadable`); it keeps
    one reader per kind of file instead of a tolerant copy of each.
    """
    from idealfit.data.audio import AUDIO_SUFFIXES, read_wav
    from idealfit.data.images import IMAGE_SUFFIXES, opened

    good, bad = [], []
    for p in paths:
        try:
            if p.suffix.lower() in IMAGE_SUFFIXES:
                with opened(p, folder=False) as im:
                    im.load()  # the pixels, not just the header: a truncated file fails here
            elif p.suffix.lower() in AUDIO_SUFFIXES:
                read_wav(p)
        except UnreadableFile:
            bad.append(p)
            continue
        good.append(p)
    return good, bad


def read_inputs(state: dict[str, Any], paths: list[Path]) -> tuple[np.ndarray, list[str]]:
    """Model-ready inputs and a name per sample from image files, one CSV or one NPZ."""
    from idealfit.data.audio import AUDIO_SUFFIXES
    from idealfit.data.images import IMAGE_SUFFIXES

    if not paths:
        raise UserError("no inputs given; pass image files, WAV files, a CSV or an NPZ")
    for p in paths:
        if not p.is_file():
            raise UserError(f"input {p} does not exist; pass existing files")
    suffixes = {p.suffix.lower() for p in paths}
    if state["kind"] == "audio" or suffixes <= AUDIO_SUFFIXES:  # WAV files (a non-WAV one is refused by name)
        other = [p for p in paths if p.suffix.lower() not in AUDIO_SUFFIXES]
        if other:  # a CSV, an image or an NPZ: its kind is wrong, not the WAV file broken
            raise UserError(f"this run was trained on audio; {other[0]} is not a .wav file: give it .wav recordings "
                            "(or a folder of them)")
        if state["kind"] != "audio":
            raise UserError(f"this run was trained on {state['kind']} data; WAV recordings cannot be its input")
        from idealfit.data.audio import read_audio_files

        return read_audio_files(state, paths), [str(p) for p in paths]
    if suffixes <= IMAGE_SUFFIXES:
        if state["kind"] not in ("image", "image_pair"):
            raise UserError(f"this run was trained on {state['kind']} data; images cannot be its input")
        return read_images(state, paths), [str(p) for p in paths]
    if len(paths) != 1:
        raise UserError("pass image files, or exactly one CSV or NPZ file")
    p = paths[0]
    if p.suffix.lower() == ".npz":
        return _read_npz(state, p)
    if is_csv_path(p):
        if state["kind"] not in ("table", "text"):  # text: the run's text column, by name
            raise UserError(f"this run was trained on {state['kind']} data; a CSV cannot be its input: "
                            f"{_kind_fix(state['kind'])}")
        return read_table_csv(state, p)
    raise UserError(f"don't know how to read {p}; pass image files, a .csv (.tsv, .csv.gz) or a .npz")


def _kind_fix(kind: str) -> str:
    """What a run of this kind takes as input, said as the fix for giving it something else."""
    return {"image": "give it image files (or a folder of them)", "image_pair": "give it image files (or a folder "
            "of them)", "audio": "give it .wav recordings (or a folder of them)"}.get(kind, f"give it {kind} data "
                                                                                     "in the form it was trained on")


def _read_npz(state: dict[str, Any], p: Path) -> tuple[np.ndarray, list[str]]:
    from idealfit.data.files import read_npz
    from idealfit.data.prepare import raw_input_shape, transform_inputs

    x, _ = read_npz(p, need_y=False)
    want = raw_input_shape(state)
    if x.ndim == len(want) and state["kind"] == "image":
        x = x[:, None]
    if tuple(x.shape[1:]) != want:
        raise UserError(f"{p}: x has samples of shape {tuple(x.shape[1:])}; this run expects {want}")
    x = Table.from_array(x) if state["kind"] == "table" else x
    names = [f"{p.name}[{i}]" for i in range(len(x))]
    import sys

    from idealfit.data.input_notes import array_range_note

    for note in array_range_note(state, x, names, source=p.name):  # on stderr (stdout: predictions)
        print(note, file=sys.stderr)
    return transform_inputs(state, x, names=names), names


def _run_columns(state: dict[str, Any], csv: CsvTable) -> Table:
    """The run's training columns, picked by name from a CSV (extra columns ignored)."""
    cols = state["columns"]
    missing = [c for c in cols if c not in csv.header]
    if missing:
        raise UserError(f"{csv.path} lacks column '{missing[0]}' that this run was trained on; add it "
                        f"(the run's columns: {', '.join(cols)})")
    return csv.table[:, [csv.header.index(c) for c in cols]]


def read_table_csv(state: dict[str, Any], p: Path) -> tuple[np.ndarray, list[str]]:
    """A CSV's rows as model inputs, each named by its identifier when the run recorded one and the
    CSV has it (the value of the first such column, e.g. "W017"), else file:line (the header is line 1)."""
    from idealfit.data.prepare import transform_inputs

    csv = read_csv_table(p, encoding=_encoding(state), decimal=_decimal(state))
    names = [f"{p.name}:{line}" for line in csv.lines]
    if state["kind"] == "text":
        _note_empty_texts(state, csv)
    ids = [c for c in state.get("identifiers", []) if c in csv.header]
    if ids:
        names = [id_text(v) or n for v, n in zip(csv.column(ids[0]), names, strict=True)]
    x = _run_columns(state, csv)
    import sys

    from idealfit.data.input_notes import input_notes

    # what was filled, unknown or clipped (a text's unknown words too): one line per kind on stderr (stdout: predictions)
    for note in input_notes(state, x, names, source=p.name):
        print(note, file=sys.stderr)
    return transform_inputs(state, x, names=names), names


def id_text(v: object) -> str:
    """An identifier cell as text: 17.0 -> "17"; a missing cell -> "" (the row then keeps file:line)."""
    if isinstance(v, float):
        return "" if v != v else (f"{v:.0f}" if v.is_integer() else repr(v))
    return str(v)


def _encoding(state: dict[str, Any]) -> str:
    return (state.get("meta") or {}).get("encoding", "utf-8")


def _decimal(state: dict[str, Any]) -> str:
    """The decimal mark the run's CSV was read with (runs from before data.decimal: ".")."""
    return (state.get("meta") or {}).get("decimal", ".")


def _note_empty_texts(state: dict[str, Any], csv: CsvTable) -> None:
    """One note on stderr (stdout holds the predictions) counting the rows whose text cell is empty."""
    import sys

    from idealfit.data.text import empty_text_note, missing_texts

    column = state["columns"][0]
    if column in csv.header:  # a missing column is refused by _run_columns
        empty = missing_texts(csv.column(column))
        if empty.any():
            print(empty_text_note(csv.path.name, column, empty, csv.lines), file=sys.stderr)


def load_eval_dataset(state: dict[str, Any], cfg: DataConfig, data: str | None, *, run_dir=None) -> Dataset:
    """The labelled data `Run.evaluate` scores: the run's own source (checked unchanged by its
    fingerprint), or `data`, a path or embedded name (a CSV read by the run's column names)."""
    from idealfit.data.prepare import load_dataset

    if state["kind"] == "image":  # the run's own resize rule (config.yaml of older runs lacks data.resize)
        from idealfit.data.images import OLD_RUN_RESIZE

        cfg = DataConfig(**{**cfg.__dict__, "resize": (state.get("meta") or {}).get("resize", OLD_RUN_RESIZE)})
    if data is None:
        from idealfit.data.embedded import EMBEDDED

        if cfg.name not in EMBEDDED and not Path(cfg.name).expanduser().exists():
            what, arg = _source_words(state, cfg)
            raise UserError(f"this run's source {cfg.name} no longer exists, so its test split cannot be read "
                            f"again; put the {what} back, or evaluate on a labelled {what} with --data {arg}")
        _check_fingerprint(state, cfg)
        return load_dataset(cfg)
    path = Path(data).expanduser()
    if state["kind"] == "image_pair" and not (is_csv_path(path) and path.is_file()):
        return _eval_pairs(state, cfg, data)
    if is_csv_path(path) and path.is_file():
        if state["kind"] in _TRAINED_ON:
            was, fix = _TRAINED_ON[state["kind"]]
            raise UserError(f"{run_dir or 'this run'} was trained on {was}, and {data} is a CSV: pass {fix}")
        if state["kind"] == "table":
            return _labelled_csv(state, cfg, path)
        if state["kind"] == "text":  # read as at training: load_csv finds the text column again
            target = (state.get("meta") or {}).get("target") or cfg.target
            encoding = (state.get("meta") or {}).get("encoding", cfg.encoding)  # text runs record it since data.decimal
            _check_eval_target(path, csv_header(path, encoding), target)
            cfg = DataConfig(**{**cfg.__dict__, "decimal": _decimal(state), "encoding": encoding})
    return load_dataset(DataConfig(**{**cfg.__dict__, "name": data}))


def _eval_pairs(state: dict[str, Any], cfg: DataConfig, data: str) -> Dataset:
    """Pairs for evaluate at the run's geometry, as predict takes any size and grey or colour: a folder read at the
    run's side with its resize rule (the reading training does), then both sides given the run's channels
    (match_pair_channels). An embedded set of another side cannot be re-read at this one: refused in one line."""
    from idealfit.data.pairs import is_pair_folder, match_pair_channels
    from idealfit.data.prepare import load_dataset

    c_a, side = int(state["input_shape"][0]), int(state["input_shape"][-1])
    c_b = int((state.get("target") or {}).get("channels", c_a))
    path = Path(data).expanduser()
    folder = path.is_dir()
    # a folder without A/ and B/ can only be the other layout; the loader's error says so if it is not that either
    pairs = ("folders" if is_pair_folder(path) else "side_by_side") if folder else cfg.pairs
    ds = load_dataset(DataConfig(**{**cfg.__dict__, "name": data, "image_size": side if folder else None,
                                    "channels": None, "pairs": pairs,
                                    "resize": (state.get("meta") or {}).get("resize", cfg.resize)}))
    if ds.kind != "image_pair":
        raise UserError(f"{data} holds no image pairs; this run translates images: pass a folder of A/ (inputs) and "
                        "B/ (targets), or one of A|B images side by side")
    if tuple(ds.x.shape[-2:]) != (side, side):
        raise UserError(f"{data} holds {ds.x.shape[-2]}x{ds.x.shape[-1]} pairs and this run translates {side}x{side} "
                        "images; evaluate on a folder of pairs (read at the run's size) instead")
    ds.x, ds.y = match_pair_channels(ds.x, c_a), match_pair_channels(ds.y, c_b)
    return ds


# what a run of a folder kind was trained on, and what to pass instead of a CSV
_TRAINED_ON = {"image": ("images (a folder)", "a folder of images"),
               "image_pair": ("image pairs (a folder)", "a folder of image pairs"),
               "audio": ("audio (a folder of WAV recordings)", "a folder of WAV recordings")}


def _check_eval_target(path: Path, header: list[str], target: str | None) -> None:
    """Labelled data for evaluate holds the run's target column (the user typed no --target: name the run's)."""
    if target is not None and header and target not in header:
        raise UserError(f"{path} has no '{target}' column, the column this run predicts; evaluate needs labelled "
                        f"data: add the '{target}' column (its columns: {', '.join(header)})")


def _check_fingerprint(state: dict[str, Any], cfg: DataConfig) -> None:
    from idealfit.data.files import fingerprint

    recorded = (state.get("meta") or {}).get("fingerprint")
    path = Path(cfg.name).expanduser()
    if not recorded or not path.exists():
        return
    if fingerprint(path, _source_files(path, state, cfg) if path.is_dir() else None) != recorded:
        what, arg = _source_words(state, cfg)
        rows = "samples" if what == "folder" else "rows"
        raise UserError(f"{cfg.name} changed since this run was trained (its fingerprint differs), so its test "
                        f"split is no longer the same {rows}; evaluate on a labelled {what} with --data {arg} instead")


def _source_words(state: dict[str, Any], cfg: DataConfig) -> tuple[str, str]:
    """("folder", "FOLDER/") for a run trained on a folder (its loaders record the files they skipped, or an
    older audio run its files), else ("file", "FILE"): what the evaluate errors tell the user to pass."""
    meta = state.get("meta") or {}
    folder = "skipped_files" in meta or "files" in meta or Path(cfg.name).expanduser().is_dir()
    return ("folder", "FOLDER/") if folder else ("file", "FILE")


def _source_files(folder: Path, state: dict[str, Any], cfg: DataConfig) -> list[Path]:
    """The files of a training folder that its fingerprint covered, found by the scan its run's loader used
    (a WAV folder, A/ + B/ pairs, images/ + masks/, class folders): each kind fingerprints its own list."""
    from idealfit.data.audio import scan_audio_folder
    from idealfit.data.images import scan_image_folder
    from idealfit.data.masks import mask_folder_files
    from idealfit.data.pairs import pair_folder_files

    if state["kind"] == "audio":
        return scan_audio_folder(folder)[0]
    if state["kind"] == "image_pair":
        return pair_folder_files(folder, (state.get("meta") or {}).get("pairs", cfg.pairs))
    if state.get("task") == "segmentation":
        return mask_folder_files(folder)
    return scan_image_folder(folder).files


def _labelled_csv(state: dict[str, Any], cfg: DataConfig, path: Path) -> Dataset:
    csv = read_csv_table(path, encoding=_encoding(state), decimal=_decimal(state))
    target = cfg.target or (state.get("meta") or {}).get("target")
    _check_eval_target(path, csv.header, target)
    from idealfit.data.files import drop_unlabelled, unlabelled_note

    csv, unlabelled = drop_unlabelled(csv, target)  # as training does: left out, said on stderr
    if unlabelled:
        import sys

        if len(csv.lines) == 0:
            raise UserError(f"{path}: target column '{target}' is empty on every row, so there is nothing to "
                            "score; fill in the labels")
        print(unlabelled_note(path, target, unlabelled).replace("to train on them", "to score them"), file=sys.stderr)
    y = csv.column(target)
    if state["task"] == "regression":
        if y.dtype.kind != "f":
            raise UserError(f"{path}: target '{target}' holds text, but this run predicts numbers")
        ids, names = y.astype(np.float32), None
    else:
        ids, names = encode_labels(y if y.dtype.kind == "f" else y.astype(str))
    return Dataset(path.stem, _run_columns(state, csv), ids, state["task"], "table", class_names=names,
                   columns=list(state["columns"]), meta={"source": str(path), "target": target})
