"""Time series: the regular grid and its filling rule, the chronological split, scaling on the training part."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idealfit.config import DataConfig
from idealfit.data.prepare import load_dataset, prepare
from idealfit.data.series import chronological_split, regular_series, time_labels
from idealfit.data.split import split_indices


def _csv(tmp_path, n=100, *, drop=(), blank=()):
    t = np.arange(n, dtype=float)
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                       "units": 5 + np.sin(t / 3) + 0.1 * t})
    df.loc[list(blank), "units"] = np.nan
    df.drop(index=list(drop)).to_csv(tmp_path / "s.csv", index=False)
    return df["units"].to_numpy()


@pytest.mark.parametrize("window,horizon", [(5, 1), (7, 4), (1, 3)])
def test_no_validation_or_test_step_ever_lies_inside_a_training_window(tmp_path, window, horizon):
    _csv(tmp_path)
    cfg = DataConfig(name=str(tmp_path / "s.csv"), task="forecasting", window=window, horizon=horizon)
    ds = load_dataset(cfg)
    ind = split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=3)
    span = {s: [set(range(i, i + window + horizon)) for i in ind[s]] for s in ("train", "val", "test")}
    targets = {s: [set(range(i + window, i + window + horizon)) for i in ind[s]] for s in ("train", "val", "test")}
    train_steps = set().union(*span["train"])
    held_out = set().union(*targets["val"], *targets["test"])
    assert not train_steps & held_out
    assert max(train_steps) < min(set().union(*targets["val"])) <= max(set().union(*targets["val"])) \
        < min(set().union(*targets["test"]))
    # the split is by time, whatever the seed; the test part is the last 15 % of the 100 steps
    other = split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0)
    for s in ("train", "val", "test"):
        np.testing.assert_array_equal(ind[s], other[s])
    assert min(set().union(*targets["test"])) == 85 and max(set().union(*targets["test"])) == 99


def test_scaling_is_fitted_on_the_training_part_only(tmp_path):
    values = _csv(tmp_path)
    cfg = DataConfig(name=str(tmp_path / "s.csv"), task="forecasting", window=4)
    ds = load_dataset(cfg)
    prep = prepare(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0), cfg=cfg)
    end = ds.meta["series"]["train_end"]
    assert end == 70
    assert prep.state["series"]["mean"] == pytest.approx([values[:end].mean()])
    assert prep.state["series"]["std"] == pytest.approx([values[:end].std()])
    assert prep.state["target"]["naive_mae"] == pytest.approx(np.abs(np.diff(values[:end])).mean())
    i = prep.indices["test"][0]
    want = (values[i : i + 4] - values[:end].mean()) / values[:end].std()
    np.testing.assert_allclose(prep.x["test"][0, 0], want, rtol=1e-5)


def test_missing_steps_and_empty_cells_are_filled_by_linear_interpolation_and_reported(tmp_path):
    values = _csv(tmp_path, 30, drop=(10, 11), blank=(20,))
    ds = load_dataset(DataConfig(name=str(tmp_path / "s.csv"), task="forecasting", window=3))
    got = ds.values[:, 0]
    assert len(got) == 30  # the dropped days are back on the grid
    np.testing.assert_allclose(got[10], values[9] + (values[12] - values[9]) / 3)
    np.testing.assert_allclose(got[20], (values[19] + values[21]) / 2)
    assert ds.meta["series"]["missing_steps"] == 2 and ds.meta["series"]["empty_cells"] == 1
    assert any("2 missing time steps and 1 empty cell filled by linear interpolation" in n
               for n in ds.meta["notes"])


def test_irregular_rows_move_to_their_nearest_step_and_share_it_by_their_mean():
    df = pd.DataFrame({"year": [2000, 2001, 2002.1, 2003, 2003.2, 2005], "v": [1.0, 2, 3, 4, 6, 8]})
    values, grid, notes = regular_series(df, "year", ["v"], name="x")
    np.testing.assert_allclose(values[:, 0], [1, 2, 3, 5, 6.5, 8])  # 2003 and 2003.2 -> 5; 2004 interpolated
    assert grid["unit"] == "number" and grid["size"] == 1 and grid["merged_rows"] == 1
    assert notes[0].startswith("x: 1 row shares a time step with another row")  # one row: singular
    assert "1 missing time step and 0 empty cells filled" in notes[1]
    assert time_labels(grid, np.array([0, 6])) == ["2000", "2006"]


def test_monthly_dates_step_by_calendar_months():
    df = pd.DataFrame({"d": ["2021-01-31", "2021-02-28", "2021-03-31", "2021-05-31"], "v": [1.0, 2, 3, 5]})
    values, grid, _ = regular_series(df, "d", ["v"], name="x")
    np.testing.assert_allclose(values[:, 0], [1, 2, 3, 4, 5])
    assert (grid["unit"], grid["size"]) == ("months", 1)
    assert time_labels(grid, np.array([5])) == ["2021-06-30"]


@pytest.mark.parametrize("stamps,want", [(["1959Q1", "1959Q2", "1959Q3", "1960Q1"], ["1960Q2", "2009Q4"]),
                                         (["1959-Q1", "1959-Q2", "1959-Q3", "1960-Q1"], ["1960Q2", "2009Q4"]),
                                         (["1959-01", "1959-04", "1959-07", "1960-01"], ["1960-04", "2009-10"])])
def test_forecast_stamps_keep_the_input_style(stamps, want):
    df = pd.DataFrame({"date": stamps, "v": [1.0, 2, 3, 5]})
    values, grid, _ = regular_series(df, "date", ["v"], name="x")
    np.testing.assert_allclose(values[:, 0], [1, 2, 3, 4, 5])  # 1959Q4 was missing: interpolated
    assert (grid["unit"], grid["size"]) == ("months", 3)
    assert time_labels(grid, np.array([5, 203])) == want


def test_an_empty_last_value_is_said_to_copy_the_one_before():
    df = pd.DataFrame({"date": ["2009-01-01", "2009-04-01", "2009-07-01"], "v": [1.0, 2.0, None]})
    values, _, notes = regular_series(df, "date", ["v"], name="x")
    assert values[-1, 0] == 2.0
    assert any("0 missing time steps and 1 empty cell filled" in n and "the last step's v copies the value before it" in n for n in notes)


@pytest.mark.parametrize("name,steps,season", [("sunspots", 309, 11), ("sunspots_monthly", 3126, 132),
                                               ("co2", 2284, 52), ("elnino", 732, 12)])
def test_the_embedded_series_load_from_statsmodels_own_files(name, steps, season, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    ds = load_dataset(DataConfig(name=name))
    info = ds.meta["series"]
    assert len(ds.values) == steps and info["season"] == season and ds.task == "forecasting"
    assert len(ds.y) == steps - DataConfig.window - DataConfig.horizon + 1
    if name == "sunspots_monthly":  # the .dat table beside statsmodels' yearly CSV: calendar months
        assert (info["unit"], info["size"]) == ("months", 1) and ds.values[0, 0] == 58.0 and ds.values[-1, 0] == 2.6
        yearly = load_dataset(DataConfig(name="sunspots")).values[49:-1, 0]  # 1749-2007
        monthly = ds.values[: 12 * len(yearly), 0].reshape(-1, 12).mean(1)
        assert np.abs(monthly - yearly).max() < 1.0  # the yearly numbers are the months' means
    if name == "co2":  # weekly, with gaps filled and said
        assert info["empty_cells"] == 59 and info["unit"] == "days" and info["size"] == 7
        assert any("59 empty cells filled" in n for n in ds.meta["notes"])
    else:
        assert info["missing_steps"] == info["empty_cells"] == 0


def test_a_split_that_leaves_no_validation_window_names_the_fix(tmp_path):
    _csv(tmp_path, 40)
    ds = load_dataset(DataConfig(name=str(tmp_path / "s.csv"), task="forecasting", window=3, horizon=8))
    with pytest.raises(Exception, match="shorter than data.horizon=8"):
        chronological_split(ds, val_fraction=0.15, test_fraction=0.15, seed=0)


def test_columns_and_drop_choose_the_extra_input_channels(tmp_path):
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=40, freq="D").strftime("%Y-%m-%d"),
                       "units": np.arange(40.0), "price": np.ones(40), "promo": np.zeros(40)})
    df.to_csv(tmp_path / "s.csv", index=False)
    base = DataConfig(name=str(tmp_path / "s.csv"), task="forecasting", target="units", window=4)
    channels = {k: load_dataset(DataConfig(**{**base.__dict__, **v})).columns
                for k, v in {"all": {}, "columns": {"columns": ["promo"]}, "drop": {"drop": ["price"]},
                             "none": {"columns": []}}.items()}
    assert channels == {"all": ["units", "price", "promo"], "columns": ["units", "promo"],
                        "drop": ["units", "promo"], "none": ["units"]}
