"""The ONNX spec's words for image files are exact: following them with plain Pillow and numpy (no idealfit
code) gives the very input `idealfit predict` feeds the network, for each data.resize rule."""

import numpy as np
import pytest
from PIL import Image, ImageOps

import idealfit as fit
from idealfit.export import preprocessing_steps

SIDE = 16
BIL = Image.Resampling.BILINEAR


def _pictures(root):
    """Two classes of odd-sized pictures (odd differences, so a centred crop box has half-pixel edges), in the
    modes users bring: RGB, RGBA, palette, gray; plus new files to predict."""
    rng = np.random.default_rng(0)
    sizes = [(37, 22), (23, 41), (30, 30), (51, 28)]
    for k, cls in enumerate(("a", "b")):
        (root / cls).mkdir(parents=True)
        for i, (w, h) in enumerate(sizes):
            px = rng.integers(0, 256, size=(h, w, 3)).astype(np.uint8) // (1 + k)
            Image.fromarray(px).save(root / cls / f"{i}.png")
    new = root.parent / "new"
    new.mkdir()
    px = rng.integers(0, 256, size=(27, 45, 4)).astype(np.uint8)
    Image.fromarray(px, "RGBA").save(new / "rgba.png")
    Image.fromarray(px[..., 0], "L").convert("P").save(new / "palette.png")
    Image.fromarray(px[:19, :, 1], "L").save(new / "gray.png")
    Image.fromarray(px[:, :31, :3]).save(new / "rgb.png")
    Image.fromarray(px[:SIDE, :SIDE, :3]).save(new / "square.png")
    return sorted(new.iterdir())


def _by_the_words(path, spec: str, rule: str) -> np.ndarray:
    """The spec's steps, written from its text alone."""
    assert "ImageOps.exif_transpose" in spec and "im.convert('RGB')" in spec and "/ 255" in spec
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    w, h = im.size
    if im.size != (SIDE, SIDE):
        if rule == "crop":
            assert "left = (W - m) / 2, top = (H - m) / 2" in spec and "box=(left, top, left + m, top + m)" in spec
            m = min(w, h)
            left, top = (w - m) / 2, (h - m) / 2
            im = im.resize((SIDE, SIDE), BIL, box=(left, top, left + m, top + m))
        elif rule == "squash":
            assert f"im.resize(({SIDE}, {SIDE}), Image.Resampling.BILINEAR)" in spec
            im = im.resize((SIDE, SIDE), BIL)
        else:
            assert f"round(short / long * {SIDE})" in spec and f"round(({SIDE} - new short side) / 2)" in spec
            short = round(min(w, h) / max(w, h) * SIDE)
            size = (SIDE, short) if w >= h else (short, SIDE)
            canvas = Image.new("RGB", (SIDE, SIDE), 0)
            offset = round((SIDE - short) / 2)
            canvas.paste(im.resize(size, BIL), (0, offset) if w >= h else (offset, 0))
            im = canvas
    return (np.asarray(im, np.float32) / 255).transpose(2, 0, 1)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """(a run trained on the pictures with data.resize crop, the new pictures to predict)."""
    root = tmp_path_factory.mktemp("img")
    new = _pictures(root / "pics")
    run = fit.train(data=str(root / "pics"), epochs=1, out=root / "run", verbose=False,
                    set={"train.progress": False, "data.image_size": SIDE, "data.channels": 3,
                         "model.widths": [2], "model.hidden": [4]})
    return run, new


@pytest.mark.parametrize("rule", ["crop", "squash", "pad"])
def test_the_specs_words_reproduce_predicts_input(image_run, rule):
    from idealfit.data.inputs import read_images

    run, new = image_run
    # the run's state with the rule to check (training once serves all three; predict reads the rule from here)
    state = {**run.state, "meta": {**run.state["meta"], "resize": rule}}
    spec = preprocessing_steps(state)[0]
    assert f"{rule}:" in spec and "BILINEAR" in spec
    want = read_images(state, new)  # what predict feeds the network (Run.predict -> read_inputs -> read_images)
    got = np.stack([_by_the_words(p, spec, rule) for p in new])
    assert got.dtype == want.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-5, [p.name for p, g, x in zip(new, got, want, strict=True) if np.abs(g - x).max() > 1e-5]
    if rule == "crop":  # the words the spec had before: short side to the size first, then a centre cut
        k = [p.name for p in new].index("rgb.png")  # 31×27
        im = Image.open(new[k]).convert("RGB")
        w, h = im.size
        im = im.resize((round(w * SIDE / h), SIDE), BIL)
        left = (im.size[0] - SIDE) // 2
        naive = (np.asarray(im.crop((left, 0, left + SIDE, SIDE)), np.float32) / 255).transpose(2, 0, 1)
        assert np.abs(naive - want[k]).max() > 1e-2  # so the order of the operations matters, and is named
