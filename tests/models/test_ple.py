"""model.num_embedding=ple: the piecewise-linear encoding's numbers by hand, and a table run that fits, saves,
predicts and exports it."""

import csv

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import idealfit as fit
from idealfit.cli import main
from idealfit.config import resolve
from idealfit.errors import UserError
from idealfit.models.ple import PiecewiseLinear, fit_piecewise
from idealfit.train.setup import build_setup


def test_the_encoding_by_hand_at_below_and_above_the_edges():
    enc = PiecewiseLinear(features=1, bins=3)
    enc.fit(torch.tensor([[0.0], [1.0], [2.0], [4.0]]))  # quantiles 0, 1/3, 2/3, 1: training values 0, 1, 2, 4
    np.testing.assert_array_equal(enc.left[0].numpy(), [0, 1, 2])
    np.testing.assert_array_equal(enc.width[0].numpy(), [1, 1, 2])
    x = torch.tensor([[-1.0], [0.0], [0.5], [1.0], [3.0], [4.0], [6.0]])
    want = [[-1, 0, 0],  # below b_0: the first bin goes negative (unclipped on its outer side)
            [0, 0, 0],  # at b_0
            [0.5, 0, 0],  # inside the first bin
            [1, 0, 0],  # at b_1: the first bin full, the second empty
            [1, 1, 0.5],  # inside the last bin: (3 - 2) / (4 - 2)
            [1, 1, 1],  # at b_T
            [1, 1, 2]]  # above b_T: the last bin goes past 1
    np.testing.assert_allclose(enc(x).numpy(), want)


def test_binary_and_constant_columns_get_one_bin_and_none():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=60), rng.integers(0, 2, 60) * 3.0 - 1, np.full(60, 7.0)], 1)
    enc = PiecewiseLinear(features=3, bins=8)
    enc.fit(torch.as_tensor(x))
    assert enc.bin_counts() == [8, 1, 0]  # the binary column's edges are its two values, deduplicated
    out = enc(torch.as_tensor(x, dtype=torch.float32)).view(60, 3, 8).numpy()
    np.testing.assert_allclose(out[:, 1, 0], (x[:, 1] + 1) / 3)  # one bin: (x - min) / (max - min)
    assert not out[:, 1, 1:].any() and not out[:, 2].any()  # unused slots and the constant column stay 0
    edges = np.quantile(x[:, 0], np.linspace(0, 1, 9), method="inverted_cdf")  # training values at 0, 1/8, ..., 1
    np.testing.assert_allclose(enc.left[0].numpy(), edges[:-1], rtol=1e-6)
    np.testing.assert_allclose(enc.width[0].numpy(), np.diff(edges), rtol=1e-5)


def _csv(tmp_path, n=90):
    """A table whose class is a threshold on one column (what boosting finds and a linear model cannot)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    rows = [["a", "b", "flag", "y"]] + [[f"{r[0]:.3f}", f"{r[1]:.3f}", int(r[2] > 0), "hi" if abs(r[0]) > 0.8 else "lo"]
                                        for r in x]
    with open(tmp_path / "t.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(tmp_path / "t.csv")


def _setup(path, **sets):
    return build_setup(resolve(overrides={"data.name": path, "data.target": "y", "train.threads": "1", **sets}))


def test_the_option_puts_fitted_bins_before_the_deep_path_and_keeps_the_linear_start(tmp_path):
    path = _csv(tmp_path)
    plain, ple = _setup(path), _setup(path, **{"model.num_embedding": "ple", "model.ple_bins": "4"})
    assert not [m for m in plain.model.modules() if isinstance(m, PiecewiseLinear)]
    (enc,) = [m for m in ple.model.modules() if isinstance(m, PiecewiseLinear)]
    x = ple.prep.x["train"]
    assert enc.bin_counts() == [4, 4, 1]  # a, b and the 0/1 flag
    np.testing.assert_allclose(enc.left[0].numpy(), np.quantile(x[:, 0], [0, .25, .5, .75], method="inverted_cdf"),
                               rtol=1e-6)  # fitted on the training split as the model sees it
    first = [m for m in ple.model.modules() if isinstance(m, torch.nn.Linear)][0]
    assert first.in_features == 3 * 4  # the deep path reads the encodings
    assert ple.model[-1].wide.in_features == 3  # the wide path the raw features...
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(x.astype(np.float64), ple.prep.y["train"])
    test = ple.prep.x["test"]
    probs = torch.softmax(ple.model.eval()(torch.from_numpy(test)), 1).detach().numpy()
    np.testing.assert_allclose(probs, ref.predict_proba(test.astype(np.float64)), atol=1e-5)  # ...started at the fit


def test_fit_piecewise_sees_what_the_model_feeds_the_encoding():
    from idealfit.config import ModelConfig
    from idealfit.models.build import build_model

    cfg = ModelConfig(name="mlp", hidden=[4], num_embedding="ple", ple_bins=2, wide=False)
    model = build_model(cfg, input_shape=(2,), out_dim=1, norm={"mean": [10.0, 0.0], "std": [2.0, 1.0]})
    x = np.array([[10.0, 0.0], [12.0, 1.0], [14.0, 2.0]], dtype=np.float32)
    assert fit_piecewise(model, x) == 1
    (enc,) = [m for m in model.modules() if isinstance(m, PiecewiseLinear)]
    np.testing.assert_allclose(enc.left[0].numpy(), [0.0, 1.0])  # (x - 10) / 2: after the normalization layer


@pytest.mark.parametrize("paths", ["deep", "both"])  # the encoding inside the deep path, or in WideDeep for both
def test_a_saved_run_predicts_and_exports_the_same_numbers(tmp_path, capsys, paths):
    path = _csv(tmp_path)
    run = fit.train(data=path, target="y", epochs=3, out=tmp_path / "r", verbose=False, progress=False,
                    set={"model.num_embedding": "ple", "model.ple_bins": 4, "model.ple_paths": paths,
                         "train.threads": 1})
    assert "num_embedding: ple" in (run.dir / "config.yaml").read_text()
    loaded = fit.load_run(run.dir)
    (enc,) = [m for m in loaded.model.modules() if isinstance(m, PiecewiseLinear)]
    assert enc.bin_counts() == [4, 4, 1]  # the edges came back with the weights
    x = run.load_inputs(path)
    np.testing.assert_allclose(loaded.model(x).detach().numpy(), run.model.eval()(x).detach().numpy(), atol=1e-6)
    assert main(["predict", str(run.dir), path, "--out", str(tmp_path / "p.csv")]) == 0
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    printed = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(printed, torch.softmax(loaded.model(x), 1).detach().numpy(), atol=1e-6)
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    assert main(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "onnxruntime matches predict" in capsys.readouterr().out
    probs = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(probs, printed, atol=1e-5)


@pytest.mark.parametrize("sets, words", [
    (["model.num_embedding=plee"], "did you mean ple"),
    (["model.num_embedding=ple", "model.ple_bins=1"], "model.ple_bins must be a whole number from 2"),
    (["model.ple_bins=8"], "add model.num_embedding=ple"),
    (["model.num_embedding=ple", "model.ple_paths=wide", "model.wide=false"], "add model.wide=true"),
    (["model.num_embedding=ple", "model.ple_paths=wide", "model.ple_dim=4"], "set model.ple_paths=both"),
    (["model.ple_paths=both"], "add model.num_embedding=ple"),
])
def test_bad_values_get_one_line(tmp_path, cli_error, sets, words):
    argv = ["train", "--data", _csv(tmp_path), "--target", "y", "--epochs", "1", "--out", str(tmp_path / "r")]
    cli_error([*argv, *(a for s in sets for a in ("--set", s))], words)
    assert not (tmp_path / "r").exists()  # refused before the run folder


def test_images_and_other_families_are_refused(tmp_path, cli_error):
    for family in ("auto", "mlp"):  # auto picks a cnn for images: the fix is still to drop the option
        cli_error(["train", "--data", "xo", "--model", family, "--set", "model.num_embedding=ple", "--out",
                   str(tmp_path / "r")], "encodes the numeric columns of a table, and xo is image data")
    with pytest.raises(UserError, match="model.num_embedding is an mlp option, but this run trains an autoencoder"):
        _setup(_csv(tmp_path), **{"data.task": "reconstruction", "model.num_embedding": "ple"})
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("sets, deep_in", [({"model.ple_paths": "wide"}, 3), ({"model.ple_paths": "both"}, 12),
                                           ({"model.ple_paths": "both", "model.ple_dim": "2"}, 6)])
def test_the_wide_path_on_the_bins_still_starts_at_the_linear_fit(tmp_path, sets, deep_in):
    """model.ple_paths=wide|both: the linear baseline's weights mapped onto the bins (models/ple.linear_on_bins) give the
    same probabilities on every row, also outside the training range (the outer bins are unclipped)."""
    setup = _setup(_csv(tmp_path), **{"model.num_embedding": "ple", "model.ple_bins": "4", **sets})
    core, x = setup.model[-1], setup.prep.x["train"]
    assert core.wide.in_features == 3 * 4 and core.encode is not None
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(x.astype(np.float64), setup.prep.y["train"])
    test = np.concatenate([setup.prep.x["test"], 3 * x[:5]]).astype(np.float32)  # and beyond the edges
    probs = torch.softmax(setup.model.eval()(torch.from_numpy(test)), 1).detach().numpy()
    np.testing.assert_allclose(probs, ref.predict_proba(test.astype(np.float64)), atol=1e-5)
    first = [m for m in setup.model.modules() if isinstance(m, torch.nn.Linear)][0]
    assert first.in_features == deep_in  # raw features (wide), bins (both), d numbers per feature (ple_dim)
