"""Segmentation folders (images/ + masks/), mask PNGs and overlays, with real files on disk."""

import numpy as np
import pytest
from PIL import Image

from idealfit.data.masks import (
    class_colours,
    is_mask_folder,
    load_mask_folder,
    overlay,
    write_mask_png,
    write_overlay_png,
)
from idealfit.errors import UserError


def _folder(root, pairs, *, image_ext="png"):
    """root/images/<name>.<ext> (RGB) and root/masks/<name>.png (palette) from {name: (rgb uint8, mask)}."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    for name, (rgb, mask) in pairs.items():
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "masks" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(root / "images" / f"{name}.{image_ext}")
        write_mask_png(root / "masks" / f"{name}.png", mask, num_classes=int(mask.max()) + 1)
    return root


def _sample(h=8, w=8, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), rng.integers(0, classes, size=(h, w))


def test_palette_masks_round_trip_with_their_images(tmp_path):
    pairs = {"a": _sample(seed=1), "b": _sample(seed=2), "sub/c": _sample(seed=3)}
    _folder(tmp_path, pairs)
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    with Image.open(tmp_path / "masks" / "a.png") as im:
        assert im.mode == "P"
        np.testing.assert_array_equal(np.asarray(im), pairs["a"][1])  # pixel values are the class ids
    ds = load_mask_folder(tmp_path)
    assert (ds.task, ds.kind, ds.name) == ("segmentation", "image", tmp_path.name)
    assert ds.x.shape == (3, 3, 8, 8) and ds.x.dtype == np.float32
    assert ds.y.shape == (3, 8, 8) and ds.y.dtype == np.int64
    assert ds.class_names == ["0", "1", "2"]
    for i, name in enumerate(["a", "b", "sub/c"]):  # sorted by name
        np.testing.assert_allclose(ds.x[i], pairs[name][0].transpose(2, 0, 1) / 255.0, atol=1e-6)
        np.testing.assert_array_equal(ds.y[i], pairs[name][1])
    assert ds.meta["skipped_files"] == ["images/notes.txt"]
    assert (ds.meta["image_size"], ds.meta["channels"], ds.meta["resize"]) == (8, 3, "crop")


def test_grayscale_masks_give_their_values_and_classes_txt_names_them(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    mask = np.array([[0, 1], [2, 0]], np.uint8)
    Image.fromarray(np.full((2, 2), 100, np.uint8)).save(tmp_path / "images" / "x.jpg")  # gray JPEG
    Image.fromarray(mask).save(tmp_path / "masks" / "x.png")  # mode L
    (tmp_path / "classes.txt").write_text("background\ncat\ndog\nbird\n\n")
    ds = load_mask_folder(tmp_path)
    assert ds.class_names == ["background", "cat", "dog", "bird"]  # class 3 named though unused
    np.testing.assert_array_equal(ds.y[0], mask)
    assert ds.x.shape == (1, 1, 2, 2)  # gray images give one channel by default
    assert abs(float(ds.x[0, 0, 0, 0]) - 100 / 255) < 3 / 255  # JPEG is lossy
    assert load_mask_folder(tmp_path, channels=3).x.shape == (1, 3, 2, 2)


def _halves(tmp_path, w=40, h=20):
    """One image w x h: left half black, right half white; its mask 0 on the left, 2 on the right."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, w // 2:] = 255
    mask = np.zeros((h, w), np.int64)
    mask[:, w // 2:] = 2
    mask[0, 0] = 1  # a corner pixel that crop cuts away
    return _folder(tmp_path, {"x": (rgb, mask)})


@pytest.mark.parametrize("resize, cols, rows", [
    ("crop", [0] * 10 + [2] * 10, [0] * 20),  # centre 20 columns of 40
    ("squash", [0] * 10 + [2] * 10, [0] * 20),  # 40 columns into 20
    ("pad", [0] * 10 + [2] * 10, [0] * 5 + [1] * 10 + [0] * 5),  # 40x20 -> 20x10, 5 rows of padding above and below
])
def test_resize_moves_mask_and_image_alike(tmp_path, resize, cols, rows):
    _halves(tmp_path)
    ds = load_mask_folder(tmp_path, image_size=20, resize=resize)
    y, gray = ds.y[0], ds.x[0, 0]
    inside = np.array(rows) == 1 if resize == "pad" else np.ones(20, bool)
    np.testing.assert_array_equal(y[inside][:, 2:-2], np.array(cols)[2:-2][None].repeat(inside.sum(), 0))
    np.testing.assert_array_equal(gray[inside][:, 2:-2] > 0.5, (np.array(cols) == 2)[2:-2][None].repeat(inside.sum(), 0))
    if resize == "pad":  # borders: class 0 and black in both
        assert (y[~inside] == 0).all() and (gray[~inside] == 0).all()
    assert ds.class_names == ["0", "1", "2"]  # class 1 counts though crop or squash may cut it away


@pytest.mark.parametrize("resize", ["crop", "squash", "pad"])
def test_resize_keeps_mask_values_in_the_class_set(tmp_path, resize):
    rng = np.random.default_rng(0)
    mask = rng.choice([0, 3, 7], size=(23, 37))  # no values between: blending would create some
    _folder(tmp_path, {"x": (rng.integers(0, 256, size=(23, 37, 3), dtype=np.uint8), mask)})
    (tmp_path / "classes.txt").write_text("".join(f"c{k}\n" for k in range(8)))  # gaps are named, so allowed
    ds = load_mask_folder(tmp_path, image_size=16, resize=resize)
    assert ds.y.shape == (1, 16, 16)
    assert set(np.unique(ds.y)) <= {0, 3, 7}
    assert len(ds.class_names) == 8


def test_exif_rotated_image_pairs_with_a_mask_of_its_displayed_size(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    im = Image.new("RGB", (6, 4), (255, 0, 0))  # stored 6 wide, shown 4 wide after orientation 6
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "images" / "p.png", exif=exif)
    write_mask_png(tmp_path / "masks" / "p.png", np.ones((6, 4), int), num_classes=2)  # (H, W) as displayed
    assert load_mask_folder(tmp_path, image_size=4).y.shape == (1, 4, 4)
    write_mask_png(tmp_path / "masks" / "p.png", np.ones((4, 6), int), num_classes=2)
    with pytest.raises(UserError, match=r"p.png is 6x4 pixels but its image is 4x6"):
        load_mask_folder(tmp_path)


def test_is_mask_folder(tmp_path):
    assert not is_mask_folder(tmp_path)
    (tmp_path / "images").mkdir()
    assert not is_mask_folder(tmp_path)
    (tmp_path / "masks").mkdir()
    assert is_mask_folder(tmp_path)
    (tmp_path / "cat").mkdir()  # a class folder beside them does not change that
    assert is_mask_folder(tmp_path) and not is_mask_folder(tmp_path / "cat")


# --- what a user can get wrong: one line naming the file and the fix -------------------------------


def _one_line(err):
    msg = str(err.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("missing", ["images", "masks"])
def test_missing_sub_folder(tmp_path, missing):
    _folder(tmp_path, {"a": _sample()})
    import shutil

    shutil.rmtree(tmp_path / missing)
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert f"has no {missing}/ folder" in _one_line(err)


def test_empty_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "README.md").write_text("x")
    with pytest.raises(UserError, match=r"images has no images; put PNG or JPEG files there"):
        load_mask_folder(tmp_path)


def test_image_without_mask_and_mask_without_image(tmp_path):
    _folder(tmp_path, {"a": _sample(), "b": _sample()})
    (tmp_path / "masks" / "b.png").rename(tmp_path / "masks" / "c.png")
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert "images/b.png has no mask; add " in _one_line(err) and "masks/b.png or remove the image" in str(err.value)
    (tmp_path / "images" / "b.png").unlink()
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert "masks/c.png has no image; add the image as " in _one_line(err) and "images/c.png" in str(err.value)


def test_mask_of_another_size(tmp_path):
    _folder(tmp_path, {"a": (_sample(8, 8)[0], _sample(8, 6)[1])})
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert "masks/a.png is 6x8 pixels but its image is 8x8; save the mask at its image's size" in _one_line(err)


def test_mask_value_without_a_class_name(tmp_path):
    rgb, mask = _sample(20, 20)
    mask[0, 0] = 5  # a corner that crop to 10 would cut away: still an error in the file
    _folder(tmp_path, {"a": (rgb, mask)})
    (tmp_path / "classes.txt").write_text("bg\nfg\nother\n")
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path, image_size=10)
    msg = _one_line(err)
    assert "masks/a.png has class value 5, but " in msg and "classes.txt names only 3 classes (0..2)" in msg
    assert msg.endswith("; mask values are class indices 0..2: fix the mask")  # not "add a line" for 3 missing names
    (tmp_path / "classes.txt").write_text("bg\nfg\nother\nfourth\nfifth\n")  # one name short: that line is the fix
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path, image_size=10)
    assert _one_line(err).endswith("names only 5 classes (0..4); add a line for class 5 or fix the mask")


def _binary_folder(root, n=3):
    """The newcomer's seg255: masks saved 0/255 as mode-L PNGs, the usual binary-mask format."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        rgb, mask = _sample(8, 8, seed=i, classes=2)
        Image.fromarray(rgb).save(root / "images" / f"s{i}.png")
        Image.fromarray((mask * 255).astype(np.uint8)).save(root / "masks" / f"s{i}.png")
    return root


def test_binary_masks_saved_0_255_are_refused_not_made_256_classes(tmp_path):
    root = _binary_folder(tmp_path / "seg255")
    with pytest.raises(UserError) as err:
        load_mask_folder(root)
    assert _one_line(err) == (f"the masks in {root / 'masks'} hold only the values 0 and 255: binary masks saved black "
                              "and white? save the masks as 0 and 1 (divide by 255), since a mask's pixel values are "
                              "class indices")
    (root / "classes.txt").write_text("background\nobject\n")  # names for 0 and 1: adding a line is not the fix
    with pytest.raises(UserError) as err:
        load_mask_folder(root)
    msg = _one_line(err)
    assert msg.startswith(f"{root / 'masks' / 's0.png'} has class value 255, but ") and "add a line" not in msg
    assert msg.endswith("it holds only 0 and 255, a binary mask saved black and white: save the masks as 0 and 1 "
                        "(divide by 255), since a mask's pixel values are class indices")
    for f in (root / "masks").iterdir():  # the fix the message gives trains as 2 classes
        Image.fromarray(np.asarray(Image.open(f)) // 255).save(f)
    assert load_mask_folder(root).class_names == ["background", "object"]


def test_a_stray_mask_value_past_a_gap_names_the_values_and_files(tmp_path):
    pairs = {f"s{i}": _sample(8, 8, seed=i) for i in range(4)}  # classes 0, 1, 2
    pairs["s2"][1][3, 4] = 7  # one stray pixel
    _folder(tmp_path, pairs)
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert _one_line(err) == (f"the masks in {tmp_path / 'masks'} use class values 0, 1, 2, 7 but never 3..6, so "
                              "classes would be missing; mask values are class indices 0..K-1: fix the value 7 in "
                              f"masks/s2.png, or name every class in {tmp_path / 'classes.txt'}")
    (tmp_path / "classes.txt").write_text("bg\na\nb\nc\nd\ne\nf\ng\n")  # named: the user's choice, kept
    assert len(load_mask_folder(tmp_path).class_names) == 8


def test_an_ignore_border_of_255_is_refused_with_the_fix_not_256_classes(tmp_path):
    # newcomer 7, R15: 0/1/2 masks with a 255 border (Pascal VOC's "ignore") were told to "name every class in
    # classes.txt": 256 lines. The fix given (255 -> a class) is one the folder then trains with.
    pairs = {f"s{i}": _sample(8, 8, seed=i) for i in range(4)}  # classes 0, 1, 2
    for name in ("s1", "s3"):
        pairs[name][1][0, :] = 255
    _folder(tmp_path, pairs)
    fix = ("255 is the usual 'ignore' value (a Pascal VOC border), which idealfit does not support: set those pixels "
           "to a class, e.g. the background 0 (numpy: mask[mask == 255] = 0), and save the masks again")
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert _one_line(err) == (f"the masks in {tmp_path / 'masks'} use class values 0, 1, 2, and 255 in masks/s1.png, "
                              f"masks/s3.png; {fix}")
    (tmp_path / "classes.txt").write_text("bg\na\nb\n")
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert _one_line(err).endswith(f"names only 3 classes (0..2); {fix}") and "add a line" not in _one_line(err)
    for f in (tmp_path / "masks").iterdir():  # the fix as given
        m = np.asarray(Image.open(f)).copy()
        m[m == 255] = 0
        Image.fromarray(m).save(f)
    assert load_mask_folder(tmp_path).class_names == ["bg", "a", "b"]


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_rgb_mask_is_refused(tmp_path, mode):
    _folder(tmp_path, {"a": _sample()})
    Image.new(mode, (8, 8)).save(tmp_path / "masks" / "a.png")
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert "masks/a.png is an RGB mask, whose colours have no class index; save it as a palette (P)" in _one_line(err)


def test_other_mask_modes_and_jpeg_masks_are_refused(tmp_path):
    _folder(tmp_path, {"a": _sample()})
    Image.new("LA", (8, 8)).save(tmp_path / "masks" / "a.png")
    with pytest.raises(UserError, match=r"a.png is a LA-mode mask"):
        load_mask_folder(tmp_path)
    (tmp_path / "masks" / "a.png").unlink()
    Image.new("L", (8, 8)).save(tmp_path / "masks" / "a.jpg")
    with pytest.raises(UserError, match=r"masks/a.jpg is not a PNG; masks must be lossless PNGs"):
        load_mask_folder(tmp_path)


def test_two_images_of_one_name(tmp_path):
    _folder(tmp_path, {"a": _sample()})
    Image.fromarray(_sample()[0]).save(tmp_path / "images" / "a.jpg")
    with pytest.raises(UserError, match=r"a.jpg and .*a.png have the same name"):
        load_mask_folder(tmp_path)


def test_all_background_masks(tmp_path):
    _folder(tmp_path, {"a": (_sample()[0], np.zeros((8, 8), int))})
    with pytest.raises(UserError, match=r"every mask in .*masks is all 0 \(background\); mark the objects"):
        load_mask_folder(tmp_path)


@pytest.mark.parametrize("text, needle", [
    ("bg\n\nfg\n", "classes.txt line 2 is blank"),
    ("bg\nfg\nbg\n", "classes.txt names class 'bg' twice"),
    ("only\n", "classes.txt names 1 class(es); segmentation needs at least 2"),
])
def test_bad_classes_txt(tmp_path, text, needle):
    _folder(tmp_path, {"a": _sample(classes=2)})
    (tmp_path / "classes.txt").write_text(text)
    with pytest.raises(UserError) as err:
        load_mask_folder(tmp_path)
    assert needle in _one_line(err)


# --- writing masks and overlays ----------------------------------------------------------------------


def test_class_colours_are_voc_and_distinct():
    colours = class_colours(256)
    assert colours[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]  # PASCAL VOC
    assert colours[15].tolist() == [192, 128, 128]  # VOC's "person"
    assert len({tuple(c) for c in colours}) == 256


def test_write_mask_png_palette_and_no_leftovers(tmp_path):
    mask = np.arange(12).reshape(3, 4) % 5
    write_mask_png(tmp_path / "m.png", mask, num_classes=5)
    with Image.open(tmp_path / "m.png") as im:
        assert im.mode == "P"
        np.testing.assert_array_equal(np.asarray(im), mask)
        palette = np.array(im.getpalette()[:15]).reshape(5, 3)
        np.testing.assert_array_equal(palette, class_colours(5))
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), class_colours(5)[mask])
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]  # atomic: no temporary file left
    with pytest.raises(ValueError, match=r"mask values must lie in 0..4, got 1..5"):
        write_mask_png(tmp_path / "bad.png", mask + 1, num_classes=5)
    with pytest.raises(ValueError, match=r"2-D integer array"):
        write_mask_png(tmp_path / "bad.png", mask.astype(float), num_classes=5)


def test_overlay_blends_class_colours_and_keeps_background():
    image = np.full((3, 2, 2), 0.5, np.float32)
    image[0] = 1.0  # pink-ish: (255, 127.5, 127.5)
    mask = np.array([[0, 1], [2, 0]])
    out = overlay(image, mask, alpha=0.25)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == [255, 128, 128]  # background untouched (127.5 rounds to 128)
    np.testing.assert_array_equal(out[0, 1], np.rint(0.75 * np.array([255, 127.5, 127.5]) + 0.25 * np.array([128, 0, 0])))
    np.testing.assert_array_equal(out[1, 0], np.rint(0.75 * np.array([255, 127.5, 127.5]) + 0.25 * np.array([0, 128, 0])))
    gray = overlay(np.full((1, 2, 2), 0.2, np.float32), np.zeros((2, 2), int))
    assert (gray == 51).all()  # a gray image stays gray where there is no class


def test_write_overlay_png(tmp_path):
    image = np.random.default_rng(0).random((3, 5, 6)).astype(np.float32)
    mask = np.random.default_rng(1).integers(0, 4, size=(5, 6))
    write_overlay_png(tmp_path / "o.png", image, mask)
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), overlay(image, mask))
