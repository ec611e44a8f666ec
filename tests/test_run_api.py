"""The Python API on a loaded run: predict_array takes raw inputs, predict takes one path, batching is invisible."""

import numpy as np
import pytest
import torch
from PIL import Image

import idealfit as fit
import idealfit.run as run_module
from idealfit.data.prepare import transform_inputs
from idealfit.errors import UserError

QUICK = {"train.progress": False}


def write_table_csv(path, n=150, seed=0):
    """Features on very different scales plus a text column: preprocessing changes every input."""
    rng = np.random.default_rng(seed)
    size = rng.normal(100, 30, n)
    tiny = rng.normal(0, 0.01, n)
    colour = rng.choice(["red", "green", "blue"], n)
    label = np.where((size > 100) ^ (colour == "red"), "yes", "no")
    lines = ["size,tiny,colour,label"]
    lines += [f"{a:.3f},{b:.5f},{c},{d}" for a, b, c, d in zip(size, tiny, colour, label, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return [[float(a), float(b), str(c)] for a, b, c in zip(np.round(size, 3), np.round(tiny, 5), colour,
                                                               strict=True)]


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    rows = write_table_csv(root / "t.csv")
    fit.train(data=str(root / "t.csv"), target="label", model="mlp", epochs=2, out=root / "run", set=QUICK,
              verbose=False)
    return fit.load_run(root / "run"), root / "t.csv", rows


def test_predict_array_on_raw_rows_equals_predict_on_the_csv(table_run):
    run, csv_path, rows = table_run
    assert run.state["columns"] == ["size", "tiny", "colour"]
    names, from_file = run.predict(str(csv_path))  # one path as a str: one file, not its characters
    assert len(names) == len(rows) == 150
    from_rows = run.predict_array(rows)  # a list of rows, as the user has them
    np.testing.assert_allclose(from_rows, from_file, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(run.predict_array(np.array(rows, dtype=object)), from_file, rtol=1e-6, atol=1e-7)
    # the reference: the run's fitted preprocessing, then the model, by hand
    ready = transform_inputs(run.state, np.array(rows, dtype=object))
    with torch.no_grad():
        reference = torch.softmax(run.model(torch.from_numpy(ready)), dim=1).numpy()
    np.testing.assert_allclose(from_rows, reference, rtol=1e-5, atol=1e-6)


def test_predict_array_refuses_rows_of_the_wrong_width(table_run):
    run, _, rows = table_run
    with pytest.raises(UserError, match="rows of 3 cells"):
        run.predict_array([r[:2] for r in rows])


def test_predict_array_on_raw_npz_values_equals_predict_on_the_npz(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(50, 20, (120, 4)).astype(np.float32)  # far from standardized: scaling matters
    y = (x @ np.array([0.5, -1.0, 0.0, 2.0], np.float32)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    fit.train(data=str(tmp_path / "d.npz"), task="regression", model="mlp", epochs=2, out=tmp_path / "run",
              set=QUICK, verbose=False)
    run = fit.load_run(tmp_path / "run")
    assert run.task == "regression"
    np.savez(tmp_path / "new.npz", x=x[:30])
    _, from_file = run.predict(tmp_path / "new.npz")  # one Path
    np.testing.assert_allclose(run.predict_array(x[:30]), from_file, rtol=1e-5)
    assert from_file.shape == (30,)


def test_predict_refuses_a_folder_without_images(table_run, tmp_path):
    run, _, _ = table_run
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no image files"):
        run.predict(tmp_path / "empty")
    (tmp_path / "pics").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "pics" / "a.png")
    with pytest.raises(UserError, match="trained on table data; images cannot be its input"):
        run.predict(tmp_path / "pics")  # a folder is its images, checked as image inputs


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "digits"
    fit.train(data="digits", epochs=1, out=out, set=QUICK, verbose=False)
    return fit.load_run(out)


def test_batched_evaluate_and_predict_equal_one_pass(digits_run, monkeypatch):
    from idealfit.data.embedded import EMBEDDED

    run = digits_run
    x = EMBEDDED["digits"][0]().x[:100]  # (100, 1, 8, 8)
    with torch.no_grad():
        reference = torch.softmax(run.model(torch.from_numpy(x)), dim=1).numpy()  # the whole set at once
    whole = run.evaluate()
    monkeypatch.setattr(run_module, "BATCH", 7)  # 100 = 14 batches of 7 and one of 2
    np.testing.assert_allclose(run.predict_array(x), reference, rtol=1e-5, atol=1e-6)
    batched = run.evaluate()
    assert batched.keys() == whole.keys()
    for k in whole:
        assert batched[k] == pytest.approx(whole[k], rel=1e-5)
    assert whole["accuracy"] == pytest.approx(run.summary["metrics"]["test"]["accuracy"])


def test_predict_array_raw_images_with_or_without_the_channel_axis(digits_run):
    from idealfit.data.embedded import EMBEDDED

    x = EMBEDDED["digits"][0]().x[:5]
    np.testing.assert_allclose(digits_run.predict_array(x[:, 0]), digits_run.predict_array(x), rtol=1e-6)
    with pytest.raises(UserError, match=r"raw samples of shape \(1, 8, 8\)"):
        digits_run.predict_array(x[:, :, :4])


def test_in_memory_data_mistakes_are_named_as_the_user_passed_them_and_leave_no_file(tmp_path):
    import pandas as pd

    with pytest.raises(UserError, match="x has 10 samples and y 5"):
        fit.train(data=(np.zeros((10, 3)), np.zeros(5)), out=tmp_path / "r", verbose=False)
    df = pd.DataFrame({"a": np.arange(40.0), "y": np.arange(40) % 2})
    with pytest.raises(UserError, match=r"data=DataFrame: it has no column 'nope' \(columns: a, y\)"):
        fit.train(data=df, target="nope", out=tmp_path / "r", verbose=False)
    with pytest.raises(UserError):  # saved, then refused by the config: the file goes again
        fit.train(data=df, target="y", out=tmp_path / "r", verbose=False, set={"train.lr": "-1"})
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
