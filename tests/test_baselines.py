"""Baselines beside every run: the numbers against scikit-learn fitted by hand, the shape of summary["baselines"]."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from idealfit.baselines import MAX_ROWS, SPLITS, _scores, best_baseline, fit_baselines
from idealfit.baselines_arrays import MAX_COMPONENTS, MAX_TRAIN_ROWS, array_linear
from idealfit.config import DataConfig
from idealfit.data.prepare import load_dataset, prepare
from idealfit.data.split import split_indices


@pytest.fixture(autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # OpenMP spin-waits on a busy machine: 12 s instead of 0.3 s for wine
        yield


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _prep(name, seed=0, target=None):
    ds = load_dataset(DataConfig(name=name, target=target))
    return prepare(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=seed))


def test_classification_baselines_match_sklearn_on_the_same_inputs(wine_csv):
    prep = _prep(wine_csv, target="target")
    b = fit_baselines(prep, seed=0)
    assert set(b) == {"majority", "linear", "boosting"}
    x, y = prep.x, prep.y
    lin = LogisticRegression(C=1.0, max_iter=2000).fit(x["train"].astype(np.float64), y["train"])
    hgb = HistGradientBoostingClassifier(random_state=0).fit(x["train"].astype(np.float64), y["train"])
    for split in ("train", "val", "test"):
        xs = x[split].astype(np.float64)
        assert b["linear"][split]["accuracy"] == pytest.approx(accuracy_score(y[split], lin.predict(xs)))
        assert b["boosting"][split]["accuracy"] == pytest.approx(accuracy_score(y[split], hgb.predict(xs)))
        major = np.bincount(y["train"]).argmax()
        assert b["majority"][split]["accuracy"] == pytest.approx(np.mean(y[split] == major))
    assert b["linear"]["val"]["accuracy"] > 0.9  # wine is linearly separable, nearly
    assert isinstance(b["linear"]["seconds"], float)


def test_regression_baselines_are_in_the_data_units():
    prep = _prep("diabetes")
    b = fit_baselines(prep, seed=0)
    assert set(b) == {"mean", "linear", "boosting"}
    tgt = prep.state["target"]
    y = {s: prep.y[s] * tgt["std"] + tgt["mean"] for s in prep.y}
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(prep.x["train"].astype(np.float64), y["train"])
    pred = ridge.predict(prep.x["test"].astype(np.float64))
    assert b["linear"]["test"]["rmse"] == pytest.approx(mean_squared_error(y["test"], pred) ** 0.5, rel=1e-5)
    assert b["linear"]["test"]["mae"] == pytest.approx(mean_absolute_error(y["test"], pred), rel=1e-5)
    assert b["linear"]["test"]["r2"] == pytest.approx(r2_score(y["test"], pred), rel=1e-5)
    mean = np.full(len(y["val"]), y["train"].mean())
    assert b["mean"]["val"]["rmse"] == pytest.approx(mean_squared_error(y["val"], mean) ** 0.5, rel=1e-5)
    assert b["linear"]["test"]["r2"] > b["mean"]["test"]["r2"] + 0.1
    hgb = HistGradientBoostingRegressor(random_state=0).fit(prep.x["train"].astype(np.float64), y["train"])
    assert b["boosting"]["val"]["r2"] == pytest.approx(r2_score(y["val"], hgb.predict(prep.x["val"].astype(np.float64))),
                                                       rel=1e-5)


def _pca_logistic(seed=0):
    """The array baseline built by hand from scikit-learn's parts (idealfit.baselines_arrays)."""
    return make_pipeline(StandardScaler(), PCA(n_components=50, random_state=seed), StandardScaler(),
                         LogisticRegression(C=1.0, max_iter=2000))


def test_images_get_a_linear_model_on_principal_components_as_sklearn_fits_it():
    prep = _prep("digits")
    b = fit_baselines(prep, seed=0)
    assert list(b) == ["majority", "linear"]
    assert 0.05 < b["majority"]["test"]["accuracy"] < 0.2  # ten balanced classes
    flat = {s: prep.x[s].reshape(len(prep.x[s]), -1).astype(np.float64) for s in SPLITS}
    model = _pca_logistic().fit(flat["train"], prep.y["train"])
    for split in SPLITS:
        assert b["linear"][split]["accuracy"] == pytest.approx(accuracy_score(prep.y[split], model.predict(flat[split])))
    assert b["linear"]["val"]["accuracy"] > 0.9  # digits are nearly linearly separable
    assert b["linear"]["note"] == ("logistic regression on 50 principal components of the flattened inputs, "
                                   f"fitted on the {len(flat['train']):,} training samples")


def test_the_array_baseline_fits_on_a_subsample_above_max_rows_and_says_so():
    prep = _prep("digits")
    y = {s: prep.y[s] for s in SPLITS}
    small = array_linear("classification", prep.x, y, seed=0, max_rows=200, scores=_scores)
    full = array_linear("classification", prep.x, y, seed=0, scores=_scores)
    n = len(prep.x["train"])
    assert small["note"].endswith(f"fitted on a random 200 of the {n:,} training samples")
    assert small["train"] != full["train"]  # the option is not ignored; every split is still scored whole
    assert MAX_TRAIN_ROWS == 2000 and MAX_COMPONENTS == 50


def test_the_array_baseline_regresses_in_the_data_units_and_needs_two_classes():
    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(n, 1, 6, 6)).astype(np.float32) for s, n in (("train", 300), ("val", 80), ("test", 80))}
    w = rng.normal(size=36)
    y = {s: 100.0 + 5.0 * v.reshape(len(v), -1) @ w for s, v in x.items()}  # linear in the pixels: PCA keeps all 36
    entry = array_linear("regression", x, y, seed=0, scores=_scores)
    assert entry["test"]["r2"] > 0.999 and entry["test"]["rmse"] < 1.0
    assert entry["note"].startswith("ridge regression on 36 principal components")
    one = {s: np.zeros(len(v), dtype=np.int64) for s, v in x.items()}
    assert array_linear("classification", x, one, seed=0, scores=_scores) is None


def test_a_streamed_image_folder_keeps_only_the_trivial_baseline(tmp_path):
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(6):
            Image.new("RGB", (10, 10), (40 * i, 200 if label == "a" else 0, 0)).save(tmp_path / label / f"{i}.png")
    ds = load_dataset(DataConfig(name=str(tmp_path), max_memory_mb=0.0001))
    assert ds.paths is not None  # streamed from disk
    prep = prepare(ds, split_indices(ds, val_fraction=0.25, test_fraction=0.25, seed=0))
    assert list(fit_baselines(prep, seed=0)) == ["majority"]


def test_above_max_rows_linear_and_boosting_fit_on_a_subsample_and_say_so(wine_csv):
    prep = _prep(wine_csv, target="target")
    full = fit_baselines(prep, seed=0)
    small = fit_baselines(prep, seed=0, max_rows=40)
    assert "note" in small["boosting"] and "40" in small["boosting"]["note"]
    assert "note" not in full["boosting"]
    assert small["boosting"]["train"] != full["boosting"]["train"]  # the option is not ignored
    assert MAX_ROWS == 200_000


def test_best_baseline_picks_by_validation():
    b = {"majority": {"val": {"accuracy": 0.99}}, "linear": {"val": {"accuracy": 0.9}},
         "boosting": {"val": {"accuracy": 0.95}}}
    assert best_baseline(b, "accuracy", higher_better=True)[0] == "boosting"
    r = {"linear": {"val": {"rmse": 3.0}}, "boosting": {"val": {"rmse": 4.0}}}
    assert best_baseline(r, "rmse", higher_better=False)[0] == "linear"
    assert best_baseline({"mean": {"val": {"rmse": 1.0}}}, "rmse", higher_better=False) is None


def test_best_baseline_reads_the_rivals_of_the_task():
    seg = {"majority": {"val": {"dice": 0.0}}, "per_pixel": {"val": {"dice": float("nan")}},
           "linear": {"val": {"dice": 0.99}}}  # a key of another task is no rival here
    assert best_baseline(seg, "dice", higher_better=True, task="segmentation")[0] == "majority"  # NaN skipped
    seg["per_pixel"]["val"]["dice"] = 0.4
    assert best_baseline(seg, "dice", higher_better=True, task="segmentation")[0] == "per_pixel"
    assert best_baseline(seg, "dice", higher_better=True)[0] == "linear"  # no task: the table rivals
    rec = {"identity": {"val": {"mse": 0.25}}, "pca": {"val": {"mse": 0.20}}}
    assert best_baseline(rec, "mse", higher_better=False, task="reconstruction")[0] == "pca"
    assert best_baseline(rec, "mse", higher_better=False, task="classification") is None
