"""model.wide_init=linear: the network's first forward pass is scikit-learn's linear baseline."""

import csv

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, RidgeCV

import idealfit as fit
from idealfit.config import ModelConfig, resolve
from idealfit.errors import UserError
from idealfit.models.build import build_model
from idealfit.models.linear_init import init_wide_from_linear
from idealfit.train.setup import build_setup


def _wide(d, out_dim, hidden=(8,)):
    torch.manual_seed(0)
    cfg = ModelConfig(name="mlp", hidden=list(hidden), dropout=0.2, batchnorm=False, wide=True)
    return build_model(cfg, input_shape=(d,), out_dim=out_dim).eval()


@pytest.mark.parametrize("classes", [2, 3])
def test_classification_starts_at_logistic_regressions_probabilities(classes):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (classes == 3) * (x[:, 2] > 0.8)
    model = _wide(4, classes)
    init_wide_from_linear(model, x, y, task="classification", threads=1)
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(x.astype(np.float64), y).predict_proba(x.astype(np.float64))
    probs = torch.softmax(model(torch.from_numpy(x)), 1).detach().numpy()
    np.testing.assert_allclose(probs, ref, atol=1e-5)
    assert not model[-1].deep[-1].weight.detach().any()  # the deep head starts at 0


def test_regression_starts_at_ridge_and_no_hidden_layer_works():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=50)
    ref = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(x.astype(np.float64), y).predict(x.astype(np.float64))
    for hidden in ((8,), ()):
        model = _wide(3, 1, hidden)
        init_wide_from_linear(model, x, y, task="regression")
        np.testing.assert_allclose(model(torch.from_numpy(x))[:, 0].detach().numpy(), ref, atol=1e-4)


def test_a_class_missing_from_training_starts_least_likely():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)  # classes 0 and 1 seen; the network has a third output
    model = _wide(2, 3)
    init_wide_from_linear(model, x, y, task="classification")
    probs = torch.softmax(model(torch.from_numpy(x)), 1).detach().numpy()
    assert probs[:, 2].max() < 1e-3
    with pytest.raises(UserError, match="one class only"):
        init_wide_from_linear(_wide(2, 2), x, np.zeros(40, dtype=int), task="classification")


def _csv(tmp_path, n=80):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    rows = [["a", "b", "c", "y"]] + [[*map("{:.3f}".format, r), "hi" if r[0] + r[1] > 0 else "lo"] for r in x]
    with open(tmp_path / "t.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(tmp_path / "t.csv")


def _setup(path, **sets):
    return build_setup(resolve(overrides={"data.name": path, "data.target": "y", "train.threads": "1", **sets}))


def test_the_option_sets_the_runs_starting_weights(tmp_path):
    path = _csv(tmp_path)
    linear = _setup(path, **{"model.wide": "true", "model.wide_init": "linear"})
    random = _setup(path, **{"model.wide": "true", "model.wide_init": "random"})  # linear is the table default
    prep = linear.prep
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(prep.x["train"].astype(np.float64), prep.y["train"])
    x = torch.from_numpy(prep.x["test"])
    for setup, same in ((linear, True), (random, False)):
        probs = torch.softmax(setup.model.eval()(x), 1).detach().numpy()
        assert np.allclose(probs, ref.predict_proba(prep.x["test"].astype(np.float64)), atol=1e-5) == same
    run = fit.train(data=path, target="y", epochs=2, out=tmp_path / "r", verbose=False, progress=False,
                    set={"model.wide": True, "model.wide_init": "linear"})
    assert "wide_init: linear" in (run.dir / "config.yaml").read_text()


@pytest.mark.parametrize("sets, words", [
    ({"model.wide_init": "linear", "model.wide": "false"}, "add model.wide=true"),
    ({"model.wide_init": "ridge", "model.wide": "true"}, "model.wide_init"),
])
def test_wrong_uses_are_refused_before_training(tmp_path, sets, words):
    with pytest.raises(UserError, match=words):
        _setup(_csv(tmp_path), **sets)


def test_images_are_refused():
    with pytest.raises(UserError, match="tables"):
        build_setup(resolve(overrides={"data.name": "xo", "model.name": "mlp", "model.wide": "true",
                                       "model.wide_init": "linear", "train.threads": "1"}))


def test_a_table_run_starts_at_the_linear_fit_by_default_and_records_it(tmp_path):
    """TABLE_DEFAULTS: wide & deep started at the linear baseline (benchmarks/tables.py halved issue 8's misses)."""
    path = _csv(tmp_path)
    setup = _setup(path)
    prep = setup.prep
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(prep.x["train"].astype(np.float64), prep.y["train"])
    probs = torch.softmax(setup.model.eval()(torch.from_numpy(prep.x["test"])), 1).detach().numpy()
    assert np.allclose(probs, ref.predict_proba(prep.x["test"].astype(np.float64)), atol=1e-5)
    run = fit.train(data=path, target="y", epochs=2, out=tmp_path / "r", verbose=False, progress=False)
    text = (run.dir / "config.yaml").read_text()
    assert "wide: true" in text and "wide_init: linear" in text
    cfg = resolve(overrides={"data.name": path, "data.target": "y", "train.threads": "1", "model.wide": "false"})
    build_setup(cfg)  # the user's choice wins over the table default...
    assert cfg.model.wide is False and cfg.model.wide_init == "random"  # ...and the start follows it
