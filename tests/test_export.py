"""`idealfit export`: onnxruntime runs the exported graph and gives `idealfit predict`'s numbers, for a tiny
run of every model family, at any batch size; bad input gets one error line and loses nothing."""

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import idealfit as fit
from idealfit.cli import main

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _digits(n=200):
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images[:n, None].astype(np.float32) / 16, d.target[:n]


def _data(family, rng):
    """(x, y, task) of a tiny data set for `family`."""
    if family in ("cnn", "autoencoder"):
        x, y = _digits()
        return x, y, "classification" if family == "cnn" else "reconstruction"
    if family == "mlp":  # a table whose target has its own units (mean 50, std ~20): de-standardizing matters
        x = rng.normal(size=(80, 3)).astype(np.float32)
        return x, (x @ np.array([10.0, -5.0, 3.0]) * 2 + 50).astype(np.float32), "regression"
    side = 32 if family == "pix2pix" else 12  # pix2pix: room for the PatchGAN's stride-2 layers
    x = rng.random((40, 3, side, side)).astype(np.float32)
    if family == "pix2pix":
        return x, 1 - x[:, ::-1].copy(), "translation"
    return x, np.where(x[:, 0] > 0.7, 1, np.where(x[:, 1] > 0.7, 2, 0)).astype(np.int64), "segmentation"


FAMILIES = ["cnn", "mlp", "unet", "autoencoder", "pix2pix"]
TINY = {"cnn": {"model.widths": [4, 8]}, "mlp": {"model.hidden": [8]}, "unet": {"model.widths": [4, 8]},
        "autoencoder": {"model.widths": [4, 8], "model.latent": 4}, "pix2pix": {"model.widths": [4, 8], "model.d_width": 4}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One 1-epoch run per family, with raw inputs saved as an NPZ for predict: {family: (run, npz)}."""
    root = tmp_path_factory.mktemp("export")
    out = {}
    for family in FAMILIES:
        x, y, task = _data(family, np.random.default_rng(0))
        run = fit.train(data=(x, y), model=family, epochs=1, out=root / family, verbose=False,
                        set={"train.batch_size": 32, "train.progress": False, "data.task": task, **TINY[family]})
        np.savez(root / f"{family}-inputs.npz", x=x[:5])
        out[family] = (run, root / f"{family}-inputs.npz")
    return out


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("family", FAMILIES)
def test_onnxruntime_gives_predicts_numbers_at_batch_1_and_5(runs, family, tmp_path):
    run, npz = runs[family]
    res = run.export_onnx(tmp_path / "m.onnx", echo=lambda s: None)
    whole = run.task in ("segmentation", "translation")  # a U-Net: the graph takes any height and width
    assert res.max_abs_diff < 1e-5
    side = run.state["input_shape"][-1]
    assert res.checked_on.endswith(f" and 2 of them resized to {side + 5}×{3 * side // 4 + 1}" if whole else "test samples")
    spec = json.loads((tmp_path / "m.onnx.json").read_text())
    shape = [run.state["input_shape"][0], "height", "width"] if whole else run.state["input_shape"]
    assert spec["input"]["shape"] == ["batch", *shape]
    session = _session(tmp_path / "m.onnx")
    assert [o.name for o in session.get_outputs()] == list(spec["outputs"])
    x = run.load_inputs(npz).numpy()  # model-ready: the run's preprocessing applied outside the graph
    _, want = run.predict(npz)  # what `idealfit predict` computes
    for batch in (x[:1], x):  # one sample, then five: the batch dimension is dynamic
        got = session.run(None, {"x": batch})[0]
        if run.task == "segmentation":
            np.testing.assert_array_equal(got, want[: len(batch)])
        else:
            np.testing.assert_allclose(got, want[: len(batch)], rtol=1e-5, atol=1e-5)
    noise = np.random.default_rng(1).standard_normal((5, *run.state["input_shape"])).astype(np.float32)
    got, want_noise = session.run(None, {"x": noise})[0], run._predict_ready(noise)  # any model-ready input
    np.testing.assert_allclose(got, want_noise, rtol=1e-5, atol=1e-5)
    if whole:  # another size, as predict feeds a whole image: odd sides, so the U-Net pads and crops back
        other = np.random.default_rng(2).standard_normal((2, shape[0], 13, 21)).astype(np.float32)
        got = session.run(None, {"x": other})[0]
        assert got.shape[-2:] == (13, 21)
        np.testing.assert_allclose(got, run._predict_ready(other), rtol=1e-5, atol=1e-5)
    if run.task == "segmentation":
        probs = session.run(["probabilities"], {"x": x})[0]  # (N, K, H, W), sums to 1 over the classes
        np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
        np.testing.assert_array_equal(probs.argmax(1), want)


def test_classification_matches_the_predict_csv(runs, tmp_path, capsys):
    run, npz = runs["cnn"]
    assert main(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "max abs difference" in capsys.readouterr().out
    assert main(["predict", str(run.dir), str(npz), "--out", str(tmp_path / "p.csv")]) == 0
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    printed = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    probs = _session(tmp_path / "m.onnx").run(None, {"x": run.load_inputs(npz).numpy()})[0]
    np.testing.assert_allclose(probs, printed, atol=1e-6)  # the CSV has 6 decimals
    spec = json.loads((tmp_path / "m.onnx.json").read_text())
    assert spec["class_names"] == run.class_names == [r.removeprefix("p_") for r in rows[0][2:]]


def test_regression_values_are_in_the_targets_units(runs, tmp_path, capsys):
    run, npz = runs["mlp"]
    assert main(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")]) == 0
    capsys.readouterr()
    assert main(["predict", str(run.dir), str(npz)]) == 0
    printed = np.array([float(r[1]) for r in list(csv.reader(capsys.readouterr().out.splitlines()))[1:]])
    values = _session(tmp_path / "m.onnx").run(None, {"x": run.load_inputs(npz).numpy()})[0]
    assert values.shape == (5,) and abs(values.mean()) > 5  # not the standardized outputs (mean ~0)
    np.testing.assert_allclose(values, printed, rtol=1e-5)
    steps = json.loads((tmp_path / "m.onnx.json").read_text())["preprocessing"]
    assert "x0, x1, x2" in steps[0] and "transform_inputs" in steps[1]


def test_segmentation_masks_match_the_predicted_pngs(runs, tmp_path, capsys):
    run, npz = runs["unet"]
    assert main(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert main(["predict", str(run.dir), str(npz), "--out", str(tmp_path / "masks")]) == 0
    mask = _session(tmp_path / "m.onnx").run(["mask"], {"x": run.load_inputs(npz).numpy()})[0]
    names = ["unet-inputs"] + [f"unet-inputs-{i}" for i in range(2, 6)]  # predict's file names for x[0] ... x[4]
    for name, m in zip(names, mask, strict=True):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "masks" / f"{name}.png")), m)


def test_a_graph_that_disagrees_with_predict_is_our_bug_and_nothing_is_written(runs, tmp_path, monkeypatch):
    from idealfit import export

    run, _ = runs["mlp"]
    target = tmp_path / "m.onnx"
    target.write_bytes(b"an earlier export")
    forward = export.ServedModel.forward
    monkeypatch.setattr(export.ServedModel, "forward", lambda self, x: forward(self, x) + 0.01)
    with pytest.raises(RuntimeError, match="differs from predict"):
        export.export_onnx(run.dir, target)
    assert target.read_bytes() == b"an earlier export" and not (tmp_path / "m.onnx.json").exists()


def test_without_its_data_the_check_runs_on_random_inputs(runs, tmp_path, monkeypatch):
    from idealfit.data import inputs
    from idealfit.errors import UserError

    def gone(*a, **k):
        raise UserError("this run's source x.npz no longer exists; put it back")

    monkeypatch.setattr(inputs, "load_eval_dataset", gone)
    res = fit.load_run(runs["mlp"][0].dir).export_onnx(tmp_path / "m.onnx", echo=lambda s: None)
    assert res.checked_on == "8 random inputs (this run's source x.npz no longer exists)"


def test_bad_input_gets_one_line_and_loses_nothing(runs, tmp_path, cli_error):
    run, _ = runs["mlp"]
    weights = (run.dir / "model.safetensors").read_bytes()
    cli_error(["export", str(tmp_path), "--onnx", str(tmp_path / "m.onnx")], "not an idealfit run folder")
    cli_error(["export", str(run.dir), "--onnx", str(tmp_path)], "is a folder", "model.onnx")
    cli_error(["export", str(run.dir), "--onnx", str(tmp_path / "no" / "m.onnx")], "does not exist")
    cli_error(["export", str(run.dir), "--onnx", str(run.dir / "model.safetensors")], "overwrite a file of the run")
    assert (run.dir / "model.safetensors").read_bytes() == weights
    (tmp_path / "m.onnx.json").mkdir()
    cli_error(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")], "m.onnx.json is a folder")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run.dir, unfinished)
    (unfinished / "model.safetensors").unlink()
    cli_error(["export", str(unfinished), "--onnx", str(tmp_path / "u.onnx")], "no finished model", "--resume")
    interrupted = tmp_path / "interrupted"
    shutil.copytree(run.dir, interrupted)
    summary = json.loads((interrupted / "summary.json").read_text())
    (interrupted / "summary.json").write_text(json.dumps({**summary, "interrupted": True}))
    cli_error(["export", str(interrupted), "--onnx", str(tmp_path / "i.onnx")], "was interrupted", "--resume")
    assert not list(tmp_path.glob("*.onnx"))


def test_missing_packages_name_the_extra(runs, tmp_path, monkeypatch, cli_error):
    import importlib.util

    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else find(name, *a))
    cli_error(["export", str(runs["mlp"][0].dir), "--onnx", str(tmp_path / "m.onnx")],
              "needs onnxscript", "pip install idealfit[export]")
    assert not (tmp_path / "m.onnx").exists()


def test_the_library_imports_without_the_export_packages():
    import subprocess
    import sys

    code = ("import sys; sys.modules.update(onnx=None, onnxruntime=None, onnxscript=None)\n"
            "import idealfit, idealfit.export, idealfit.cli; idealfit.Run; idealfit.cli.build_parser()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_spec_lists_the_preprocessing_the_run_used():
    from idealfit.export import preprocessing_steps

    table = {"kind": "table", "columns": ["age", "city"], "norm": None,
             "table": {"columns": ["age", "city"], "categorical": [1], "clip": [[0, 1]], "pca": {"components": []},
                       "options": {"impute": "median", "missing_indicator": True, "clip_quantiles": [0.01, 0.99],
                                   "scale": "minmax"}}}
    steps = preprocessing_steps(table)
    assert steps[0] == "take the cells of the columns age, city in that order"
    for part in ("clip to the training quantiles [0.01, 0.99]", "fill missing values (median)",
                 "missing-value indicators", "scale (minmax)", "one-hot encode city", "PCA"):
        assert part in steps[1]
    image = {"kind": "image", "norm": None, "reconstruction": {}, "meta": {"resize": "pad", "pixel_range": [0, 255]},
             "array": {"raw_shape": [1, 28, 28], "options": {"downsample": 2}, "pca": None}}
    steps = preprocessing_steps(image)
    assert "pad: scale the long side to 28" in steps[0] and "(C, H, W) = 1×28×28, then x * 255 (to [0, 255])" in steps[0]
    assert "im.convert('L')" in steps[0]
    image["meta"]["pixel_range"] = [-1, 1]  # the embedded xo images' range
    assert "then x * 2 - 1 (to [-1, 1])" in preprocessing_steps(image)[0]
    assert steps[1:] == ["average-pool each side by 2", "standardize per channel with preprocess.json 'target' mean and std"]
    npz = {"kind": "signal", "norm": {"mean": [0], "std": [1]}, "meta": {},
           "array": {"raw_shape": [2, 40], "options": {"downsample": 1}, "pca": None}}
    assert preprocessing_steps(npz) == ["signals as (C, L) = 2×40 float32 arrays in the training data's units",
                                        "nothing else: the per-channel standardization is inside the graph"]


def test_the_spec_names_the_rule_predict_scales_other_sizes_by():
    from idealfit.data.whole import other_sizes_note, scaled_size

    state = {"meta": {"resize": "crop", "image_size": 64}, "input_shape": [3, 64, 64]}
    note = other_sizes_note(state, "segmentation", least_side=4)
    assert "any height and width of at least 4 (x is (batch, C, height, width); training used 64×64)" in note
    assert "data.resize=crop" in note
    rule = "with m = min(W, H), w = round(W * (64 / m)) and h = round(H * (64 / m))"
    assert rule in note and "nearest-neighbour" in note and "min(floor((r + 0.5) * h / H), h - 1)" in note
    W, H = 384, 303  # the README's photo: the rule as written gives what predict computes
    m = min(W, H)
    assert (round(W * (64 / m)), round(H * (64 / m))) == scaled_size(W, H, size=64, resize="crop") == (81, 64)
    state["meta"]["resize"] = "pad"
    assert "the longer side becomes 64: with m = max(W, H)" in other_sizes_note(state, "translation")
    assert "bilinearly" in other_sizes_note(state, "translation")
    state["meta"] = {}  # a run from before data.resize: squash, as predict reads it
    assert "squashed to w = h = 64, as in training" in other_sizes_note(state, "segmentation")
