"""metrics.csv, a run's per-epoch history: the one writer (after every epoch) and the one reader.

One row per epoch: `epoch` (a whole number), then floats written with 6 significant digits (`lr`,
`train_loss`, `train_<metric>`, `val_loss`, `val_<metric>`, `penalty` when a penalty is on), with
`seconds` last; an empty cell is a value not measured that epoch (None).

Example:
    >>> write_metrics_csv("runs/x/metrics.csv", [{"epoch": 1, "train_loss": 0.5, "seconds": 0.1}])  # doctest: +SKIP
    >>> read_history("runs/x/metrics.csv")  # doctest: +SKIP
    [{'epoch': 1, 'train_loss': 0.5, 'seconds': 0.1}]
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from idealfit.errors import UserError
from idealfit.run_files import atomic_write, damaged, read_text


def write_metrics_csv(path: str | Path, history: list[dict[str, float]]) -> Path:
    """One row per epoch; columns in first-seen order (epoch, lr, train_loss, train_<m>, val_..., seconds)."""
    cols: list[str] = []
    for row in history:
        cols += [k for k in row if k not in cols]
    if "seconds" in cols:  # keep the timing last, as documented
        cols.remove("seconds")
        cols.append("seconds")
    lines = [",".join(cols)]
    for row in history:
        lines.append(",".join("" if row.get(c) is None else (str(row[c]) if c == "epoch" else f"{row[c]:.6g}")
                              for c in cols))
    return atomic_write(Path(path), ("\n".join(lines) + "\n").encode("utf-8"))


def read_history(path: str | Path) -> list[dict]:
    """Read a run's metrics.csv into one dict per epoch.

    Args:
        path: the CSV file; header then one row per epoch (`epoch,lr,train_loss,...`).

    Returns:
        rows keyed by column name: `epoch` as int, every other cell as float, empty cells as None.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} not found; pass the metrics.csv inside a run folder")
    rows = []
    text = read_text(path.parent, path.name)  # refuses a link; the folder holding it may be one
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for line_no, raw in enumerate(reader, start=2):
            if None in raw:
                raise UserError(
                    f"{path} line {line_no} has more cells than the header; fix or delete the line"
                )
            rows.append({key: _parse_cell(cell, key, path, line_no) for key, cell in raw.items()})
    except csv.Error as err:
        raise damaged(path, f"not a CSV file: {err}") from None
    return rows


def _parse_cell(cell: str | None, key: str, path: Path, line_no: int) -> int | float | None:
    """One CSV cell: None when empty (or missing), int for `epoch`, float otherwise."""
    if cell is None or not cell.strip():
        return None
    try:
        value = float(cell)
    except ValueError:
        raise UserError(
            f"{path} line {line_no}, column {key!r}: {cell!r} is not a number; fix or delete the line"
        ) from None
    if key == "epoch":
        if not value.is_integer():
            raise UserError(f"{path} line {line_no}: epoch {cell!r} is not a whole number")
        return int(value)
    return value
