"""Splits, preprocessing fitted on the training split only, and in-memory batching."""

import json
import math

import numpy as np
import pytest
import torch

from idealfit.config import DataConfig
from idealfit.data.base import Dataset, encode_labels, infer_task
from idealfit.data.batching import TensorBatches
from idealfit.data.prepare import prepare, transform_inputs
from idealfit.data.preprocess import TablePreprocessor, channel_stats
from idealfit.data.split import small_class_note, split_indices
from idealfit.errors import UserError


def classes_dataset(counts=(150, 90, 60), *, kind="image"):
    """An imbalanced classification set: class k has counts[k] samples, shuffled."""
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    y = np.random.default_rng(0).permutation(y).astype(np.int64)
    x = np.random.default_rng(1).random((len(y), 1, 4, 4)).astype(np.float32)
    return Dataset("toy", x, y, "classification", kind, class_names=[str(k) for k in range(len(counts))])


def split(ds, seed=0, val=0.15, test=0.15):
    return split_indices(ds, val_fraction=val, test_fraction=test, seed=seed)


# --- split ----------------------------------------------------------------------------------------


def test_split_is_disjoint_and_covers_every_index():
    ds = classes_dataset()
    s = split(ds)
    parts = [s["train"], s["val"], s["test"]]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(len(ds)))
    assert sum(len(p) for p in parts) == len(ds)  # disjoint: no index twice
    assert all(np.all(np.diff(p) > 0) for p in parts)  # sorted, unique
    assert len(s["test"]) == 45 and len(s["val"]) == 45 and len(s["train"]) == 210  # 15% / 15% / 70% of 300
    assert s["seed"] == 0


def test_split_is_deterministic_from_the_seed():
    ds = classes_dataset()
    a, b = split(ds, seed=7), split(ds, seed=7)
    for k in ("train", "val", "test"):
        np.testing.assert_array_equal(a[k], b[k])
    c = split(ds, seed=8)
    assert not np.array_equal(a["test"], c["test"]) and not np.array_equal(a["val"], c["val"])


def test_split_is_stratified():
    ds = classes_dataset()
    s = split(ds)
    assert s["stratified"] is True
    whole = np.bincount(ds.y) / len(ds)  # 0.5, 0.3, 0.2
    for k in ("train", "val", "test"):
        share = np.bincount(ds.y[s[k]], minlength=3) / len(s[k])
        np.testing.assert_allclose(share, whole, atol=0.03)


def test_regression_split_is_not_stratified():
    ds = Dataset("r", np.ones((100, 2), object), np.linspace(0, 1, 100).astype(np.float32), "regression", "table",
                 columns=["a", "b"])  # fmt: skip
    s = split(ds, val=0.2, test=0.1)
    assert s["stratified"] is False
    assert (len(s["train"]), len(s["val"]), len(s["test"])) == (70, 20, 10)


def test_a_class_of_one_goes_to_train_and_the_other_classes_stay_stratified(tmp_path):
    """The newcomer's folder: 16 + 16 examples and a class of one. sklearn cannot stratify the one, which used
    to switch stratification off for every class (a 16-example class then got no validation example)."""
    from PIL import Image

    from idealfit.data.images import load_image_folder

    rng = np.random.default_rng(0)
    for name, n in (("noise", 16), ("one", 1), ("tone", 16)):
        (tmp_path / name).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "one" / "1.png").write_bytes((tmp_path / "one" / "0.png").read_bytes())  # folders need 2 files
    ds = load_image_folder(tmp_path, image_size=8, channels=1, max_memory_mb=100)
    keep = np.flatnonzero(ds.y != 1)[:32].tolist() + [int(np.flatnonzero(ds.y == 1)[0])]
    ds.x, ds.y = ds.x[keep], ds.y[keep]  # one example of 'one'
    for seed in range(5):
        s = split(ds, seed=seed)
        assert s["stratified"] is True
        per = {k: np.bincount(ds.y[s[k]], minlength=3).tolist() for k in ("train", "val", "test")}
        assert per["train"][1] == 1 and per["val"][1] == 0 and per["test"][1] == 0  # the single one trains
        for c in (0, 2):  # 16 each: 11-12 / 2 / 2-3, never none in a split
            assert per["val"][c] >= 2 and per["test"][c] >= 2, per
        np.testing.assert_array_equal(np.sort(np.concatenate([s["train"], s["val"], s["test"]])), np.arange(33))
        assert small_class_note(ds, s) == (
            "warning: class 'one' (1 example, none in val or test) is too small to appear in every split: its scores "
            "there are missing (the report leaves it out of the macro average); add examples, or merge or drop the class")


def test_an_unstratified_split_does_not_call_a_big_class_too_small():
    """Six classes of 3 and one of 10 in 28 samples: a 15% split of 5 is smaller than 7 classes, so sklearn cannot
    stratify and the split falls back to random. Every class still trains; the 10-example class, when it misses a
    split by chance, is said so, not called too small."""
    ds = classes_dataset(counts=(3, 3, 3, 3, 3, 3, 10))
    seen = 0
    for seed in range(10):
        s = split(ds, seed=seed)
        assert s["stratified"] is False
        np.testing.assert_array_equal(np.sort(np.concatenate([s["train"], s["val"], s["test"]])), np.arange(28))
        assert set(ds.y[s["train"]]) == set(range(7))  # each class keeps an example to learn from
        note = small_class_note(ds, s)
        if not all(np.any(ds.y[s[k]] == 6) for k in ("val", "test")):
            seen += 1
            small, chance = note.split("; the split could not be stratified")
            assert "'6'" not in small and "'6' (10 examples, none in" in chance and "missed a split by chance" in chance
    assert seen  # the case happened at least once in ten seeds


def test_fixed_test_split_is_kept():
    ds = classes_dataset(counts=(50, 50))
    ds.fixed_test = np.arange(80, 100)
    s = split(ds, seed=3)
    np.testing.assert_array_equal(s["test"], np.arange(80, 100))
    assert len(np.intersect1d(s["train"], s["test"])) == 0 and len(np.intersect1d(s["val"], s["test"])) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([s["train"], s["val"]])), np.arange(80))
    assert len(s["val"]) == math.ceil(80 * 0.15 / 0.85)  # scikit-learn rounds the held-out part up


def test_too_few_samples_for_three_splits():
    ds = Dataset("two", np.zeros((2, 1, 2, 2), np.float32), np.array([0, 1]), "classification", "image",
                 class_names=["a", "b"])  # fmt: skip
    with pytest.raises(UserError, match="too few"):
        split(ds)


# --- preprocessing: fitted on the training split only ----------------------------------------------


def table_dataset():
    """Train rows hold ordinary values; val/test rows hold huge ones that must not leak into the stats."""
    rows = [
        [1.0, "red", 10.0],
        [2.0, "blue", np.nan],
        [3.0, "red", 30.0],
        [np.nan, "green", 40.0],
        [1e6, "violet", 1e9],  # val
        [-1e6, "violet", -1e9],  # test
    ]
    x = np.array(rows, dtype=object)
    y = np.array([1.0, 2.0, 3.0, 4.0, 1e5, -1e5], np.float32)
    ds = Dataset("t", x, y, "regression", "table", columns=["a", "colour", "b"])
    return ds, {"train": np.arange(4), "val": np.array([4]), "test": np.array([5])}


def test_table_statistics_come_from_the_training_split_only():
    ds, idx = table_dataset()
    prep = prepare(ds, idx, cfg=DataConfig(clip_quantiles=None))  # the hand computation below does not clip
    t = prep.state["table"]
    a_train, b_train = np.array([1.0, 2.0, 3.0]), np.array([10.0, 30.0, 40.0])
    assert t["fill"] == [2.0, 30.0]  # imputation values: NaN-free medians of the train rows
    a_imputed, b_imputed = np.array([1.0, 2.0, 3.0, 2.0]), np.array([10.0, 30.0, 30.0, 40.0])
    np.testing.assert_allclose(t["offsets"], [a_imputed.mean(), b_imputed.mean()])
    np.testing.assert_allclose(t["scales"], [a_imputed.std(), b_imputed.std()])  # population std, as StandardScaler
    assert a_train.mean() == 2.0 and b_train.mean() == pytest.approx(80 / 3)
    assert t["categories"] == [["blue", "green", "red"]]  # "violet" only occurs outside train
    # hand computation of one transformed row: a=1, colour=red, b=10
    expected = [(1.0 - a_imputed.mean()) / a_imputed.std(), (10.0 - b_imputed.mean()) / b_imputed.std(), 0, 0, 1]
    np.testing.assert_allclose(prep.x["train"][0], expected, rtol=1e-6)
    assert prep.input_shape == (5,) and prep.x["val"].shape == (1, 5)


def test_unknown_category_at_transform_time_is_all_zeros():
    ds, idx = table_dataset()
    prep = prepare(ds, idx)
    np.testing.assert_array_equal(prep.x["val"][0, 2:], [0, 0, 0])  # "violet" never seen in training
    np.testing.assert_array_equal(prep.x["train"][3, 2:], [0, 1, 0])  # "green"


def test_missing_numeric_cell_is_imputed_with_the_train_median():
    ds, idx = table_dataset()
    prep = prepare(ds, idx)
    t = prep.state["table"]
    np.testing.assert_allclose(prep.x["train"][1, 1], (30.0 - t["offsets"][1]) / t["scales"][1], rtol=1e-6)
    np.testing.assert_allclose(prep.x["train"][3, 0], (2.0 - t["offsets"][0]) / t["scales"][0], rtol=1e-6)


def test_regression_targets_are_standardized_with_train_statistics():
    ds, idx = table_dataset()
    prep = prepare(ds, idx)
    mu, sd = np.mean([1.0, 2.0, 3.0, 4.0]), np.std([1.0, 2.0, 3.0, 4.0])
    assert prep.state["target"] == pytest.approx({"mean": mu, "std": sd})
    np.testing.assert_allclose(prep.y["train"], (np.array([1, 2, 3, 4]) - mu) / sd, rtol=1e-6)
    np.testing.assert_allclose(prep.y["val"], [(1e5 - mu) / sd], rtol=1e-6)
    assert prep.y["train"].dtype == np.float32 and prep.out_dim == 1


def test_classification_targets_are_left_as_class_ids():
    ds = classes_dataset()
    idx = split(ds)
    prep = prepare(ds, idx)
    np.testing.assert_array_equal(prep.y["test"], ds.y[idx["test"]])
    assert "target" not in prep.state and prep.out_dim == 3


def test_image_normalization_comes_from_the_training_split_only():
    ds = classes_dataset(counts=(10, 10))
    idx = {"train": np.arange(10), "val": np.arange(10, 15), "test": np.arange(15, 20)}
    ds.x[10:] = 1000.0  # val/test images are wildly off
    prep = prepare(ds, idx)
    assert prep.state["norm"]["mean"] == pytest.approx([float(ds.x[:10].mean(dtype=np.float64))])
    assert prep.state["norm"]["std"] == pytest.approx([float(ds.x[:10].std(dtype=np.float64))])
    np.testing.assert_array_equal(prep.x["val"], ds.x[10:15])  # images are normalized in the model, not here
    assert prep.input_shape == (1, 4, 4)


def test_channel_stats_per_channel():
    x = np.stack([np.zeros((5, 3, 3)), np.ones((5, 3, 3)) * 2], axis=1).astype(np.float32)  # (5, 2, 3, 3)
    x[:, 1, 0, 0] = 5.0
    mean, std = channel_stats(x)
    ref = torch.from_numpy(x).double()
    np.testing.assert_allclose(mean, ref.mean(dim=(0, 2, 3)).numpy())
    assert std[0] == 1.0  # a constant channel gets std 1, not 0 (no division by zero later)
    np.testing.assert_allclose(std[1], ref[:, 1].std(unbiased=False).item())


def test_table_preprocessor_round_trips_through_json():
    ds, idx = table_dataset()
    pre = TablePreprocessor(ds.columns).fit(ds.x[idx["train"]])
    d = pre.to_dict()
    again = TablePreprocessor.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    np.testing.assert_array_equal(again.transform(ds.x), pre.transform(ds.x))
    assert again.feature_names() == ["a", "b", "colour=blue", "colour=green", "colour=red"]
    assert again.n_features_out == 5


def test_transform_inputs_applies_a_saved_state():
    ds, idx = table_dataset()
    prep = prepare(ds, idx)
    state = json.loads(json.dumps(prep.state))  # as stored in preprocess.json
    np.testing.assert_array_equal(transform_inputs(state, ds.x[idx["test"]]), prep.x["test"])


def test_column_empty_in_the_training_split():
    x = np.array([[np.nan, 1.0], [np.nan, 2.0], [5.0, 3.0]], dtype=object)
    with pytest.raises(UserError, match="column 'a' has no values in the training split"):
        TablePreprocessor(["a", "b"]).fit(x[:2])


# --- labels and task inference --------------------------------------------------------------------


def test_encode_labels_sorts_naturally():
    ids, names = encode_labels(np.array([10.0, 2.0, 10.0, 1.0]))
    assert names == ["1", "2", "10"] and ids.tolist() == [2, 1, 2, 0]
    ids, names = encode_labels(np.array(["dog", "cat", "dog"]))
    assert names == ["cat", "dog"] and ids.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "y, task",
    [
        (np.array(["a", "b"]), "classification"),
        (np.arange(100) % 3, "classification"),
        (np.array([0.0, 1.0, 1.0, 0.0]), "classification"),
        (np.arange(100), "regression"),  # 100 distinct whole numbers: a count, not classes
        (np.linspace(0, 1, 10), "regression"),
    ],
)
def test_infer_task(y, task):
    assert infer_task(y) == task


# --- in-memory batching ---------------------------------------------------------------------------


def test_batches_cover_every_sample_once_per_epoch():
    n, bs = 103, 10
    x = torch.arange(n, dtype=torch.float32)[:, None] * 2  # (N, 1): x = 2 * y lets us check pairing
    y = torch.arange(n)
    batches = TensorBatches(x, y, batch_size=bs, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 11 and batches.num_samples == n
    orders = []
    for _ in range(2):
        seen = list(batches)
        assert len(seen) == 11 and [len(b[1]) for b in seen] == [10] * 10 + [3]
        for xb, yb in seen:
            torch.testing.assert_close(xb[:, 0], yb.float() * 2)
        order = torch.cat([yb for _, yb in seen])
        assert sorted(order.tolist()) == list(range(n))  # every sample exactly once
        orders.append(order)
    assert not torch.equal(orders[0], orders[1])  # a fresh order each epoch
    assert not torch.equal(orders[0], y)


def test_same_generator_seed_gives_the_same_order():
    x, y = torch.zeros(50, 2), torch.arange(50)

    def epochs(seed):
        b = TensorBatches(x, y, batch_size=8, generator=torch.Generator().manual_seed(seed))
        return [torch.cat([yb for _, yb in b]) for _ in range(3)]

    for a, b in zip(epochs(5), epochs(5), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(epochs(5)[0], epochs(6)[0])


def test_no_shuffle_keeps_the_stored_order():
    x, y = torch.arange(8.0)[:, None], torch.arange(8)
    b = TensorBatches(x, y, batch_size=3, shuffle=False)
    assert [yb.tolist() for _, yb in b] == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert len(b) == 3
    # a last batch of one sample joins the one before it (batch normalization cannot train on one)
    b = TensorBatches(x[:7], y[:7], batch_size=3, shuffle=False)
    assert [yb.tolist() for _, yb in b] == [[0, 1, 2], [3, 4, 5, 6]] and len(b) == 2


def test_a_class_too_small_for_every_split_is_warned_and_left_out_of_the_macro_average(tmp_path, capsys):
    """2 images of a class beside 20 of two others: the stratified split leaves it no test sample."""
    from PIL import Image

    from idealfit.cli import main

    rng = np.random.default_rng(0)
    for name, n in (("big", 20), ("large", 20), ("tiny", 2)):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / "imgs" / name / f"{i}.png")
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "imgs"), "--out", str(out), "--epochs", "1", "--no-progress",
                 "--set", "model.widths=[4]", "--set", "model.hidden=[8]"]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: class 'tiny' (2 examples, none in val or test) is too small to appear in every split: its "
                        "scores there are missing (the report leaves it out of the macro average); add examples, or "
                        "merge or drop the class"]
    assert "tiny has no test samples: n/a, and left out of the macro average." in (out / "report.html").read_text()
    ds = Dataset("even", np.zeros((60, 1, 2, 2), np.float32), np.repeat([0, 1, 2], 20), "classification", "image",
                 class_names=["a", "b", "c"])
    assert small_class_note(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0)) is None
