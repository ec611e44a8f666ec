"""Reading a run folder for the report: summary, history, predictions, text files and extras.json.

Every file is read through `idealfit.run_files` (no links below the run folder, a damaged file is one
line naming it); text the report shows is capped at TEXT_LIMIT. `add_extra` is how tools add material.

Example:
    >>> add_extra("runs/x", section="Saliency", caption="digit 3", path="saliency/3.png")
    >>> load_run("runs/x").summary["task"]   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from idealfit.config import TASKS  # the task names, without importing torch (tasks/ is their registry)
from idealfit.errors import UserError
from idealfit.metrics_csv import read_history
from idealfit.run_files import RESTORE, damaged, is_file, read_bytes, read_text, run_file, write_bytes

# Image types an extras entry may point at, by file suffix.
_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}
# The most of model.txt or config.yaml the report copies; the rest is left in the file.
TEXT_LIMIT = 64 * 1024


@dataclass
class Extra:
    """One extras.json entry, resolved: the image bytes are read, a missing file is noted."""

    section: str  # heading it is grouped under
    caption: str  # shown under the image / above the text
    image: bytes | None = None  # file content to embed
    mime: str = "image/png"  # type of `image`
    text: str | None = None  # shown as preformatted text
    missing: str | None = None  # the path when the image file is gone or of an unknown type


@dataclass
class RunFiles:
    """Everything a report shows, read from one run folder."""

    summary: dict  # summary.json
    date: str  # when the run finished (summary.json's modification time)
    run_dir: Path | None = None  # where it was read from (the report re-loads the dataset through its config)
    history: list[dict] | None = None  # metrics.csv rows
    y_true: np.ndarray | None = None  # predictions.npz, test split: (N,) labels or targets
    y_pred: np.ndarray | None = None  # (N,)
    index: np.ndarray | None = None  # (N,) each test sample's row in the dataset (older runs: None)
    proba: np.ndarray | None = None  # (N, K) class probabilities (classification; older runs: None)
    preprocess: dict | None = None  # preprocess.json: what was fitted on the training split
    model_text: str | None = None  # model.txt
    config_text: str | None = None  # config.yaml
    extras: list[Extra] = field(default_factory=list)  # extras.json


def _read_json(path: Path, fix: str):
    try:
        return json.loads(read_text(path.parent, path.name))
    except (json.JSONDecodeError, RecursionError) as err:
        raise damaged(path, f"not valid JSON: {err}", fix) from None


def _valid_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(k), str) for k in ("section", "caption"))
        and all(isinstance(entry.get(k), (str, type(None))) for k in ("path", "text"))
    )


def _read_extras_list(run_dir: Path) -> list[dict]:
    """The raw extras.json entries ([] when the file does not exist)."""
    path = run_dir / "extras.json"
    if not is_file(run_dir, "extras.json"):
        return []
    entries = _read_json(path, "fix it or delete it")
    if not isinstance(entries, list) or not all(_valid_entry(e) for e in entries):
        raise UserError(
            f"{path} must be a list of {{section, caption, path, text}} objects; fix it or delete it"
        )
    return entries


def _inside(run_dir: Path, rel: str) -> Path:
    """run_dir / rel, refusing paths that leave the run folder (the report must stay self-contained).

    No link is followed: a link inside the folder could point anywhere on the machine that builds the report.
    """
    path = Path(rel)
    if path.is_absolute():  # accepted when it names a place inside the run folder, as add_extra documents
        for root in (run_dir, run_dir.resolve()):
            if path.is_relative_to(root):
                path = path.relative_to(root)
                break
    if path.is_absolute() or ".." in path.parts:
        raise UserError(f"extra image {rel!r} is outside the run folder {run_dir}; copy it into the folder")
    return run_file(run_dir, path)


def add_extra(
    run_dir: str | Path, *, section: str, caption: str, path: str | None = None, text: str | None = None
) -> None:
    """Add an entry to the run's extras.json, or replace the one with the same section and caption.

    Args:
        run_dir: the run folder.
        section: heading in the report; entries are grouped by section in order of first appearance.
        caption: the entry's caption, unique within its section.
        path: an image inside the run folder, relative to it (or absolute inside it) (default None).
        text: text shown preformatted (default None). At least one of path and text is required.
    """
    run_dir = Path(run_dir)
    entry = _entry(run_dir, section, caption, path, text)
    entries = _read_extras_list(run_dir)
    for i, old in enumerate(entries):
        if (old["section"], old["caption"]) == (section, caption):
            entries[i] = entry  # keeps its place, so a rebuilt report does not reshuffle
            break
    else:
        entries.append(entry)
    _write_extras(run_dir, entries)


def set_section(run_dir: str | Path, *, section: str, entries: list[dict]) -> None:
    """Replace every entry of `section` in extras.json by `entries` (each {caption, path, text}, as
    `add_extra` takes them), in one write; the section keeps its place in the report.

    For a tool whose every call redraws the whole section (`idealfit explain RUN`): entries of an earlier
    call would otherwise keep captions that point at files the new call has redrawn.
    """
    run_dir = Path(run_dir)
    new = [_entry(run_dir, section, e["caption"], e.get("path"), e.get("text")) for e in entries]
    old = _read_extras_list(run_dir)
    at = next((i for i, e in enumerate(old) if e["section"] == section), len(old))  # the section's first entry
    after = [e for e in old[at:] if e["section"] != section]
    _write_extras(run_dir, old[:at] + new + after)


def _write_extras(run_dir: Path, entries: list[dict]) -> None:
    write_bytes(run_dir, "extras.json", (json.dumps(entries, indent=2) + "\n").encode("utf-8"))


def _entry(run_dir: Path, section: str, caption: str, path: str | None, text: str | None) -> dict:
    """One checked extras.json entry; the image path stored relative to the run folder."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a folder; pass the run folder `idealfit train` printed")
    if not section.strip() or not caption.strip():
        raise UserError("add_extra needs a non-empty section and caption")
    if path is None and text is None:
        raise UserError(f"extra {section!r}/{caption!r} has neither path nor text; pass at least one")
    rel = None
    if path is not None:
        target = _inside(run_dir, str(path))
        if not target.is_file():
            raise UserError(f"extra image {target} not found; save it into the run folder first (save_png)")
        rel = target.relative_to(run_dir).as_posix()
    return {"section": section, "caption": caption, "path": rel, "text": text}


def _resolve_extra(run_dir: Path, entry: dict) -> Extra:
    extra = Extra(section=entry["section"], caption=entry["caption"], text=entry.get("text"))
    rel = entry.get("path")
    if rel:
        target = _inside(run_dir, rel)
        mime = _MIME.get(target.suffix.lower())
        if mime and is_file(run_dir, target.relative_to(run_dir)):
            extra.image, extra.mime = read_bytes(run_dir, target.relative_to(run_dir)), mime
        else:
            extra.missing = rel
    return extra


def _read_optional_text(run_dir: Path, name: str) -> str | None:
    """A text file to show in the report, cut at TEXT_LIMIT: a report is no place for megabytes of YAML."""
    if not is_file(run_dir, name):
        return None
    data = read_bytes(run_dir, name, limit=TEXT_LIMIT + 1)
    text = data[:TEXT_LIMIT].decode("utf-8", errors="replace")
    if len(data) > TEXT_LIMIT:
        text += f"\n… truncated: {name} is longer than {TEXT_LIMIT // 1024} KiB; the file itself has the rest"
    return text


def _read_predictions(run_dir: Path) -> dict[str, np.ndarray]:
    """y_true and y_pred, plus index and proba when this run wrote them (older runs did not).

    `index` and `proba` are checked against y_true's length: a report must not show another sample's
    picture under this one's label.
    """
    import zipfile

    path = run_dir / "predictions.npz"
    try:  # one read; the same checks as run_files.read_npz, which takes only required keys
        with np.load(io.BytesIO(read_bytes(run_dir, "predictions.npz")), allow_pickle=False) as npz:
            missing = [k for k in ("y_true", "y_pred") if k not in npz.files]
            if missing:
                raise damaged(path, f"no array '{missing[0]}'")
            arrays = {k: npz[k] for k in ("y_true", "y_pred", "index", "proba") if k in npz.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise damaged(path, f"not a readable NPZ file: {err}") from None
    n = np.asarray(arrays["y_true"]).shape[:1]
    for key in ("index", "proba"):
        if key in arrays and arrays[key].shape[:1] != n:
            raise damaged(run_dir / "predictions.npz", f"'{key}' has {arrays[key].shape[:1]} rows, y_true {n}")
    return arrays


def load_run(run_dir: str | Path) -> RunFiles:
    """Read a run folder; optional files that are missing stay None.

    Args:
        run_dir: the folder `idealfit train` printed; must contain summary.json.
    """
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not is_file(run_dir, "summary.json") and is_file(run_dir, "config.yaml"):  # started, never finished
        raise UserError(f"{run_dir} is a run that has not finished (no summary.json: it stopped before writing "
                        f"its final files); finish or continue it with: idealfit train --resume {run_dir}")
    if not is_file(run_dir, "summary.json"):
        raise UserError(
            f"{run_dir} is not an idealfit run folder (no summary.json); pass the folder `idealfit train` printed"
        )
    summary = _read_json(summary_path, RESTORE)
    if not isinstance(summary, dict) or summary.get("task") not in TASKS:
        raise damaged(summary_path, f"no 'task' of {', '.join(map(repr, TASKS))}")
    mtime = dt.datetime.fromtimestamp(summary_path.stat().st_mtime)
    run = RunFiles(summary=summary, run_dir=run_dir, date=str(summary.get("date") or mtime.strftime("%Y-%m-%d %H:%M")))
    if is_file(run_dir, "metrics.csv"):
        run.history = read_history(run_dir / "metrics.csv")
    if is_file(run_dir, "predictions.npz"):
        arrays = _read_predictions(run_dir)
        run.y_true, run.y_pred = arrays["y_true"], arrays["y_pred"]
        run.index, run.proba = arrays.get("index"), arrays.get("proba")
    if is_file(run_dir, "preprocess.json"):
        state = _read_json(run_dir / "preprocess.json", RESTORE)
        run.preprocess = state if isinstance(state, dict) else None
    run.model_text = _read_optional_text(run_dir, "model.txt")
    run.config_text = _read_optional_text(run_dir, "config.yaml")
    run.extras = [_resolve_extra(run_dir, e) for e in _read_extras_list(run_dir)]
    return run
