"""User data from real files on disk: image folders, CSV and NPZ, and every bad input a user can hand us."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idealfit.config import DataConfig
from idealfit.data.files import load_csv, load_npz
from idealfit.data.images import load_image_folder, open_image
from idealfit.data.prepare import load_dataset, prepare
from idealfit.data.split import split_indices
from idealfit.errors import UserError

# --- helpers --------------------------------------------------------------------------------------


def save_image(path, *, size=(8, 8), mode="L", value=128, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 255 - value, 30)
    Image.new(mode, size, color).save(path, format=fmt)
    return path


def image_folder(root, classes=("cat", "dog"), n=3, *, size=(8, 8), mode="L"):
    """root/<class>/<i>.png, each class a different gray level."""
    for k, c in enumerate(classes):
        for i in range(n):
            save_image(root / c / f"{i}.png", size=size, mode=mode, value=40 + 150 * k)
    return root


def write_csv(path, rows):
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def load_folder(root, **kw):
    args = {"image_size": None, "channels": None, "max_memory_mb": 2048.0, **kw}
    return load_image_folder(root, **args)


def assert_cli_bad_data(cli_error, tmp_path, data, *needles, extra=()):
    """`idealfit train --data BAD` exits 2 with one stderr line and writes no run folder."""
    out = tmp_path / "run"
    cli_error(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--no-progress", *extra], *needles)
    assert not out.exists()


# --- image folders --------------------------------------------------------------------------------


def test_image_folder_classes_from_folder_names(tmp_path):
    root = image_folder(tmp_path / "pets", classes=("dog", "cat", "bird"), n=2)
    ds = load_folder(root)
    assert ds.class_names == ["bird", "cat", "dog"]  # sorted folder names
    np.testing.assert_array_equal(ds.y, [0, 0, 1, 1, 2, 2])
    assert (ds.name, ds.task, ds.kind, ds.paths) == ("pets", "classification", "image", None)
    assert ds.x.shape == (6, 1, 8, 8) and ds.x.dtype == np.float32
    # gray level 40 + 150 k of class folder k (in the order given above: dog=0, cat=1, bird=2)
    np.testing.assert_allclose(ds.x[ds.y == 2], 40 / 255, rtol=1e-6)
    np.testing.assert_allclose(ds.x[ds.y == 1], 190 / 255, rtol=1e-6)


def test_image_folder_common_size_and_channels(tmp_path):
    root = tmp_path / "mixed"
    save_image(root / "a" / "0.png", size=(12, 12), mode="L", value=0)  # the first file sets the size
    save_image(root / "a" / "1.png", size=(20, 10), mode="RGB", value=255)
    save_image(root / "b" / "0.jpg", size=(5, 7), mode="RGB", value=100, fmt="JPEG")
    save_image(root / "b" / "1.jpeg", size=(30, 30), mode="L", value=200, fmt="JPEG")
    ds = load_folder(root)
    assert ds.x.shape == (4, 3, 12, 12)  # any colour image -> RGB; side of the first image
    assert ds.meta["image_size"] == 12 and ds.meta["channels"] == 3
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    np.testing.assert_allclose(ds.x[1, :, 6, 6], [1.0, 0.0, 30 / 255], atol=1e-6)  # RGB kept per channel
    np.testing.assert_allclose(ds.x[0], 0.0)  # gray expanded to 3 equal channels


def test_image_folder_size_and_channels_from_config(tmp_path):
    root = image_folder(tmp_path / "imgs", size=(16, 16), mode="RGB")
    ds = load_folder(root, image_size=6, channels=1)
    assert ds.x.shape == (6, 1, 6, 6)


def test_image_folder_default_side_is_capped(tmp_path):
    root = image_folder(tmp_path / "big", n=2, size=(100, 80))
    assert load_folder(root).x.shape[-2:] == (64, 64)


def test_image_folder_skips_hidden_files(tmp_path):
    root = image_folder(tmp_path / "imgs", n=2)
    (root / "cat" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / ".cache").mkdir()
    assert len(load_folder(root)) == 4


def test_large_image_folder_streams_from_disk(tmp_path):
    root = image_folder(tmp_path / "imgs", n=4, size=(10, 10), mode="RGB")
    ds = load_folder(root, max_memory_mb=1e-4)  # 8 * 3 * 10 * 10 * 4 bytes > 105 bytes
    assert ds.paths is not None and len(ds.paths) == 8
    assert all(p.endswith(".png") for p in ds.paths)
    assert ds.x.shape == (0, 3, 10, 10)  # a shape carrier, nothing loaded
    assert ds.input_shape == (3, 10, 10) and len(ds) == 8
    # the streamed files read back as the in-memory path would have loaded them
    in_memory = load_folder(root)
    streamed = np.stack([open_image(Path(p), size=10, channels=3) for p in ds.paths])
    np.testing.assert_allclose(streamed, in_memory.x)


def test_streamed_folder_prepares_with_stats_from_files(tmp_path):
    root = image_folder(tmp_path / "imgs", n=10, size=(6, 6))
    ds = load_folder(root, max_memory_mb=1e-5)
    idx = split_indices(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    prep = prepare(ds, idx)
    assert prep.input_shape == (1, 6, 6)
    train_pixels = np.array([40 / 255 if ds.y[i] == 0 else 190 / 255 for i in idx["train"]])
    np.testing.assert_allclose(prep.state["norm"]["mean"], [train_pixels.mean()], rtol=1e-5)


def test_streaming_mode_still_rejects_a_corrupt_file_up_front(tmp_path):
    root = image_folder(tmp_path / "imgs", n=3)
    (root / "dog" / "x.png").write_bytes(np.random.default_rng(0).bytes(64))
    with pytest.raises(UserError, match="x.png"):
        load_folder(root, max_memory_mb=1e-6)


# --- image folders: bad inputs --------------------------------------------------------------------


def test_missing_path_suggests_embedded_names(tmp_path):
    with pytest.raises(UserError, match="no dataset or path named .*embedded datasets: digits"):
        load_dataset(DataConfig(name=str(tmp_path / "nowhere")))
    with pytest.raises(UserError, match="did you mean 'digits'"):
        load_dataset(DataConfig(name="digit"))


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="has no class sub-folders") as info:
        load_folder(tmp_path / "empty")
    assert "empty" in str(info.value) and "/cat/1.png" in str(info.value)


def test_folder_with_one_class(tmp_path):
    root = image_folder(tmp_path / "one", classes=("cat",), n=3)
    with pytest.raises(UserError, match="only one class folder \\(cat\\).*at least 2"):
        load_folder(root)


def test_class_folder_with_a_single_image(tmp_path):
    root = image_folder(tmp_path / "imgs", n=3)
    save_image(root / "lonely" / "0.png")
    with pytest.raises(UserError, match="lonely has 1 image\\(s\\); each class needs at least 2"):
        load_folder(root)


def test_corrupt_image_names_the_file(tmp_path):
    root = image_folder(tmp_path / "imgs", n=3)
    (root / "dog" / "x.png").write_bytes(np.random.default_rng(0).bytes(200))
    with pytest.raises(UserError, match="x.png is not a readable image.*replace it"):
        load_folder(root)


def test_non_image_file_is_skipped_and_named(tmp_path):
    # issue 8: a notes.txt beside the images is skipped and listed (it used to stop loading); a corrupt
    # file with an image suffix still stops it (test_corrupt_image_names_the_file)
    root = image_folder(tmp_path / "imgs", n=3)
    (root / "cat" / "notes.txt").write_text("remember to feed the cat\n")
    ds = load_folder(root)
    assert len(ds) == 6 and ds.meta["skipped_files"] == ["cat/notes.txt"]


def test_single_image_as_data(tmp_path):
    img = save_image(tmp_path / "one.png")
    with pytest.raises(UserError, match="single image; pass a folder"):
        load_dataset(DataConfig(name=str(img)))


def test_unknown_file_type(tmp_path):
    f = tmp_path / "data.parquet"
    f.write_bytes(b"PAR1")
    with pytest.raises(UserError, match="don't know how to read .*data.parquet"):
        load_dataset(DataConfig(name=str(f)))


def test_image_folder_cannot_be_regression(tmp_path):
    root = image_folder(tmp_path / "imgs", n=2)
    with pytest.raises(UserError, match="image folder"):
        load_dataset(DataConfig(name=str(root), task="regression"))


# --- CSV ------------------------------------------------------------------------------------------

HOUSES = [
    ["rooms", "city", "area", "label", "price"],
    ["3", "paris", "70.5", "big", "310.5"],
    ["2", "lyon", "", "small", "150.25"],
    ["4", "", "95", "big", "401.0"],
    ["1", "paris", "30", "small", "99.9"],
    ["3", "nice", "NA", "big", "280.75"],
    ["2", "lyon", "55", "small", "175.5"],
]


def test_csv_numeric_categorical_and_missing_cells(tmp_path):
    path = write_csv(tmp_path / "houses.csv", HOUSES)
    ds = load_csv(path, target="label", task=None)
    assert ds.task == "classification"  # inferred from a text target
    assert ds.class_names == ["big", "small"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 0, 1])
    assert ds.columns == ["rooms", "city", "area", "price"]
    assert (ds.kind, ds.name, ds.x.shape, ds.x.dtype) == ("table", "houses", (6, 4), object)
    assert ds.x[0].tolist() == [3.0, "paris", 70.5, 310.5]
    assert np.isnan(ds.x[1, 2]) and np.isnan(ds.x[2, 1]) and np.isnan(ds.x[4, 2])  # "", "", "NA"
    # and it goes through preprocessing: 3 numeric + 3 cities (+ the missing one as its own category)
    idx = {"train": np.arange(6), "val": np.arange(1), "test": np.arange(1)}
    prep = prepare(ds, idx)
    assert prep.input_shape == (3 + 4,)
    assert np.isfinite(prep.x["train"]).all()


@pytest.mark.parametrize("token", ["", "NA", "?", "n/a"])
def test_csv_rows_without_a_target_value_are_left_out_with_a_note(tmp_path, token):
    rows = HOUSES[:3] + [["3", "paris", "70", token, "1.0"]] + HOUSES[3:] + [["5", "nice", "80", token, "2.0"]]
    ds = load_csv(write_csv(tmp_path / "houses.csv", rows), target="label", task=None)
    assert len(ds) == 6 and ds.class_names == ["big", "small"]  # the 6 labelled rows, in file order
    np.testing.assert_array_equal(ds.lines, [2, 3, 5, 6, 7, 8])  # lines 4 and 9 (header = 1) left out
    assert ds.meta["unlabelled_rows"] == 2 and ds.meta["unlabelled_lines"] == [4, 9]
    assert ds.meta["notes"][0] == ("houses.csv: left out 2 rows with no value in the target 'label' (lines 4, 9); "
                                   "fill them in to train on them")


def test_csv_regression_inferred_from_float_target(tmp_path):
    ds = load_csv(write_csv(tmp_path / "houses.csv", HOUSES), target="price", task=None)
    assert ds.task == "regression" and ds.class_names is None
    assert ds.y.dtype == np.float32
    np.testing.assert_allclose(ds.y, [310.5, 150.25, 401.0, 99.9, 280.75, 175.5], rtol=1e-6)
    assert "label" in ds.columns and "price" not in ds.columns


def test_csv_task_override(tmp_path):
    path = write_csv(tmp_path / "houses.csv", HOUSES)
    assert load_csv(path, target="rooms", task=None).task == "classification"  # few whole numbers
    ds = load_csv(path, target="rooms", task="regression")
    assert ds.task == "regression"
    np.testing.assert_allclose(ds.y, [3, 2, 4, 1, 3, 2])
    clf = load_csv(path, target="price", task="classification")
    assert clf.task == "classification" and clf.num_classes == 6
    with pytest.raises(UserError, match="holds text.*--task classification"):
        load_csv(path, target="label", task="regression")


def test_csv_through_load_dataset_uses_target_and_task(tmp_path):
    path = write_csv(tmp_path / "houses.csv", HOUSES)
    ds = load_dataset(DataConfig(name=str(path), target="rooms", task="regression"))
    assert ds.task == "regression"


@pytest.mark.parametrize(
    "rows, target, needles",
    [
        (HOUSES, "prise", ["no column 'prise'", "did you mean 'price'?"]),
        (HOUSES, "zzz", ["no column 'zzz'", "columns are: rooms, city"]),
        (HOUSES, None, ["--target COLUMN", "rooms, city, area, label, price"]),
        ([["a", "b"]], "b", ["no data rows"]),
        (HOUSES[:1] + [["3", "paris", "70", "", "1.0"], ["3", "paris", "70", "nan", "1.0"]], "label",
         ["only 0 data row(s) with a value in the target 'label' (2 without)", "fill in the target"]),
        (HOUSES[:2] + [["3", "paris", "70", "?", "1.0"]], "label", ["only 1 data row(s) with a value", "(1 without)"]),
        ([HOUSES[0]] + [r[:2] + [""] + r[3:] for r in HOUSES[1:]], "label", ["column 'area' is empty"]),
        (HOUSES[:3] + [["3", "paris", "70", "big"]], "label", ["line 4", "number of fields"]),
        (HOUSES[:3] + [["3", "paris", "70", "big", "1", "extra"]], "label", ["line 4"]),
        ([["x", "y"], ["oops", "a"], ["2", "b"]], "y", ["column 'x' mixes numbers and text"]),
        ([["label"], ["a"], ["b"]], "label", ["no feature columns"]),
    ],
)
def test_bad_csv(tmp_path, rows, target, needles):
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(UserError) as info:
        load_csv(path, target=target, task=None)
    msg = str(info.value)
    assert str(path) in msg
    for needle in needles:
        assert needle in msg


def test_csv_text_id_column_is_left_out_as_an_identifier(tmp_path):
    rows = [["id", "x", "y"]] + [[f"user-{i:03d}", str(i % 7), "ab"[i % 2]] for i in range(80)]
    path = write_csv(tmp_path / "ids.csv", rows)
    ds = load_csv(path, target="y", task=None)
    assert ds.columns == ["x"] and ds.meta["identifiers"] == ["id"]
    assert ds.meta["notes"] == ["column 'id' looks like an identifier (all 80 values distinct): left out of the "
                                "features; it names the rows of predictions"]


def test_csv_near_unique_text_column_is_left_out_with_a_note_and_refused_when_named(tmp_path):
    rows = [["note", "x", "y"]] + [[f"text {i % 60}", str(i % 7), "ab"[i % 2]] for i in range(80)]  # 60 of 80 distinct
    path = write_csv(tmp_path / "notes.csv", rows)
    ds = load_csv(path, target="y", task=None)  # the run goes on without it: no hand edit, no option needed
    assert ds.columns == ["x"] and ds.meta["identifiers"] == []
    assert ds.meta["notes"] == ["column 'note' is text with 60 distinct values in 80 rows, like free text or a code: "
                                "left out of the features (a category seen about once teaches nothing about new rows)"]
    with pytest.raises(UserError, match=r"column 'note' .*60 distinct values.*cannot be a feature.*out of data.columns"):
        load_csv(path, target="y", task=None, columns=["note", "x"])


def test_csv_repeated_categories_are_fine(tmp_path):
    rows = [["colour", "y"]] + [["red green blue".split()[i % 3], "ab"[i % 2]] for i in range(80)]
    ds = load_csv(write_csv(tmp_path / "ok.csv", rows), target="y", task=None)
    assert len(ds) == 80


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n\xe9t\xe9,1\n".encode("latin-1"))
    with pytest.raises(UserError, match="not a UTF-8"):
        load_csv(path, target="b", task=None)


# --- NPZ ------------------------------------------------------------------------------------------


def test_npz_table(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    np.savez(tmp_path / "t.npz", x=x, y=y)
    ds = load_npz(tmp_path / "t.npz", task=None)
    assert (ds.kind, ds.task, ds.columns) == ("table", "regression", ["x0", "x1", "x2"])
    assert ds.x.shape == (40, 3) and ds.x.dtype == object
    np.testing.assert_allclose(ds.x.astype(np.float64), x.astype(np.float32))
    np.testing.assert_allclose(ds.y, y.astype(np.float32))


def test_npz_gray_images(tmp_path):
    x = np.random.default_rng(0).random((40, 6, 7)).astype(np.float32)
    y = np.repeat([3, 7], 20)
    np.savez(tmp_path / "g.npz", x=x, y=y)
    ds = load_npz(tmp_path / "g.npz", task=None)
    assert (ds.kind, ds.task, ds.class_names) == ("image", "classification", ["3", "7"])
    assert ds.x.shape == (40, 1, 6, 7)
    np.testing.assert_array_equal(ds.x[:, 0], x)
    np.testing.assert_array_equal(ds.y, np.repeat([0, 1], 20))


def test_npz_channel_images_and_signals(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "c.npz", x=rng.random((40, 3, 5, 5)), y=np.arange(40) % 2)
    ds = load_npz(tmp_path / "c.npz", task=None)
    assert ds.kind == "image" and ds.x.shape == (40, 3, 5, 5) and ds.x.dtype == np.float32
    np.savez(tmp_path / "s.npz", x=rng.random((40, 2, 30)), y=np.arange(40) % 2)
    sig = load_npz(tmp_path / "s.npz", task=None)
    assert sig.kind == "signal" and sig.x.shape == (40, 2, 30)


def test_npz_task_override(tmp_path):
    np.savez(tmp_path / "t.npz", x=np.ones((40, 2)), y=np.arange(40) % 3)
    assert load_npz(tmp_path / "t.npz", task=None).task == "classification"
    ds = load_npz(tmp_path / "t.npz", task="regression")
    assert ds.task == "regression" and ds.y.dtype == np.float32


@pytest.mark.parametrize(
    "arrays, needles",
    [
        ({"x": np.ones((10, 2)), "y": np.ones(9)}, ["x has 10 samples but y has 9"]),
        ({"x": np.ones((10, 2))}, ["must hold arrays named 'x' and 'y'", "it has: x"]),
        ({"data": np.ones((10, 2)), "labels": np.ones(10)}, ["it has: data, labels"]),
        ({"x": np.ones((4, 2)), "y": np.array([1.0, np.nan, 2.0, np.nan])}, ["y has 2 NaN"]),
        ({"x": np.ones((4, 2)), "y": np.array([1.5, np.inf, 2.5, 3.5])}, ["y has 1 NaN or inf"]),
        ({"x": np.ones((0, 2)), "y": np.ones(0)}, ["hold no samples"]),
        ({"x": np.float64(3.0), "y": np.ones(1)}, ["not single numbers"]),
        ({"x": np.ones((40, 2)), "y": np.zeros(40, int)}, ["only one class (0)", "--task regression"]),
        ({"x": np.full((4, 1, 8), np.nan), "y": np.arange(4) % 2}, ["x has 32 non-finite"]),
        ({"x": np.array([[1.0, np.inf], [2.0, 3.0]]), "y": np.ones(2)}, ["x has 1 non-finite"]),
        ({"x": np.ones((4, 2)), "y": np.ones((4, 2))}, ["y must be one label or value per sample"]),
        ({"x": np.ones(4), "y": np.ones(4)}, ["x must be (N, F)"]),
        ({"x": np.array(["a", "b"]), "y": np.ones(2)}, ["x must be numeric"]),
    ],
)
def test_bad_npz(tmp_path, arrays, needles):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError) as info:
        load_npz(path, task=None)
    assert str(path) in str(info.value)
    for needle in needles:
        assert needle in str(info.value)


def test_npz_table_may_have_missing_cells(tmp_path):
    x = np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 5.0]] * 14)
    np.savez(tmp_path / "t.npz", x=x, y=np.arange(42) % 2)
    ds = load_npz(tmp_path / "t.npz", task=None)
    assert np.isnan(ds.x[0, 1])  # imputed later, from the training split


def test_csv_with_one_class(tmp_path):
    path = write_csv(tmp_path / "one.csv", [["a", "y"], ["1", "yes"], ["2", "yes"]])
    with pytest.raises(UserError, match="target 'y' holds only one class \\(yes\\)"):
        load_csv(path, target="y", task=None)


def test_npz_that_is_not_an_npz(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("hello")
    with pytest.raises(UserError, match="fake.npz is not a readable .npz.*numpy.savez"):
        load_npz(path, task=None)


# --- bad data through the CLI: exit 2, one line, no run folder -------------------------------------


def _bad_folder_corrupt(tmp_path):
    root = image_folder(tmp_path / "imgs", n=3)
    (root / "dog" / "x.png").write_bytes(np.random.default_rng(0).bytes(200))
    return root, ["x.png"]


def _bad_folder_single(tmp_path):
    root = image_folder(tmp_path / "imgs", n=3)
    save_image(root / "lonely" / "0.png")
    return root, ["lonely", "at least 2"]


def _bad_folder_one_class(tmp_path):
    return image_folder(tmp_path / "imgs", classes=("cat",)), ["only one class"]


def _empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty", ["no class sub-folders"]


def _missing(tmp_path):
    return tmp_path / "nowhere", ["nowhere"]


def _csv_nan_target(tmp_path):
    # no labelled row at all: nothing is left to train on (a few unlabelled rows are left out with a note)
    rows = HOUSES[:1] + [["3", "paris", "70", "", "1.0"], ["2", "lyon", "5", "NA", "2.0"]]
    return write_csv(tmp_path / "h.csv", rows), ["'label'", "(2 without)"]


def _csv_empty_column(tmp_path):
    rows = [HOUSES[0]] + [r[:2] + [""] + r[3:] for r in HOUSES[1:]]
    return write_csv(tmp_path / "h.csv", rows), ["column 'area' is empty"]


def _csv_ragged(tmp_path):
    return write_csv(tmp_path / "h.csv", HOUSES[:3] + [["3", "paris"]]), ["line 4"]


def _npz_mismatch(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.ones((40, 2)), y=np.ones(39))
    return tmp_path / "a.npz", ["a.npz", "40 samples but y has 39"]


def _npz_nan(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.ones((40, 2)), y=np.r_[np.ones(39), np.nan])
    return tmp_path / "a.npz", ["NaN"]


def _npz_tiny(tmp_path):
    np.savez(tmp_path / "tiny.npz", x=np.ones((2, 3)), y=np.array([0, 1]))
    return tmp_path / "tiny.npz", ["tiny has 2 samples, too few"]


@pytest.mark.parametrize(
    "make",
    [_npz_tiny, _bad_folder_corrupt, _bad_folder_single, _bad_folder_one_class, _empty_folder, _missing,
     _csv_nan_target, _csv_empty_column, _csv_ragged, _npz_mismatch, _npz_nan],
)  # fmt: skip
def test_cli_bad_data(cli_error, tmp_path, make):
    data, needles = make(tmp_path)
    assert_cli_bad_data(cli_error, tmp_path, data, *needles, extra=["--target", "label"] if "csv" in str(data) else [])


def test_cli_csv_missing_target_column(cli_error, tmp_path):
    path = write_csv(tmp_path / "h.csv", HOUSES)
    assert_cli_bad_data(cli_error, tmp_path, path, "did you mean 'price'?", extra=["--target", "prise"])
    assert_cli_bad_data(cli_error, tmp_path, path, "--target COLUMN")
