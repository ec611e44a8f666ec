"""Forecasting: metrics and baselines by hand, a run on a CSV end to end, predict, and bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import idealfit as fit
from idealfit.cli import main
from idealfit.config import DataConfig
from idealfit.data.prepare import load_dataset
from idealfit.data.series import make_windows
from idealfit.tasks import get_task
from idealfit.tasks.forecasting import baseline_forecasts, scores
from idealfit.train.meter import Meter

FAST = {"train.progress": False, "train.epochs": 3, "model.hidden": [8]}


def write_csv(path, n=120, *, season=6, gaps=(), extra=False):
    """A seasonal series with a trend, monthly dates from 2000-01; `gaps`: row numbers left out."""
    import pandas as pd

    t = np.arange(n)
    units = 10 + 0.05 * t + 3 * np.sin(2 * np.pi * t / season)
    df = pd.DataFrame({"month": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                       "units": units.round(4)})
    if extra:
        df["price"] = np.cos(t / 5).round(4)
    df.drop(index=list(gaps)).to_csv(path, index=False)
    return units


def test_mase_smape_and_mae_per_step_by_hand():
    y_true = np.array([[2.0, 4.0], [0.0, 5.0]])
    y_pred = np.array([[1.0, 4.0], [0.0, 7.0]])
    s = scores(y_true, y_pred, naive_mae=0.5)
    assert s["mae"] == pytest.approx((1 + 0 + 0 + 2) / 4)
    assert s["rmse"] == pytest.approx(np.sqrt((1 + 0 + 0 + 4) / 4))
    # 200·|e|/(|y|+|ŷ|): 200/3, 0, 0 (both 0), 400/12
    assert s["smape"] == pytest.approx((200 / 3 + 0 + 0 + 400 / 12) / 4)
    assert s["mase"] == pytest.approx(0.75 / 0.5)
    assert s["mae_per_step"] == pytest.approx([0.5, 1.0])


def test_the_task_metrics_match_scores_in_data_units():
    task = get_task("forecasting")
    state = {"mean": 10.0, "std": 2.0, "horizon": 2, "naive_mae": 1.5}
    g = torch.Generator().manual_seed(0)
    out, y = torch.randn(7, 2, generator=g), torch.randn(7, 2, generator=g)
    meter = Meter()
    meter.add(task.stats(out, y, task.loss(out, y)))
    got = task.finish(meter.sums(), state)
    want = scores(task.decode(y, state), task.decode(out, state), naive_mae=1.5)
    for k in ("mae", "rmse", "mase", "mae_per_step"):
        assert got[k] == pytest.approx(want[k]), k


def short_series(values, *, window, horizon, season):
    v = np.asarray(values, np.float64)[:, None]
    grid = {"kind": "number", "start": 0.0, "unit": "number", "size": 1.0, "steps": len(v)}
    return make_windows("s", v, grid, columns=["y"], time_column="t", window=window, horizon=horizon, season=season)


def test_the_three_baselines_by_hand():
    ds = short_series([1, 3, 2, 5, 4, 6, 8, 7, 9, 12], window=3, horizon=2, season=2)
    idx = np.arange(len(ds.y))  # samples 0..5: windows [0,3) ... targets at steps 3..9
    pred = baseline_forecasts(ds, {"train": idx, "val": idx, "test": idx})
    # sample 2 sees steps 2,3,4 (2, 5, 4): naive 4, 4; seasonal (m = 2): step 5 <- step 3 (5), step 6 <- step 4 (4)
    np.testing.assert_allclose(pred["naive"]["test"][2], [4, 4])
    np.testing.assert_allclose(pred["seasonal_naive"]["test"][2], [5, 4])
    # the AR baseline is least squares on [window, 1] -> each step, as numpy's lstsq computes it
    x = np.c_[ds.x[:, 0], np.ones(len(idx))]
    coef = np.linalg.lstsq(x, ds.y, rcond=None)[0]
    np.testing.assert_allclose(pred["ar"]["test"], x @ coef, rtol=1e-9)


def test_seasonal_naive_falls_back_to_the_last_value_before_the_series_starts():
    ds = short_series(np.arange(12.0), window=2, horizon=1, season=4)
    idx = np.arange(len(ds.y))
    pred = baseline_forecasts(ds, {"train": idx, "val": idx, "test": idx})["seasonal_naive"]["test"][:, 0]
    # sample 0: origin step 1, one season before step 2 is step -2 (none): the last value, 1
    assert pred[0] == 1 and pred[3] == 1  # sample 3: origin 4, step 5 <- step 1


def test_a_season_of_one_step_lists_the_naive_forecast_once():
    """With data.season=1 (yearly data, or a step with no season) the seasonal naive forecast is the naive one:
    it is not listed twice (once under another name), and the naive entry says it stands for both."""
    from idealfit.tasks.forecasting import forecast_baselines

    values = [1, 3, 2, 5, 4, 6, 8, 7, 9, 12]
    idx = np.arange(6)
    one = forecast_baselines(short_series(values, window=3, horizon=2, season=1), {s: idx for s in ("train", "val", "test")},
                             naive_mae=1.0)
    assert list(one) == ["naive", "ar"]
    assert one["naive"]["note"].endswith("(data.season=1: also the seasonal naive forecast)")
    two = forecast_baselines(short_series(values, window=3, horizon=2, season=2), {s: idx for s in ("train", "val", "test")},
                             naive_mae=1.0)
    assert list(two) == ["naive", "seasonal_naive", "ar"] and two["naive"]["note"] == "the last value seen, for every step ahead"
    assert one["naive"]["test"] == two["naive"]["test"] and one["ar"]["test"] == two["ar"]["test"]


@pytest.mark.parametrize("family", ["mlp", "cnn", "rnn"])  # dense on the window, 1-D convolution, a GRU over it
def test_a_csv_run_trains_reloads_and_scores_its_own_test_split_again(tmp_path, family):
    write_csv(tmp_path / "sales.csv", extra=True)
    sizes = {"cnn": {"model.widths": [4, 8]}, "rnn": {"model.hidden_size": 8, "model.layers": 1}}.get(family, {})
    run = fit.train(data=str(tmp_path / "sales.csv"), target="units", task="forecasting", out=tmp_path / "run",
                    model=family, verbose=False, set={**FAST, **sizes, "data.window": 8, "data.horizon": 3})
    s = run.summary
    assert s["task"] == "forecasting" and s["metric"] == "mae" and s["model"] == family
    assert run.state["input_shape"] == [2, 8]  # units and price, 8 steps each
    for name in ("naive", "seasonal_naive", "ar"):
        assert {"mae", "rmse", "smape", "mase"} <= set(s["baselines"][name]["test"])
    assert len(s["metrics"]["test"]["mae_per_step"]) == 3 and "smape" in s["metrics"]["test"]
    assert s["baselines"]["seasonal_naive"]["note"].endswith("(data.season=12 steps) before")  # monthly
    # the AR baseline on a noiseless sine plus trend is near exact
    assert s["baselines"]["ar"]["test"]["mae"] < 1e-3
    again = fit.load_run(run.dir)
    test = np.load(run.dir / "split.npz")["test"]
    ds = load_dataset(again.config.data)
    np.testing.assert_allclose(again.predict_array(ds.x[test]), np.load(run.dir / "predictions.npz")["y_pred"],
                               rtol=1e-4, atol=1e-4)
    scored = again.evaluate()  # smape (from each window) too
    assert set(scored) == set(s["metrics"]["test"])
    for key, value in s["metrics"]["test"].items():
        assert scored[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert (run.dir / "forecast.png").is_file() and (run.dir / "forecast_steps.png").is_file()
    html = (run.dir / "report.html").read_text()
    assert "Forecasts" in html and "Confusion matrix" not in html and "linear autoregressive model" in html
    assert "test mae, 95% interval" in html and "resamples of the test windows" in html


def test_predict_forecasts_the_next_horizon_values_after_the_history(tmp_path, capsys):
    write_csv(tmp_path / "sales.csv")
    run = fit.train(data=str(tmp_path / "sales.csv"), task="forecasting", out=tmp_path / "run", verbose=False,
                    set={**FAST, "data.window": 6, "data.horizon": 2})
    import pandas as pd

    recent = pd.read_csv(tmp_path / "sales.csv").tail(10)
    recent.to_csv(tmp_path / "recent.csv", index=False)
    assert main(["predict", str(run.dir), str(tmp_path / "recent.csv")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "month,steps_ahead,predicted_units"  # the input's own time column name
    assert [ln.split(",")[:2] for ln in lines[1:]] == [["2010-01-01", "1"], ["2010-02-01", "2"]]  # after 2009-12
    # the same numbers as the model on the last window, through the run's scaling
    x = recent["units"].to_numpy(np.float32)[-6:][None, None]
    want = run.predict_array(x)[0]
    np.testing.assert_allclose([float(ln.split(",")[2]) for ln in lines[1:]], want, rtol=1e-4)
    times, values = run.predict(tmp_path / "recent.csv")  # the Python API: the same forecasts
    assert times == ["2010-01-01", "2010-02-01"] and values == pytest.approx(want, rel=1e-4)
    assert main(["evaluate", str(run.dir)]) == 0
    assert "mae_per_step" in capsys.readouterr().out
    recent.tail(3).to_csv(tmp_path / "short.csv", index=False)
    assert main(["predict", str(run.dir), str(tmp_path / "short.csv")]) == 2
    assert "forecasts from the last 6 (data.window)" in capsys.readouterr().err


def test_the_python_api_forecasts_from_a_history_frame_or_array(tmp_path):
    import pandas as pd

    write_csv(tmp_path / "sales.csv", extra=True)
    run = fit.train(data=str(tmp_path / "sales.csv"), target="units", task="forecasting", out=tmp_path / "run",
                    verbose=False, set={**FAST, "data.window": 6, "data.horizon": 2})
    recent = pd.read_csv(tmp_path / "sales.csv").tail(30)
    want = run.predict_array(recent[["units", "price"]].to_numpy(np.float32)[-6:].T[None])[0]  # one window
    # the frame as trained on (its time column 'month' too), the value columns alone, an array (T, C)
    np.testing.assert_allclose(run.predict_array(recent), want, rtol=1e-5)
    np.testing.assert_allclose(run.predict_array(recent[["price", "units"]]), want, rtol=1e-5)  # by name
    np.testing.assert_allclose(run.predict_array(recent[["units", "price"]].to_numpy()), want, rtol=1e-5)
    times, values = run.predict(recent)  # predict takes the frame as it takes the CSV
    assert times == ["2010-01-01", "2010-02-01"] and values == pytest.approx(want, rel=1e-5)
    with pytest.raises(fit.UserError, match="time column 'month'.*predict_array"):
        run.predict(recent[["units", "price"]])
    with pytest.raises(fit.UserError, match="as numbers.*DataFrame to give the time column 'month'"):
        run.predict_array(recent.to_numpy())  # the dates as strings in an array
    with pytest.raises(fit.UserError, match=r"history of shape \(T, 2\).*got shape \(30, 3\)"):
        run.predict_array(np.c_[recent[["units", "price"]].to_numpy(), np.ones(30)])
    with pytest.raises(fit.UserError, match="holds 4 time steps; this run forecasts from the last 6"):
        run.predict_array(recent.tail(4))
    with pytest.raises(fit.UserError, match="lacks column 'price'"):
        run.predict_array(recent[["month", "units"]])


def test_predict_names_the_runs_time_column_stamps_quarters_and_says_what_it_filled(tmp_path, capsys, cli_error):
    import pandas as pd

    write_csv(tmp_path / "m.csv")
    df = pd.read_csv(tmp_path / "m.csv")
    quarters = pd.PeriodIndex(pd.to_datetime(df["month"]), freq="Q")  # one row per quarter: 2000Q1 ...
    df = df.assign(month=[str(q) for q in pd.period_range("2000Q1", periods=len(df), freq="Q")])
    assert str(quarters[0]) == "2000Q1"
    df.to_csv(tmp_path / "q.csv", index=False)
    run = fit.train(data=str(tmp_path / "q.csv"), task="forecasting", out=tmp_path / "run", verbose=False,
                    set={**FAST, "data.window": 4})
    recent = df.tail(8)
    recent.drop(columns="month").to_csv(tmp_path / "nodate.csv", index=False)
    cli_error(["predict", str(run.dir), str(tmp_path / "nodate.csv")],
              "no column 'month', the time column this run was trained on", "add it")
    recent.drop(index=recent.index[-3]).assign(units=[*recent["units"][:-2], None]).to_csv(tmp_path / "r.csv",
                                                                                          index=False)
    assert main(["predict", str(run.dir), str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[1].startswith("2030Q1,1,")  # after 2029Q4, in the input's style
    assert "1 missing time step and 1 empty cell filled" in out.err and "last step's units copies" in out.err


@pytest.mark.parametrize("case,needles", [
    ("no_time", ("has no time column", "data.time_column")),
    ("text_target", ("not numeric", "--target")),
    ("long_window", ("longer than the training part", "lower data.window")),
])
def test_bad_input_is_one_clear_line(tmp_path, cli_error, case, needles):
    import pandas as pd

    path = tmp_path / "s.csv"
    write_csv(path)
    df = pd.read_csv(path)
    args = ["--target", "units"]
    if case == "no_time":
        df.rename(columns={"month": "label"}).assign(label=[f"r{i}" for i in range(len(df))]).to_csv(path, index=False)
    elif case == "text_target":
        df.assign(units=[f"{v:.1f} pcs" for v in df["units"]]).to_csv(path, index=False)
    else:
        args += ["--set", "data.window=100"]
    out = tmp_path / "run"
    cli_error(["train", "--data", str(path), "--task", "forecasting", *args, "--out", str(out)], *needles)
    assert not out.exists()


def test_a_family_that_cannot_forecast_and_a_task_series_cannot_have_are_refused(tmp_path, cli_error):
    cli_error(["train", "--data", "sunspots", "--model", "unet", "--out", str(tmp_path / "r")],
              "model.name=unet needs", "use model.name=mlp or cnn")
    cli_error(["train", "--data", "sunspots", "--task", "regression", "--out", str(tmp_path / "r")],
              "is a forecasting dataset")


def test_season_and_time_column_are_used(tmp_path):
    import pandas as pd

    units = write_csv(tmp_path / "s.csv", season=6)
    df = pd.read_csv(tmp_path / "s.csv")
    # a second date column first (shuffled dates): only data.time_column=month puts the rows in order
    df.insert(0, "entered", pd.Series(pd.to_datetime(df["month"])).sample(frac=1, random_state=0).dt.strftime("%Y-%m-%d").to_numpy())
    df.to_csv(tmp_path / "s.csv", index=False)
    cfg = DataConfig(name=str(tmp_path / "s.csv"), task="forecasting", window=6, season=6, target="units",
                     time_column="month")
    ds = load_dataset(cfg)
    np.testing.assert_allclose(ds.values[:, 0], units.round(4))
    assert ds.meta["series"]["season"] == 6
    idx = np.arange(len(ds.y))
    seasonal = baseline_forecasts(ds, {"train": idx, "val": idx, "test": idx})["seasonal_naive"]["test"][:, 0]
    np.testing.assert_allclose(seasonal, units.round(4)[:-6][: len(idx)])  # one season (6 steps) before
    assert not np.allclose(load_dataset(replace(cfg, time_column=None)).values[:, 0], units.round(4))


@pytest.mark.parametrize("name,family,extra", [("auto", "mlp", True), ("cnn", "cnn", True), ("auto", "mlp", False),
                                               ("rnn", "rnn", True)])
def test_the_default_mlp_cnn_and_rnn_start_exactly_at_the_ar_baseline(tmp_path, name, family, extra):
    from idealfit.config import SERIES_FAMILY_DEFAULTS, RunConfig, resolve
    from idealfit.train.setup import build_setup

    write_csv(tmp_path / "s.csv", extra=extra)  # extra: two channels, the wide path reads the window flattened
    cfg = resolve(overrides={"data.name": str(tmp_path / "s.csv"), "data.task": "forecasting", "data.window": 5,
                             "data.target": "units", "data.horizon": 2, "model.name": name,
                             **{"rnn": {"model.hidden_size": 8}, "cnn": {"model.widths": [4, 8]}}.get(family, {})})
    setup = build_setup(cfg)
    defaults = SERIES_FAMILY_DEFAULTS[family]  # recorded in the resolved config (config.yaml), the rest generic
    lr = defaults.get("train.lr", RunConfig().train.lr)
    assert (cfg.model.name, cfg.model.wide, cfg.model.wide_init, cfg.train.lr) == (family, True, "linear", lr)
    assert cfg.model.dropout == defaults.get("model.dropout", 0.0)
    prep, task = setup.prep, get_task("forecasting")
    ar = baseline_forecasts(prep.dataset, prep.indices)["ar"]
    for split in ("train", "val", "test"):  # the untrained network's forecasts, in the data's units, are AR's
        with torch.no_grad():
            out = setup.model.eval()(torch.from_numpy(prep.x[split]))
        np.testing.assert_allclose(task.decode(out, prep.state["target"]), ar[split], rtol=1e-5, atol=1e-4)


def test_early_stopping_keeps_the_ar_start_when_no_epoch_beats_it(tmp_path):
    write_csv(tmp_path / "s.csv", extra=True)
    # a learning rate far too high: every epoch is worse than the start, which must stay (best epoch 0)
    run = fit.train(data=str(tmp_path / "s.csv"), task="forecasting", target="units", out=tmp_path / "run",
                    verbose=False, set={**FAST, "data.window": 5, "train.lr": 5.0, "train.patience": 2})
    assert run.summary["best_epoch"] == 0
    ar = run.summary["baselines"]["ar"]
    assert run.summary["metrics"]["test"]["mae"] == pytest.approx(ar["test"]["mae"], abs=1e-4)  # AR fits it exactly


def test_the_regularization_study_knows_a_model_for_series():
    from idealfit.study import regularization_variants

    variants = regularization_variants(kind="series", augment=False, subset=1.0, epochs=2, set=None)
    assert variants[0][2]["model.name"] == "mlp" and variants[0][2]["model.hidden"] == [512, 512]


def test_a_random_walk_the_network_cannot_beat_is_said_so_in_verdict_summary_and_report(tmp_path):
    """A random walk's best forecast is the last value: the network (its AR start kept) loses to it on validation
    and test, and neither the verdict, the printed summary nor the report may call that a good fit."""
    import pandas as pd

    from idealfit.train.session import format_summary

    y = np.cumsum(np.random.default_rng(0).normal(size=120)).round(4)
    pd.DataFrame({"t": np.arange(120), "y": y}).to_csv(tmp_path / "rw.csv", index=False)
    run = fit.train(data=str(tmp_path / "rw.csv"), task="forecasting", out=tmp_path / "run", verbose=False,
                    set={**FAST, "data.window": 5})
    s = run.summary
    naive = s["baselines"]["naive"]
    assert s["metrics"]["val"]["mae"] > naive["val"]["mae"] and s["metrics"]["test"]["mae"] > naive["test"]["mae"]
    assert s["diagnosis"]["verdict"] != "good fit"
    assert any("does not beat the naive forecast" in r for r in s["diagnosis"]["reasons"])
    printed = format_summary(run)
    # numbered steps have no season (data.season=1): the naive forecast is listed once, here and in the report
    assert list(s["baselines"]) == ["naive", "ar"] and "seasonal" not in printed
    assert "  vs naive: on the test steps the network does not beat the naive forecast" in printed
    assert "fits well" not in printed
    assert "On the test steps the network does not beat the naive forecast" in (run.dir / "report.html").read_text()
