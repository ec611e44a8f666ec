"""Text: free text read as a sequence of tokens, a vocabulary fitted on the training split only, padded ids.

    tokens      data.tokens=char: one token per character; word: words and punctuation marks. Lowercased.
    vocabulary  the training split's tokens seen at least data.min_freq times, the data.max_vocab most
                frequent (ties alphabetically), after two reserved ids: 0 = <pad> (padding), 1 = <unk> (a
                token the training split did not have, or too rarely). Recorded in preprocess.json
                ("text"), and applied again at predict and evaluate.
    ids         each text as its token ids, cut at data.max_length tokens, padded with 0 at the end to the
                longest text of the set: (N, L) int64. The model (models/rnn.TokenRecurrentNet) reads the
                lengths from the padding, trims each batch to its longest text and packs the sequences, so
                no padding is ever learned from.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from idealfit.data.table import is_missing
from idealfit.errors import UserError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_WORD = re.compile(r"\w+|[^\w\s]")


def _chars(text: str) -> list[str]:
    return list(text.lower())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


TOKENIZERS = {"char": _chars, "word": _words}  # data.tokens


class Vocabulary:
    """Token <-> id, fitted on training texts.

    Args:
        tokens: the tokenizer, char | word.
        min_freq: tokens seen fewer times are unknown (default 1: every token seen).
        max_size: keep at most this many tokens besides <pad> and <unk>, the most frequent (default None: all).

    Example:
        >>> v = Vocabulary(tokens="char").fit(["abba", "ab"])
        >>> v.encode(["ab", "abc"]).tolist()
        [[2, 3, 0], [2, 3, 1]]
    """

    def __init__(self, *, tokens: str = "char", min_freq: int = 1, max_size: int | None = None):
        if tokens not in TOKENIZERS:
            raise UserError(f"data.tokens must be one of {', '.join(TOKENIZERS)}; got '{tokens}'")
        self.tokens, self.min_freq, self.max_size = tokens, min_freq, max_size
        self.itos_: list[str] = [PAD, UNK]

    def tokenize(self, text: str) -> list[str]:
        return TOKENIZERS[self.tokens](text)

    def fit(self, texts) -> Vocabulary:
        counts = Counter(t for text in texts for t in self.tokenize(text))
        kept = sorted((t for t, c in counts.items() if c >= self.min_freq), key=lambda t: (-counts[t], t))
        self.itos_ = [PAD, UNK, *kept[: self.max_size]]
        return self

    def __len__(self) -> int:
        return len(self.itos_)

    def encode(self, texts, *, max_length: int | None = None) -> np.ndarray:
        """(N, L) int64 ids, padded with PAD_ID at the end to the longest text (at least 1), cut at `max_length`."""
        stoi = {t: i for i, t in enumerate(self.itos_)}
        seqs = [[stoi.get(t, UNK_ID) for t in self.tokenize(text)][:max_length] for text in texts]
        out = np.full((len(seqs), max([1, *map(len, seqs)])), PAD_ID, np.int64)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = s
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "min_freq": self.min_freq, "max_size": self.max_size, "itos": self.itos_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocabulary:
        v = cls(tokens=d["tokens"], min_freq=d["min_freq"], max_size=d["max_size"])
        v.itos_ = list(d["itos"])
        return v


def text_cells(x):
    """The texts of a text dataset's inputs: the (N,) array itself, or the first column of a `Table` that holds
    the text column first and then table columns (a CSV with text beside numbers, data/text_table.py)."""
    from idealfit.data.table import Table

    return x.cols[0] if isinstance(x, Table) else x


def as_texts(x) -> list[str]:
    """Raw inputs as a list of strings: (N,) or (N, 1) cells; a missing cell (None, NaN) is an empty text.

    An empty text is encoded as no token, i.e. a row of padding: the model reads one <pad> step for it (a zero
    embedding, models/rnn.TokenRecurrentNet), packed or padded alike, so train, predict and ONNX agree.
    """
    if len(x) == 0:
        return []
    cells = np.asarray(x, dtype=object).reshape(len(x), -1)
    if cells.shape[1] != 1:
        raise UserError(f"a text run takes one text per input; got {cells.shape[1]} cells per input")
    return ["" if is_missing(v) else v if isinstance(v, str) else str(v) for v in cells[:, 0]]


def missing_texts(texts) -> np.ndarray:
    """(N,) bool: cells with no text at all (missing, or only spaces)."""
    return np.array([not (isinstance(v, str) and v.strip()) for v in texts], dtype=bool)


def empty_text_note(name: str, column: str, empty: np.ndarray, lines) -> str:
    """One line: how many rows have an empty text cell, the first one's line, and how it is read."""
    from idealfit.data.base import plural

    return (f"{name}: text column '{column}' is empty on {plural(int(empty.sum()), 'row')} (first on line "
            f"{lines[np.flatnonzero(empty)[0]]}): read as empty texts")


# --- the data kind ------------------------------------------------------------------------------------------------


def fit_text(ds, indices: dict, cfg, state: dict[str, Any]) -> tuple[dict, dict]:
    """The vocabulary from the training split's texts only; every split as padded ids."""
    vocab = Vocabulary(tokens=cfg.tokens, min_freq=cfg.min_freq, max_size=cfg.max_vocab)
    vocab.fit(as_texts(text_cells(ds.x[indices["train"]])))
    if len(vocab) == 2:
        raise UserError(f"the training texts of {ds.name} have no token seen data.min_freq={cfg.min_freq} times; "
                        "lower data.min_freq")
    state["text"] = {**vocab.to_dict(), "max_length": cfg.max_length}
    x = {s: vocab.encode(as_texts(text_cells(ds.x[indices[s]])), max_length=cfg.max_length)
         for s in ("train", "val", "test")}
    state["input_shape"] = [int(x["train"].shape[1])]  # the longest training text, in tokens
    # the model's first layer: an embedding of this many ids, <pad> at PAD_ID (models/build.py)
    state["norm"] = {"vocab_size": len(vocab), "pad_id": PAD_ID}
    return x, indices


def transform_text(state: dict[str, Any], x, names: list[str] | None = None) -> np.ndarray:
    """Raw texts (N,) -> (N, L) padded ids with the run's vocabulary (unknown tokens -> UNK_ID)."""
    t = state["text"]
    return Vocabulary.from_dict(t).encode(as_texts(x), max_length=t["max_length"])


# --- a CSV with a column of free text ----------------------------------------------------------------------------


def looks_like_text(col: np.ndarray) -> bool:
    """Free text, not categories: mostly unique strings of several words (at least 20 characters on average)."""
    cells = [v for v in col if isinstance(v, str)]
    if len(cells) < max(2, 0.9 * len(col)):
        return False
    return len(set(cells)) > 0.5 * len(cells) and float(np.mean([len(v) for v in cells])) >= 20


def sentence_columns(csv, columns: list[str]) -> list[tuple[str, str]]:
    """(name, note) for each string column among `columns` that looks like sentences (at least 20 characters
    on average, most cells with a space) but repeats too much to pass `looks_like_text`, so it is read as a
    category (one-hot): a column of 600 texts with 260 distinct ones is still text to its owner, and only
    they can say so."""
    out = []
    for c in columns:
        col = csv.column(c)
        cells = [v for v in col if isinstance(v, str)]
        if col.dtype != object or len(cells) < max(2, 0.9 * len(col)) or looks_like_text(col):
            continue
        mean = float(np.mean([len(v) for v in cells]))
        if mean >= 20 and sum(" " in v.strip() for v in cells) > 0.5 * len(cells):
            out.append((c, f"{csv.path.name}: column '{c}' ({len(set(cells))} distinct values, {mean:.0f} characters "
                           f"on average) looks like text but is read as a category (one-hot, as it repeats); "
                           f"to read it as text: --set data.text_column={c}"))
    return out


def find_text_column(header: list[str], *, text_column: str, target: str | None, path) -> str:
    """`text_column` checked against the CSV's header and its target."""
    if text_column not in header:
        raise UserError(f"data.text_column={text_column} is not a column of {path}; its columns are "
                        f"{', '.join(header)}")
    if text_column == target:
        raise UserError(f"data.text_column={text_column} is the target; name the column of free text")
    return text_column


def load_text_csv(path, csv, *, target: str, text_column: str, task: str | None, others: list[str] = (),
                  identifiers: list[str] = (), notes: list[str] = (), read: dict | None = None):
    """A Dataset of kind text: the `text_column` of a parsed CSV (`data.table.CsvTable`) and its `target` classes.

    With `others` (feature columns of numbers or categories, see data/text_table.py) the inputs are a `Table` of
    the text column first, then those columns; without, an (N,) object array of the texts. An empty text cell
    is an empty text (one note counts them); a text column empty on every row is refused. `read`: how the CSV
    was read (encoding, decimal), recorded for predict.
    """
    from idealfit.data.base import Dataset, class_ids, infer_task
    from idealfit.data.files import check_target, target_hint

    if target is None:
        raise UserError(target_hint(path, csv.header))
    check_target(path, csv.header, target)
    if task not in (None, "classification"):
        raise UserError(f"a column of free text ({text_column}) is classified; drop data.task={task}")
    texts, y = csv.column(text_column), csv.column(target)
    empty = missing_texts(texts)
    if empty.all():
        raise UserError(f"the text column '{text_column}' of {path} is empty; fill it, or name the text column "
                        "with data.text_column")
    if empty.any():
        notes = [*notes, empty_text_note(path.name, text_column, empty, csv.lines)]
        texts = np.array(as_texts(texts), dtype=object)  # missing cells -> "" (and data.impute=drop keeps the rows)
    bad = np.array([v is None or (isinstance(v, float) and v != v) for v in y])
    if bad.any():
        raise UserError(f"{path}: target column '{target}' is empty on {int(bad.sum())} row(s) (first on line "
                        f"{csv.lines[np.flatnonzero(bad)[0]]}); drop or fill those rows")
    labels = y if y.dtype.kind == "f" else y.astype(str)
    if task is None and infer_task(labels) == "regression":  # a class per distinct number would be nonsense
        raise UserError(f"{path}: column '{text_column}' looks like free text, and text runs classify, but the "
                        f"target '{target}' holds numbers (regression); leave the text out with --set "
                        f"data.drop=[{text_column}], or pass --task classification if the numbers are classes")
    ids, names = class_ids(labels, where=f"{path}: target '{target}'")
    others = list(others)
    left = [c for c in csv.header if c not in (text_column, target, *others, *identifiers)]
    notes = [f"{path.name}: the features are the text column '{text_column}'"
             + (f" and the columns {', '.join(others)}" if others else "")
             + (f"; other columns left out: {', '.join(left)}" if left else ""), *notes]
    from idealfit.data.files import fingerprint

    if others:
        x = csv.table[:, [csv.header.index(c) for c in (text_column, *others)]]
        x.cols[0] = texts
    else:
        x = np.empty(len(texts), dtype=object)
        x[:] = list(texts)
    return Dataset(path.stem, x, ids, "classification", "text", class_names=names, columns=[text_column, *others],
                   lines=csv.lines, row_ids=csv.column(identifiers[0]) if identifiers else None,
                   meta={"source": str(path), "target": target, "text_column": text_column, "notes": notes, **(read or {}),
                         "identifiers": list(identifiers), "fingerprint": fingerprint(path)})
