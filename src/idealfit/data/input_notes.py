"""What a saved table or text run did to new rows that training never showed it: one line per kind, with counts.

Predictions are made as always (missing cells filled, unseen categories encoded as none of the known
ones, numbers clipped to the training bounds); these lines only say so, on stderr beside the predictions,
so a user learns that a row was partly guessed (scikit-learn's OneHotEncoder(handle_unknown="warn") and
SimpleImputer do the same work silently or with a warning per call; one summary line per kind is ours).
A text run's rows (a CSV) get a line for the words (or characters) its vocabulary lacks, read as <unk>, and a
text run with table columns beside its text (data/text_table.py) the table notes for those columns too.
"""

from __future__ import annotations

import numpy as np

from idealfit.data.base import plural
from idealfit.data.preprocess import TablePreprocessor, _as_numbers, _as_text, clip_rule
from idealfit.data.table import Table
from idealfit.data.text import Vocabulary, as_texts

SHOWN = 3  # examples per note


def _examples(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (", ..." if len(items) > SHOWN else "")


def input_notes(state: dict, x: Table, names: list[str], *, source: str) -> list[str]:
    """The notes for raw rows `x` (N, F) of a table run, or of a text run (its text column first, then any table
    columns), in the run's column order (state["columns"]); see `table_input_notes` and `text_input_notes`."""
    if state["kind"] == "table":
        return table_input_notes(TablePreprocessor.from_dict(state["table"]), x, names, source=source)
    t = state["text"]
    notes = text_input_notes(Vocabulary.from_dict(t), x.cols[0], names, column=state["columns"][0],
                             max_length=t.get("max_length"), source=source)
    if "table" in t:  # the columns beside the text: the table kind's preprocessing, the table kind's notes
        notes += table_input_notes(TablePreprocessor.from_dict(t["table"]), x[:, list(range(1, x.shape[1]))],
                                   names, source=source)
    return notes


def text_input_notes(vocab: Vocabulary, texts, names: list[str], *, column: str, max_length: int | None,
                     source: str) -> list[str]:
    """One note for the tokens of `texts` (N,) the run's vocabulary lacks (never in the training split, or fewer
    than data.min_freq times, or past data.max_vocab), each counted once per row; tokens past data.max_length
    are not read at all, so not counted. Empty when every token is known."""
    known = set(vocab.itos_[2:])  # after <pad> and <unk>
    unseen = []
    for text, name in zip(as_texts(texts), names, strict=True):
        new = dict.fromkeys(t for t in vocab.tokenize(text)[:max_length] if t not in known)  # in order, once
        unseen += [f"{t!r} ({name})" for t in new]
    if not unseen:
        return []
    what = "word" if vocab.tokens == "word" else "character"
    return [f"{source}: {plural(len(unseen), what)} in '{column}' not in the run's vocabulary, read as unknown "
            f"(<unk>): {_examples(unseen)}"]


def table_input_notes(pre: TablePreprocessor, x: Table, names: list[str], *, source: str) -> list[str]:
    """The notes for raw rows `x` (N, F) in the run's column order, each row named by `names` (file:line or
    its identifier), about to go through `pre`. Empty when every cell is one training has seen the like of."""
    notes = []
    filled, unseen, clipped = [], [], []
    for k, j in enumerate(pre.numeric_):
        col = pre.columns[j]
        num = _as_numbers(x.cols[j], col, names)
        filled += [f"{col} ({names[i]})" for i in np.flatnonzero(np.isnan(num))]
        if pre.clip_ is not None:
            lo, hi = pre.clip_[0][k], pre.clip_[1][k]
            # the bounds are training quantiles, so ~2% of ordinary new values pass them by a little: said only
            # beyond a whole training span (hi - lo) past a bound, a typo's distance (age 2700 against 20-60)
            span = hi - lo
            out = np.flatnonzero((num < lo - span) | (num > hi + span))
            clipped += [f"{col}={_number(num[i])} ({names[i]}) to {_number(lo if num[i] < lo else hi)}" for i in out]
    for j, cats in zip(pre.categorical_, pre.categories_, strict=True):
        col, known = pre.columns[j], set(cats)
        text = _as_text(x.cols[j])
        unseen += [f"{col}='{v}' ({names[i]})" for i, v in enumerate(text) if v not in known and v != ""]
        if "" not in known:  # a missing cell training never had in this column: encoded as none of its categories
            filled += [f"{col} ({names[i]})" for i in np.flatnonzero(text == "")]
    if filled and pre.impute != "drop":  # data.impute=drop runs refuse such rows (TablePreprocessor)
        how = {"mean": "training means", "median": "training medians", "most_frequent": "most frequent training values"}
        notes.append(f"{source}: filled {plural(len(filled), 'missing cell')} as training did (numbers with the "
                     f"{how.get(pre.impute, 'training fill values')}, text as unknown): {_examples(filled)}")
    if unseen:
        notes.append(f"{source}: {plural(len(unseen), 'text value')} training never saw, treated as unknown: "
                     f"{_examples(unseen)}")
    if clipped:
        notes.append(f"{source}: clipped {plural(len(clipped), 'value')} far outside the training range to its "
                     f"bounds ({clip_rule(vars(pre), keys=True)}): {_examples(clipped)}")
    return notes


def _number(v: float) -> str:
    """A number as written: 2700.0 -> "2700", 0.25 -> "0.25"."""
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.6g}"


ARRAY_KINDS = ("image", "signal", "image_pair")


def array_range_note(state: dict, x: np.ndarray, names: list[str], *, source: str) -> list[str]:
    """One note when raw image or signal arrays `x` (N, ...) lie far outside the training inputs' value range
    (recorded as state["array"]["range"]): sklearn's 0..16 digits, or 0..255 pixels, given to a run trained on
    0..1 are predicted confidently and wrongly. "Far" is as for tables: beyond a whole training span past a
    bound. The inputs are predicted as given; the note only says so. Empty for files (read in the run's units)
    and for runs saved before the range was recorded."""
    rng = state.get("array", {}).get("range") if state["kind"] in ARRAY_KINDS else None
    if not rng or not len(x):
        return []
    lo, hi = rng
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    far = np.flatnonzero(((flat < lo - span) | (flat > hi + span)).any(axis=1))
    if not len(far):
        return []
    shown = _examples([names[i] for i in far])
    return [f"{source}: {plural(len(far), 'input')} ({shown}) hold values {_number(flat.min())}..{_number(flat.max())}, "
            f"far outside the training range {_number(lo)}..{_number(hi)}: other units? scale them as the training "
            "data was (e.g. 0..255 pixels / 255); predicted as given"]
