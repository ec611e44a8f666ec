"""Training values far outside the rest (newcomer 7, BUG 3 and R16): a regression target with typos is named at
train, recorded, shown in the report and never called a good fit; input typos clipped at train are named too.
Real files (statsmodels' engel), real runs through the CLI."""

import json

import numpy as np
import pytest
from statsmodels.datasets import engel

from idealfit.cli import main
from idealfit.data.far_values import far_targets
from idealfit.diagnose import diagnose

TINY = ["--epochs", "5", "--no-progress"]
TYPO_LINES = (7, 42, 102, 152)  # file lines (header = 1) of rows 5, 40, 100, 150


def _engel(path, column):
    frame = engel.load_pandas().data
    for line in TYPO_LINES:
        frame.loc[line - 2, column] *= 1000
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def target_typos(tmp_path_factory):
    root = tmp_path_factory.mktemp("ytypos")
    data = _engel(root / "engel_ytypos.csv", "foodexp")
    return root, data


def test_far_targets_are_tukeys_far_fences_by_hand():
    y = np.r_[np.arange(1.0, 21.0), 500.0, -400.0]
    q1, q3 = np.quantile(y, [0.25, 0.75])
    far = far_targets(y, [f"r{i}" for i in range(len(y))], k=5)
    assert far["fences"] == pytest.approx([q1 - 5 * (q3 - q1), q3 + 5 * (q3 - q1)])
    assert far["count"] == 2 and far["rows"] == ["r20", "r21"] and far["values"] == [500.0, -400.0]
    assert far_targets(np.arange(1.0, 21.0), [str(i) for i in range(20)]) is None  # nothing far: no record
    assert far_targets(np.r_[np.zeros(20), 9.0], [str(i) for i in range(21)]) is None  # IQR 0: no fences
    tail = np.r_[np.arange(1.0, 101.0), np.full(6, 1e4)]  # 6 far of 106: more than max(5, 2%): a tail, not typos
    assert far_targets(tail, [str(i) for i in range(len(tail))]) is None
    assert far_targets(tail[:-1], [str(i) for i in range(len(tail) - 1)])["count"] == 5


def test_target_typos_are_named_at_train_recorded_and_not_called_a_good_fit(target_typos, capsys):
    root, data = target_typos
    out = root / "run"
    assert main(["train", "--data", str(data), "--target", "foodexp", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr()
    said = printed.out + printed.err
    note = [line for line in said.splitlines() if "far outside the rest" in line and line.startswith("foodexp:")]
    assert len(note) == 1, said
    pre = json.loads((out / "preprocess.json").read_text())
    far = pre["target"]["far"]
    # every typo that landed in the training split is named by its file line, and nothing else
    lines = {int(r.split(":")[1]) for r in far["rows"]}
    assert lines <= set(TYPO_LINES) and far["count"] == len(lines) >= 1
    assert all(f"engel_ytypos.csv:{n}" in note[0] for n in lines) and "fix or drop those rows" in note[0]
    summary = json.loads((out / "summary.json").read_text())
    d = summary["diagnosis"]
    assert summary["metrics"]["train"]["r2"] < 0.05
    assert d["verdict"] != "good fit" and not any(a.startswith("Keep this setup") for a in d["advice"])
    assert any("explains" in r and "R²" in r for r in d["reasons"])
    page = (out / "report.html").read_text()
    columns = page[page.index('id="columns"'):]
    assert "foodexp" in columns[:columns.index("</section>")] and "far outside the rest" in columns


def test_a_clean_target_gets_no_note_and_input_typos_are_named_at_train(tmp_path, capsys):
    data = _engel(tmp_path / "engel_typos.csv", "income")
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--target", "foodexp", "--out", str(out), *TINY]) == 0
    said = capsys.readouterr()
    said = said.out + said.err
    assert "training target value" not in said
    note = [line for line in said.splitlines() if line.startswith("clipped ") and "income" in line]
    assert len(note) == 1, said
    pre = json.loads((out / "preprocess.json").read_text())
    assert "far" not in pre["target"]
    clipped = pre["table"]["far_clipped"]["income"]
    lines = {int(e.split(":")[-1].rstrip(")")) for e in clipped["examples"]}
    assert lines <= set(TYPO_LINES) and clipped["count"] == len(lines) >= 1
    assert f"income {clipped['count']} (" in note[0]
    page = (out / "report.html").read_text()
    assert f"{clipped['count']} training value(s) far beyond those bounds: {clipped['examples'][0]}" in page
    assert json.loads((out / "summary.json").read_text())["metrics"]["train"]["r2"] > 0.5  # clipped: a sensible run


def test_the_r2_rule_overrides_flat_curves_that_would_read_as_a_good_fit():
    losses = [1.0, 0.5, 0.35, 0.31, 0.30, 0.30, 0.30, 0.30]
    history = [{"epoch": e, "train_loss": v, "val_loss": v + 0.01, "train_rmse": v, "val_rmse": v + 0.01}
               for e, v in enumerate(losses, 1)]
    final = {"train": {"rmse": 0.3, "r2": 0.7}, "val": {"rmse": 0.31, "r2": 0.69}}
    assert diagnose(history, task="regression", metric="rmse", final=final)["verdict"] == "good fit"
    final["train"]["r2"] = 0.001
    d = diagnose(history, task="regression", metric="rmse", final=final)
    assert d["verdict"] == "underfitting" and "train R² 0.001" in " ".join(d["reasons"])
    assert not any(a.startswith("Keep this setup") for a in d["advice"])
