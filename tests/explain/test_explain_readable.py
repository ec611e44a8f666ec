"""`explain` stays readable: each layer drawn once, wide layers capped (and the rest counted), RGB
filters as colour tiles, a table run's saliency bars named by its features."""

import csv
import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import idealfit as fit
from idealfit.cli import main
from idealfit.data.preprocess import TablePreprocessor
from idealfit.explain.figures import feature_maps_figure, filters_figure, saliency_figure
from idealfit.explain.model import explain_model


def _wide_rgb_cnn() -> nn.Sequential:
    """RGB in, 64 -> 256 -> 3 channels: the last layer reads exactly 3 channels but is not a colour layer."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 256, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(256, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16 * 16, 2))


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_a_wide_cnn_gives_bounded_pngs_each_layer_once(tmp_path):
    x = torch.rand(1, 3, 16, 16)
    written = explain_model(_wide_rgb_cnn(), x, out_dir=tmp_path, class_names=["a", "b"])
    filters = sorted(p.name for p in written.values() if p.name.startswith("filters"))
    assert filters == ["filters_2.png", "filters_4.png", "filters_first_layer.png"]  # 3 conv layers, 3 files
    for path in written.values():
        w, h = _png_size(path)
        assert w <= 1100 and h <= 1200, (path.name, w, h)  # was 1040 x 8380 for a 64-wide layer


def test_titles_say_how_many_filters_and_channels_are_hidden():
    wide = torch.randn(256, 64, 3, 3)
    fig = filters_figure(wide, title="conv2")
    assert len([ax for ax in fig.axes if ax.images]) == 32  # 8 filters x 4 input channels
    title = fig._suptitle.get_text()
    assert "showing 8 of 256 filters (248 hidden)" in title and "showing 4 of 64 inputs (60 hidden)" in title
    maps = feature_maps_figure(torch.randn(256, 4, 4))
    assert len([ax for ax in maps.axes if ax.images]) == 32
    assert "showing 32 of 256 channels (224 hidden)" in maps._suptitle.get_text()
    small = filters_figure(torch.randn(4, 2, 3, 3))
    assert "hidden" not in small._suptitle.get_text() and len([ax for ax in small.axes if ax.images]) == 8


def test_rgb_filters_are_one_colour_tile_titled_by_filter_index():
    w = torch.randn(5, 3, 3, 3)
    fig = filters_figure(w, rgb=True)
    tiles = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in tiles] == [f"filter {i}" for i in range(5)]
    rgb = tiles[2].images[0].get_array()
    assert rgb.shape == (3, 3, 3)  # one colour image, not a panel per channel
    scaled = (w[2] - w[2].min()) / (w[2].max() - w[2].min())
    np.testing.assert_allclose(rgb, scaled.permute(1, 2, 0).numpy(), atol=1e-6)
    assert "colour = weights on R, G, B" in fig._suptitle.get_text()
    assert "red > 0 > blue" not in fig._suptitle.get_text()
    assert "inputs" not in fig._suptitle.get_text()  # each tile shows all 3 channels: none hidden
    many = filters_figure(torch.randn(40, 3, 3, 3), rgb=True)  # only the filters are cut
    assert many._suptitle.get_text().endswith("\nshowing 32 of 40 filters (8 hidden)")
    assert "inputs" not in many._suptitle.get_text()
    later = filters_figure(w, rgb=False)  # 3 input channels deep in a network are not colours
    assert [ax.get_title() for ax in later.axes if ax.images][:4] == ["0<-0", "0<-1", "0<-2", "1<-0"]


def test_explain_a_folder_explains_its_first_images(tmp_path, capsys):
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    for name, img in (("china", china), ("flower", flower)):
        (tmp_path / "pics" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(img[30 * i:30 * i + 24, 40 * i:40 * i + 24]).save(tmp_path / "pics" / name / f"{i}.png")
    fit.train(data=str(tmp_path / "pics"), epochs=1, out=tmp_path / "run", verbose=False,
              set={"train.progress": False, "model.widths": [4], "model.hidden": [8]})
    assert main(["explain", str(tmp_path / "run"), "--input", str(tmp_path / "pics" / "china")]) == 0
    out = capsys.readouterr().out
    assert "0.png: " in out and "5.png: " in out and "explaining the first" not in out
    assert main(["explain", str(tmp_path / "run"), "--input", str(tmp_path / "pics")]) == 0
    assert "explaining the first 8 of 12 images" in capsys.readouterr().out
    # no --input: the run's own first 2 test images, named by file and true class
    run = fit.load_run(tmp_path / "run")
    test = np.load(tmp_path / "run" / "split.npz")["test"][:2]
    classes = ["china"] * 6 + ["flower"] * 6  # the folder's files in the order the run read them
    assert main(["explain", str(tmp_path / "run"), "--out", str(tmp_path / "own")]) == 0
    out = capsys.readouterr().out
    named = [f"test sample {k} (true: {classes[i]})" for k, i in enumerate(test)]
    assert f"explaining the run's first 2 test samples (no --input given): {', '.join(named)}" in out
    assert (tmp_path / "own" / "saliency_1.png").is_file() and not (tmp_path / "own" / "saliency_2.png").exists()
    assert len(run.class_names) == 2


def test_grids_of_maps_are_stored_with_a_palette_close_to_full_colour(tmp_path):
    from idealfit.report.figures import to_png

    torch.manual_seed(0)  # smooth maps, as a first conv layer gives: what a full-colour PNG stores poorly
    maps = torch.nn.functional.interpolate(torch.randn(1, 32, 8, 8), size=(64, 64), mode="bicubic")[0]
    full, small = to_png(feature_maps_figure(maps)), to_png(feature_maps_figure(maps), palette=True)
    a, b = Image.open(io.BytesIO(full)), Image.open(io.BytesIO(small))
    assert a.mode == "RGBA" and b.mode == "P" and len(small) < len(full) / 3
    err = np.abs(np.asarray(a.convert("RGB"), float) - np.asarray(b.convert("RGB"), float))
    assert err.max() <= 20 and err.mean() < 3  # of 255: the colours a reader sees
    explain_model(_wide_rgb_cnn(), torch.rand(1, 3, 16, 16), out_dir=tmp_path / "x")
    assert Image.open(tmp_path / "x" / "maps_0_0.png").mode == "P"  # explain stores its grids so
    assert Image.open(tmp_path / "x" / "saliency_0.png").mode == "RGBA"  # bars and a heat map: full colour


def _table_csv(path, n=60):
    rng = np.random.default_rng(0)
    rows = [["size", "colour", "weight", "label"]]
    for _ in range(n):
        size, colour = rng.normal(), rng.choice(["red", "green", "blue"])
        rows.append([f"{size:.3f}", colour, f"{rng.normal():.3f}", "big" if size > 0 else "small"])
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_text(buf.getvalue())
    return path


def test_table_saliency_bars_are_labelled_by_feature_names(tmp_path, capsys):
    data = _table_csv(tmp_path / "t.csv")
    fit.train(data=str(data), target="label", model="mlp", epochs=1, out=tmp_path / "run",
              set={"train.progress": False, "model.hidden": [8]}, verbose=False)
    run = fit.load_run(tmp_path / "run")
    names = TablePreprocessor.from_dict(run.state["table"]).feature_names()
    assert set(names) == {"size", "weight", "colour=blue", "colour=green", "colour=red"}
    x = run.load_inputs(str(data))[:1]
    from idealfit.explain.model import saliency

    sal = saliency(run.model, x)[0]
    fig = saliency_figure(x[0], sal, feature_names=names)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(labels) == sorted(names)
    assert labels[0] == names[int(sal.argmax())]  # the most salient feature on top
    with pytest.raises(fit.UserError, match="4 feature names for an input of 5 features"):
        saliency_figure(x[0], sal, feature_names=names[:4])
    # the CLI: a CSV of 60 rows explains its first 8, named file:line
    assert main(["explain", str(run.dir), "--input", str(data)]) == 0
    out = capsys.readouterr().out
    assert "explaining the first 8 of 60 rows" in out and "t.csv:2:" in out
    assert (run.dir / "explain" / "saliency_7.png").is_file() and not (run.dir / "explain" / "saliency_8.png").exists()
