"""`idealfit explain RUN_DIR --input IMAGE` end to end on a real trained run."""

import json

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

import idealfit as fit
from idealfit.cli import main


def test_explain_a_trained_run_writes_pngs_and_a_report_section(tmp_path, capsys):
    run = fit.train(data="digits", epochs=2, out=tmp_path / "run", set={"train.progress": False}, verbose=False)
    img = tmp_path / "seven.png"
    d = load_digits()
    Image.fromarray((d.images[d.target == 7][0] / 16 * 255).astype(np.uint8)).save(img)
    assert main(["explain", str(run.dir), "--input", str(img)]) == 0
    out = capsys.readouterr().out
    assert "seven.png" in out
    pngs = sorted(p.name for p in (run.dir / "explain").glob("*.png"))
    assert "filters_first_layer.png" in pngs and any(p.startswith("saliency") for p in pngs)
    assert sum(p.startswith("maps") for p in pngs) >= 2  # a feature-map figure per conv layer (and activation)
    extras = json.loads((run.dir / "extras.json").read_text())
    assert {e["section"] for e in extras} >= {"Explain"}
    html = (run.dir / "report.html").read_text()
    assert "Explain" in html and html.count("data:image/png;base64,") >= len(pngs)


def test_explain_bad_run_dir_and_missing_input(tmp_path, capsys):
    assert main(["explain", str(tmp_path), "--input", "nope.png"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("idealfit: error:")
