"""Paired image data for pix2pix: the generated labels2shapes and edges2shapes, user folders in both
layouts with real PNG files on disk, and the PNG writer of `predict --out`."""

import numpy as np
import pytest
from PIL import Image

from idealfit.data import pairs, shapes
from idealfit.data.images import open_image
from idealfit.data.masks import class_colours
from idealfit.data.pairs import (
    is_pair_folder,
    labels2shapes_masks,
    load_pair_folder,
    make_edges2shapes,
    make_labels2shapes,
    write_image_png,
)
from idealfit.errors import UserError


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


# --- user folders -------------------------------------------------------------------------------


def _rgb(h=8, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _save(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _folders(root, found, *, b_ext="png"):
    """root/A/<name>.png and root/B/<name>.<b_ext> from {name: (A pixels, B pixels)}."""
    for name, (a, b) in found.items():
        _save(root / "A" / f"{name}.png", a)
        _save(root / "B" / f"{name}.{b_ext}", b)
    return root


def _side_by_side(root, found):
    """root/<name>.png holding A | B, from {name: (A pixels, B pixels)}."""
    for name, (a, b) in found.items():
        _save(root / f"{name}.png", np.concatenate([a, b], axis=1))
    return root


def _chw(pixels):
    return (pixels.transpose(2, 0, 1) if pixels.ndim == 3 else pixels[None]) / 255.0


def test_folders_round_trip_pairs_by_name(tmp_path):
    gray = np.random.default_rng(9).integers(0, 256, size=(8, 8), dtype=np.uint8)
    found = {"a": (gray, _rgb(seed=1)), "sub/c": (gray[::-1].copy(), _rgb(seed=2)), "b": (gray.T.copy(), _rgb(seed=3))}
    _folders(tmp_path, found, b_ext="bmp")  # B's extension may differ: pairs match by name without it
    (tmp_path / "A" / "notes.txt").write_text("not an image")
    assert is_pair_folder(tmp_path) and not is_pair_folder(tmp_path / "A")
    ds = load_pair_folder(tmp_path)
    assert (ds.name, ds.task, ds.kind, ds.class_names) == (tmp_path.name, "translation", "image_pair", None)
    assert ds.x.shape == (3, 1, 8, 8) and ds.y.shape == (3, 3, 8, 8)  # gray inputs, colour targets
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.float32
    for i, name in enumerate(["a", "b", "sub/c"]):  # sorted by name
        np.testing.assert_allclose(ds.x[i], _chw(found[name][0]), atol=1e-6)
        np.testing.assert_allclose(ds.y[i], _chw(found[name][1]), atol=1e-6)
    assert ds.meta["pairs"] == "folders" and ds.meta["skipped_files"] == ["A/notes.txt"]
    assert (ds.meta["image_size"], ds.meta["channels"], ds.meta["target_channels"]) == (8, 1, 3)
    assert ds.meta["resize"] == "crop" and ds.meta["fingerprint"].startswith("sha256:")


def test_side_by_side_round_trip_matches_folders(tmp_path):
    found = {"x1": (_rgb(seed=4), _rgb(seed=5)), "x0": (_rgb(seed=6), _rgb(seed=7))}
    ds = load_pair_folder(_side_by_side(tmp_path / "sbs", found), pairs="side_by_side")
    assert ds.x.shape == (2, 3, 8, 8) and ds.y.shape == (2, 3, 8, 8)
    for i, name in enumerate(["x0", "x1"]):
        np.testing.assert_allclose(ds.x[i], _chw(found[name][0]), atol=1e-6)  # left half is A
        np.testing.assert_allclose(ds.y[i], _chw(found[name][1]), atol=1e-6)
    assert ds.meta["pairs"] == "side_by_side" and ds.meta["image_size"] == 8
    same = load_pair_folder(_folders(tmp_path / "ab", found))
    np.testing.assert_array_equal(ds.x, same.x)
    np.testing.assert_array_equal(ds.y, same.y)


def test_a_side_by_side_folder_trained_without_the_setting_is_pointed_at_it(tmp_path, cli_error):
    # newcomer 7, R14: A|B files got "no class sub-folders" with no word of data.pairs=side_by_side
    found = {f"p{i}": (_rgb(seed=i), _rgb(seed=10 + i)) for i in range(3)}
    sbs = _side_by_side(tmp_path / "sbs", found)
    cli_error(["train", "--data", str(sbs), "--epochs", "1"], "no class sub-folders", "--set data.pairs=side_by_side")
    square = tmp_path / "square"  # loose images that are not A|B: no such hint
    for name, (a, _) in found.items():
        _save(square / f"{name}.png", a)
    line = cli_error(["train", "--data", str(square), "--epochs", "1"], "no class sub-folders")
    assert "data.pairs" not in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("resize", ["crop", "squash", "pad"])
@pytest.mark.parametrize("layout", ["folders", "side_by_side"])
def test_resize_keeps_a_and_b_aligned(tmp_path, resize, layout):
    """A and B hold the same noise, 12 wide and 20 high: whatever the resize does, it does to both alike,
    and exactly what open_image does to the A file (what predict reads)."""
    found = {f"p{k}": (_rgb(20, 12, seed=k), _rgb(20, 12, seed=k)) for k in range(3)}
    found["p1"] = (found["p1"][0], _rgb(20, 12, seed=99))  # a pair whose target differs must not match
    make = _folders if layout == "folders" else _side_by_side
    ds = load_pair_folder(make(tmp_path / "d", found), image_size=10, resize=resize, pairs=layout)
    assert ds.x.shape == (3, 3, 10, 10) and ds.y.shape == (3, 3, 10, 10)
    np.testing.assert_array_equal(ds.x[[0, 2]], ds.y[[0, 2]])
    assert not np.array_equal(ds.x[1], ds.y[1])
    _save(tmp_path / "p0.png", found["p0"][0])
    np.testing.assert_array_equal(ds.x[0], open_image(tmp_path / "p0.png", size=10, channels=3, resize=resize))


def test_side_by_side_halves_decode_like_open_image_for_16_bit_gray(tmp_path):
    wide = np.random.default_rng(1).integers(0, 65536, size=(6, 12), dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / "deep.png")
    Image.fromarray(wide[:, :6].copy()).save(tmp_path / "left.png")
    ds = load_pair_folder(tmp_path, pairs="side_by_side", image_size=4, resize="crop")
    expected = open_image(tmp_path / "left.png", size=4, channels=1, resize="crop")
    np.testing.assert_array_equal(ds.x[0], expected)
    assert ds.meta["channels"] == 1 and len(np.unique(ds.x)) > 4  # scaled by 65535, not clipped to white


def test_channels_option_applies_to_both_sides(tmp_path):
    found = {"a": (_rgb(seed=1), _rgb(seed=2))}
    ds = load_pair_folder(_folders(tmp_path, found), channels=1)
    assert ds.x.shape == (1, 1, 8, 8) and ds.y.shape == (1, 1, 8, 8)
    assert (ds.meta["channels"], ds.meta["target_channels"]) == (1, 1)
    expected = np.asarray(Image.fromarray(found["a"][1]).convert("L"), np.float32) / 255.0
    np.testing.assert_allclose(ds.y[0, 0], expected, atol=1e-6)


def test_image_size_defaults_to_the_first_pair_at_most_64(tmp_path):
    _folders(tmp_path, {"a": (_rgb(80, 70), _rgb(80, 70, seed=1))})
    assert load_pair_folder(tmp_path).x.shape == (1, 3, 64, 64)
    _side_by_side(tmp_path / "s", {"a": (_rgb(10, 12), _rgb(10, 12, seed=1))})
    assert load_pair_folder(tmp_path / "s", pairs="side_by_side").x.shape == (1, 3, 12, 12)  # a half's side


# --- user errors: one line naming the file ------------------------------------------------------


def _error(root, **options):
    with pytest.raises(UserError) as info:
        load_pair_folder(root, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_a_or_b_folder(tmp_path):
    (tmp_path / "A").mkdir()
    assert "has no B/ folder" in _error(tmp_path) and "data.pairs=side_by_side" in _error(tmp_path)
    (tmp_path / "A").rmdir()
    (tmp_path / "B").mkdir()
    assert f"{tmp_path} has no A/ folder" in _error(tmp_path)


def test_empty_folders(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "readme.md").write_text("nothing here")
    assert "have no images" in _error(tmp_path)
    (tmp_path / "s").mkdir()
    assert f"{tmp_path / 's'} has no images" in _error(tmp_path / "s", pairs="side_by_side")


def test_missing_partners_are_named(tmp_path):
    _folders(tmp_path, {"a": (_rgb(), _rgb())})
    _save(tmp_path / "A" / "sub" / "lonely.png", _rgb())
    msg = _error(tmp_path)
    assert f"{tmp_path / 'A' / 'sub' / 'lonely.png'} has no partner in B/" in msg
    assert str(tmp_path / "B" / "sub" / "lonely") + ".png" in msg
    (tmp_path / "A" / "sub" / "lonely.png").unlink()
    _save(tmp_path / "B" / "orphan.png", _rgb())
    assert f"{tmp_path / 'B' / 'orphan.png'} has no partner in A/" in _error(tmp_path)


def test_size_mismatch_names_both_files(tmp_path):
    _folders(tmp_path, {"a": (_rgb(), _rgb()), "b": (_rgb(8, 8), _rgb(8, 9))})
    msg = _error(tmp_path)
    assert f"{tmp_path / 'A' / 'b.png'} is 8x8 pixels but its partner {tmp_path / 'B' / 'b.png'} is 9x8" in msg


def test_unreadable_images_are_named(tmp_path):
    _folders(tmp_path, {"a": (_rgb(), _rgb())})
    (tmp_path / "B" / "a.png").write_bytes(b"not a png")
    (tmp_path / "A" / "a.png").unlink()
    _save(tmp_path / "A" / "a.png", _rgb())
    msg = _error(tmp_path)
    assert f"{tmp_path / 'B' / 'a.png'} is not a readable image" in msg
    assert "skip_unreadable" not in msg  # an option paired folders do not offer
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    assert f"{tmp_path / 's' / 'broken.jpg'} is not a readable image" in _error(tmp_path / "s", pairs="side_by_side")


def test_side_by_side_odd_width_is_named(tmp_path):
    _save(tmp_path / "ok.png", _rgb(8, 16))
    _save(tmp_path / "odd.png", _rgb(8, 15))
    assert f"{tmp_path / 'odd.png'} is 15 pixels wide, an odd width" in _error(tmp_path, pairs="side_by_side")


def test_side_by_side_refuses_a_folders_layout(tmp_path):
    _folders(tmp_path, {"a": (_rgb(), _rgb())})
    assert "set data.pairs=folders" in _error(tmp_path, pairs="side_by_side")


def test_two_files_of_one_name_are_ambiguous(tmp_path):
    _folders(tmp_path, {"a": (_rgb(), _rgb())})
    _save(tmp_path / "A" / "a.bmp", _rgb())
    msg = _error(tmp_path)
    assert str(tmp_path / "A" / "a.bmp") in msg and str(tmp_path / "A" / "a.png") in msg and "same name" in msg


def test_bad_options_are_our_bug_not_the_users(tmp_path):
    _folders(tmp_path, {"a": (_rgb(), _rgb())})
    for options in ({"resize": "stretch"}, {"pairs": "stacked"}, {"channels": 2}):
        with pytest.raises(ValueError, match="side_by_side"):
            load_pair_folder(tmp_path, **options)


# --- predict --out ------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_write_image_png_round_trips(tmp_path, channels):
    levels = np.random.default_rng(channels).integers(0, 256, size=(channels, 5, 7)) / 255.0
    image = levels.astype(np.float32)
    image[0, 0, 0], image[0, 0, 1] = -0.2, 1.3  # clipped to 0 and 1
    path = write_image_png(tmp_path / "out.png", image)
    assert path == tmp_path / "out.png" and [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp left
    with Image.open(path) as im:
        assert im.mode == ("L" if channels == 1 else "RGB") and im.size == (7, 5)
    with Image.open(path) as im:
        back = np.asarray(im, np.float32) / 255.0
    back = back[None] if channels == 1 else back.transpose(2, 0, 1)
    expected = np.clip(image, 0, 1)
    np.testing.assert_allclose(back, expected, atol=1e-6)


def test_write_image_png_refuses_bad_arrays(tmp_path):
    with pytest.raises(ValueError, match=r"\(1 or 3, H, W\)"):
        write_image_png(tmp_path / "x.png", np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        write_image_png(tmp_path / "x.png", np.full((3, 4, 4), np.nan))
    assert not list(tmp_path.iterdir())
