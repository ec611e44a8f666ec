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


def test_explain_without_input_explains_the_first_test_rows_or_names_the_files_it_takes(tmp_path, capsys, cli_error):
    rng = np.random.default_rng(0)
    data = tmp_path / "t.csv"
    data.write_text("a,b,y\n" + "".join(f"{a:.3f},{b:.3f},{int(a > b)}\n" for a, b in rng.normal(size=(60, 2))))
    run = fit.train(data=str(data), target="y", epochs=1, out=tmp_path / "run", set={"train.progress": False},
                    verbose=False)
    assert main(["explain", str(run.dir)]) == 0  # the run's own first 2 test rows, with their true class
    out = capsys.readouterr().out
    y = [line.split(",")[2] for line in data.read_text().splitlines()[1:]]
    test = np.load(run.dir / "split.npz")["test"][:2]
    assert f"(no --input given): test sample 0 (true: {y[test[0]]}), test sample 1 (true: {y[test[1]]})" in out
    assert (run.dir / "explain" / "saliency_1.png").is_file()
    data.unlink()  # the source is gone: the files it takes are named instead
    cli_error(["explain", str(run.dir)], "cannot be read again", "pass --input FILE.csv")


def test_explain_a_regression_run_shows_predicted_values_not_probabilities(tmp_path, capsys):
    """A regressor's one output is a value: `explain` prints it in the data's units, and draws no softmax."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    rows = ["a,b,price"] + [f"{a:.3f},{b:.3f},{100 + 10 * a - 5 * b:.3f}" for a, b in x]
    data = tmp_path / "prices.csv"
    data.write_text("\n".join(rows) + "\n")
    run = fit.train(data=str(data), target="price", epochs=2, out=tmp_path / "run",
                    set={"train.progress": False}, verbose=False)
    assert run.summary["task"] == "regression"
    inputs = tmp_path / "two.csv"
    inputs.write_text("\n".join(rows[:3]) + "\n")
    assert main(["explain", str(run.dir), "--input", str(inputs)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("two.csv:")]
    want = fit.load_run(run.dir).predict(str(inputs))[1]  # values in the data's units
    assert len(lines) == 2 and "probab" not in out and "1.000" not in out
    for line, value in zip(lines, want, strict=True):
        assert line.split(": ", 1)[1] == f"predicted price {value:.4g}"
    pngs = sorted(p.name for p in (run.dir / "explain").glob("*.png"))
    assert pngs == ["saliency_0.png", "saliency_1.png"]
    extras = json.loads((run.dir / "extras.json").read_text())
    assert any(e.get("caption") == "predicted values" for e in extras)


def test_a_second_explain_replaces_the_section_so_every_caption_shows_its_own_figure(tmp_path, capsys):
    """Newcomer report 6, bug 3: `explain RUN --input digit.png` then `explain RUN` redrew probabilities_0.png,
    and the first call's "digit.png: class probabilities" caption then showed the test sample's picture."""
    from idealfit.report.html import add_extra

    run = fit.train(data="digits", epochs=1, out=tmp_path / "run", set={"train.progress": False}, verbose=False)
    own = run.dir / "mine.png"  # another tool's entry in another section stays as it was, in its place
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(own)
    add_extra(run.dir, section="Notes", caption="mine", path="mine.png")
    img = tmp_path / "blank.png"
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(img)
    assert main(["explain", str(run.dir), "--input", str(img)]) == 0
    assert main(["explain", str(run.dir)]) == 0
    capsys.readouterr()
    extras = json.loads((run.dir / "extras.json").read_text())
    explain = [e for e in extras if e["section"] == "Explain"]
    assert not any("blank.png" in e["caption"] or "blank.png" in (e["text"] or "") for e in explain)
    paths = [e["path"] for e in explain if e["path"]]
    assert len(paths) == len(set(paths))  # no two captions share one picture
    assert [e["caption"] for e in extras if e["section"] == "Notes"] == ["mine"] and extras[0]["section"] == "Notes"
    html = (run.dir / "report.html").read_text()
    assert "blank.png" not in html and "test sample 0" in html
