"""Runs trained on a segmentation folder (images/ + masks/) and a paired folder (A/ + B/), as a user makes
them: evaluate and export find their own untouched folder again, and predict's outputs are the input's size."""

import json

import numpy as np
import pytest
from PIL import Image

import idealfit as fit
from idealfit.cli import main
from idealfit.errors import UserError

SIDE = 32  # pix2pix's PatchGAN needs room for its stride-2 layers


def _mask_folder(root, n=24):
    """root/images/<k>.png gray noise with a bright square, root/masks/<k>.png its square (class 1)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(n):
        img = rng.integers(0, 90, size=(SIDE, SIDE), dtype=np.uint8)
        mask = np.zeros((SIDE, SIDE), np.uint8)
        r, c = rng.integers(0, SIDE - 12, size=2)
        mask[r : r + 12, c : c + 12] = 1
        img[mask == 1] += 150
        Image.fromarray(img).save(root / "images" / f"{k:02d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{k:02d}.png")
    (root / "classes.txt").write_text("background\nbright\n")
    return root


def _pair_folder(root, n=24):
    """root/A/<k>.png gray noise, root/B/<k>.png its negative."""
    rng = np.random.default_rng(1)
    (root / "A").mkdir(parents=True)
    (root / "B").mkdir()
    for k in range(n):
        a = rng.integers(0, 256, size=(SIDE, SIDE), dtype=np.uint8)
        Image.fromarray(a).save(root / "A" / f"{k:02d}.png")
        Image.fromarray(255 - a).save(root / "B" / f"{k:02d}.png")
    return root


TINY = {"unet": {"model.widths": [4, 8]}, "pix2pix": {"model.widths": [4, 8], "model.d_width": 4}}


@pytest.fixture(scope="module")
def folder_runs(tmp_path_factory):
    """{"seg": run, "pairs": run}: one 1-epoch run on each folder kind."""
    root = tmp_path_factory.mktemp("folders")
    out = {}
    for name, make, family in (("seg", _mask_folder, "unet"), ("pairs", _pair_folder, "pix2pix")):
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
        with pytest.raises(UserError, match=f"{name} changed since this run was trained"):
            fit.load_run(run.dir).evaluate()
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
