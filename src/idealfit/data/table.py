"""A table of raw cells kept column by column, and the CSV reader that builds one.

Numeric columns are float64 arrays (NaN = missing) and text columns object arrays of `str` (NaN =
missing), so a 2-million-row CSV costs about 8 bytes per numeric cell instead of a Python float object
per cell. `Table` answers the few array operations the preprocessing uses (`x[rows]`, `x[:, j]`,
`x[i]`, `astype`, `shape`) the way an (N, F) object array of the same cells would.
"""

from __future__ import annotations

import csv
import itertools
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from idealfit.errors import UserError


def _case_variants(*words: str) -> set[str]:
    return {"".join(t) for w in words for t in itertools.product(*({c.lower(), c.upper()} for c in w))}


# the usual missing-value tokens, in any case ("NA", "n/a", "#N/A", "null", "None", "?" of UCI files)
NA_TOKENS = sorted(_case_variants("na", "n/a", "#n/a", "#na", "nan", "-nan", "null", "none", "<na>") | {"", "?"})
_NA = set(NA_TOKENS)


def is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v)


class Table:
    """(N, F) raw cells stored as one 1-D array per column (float64 numbers or object strings).

    `dtype` is object, as for an object array of the same cells: a row mixes numbers and strings.
    """

    ndim = 2
    dtype = np.dtype(object)

    def __init__(self, cols: list[np.ndarray], n: int | None = None):
        self.cols = cols
        self.n = len(cols[0]) if cols else int(n or 0)

    @classmethod
    def from_array(cls, x: np.ndarray | Table) -> Table:
        """A Table of an (N, F) numeric or object array of cells (already a Table: itself)."""
        if isinstance(x, Table):
            return x
        x = np.asarray(x)
        if x.dtype.kind in "biuf":
            return cls([x[:, j].astype(np.float64) for j in range(x.shape[1])], len(x))
        return cls([x[:, j] for j in range(x.shape[1])], len(x))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, len(self.cols))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, col = key
            if isinstance(col, (int, np.integer)):
                return self.cols[col][rows]
            sub = self if isinstance(rows, slice) and rows == slice(None) else self[rows]
            return Table([sub.cols[j] for j in col], len(sub))
        if isinstance(key, (int, np.integer)):
            row = np.empty(len(self.cols), dtype=object)
            row[:] = [c[key] for c in self.cols]
            return row
        picked = [c[key] for c in self.cols]
        return Table(picked, len(np.arange(self.n)[key]) if not picked else None)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.shape, dtype=object)
        for j, c in enumerate(self.cols):
            out[:, j] = c
        return out if dtype is None else out.astype(dtype)

    def astype(self, dtype) -> np.ndarray:
        if np.dtype(dtype) == object:
            return self.__array__()
        return np.column_stack([c.astype(dtype) for c in self.cols]).reshape(self.shape)

    def min(self) -> float:  # as an object array's: only defined when every cell is a number
        return self.astype(np.float64).min()

    def max(self) -> float:
        return self.astype(np.float64).max()

    def tolist(self) -> list[list]:
        return self.__array__().tolist()

    def missing(self) -> np.ndarray:
        """(N,) bool: True where a row has any missing cell."""
        out = np.zeros(self.n, dtype=bool)
        for c in self.cols:
            out |= np.isnan(c) if c.dtype.kind == "f" else np.fromiter((is_missing(v) for v in c), bool, len(c))
        return out


@dataclass
class CsvTable:
    """A parsed CSV: header names, all columns as a Table, and the file line of every row."""

    path: Path
    header: list[str]
    table: Table
    lines: np.ndarray  # (N,) int: each row's line number in the file, counting from 1 at the top
    mixed: dict[int, int]  # column -> line of its first text cell, for columns mixing numbers and text
    decimal: str = "."  # the decimal mark its numbers were read with ("," for 17,5)
    comma_columns: list[str] = field(default_factory=list)  # decimal ",": the columns that showed it (for the note)
    amount_columns: dict[str, str] = field(default_factory=dict)  # column -> a cell like "€512" read as a number

    def column(self, name: str) -> np.ndarray:
        return self.table.cols[self.header.index(name)]


CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 50  # the delimiter is the one that splits the header and this many rows alike
DECIMALS = ("auto", ".", ",")  # data.decimal
# a number written with a decimal comma ("17,5", "-0,043", "1,5e3"), or a whole number beside them ("3")
_COMMA_NUMBER = re.compile(r"[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?")


def is_csv_path(path: Path) -> bool:
    """A path idealfit reads as a CSV: .csv, .tsv, and both gzipped."""
    return path.name.lower().endswith(CSV_SUFFIXES)


def _codec(encoding: str) -> str:
    """utf-8 reads with or without a byte-order mark (Excel writes one)."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _open_text(path: Path, encoding: str):
    import gzip

    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding=_codec(encoding))
    return path.open(newline="", encoding=_codec(encoding))


def sniff_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """The delimiter that splits the header into several fields and every one of the first rows alike:
    comma first (tab first for .tsv), then semicolon, tab and bar; comma when none does."""
    order = ("\t", ",", ";", "|") if ".tsv" in path.name.lower() else DELIMITERS
    try:
        with _open_text(path, encoding) as fh:
            sample = list(itertools.islice(fh, SNIFF_LINES + 1))
    except (OSError, UnicodeDecodeError, EOFError):
        return order[0]  # the scan reports the problem with its own message
    rows = [line for line in sample if line.strip()]
    for d in order:
        try:
            parsed = list(csv.reader(rows, delimiter=d))
        except csv.Error:
            continue
        if parsed and len(parsed[0]) > 1 and all(len(r) == len(parsed[0]) for r in parsed[:-1]):
            return d  # the last sampled line may be cut by the sample's end
    return order[0]


def csv_header(path: Path, encoding: str = "utf-8") -> list[str]:
    """The header row's names alone (the first non-blank row), without reading the rows; [] when unreadable
    (reading the whole file then reports the problem with its own message)."""
    sep = sniff_delimiter(path, encoding)
    try:
        with _open_text(path, encoding) as fh:
            row = next((r for r in csv.reader(fh, delimiter=sep) if r and any(c.strip() for c in r)), [])
    except (OSError, UnicodeDecodeError, EOFError, csv.Error):
        return []
    return [h.strip() for h in row]


def read_csv_table(path: Path, *, encoding: str = "utf-8", decimal: str = "auto") -> CsvTable:
    """Read a CSV with a header row: numbers as float64 columns, anything else as text columns.

    The delimiter is sniffed (comma, semicolon, tab, bar); .tsv and gzipped files (.csv.gz, .tsv.gz)
    are read too. Every malformed-file problem (encoding, delimiter, duplicate or ragged columns,
    runaway quotes) raises a one-line `UserError` naming the file, the line and the fix.

    Args:
        encoding: the file's text encoding (default utf-8, with or without a byte-order mark), e.g. latin-1.
        decimal: the decimal mark of its numbers: "." or ","; "auto" (default) reads "," when the file is not
            comma-delimited and a text column holds only numbers written with decimal commas ("17,5").
    """
    try:
        import codecs

        codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"data.encoding={encoding!r} is not a text encoding Python knows; use e.g. utf-8, "
                        "latin-1 or cp1252") from None
    if decimal not in DECIMALS:  # the config refuses it first; a direct call lands here
        raise UserError(f"data.decimal must be one of {', '.join(DECIMALS)}; got {decimal!r}")
    sep = sniff_delimiter(path, encoding)
    if decimal == sep:
        raise UserError(f"{path} is comma-delimited, so its numbers cannot have decimal commas; drop data.decimal "
                        "(or save the file with ';' between fields)")
    header, lines, skip = _scan(path, sep, encoding)
    if len(lines) == 0:
        raise UserError(f"{path} has no data rows; a CSV needs a header row and at least one row per sample")
    df = _parse(path, header, skip, sep, encoding, decimal if decimal != "auto" else ".")
    commas = []
    if decimal == "auto":
        commas = [header[j] for j in df if sep != "," and _comma_numbers(df[j])]
        decimal = "," if commas else "."
        if commas:  # the usual European spreadsheet export: read the whole file again with that mark
            df = _parse(path, header, skip, sep, encoding, ",")
    keep = ~df.isna().to_numpy().all(axis=1)  # rows of empty cells only (",,,") carry nothing
    if len(df) != len(lines):
        raise RuntimeError(f"{path}: csv module saw {len(lines)} rows, pandas {len(df)}")
    cols, mixed, amounts = [], {}, {}
    for j in range(len(header)):
        col, first_text = _column(df[j])
        if col.dtype.kind != "f" and decimal == "." and (read := read_amounts(col, thousands=sep == ",")) is not None:
            col, first_text, amounts[header[j]] = read[0], None, read[1]
        cols.append(col[keep])
        if first_text is not None:
            mixed[j] = int(lines[first_text])
    del df
    lines = lines[keep]
    return CsvTable(path, header, Table(cols, len(lines)), lines, mixed, decimal, commas, amounts)


# an amount as spreadsheets write one: a currency sign before or after, thousands separators, a percent sign
_AMOUNT = re.compile(r"(?P<s1>[+-]?)\s*(?P<c1>[$€£¥])?\s*(?P<s2>[+-]?)(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?"
                     r"|\.\d+)\s*(?P<c2>[$€£¥%])?")


def read_amounts(col: np.ndarray, *, thousands: bool = True) -> tuple[np.ndarray, str] | None:
    """A text column whose every present cell is a number written as an amount ("€512", "$1,200.50", "12%",
    "3,400"), as float64 (the number written: "12%" -> 12.0), and one such cell for the note; else None.

    pandas reads such cells as text (its `thousands=` covers separators only, and applies to every column),
    and a column of near-distinct text is useless as a category, so a budget would be lost. Read only when
    every cell matches and one sign at most is used: a column mixing "€" and "$" is not one quantity.
    `thousands`: commas may separate thousands (default True); False for files not comma-delimited, where
    "17,500" is as likely a decimal comma (data.decimal decides those).
    """
    if col.dtype.kind == "f":
        return None
    signs, out, example = set(), {}, None
    for v in col:  # in file order (the note's example); the first other text (a category, a word) stops it
        if not isinstance(v, str) or v in out:
            continue
        m = _AMOUNT.fullmatch(v)
        if m is None or (m["s1"] and m["s2"]) or (m["c1"] and m["c2"]) or ("," in v and not thousands):
            return None
        sign = m["c1"] or m["c2"]
        signs |= {sign} if sign else set()
        if sign or "," in m["num"]:
            example = example or v
        out[v] = float(m["num"].replace(",", "")) * (-1 if "-" in (m["s1"], m["s2"]) else 1)
    if example is None or len(signs) > 1:
        return None  # plain numbers are read by pandas already; several signs are several quantities
    return np.array([out[v] if isinstance(v, str) else np.nan for v in col], dtype=np.float64), example


def _comma_numbers(s) -> bool:
    """A text column whose every present value is a number written with a decimal comma, one at least."""
    if s.dtype.kind in "biufcmM":  # parsed already (pandas' text dtype is object, or str from pandas 3)
        return False
    values = [str(v).strip() for v in s.dropna().unique()]
    return any("," in v for v in values) and all(_COMMA_NUMBER.fullmatch(v) for v in values)


def _scan(path: Path, sep: str, encoding: str) -> tuple[list[str], np.ndarray, int]:
    """Header, line numbers of the data rows, and the physical lines up to the header, checked with
    Python's csv module one row at a time (so memory stays flat)."""
    import gzip
    import zlib

    header: list[str] | None = None
    lines: list[int] = []
    skip = 0
    try:
        with _open_text(path, encoding) as fh:
            reader = csv.reader(fh, delimiter=sep)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines are skipped (pandas does the same)
                if header is None:
                    header, skip = _check_header(path, row), reader.line_num
                elif len(row) != len(header):
                    raise UserError(f"{path} line {reader.line_num} has {len(row)} fields, a different number of "
                                    f"fields than the header ({len(header)}); fix or remove that line")
                else:
                    lines.append(reader.line_num)
    except UnicodeDecodeError:
        label = "UTF-8" if _codec(encoding) == "utf-8-sig" else encoding
        raise UserError(f"{path} is not a {label} text CSV file; save it as CSV (UTF-8), or name its encoding "
                        "with --set data.encoding=latin-1 (or cp1252, ...)") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise UserError(f"{path} is not a readable gzip file ({exc}); compress it again with gzip") from None
    except csv.Error as exc:
        where = f" near line {reader.line_num + 1}" if "field larger" in str(exc) else ""
        raise UserError(f"{path}{where} has a field over {csv.field_size_limit() // 1024} KiB, usually a quote (\") "
                        f"that is never closed ({exc}); close the quote or drop that column") from None
    if header is None:
        raise UserError(f"{path} is empty; a CSV needs a header row and at least one row per sample")
    return header, np.asarray(lines, dtype=np.int64), skip


def _check_header(path: Path, row: list[str]) -> list[str]:
    header = [h.strip() for h in row]
    if len(header) == 1:
        for sep, name in ((";", ";"), ("\t", "tab"), ("|", "|")):
            if sep in header[0]:
                raise UserError(f"{path} looks {name}-delimited (its header is one column, '{header[0][:60]}'), but "
                                "its rows do not split alike; fix the ragged rows or save it with commas")
    seen = set()
    for h in header:
        if h in seen:
            raise UserError(f"{path} has two columns named '{h}'; rename one")
        seen.add(h)
    return header


def _parse(path: Path, header: list[str], skip: int, sep: str, encoding: str, decimal: str):
    """All rows as a DataFrame with columns 0..F-1, parsed by pandas' C engine with `decimal` as the decimal mark."""
    import pandas as pd

    opts = dict(header=None, names=list(range(len(header))), skiprows=skip, encoding=_codec(encoding),
                sep=sep, compression="gzip" if path.name.lower().endswith(".gz") else None,
                keep_default_na=False, na_values=NA_TOKENS, skipinitialspace=True, engine="c", decimal=decimal)
    with warnings.catch_warnings():  # a column typed differently across pandas' chunks: _column sorts it out
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        df = pd.read_csv(path, **opts)  # our scan passed, so a pandas error here is our bug
    # pandas turns True/false/TRUE into bools; a category is the text the file holds, so re-read those as text
    boolish = [j for j in df if df[j].dtype == bool or (df[j].dtype == object and
                                                       any(isinstance(v, bool) for v in df[j].dropna().unique()))]
    if boolish:
        text = pd.read_csv(path, **{**opts, "names": list(range(len(header))), "usecols": boolish, "dtype": str})
        for j in boolish:
            df[j] = text[j]
    return df


def _column(s) -> tuple[np.ndarray, int | None]:
    """One parsed column as float64 (numbers) or object (text), and the row of the first text cell
    when the column mixes numbers and text (then it stays text)."""
    import pandas as pd

    if s.dtype.kind in "iuf":
        return s.to_numpy(dtype=np.float64), None
    # text: work on the distinct values, not per cell (a text column repeats few of them)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:  # every cell missing
        return np.full(len(s), np.nan), None
    text = np.array([str(u).strip() for u in np.asarray(uniques, dtype=object)], dtype=object)
    # missing tokens padded with spaces (" NA ") that pandas' exact match let through
    text = np.array([t if t.lower() not in _NA else np.nan for t in text], dtype=object)
    nums = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    present = np.array([not is_missing(t) for t in text], dtype=bool)
    is_num = present & ~np.isnan(nums)
    if present.any() and (is_num == present).all():  # every present value is a number (" 3 ", "1e5")
        return np.where(codes >= 0, nums[codes.clip(0)], np.nan), None
    col = np.where(codes >= 0, text[codes.clip(0)], np.nan).astype(object)
    first_text = None
    if is_num.any():
        bad = present & ~is_num
        first_text = int(np.flatnonzero(bad[codes.clip(0)] & (codes >= 0))[0])
    return col, first_text
