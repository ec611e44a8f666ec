"""Image folders as users bring them (issue 8): stray files, corrupt images, nested folders, whole
folders to predict, and non-square photos made square by one documented rule everywhere.

Real photos: tiles of scikit-learn's china.jpg and flower.jpg at different aspect ratios.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from sklearn.datasets import load_sample_images

import idealfit as fit
from idealfit.cli import main
from idealfit.config import DataConfig
from idealfit.data.batching import StreamBatches
from idealfit.data.images import load_image_folder, open_image
from idealfit.data.prepare import load_dataset
from idealfit.errors import UserError

# (left, top, width, height) tiles: wide, tall and square, so every resize rule matters
TILES = [(0, 0, 96, 48), (100, 50, 40, 80), (200, 100, 64, 64), (300, 40, 90, 30)]
QUICK = ["--epochs", "1", "--no-progress", "--set", "model.widths=[4]", "--set", "model.hidden=[8]"]


@pytest.fixture(scope="module")
def photos():
    """{"china": [PIL images], "flower": [...]}: four tiles of each sample photo."""
    imgs = load_sample_images().images  # two (427, 640, 3) uint8 photos
    return {name: [Image.fromarray(img[t:t + h, x:x + w]) for x, t, w, h in TILES]
            for name, img in zip(("china", "flower"), imgs, strict=True)}


def photo_folder(root, photos, *, nested=False):
    """root/china/*.png and root/flower/*.jpg; with `nested`, half of them in a sub-folder 2019/."""
    for name, tiles in photos.items():
        for i, im in enumerate(tiles):
            sub = root / name / ("2019" if nested and i >= 2 else "")
            sub.mkdir(parents=True, exist_ok=True)
            im.save(sub / f"{i}.png")
    return root


def train(root, out, *extra):
    assert main(["train", "--data", str(root), "--out", str(out), *QUICK, *extra]) == 0
    return json.loads((out / "preprocess.json").read_text())


def test_non_image_files_are_skipped_and_said_once_at_train(tmp_path, photos, capsys):
    root = photo_folder(tmp_path / "pics", photos)
    (root / "china" / "notes.txt").write_text("taken in 2019")
    (root / "china" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "flower" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "README.md").write_text("# my photos")
    photos["china"][0].save(root / "cover.jpg")  # an image, but in no class
    meta = train(root, tmp_path / "run")["meta"]
    out = capsys.readouterr().out
    line = "skipped 4 non-image files (README.md, china/.DS_Store, china/notes.txt, flower/Thumbs.db)"
    assert out.count("skipped") == 2 and out.count(line) == 1
    assert "skipped 1 image outside the class folders (cover.jpg); move them into a class folder" in out
    assert meta["loose_images"] == ["cover.jpg"]
    assert meta["skipped_files"] == ["README.md", "china/.DS_Store", "china/notes.txt", "flower/Thumbs.db"]
    assert meta["unreadable_files"] == []
    ds = load_dataset(DataConfig(name=str(root)))
    assert len(ds) == 8  # only the photos


def test_a_corrupt_image_stops_by_default_and_is_skipped_with_skip_unreadable(tmp_path, photos, capsys, cli_error):
    root = photo_folder(tmp_path / "pics", photos)
    (root / "flower" / "9.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))  # a truncated download
    cli_error(["train", "--data", str(root), "--out", str(tmp_path / "r0"), *QUICK],
              "9.png is not a readable image", "data.skip_unreadable=true")
    meta = train(root, tmp_path / "run", "--set", "data.skip_unreadable=true")["meta"]
    assert meta["unreadable_files"] == ["flower/9.png"]
    assert "skipped 1 unreadable image (data.skip_unreadable): flower/9.png" in capsys.readouterr().out
    assert "skip_unreadable: true" in (tmp_path / "run" / "config.yaml").read_text()
    streamed = load_image_folder(root, image_size=16, channels=3, max_memory_mb=0, skip_unreadable=True)
    assert len(streamed.paths) == 8 and not any(p.endswith("9.png") for p in streamed.paths)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())  # evaluate skips the same file again
    got = fit.load_run(tmp_path / "run").evaluate()["loss"]
    assert got == pytest.approx(summary["metrics"]["test"]["loss"], rel=1e-5)


def test_sub_folders_of_a_class_folder_are_read_recursively(tmp_path, photos):
    root = photo_folder(tmp_path / "pics", photos, nested=True)
    (root / "china" / ".thumbnails").mkdir()
    photos["china"][0].save(root / "china" / ".thumbnails" / "0.png")  # hidden folders are not entered
    ds = load_image_folder(root, image_size=16, channels=3, max_memory_mb=100)
    assert len(ds) == 8 and ds.y.tolist() == [0] * 4 + [1] * 4
    flat = load_image_folder(photo_folder(tmp_path / "flat", photos), image_size=16, channels=3, max_memory_mb=100)
    np.testing.assert_array_equal(ds.x, flat.x)  # 0, 1, 2019/2, 2019/3: the same order as flat 0..3


def test_predict_a_folder_predicts_every_image_in_it_sorted_and_recursively(tmp_path, photos, capsys):
    root = photo_folder(tmp_path / "pics", photos)
    train(root, tmp_path / "run")
    new = tmp_path / "new"
    (new / "b").mkdir(parents=True)
    photos["flower"][1].save(new / "z.png")
    photos["china"][2].save(new / "a.jpg")
    photos["flower"][3].save(new / "b" / "c.png")
    (new / "notes.txt").write_text("not an image")
    files = [new / "a.jpg", new / "b" / "c.png", new / "z.png"]
    run = fit.load_run(tmp_path / "run")
    names, probs = run.predict(str(new))
    assert names == [str(f) for f in files]
    np.testing.assert_allclose(probs, run.predict(files)[1], rtol=1e-6)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(new)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [str(f) for f in files]


def _reference(im, size, rule):
    """The three rules by hand with PIL, (C, size, size) in [0, 1]."""
    bilinear = Image.Resampling.BILINEAR
    w, h = im.size
    if rule == "squash":
        out = im.resize((size, size), bilinear)
    elif rule == "crop":  # the centre square of the image, scaled
        s = min(w, h)
        out = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((size, size), bilinear)
    else:  # pad: the long side scaled to `size`, centred on black
        out = ImageOps.pad(im, (size, size), method=bilinear, color=0)
    return np.asarray(out, np.float32).transpose(2, 0, 1) / 255.0


@pytest.mark.parametrize("rule", ["crop", "squash", "pad"])
def test_resize_rules_match_a_hand_computation(tmp_path, photos, rule):
    wide = photos["china"][0]  # 96 x 48
    wide.save(tmp_path / "wide.png")
    got = open_image(tmp_path / "wide.png", size=24, channels=3, resize=rule)
    np.testing.assert_allclose(got, _reference(wide, 24, rule), atol=1.5 / 255)
    if rule == "pad":
        assert got[:, :6].max() == 0 and got[:, 6:18].min() >= 0 and got[:, 6:18].max() > 0.2  # 6-px black bands
    others = {r: open_image(tmp_path / "wide.png", size=24, channels=3, resize=r) for r in ("crop", "squash", "pad")}
    assert all(not np.allclose(got, v) for r, v in others.items() if r != rule)  # each rule really differs


def test_resize_is_recorded_and_the_same_at_train_evaluate_predict_and_streaming(tmp_path, photos):
    root = photo_folder(tmp_path / "pics", photos)
    state = train(root, tmp_path / "run", "--set", "data.resize=pad", "--set", "data.image_size=20")
    assert state["meta"]["resize"] == "pad"
    assert "resize: pad" in (tmp_path / "run" / "config.yaml").read_text()
    memory = load_image_folder(root, image_size=20, channels=3, max_memory_mb=100, resize="pad")
    np.testing.assert_allclose(memory.x[0], _reference(photos["china"][0], 20, "pad"), atol=1.5 / 255)
    # predict: the run's own rule (pad), not the default
    run = fit.load_run(tmp_path / "run")
    raw = run.load_inputs(str(root / "china" / "0.png"))
    from idealfit.data.prepare import transform_inputs

    np.testing.assert_allclose(raw.numpy()[0], transform_inputs(run.state, memory.x[:1])[0], atol=1e-6)
    # streamed from disk: the same pixels
    streamed = load_image_folder(root, image_size=20, channels=3, max_memory_mb=0, resize="pad")
    batches = StreamBatches(streamed.paths, streamed.y, size=20, channels=3, resize=streamed.meta["resize"],
                            batch_size=8, shuffle=False, generator=None, device=torch.device("cpu"), workers=0)
    xb, yb = next(iter(batches))
    np.testing.assert_allclose(xb.numpy(), memory.x, atol=1e-6)
    # evaluate re-reads the folder with the run's rule: the test split scores as at train time
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert run.evaluate()["loss"] == pytest.approx(summary["metrics"]["test"]["loss"], rel=1e-5)


def test_an_unknown_resize_rule_is_one_line(tmp_path, photos, cli_error):
    root = photo_folder(tmp_path / "pics", photos)
    cli_error(["train", "--data", str(root), "--set", "data.resize=strech"], "data.resize must be one of crop, squash, pad")


def test_a_folder_with_only_unreadable_images_is_one_line(tmp_path):
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(2):
            (tmp_path / c / f"{i}.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="has no readable images"):
        load_image_folder(tmp_path, image_size=8, channels=1, max_memory_mb=100, skip_unreadable=True)


def test_a_run_saved_before_data_resize_keeps_squashing(tmp_path, photos):
    # such runs have no data.resize in config.yaml (so it reads as the new default, crop) and no
    # meta["resize"]: they squashed, and evaluate and predict must go on squashing
    root = photo_folder(tmp_path / "pics", photos)
    train(root, tmp_path / "run", "--set", "data.resize=squash", "--set", "data.image_size=20")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    state = json.loads((tmp_path / "run" / "preprocess.json").read_text())
    del state["meta"]["resize"]
    (tmp_path / "run" / "preprocess.json").write_text(json.dumps(state))
    config = (tmp_path / "run" / "config.yaml").read_text()
    (tmp_path / "run" / "config.yaml").write_text(config.replace("  resize: squash\n", ""))
    run = fit.load_run(tmp_path / "run")
    assert run.config.data.resize == "crop"
    squashed = open_image(root / "china" / "0.png", size=20, channels=3, resize="squash")
    from idealfit.data.prepare import transform_inputs

    got = run.load_inputs(str(root / "china" / "0.png")).numpy()[0]
    np.testing.assert_allclose(got, transform_inputs(run.state, squashed[None])[0], atol=1e-6)
    assert run.evaluate()["loss"] == pytest.approx(summary["metrics"]["test"]["loss"], rel=1e-5)


def test_a_streamed_folder_trains_with_augmentation(tmp_path, photos):
    """A folder streamed from disk takes data.augment like an in-memory one, preview included."""
    from safetensors.torch import load_file

    root = photo_folder(tmp_path / "pics", photos)
    stream = ["--set", "data.max_memory_mb=0", "--set", "model.batchnorm=false"]
    train(root, tmp_path / "aug", *stream, "--set", "data.augment=[flip, contrast]")
    assert (tmp_path / "aug" / "augment.png").is_file()
    extras = json.loads((tmp_path / "aug" / "extras.json").read_text())
    assert any(e["section"] == "Data augmentation" for e in extras)
    train(root, tmp_path / "plain", *stream)
    aug, plain = (load_file(str(tmp_path / r / "model.safetensors")) for r in ("aug", "plain"))
    assert any(not torch.equal(aug[k], plain[k]) for k in aug)  # the streamed batches were augmented


def test_the_augment_preview_of_a_streamed_folder_shows_its_first_training_images(tmp_path, photos):
    from idealfit.data.augment_preview import first_train_images
    from idealfit.data.prepare import prepare
    from idealfit.data.split import split_indices

    root = photo_folder(tmp_path / "pics", photos)
    firsts = []
    for mb in (0, 2048):  # streamed, then in memory
        cfg = DataConfig(name=str(root), image_size=16, max_memory_mb=mb)
        ds = load_dataset(cfg)
        assert (ds.paths is not None) == (mb == 0)
        prep = prepare(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0), cfg=cfg)
        firsts.append(first_train_images(prep, n=3))
    assert firsts[0].shape == (3, 3, 16, 16)
    torch.testing.assert_close(firsts[0], firsts[1])


def test_config_yaml_records_the_size_and_channels_decided_from_the_data(tmp_path, photos):
    """data.image_size and data.channels left out are decided from the first images (the 96x48 tile: side 64,
    colour): config.yaml says so; a run folder saved before (null there) still loads, evaluates and resumes."""
    import yaml

    root = photo_folder(tmp_path / "pics", photos)
    train(root, tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]
    assert (saved["image_size"], saved["channels"]) == (64, 3)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # an old run folder: null, the meaning "from the data", which decides the same again
    text = (tmp_path / "run" / "config.yaml").read_text()
    assert "  image_size: 64\n" in text and "  channels: 3\n" in text
    (tmp_path / "run" / "config.yaml").write_text(text.replace("  image_size: 64\n", "  image_size: null\n")
                                                  .replace("  channels: 3\n", "  channels: null\n"))
    run = fit.load_run(tmp_path / "run")
    assert (run.config.data.image_size, run.config.data.channels) == (None, None)
    assert run.evaluate()["loss"] == pytest.approx(summary["metrics"]["test"]["loss"], rel=1e-5)
    assert run.load_inputs(str(root / "china" / "0.png")).shape == (1, 3, 64, 64)
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--no-progress"]) == 0
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]
    assert (saved["image_size"], saved["channels"]) == (64, 3)  # the resumed run records them too


def test_only_what_the_data_decided_is_written_into_the_config(tmp_path):
    from idealfit.data.pairs import load_pair_folder
    from idealfit.train.setup import record_image_geometry

    rng = np.random.default_rng(0)
    gray, rgb = rng.integers(0, 256, (8, 8), dtype=np.uint8), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    for side, pixels in (("A", gray), ("B", rgb)):
        (tmp_path / side).mkdir()
        Image.fromarray(pixels).save(tmp_path / side / "a.png")
    d = DataConfig(name=str(tmp_path))
    record_image_geometry(d, load_pair_folder(tmp_path))
    # grey inputs, colour targets: one channel count would force both sides to it, so None stays
    assert (d.image_size, d.channels) == (8, None)
    d = DataConfig(name=str(tmp_path), image_size=6, channels=1)  # the user's own values are kept
    record_image_geometry(d, load_pair_folder(tmp_path, image_size=6, channels=1))
    assert (d.image_size, d.channels) == (6, 1)
    d = DataConfig(name="digits")  # embedded images come at their own size: nothing to record
    record_image_geometry(d, load_dataset(d))
    assert (d.image_size, d.channels) == (None, None)
