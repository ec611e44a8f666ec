"""`idealfit predict` writes CSVs a spreadsheet can open safely, and `--out` fails early and clearly."""

import csv
import os

import numpy as np
import pytest
from PIL import Image

from idealfit.cli import main

HOSTILE = ['=HYPERLINK("x","y")', "+SUM(1)", "@cmd", "plain"]  # class names come from folder names


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """An image-folder run whose class names are spreadsheet formulas."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    for k, name in enumerate(HOSTILE):
        (root / "data" / name).mkdir(parents=True)
        for i in range(6):
            img = rng.integers(0, 60, (8, 8)).astype(np.uint8) + 40 * k
            Image.fromarray(img, mode="L").save(root / "data" / name / f"{i}.png")
    out = root / "run"
    assert main(["train", "--data", str(root / "data"), "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    return root, out


def test_csv_text_quotes_formula_starts_but_not_numbers():
    from idealfit.cli import csv_text

    for cell in ['=HYPERLINK("x","y")', "+SUM(1)", "-2+3", "@cmd", "\tx", "\rx", "-inf"]:
        assert csv_text(cell) == "'" + cell
    for cell in ["plain", "-1", "-1.5", "+2e-3", "0.5", "", "a=b"]:
        assert csv_text(cell) == cell


def test_predict_csv_has_no_live_formulas(hostile_run, tmp_path, monkeypatch, capsys):
    root, run = hostile_run
    monkeypatch.chdir(tmp_path)
    src = root / "data" / "plain" / "0.png"
    for name in ("=1+2.png", "@x.png", "ok.png"):  # relative names are written as given
        (tmp_path / name).write_bytes(src.read_bytes())
    assert main(["predict", str(run), "=1+2.png", "@x.png", "ok.png", "--out", "p.csv"]) == 0
    rows = list(csv.reader((tmp_path / "p.csv").open(newline="")))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["input", "predicted"] and header[2:] == [f"p_{c}" for c in sorted(HOSTILE)]
    assert [r[0] for r in body] == ["'=1+2.png", "'@x.png", "ok.png"]
    quoted = {"'" + c if c[0] in "=+@" else c for c in HOSTILE}
    for r in body:
        assert r[1] in quoted
        probs = [float(v) for v in r[2:]]  # our numbers stay numbers
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
    for cell in (c for r in rows for c in r):
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_regression_values_keep_their_minus_sign(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (80, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] * 10 - 50).astype(np.float32))
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "d.npz"), "--task", "regression", "--model", "mlp",
                 "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    np.savez(tmp_path / "new.npz", x=x[:10])
    assert main(["predict", str(out), str(tmp_path / "new.npz")]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))[1:]
    values = [r[1] for r in rows]
    assert any(v.startswith("-") for v in values)
    assert all(float(v) == float(v) for v in values)  # plain numbers, no quote in front


# ---- --out and inputs ---------------------------------------------------------------------------------


def test_out_at_a_folder_is_one_line(hostile_run, tmp_path, cli_error):
    root, run = hostile_run
    cli_error(["predict", str(run), str(root / "data" / "plain" / "0.png"), "--out", str(tmp_path)],
              "is a folder; give a file name such as")


def test_out_in_a_missing_folder_is_one_line(hostile_run, tmp_path, cli_error):
    root, run = hostile_run
    cli_error(["predict", str(run), str(root / "data" / "plain" / "0.png"), "--out", str(tmp_path / "no" / "p.csv")],
              "does not exist; create it")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_out_in_an_unwritable_folder_is_one_line(hostile_run, tmp_path, cli_error):
    root, run = hostile_run
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    cli_error(["predict", str(run), str(root / "data" / "plain" / "0.png"), "--out", str(locked / "p.csv")],
              "cannot write in the folder")


def test_out_may_not_overwrite_the_runs_own_files(hostile_run, cli_error):
    root, run = hostile_run
    before = (run / "model.safetensors").read_bytes()
    cli_error(["predict", str(run), str(root / "data" / "plain" / "0.png"), "--out", str(run / "model.safetensors")],
              "would overwrite the run's own model.safetensors")
    assert (run / "model.safetensors").read_bytes() == before


def test_out_file_respects_the_umask(hostile_run, tmp_path, capsys):
    root, run = hostile_run
    old = os.umask(0o002)
    try:
        assert main(["predict", str(run), str(root / "data" / "plain" / "0.png"), "--out", str(tmp_path / "p.csv")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "p.csv").stat().st_mode & 0o777 == 0o664


def test_a_folder_without_images_as_input_is_one_line(hostile_run, cli_error, tmp_path):
    # issue 8: a folder of images is now predicted image by image (tests/data/test_images.py); a folder
    # with no image in it stays one line
    root, run = hostile_run
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    cli_error(["predict", str(run), str(tmp_path / "empty")], "holds no image files", "pass a folder of images")


# ---- the report copies at most 64 KiB of model.txt and config.yaml ------------------------------------


def test_report_truncates_huge_text_files(hostile_run, tmp_path, capsys):
    import shutil

    run = shutil.copytree(hostile_run[1], tmp_path / "run")
    (run / "config.yaml").write_text("# " + "x" * 3_000_000 + "\n" + (run / "config.yaml").read_text())
    (run / "model.txt").write_text("layer\n" * 500_000)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert len(page) < 1_000_000  # the figures are ~100 KB; 2 x 64 KiB of text at most
    assert page.count("… truncated: ") == 2
    assert "config.yaml is longer than 64 KiB" in page and "model.txt is longer than 64 KiB" in page


def test_report_and_explain_files_respect_the_umask(hostile_run, tmp_path, capsys):
    import shutil

    root, src = hostile_run
    run = shutil.copytree(src, tmp_path / "run")
    old = os.umask(0o002)
    try:
        assert main(["explain", str(run), "--input", str(root / "data" / "plain" / "0.png")]) == 0
    finally:
        os.umask(old)
    for f in [run / "report.html", run / "extras.json", *(run / "explain").iterdir()]:
        assert f.stat().st_mode & 0o777 == 0o664, f
