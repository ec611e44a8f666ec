"""A forecasting run's input at predict time: a recent history (a CSV, a DataFrame or an array of the training
columns), of which the last `data.window` steps give the next `data.horizon` values of the target.

`forecast` serves `idealfit predict RUN history.csv` and `Run.predict`; `forecast_values` serves
`Run.predict_array`, where the time column is optional (values alone are taken as consecutive steps).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.data.series import _read_csv, regular_series, time_labels, transform_series
from idealfit.errors import UserError


def forecast(run, source: Any) -> tuple[list[str], np.ndarray]:
    """(time stamps, values (horizon,)) forecast after the history in `source`: a CSV path or a pandas
    DataFrame with the run's time column and value columns, at the run's time step, at least `data.window`
    steps (the last window are used; gaps filled as at training)."""
    info = run.state["meta"]["series"]
    if hasattr(source, "columns"):  # a DataFrame, as the CSV would be read
        df, name = source, "the DataFrame"
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"{path} is not a file; pass a CSV of the recent history ({info['time_column']}, "
                            f"{', '.join(info['columns'])})")
        # predict takes no --set: the time column is the one recorded in the run, looked up by name, not detected
        df, name = _read_csv(path, encoding=run.config.data.encoding), str(path)
    time_col = info["time_column"]
    if time_col not in df.columns:
        raise UserError(f"{name} has no column '{time_col}', the time column this run was trained on; add it "
                        f"(the time stamps of the history, at the run's step) beside {', '.join(info['columns'])}")
    values, grid = _on_grid(run, df, name)
    times = time_labels(grid, np.arange(len(values), len(values) + info["horizon"]))
    return times, _from_end(run, values, name)


def forecast_values(run, x: Any) -> np.ndarray:
    """The next data.horizon values (horizon,) after a history: a DataFrame of the run's value columns (its
    time column too, if it has one: then gaps are filled and the step checked as for a CSV), or an array
    (T, C) of the value columns in the training order (or (T,) for a run of one column), one row per step."""
    info = run.state["meta"]["series"]
    cols = info["columns"]
    if hasattr(x, "columns"):
        missing = [c for c in cols if c not in x.columns]
        if missing:
            raise UserError(f"the DataFrame lacks column '{missing[0]}' that this run was trained on; give it the "
                            f"columns {', '.join(cols)} (and '{info['time_column']}' if you have it)")
        if info["time_column"] in x.columns:
            return _from_end(run, _on_grid(run, x, "the DataFrame")[0], "the DataFrame")
        x = x[cols]
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"predict_array takes the history's values as numbers, one column per training column "
                        f"({', '.join(cols)}); pass a DataFrame to give the time column "
                        f"'{info['time_column']}' as well") from None
    if arr.ndim == 1 and len(cols) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(cols):
        raise UserError(f"a forecasting run's predict_array takes a history of shape (T, {len(cols)}) "
                        f"(one row per time step, columns {', '.join(cols)}) or windows of shape "
                        f"(N, {len(cols)}, {info['window']}); got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise UserError("the history holds empty or infinite values; fill them, or pass a DataFrame with the "
                        f"time column '{info['time_column']}' so gaps are filled as at training")
    return _from_end(run, arr, "the history")


def _on_grid(run, df, name: str) -> tuple[np.ndarray, dict]:
    """The history's values (T, C) on the run's regular grid, its notes said on stderr."""
    info = run.state["meta"]["series"]
    values, grid, notes = regular_series(df, info["time_column"], info["columns"], name=name)
    if (grid["unit"], grid["size"]) != (info["unit"], info["size"]) and len(values) > 1:
        raise UserError(f"{name} has a time step of {grid['size']:g} {grid['unit']}, and this run was trained on "
                        f"steps of {info['size']:g} {info['unit']}; give the history at the run's step")
    for note in notes:
        print(note, file=sys.stderr)
    return values, grid


def _from_end(run, values: np.ndarray, name: str) -> np.ndarray:
    """The forecast (horizon,) from the last data.window rows of `values` (T, C)."""
    w = run.state["meta"]["series"]["window"]
    if len(values) < w:
        raise UserError(f"{name} holds {len(values)} time steps; this run forecasts from the last {w} "
                        "(data.window): give a longer history")
    x = transform_series(run.state, values[-w:].T[None])  # (1, C, window)
    return run._predict_ready(x)[0]
