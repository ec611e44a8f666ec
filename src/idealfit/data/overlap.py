"""Test rows that are copies of training rows, and evaluation data that is the training source itself.

A template-made CSV or a folder with copied images can hold the same input many times; a random split then
puts copies on both sides, and the test score partly measures memory rather than generalization. Nothing
fails, so the user must be told: `idealfit train` prints the count and records it in summary.json
("test_copies", from `copies_in_test`), the report shows it, and `evaluate RUN --data SOURCE` on the run's own source says how many
of its rows the run trained on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.data.base import Dataset


def _key(sample: Any) -> bytes:
    """A 16-byte digest of one raw input: its bytes for numbers, its cells as text for a table or text row
    (str(nan) is 'nan' for every empty cell, where nan != nan would never match)."""
    if isinstance(sample, np.ndarray) and sample.dtype != object:
        data = np.ascontiguousarray(sample).tobytes()
    else:
        data = "\x1f".join(map(str, np.ravel(np.asarray(sample, dtype=object)))).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).digest()


def _keys(ds: Dataset, idx: np.ndarray) -> list[bytes]:
    """One key per sample in `idx`: streamed image files by their bytes, anything else by its raw input."""
    if ds.paths is not None:
        return [hashlib.blake2b(Path(ds.paths[i]).read_bytes(), digest_size=16).digest() for i in idx]
    return [_key(ds.x[i]) for i in idx]


def copies_in_test(ds: Dataset, indices: dict[str, Any]) -> dict[str, Any] | None:
    """{"rows": n, "of": test size, "note": one line} when n > 0 test samples have an input equal to a training
    sample's, else None; None for forecasting too, whose windows share time steps by construction (its split
    keeps every test step out of training windows instead)."""
    if ds.task == "forecasting" or ds.kind == "series":
        return None
    train, test = np.asarray(indices["train"]), np.asarray(indices["test"])
    if not len(train) or not len(test):
        return None
    seen = set(_keys(ds, train))
    n = sum(k in seen for k in _keys(ds, test))
    if not n:
        return None
    what = "rows" if ds.kind in ("table", "text") else "samples"
    return {"rows": int(n), "of": int(len(test)),
            "note": f"{n} of {len(test)} test {what} also appear in the training split (the same input): the test "
                    "score partly measures memory"}


def training_rows_note(state: dict[str, Any], source: str, data: str, split: dict[str, np.ndarray],
                       n: int) -> str | None:
    """One line when `data` (given to evaluate) is the run's training source `source`, unchanged (the same
    content fingerprint for a file, the same folder), with `n` samples as at training: how many of them are the
    training and validation splits; else None."""
    from idealfit.data.files import fingerprint

    given, own = Path(data).expanduser(), Path(source).expanduser()
    if n != sum(len(split[k]) for k in ("train", "val", "test")):
        return None
    if given.is_file():
        recorded = (state.get("meta") or {}).get("fingerprint")
        # the same content (a copy too); a changed source is another dataset, whose rows the split does not name
        same = fingerprint(given) == recorded if recorded else own.exists() and given.resolve() == own.resolve()
    elif given.is_dir():
        same = own.exists() and given.resolve() == own.resolve()
    else:
        same = data == source  # an embedded dataset, by its name
    if not same:
        return None
    return (f"note: {data} is this run's training source: {len(split['train'])} of its {n} samples are the "
            f"training split and {len(split['val'])} the validation split, so these metrics partly measure memory; "
            "`idealfit evaluate RUN` (without --data) scores the test split alone")


def seen_note(own: Dataset, split: dict[str, np.ndarray], given: Dataset, data: str) -> str | None:
    """One line when some samples of `given` (data passed to evaluate) have an input equal to a sample of the
    run's training or validation split (`own`: its training source read again): their score partly measures
    memory. None when none does, or for series (whose windows share time steps by construction)."""
    if own.kind == "series" or not len(given.y):
        return None
    keys = {s: set(_keys(own, np.asarray(split[s]))) for s in ("train", "val")}
    theirs = _keys(given, np.arange(len(given.y)))
    n_train = sum(k in keys["train"] for k in theirs)
    n_val = sum(k in keys["val"] and k not in keys["train"] for k in theirs)
    if not n_train and not n_val:
        return None
    what = "rows" if given.kind in ("table", "text") else "samples"
    return (f"note: {n_train} of the {len(theirs)} {what} in {data} are inputs of this run's training split"
            + (f" and {n_val} of its validation split" if n_val else "")
            + " (the same input): their score partly measures memory, not new data")
