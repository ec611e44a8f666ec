""""best epoch" (the kept weights) beside the evidence's "epoch of lowest validation loss" (newcomer 7, R18): when
they differ, the summary line and the report say why, in the same words."""

import json

from statsmodels.datasets import star98

from idealfit.cli import main
from idealfit.diagnose_evidence import best_epoch_words


def _summary(best, low, warm):
    return {"best_epoch": best, "warmup_epochs": warm, "diagnosis": {"evidence": {"best_val_epoch": low}}}


def test_the_words_link_the_two_epochs():
    assert best_epoch_words(_summary(2, 2, 1)) == "2"
    assert best_epoch_words(_summary(2, 1, 1)) == ("2 (validation loss was lowest at epoch 1, in the learning-rate "
                                                   "warm-up, which early stopping does not judge)")
    assert best_epoch_words(_summary(3, 5, 0)) == "3 (the kept weights; validation loss was lowest at epoch 5)"
    assert best_epoch_words({"best_epoch": 4}) == "4"  # a summary without a diagnosis


def test_a_real_run_prints_and_reports_the_same_words(tmp_path, capsys):
    frame = star98.load_pandas().data
    frame["pass_rate"] = frame["NABOVE"] / (frame["NABOVE"] + frame["NBELOW"])
    data = tmp_path / "star.csv"
    frame.drop(columns=["NABOVE", "NBELOW"]).to_csv(data, index=False)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--target", "pass_rate", "--epochs", "5", "--no-progress",
                 "--out", str(out)]) == 0
    words = best_epoch_words(json.loads((out / "summary.json").read_text()))
    assert f"best epoch {words}\n" in capsys.readouterr().out
    assert words.replace("-", "") in (out / "report.html").read_text().replace("-", "")
