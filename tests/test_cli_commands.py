"""The CLI's other sub-commands: `datasets`, and `evaluate` / `predict` on bad run folders and inputs."""

from pathlib import Path

import numpy as np
import pytest

from idealfit.cli import main
from idealfit.data.embedded import EMBEDDED


def one_error_line(capsys, argv, *needles):
    """`idealfit ...` exits 2 with exactly one stderr line `idealfit: error: ...` and prints nothing else."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("idealfit: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert captured.out == ""
    return lines[0]


def copy_run(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


@pytest.fixture(scope="module")
def xo_run(tmp_path_factory):
    """A real run folder: one epoch of the small CNN on the embedded X/O images."""
    out = tmp_path_factory.mktemp("runs") / "xo"
    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    return out


def test_datasets_lists_every_embedded_dataset(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    embedded = out.split("your own data")[0]
    listed = [line.split()[0] for line in embedded.splitlines()[1:] if line.startswith("  ")]
    assert listed == ["digits", "xo", "diabetes", "mnist1d", "shapes", "labels2shapes", "edges2shapes",
                      "sunspots", "sunspots_monthly", "co2", "elnino", "words", "spoken_digits",
                      "spoken_digits_noisy"] == list(EMBEDDED)
    width = max(map(len, EMBEDDED))
    for name, (_, description) in EMBEDDED.items():  # every description starts in one column, after a gap
        assert f"  {name.ljust(width)}  {description}\n" in embedded
    for kind in ("--data FILE.csv --target COL", "images/ and masks/", "A/ and B/", "--task forecasting", ".wav"):
        assert kind in out.split("your own data")[1], kind


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_folder_that_is_not_a_run(capsys, tmp_path, command):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(b"")
    extra = [str(tmp_path / "photos" / "a.png")] if command == "predict" else []
    one_error_line(capsys, [command, str(tmp_path / "photos"), *extra], "not an idealfit run folder", "photos")


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_run_folder_that_does_not_exist(capsys, tmp_path, command):
    extra = ["x.png"] if command == "predict" else []
    one_error_line(capsys, [command, str(tmp_path / "nope"), *extra], "not an idealfit run folder")


def test_unfinished_run_folder(capsys, tmp_path):
    run = tmp_path / "half"
    run.mkdir()
    (run / "config.yaml").write_text("data:\n  name: xo\n")
    one_error_line(capsys, ["evaluate", str(run)], "no finished model yet", "--resume")


def test_run_folder_with_a_corrupt_config(capsys, tmp_path, xo_run):
    broken = copy_run(xo_run, tmp_path / "broken")
    (broken / "config.yaml").write_text("- this is not\n- a config\n")
    one_error_line(capsys, ["evaluate", str(broken)], "config.yaml")


def test_run_folder_with_unparseable_config(capsys, tmp_path, xo_run):
    broken = copy_run(xo_run, tmp_path / "broken")
    (broken / "config.yaml").write_text("data: [unclosed\n")
    one_error_line(capsys, ["evaluate", str(broken)], "config.yaml")


def test_predict_with_a_missing_input(capsys, tmp_path, xo_run):
    preds = tmp_path / "preds.csv"
    missing = tmp_path / "missing.png"
    one_error_line(capsys, ["predict", str(xo_run), str(missing), "--out", str(preds)], "missing.png", "does not exist")
    assert not preds.exists()


def test_predict_with_a_corrupt_image(capsys, tmp_path, xo_run):
    bad = tmp_path / "x.png"
    bad.write_bytes(np.random.default_rng(0).bytes(100))
    one_error_line(capsys, ["predict", str(xo_run), str(bad)], "x.png", "not a readable image")


def test_predict_skip_unreadable_predicts_the_rest_of_a_folder(capsys, tmp_path, xo_run):
    from PIL import Image

    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        Image.fromarray(np.eye(5, dtype=np.uint8) * 255).save(folder / name)
    (folder / "broken.png").write_bytes(np.random.default_rng(0).bytes(100))
    truncated = folder / "sub" / "cut.png"  # a real PNG header, its pixels cut off: fails only when decoded
    Image.fromarray(np.full((40, 40), 7, np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    # without the option: one line naming the file and the option predict does accept (not a --set it refuses)
    line = one_error_line(capsys, ["predict", str(xo_run), str(folder)], "broken.png", "--skip-unreadable")
    assert "data.skip_unreadable" not in line
    assert main(["predict", str(xo_run), str(folder), "--skip-unreadable"]) == 0
    out, err = capsys.readouterr()
    rows = out.strip().splitlines()
    assert rows[0] == "input,predicted,p_X,p_O"
    assert [r.split(",")[0] for r in rows[1:]] == [str(folder / "a.png"), str(folder / "sub" / "b.png")]
    assert err.startswith("skipped 2 unreadable files (--skip-unreadable): ")
    assert "broken.png" in err and "cut.png" in err
    (folder / "a.png").unlink()
    (folder / "sub" / "b.png").unlink()
    assert main(["predict", str(xo_run), str(folder), "--skip-unreadable"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1].startswith("idealfit: error: none of the 2 inputs is readable")


def test_predict_with_the_wrong_kind_of_input(capsys, tmp_path, xo_run):
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    one_error_line(capsys, ["predict", str(xo_run), str(table)], "image data", "CSV")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    one_error_line(capsys, ["predict", str(xo_run), str(other)], "don't know how to read", "notes.txt")


def test_predict_npz_with_the_wrong_shape(capsys, tmp_path, xo_run):
    np.savez(tmp_path / "wrong.npz", x=np.zeros((3, 1, 6, 6), np.float32))
    one_error_line(capsys, ["predict", str(xo_run), str(tmp_path / "wrong.npz")], "(1, 6, 6)", "(1, 5, 5)")


def test_evaluate_with_missing_data(capsys, tmp_path, xo_run):
    one_error_line(capsys, ["evaluate", str(xo_run), "--data", str(tmp_path / "nowhere")], "nowhere")


def test_evaluate_and_predict_work_on_the_real_run(capsys, tmp_path, xo_run):
    # the good path, so the error tests above are known to fail for the reason they name
    assert main(["evaluate", str(xo_run)]) == 0
    assert "accuracy" in capsys.readouterr().out
    np.savez(tmp_path / "ok.npz", x=np.ones((3, 1, 5, 5), np.float32))
    assert main(["predict", str(xo_run), str(tmp_path / "ok.npz")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "input,predicted,p_X,p_O" and len(lines) == 4


def test_report_command_rebuilds_the_report(tmp_path, capsys):
    from idealfit.cli import main

    out = tmp_path / "r"
    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file() and "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2


def test_version_and_python_dash_m():
    import subprocess
    import sys

    from idealfit import __version__

    for cmd in (["idealfit"], [sys.executable, "-m", "idealfit"]):
        exe = cmd if cmd[0] != "idealfit" else [str(Path(sys.executable).parent / "idealfit")]
        r = subprocess.run([*exe, "--version"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == f"idealfit {__version__}", r.stderr


def test_importing_idealfit_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, idealfit, idealfit.cli; assert 'torch' not in sys.modules; print(idealfit.UserError)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
