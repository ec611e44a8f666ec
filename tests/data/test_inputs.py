"""A saved run's inputs: table columns matched by name, the source's fingerprint, predict-time cells."""

import csv

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

import idealfit as fit
from idealfit.errors import UserError


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    """A small MLP trained on sklearn's wine, written to a CSV (178 rows, 13 numeric columns)."""
    tmp = tmp_path_factory.mktemp("wine")
    d = load_wine(as_frame=True)
    df = d.frame.rename(columns={"target": "cultivar"})
    path = tmp / "wine.csv"
    df.to_csv(path, index=False)
    run = fit.train(data=path, target="cultivar", model="mlp", epochs=3, out=tmp / "run", progress=False,
                    verbose=False)
    return fit.load_run(run.dir), df, tmp


def test_evaluate_matches_columns_by_name_not_position(wine_run):
    run, df, tmp = wine_run
    base = run.evaluate(str(tmp / "wine.csv"))
    reordered = tmp / "reordered.csv"
    df[df.columns[::-1]].to_csv(reordered, index=False)
    with_id = tmp / "with_id.csv"
    df.assign(sample_id=[f"s{i}" for i in range(len(df))])[["sample_id", *df.columns]].to_csv(with_id, index=False)
    for path in (reordered, with_id):
        assert run.evaluate(str(path)) == pytest.approx(base)
    # a position-matched read of the reordered file would score differently: the test has teeth
    shifted = tmp / "shifted.csv"
    cols = list(df.columns[:-1])
    df[cols[1:] + cols[:1] + ["cultivar"]].set_axis(df.columns, axis=1).to_csv(shifted, index=False)
    assert run.evaluate(str(shifted))["accuracy"] != pytest.approx(base["accuracy"])


def test_evaluate_refuses_a_file_without_a_training_column(wine_run):
    run, df, tmp = wine_run
    path = tmp / "less.csv"
    df.drop(columns=["alcohol"]).to_csv(path, index=False)
    with pytest.raises(UserError, match="lacks column 'alcohol' that this run was trained on"):
        run.evaluate(str(path))


def test_evaluate_refuses_a_source_that_changed_since_training(tmp_path):
    d = load_wine(as_frame=True)
    path = tmp_path / "wine.csv"
    d.frame.to_csv(path, index=False)
    run = fit.train(data=path, target="target", model="mlp", epochs=2, out=tmp_path / "run", progress=False,
                    verbose=False)
    assert run.state["meta"]["fingerprint"].startswith("sha256:")
    first = fit.load_run(run.dir).evaluate()
    assert first == pytest.approx(run.summary["metrics"]["test"], rel=1e-5)
    d.frame.sample(frac=1.0, random_state=0).to_csv(path, index=False)  # same rows, shuffled
    with pytest.raises(UserError, match="wine.csv changed since this run was trained .* --data FILE"):
        fit.load_run(run.dir).evaluate()
    d.frame.to_csv(path, index=False)  # restored byte for byte: accepted again
    assert fit.load_run(run.dir).evaluate() == pytest.approx(first)


def test_a_run_without_a_fingerprint_still_evaluates(wine_run):
    import json

    run, _, tmp = wine_run
    state_file = run.dir / "preprocess.json"
    state = json.loads(state_file.read_text())
    state["meta"].pop("fingerprint")
    state_file.write_text(json.dumps(state))
    try:
        assert fit.load_run(run.dir).evaluate()["accuracy"] == pytest.approx(run.summary["metrics"]["test"]["accuracy"])
    finally:
        state_file.write_text(json.dumps({**state, "meta": run.state["meta"]}))


def test_image_folder_fingerprint_follows_files_not_mtimes(tmp_path):
    import os

    from PIL import Image

    from idealfit.data.files import fingerprint
    from idealfit.data.images import scan_image_folder

    def folder_fingerprint():
        return fingerprint(tmp_path, scan_image_folder(tmp_path).files)

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(2):
            Image.new("L", (4, 4), 50 * i).save(tmp_path / c / f"{i}.png")
    before = folder_fingerprint()
    os.utime(tmp_path / "a" / "0.png", (1, 1))  # a copy changes mtimes, not the samples
    assert folder_fingerprint() == before
    Image.new("L", (4, 4), 9).save(tmp_path / "b" / "2.png")
    assert folder_fingerprint() != before


def test_predict_reads_missing_tokens_and_names_text_in_a_numeric_column(wine_run):
    run, df, tmp = wine_run
    rows = df.drop(columns=["cultivar"]).head(6).astype(object)
    for i, token in enumerate(["n/a", "NA", "#N/A", "?", ""]):
        rows.iloc[i, 2] = token
    path = tmp / "gaps.csv"
    rows.to_csv(path, index=False)
    names, probs = run.predict([path])
    assert names == [f"gaps.csv:{i}" for i in range(2, 8)]
    filled = rows.copy()
    filled.iloc[:5, 2] = np.nan  # the same rows with real gaps: imputed identically
    np.testing.assert_allclose(probs, run.predict_array(filled), rtol=1e-6)  # a DataFrame, by column name
    np.testing.assert_allclose(probs, run._predict_ready(_inputs(run, filled)), rtol=1e-6)
    rows.iloc[3, 4] = "lots"
    rows.to_csv(path, index=False)
    with pytest.raises(UserError, match="gaps.csv:5: column 'magnesium' holds the text 'lots'"):
        run.predict([path])


def _inputs(run, frame):
    from idealfit.data.prepare import transform_inputs
    from idealfit.data.table import Table

    x = Table([frame[c].to_numpy(dtype=np.float64) for c in run.state["columns"]])
    return transform_inputs(run.state, x)


def test_csv_numeric_columns_are_kept_as_float_arrays(tmp_path):
    from idealfit.data.files import load_csv

    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "color", "b", "y"])
        for i in range(30):
            w.writerow([i * 0.5, ["red", "blue"][i % 2], "" if i == 3 else -i, i % 3])
    ds = load_csv(path, target="y", task=None)
    assert [c.dtype.kind for c in ds.x.cols] == ["f", "O", "f"]  # no Python object per number
    np.testing.assert_array_equal(ds.x[:, 0], np.arange(30) * 0.5)
    assert np.isnan(ds.x[3, 2]) and ds.x[1, 1] == "blue"
    frame = pd.read_csv(path)
    np.testing.assert_array_equal(ds.x[:, 2], frame["b"].to_numpy())
