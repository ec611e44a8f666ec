"""The generated shapes segmentation dataset: fields, determinism, class balance, image/mask agreement, cache."""

import numpy as np
import pytest

from idealfit.data import shapes
from idealfit.data.shapes import load_shapes_data, make_shapes


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IDEALFIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IDEALFIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        return make_shapes(300, size=48, seed=3)


def test_fields_shapes_and_ranges(ds):
    assert (ds.name, ds.task, ds.kind) == ("shapes", "segmentation", "image")
    assert ds.class_names == ["background", "circle", "rectangle", "triangle"] and ds.num_classes == 4
    assert ds.x.shape == (300, 3, 48, 48) and ds.x.dtype == np.float32
    assert ds.y.shape == (300, 48, 48) and ds.y.dtype == np.int64
    assert ds.input_shape == (3, 48, 48) and len(ds) == 300
    assert ds.x.min() >= 0 and ds.x.max() <= 1
    np.testing.assert_array_equal(ds.x * 255, np.rint(ds.x * 255))  # 8-bit levels, as from an image file
    assert set(np.unique(ds.y)) == {0, 1, 2, 3}
    assert ds.meta == {"source": "generated", "side": 48, "seed": 3, "version": shapes.VERSION, "resize": "crop"}


def test_same_seed_same_data_other_seed_other_data(cache, tmp_path, monkeypatch):
    a = make_shapes(20, size=32, seed=1)
    monkeypatch.setenv("IDEALFIT_CACHE", str(tmp_path / "other"))  # generated again, not read back
    b = make_shapes(20, size=32, seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = make_shapes(20, size=32, seed=2)
    assert not np.array_equal(a.y, c.y) and not np.array_equal(a.x, c.x)


def test_every_class_present_in_balance(ds):
    share = np.bincount(ds.y.ravel(), minlength=4) / ds.y.size
    assert 0.75 < share[0] < 0.93  # mostly background, as in real segmentation data
    fg = share[1:] / share[1:].sum()
    assert fg.min() > 0.2 and fg.max() < 0.45  # the three shapes cover about a third each
    present = np.stack([(ds.y == k).any(axis=(1, 2)) for k in range(1, 4)], 1)  # (N, 3)
    assert present.any(1).all()  # every image shows at least its last-drawn shape
    per_image = present.sum(1)
    assert per_image.min() == 1 and per_image.max() == 3  # 1 to 4 shapes: some images hold all 3 classes


def test_mask_edges_are_image_edges(ds):
    """Colour jumps where the mask changes class and is flat inside a region: mask and image agree."""
    def jumps(x, y):
        step = np.abs(np.diff(x, axis=-1)).sum(1)  # (N, S, S-1) colour change to the right neighbour
        edge = np.diff(y, axis=-1) != 0
        return step[edge].mean(), step[~edge].mean()

    across, within = jumps(ds.x, ds.y)
    assert across > 3 * within
    # where one shape hides another, the mask's edge is the later shape's outline (occlusion alike)
    left, right = ds.y[:, :, :-1], ds.y[:, :, 1:]
    overlap = (left != right) & (left > 0) & (right > 0)
    assert overlap.sum() > 300
    assert np.abs(np.diff(ds.x, axis=-1)).sum(1)[overlap].mean() > 3 * within
    shifted = np.roll(ds.y, 3, axis=-1)  # a mask three pixels off no longer lines up
    across_off, _ = jumps(ds.x, shifted)
    assert across_off < 0.3 * across


def test_colour_does_not_give_the_class(ds):
    """The three shapes' mean colours are close, and the background spans the same colours."""
    rgb = ds.x.transpose(0, 2, 3, 1)  # (N, S, S, 3)
    means = np.stack([rgb[ds.y == k].mean(0) for k in range(4)])  # (4, 3)
    assert np.abs(means[1:] - means[1:].mean(0)).max() < 0.05
    assert np.abs(means[0] - means[1:].mean(0)).max() < 0.1
    for k in range(1, 4):  # each shape's colours cover most of the cube, like the background's
        spread = np.percentile(rgb[ds.y == k], [5, 95], axis=0)
        assert (spread[1] - spread[0] > 0.6).all()


def test_cache_is_reused_and_named_by_its_parameters(cache, monkeypatch):
    first = make_shapes(10, size=16, seed=4)
    files = [p.name for p in cache.iterdir()]
    assert files == [f"shapes-v{shapes.VERSION}-n10-size16-seed4.npz"]  # no temporary file left

    def boom(*args):
        raise AssertionError("generated although the cache exists")

    monkeypatch.setattr(shapes, "_generate", boom)
    again = make_shapes(10, size=16, seed=4)
    np.testing.assert_array_equal(again.x, first.x)
    np.testing.assert_array_equal(again.y, first.y)
    with pytest.raises(AssertionError, match="generated although"):
        make_shapes(10, size=16, seed=5)  # another seed is another file


def test_corrupt_or_mismatched_cache_is_regenerated(cache):
    first = make_shapes(6, size=16, seed=0)
    path = next(cache.iterdir())
    path.write_bytes(b"not an npz file")  # e.g. a crash of another tool mid-write
    again = make_shapes(6, size=16, seed=0)
    np.testing.assert_array_equal(again.x, first.x)
    with np.load(path) as f:
        assert f["x"].shape == (6, 3, 16, 16) and f["x"].dtype == np.uint8
        np.savez(path, x=f["x"][:3], y=f["y"][:3])  # a file of the right name but the wrong arrays
    np.testing.assert_array_equal(make_shapes(6, size=16, seed=0).y, first.y)


def test_bad_arguments_and_defaults(monkeypatch):
    with pytest.raises(ValueError, match="size >= 16"):
        make_shapes(4, size=8)
    with pytest.raises(ValueError, match="n >= 1"):
        make_shapes(0)
    calls = []
    monkeypatch.setattr(shapes, "make_shapes", lambda *a, **k: calls.append((a, k)))
    load_shapes_data()
    assert calls == [((), {})]  # the defaults: 3000 images of 64x64, seed 0


def test_each_shape_has_a_disc_area_and_its_own_outline():
    """The drawing functions against hand geometry: areas near π r² (the classes differ in outline, not
    size) and each outline's fill of its bounding box: π/4 for a disc, 1 for an axis-aligned rectangle."""
    size, n = 200, 64
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    yy, xx = coords[:, None], coords[None, :]
    centre = np.full((n, 2), 0.5, np.float32)
    scale = np.full(n, 0.15, np.float32)
    disc_area = np.pi * 0.15**2 * size**2
    rng = np.random.default_rng(0)

    def fill(masks):  # (n,) fraction of each bounding box covered
        rows, cols = masks.any(2), masks.any(1)
        return masks.sum((1, 2)) / (rows.sum(1) * cols.sum(1))

    circles = shapes._circle(centre, scale, rng, yy, xx)
    np.testing.assert_allclose(circles.sum((1, 2)), disc_area, rtol=0.01)
    np.testing.assert_allclose(fill(circles), np.pi / 4, rtol=0.02)
    rects = shapes._rectangle(centre, scale, rng, yy, xx)
    np.testing.assert_allclose(rects.sum((1, 2)), disc_area, rtol=0.05)
    fills = fill(rects)
    assert 0.3 < np.mean(fills > 0.98) < 0.7  # about half axis-aligned (a full box), the others rotated
    assert fills.min() > 0.38  # a 1:2.5 rectangle turned 45° fills 2.5 / 3.5² · 2 ≈ 0.41 of its box
    tris = shapes._triangle(centre, scale, rng, yy, xx)
    area = tris.sum((1, 2))
    assert 0.6 * disc_area < area.min() and area.max() < 1.4 * disc_area and area.std() > 0.03 * disc_area
    assert (fill(tris) < 0.62).all()  # a triangle fills at most half its box (+ pixel rounding)
