"""`idealfit lr-find` and `idealfit study` on a CSV with --target."""

import numpy as np
import pytest

from idealfit.cli import main


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=80), rng.normal(size=80)
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    lines = ["a,b,label"] + [f"{p:.4f},{q:.4f},{'yes' if p + q > 0 else 'no'}" for p, q in zip(a, b, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_lr_find_on_a_csv_keeps_target_and_every_set_in_its_command(csv_path, tmp_path, capsys):
    assert main(["lr-find", "--data", str(csv_path), "--target", "label", "--steps", "8", "--set",
                 "train.batch_size=16", "--set", "model.hidden=[8, 8]", "--out", str(tmp_path / "lr.png")]) == 0
    # "use it: ... --lr X", or "train with it: ..." when an 8-step sweep shows no clear descent
    use = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("use it: ", "train with it: "))][0]
    assert f"--data {csv_path} --model auto --target label --set train.batch_size=16 --set 'model.hidden=[8, 8]'" in use
    assert (tmp_path / "lr.png").is_file()


def test_lr_find_without_target_says_so(csv_path, tmp_path, capsys):
    assert main(["lr-find", "--data", str(csv_path), "--out", str(tmp_path / "lr.png")]) == 2
    assert "name the column to predict with --target" in capsys.readouterr().err


def test_study_capacity_on_a_csv(csv_path, tmp_path, capsys):
    assert main(["study", "capacity", "--data", str(csv_path), "--target", "label", "--epochs", "1",
                 "--out", str(tmp_path / "s")]) == 0
    assert "best (lowest validation error)" in capsys.readouterr().out
    assert main(["study", "regularization", "--data", str(csv_path), "--epochs", "1", "--out", str(tmp_path / "r")]) == 2
    assert "--target" in capsys.readouterr().err
