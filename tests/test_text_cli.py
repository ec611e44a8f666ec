"""A CSV with a column of free text, end to end: train, predict (--text and a CSV) round-trips, clear errors."""

import csv
import json

import numpy as np
import pytest

from idealfit.cli import main
from idealfit.errors import UserError

SPORT = ["goal", "match", "team", "score", "referee", "league", "striker", "penalty"]
FOOD = ["bread", "cheese", "soup", "recipe", "oven", "butter", "garlic", "salad"]


def _write(path, rows, header=("id", "review", "topic")):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _rows(n=80, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        topic = ["sport", "food"][i % 2]
        words = rng.choice(SPORT if topic == "sport" else FOOD, size=6)
        rows.append([f"r{i}", "the " + " and ".join(words), topic])
    return rows


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    data = root / "reviews.csv"
    _write(data, [r[1:] for r in _rows()], header=("review", "topic"))  # one feature column: detected as text
    out = root / "run"
    assert main(["train", "--data", str(data), "--target", "topic", "--epochs", "3", "--out", str(out),
                 "--no-progress", "--set", "data.tokens=word"]) == 0
    return root, out


def test_a_column_of_free_text_is_trained_as_text_with_its_baselines(text_run):
    _, out = text_run
    state = json.loads((out / "preprocess.json").read_text())
    assert state["kind"] == "text" and state["text"]["tokens"] == "word"
    assert set(SPORT + FOOD) <= set(state["text"]["itos"])
    summary = json.loads((out / "summary.json").read_text())
    assert {"majority", "naive_bayes"} <= set(summary["baselines"])
    assert summary["baselines"]["naive_bayes"]["test"]["accuracy"] > 0.9  # the words give the topic away
    cfg = (out / "config.yaml").read_text()
    assert "name: rnn" in cfg


def test_predict_text_round_trips(text_run, capsys):
    from idealfit.run import load_run

    root, out = text_run
    texts = ["the goal and the match", "garlic soup and bread"]
    assert main(["predict", str(out), "--text", texts[0], "--text", texts[1]]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0][:2] == ["input", "predicted"] and [r[0] for r in rows[1:]] == texts
    run = load_run(out)
    proba = run.predict_array(texts)
    for r, p in zip(rows[1:], proba, strict=True):
        assert [float(v) for v in r[2:]] == pytest.approx(p.tolist(), abs=1e-6)
        assert r[1] == run.class_names[int(p.argmax())]
    # a CSV with the run's text column (extra columns ignored) gives the same predictions
    path = root / "new.csv"
    _write(path, [["a", texts[0], "x"], ["b", texts[1], "y"]], header=("id", "review", "other"))
    names, from_csv = run.predict(path)
    assert names == ["new.csv:2", "new.csv:3"] and np.allclose(from_csv, proba, atol=1e-6)
    assert np.allclose(run.predict_array(texts[0]), proba[:1], atol=1e-6)  # one string is one text
    import pandas as pd

    frame = pd.DataFrame({"id": ["a", "b", "c"], "review": [*texts, texts[0]]}, index=[7, 8, 9])
    names, from_frame = run.predict(frame)  # its text column by name, not its column names as texts
    assert names == ["7", "8", "9"] and np.allclose(from_frame, [*proba, proba[0]], atol=1e-6)
    with pytest.raises(UserError, match="lacks the text column 'review'"):
        run.predict_array(frame.rename(columns={"review": "text"}))


def test_text_column_errors_are_one_line(tmp_path, cli_error):
    data = tmp_path / "d.csv"
    rows = [[r[0], "", r[2]] for r in _rows(20)]
    _write(data, rows)
    cli_error(["train", "--data", str(data), "--target", "topic", "--set", "data.text_column=review"],
              "text column 'review'", "is empty")
    cli_error(["train", "--data", str(data), "--target", "topic", "--set", "data.text_column=comment"],
              "data.text_column=comment is not a column", "review")
    cli_error(["train", "--data", "digits", "--set", "data.text_column=review"], "data.text_column works on CSV")


def test_predict_text_needs_a_text_run(text_run, tmp_path, cli_error):
    _, out = text_run
    cli_error(["predict", str(out)], "pass the inputs to predict")
    cli_error(["predict", str(out), "x.csv", "--text", "hello"], "either --text or input files")


def test_text_on_a_run_of_other_data_is_refused(tmp_path, cli_error):
    out = tmp_path / "xo"
    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    cli_error(["predict", str(out), "--text", "hello"], "--text gives the inputs of a run trained on text",
              "image data")


def test_a_text_run_reloads_predicts_what_it_stored_and_evaluates_the_same(text_run):
    """The convention suite's checks (tests/tasks/test_convention.py) on a text run, which arrays cannot make."""
    from idealfit.data.files import load_csv
    from idealfit.models.summary import count_params, summarize
    from idealfit.run import load_run

    root, out = text_run
    run = load_run(out)
    ds = load_csv(root / "reviews.csv", target="topic", task=None)
    test = np.load(out / "split.npz")["test"]
    pred = run.predict_array(ds.x[test])
    np.testing.assert_array_equal(pred.argmax(1), np.load(out / "predictions.npz")["y_pred"])
    summary = json.loads((out / "summary.json").read_text())
    assert run.evaluate()["accuracy"] == pytest.approx(summary["metrics"]["test"]["accuracy"])
    assert f"{count_params(run.model):,}" in summarize(run.model, tuple(run.state["input_shape"]))


def test_text_column_picks_the_text_beside_other_columns(tmp_path):
    from idealfit.config import DataConfig
    from idealfit.data.prepare import load_dataset

    data = tmp_path / "d.csv"
    _write(data, _rows(30))  # id, review, topic: the review is detected as text, the id left out as an identifier
    for ds in (load_dataset(DataConfig(name=str(data), target="topic")),
               load_dataset(DataConfig(name=str(data), target="topic", text_column="review"))):
        assert ds.kind == "text" and ds.columns == ["review"] and ds.x[0] == _rows(30)[0][1]
        assert ds.meta["identifiers"] == ["id"] and "looks like an identifier" in ds.meta["notes"][1]


def test_explain_refuses_a_text_run_in_one_line(text_run, cli_error):
    root, out = text_run
    cli_error(["explain", str(out), "--input", str(root / "reviews.csv")], "reads text as token ids",
              "idealfit predict")
    cli_error(["explain", str(out)], "reads text as token ids", "idealfit predict")  # not "needs --input"


def test_predict_on_a_csv_notes_the_words_training_never_saw(text_run, capsys):
    root, out = text_run
    _write(root / "unseen.csv", [["a", "the goal and the pizza"], ["b", "garlic soup and bread"]],
           header=("id", "review"))
    capsys.readouterr()
    assert main(["predict", str(out), str(root / "unseen.csv")]) == 0
    assert capsys.readouterr().err.strip() == ("unseen.csv: 1 word in 'review' not in the run's vocabulary, read as "
                                               "unknown (<unk>): 'pizza' (unseen.csv:2)")
