"""Embedded datasets: shapes, ranges and classes checked against their sources (scikit-learn, mnist1d)."""

import os

import numpy as np
import pytest

from idealfit.data.embedded import (
    EMBEDDED,
    O_PATTERN,
    X_PATTERN,
    load_diabetes_data,
    load_digits_data,
    load_mnist1d_data,
    make_xo,
)

# Hand-written from the description "X and O patterns" with the deck's legend
# ("Light blue circle = -1, Black circle = 1"): dark (+1) strokes on a light (-1) background.
DECK_X = np.array([
    [1, -1, -1, -1, 1],
    [-1, 1, -1, 1, -1],
    [-1, -1, 1, -1, -1],
    [-1, 1, -1, 1, -1],
    [1, -1, -1, -1, 1],
], np.float32)  # fmt: skip
DECK_O = np.array([
    [-1, 1, 1, 1, -1],
    [1, -1, -1, -1, 1],
    [1, -1, -1, -1, 1],
    [1, -1, -1, -1, 1],
    [-1, 1, 1, 1, -1],
], np.float32)  # fmt: skip


def test_registry_lists_every_embedded_dataset():
    assert list(EMBEDDED) == ["digits", "xo", "diabetes", "mnist1d", "shapes", "labels2shapes", "edges2shapes",
                             "sunspots", "sunspots_monthly", "co2", "elnino", "words", "spoken_digits",
                             "spoken_digits_noisy"]
    for loader, description in EMBEDDED.values():
        assert callable(loader) and description


# --- digits ---------------------------------------------------------------------------------------


def test_digits_matches_scikit_learn():
    from sklearn.datasets import load_digits

    ds = load_digits_data()
    ref = load_digits()
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    np.testing.assert_allclose(ds.x[:, 0], ref.images / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, ref.target)
    assert ds.y.dtype == np.int64
    assert (ds.task, ds.kind, ds.num_classes) == ("classification", "image", 10)
    assert ds.class_names == [str(i) for i in range(10)]
    assert ds.input_shape == (1, 8, 8) and len(ds) == 1797


# --- xo -------------------------------------------------------------------------------------------


def test_xo_patterns_are_the_x_and_the_o():
    np.testing.assert_array_equal(X_PATTERN, DECK_X)
    np.testing.assert_array_equal(O_PATTERN, DECK_O)


def test_xo_shape_values_and_balance():
    ds = make_xo()
    assert ds.x.shape == (600, 1, 5, 5) and ds.x.dtype == np.float32
    assert set(np.unique(ds.x)) == {-1.0, 1.0}  # ±1 pixels, not rescaled
    assert (ds.task, ds.kind, ds.class_names) == ("classification", "image", ["X", "O"])
    np.testing.assert_array_equal(np.bincount(ds.y), [300, 300])
    assert len(make_xo(n=40)) == 40


def test_xo_is_deterministic_and_seeded():
    a, b = make_xo(), make_xo()
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(make_xo(seed=1).x, a.x)


def _shifted(pattern, dy, dx):
    """The pattern moved by (dy, dx) pixels, with -1 (light) coming in at the border."""
    pad = np.full((7, 7), -1.0, np.float32)
    pad[1:6, 1:6] = pattern
    return pad[1 - dy:6 - dy, 1 - dx:6 - dx]


def test_xo_samples_are_small_deformations_of_their_class_pattern():
    ds = make_xo()
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for img, label in zip(ds.x[:, 0], ds.y, strict=True):
        pattern = (DECK_X, DECK_O)[label]
        # a one-pixel shift at most, then at most two flipped pixels
        distance = min(int((img != _shifted(pattern, dy, dx)).sum()) for dy, dx in shifts)
        assert distance <= 2
    # some samples are undeformed, and deformations do happen
    exact = [np.array_equal(img, (DECK_X, DECK_O)[lab]) for img, lab in zip(ds.x[:, 0], ds.y, strict=True)]
    assert 0 < sum(exact) < len(ds) // 2
    assert any(np.array_equal(img, DECK_X) for img in ds.x[ds.y == 0, 0])
    assert any(np.array_equal(img, DECK_O) for img in ds.x[ds.y == 1, 0])


# --- diabetes -------------------------------------------------------------------------------------


def test_diabetes_table_matches_scikit_learn():
    from sklearn.datasets import load_diabetes

    ds = load_diabetes_data()
    ref = load_diabetes()
    assert ds.x.shape == (442, 10) and ds.x.dtype == object
    assert all(isinstance(v, float) for v in ds.x[0])
    np.testing.assert_allclose(ds.x.astype(np.float64), ref.data)
    np.testing.assert_allclose(ds.y, ref.target, rtol=1e-6)
    assert ds.y.dtype == np.float32
    assert (ds.task, ds.kind, ds.columns) == ("regression", "table", list(ref.feature_names))
    assert ds.class_names is None and ds.num_classes == 0


# --- mnist1d --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One generation into a private cache, recording what `make_dataset` returned for reference."""
    import mnist1d.data

    cache = tmp_path_factory.mktemp("cache")
    calls = []
    real = mnist1d.data.make_dataset

    def spy(args):
        calls.append(real(args))
        return calls[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IDEALFIT_CACHE", str(cache))
        mp.setattr(mnist1d.data, "make_dataset", spy)
        ds = load_mnist1d_data()
    assert len(calls) == 1
    return cache, ds, calls[0]


def test_mnist1d_shapes_and_standard_split(generated):
    _, ds, ref = generated
    assert ds.x.shape == (5000, 1, 40) and ds.x.dtype == np.float32
    assert ds.y.shape == (5000,) and ds.y.dtype == np.int64
    assert (ds.task, ds.kind, ds.num_classes) == ("classification", "signal", 10)
    assert ds.input_shape == (1, 40)
    np.testing.assert_array_equal(ds.fixed_test, np.arange(4000, 5000))  # its standard 4000/1000 split
    np.testing.assert_allclose(ds.x[:4000, 0], ref["x"], rtol=1e-6)
    np.testing.assert_allclose(ds.x[4000:, 0], ref["x_test"], rtol=1e-6)
    np.testing.assert_array_equal(ds.y[:4000], ref["y"])
    np.testing.assert_array_equal(ds.y[4000:], ref["y_test"])


def test_mnist1d_cache_is_reused(generated, monkeypatch):
    import mnist1d.data

    cache, first, _ = generated
    files = list(cache.glob("mnist1d-*.npz"))
    assert len(files) == 1
    mtime = os.stat(files[0]).st_mtime_ns

    def boom(args):
        raise AssertionError("make_dataset called although the cache exists")

    monkeypatch.setenv("IDEALFIT_CACHE", str(cache))
    monkeypatch.setattr(mnist1d.data, "make_dataset", boom)
    again = load_mnist1d_data()
    np.testing.assert_array_equal(again.x, first.x)
    np.testing.assert_array_equal(again.y, first.y)
    np.testing.assert_array_equal(again.fixed_test, first.fixed_test)
    assert os.stat(files[0]).st_mtime_ns == mtime
    assert [p.name for p in cache.iterdir()] == [files[0].name]  # no temporary files left behind


def test_mnist1d_corrupt_cache_is_regenerated(generated, monkeypatch, tmp_path):
    import mnist1d.data

    _, first, ref = generated
    cache = tmp_path / "cache"
    cache.mkdir()
    name = next(generated[0].glob("mnist1d-*.npz")).name
    (cache / name).write_bytes(b"not an npz file")  # e.g. a crash of another tool mid-write
    monkeypatch.setenv("IDEALFIT_CACHE", str(cache))
    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda args: ref)  # skip the 2-second generation
    again = load_mnist1d_data()
    np.testing.assert_array_equal(again.x, first.x)
    with np.load(cache / name) as f:
        assert int(f["n_train"]) == 4000
