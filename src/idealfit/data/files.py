"""User data: a CSV file, or an NPZ with `x` and `y` (image folders: data/images.py); source fingerprints.

Every problem a user can cause raises `UserError` naming the file and the fix, before any training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from idealfit.data.base import Dataset, class_ids, infer_task, plural
from idealfit.data.columns import choose_features, free_text_reason, identifier_reason, key_name
from idealfit.data.table import CsvTable, Table, is_missing, read_csv_table
from idealfit.errors import UserError


def fingerprint(path: Path, files: list[Path] | None = None) -> str:
    """sha256 of a data source, to tell later whether it still holds the same samples in the same order.

    A file: its bytes. An image folder: the sorted relative paths and sizes of its images `files`
    (`images.scan_image_folder(path).files`; an image folder's split indexes that sorted list, so added,
    removed or renamed files are what move samples; sizes catch most edits; mtimes are left out as
    copies change them, and content is left out as hashing every image would add a full read of a
    large folder to every load).
    """
    import hashlib

    h = hashlib.sha256()
    if path.is_dir():
        if files is None:
            raise TypeError("fingerprint of a folder needs its image files")  # our bug: callers scan first
        for f in files:
            h.update(f"{f.relative_to(path).as_posix()}\0{f.stat().st_size}\n".encode())
    else:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return "sha256:" + h.hexdigest()


def _text_column(csv, *, target: str | None, columns: list[str] | None, drop: list[str] | None,
                 text_column: str | None) -> str | None:
    """The column of free text: `text_column` when named, else the one feature column that looks like free text
    (`data.text.looks_like_text`), beside any others; two such columns are refused (name one)."""
    from idealfit.data.text import find_text_column, looks_like_text

    if text_column is not None:
        return find_text_column(csv.header, text_column=text_column, target=target, path=csv.path)
    features = [c for c in (columns or csv.header) if c != target and c not in (drop or []) and c in csv.header]
    texts = [c for c in features if csv.column(c).dtype == object and looks_like_text(csv.column(c))]
    if len(texts) > 1:
        raise UserError(f"{csv.path}: columns {', '.join(repr(c) for c in texts)} all look like free text, and a run "
                        f"reads one; name it with --set data.text_column={texts[0]} and leave the others out with "
                        f"data.drop")
    return texts[0] if texts else None


def load_csv(path: Path, *, target: str | None, task: str | None, columns: list[str] | None = None,
             drop: list[str] | None = None, encoding: str = "utf-8", text_column: str | None = None,
             decimal: str = "auto") -> Dataset:
    """A CSV with a header row; `target` names the column to predict, every other column is a feature.

    A column of free text (named by `text_column`, or the one feature column that looks like free text:
    `data.text.looks_like_text`) makes it a text dataset (`data.text.load_text_csv`): that column read as
    tokens, beside the other feature columns (numbers and categories) when there are any.

    Obvious identifiers (see `identifier_reason`) are left out of the features unless `columns` names
    them; `meta["identifiers"]` lists them and `meta["notes"]` says so in one line each.

    Args:
        columns: use only these feature columns (default None: all but the target and identifiers).
        drop: leave these columns out (default none).
        encoding: the file's text encoding (default utf-8).
        decimal: the decimal mark, "." or "," (default "auto": see `data.table.read_csv_table`).
    """
    csv = read_csv_table(path, encoding=encoding, decimal=decimal)
    header = csv.header
    read = {"encoding": encoding, "decimal": csv.decimal}  # recorded: predict reads its CSVs the same way
    notes = ([decimal_note(csv)] if csv.comma_columns else []) + amount_notes(csv)
    unlabelled: list[int] = []
    if target in header:
        csv, unlabelled = drop_unlabelled(csv, target)
        notes += [unlabelled_note(path, target, unlabelled)] if unlabelled else []
        if unlabelled:  # recorded in the run (preprocess.json's meta): how many, and the first lines
            read.update(unlabelled_rows=len(unlabelled), unlabelled_lines=unlabelled[:UNLABELLED_RECORDED])
    text = _text_column(csv, target=target, columns=columns, drop=drop, text_column=text_column)
    if text is not None:  # a column of free text (data/text.py)
        from idealfit.data.text import load_text_csv

        others = ([], [], [], [])
        if target in header:  # load_text_csv refuses a missing target with its own message
            for key, names in (("data.columns", columns), ("data.drop", drop)):
                for c in names or []:
                    check_column_name(path, header, c, key)
            others = choose_features(csv, target=target, columns=columns, drop=drop, skip=(text,))
            for i in others[0]:
                _check_column(csv, i)
        return load_text_csv(path, csv, target=target, text_column=text, task=task, read=read,
                             others=[header[i] for i in others[0]], identifiers=others[1], notes=notes + others[2])
    if target is None:
        raise UserError(target_hint(path, header))
    check_target(path, header, target)
    for key, names in (("data.columns", columns), ("data.drop", drop)):
        for c in names or []:
            check_column_name(path, header, c, key)
    n = len(csv.lines)
    if n < 2:
        without = f" with a value in the target '{target}' ({len(unlabelled)} without)" if unlabelled else ""
        raise UserError(f"{path} has only {n} data row(s){without}, too few to train on; add rows (a train, a "
                        "validation and a test split each need some)" + (", or fill in the target" if unlabelled else ""))
    t = header.index(target)
    y_raw = csv.table.cols[t]
    if t in csv.mixed:
        raise UserError(f"{path}: target column '{target}' mixes numbers and text (line {csv.mixed[t]}); "
                        "make it all numbers or all class names")
    check_target_values(path, target, y_raw)
    if columns is not None and target in columns:
        raise UserError(f"{path}: data.columns names the target '{target}'; list only feature columns")
    chosen, identifiers, id_notes, free_text = choose_features(csv, target=target, columns=columns, drop=drop)
    notes += id_notes
    if not chosen:  # (a column of free text among them was taken as the text column above)
        raise UserError(f"{path} has no feature columns besides the target '{target}'"
                        + (f" and the identifiers ({', '.join(identifiers)})" if identifiers else "")
                        + "; add feature columns" + ("" if not identifiers else " or name them with data.columns"))
    for i in chosen:
        _check_column(csv, i)
    from idealfit.data.text import sentence_columns

    sentences = sentence_columns(csv, [header[i] for i in chosen])  # read as categories: said, so a user can choose text
    notes += [note for _, note in sentences]
    numeric = y_raw.dtype.kind == "f"
    y_num = y_raw if numeric else y_raw.astype(str)
    if task is None:
        task = infer_task(y_num)
        notes += [classes_note(path, target, y_num)] if numeric and task == "classification" else []
    if task == "regression":
        if not numeric:
            raise UserError(f"{path}: target '{target}' holds text, so it cannot be a regression target; "
                            "use --task classification")
        y, names = y_num.astype(np.float32), None
    else:
        y, names = class_ids(y_num, where=f"{path}: target '{target}'")
    return Dataset(_stem(path), csv.table[:, chosen], y, task, "table", class_names=names,
                   columns=[header[i] for i in chosen], lines=csv.lines,
                   row_ids=csv.column(identifiers[0]) if identifiers else None,
                   meta={"source": str(path), "target": target, "fingerprint": fingerprint(path),
                         **read, "identifiers": identifiers, "notes": notes, "free_text": free_text,
                         "sentence_columns": [c for c, _ in sentences]})


UNLABELLED_RECORDED = 20  # the first lines of unlabelled rows that summary/preprocess record (all are counted)


def drop_unlabelled(csv: CsvTable, target: str) -> tuple[CsvTable, list[int]]:
    """The CSV without its rows whose target cell is missing (NA, ?, empty...), and those rows' file lines.

    A row without a label cannot be trained or scored on; scikit-learn refuses NaN targets and leaves the
    dropping to the user, AutoGluon drops such rows with a log line: we drop them and say so, so the file
    needs no hand edit.
    """
    import dataclasses

    bad = _missing(csv.column(target))
    if not bad.any():
        return csv, []
    keep = np.flatnonzero(~bad)
    return (dataclasses.replace(csv, table=csv.table[keep], lines=csv.lines[keep]),
            csv.lines[bad].astype(int).tolist())


def unlabelled_note(path: Path, target: str, lines: list[int]) -> str:
    """One line saying that rows without a target value were left out, and where the first ones are."""
    shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
    return (f"{path.name}: left out {plural(len(lines), 'row')} with no value in the target '{target}' "
            f"(line{'s' if len(lines) > 1 else ''} {shown}); fill them in to train on them")


def classes_note(path: Path, target: str, y: np.ndarray) -> str:
    """One line saying that a target of few whole numbers was taken as classes, and how to choose regression."""
    k = len(np.unique(y))
    return (f"{path.name}: target '{target}' holds {k} distinct whole numbers, so they are read as {k} classes "
            "(classification); pass --task regression (Python: task=) to predict them as numbers")


def amount_notes(csv: CsvTable) -> list[str]:
    """One line per column of amounts ("€512", "1,200", "12%") read as numbers (`data.table.read_amounts`)."""
    return [f"{csv.path.name}: column '{c}' holds amounts written like '{e}': read as numbers (currency sign, "
            "thousands separators and % left out)" for c, e in csv.amount_columns.items()]


def decimal_note(csv: CsvTable) -> str:
    """One line saying that numbers were read with decimal commas, and how to read them otherwise."""
    cols = csv.comma_columns
    shown = ", ".join(cols[:6]) + (f" and {plural(len(cols) - 6, 'more column')}" if len(cols) > 6 else "")
    return (f"{csv.path.name}: numbers written with decimal commas (17,5) in {shown}: read as numbers; "
            "set data.decimal=. to read such cells as text")


def _stem(path: Path) -> str:
    """The file name without .csv, .tsv or .gz: data.csv.gz -> data."""
    name = path.name
    for suffix in (".gz", ".csv", ".tsv"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def _closest(name: str, header: list[str]) -> str:
    """ "did you mean 'y'? (columns are: ...)", matching without regard to case (--target Y finds y)."""
    import difflib

    lower = {h.lower(): h for h in reversed(header)}  # the first column wins a tie of case
    close = difflib.get_close_matches(name.lower(), list(lower), n=1)
    listed = f"columns are: {', '.join(header)}"
    return f"did you mean '{lower[close[0]]}'? ({listed})" if close else listed


def check_column_name(path: Path, header: list[str], name: str, key: str) -> None:
    """Refuse a column name (of data.columns or data.drop) the CSV lacks, suggesting the closest."""
    if name not in header:
        raise UserError(f"{key} names '{name}', which {path} has no column of; {_closest(name, header)}")


def target_hint(path: Path, header: list[str]) -> str:
    """The message for a CSV given without a target (CLI flag and Python API argument both named)."""
    return (f"{path} is a CSV: name the column to predict with --target COLUMN (Python: target=) "
            f"(columns: {', '.join(header)})")


def check_target(path: Path, header: list[str], target: str) -> None:
    """Refuse a target column the CSV lacks, suggesting the closest name (case-insensitive) and listing all."""
    if target not in header:
        raise UserError(f"{path} has no column '{target}' to use as target; {_closest(target, header)}")


def check_target_values(path: Path, target: str, col: np.ndarray) -> None:
    """Refuse a target that looks like a row identifier: distinct text, or distinct whole numbers named like one.

    Nothing can be learned from it (each row its own class, or a label with no relation to the features).
    Consecutive whole numbers under another name (a count, a year) are left to the user: they can be real.
    """
    why = identifier_reason(target, col)
    if why and (col.dtype.kind != "f" or key_name(target)):
        raise UserError(f"{path}: target column '{target}' looks like an identifier ({why}), so there is nothing "
                        "to learn; name the column to predict with --target COLUMN")


def _missing(col: np.ndarray) -> np.ndarray:
    """(N,) bool: missing cells of one column (NaN, or None in an object column)."""
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.fromiter((is_missing(v) for v in col), bool, len(col))


def _check_column(csv: CsvTable, j: int) -> None:
    path, name, col = csv.path, csv.header[j], csv.table.cols[j]
    gaps = _missing(col)
    if gaps.all():
        raise UserError(f"{path}: column '{name}' is empty in every row; drop the column")
    if j in csv.mixed:
        row = int(np.searchsorted(csv.lines, csv.mixed[j]))
        # (that line may be an unlabelled row left out by drop_unlabelled: then the value is not shown)
        cell = f"'{col[row]}' " if row < len(csv.lines) and csv.lines[row] == csv.mixed[j] else ""
        raise UserError(f"{path}: column '{name}' mixes numbers and text (e.g. {cell}on line "
                        f"{csv.mixed[j]}); make it all numbers or all categories")
    if (text := free_text_reason(col)) is not None:  # named in data.columns (else choose_features left it out)
        raise UserError(f"{path}: column '{name}' is {text}, like free text or a code, so it cannot be a "
                        "feature (each value is seen about once); leave it out of data.columns")


def load_npz(path: Path, *, task: str | None) -> Dataset:
    """An .npz with `x` (N, F) table, (N, C, L) signal, (N, H, W) or (N, C, H, W) images, and `y` (N,)."""
    x, y = read_npz(path, need_y=True)
    if x.ndim == 0 or y.ndim == 0:
        raise UserError(f"{path}: x and y must be arrays with one entry per sample, not single numbers")
    if len(x) != len(y):
        raise UserError(f"{path}: x has {len(x)} samples but y has {len(y)}; they must match")
    if len(y) == 0:
        raise UserError(f"{path}: x and y hold no samples; save the data with numpy.savez(path, x=..., y=...)")
    if y.ndim == 3 and x.ndim in (3, 4) and y.shape[1:] == x.shape[-2:]:  # a class mask per image
        return _mask_npz(path, x, y, task)
    if y.ndim == 4 and x.ndim == 4 and y.shape[2:] == x.shape[2:]:  # an image per image: translation
        return _pair_npz(path, x, y, task)
    if y.ndim != 1:
        raise UserError(f"{path}: y must be one label or value per sample, shape (N,), or a class mask per "
                        f"image, shape (N, H, W); got {y.shape}")
    if y.dtype.kind == "c":
        raise UserError(f"{path}: y holds complex numbers; save real labels or values (e.g. y.real or abs(y))")
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
    meta = {"source": str(path), "fingerprint": fingerprint(path)}
    if task == "classification":
        y, names = class_ids(y, where=f"{path}: y")
    else:
        y, names = y.astype(np.float32), None
    if kind == "table":
        return Dataset(path.stem, Table.from_array(x), y, task, kind, class_names=names,
                       columns=[f"x{i}" for i in range(x.shape[1])], meta=meta)
    return Dataset(path.stem, x, y, task, kind, class_names=names, meta=meta)


def _pair_npz(path: Path, x: np.ndarray, y: np.ndarray, task: str | None) -> Dataset:
    """Input images x (N, C, H, W) and target images y (N, C', H, W) in [0, 1]: a translation dataset."""
    if task not in (None, "translation"):
        raise UserError(f"{path}: y holds an image per input image, so the task is translation; drop data.task")
    x, y = x.astype(np.float32), y.astype(np.float32)
    for name, a in (("x", x), ("y", y)):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise UserError(f"{path}: {name} must hold images with values in [0, 1] (finite); scale them first")
    return Dataset(path.stem, x, y, "translation", "image_pair",
                   meta={"source": str(path), "fingerprint": fingerprint(path)}, masks=_pair_masks(path, x))


def _pair_masks(path: Path, x: np.ndarray) -> np.ndarray | None:
    """The class ids behind each input image, for the FCN-score: the NPZ's optional `masks` (N, H, W), or
    the colours of inputs that are colour-coded label maps (data.pairs.palette_masks), else None."""
    from idealfit.data.pairs import palette_masks

    with np.load(path, allow_pickle=False) as f:
        masks = f["masks"] if "masks" in f.files else None
    if masks is None:
        return palette_masks(x)
    if masks.shape != (len(x), *x.shape[2:]) or masks.dtype.kind not in "iu" or masks.min() < 0:
        raise UserError(f"{path}: masks must hold a class id >= 0 per input pixel, integers of shape "
                        f"{(len(x), *x.shape[2:])}; got {masks.dtype} {masks.shape}")
    return masks.astype(np.int64)


def _mask_npz(path: Path, x: np.ndarray, y: np.ndarray, task: str | None) -> Dataset:
    """Images with a class-id mask each: a segmentation dataset (class names "0", "1", ...)."""
    if task not in (None, "segmentation"):
        raise UserError(f"{path}: y holds a mask per image, so the task is segmentation; drop data.task")
    if y.dtype.kind not in "iub" or y.min() < 0:
        raise UserError(f"{path}: masks in y must hold class ids 0, 1, 2, ... (whole numbers); got {y.dtype} "
                        f"values from {y.min()} to {y.max()}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise UserError(f"{path}: x has non-finite value(s) (NaN or inf); fix or drop those samples")
    x = x[:, None] if x.ndim == 3 else x
    k = int(y.max()) + 1
    if k < 2:
        raise UserError(f"{path}: every mask is all 0 (background); mark the objects with class ids 1, 2, ...")
    return Dataset(path.stem, x, y.astype(np.int64), "segmentation", "image", class_names=[str(i) for i in range(k)],
                   meta={"source": str(path), "fingerprint": fingerprint(path)})


def read_npz(path: Path, *, need_y: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """`x` (numeric) and `y` (when `need_y`) of an .npz, refusing pickled objects, complex numbers and
    damaged files with one line each."""
    import zipfile
    import zlib

    keys = ("x", "y") if need_y else ("x",)
    if not zipfile.is_zipfile(path):  # np.load would try to unpickle it
        raise _bad_npz(path, ValueError("not a zip archive"))
    try:
        with np.load(path, allow_pickle=False) as f:
            if not set(keys) <= set(f.files):
                names = ", ".join(sorted(f.files)) or "none"
                raise UserError(f"{path} must hold arrays named {' and '.join(repr(k) for k in keys)}; it has: {names}")
            arrays = [f[k] for k in keys]
    except UserError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UserError(f"{path} holds Python objects (dtype object), which need pickle to load and are "
                            "not loaded for safety; save numeric arrays with numpy.savez(path, x=..., y=...)") from None
        raise _bad_npz(path, exc) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise _bad_npz(path, exc) from None
    x = arrays[0]
    if x.dtype.kind not in "biuf":
        what = "complex numbers" if x.dtype.kind == "c" else f"dtype {x.dtype}"
        raise UserError(f"{path}: x must be numeric (real numbers); it holds {what}: save x as float or int")
    return x, (arrays[1] if need_y else None)


def _bad_npz(path: Path, exc: Exception) -> UserError:
    return UserError(f"{path} is not a readable .npz file (damaged, truncated or another format: {exc}); save it "
                     "again with numpy.savez(path, x=..., y=...)")
