"""fit.train with in-memory data: numpy (x, y) and pandas DataFrames, saved once and usable by evaluate and resume."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

import idealfit as fit
from idealfit.errors import UserError

QUICK = {"train.progress": False}


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True, as_frame=True)


def test_numpy_arrays_train_and_evaluate_again(tmp_path, wine):
    x, y = wine[0].to_numpy(), wine[1].to_numpy()
    run = fit.train(data=(x, y), epochs=3, out=tmp_path / "run", set=QUICK, verbose=False)
    saved = run.config.data.name
    assert saved.startswith(str(tmp_path / "data" / "arrays-")) and saved.endswith(".npz")
    with np.load(saved) as f:
        np.testing.assert_array_equal(f["x"], x)
        np.testing.assert_array_equal(f["y"], y)
    assert run.summary["task"] == "classification" and run.summary["train_samples"] == 124
    names, probs = run.predict(x[:3])  # an array, as trained on: predict_array's numbers, named by row
    assert names == ["0", "1", "2"] and probs.shape == (3, 3)
    np.testing.assert_allclose(probs, run.predict_array(x[:3]), rtol=1e-6)
    assert run.predict(x[:3].tolist())[1] == pytest.approx(probs)  # a list of rows too
    again = fit.load_run(run.dir).evaluate()
    assert again["accuracy"] == pytest.approx(run.summary["metrics"]["test"]["accuracy"])
    # the same arrays again: the same file, not a second copy
    fit.train(data=(x, y), epochs=1, out=tmp_path / "run2", set=QUICK, verbose=False)
    assert len(list((tmp_path / "data").iterdir())) == 1


def test_a_dataframe_with_a_target_column(tmp_path, wine):
    frame = wine[0].assign(kind=np.asarray(["a", "b", "c"])[wine[1]], sample_id=np.arange(len(wine[1])) + 1)
    run = fit.train(data=frame, target="kind", epochs=2, out=tmp_path / "run", set=QUICK, verbose=False)
    assert run.config.data.name.endswith(".csv") and run.config.data.target == "kind"
    assert run.state["identifiers"] == ["sample_id"] and "sample_id" not in run.state["columns"]
    assert run.class_names == ["a", "b", "c"]
    names, probs = run.predict(frame.drop(columns="kind").iloc[5:8])  # not its column names as file names
    assert names == ["6", "7", "8"]  # the rows' sample_id, as predict names a CSV's rows
    np.testing.assert_allclose(probs, run.predict_array(frame.iloc[5:8]), rtol=1e-6)
    assert run.predict(wine[0].iloc[5:8])[0] == ["5", "6", "7"]  # no identifier column: the index
    assert fit.load_run(run.dir).evaluate()["accuracy"] == pytest.approx(run.summary["metrics"]["test"]["accuracy"])
    resumed = fit.train(resume=run.dir, epochs=3, verbose=False)
    assert resumed.summary["epochs_run"] >= run.summary["epochs_run"]


def test_a_dataframe_and_labels(tmp_path, wine):
    run = fit.train(data=(wine[0], wine[1]), epochs=1, out=tmp_path / "run", set=QUICK, verbose=False)
    assert run.config.data.target == "y"
    assert pd.read_csv(run.config.data.name).shape == (178, 14)


@pytest.mark.parametrize("data, target, message", [
    ("frame", None, "name the column to predict with target="),
    (("frame", [1, 2]), None, "178 rows but 2 labels"),
    (42, None, "data must be a dataset name, a path, \\(x, y\\) arrays or a pandas DataFrame; got int"),
])
def test_in_memory_mistakes_are_one_line(tmp_path, wine, data, target, message):
    data = wine[0] if data == "frame" else (wine[0], data[1]) if isinstance(data, tuple) else data
    with pytest.raises(UserError, match=message):
        fit.train(data=data, target=target, out=tmp_path / "run", verbose=False)


def test_object_arrays_of_strings_or_numbers_are_accepted_as_pandas_gives_them(tmp_path, wine):
    labels = pd.Series(np.asarray(["a", "b", "c"])[wine[1]], dtype=object)
    x, y = wine[0].to_numpy(dtype=object), labels.to_numpy()  # both dtype object: the ordinary pandas -> numpy path
    assert x.dtype == object and y.dtype == object
    run = fit.train(data=(x, y), epochs=1, out=tmp_path / "run", set=QUICK, verbose=False)
    assert run.class_names == ["a", "b", "c"] and run.summary["train_samples"] == 124
    with np.load(run.config.data.name) as f:
        assert f["x"].dtype == np.float64 and f["y"].dtype.kind == "U"


@pytest.mark.parametrize("y", [["a", 1] * 89, [None] * 178, [{"k": 1}] * 178])
def test_object_labels_that_mix_kinds_are_refused_in_one_line(tmp_path, wine, y):
    labels = np.empty(178, dtype=object)
    labels[:] = y
    with pytest.raises(UserError, match="y numbers or strings, not a mix or other Python objects"):
        fit.train(data=(wine[0].to_numpy(), labels), out=tmp_path / "run", verbose=False)
