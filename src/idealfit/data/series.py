"""Time series for forecasting: a CSV with a time column, or an embedded series; windows; the chronological split.

A series is read onto a regular time grid, then cut into samples: the `data.window` values before a forecast
origin (every value column, the target first, as channels: (C, window)) and the next `data.horizon` values of
the target. The split is chronological on time steps (train, then validation, then test, never shuffled
across time): a training sample's inputs *and* targets lie inside the training part, and a sample whose
targets straddle two parts is left out, so no validation or test step is ever inside a training window.
Scaling (per column mean and std) is fitted on the training part only.

The time grid, and what is filled (said at train time and recorded in preprocess.json's meta.series):
    step      the most common gap between consecutive time stamps: a number (years as 1700, 1701...), a
              whole number of months (monthly, quarterly, yearly dates), or a fixed duration (days, weeks,
              hours)
    irregular a row off the grid moves to its nearest step; rows that land on one step are averaged
    missing   steps without a row, and empty cells, are filled by linear interpolation between the
              nearest known values before and after (the nearest known value at either end)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.data.base import Dataset, plural
from idealfit.errors import UserError

TIME_NAMES = ("time", "date", "datetime", "timestamp", "year", "month", "week", "day", "period", "step", "t")
# the season of a time step, for the seasonal naive baseline when data.season is not given
SEASONS = {"months:1": 12, "months:3": 4, "months:12": 1, "days:7": 52, "days:1": 7, "hours:1": 24}


@dataclass
class SeriesDataset(Dataset):
    """A `Dataset` of windows (x: (N, C, window) raw values, y: (N, horizon) raw target values) that keeps the
    whole regular series (`values`: (T, C), the target in column 0) for baselines and figures. Sample i's
    targets are the steps i + window ... i + window + horizon - 1."""

    values: np.ndarray | None = None


# --- reading ------------------------------------------------------------------------------------------------


def _is_time_column(name: str, col) -> bool:
    import pandas as pd

    if str(name).strip().lower() in TIME_NAMES:
        return True
    if col.dtype.kind in "if" or col.isna().all():
        return False
    try:
        parsed = pd.to_datetime(col, errors="coerce", format="mixed")
    except (ValueError, TypeError):
        return False
    return bool(parsed.notna().mean() > 0.9)


def _read_csv(path: Path, *, encoding: str):
    import pandas as pd

    try:
        return pd.read_csv(path, encoding=encoding)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path} cannot be read as a CSV ({str(exc).splitlines()[0]}); check the file") from None


def read_frame(path: Path, *, time_column: str | None, encoding: str = "utf-8"):
    """The CSV as a DataFrame and the name of its time column (given, or the first that reads as one)."""
    df = _read_csv(path, encoding=encoding)
    if time_column is not None:
        if time_column not in df.columns:
            raise UserError(f"data.time_column={time_column} is not a column of {path}; its columns are "
                            f"{', '.join(map(str, df.columns))}")
        return df, time_column
    for name in df.columns:
        if _is_time_column(name, df[name]):
            return df, name
    raise UserError(f"{path} has no time column (dates, or a column named {', '.join(TIME_NAMES[:6])} ...); "
                    "add one, or name it with --set data.time_column=COLUMN")


def _grid(times) -> tuple[np.ndarray, dict[str, Any]]:
    """(each row's step index on the regular grid, the grid: {"kind", "start", "unit", "size"})."""
    import pandas as pd

    if times.dtype.kind in "iuf":  # numbers: years, or a step counter
        t = times.to_numpy(np.float64)
        step = _mode(np.diff(np.sort(t)))
        return np.rint((t - t.min()) / step).astype(np.int64), {"kind": "number", "start": float(t.min()),
                                                               "unit": "number", "size": float(step)}
    style = _date_style(times)
    if style == "quarter":  # "1959Q1": pandas' to_datetime reading of quarters is deprecated; a Period reads it
        text = times.astype(str).str.replace(r"[\s-]", "", regex=True).str.upper()
        dt = pd.PeriodIndex(text, freq="Q").to_timestamp()
    else:
        dt = pd.to_datetime(times, errors="coerce", format="mixed")
    if dt.isna().any():
        bad = times[dt.isna()].iloc[0]
        raise UserError(f"time stamp {bad!r} does not read as a date; fix it or drop that row")
    dt = pd.DatetimeIndex(dt)
    start = dt.min()
    since = np.asarray((dt - start) / pd.Timedelta(days=1), np.float64)  # days since the start (any resolution)
    days = _mode(np.diff(np.sort(since)))
    months = {28: 1, 29: 1, 30: 1, 31: 1, 89: 3, 90: 3, 91: 3, 92: 3, 365: 12, 366: 12}.get(int(round(days)))
    if months:  # calendar steps: count months, then round to the grid by the remaining days
        m = (dt.year - start.year) * 12 + (dt.month - start.month) + np.rint((dt.day - start.day) / 30.4)
        grid = {"kind": "date", "start": start.isoformat(), "unit": "months", "size": months}
        return np.rint(np.asarray(m) / months).astype(np.int64), {**grid, **({"style": style} if style else {})}
    unit, size = ("days", days) if days >= 1 else ("hours", days * 24)
    return (np.rint(since / days).astype(np.int64),
            {"kind": "date", "start": start.isoformat(), "unit": unit, "size": float(size)})


def _date_style(times) -> str | None:
    """How the input writes its time steps, when forecasts should be stamped the same way: "quarter"
    (1959Q1, 1959-Q1: pandas reads these as the quarter's first day) or "month" (1959-01); else None."""
    text = times.astype(str).str.strip()
    if text.str.fullmatch(r"\d{4}\s*-?\s*[Qq][1-4]").all():
        return "quarter"
    if text.str.fullmatch(r"\d{4}-\d{1,2}").all():
        return "month"
    return None


def _mode(diffs: np.ndarray) -> float:
    diffs = diffs[diffs > 0]
    if not len(diffs):
        raise UserError("the time column has fewer than two distinct time stamps; a series needs many")
    vals, counts = np.unique(np.round(diffs, 6), return_counts=True)
    if counts.max() * 2 >= len(diffs):  # a regular series, maybe with gaps: its most common step
        return float(vals[counts.argmax()])
    return float(np.median(diffs))  # irregular stamps: the typical gap


def time_labels(grid: dict[str, Any], steps: np.ndarray) -> list[str]:
    """The time stamp of each grid step index (steps may lie past the data: forecasts)."""
    import pandas as pd

    steps = np.asarray(steps)
    if grid["kind"] == "number":
        return [f"{grid['start'] + i * grid['size']:g}" for i in steps]
    start = pd.Timestamp(grid["start"])
    if grid["unit"] == "months":
        out = [start + pd.DateOffset(months=int(i) * grid["size"]) for i in steps]
        if grid.get("style") == "quarter":  # the input's own style (data/series._date_style)
            return [f"{t.year}Q{(t.month - 1) // 3 + 1}" for t in out]
        if grid.get("style") == "month":
            return [f"{t.year}-{t.month:02d}" for t in out]
    else:
        out = [start + pd.Timedelta(**{grid["unit"]: float(i) * grid["size"]}) for i in steps]
    return [str(t.date()) if t == t.normalize() else t.isoformat() for t in out]


def regular_series(df, time_col: str, columns: list[str], *, name: str) -> tuple[np.ndarray, dict, list[str]]:
    """Values (T, C) on the regular grid, the grid, and notes of what was moved or filled (see the module doc)."""
    import pandas as pd

    df = df.dropna(subset=[time_col])
    idx, grid = _grid(df[time_col])
    vals = df[columns].to_numpy(np.float64)
    frame = pd.DataFrame(vals).groupby(idx).mean()  # rows on one step: their mean
    steps = int(idx.max()) + 1
    full = frame.reindex(range(steps))
    empty_steps, empty_cells = steps - len(frame), int(frame.isna().to_numpy().sum())
    filled = full.interpolate(method="linear", limit_direction="both").to_numpy(np.float64)
    if np.isnan(filled).any():
        col = columns[int(np.isnan(filled).any(axis=0).argmax())]
        raise UserError(f"column {col} of {name} has no values; drop it (data.drop) or fill it")
    notes = []
    merged = len(idx) - len(frame)
    if merged:
        shares = "row shares" if merged == 1 else "rows share"
        notes.append(f"{name}: {merged} {shares} a time step with another row (after moving each row to its "
                     "nearest step): each step keeps their mean")
    if empty_steps or empty_cells:
        last = full.iloc[-1]
        tail = (f"; the last step's {', '.join(str(columns[i]) for i in np.nonzero(last.isna().to_numpy())[0])} "
                "copies the value before it") if last.isna().any() else ""
        notes.append(f"{name}: {plural(empty_steps, 'missing time step')} and {plural(empty_cells, 'empty cell')} "
                     f"filled by linear interpolation between the nearest known values{tail}")
    grid.update(steps=steps, missing_steps=empty_steps, empty_cells=empty_cells, merged_rows=merged)
    return filled, grid, notes


def load_series_csv(path: Path, *, target: str | None, time_column: str | None, columns: list[str] | None,
                    drop: list[str], encoding: str, window: int, horizon: int, season: int | None) -> SeriesDataset:
    """A CSV with a time column and value columns as forecasting windows of `target` (the other numeric
    columns are extra input channels, their past values only)."""
    df, time_col = read_frame(path, time_column=time_column, encoding=encoding)
    others = [c for c in df.columns if c != time_col and c not in drop]
    if target is None:
        numeric = [c for c in others if df[c].dtype.kind in "if"]
        if len(numeric) != 1:
            raise UserError(f"{path} has {len(numeric)} numeric value columns; name the one to forecast with "
                            f"--target ({', '.join(map(str, numeric)) or 'none'})")
        target = numeric[0]
    if target not in df.columns:
        raise UserError(f"--target {target} is not a column of {path}; its columns are "
                        f"{', '.join(map(str, df.columns))}")
    if df[target].dtype.kind not in "if":
        bad = df[target][~df[target].isna()].astype(str)
        raise UserError(f"the target column {target} of {path} is not numeric (e.g. {bad.iloc[0]!r}); forecasting "
                        "needs numbers: pick a numeric column with --target, or fix the cells")
    cols = [c for c in (columns if columns is not None else others) if c != target]
    skipped = [c for c in cols if df[c].dtype.kind not in "if"]
    cols = [target] + [c for c in cols if c not in skipped]
    values, grid, notes = regular_series(df, time_col, cols, name=path.name)
    if skipped:
        notes.append(f"{path.name}: non-numeric columns left out: {', '.join(map(str, skipped))}")
    from idealfit.data.files import fingerprint

    return make_windows(path.stem, values, grid, columns=cols, time_column=time_col, window=window,
                        horizon=horizon, season=season, notes=notes,
                        extra={"source": str(path), "fingerprint": fingerprint(path)})


def make_windows(name: str, values: np.ndarray, grid: dict[str, Any], *, columns: list[str], time_column: str,
                 window: int, horizon: int, season: int | None, notes: list[str] = (),
                 extra: dict | None = None) -> SeriesDataset:
    """Samples of a regular series (T, C): x (N, C, window), y (N, horizon) of column 0, N = T - window - horizon + 1."""
    steps = len(values)
    n = steps - window - horizon + 1
    if n < 3:
        raise UserError(f"{name} has {steps} time steps, too few for data.window={window} plus "
                        f"data.horizon={horizon}; lower data.window or bring a longer series")
    starts = np.arange(n)
    x = np.stack([values[i : i + window].T for i in starts]).astype(np.float32)  # (N, C, window)
    y = np.stack([values[i + window : i + window + horizon, 0] for i in starts]).astype(np.float32)  # (N, H)
    if season is None:
        season = SEASONS.get(f"{grid['unit']}:{grid['size']:g}", 1)
    meta = {"series": {**grid, "columns": [str(c) for c in columns], "target": str(columns[0]),
                       "time_column": str(time_column), "window": window, "horizon": horizon, "season": season},
            "notes": list(notes), **(extra or {})}
    return SeriesDataset(name, x, y, "forecasting", "series", columns=[str(c) for c in columns], meta=meta,
                         values=values.astype(np.float64))


# --- embedded series (CSV files inside the statsmodels package: no download) ----------------------------------


def _statsmodels(name: str):
    import importlib

    return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data


def embedded_series(name: str, *, window: int, horizon: int, season: int | None) -> SeriesDataset:
    import pandas as pd

    if name == "sunspots":  # yearly mean sunspot numbers 1700-2008; the ~11-year solar cycle as season
        df = _statsmodels("sunspots")
        frame, time_col, cols, season = df, "YEAR", ["SUNACTIVITY"], season or 11
    elif name == "sunspots_monthly":  # monthly means 1749-2009: the ~11-year cycle is 132 months
        frame, time_col, cols, season = sunspots_monthly(), "date", ["sunspots"], season or 132
    elif name == "co2":  # weekly CO2 at Mauna Loa 1958-2001, with gaps
        df = _statsmodels("co2")
        frame = pd.DataFrame({"date": df.index, "co2": df["co2"].to_numpy()})
        time_col, cols = "date", ["co2"]
    else:  # elnino: monthly sea surface temperatures 1950-2010, one row per year
        df = _statsmodels("elnino")
        months = list(df.columns[1:])
        frame = pd.DataFrame({"date": [pd.Timestamp(int(y), m + 1, 1) for y in df["YEAR"] for m in range(12)],
                              "temperature": df[months].to_numpy().ravel()})
        time_col, cols = "date", ["temperature"]
    values, grid, notes = regular_series(frame, time_col, cols, name=name)
    return make_windows(name, values, grid, columns=cols, time_column=time_col, window=window, horizon=horizon,
                        season=season, notes=notes, extra={"embedded": "statsmodels"})


def sunspots_monthly():
    """The monthly mean sunspot numbers that statsmodels ships beside its yearly CSV, as the plain-text table
    src/sunspots_monthly.dat (a year per row, then its months; statsmodels' loader reads only the yearly file),
    as a DataFrame (date, sunspots): January 1749 to June 2009."""
    import importlib.resources

    import pandas as pd

    path = importlib.resources.files("statsmodels.datasets.sunspots") / "src" / "sunspots_monthly.dat"
    if not path.is_file():
        raise UserError(f"this statsmodels installation lacks {path}, the monthly sunspot numbers; use the yearly "
                        "series, --data sunspots")
    dates, values = [], []
    for line in path.read_text(encoding="ascii").splitlines():
        cells = line.split()
        if len(cells) > 1 and len(cells[0]) == 4 and cells[0].isdigit():  # "1749   58.0  62.6 ..."
            for m, v in enumerate(cells[1:13]):
                dates.append(pd.Timestamp(int(cells[0]), m + 1, 1))
                values.append(float(v))
    return pd.DataFrame({"date": dates, "sunspots": values})


SERIES_EMBEDDED = ("sunspots", "sunspots_monthly", "co2", "elnino")


# --- the chronological split ---------------------------------------------------------------------------------


def chronological_split(ds: SeriesDataset, *, val_fraction: float, test_fraction: float, seed: int) -> dict:
    """Train, validation and test samples by time: the last `test_fraction` of the time steps are the test
    part, the `val_fraction` before them validation, the rest training. A sample belongs to the part holding all
    its target steps (straddlers are left out), and a training sample's window lies inside the training part."""
    info = ds.meta["series"]
    steps, w, h = len(ds.values), info["window"], info["horizon"]
    n_test, n_val = max(1, round(test_fraction * steps)), max(1, round(val_fraction * steps))
    train_end, val_end = steps - n_val - n_test, steps - n_test
    first = np.arange(len(ds.y)) + w  # each sample's first target step
    last = first + h - 1
    train = np.nonzero(last < train_end)[0]
    val = np.nonzero((first >= train_end) & (last < val_end))[0]
    test = np.nonzero(first >= val_end)[0]
    if len(train) < 2:
        raise UserError(f"data.window={w} plus data.horizon={h} is longer than the training part of {ds.name} "
                        f"({train_end} of its {steps} time steps), which leaves {len(train)} training windows; "
                        f"lower data.window (below {max(1, train_end - h - 1)}) or bring a longer series")
    if not len(val) or not len(test):
        raise UserError(f"{ds.name}'s validation or test part ({n_val} and {n_test} time steps) is shorter than "
                        f"data.horizon={h}; lower data.horizon or raise data.val_fraction / data.test_fraction")
    info.update(train_end=int(train_end), val_end=int(val_end))
    return {"train": train, "val": val, "test": test, "stratified": False, "seed": seed}


# --- the data kind: scaling fitted on the training part -------------------------------------------------------


def fit_series(ds: SeriesDataset, indices: dict, cfg, state: dict[str, Any]) -> tuple[dict, dict]:
    """Per column mean and std of the training part's values (steps before meta.series.train_end); the
    training part's in-sample naive error (mean |y_t - y_t-1|), MASE's scale."""
    info = ds.meta["series"]
    part = ds.values[: info["train_end"]]
    mean, std = part.mean(0), part.std(0)
    std[std == 0] = 1.0
    state["series"] = {"mean": mean.tolist(), "std": std.tolist(),
                       "naive_mae": float(np.abs(np.diff(part[:, 0])).mean()),
                       "difference": bool(cfg.difference)}  # the model reads differences
    state["input_shape"] = [len(mean), info["window"]]
    state["norm"] = None  # scaled here
    return {s: transform_series(state, ds.x[indices[s]]) for s in ("train", "val", "test")}, indices


def transform_series(state: dict[str, Any], x: np.ndarray, names: list[str] | None = None) -> np.ndarray:
    s = state["series"]
    mean, std = np.asarray(s["mean"], np.float32)[:, None], np.asarray(s["std"], np.float32)[:, None]
    return ((np.asarray(x, np.float32) - mean) / std).astype(np.float32)
