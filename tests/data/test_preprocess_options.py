"""The preprocessing options (cleaning, transformation, reduction) against scikit-learn and torch.

Every fit uses train rows with ordinary values and val/test rows with wild ones, so a statistic that
leaked from outside the training split would show in the numbers.
"""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import idealfit as fit
from idealfit.config import DataConfig, resolve
from idealfit.data.base import Dataset
from idealfit.data.embedded import load_digits_data
from idealfit.data.prepare import prepare, raw_input_shape, transform_inputs
from idealfit.data.preprocess import ArrayPreprocessor, TablePreprocessor, avg_pool
from idealfit.errors import UserError
from idealfit.models.blocks import Normalize
from idealfit.models.build import build_model
from idealfit.run import read_inputs

NO_CLIP = {"clip_quantiles": None, "clip_fences": None}  # no clipping at all: the quantiles and the fences off
QUICK = {"train.progress": False, "model.hidden": [16], "model.widths": [8]}


def numeric_table(n=40, f=4, *, seed=0, missing=0.15):
    """(n, f) numbers with NaN holes; rows 30..34 are val, 35..39 test, both far outside train's range."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)) * np.arange(1, f + 1)
    x[:, 1] = np.round(x[:, 1])  # repeated values, so most_frequent has something to find
    x[rng.random((n, f)) < missing] = np.nan
    x[:, 3] = np.where(np.isnan(x[:, 3]), 0.0, x[:, 3])  # one column complete in every split
    x[30:] *= 1000.0
    ds = Dataset("t", x.astype(object), rng.normal(size=n).astype(np.float32), "regression", "table",
                 columns=[f"c{i}" for i in range(f)])
    return ds, {"train": np.arange(30), "val": np.arange(30, 35), "test": np.arange(35, 40)}


def as_float(ds, idx):
    return ds.x[idx].astype(np.float64)


# --- cleaning: missing values ---------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_impute_equals_simple_imputer_fitted_on_train(strategy):
    ds, idx = numeric_table()
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, impute=strategy, scale="none"))
    ref = SimpleImputer(strategy=strategy).fit(as_float(ds, idx["train"]))
    assert prep.state["table"]["fill"] == pytest.approx(ref.statistics_.tolist())
    for s in ("train", "val", "test"):
        np.testing.assert_allclose(prep.x[s], ref.transform(as_float(ds, idx[s])), rtol=1e-6)


def test_impute_strategies_give_different_fills():
    ds, idx = numeric_table()
    fills = {s: prepare(ds, idx, cfg=DataConfig(**NO_CLIP, impute=s)).state["table"]["fill"]
             for s in ("mean", "median", "most_frequent")}
    assert fills["mean"] != fills["median"] != fills["most_frequent"]


def test_drop_removes_exactly_the_rows_with_missing_values_in_every_split():
    ds, idx = numeric_table()
    ds.x[5, 2] = None  # a None cell counts as missing too
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, impute="drop", scale="none"))
    for s in ("train", "val", "test"):
        has_gap = np.array([any(v is None or np.isnan(v) for v in row) for row in ds.x[idx[s]]])
        assert has_gap.any()
        np.testing.assert_array_equal(prep.indices[s], idx[s][~has_gap])
        assert prep.state["dropped_rows"][s] == idx[s][has_gap].tolist()
        np.testing.assert_allclose(prep.x[s], as_float(ds, prep.indices[s]), rtol=1e-6)
        np.testing.assert_allclose(prep.y[s], (ds.y[prep.indices[s]] - prep.state["target"]["mean"])
                                   / prep.state["target"]["std"], rtol=1e-5)
    assert prep.state["table"]["fill"] is None
    assert 5 in prep.state["dropped_rows"]["train"]


def test_drop_refuses_a_row_with_a_missing_value_at_predict_time(tmp_path):
    ds, idx = numeric_table()
    state = json.loads(json.dumps(prepare(ds, idx, cfg=DataConfig(**NO_CLIP, impute="drop")).state))
    good = ds.x[[0]].copy()
    good[0] = [1.0, 2.0, 3.0, 4.0]
    assert transform_inputs(state, good).shape == (1, 4)
    bad = np.array([[1.0, 2.0, np.nan, 4.0]], dtype=object)
    with pytest.raises(UserError, match="row 0 has no value in column 'c2'.*data.impute=drop"):
        transform_inputs(state, bad)
    csv_path = tmp_path / "new.csv"
    csv_path.write_text("c0,c1,c2,c3\n1,2,3,4\n1,,3,4\n")
    with pytest.raises(UserError, match="new.csv:3 has no value in column 'c1'"):
        read_inputs(state, [csv_path])


def test_missing_indicator_equals_simple_imputer_add_indicator():
    ds, idx = numeric_table()
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, impute="median", missing_indicator=True, scale="none"))
    ref = SimpleImputer(strategy="median", add_indicator=True).fit(as_float(ds, idx["train"]))
    assert prep.state["table"]["indicator"] == ref.indicator_.features_.tolist() == [0, 1, 2]  # not c3
    for s in ("train", "val", "test"):
        np.testing.assert_allclose(prep.x[s], ref.transform(as_float(ds, idx[s])), rtol=1e-6)
    pre = TablePreprocessor.from_dict(prep.state["table"])
    assert pre.feature_names() == ["c0", "c1", "c2", "c3", "c0 missing", "c1 missing", "c2 missing"]
    assert prep.input_shape == (7,)


def test_missing_indicator_off_adds_no_columns():
    ds, idx = numeric_table()
    assert prepare(ds, idx, cfg=DataConfig(**NO_CLIP, scale="none")).input_shape == (4,)


# --- cleaning: noise ------------------------------------------------------------------------------


def test_clip_equals_np_clip_with_train_quantiles():
    ds, idx = numeric_table(missing=0.0)
    prep = prepare(ds, idx, cfg=DataConfig(clip_quantiles=[0.1, 0.9], scale="none"))
    train = as_float(ds, idx["train"])
    lo, hi = np.quantile(train, 0.1, axis=0, method="higher"), np.quantile(train, 0.9, axis=0, method="lower")
    for s in ("train", "val", "test"):
        np.testing.assert_allclose(prep.x[s], np.clip(as_float(ds, idx[s]), lo, hi), rtol=1e-6)
    assert np.abs(prep.x["val"]).max() <= np.abs(train).max()  # val's ×1000 outliers are tamed


def test_clip_bounds_are_training_values_so_one_typo_in_100_rows_is_clipped_whole():
    # iris-sized: 100 values and one typo 10^4 too large; numpy's interpolated 0.99 quantile sits 1% of the way to
    # it (~100 here), which left the column squashed to a hundredth of its spread once scaled
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 2.5, size=(100, 1))
    x[7, 0] = 25_000.0
    ds = Dataset("t", x.astype(object), rng.normal(size=100).astype(np.float32), "regression", "table", columns=["w"])
    prep = prepare(ds, {"train": np.arange(100), "val": np.arange(0), "test": np.arange(0)},
                   cfg=DataConfig(clip_quantiles=[0.01, 0.99], scale="none"))
    assert np.quantile(x, 0.99) > 200  # what the clip was before
    assert prep.x["train"].max() == np.float32(np.sort(x[:, 0])[-2]) < 2.5  # the next largest value: the typo clipped whole


def test_clip_comes_before_imputation_and_keeps_gaps_filled():
    ds, idx = numeric_table()
    prep = prepare(ds, idx, cfg=DataConfig(clip_quantiles=[0.2, 0.8], impute="mean", scale="none"))
    train = as_float(ds, idx["train"])
    lo, hi = np.nanquantile(train, 0.2, axis=0, method="higher"), np.nanquantile(train, 0.8, axis=0, method="lower")
    ref = SimpleImputer(strategy="mean").fit(np.clip(train, lo, hi))
    np.testing.assert_allclose(prep.x["val"], ref.transform(np.clip(as_float(ds, idx["val"]), lo, hi)), rtol=1e-6)


# --- transformation -------------------------------------------------------------------------------


def test_table_minmax_equals_min_max_scaler():
    ds, idx = numeric_table(missing=0.0)
    ds.x[:, 0] = 7.0  # a constant column: MinMaxScaler leaves it at 0
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, scale="minmax"))
    ref = MinMaxScaler().fit(as_float(ds, idx["train"]))
    for s in ("train", "val", "test"):
        np.testing.assert_allclose(prep.x[s], ref.transform(as_float(ds, idx[s])), rtol=1e-5, atol=1e-6)
    assert prep.x["train"].min() == 0.0 and prep.x["train"].max() == pytest.approx(1.0)


def test_table_scale_none_keeps_the_values():
    ds, idx = numeric_table(missing=0.0)
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, scale="none"))
    np.testing.assert_allclose(prep.x["val"], as_float(ds, idx["val"]), rtol=1e-6)


def images(n=40, c=2, side=7, *, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, c, side, side)) * np.array([1.0, 3.0][:c])[:, None, None] + np.arange(c)[:, None, None])
    x[30:] += 100.0  # val/test far off: must not move the statistics
    y = (np.arange(n) % 2).astype(np.int64)
    ds = Dataset("imgs", x.astype(np.float32), y, "classification", "image", class_names=["a", "b"])
    return ds, {"train": np.arange(30), "val": np.arange(30, 35), "test": np.arange(35, 40)}


def channels_last(x):  # (N, C, H, W) -> (N·H·W, C): one row per pixel, one column per channel
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def test_image_minmax_is_a_normalize_layer_equal_to_min_max_scaler_per_channel():
    ds, idx = images()
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, scale="minmax"))
    model = build_model(resolve(overrides={"model.name": "cnn"}).model, input_shape=prep.input_shape,
                        out_dim=2, norm=prep.state["norm"])
    assert isinstance(model[0], Normalize)
    ref = MinMaxScaler().fit(channels_last(ds.x[idx["train"]]))
    got = model[0](torch.from_numpy(prep.x["val"])).numpy()
    np.testing.assert_allclose(channels_last(got), ref.transform(channels_last(ds.x[idx["val"]])), rtol=1e-5)


def test_image_standard_is_a_normalize_layer_equal_to_standard_scaler_per_channel():
    ds, idx = images()
    prep = prepare(ds, idx)  # the default: scale=standard
    norm = Normalize(prep.state["norm"]["mean"], prep.state["norm"]["std"])
    ref = StandardScaler().fit(channels_last(ds.x[idx["train"]]))
    got = norm(torch.from_numpy(prep.x["test"])).numpy()
    np.testing.assert_allclose(channels_last(got), ref.transform(channels_last(ds.x[idx["test"]])), rtol=1e-4)


def test_image_scale_none_gives_no_normalize_layer():
    ds, idx = images()
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, scale="none"))
    assert prep.state["norm"] is None
    model = build_model(resolve(overrides={"model.name": "cnn"}).model, input_shape=prep.input_shape,
                        out_dim=2, norm=prep.state["norm"])
    assert not any(isinstance(m, Normalize) for m in model.modules())
    np.testing.assert_array_equal(prep.x["val"], ds.x[idx["val"]])


# --- reduction: PCA -------------------------------------------------------------------------------


def assert_equal_up_to_sign(a, b):
    signs = np.sign((a * b).sum(axis=0))  # per component
    np.testing.assert_allclose(a, b * signs, rtol=1e-4, atol=1e-4)


def test_table_pca_equals_sklearn_pca_on_the_scaled_train_split():
    ds, idx = numeric_table(missing=0.0)
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=2))
    scaler = StandardScaler().fit(as_float(ds, idx["train"]))
    ref = PCA(n_components=2).fit(scaler.transform(as_float(ds, idx["train"])))
    assert prep.input_shape == (2,)
    for s in ("train", "val"):
        assert_equal_up_to_sign(prep.x[s], ref.transform(scaler.transform(as_float(ds, idx[s]))))
    assert set(prep.state["table"]["pca"]) == {"components", "mean"}  # only the fitted numbers
    assert TablePreprocessor.from_dict(prep.state["table"]).feature_names() == ["pc1", "pc2"]


def test_pca_variance_share_picks_the_smallest_k_that_reaches_it():
    ds, idx = numeric_table(missing=0.0, f=6)
    train = StandardScaler().fit_transform(as_float(ds, idx["train"]))
    cum = np.cumsum(PCA().fit(train).explained_variance_ratio_)
    for share in (0.5, 0.8, 0.95):
        k = int(np.argmax(cum >= share)) + 1
        assert prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=share)).input_shape == (k,)
    assert prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=0.5)).input_shape < prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=0.95)).input_shape


def test_pca_with_more_components_than_features_is_refused():
    ds, idx = numeric_table(missing=0.0)
    with pytest.raises(UserError, match=r"data.pca=5 asks for more components.*use data.pca <= 4"):
        prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=5))


def test_image_pca_equals_sklearn_pca_of_the_flattened_pixels():
    ds, idx = images()
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=3, scale="none"))
    flat = {s: ds.x[idx[s]].reshape(len(idx[s]), -1) for s in ("train", "val")}
    ref = PCA(n_components=3).fit(flat["train"])
    assert prep.input_shape == (3,) and prep.state["norm"] is None
    for s in ("train", "val"):
        assert_equal_up_to_sign(prep.x[s], ref.transform(flat[s]))


def test_image_pca_scales_each_channel_before_the_projection():
    ds, idx = images()
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=4))  # scale=standard, applied before PCA
    train = ds.x[idx["train"]]
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True)
    flat = {s: ((ds.x[idx[s]] - mean) / std).reshape(len(idx[s]), -1) for s in ("train", "test")}
    ref = PCA(n_components=4).fit(flat["train"])
    assert prep.state["norm"] is None  # no second normalization in the model
    assert_equal_up_to_sign(prep.x["test"], ref.transform(flat["test"]))


def test_pca_with_a_cnn_is_refused_at_config_time():
    with pytest.raises(UserError, match="data.pca turns images into vectors.*use model.name=mlp"):
        resolve(overrides={"data.pca": 16, "model.name": "cnn"})
    assert resolve(overrides={"data.pca": 16, "model.name": "mlp"}).data.pca == 16


# --- reduction: aggregation -------------------------------------------------------------------------


def test_downsample_equals_torch_avg_pool2d_and_statistics_follow_it():
    ds, idx = images(side=7)  # 7 is not a multiple of 2: the last row and column are cut, as in torch
    prep = prepare(ds, idx, cfg=DataConfig(**NO_CLIP, downsample=2))
    assert prep.input_shape == (2, 3, 3)
    for s in ("train", "val"):
        ref = F.avg_pool2d(torch.from_numpy(ds.x[idx[s]]), 2).numpy()
        np.testing.assert_allclose(prep.x[s], ref, rtol=1e-6)
    pooled = F.avg_pool2d(torch.from_numpy(ds.x[idx["train"]]).double(), 2)
    assert prep.state["norm"]["mean"] == pytest.approx(pooled.mean(dim=(0, 2, 3)).tolist())
    assert raw_input_shape(prep.state) == (2, 7, 7)


def test_downsample_signals_equals_torch_avg_pool1d():
    x = np.random.default_rng(0).normal(size=(6, 2, 11)).astype(np.float32)
    np.testing.assert_allclose(avg_pool(x, 3), F.avg_pool1d(torch.from_numpy(x), 3).numpy(), rtol=1e-6)
    pre = ArrayPreprocessor(downsample=3).fit(x)
    assert pre.output_shape == [2, 3]


def test_downsample_larger_than_the_image_is_refused():
    ds, idx = images(side=7)
    with pytest.raises(UserError, match="data.downsample=8 is larger than the inputs' side of 7"):
        prepare(ds, idx, cfg=DataConfig(**NO_CLIP, downsample=8))


def test_array_preprocessor_round_trips_through_json_and_checks_shapes():
    ds, idx = images()
    pre = ArrayPreprocessor(downsample=2, scale="minmax", pca=2).fit(ds.x[idx["train"]])
    again = ArrayPreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert again.to_dict() == pre.to_dict()
    np.testing.assert_array_equal(again.transform(ds.x), pre.transform(ds.x))
    with pytest.raises(UserError, match=r"shape \(2, 6, 6\); this run expects \(2, 7, 7\)"):
        again.transform(ds.x[:, :, :6, :6])


# --- options that cannot apply stop instead of being ignored ---------------------------------------


@pytest.mark.parametrize("key, value", [("clip_quantiles", [0.05, 0.95]), ("clip_fences", 3.0), ("missing_indicator", True),
                                        ("impute", "drop")])
def test_table_options_on_images_are_refused(key, value):
    ds, idx = images()
    with pytest.raises(UserError, match=f"data.{key} works on tables"):
        prepare(ds, idx, cfg=DataConfig(**{key: value}))


def test_downsample_on_a_table_is_refused():
    ds, idx = numeric_table()
    with pytest.raises(UserError, match="data.downsample works on images and signals"):
        prepare(ds, idx, cfg=DataConfig(**NO_CLIP, downsample=2))


@pytest.mark.parametrize("key, value", [("downsample", 2), ("pca", 4)])
def test_streamed_image_folders_refuse_pooling_and_pca(key, value):
    ds, idx = images()
    ds.paths = [f"img{i}.png" for i in range(len(ds))]
    with pytest.raises(UserError, match=f"data.{key} is not supported for image folders streamed from disk"):
        prepare(ds, idx, cfg=DataConfig(**{key: value}))


def test_pca_with_augmentation_is_refused():
    ds, idx = images()
    with pytest.raises(UserError, match="data.augment works on images, and data.pca"):
        prepare(ds, idx, cfg=DataConfig(**NO_CLIP, pca=4, augment=["flip"]))


# --- statistics from the training split only --------------------------------------------------------


@pytest.mark.parametrize("options", [
    {"impute": "mean", "missing_indicator": True, "clip_quantiles": [0.1, 0.9], "pca": 3},
    {"impute": "most_frequent", "scale": "minmax"},
    {"impute": "drop", "pca": 0.9},
])
def test_table_statistics_ignore_val_and_test(options):
    ds, idx = numeric_table()
    a = prepare(ds, idx, cfg=DataConfig(**options)).state["table"]
    ds.x[30:] = np.where(np.random.default_rng(1).random(ds.x[30:].shape) < 0.5, -5e6, 3e7).astype(object)
    b = prepare(ds, idx, cfg=DataConfig(**options)).state["table"]
    assert a == b


@pytest.mark.parametrize("options", [{"scale": "minmax", "downsample": 2}, {"pca": 0.9}])
def test_image_statistics_ignore_val_and_test(options):
    ds, idx = images()
    a = prepare(ds, idx, cfg=DataConfig(**options)).state
    ds.x[30:] = -1e4
    b = prepare(ds, idx, cfg=DataConfig(**options)).state
    assert a["array"] == b["array"] and a["norm"] == b["norm"]


# --- end to end: train, then predict from files with the same preprocessing --------------------------


def write_digit_pngs(tmp_path, n=6):
    x = load_digits_data().x[:n, 0]  # (n, 8, 8) in [0, 1]
    paths = []
    for i, img in enumerate(x):
        p = tmp_path / f"d{i}.png"
        Image.fromarray(np.round(img * 255).astype(np.uint8), mode="L").save(p)
        paths.append(p)
    return x, paths


def test_pca_run_trains_on_vectors_and_predicts_from_png_files(tmp_path):
    out = tmp_path / "r"
    mlp = {k: v for k, v in QUICK.items() if k != "model.widths"}  # a CNN option, refused for an MLP
    run = fit.train(data="digits", model="mlp", epochs=1, out=out, set={**mlp, "data.pca": 16}, verbose=False)
    assert run.summary["epochs_run"] == 1
    loaded = fit.load_run(out)
    assert tuple(loaded.state["input_shape"]) == (16,) and loaded.state["norm"] is None
    assert not any(isinstance(m, Normalize) for m in loaded.model.modules())
    x, paths = write_digit_pngs(tmp_path)
    names, probs = loaded.predict(paths)
    assert names == [str(p) for p in paths] and probs.shape == (6, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # the PNGs (8-bit) and the arrays must go through the same PCA: nearly the same predictions
    direct = loaded.predict_array(x[:, None].astype(np.float32))  # raw images: predict_array applies the PCA
    np.testing.assert_allclose(probs, direct, atol=0.05)
    assert loaded.evaluate()["accuracy"] == pytest.approx(run.summary["metrics"]["test"]["accuracy"])


def test_downsampled_cnn_sees_4x4_inputs_and_predicts_from_8x8_pngs(tmp_path):
    out = tmp_path / "r"
    fit.train(data="digits", epochs=1, out=out, set={**QUICK, "data.downsample": 2, "data.scale": "minmax"},
              verbose=False)
    loaded = fit.load_run(out)
    assert tuple(loaded.state["input_shape"]) == (1, 4, 4)
    assert isinstance(loaded.model[0], Normalize) and loaded.state["norm"]["kind"] == "minmax"
    x, paths = write_digit_pngs(tmp_path)
    assert loaded.load_inputs(paths).shape == (6, 1, 4, 4)
    _, probs = loaded.predict(paths)
    direct = loaded.predict_array(x[:, None].astype(np.float32))  # raw 8x8 images: predict_array pools them
    np.testing.assert_allclose(probs, direct, atol=0.05)
