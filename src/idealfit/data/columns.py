"""Which CSV columns become features: identifiers and near-unique text left out with a note each, and a
note for an all-distinct whole-number column kept as a feature.

A column that names its rows (a record number, an account, a customer code) carries no signal a model
can reuse on new rows, yet a network fits it eagerly; text that is (nearly) unique per row gives a one-hot
column per row. Both are left out of the features with a printed note, recorded in the run, rather than
stopping the run (AutoGluon's DropUniqueFeatureGenerator does the same for such columns; scikit-learn
leaves it to the user). Numbers are a feature unless the evidence says identifier: a name like a key, or
a run of consecutive whole numbers (in row order or shuffled). Every other column of distinct whole numbers
(a population, an income in dollars, a year) stays a feature, and the note says how to leave it out.
"""

from __future__ import annotations

import re

import numpy as np

from idealfit.data.table import CsvTable, is_missing

# the last word of a key's name (record_no, account, customerRef, patientID, Unnamed: 0): these name rows
KEY_WORDS = frozenset({"id", "ids", "idx", "index", "row", "rowid", "key", "nr", "no", "num", "number", "ref",
                       "reference", "code", "account", "acct", "record", "serial", "sku", "uuid", "guid"})
# words of a time axis: consecutive whole numbers under such a name (1947..1962, t = 1..25) are a trend, a feature
TIME_WORDS = frozenset({"year", "years", "yr", "time", "t", "date", "period", "month", "week", "day", "quarter",
                        "epoch", "step", "age"})
FREE_TEXT_MIN = 50  # near-unique text: more than this many distinct values, in more than half the rows
NOTE_MIN_ROWS = 50  # distinct whole numbers in fewer rows are common for real features: no note


def name_words(name: str) -> list[str]:
    """A column name's words, lower case: "record_no" -> [record, no], "patientID" -> [patient, id]."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def key_name(name: str) -> bool:
    """A name that says the column names rows: its last word a key word (id, no, ref, account...), or a
    first word "id", or pandas' saved index ("Unnamed: 0")."""
    words = name_words(name)
    if not words:
        return False
    return (words[-1] in KEY_WORDS or words[0] == "id"
            or bool(re.fullmatch(r"unnamed: ?\d+", name.strip(), re.IGNORECASE)))


def _missing(col: np.ndarray) -> np.ndarray:
    """(N,) bool: missing cells of one column (NaN, or None in an object column)."""
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.fromiter((is_missing(v) for v in col), bool, len(col))


def distinct_whole_numbers(col: np.ndarray) -> bool:
    """A numeric column with no gaps, of whole numbers, each on one row only (10 rows at least)."""
    if col.dtype.kind != "f" or len(col) < 10 or np.isnan(col).any() or not np.all(col == np.round(col)):
        return False
    return len(np.unique(col)) == len(col)


def identifier_reason(name: str, col: np.ndarray) -> str | None:
    """Why a column looks like a row identifier rather than a feature, or None.

    Text: (nearly) every value distinct (at least 95%, and at least 10 rows). Numbers: whole numbers, no
    gaps, all distinct, and either named like a key (`key_name`: id, *_id, record_no, account, ref...) or a
    run of consecutive numbers, in file order (a spreadsheet's row numbers) or shuffled (a row number kept
    through a sort), unless named like a time axis (a year, t): a trend is a feature.
    """
    gaps = _missing(col)
    present = col[~gaps]
    n = len(present)
    if n < 10:
        return None
    if col.dtype.kind != "f":
        distinct = len(set(present))
        if distinct >= 0.95 * n:
            return f"{'all' if distinct == n else 'nearly all'} {n} values distinct"
        return None
    if gaps.any() or not distinct_whole_numbers(present):
        return None
    if key_name(name):
        return f"whole numbers, all {n} distinct"
    if TIME_WORDS & set(name_words(name)):
        return None
    if np.all(np.diff(present) == 1):
        return f"whole numbers {present[0]:.0f}..{present[-1]:.0f} in row order"
    if present.max() - present.min() == n - 1:
        return f"whole numbers {present.min():.0f}..{present.max():.0f}, each once, shuffled"
    return None


def free_text_reason(col: np.ndarray) -> str | None:
    """Why a text column cannot be a category, or None: more than 50 distinct values, in more than half of
    its filled rows (a one-hot column for nearly every row teaches nothing about new rows)."""
    if col.dtype.kind == "f":
        return None
    present = col[~_missing(col)]
    distinct = len(set(present))
    if distinct > FREE_TEXT_MIN and distinct > 0.5 * len(present):
        return f"text with {distinct} distinct values in {len(col)} rows"
    return None


def _identifier_note(name: str, why: str, keepable: bool) -> str:
    # near-unique text cannot be a feature (data.columns refuses it as free text): offer only what works
    keep = "; keep it as a feature by naming it in data.columns" if keepable else "; it names the rows of predictions"
    return f"column '{name}' looks like an identifier ({why}): left out of the features{keep}"


def choose_features(csv: CsvTable, *, target: str, columns: list[str] | None, drop: list[str] | None,
                    skip: tuple[str, ...] = ()) -> tuple[list[int], list[str], list[str], list[str]]:
    """(feature column indices, identifiers left out, notes, near-unique text columns left out): every column but the target, `drop` and `skip`,
    or only `columns`. Without `columns`, identifiers (`identifier_reason`) and near-unique text
    (`free_text_reason`) are left out with a note each, and kept columns of distinct whole numbers get one
    note together (`whole_number_note`)."""
    header = csv.header
    t = header.index(target)
    if columns is not None:
        return [header.index(c) for c in columns if c not in (drop or []) and c not in skip], [], [], []
    chosen = [i for i in range(len(header)) if i != t and header[i] not in (drop or []) and header[i] not in skip]
    identifiers, notes, texts = [], [], []
    for i in list(chosen):
        col = csv.table.cols[i]
        why = identifier_reason(header[i], col)
        if why:
            chosen.remove(i)
            identifiers.append(header[i])
            notes.append(_identifier_note(header[i], why, free_text_reason(col) is None))
        elif i not in csv.mixed and (text := free_text_reason(col)):
            chosen.remove(i)
            texts.append(header[i])
            notes.append(f"column '{header[i]}' is {text}, like free text or a code: left out of the features "
                         "(a category seen about once teaches nothing about new rows)")
    note = whole_number_note([header[i] for i in chosen if len(csv.lines) >= NOTE_MIN_ROWS
                              and distinct_whole_numbers(csv.table.cols[i])])
    return chosen, identifiers, notes + ([note] if note else []), texts


def whole_number_note(names: list[str]) -> str | None:
    """One line for the feature columns that hold a different whole number on every row (None: there are none)."""
    if not names:
        return None
    listed = ", ".join(f"'{c}'" for c in names)
    one = len(names) == 1
    return (f"column{'' if one else 's'} {listed} hold{'s' if one else ''} a different whole number on every row, "
            f"like {'an identifier' if one else 'identifiers'}; used as {'a feature' if one else 'features'}; leave "
            f"{'it' if one else 'one'} out with --set data.drop=[{names[0]}]")
