"""data.difference: the network reads the window's differences and forecasts changes, added back to the last value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import idealfit as fit
from idealfit.config import resolve
from idealfit.data.prepare import load_dataset
from idealfit.errors import UserError
from idealfit.models.difference import Differenced
from idealfit.tasks import get_task
from idealfit.train.setup import build_setup


def write_trend(path, n=90):
    """A series that trends far past its training range (a random walk with drift, monthly), and a second column."""
    import pandas as pd

    rng = np.random.default_rng(0)
    level = 100 + np.cumsum(2.0 + rng.normal(size=n))
    pd.DataFrame({"month": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                  "level": level.round(4), "other": rng.normal(size=n).round(4)}).to_csv(path, index=False)


def _setup(path, **sets):
    return build_setup(resolve(overrides={"data.name": str(path), "data.task": "forecasting", "data.target": "level",
                                          "data.window": 6, "data.horizon": 2, "data.difference": True,
                                          "train.threads": "1", **sets}))


def test_changes_added_back_to_the_last_value_give_the_levels_again(tmp_path):
    write_trend(tmp_path / "s.csv")
    setup = _setup(tmp_path / "s.csv")
    core, prep = setup.model[-1], setup.prep
    assert isinstance(core, Differenced)
    ds, idx = prep.dataset, prep.indices["test"]
    change = ds.y[idx].astype(np.float64) - ds.x[idx][:, 0, -1:]  # (N, 2) raw changes from the last value
    train_change = ds.y[prep.indices["train"]] - ds.x[prep.indices["train"]][:, 0, -1:]
    z = (change - train_change.mean(0)) / train_change.std(0)  # what the inner network is to forecast
    x = torch.from_numpy(prep.x["test"])
    out = z * core.scale.numpy() + core.gain.item() * prep.x["test"][:, 0, -1:] + core.shift.numpy()
    levels = get_task("forecasting").decode(torch.as_tensor(out), prep.state["target"])
    np.testing.assert_allclose(levels, ds.y[idx], rtol=1e-5)  # the round trip: changes -> levels
    d = core.differences(x).numpy()  # the inner network's input: each channel's steps, standardized
    raw_steps = np.diff(ds.x[idx].astype(np.float64), axis=2)
    np.testing.assert_allclose(d * core.diff_std.numpy()[:, None] + core.diff_mean.numpy()[:, None],
                               raw_steps / np.asarray(prep.state["series"]["std"])[:, None], atol=1e-5)


@pytest.mark.parametrize("family", ["mlp", "cnn", "rnn"])
def test_the_untrained_network_is_the_ar_fit_on_the_differences(tmp_path, family):
    write_trend(tmp_path / "s.csv")
    sizes = {"cnn": {"model.widths": [4]}, "rnn": {"model.hidden_size": 8, "model.layers": 1}}.get(family, {})
    setup = _setup(tmp_path / "s.csv", **{"model.name": family, **sizes})
    prep = setup.prep
    ds, tr, te = prep.dataset, prep.indices["train"], prep.indices["test"]
    # the reference: least squares of y_(t+h) - y_t on the target's raw steps and an intercept (numpy, float64)
    feats = lambda i: np.c_[np.diff(ds.x[i][:, 0].astype(np.float64), axis=1), np.ones(len(i))]  # noqa: E731
    coef = np.linalg.lstsq(feats(tr), ds.y[tr] - ds.x[tr][:, 0, -1:], rcond=None)[0]
    want = ds.x[te][:, 0, -1:] + feats(te) @ coef
    with torch.no_grad():
        out = setup.model.eval()(torch.from_numpy(prep.x["test"]))
    got = get_task("forecasting").decode(out, prep.state["target"])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    assert np.abs(got - ds.y[te]).mean() < 3.0  # it follows the trend past the training range (steps ~N(2, 1))


def test_a_run_reloads_with_its_differencing_and_predicts_the_same(tmp_path):
    write_trend(tmp_path / "s.csv")
    run = fit.train(data=str(tmp_path / "s.csv"), task="forecasting", target="level", out=tmp_path / "run",
                    verbose=False, set={"train.progress": False, "train.epochs": 2, "model.hidden": [8],
                                        "data.window": 6, "data.difference": True})
    assert run.state["series"]["difference"] is True and "difference: true" in (run.dir / "config.yaml").read_text()
    again = fit.load_run(run.dir)
    assert isinstance(again.model[-1], Differenced)
    test = np.load(run.dir / "split.npz")["test"]
    ds = load_dataset(again.config.data)
    np.testing.assert_allclose(again.predict_array(ds.x[test]), np.load(run.dir / "predictions.npz")["y_pred"],
                               rtol=1e-5, atol=1e-4)
    assert not any("outside the training range" in r for r in run.summary["diagnosis"]["reasons"])
    levels = fit.train(data=str(tmp_path / "s.csv"), task="forecasting", target="level", out=tmp_path / "levels",
                       verbose=False, set={"train.progress": False, "train.epochs": 2, "model.hidden": [8],
                                           "data.window": 6})
    said = [r for r in levels.summary["diagnosis"]["reasons"] if "outside the training range" in r]
    assert said and said[0].startswith("100% of the validation part's values")  # the drift takes it above them all
    assert "data.difference=true" in levels.summary["diagnosis"]["advice"][0]
    # the baselines stay on the levels: the AR on the raw window, scored against the raw targets
    from idealfit.tasks.forecasting import baseline_forecasts

    split = dict(np.load(run.dir / "split.npz"))
    ar = baseline_forecasts(ds, split)["ar"]["test"]
    assert run.summary["baselines"]["ar"]["test"]["mae"] == pytest.approx(np.abs(ar - ds.y[test]).mean())


@pytest.mark.parametrize("data, sets, words", [
    ("xo", {}, "data.difference forecasts the changes of a time series"),
    (None, {"data.window": 1}, "data.window=1 has none"),
])
def test_wrong_uses_are_refused(tmp_path, data, sets, words):
    if data is None:
        write_trend(tmp_path / "s.csv")
        with pytest.raises(UserError, match=words):
            _setup(tmp_path / "s.csv", **sets)
        return
    with pytest.raises(UserError, match=words):
        build_setup(resolve(overrides={"data.name": data, "data.difference": True, "train.threads": "1"}))
