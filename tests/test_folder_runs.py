"""Runs trained on a segmentation folder (images/ + masks/) and a paired folder (A/ + B/), as a user makes
them: evaluate and export find their own untouched folder again, and predict's outputs are the input's size."""

import json

import numpy as np
import pytest
from folder_data import SIDE, mask_folder, pair_folder
from PIL import Image

import idealfit as fit
from idealfit.cli import main
from idealfit.errors import UserError

TINY = {"unet": {"model.widths": [4, 8]}, "pix2pix": {"model.widths": [4, 8], "model.d_width": 4}}


@pytest.fixture(scope="module")
def folder_runs(tmp_path_factory):
    """{"seg": run, "pairs": run}: one 1-epoch run on each folder kind."""
    root = tmp_path_factory.mktemp("folders")
    out = {}
    for name, make, family in (("seg", mask_folder, "unet"), ("pairs", pair_folder, "pix2pix")):
        folder = make(root / name)
        out[name] = fit.train(data=str(folder), model=family, epochs=1, out=root / f"run-{name}", verbose=False,
                              set={"train.batch_size": 8, "train.progress": False, **TINY[family]})
    return out


def _scalars(metrics):
    return {k: v for k, v in metrics.items() if isinstance(v, float)}


@pytest.mark.parametrize("name", ["seg", "pairs"])
def test_evaluate_finds_its_untouched_folder_and_notices_a_change(folder_runs, name):
    run = fit.load_run(folder_runs[name].dir)
    scores = _scalars(run.evaluate())  # the folder as it was trained on: its own test split again
    assert len(scores) >= 3
    assert scores == pytest.approx(_scalars(folder_runs[name].summary["metrics"]["test"]), rel=1e-4)
    source = run.dir.parent / name
    sub = "images" if name == "seg" else "A"
    extra = source / sub / "zz.png"
    Image.open(source / sub / "00.png").save(extra)
    partner = source / ("masks" if name == "seg" else "B") / "zz.png"
    Image.open(partner.with_name("00.png")).save(partner)
    try:
        with pytest.raises(UserError, match=f"{name} changed since this run was trained") as err:
            fit.load_run(run.dir).evaluate()
        assert str(err.value).endswith("no longer the same samples; evaluate on a labelled folder with --data "
                                       "FOLDER/ instead")
    finally:
        extra.unlink()
        partner.unlink()
    assert _scalars(fit.load_run(run.dir).evaluate()) == pytest.approx(scores)  # put back: accepted again


def test_export_checks_the_graph_on_the_runs_own_folder(folder_runs, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    run = folder_runs["seg"]
    assert main(["export", str(run.dir), "--onnx", str(tmp_path / "m.onnx")]) == 0
    printed = capsys.readouterr().out
    assert "test samples" in printed and "changed since" not in printed, printed
    spec = json.loads((tmp_path / "m.onnx.json").read_text())
    assert spec["class_names"] == ["background", "bright"]
    assert spec["input"]["shape"] == ["batch", 1, "height", "width"]  # whole images of any size, as predict
    assert "and 2 of them resized to " in printed  # checked on a non-square size too
    note = spec["other_sizes"]
    assert f"training used {SIDE}×{SIDE}" in note and "data.resize=crop" in note, note
    assert f"the shorter side becomes {SIDE}" in note and "nearest-neighbour" in note, note


def _wide_image(path, h=40, w=56):
    """Gray noise with a bright block at the far left, outside the centre square a crop would keep."""
    rng = np.random.default_rng(5)
    img = rng.integers(0, 90, size=(h, w), dtype=np.uint8)
    img[10:30, 0:10] = 240
    Image.fromarray(img).save(path)
    return path


def test_segmentation_predict_writes_a_mask_of_the_whole_input_at_its_size(folder_runs, tmp_path, capsys):
    from idealfit.data.whole import read_whole

    run = fit.load_run(folder_runs["seg"].dir)
    wide = _wide_image(tmp_path / "wide.png")
    square = tmp_path / "square.png"
    Image.open(run.dir.parent / "seg" / "images" / "03.png").save(square)
    assert main(["predict", str(run.dir), str(wide), str(square), "--out", str(tmp_path / "m"), "--overlay"]) == 0
    line = capsys.readouterr().out
    assert "wrote 2 masks (each its input's size" in line and "shorter side resized to 32 px" in line, line
    mask = np.asarray(Image.open(tmp_path / "m" / "wide.png"))
    assert mask.shape == (40, 56) and Image.open(tmp_path / "m" / "wide-overlay.png").size == (56, 40)
    # the reference: the network on the whole image, short side 32 (40x56 -> 32x45), nearest back to 40x56
    x, size = read_whole(run.state, wide)
    assert x.shape == (1, 1, 32, 45) and size == (56, 40)
    small = run._predict_ready(x)[0]
    expected = np.asarray(Image.fromarray(small).resize((56, 40), Image.Resampling.NEAREST))
    assert (mask == expected).mean() > 0.97  # nearest sampling may round a boundary pixel the other way
    # a training-sized input gives exactly the mask of the run's own S x S path
    ref = run._predict_ready(run.load_inputs(square).numpy())[0]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "m" / "square.png")), ref)


def test_the_python_api_predicts_what_the_cli_writes(folder_runs, tmp_path):
    run = fit.load_run(folder_runs["seg"].dir)
    wide = _wide_image(tmp_path / "wide.png")
    square = tmp_path / "square.png"
    Image.open(run.dir.parent / "seg" / "images" / "03.png").save(square)
    assert main(["predict", str(run.dir), str(wide), str(square), "--out", str(tmp_path / "m")]) == 0
    names, masks = run.predict([wide, square])
    assert names == [str(wide), str(square)] and isinstance(masks, list)  # two sizes: one array each
    assert masks[0].shape == (40, 56)  # the whole wide image, not its centre square
    np.testing.assert_array_equal(masks[0], np.asarray(Image.open(tmp_path / "m" / "wide.png")))
    old = run._predict_ready(run.load_inputs(square).numpy())[0]  # the run's S x S path, as predict was
    np.testing.assert_array_equal(masks[1], old)
    np.testing.assert_array_equal(masks[1], np.asarray(Image.open(tmp_path / "m" / "square.png")))
    _, same = run.predict([square, square])  # inputs of one size: one (N, H, W) array, as before
    assert isinstance(same, np.ndarray) and same.shape == (2, SIDE, SIDE)
    np.testing.assert_array_equal(same[0], old)
    pairs = fit.load_run(folder_runs["pairs"].dir)
    assert main(["predict", str(pairs.dir), str(wide), "--out", str(tmp_path / "g")]) == 0
    _, images = pairs.predict(str(wide))
    assert images.shape == (1, 1, 40, 56)
    written = np.asarray(Image.open(tmp_path / "g" / "wide.png"), dtype=np.float32) / 255
    np.testing.assert_allclose(images[0, 0], written, atol=0.5 / 255 + 1e-6)  # the PNG rounds to 8 bits


def test_one_mask_is_singular_and_translation_output_has_the_inputs_size(folder_runs, tmp_path, capsys):
    seg, pairs = folder_runs["seg"], folder_runs["pairs"]
    square = tmp_path / "square.png"
    Image.open(seg.dir.parent / "seg" / "images" / "03.png").save(square)
    assert main(["predict", str(seg.dir), str(square), "--out", str(tmp_path / "m")]) == 0
    assert "wrote 1 mask (32×32, pixel value" in capsys.readouterr().out  # no scaling note: nothing was scaled
    wide = _wide_image(tmp_path / "wide.png")
    assert main(["predict", str(pairs.dir), str(wide), "--out", str(tmp_path / "g")]) == 0
    line = capsys.readouterr().out
    assert "wrote 1 generated image (40×56;" in line and "resized back bilinearly" in line, line
    assert Image.open(tmp_path / "g" / "wide.png").size == (56, 40)


def test_report_names_background_once_and_the_figure_titles_its_columns(folder_runs):
    from idealfit.report.segmentation import per_class_table
    from idealfit.report.sheets import GAP, TITLE_BAND

    run = folder_runs["seg"]
    table = per_class_table(run.summary)
    assert "<th>background</th>" in table and "background (background)" not in table
    named = per_class_table({**run.summary, "class_names": ["sky", "bird"]})
    assert "<th>sky (background)</th>" in named  # a class 0 of another name is still marked as background
    sheet = np.asarray(Image.open(run.dir / "segmentation.png").convert("L"))
    scale, rows = 2, min(6, len(np.load(run.dir / "predictions.npz")["index"]))
    assert sheet.shape == (TITLE_BAND + rows * (SIDE + GAP) * scale, (3 * SIDE + 2 * GAP) * scale)
    band = sheet[:TITLE_BAND]
    for col in range(3):  # dark text above each of image | truth | prediction
        left = col * (SIDE + GAP) * scale
        assert (band[:, left : left + SIDE * scale] < 100).sum() > 20


def test_evaluate_of_a_vanished_folder_says_folder(folder_runs, cli_error):
    """R14: the run's folder moved away: put the folder back, or --data FOLDER/ (not 'the file', '--data FILE')."""
    run = folder_runs["seg"]
    source = run.dir.parent / "seg"
    source.rename(source.with_name("seg-moved"))
    try:
        cli_error(["evaluate", str(run.dir)], f"this run's source {source} no longer exists",
                  "put the folder back, or evaluate on a labelled folder with --data FOLDER/")
    finally:
        source.with_name("seg-moved").rename(source)


def test_evaluate_matches_a_folder_without_classes_txt_by_pixel_value(folder_runs, tmp_path):
    """R12: the same masks without classes.txt (classes "0", "1") score as with it: a pixel value is a class id."""
    import shutil

    run = fit.load_run(folder_runs["seg"].dir)
    named = run.dir.parent / "seg"
    unnamed = tmp_path / "seg4"
    shutil.copytree(named, unnamed)
    (unnamed / "classes.txt").unlink()
    want = _scalars(run.evaluate(str(named)))
    assert _scalars(run.evaluate(str(unnamed))) == pytest.approx(want)
    (unnamed / "classes.txt").write_text("sky\nground\n")  # named otherwise: the fix is said
    with pytest.raises(UserError) as err:
        run.evaluate(str(unnamed))
    assert str(err.value) == ("seg4 has class 'sky' which this run never saw; its classes are background, bright; if "
                              "its mask values mean the same classes, copy the run's names into its classes.txt")
    (unnamed / "classes.txt").unlink()
    mask = np.asarray(Image.open(unnamed / "masks" / "00.png")).copy()
    mask[0, 0] = 2  # a third class this run never had
    Image.fromarray(mask).save(unnamed / "masks" / "00.png")
    with pytest.raises(UserError, match=r"seg4's masks hold class value 2, but this run knows 2 classes \(0..1: "
                                        r"background, bright\); fix those masks"):
        run.evaluate(str(unnamed))


@pytest.mark.parametrize("pair", [("A", "B"), ("images", "masks")])
def test_class_folders_named_like_pairs_train_as_classes_when_the_task_says_so(tmp_path, pair, cli_error):
    """R13: two classes named A/ and B/ (grades) or images/ and masks/ are pix2pix / segmentation folders by their
    names; --task classification trains them as classes, and the pairing error says so."""
    rng = np.random.default_rng(0)
    root = tmp_path / "ab"
    for k, cls in enumerate(pair):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            img = rng.integers(0, 90, size=(8, 8), dtype=np.uint8) + 150 * k
            Image.fromarray(img.astype(np.uint8)).save(root / cls / f"{cls.lower()}_{i}.png")
    cli_error(["train", "--data", str(root), "--epochs", "1", "--out", str(tmp_path / "r0")],
              "has no ", f"or, if {pair[0]} and {pair[1]} are two classes, pass --task classification")
    run = fit.train(data=str(root), task="classification", model="mlp", epochs=1, out=tmp_path / "r", verbose=False,
                    set={"train.progress": False})
    assert (run.task, run.class_names) == ("classification", list(pair))
    assert len(fit.load_run(run.dir).evaluate()) > 0  # the run's own folder is found again as class folders


def test_the_report_has_a_colour_legend_that_matches_the_overlays(folder_runs):
    """Newcomer report 6, R11: the masks' colours were named nowhere."""
    from idealfit.data.masks import overlay

    run = folder_runs["seg"]
    html = (run.dir / "report.html").read_text()
    assert 'background: #800000"></span> bright</span>' in html and "(class background: clear)" in html
    # the legend's colour is the one the overlays blend in: on black, a class-1 pixel is half of #800000
    pixel = overlay(np.zeros((1, 1, 1), np.float32), np.ones((1, 1), np.int64))[0, 0]
    assert pixel.tolist() == [64, 0, 0]
