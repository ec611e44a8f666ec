"""Paired image data for pix2pix: the generated labels2shapes and edges2shapes, user folders in both
layouts with real PNG files on disk, and the PNG writer of `predict --out`."""

import numpy as np
import pytest

from idealfit.data import pairs, shapes
from idealfit.data.masks import class_colours
from idealfit.data.pairs import (
    labels2shapes_masks,
    make_edges2shapes,
    make_labels2shapes,
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IDEALFIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# --- generated datasets -------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "name", "channels"), [(make_labels2shapes, "labels2shapes", 3),
                                                         (make_edges2shapes, "edges2shapes", 1)])
def test_fields_shapes_dtypes_ranges(make, name, channels):
    ds = make(30, size=32, seed=4)
    assert (ds.name, ds.task, ds.kind, ds.class_names) == (name, "translation", "image_pair", None)
    assert ds.x.shape == (30, channels, 32, 32) and ds.x.dtype == np.float32
    assert ds.y.shape == (30, 3, 32, 32) and ds.y.dtype == np.float32 and len(ds) == 30
    for arr in (ds.x, ds.y):
        assert arr.min() >= 0 and arr.max() <= 1
        np.testing.assert_array_equal(arr * 255, np.rint(arr * 255))  # 8-bit levels, as from an image file
    assert ds.meta == {"source": "generated", "side": 32, "seed": 4, "version": pairs.VERSION, "resize": "crop"}


def test_target_is_the_shapes_rendering_and_masks_are_its_labels():
    """Built on the shapes generator: B and the masks are exactly make_shapes' images and masks."""
    ref = shapes.make_shapes(25, size=32, seed=7)
    for make in (make_labels2shapes, make_edges2shapes):
        np.testing.assert_array_equal(make(25, size=32, seed=7).y, ref.x)
    masks = labels2shapes_masks(25, size=32, seed=7)
    assert masks.dtype == np.int64
    np.testing.assert_array_equal(masks, ref.y)


@pytest.mark.parametrize("make", [make_labels2shapes, make_edges2shapes])
def test_same_seed_same_data_other_seed_other_data(make, tmp_path, monkeypatch):
    a = make(20, size=32, seed=1)
    monkeypatch.setenv("IDEALFIT_CACHE", str(tmp_path / "other"))  # generated again, not read back
    b = make(20, size=32, seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = make(20, size=32, seed=2)
    assert not np.array_equal(a.x, c.x) and not np.array_equal(a.y, c.y)


def test_label_colours_decode_back_to_the_mask_exactly():
    ds = make_labels2shapes(40, size=32, seed=5)
    masks = labels2shapes_masks(40, size=32, seed=5)
    colours = class_colours(4).astype(np.float32) / 255.0  # (4, 3) background, circle, rectangle, triangle
    assert len({tuple(c) for c in colours}) == 4  # four distinct colours
    rgb = ds.x.transpose(0, 2, 3, 1)  # (N, S, S, 3)
    hit = np.stack([(rgb == c).all(-1) for c in colours], -1)  # (N, S, S, 4) exact colour matches
    assert (hit.sum(-1) == 1).all()  # every pixel is exactly one class's colour
    np.testing.assert_array_equal(hit.argmax(-1), masks)
    assert set(np.unique(masks)) == {0, 1, 2, 3}


def test_edges_are_where_the_mask_changes():
    ds = make_edges2shapes(40, size=32, seed=6)
    mask = labels2shapes_masks(40, size=32, seed=6)
    pad = np.pad(mask, ((0, 0), (1, 1), (1, 1)), mode="edge")  # a border pixel has no outside neighbour
    centre = pad[:, 1:-1, 1:-1]
    neighbours = [pad[:, :-2, 1:-1], pad[:, 2:, 1:-1], pad[:, 1:-1, :-2], pad[:, 1:-1, 2:]]
    expected = np.any([n != centre for n in neighbours], axis=0)  # a 4-neighbour of another class
    assert set(np.unique(ds.x)) == {0.0, 1.0}
    np.testing.assert_array_equal(ds.x[:, 0] == 0, expected)  # black lines on white
    assert 0.02 < expected.mean() < 0.3  # outlines, not filled regions


def test_cache_is_written_once_and_reused(cache, monkeypatch):
    a = make_labels2shapes(12, size=32, seed=3)
    files = sorted(p.name for p in cache.iterdir())
    assert files == [f"labels2shapes-v{pairs.VERSION}.{shapes.VERSION}-n12-size32-seed3.npz"]

    def fail(*args):
        raise AssertionError("generated again instead of read from the cache")

    monkeypatch.setattr(shapes, "_generate", fail)
    b = make_labels2shapes(12, size=32, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert labels2shapes_masks(12, size=32, seed=3).shape == (12, 32, 32)  # read from the same file
    with pytest.raises(AssertionError, match="generated again"):
        make_edges2shapes(12, size=32, seed=3)  # another kind: its own file


def test_a_corrupt_cache_is_regenerated(cache):
    a = make_edges2shapes(10, size=32, seed=2)
    (path,) = cache.iterdir()
    path.write_bytes(b"not an npz")
    b = make_edges2shapes(10, size=32, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    with np.load(path) as f:
        assert f["a"].dtype == np.uint8 and f["b"].shape == (10, 3, 32, 32)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="size >= 16"):
        make_labels2shapes(10, size=8)
    with pytest.raises(ValueError, match="n >= 1"):
        make_edges2shapes(0)
