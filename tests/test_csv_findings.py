"""A newcomer's CSV findings, end to end on tiny real files: one class refused on every path, empty text cells read
as empty texts at train and predict, evaluate/predict messages for the wrong kind of data, the task note."""

import contextlib
import io

import numpy as np
import pytest
from csv_files import write_csv

from idealfit.cli import main

WORDS = [["goal", "match", "team", "score"], ["bread", "cheese", "soup", "oven"]]
TINY = ["--epochs", "1", "--no-progress", "--set", "data.tokens=word", "--set", "model.hidden_size=8",
        "--set", "model.embed_dim=4", "--set", "model.hidden=[8]", "--set", "data.max_length=8"]


def _write(path, rows, header):
    return write_csv(path, header, rows)


def _rows(n=40, *, labels=("sport", "food")):
    rng = np.random.default_rng(0)
    return [["the " + " and ".join(rng.choice(WORDS[i % 2], size=4)), f"{i * 1.5:.1f}", labels[i % len(labels)]]
            for i in range(n)]


@pytest.mark.parametrize("header, keep", [(("note", "price", "vote"), (0, 1, 2)), (("note", "vote"), (0, 2))])
def test_a_single_class_target_is_refused_on_the_text_paths_as_on_tables(tmp_path, cli_error, header, keep):
    rows = [[r[i] for i in keep] for r in _rows(labels=("Dole",))]
    data = _write(tmp_path / "one.csv", rows, header)
    line = cli_error(["train", "--data", str(data), "--target", "vote", "--out", str(tmp_path / "run"), *TINY],
                     "target 'vote' holds only one class (Dole); classification needs at least 2")
    assert not (tmp_path / "run").exists()
    # the same line as a plain table (the text left out)
    if len(header) == 3:
        same = cli_error(["train", "--data", str(data), "--target", "vote", "--set", "data.drop=[note]", *TINY])
        assert same == line


@pytest.fixture(scope="module")
def holes(tmp_path_factory):
    """A text + table run trained on a CSV with 3 empty text cells (and a missing number)."""
    root = tmp_path_factory.mktemp("holes")
    rows = _rows(60)
    for i in (0, 7, 20):
        rows[i][0] = ""
    rows[5][1] = ""
    data = _write(root / "holes.csv", rows, ("note", "price", "topic"))
    out = root / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["train", "--data", str(data), "--target", "topic", "--out", str(out), *TINY]) == 0
    return root, out, data, printed.getvalue()


def test_empty_text_cells_train_as_empty_texts_with_one_note(holes):
    root, out, data, printed = holes
    assert "holes.csv: text column 'note' is empty on 3 rows (first on line 2): read as empty texts" in printed
    from idealfit.run import load_run

    run = load_run(out)
    # an empty text is a row of padding (one <pad> step for the RNN), the same as a missing cell
    from idealfit.data.prepare import transform_inputs

    a = transform_inputs(run.state, np.array([["", 3.0], [float("nan"), 3.0]], dtype=object))
    assert (a[0] == a[1]).all() and (a[0, -a.shape[1] + 1:] == 0).all()
    p = run.predict_array([["", 3.0], [None, 3.0], ["the goal", 3.0]])
    np.testing.assert_allclose(p[0], p[1], atol=1e-7)
    assert np.isfinite(p).all() and not np.allclose(p[0], p[2])


def test_the_exported_padded_path_reads_an_empty_text_as_the_packed_one(holes):
    """export.py traces `exportable(model)` (padded sequences) and checks it against onnxruntime
    (tests/test_export_sequences.py feeds it an empty text too); here: padded == packed on empty texts."""
    import torch

    from idealfit.data.prepare import transform_inputs
    from idealfit.export import exportable, graph_input
    from idealfit.run import load_run

    run = load_run(holes[1])
    x = transform_inputs(run.state, np.array([["", 1.0], [None, 50.0], ["the soup", 9.0]], dtype=object))
    padded = exportable(run.model).eval()
    for batch in (x[:1], x):  # an empty text alone (one <pad> step), and beside a real one
        with torch.inference_mode():
            got = padded(torch.from_numpy(graph_input(run.state, batch))).numpy()
            want = run.model(torch.from_numpy(batch)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_predict_reads_empty_text_cells_and_says_how_many(holes, capsys):
    root, out, data, _ = holes
    new = _write(root / "new.csv", [["", "2"], ["the goal and the match", "4"]], ("note", "price"))
    capsys.readouterr()
    assert main(["predict", str(out), str(new)]) == 0
    got = capsys.readouterr()
    assert got.err.strip() == "new.csv: text column 'note' is empty on 1 row (first on line 2): read as empty texts"
    assert len(got.out.strip().splitlines()) == 3  # the header and both rows


def test_a_text_only_csv_empty_on_every_row_stays_refused(tmp_path, cli_error):
    data = _write(tmp_path / "e.csv", [["", "a"], ["", "b"]] * 5, ("note", "topic"))
    cli_error(["train", "--data", str(data), "--target", "topic", "--set", "data.text_column=note"],
              "the text column 'note'", "is empty")


def test_evaluate_and_predict_name_the_real_problem(tmp_path, cli_error):
    img = tmp_path / "img"
    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(img), "--no-progress"]) == 0
    table = _write(tmp_path / "t.csv", [[(i * 7) % 5, i % 2] for i in range(20)], ("x", "y"))
    cli_error(["evaluate", str(img), "--data", str(table)],
              f"{img} was trained on images (a folder), and {table} is a CSV: pass a folder of images")
    cli_error(["predict", str(img), str(table)], "a CSV cannot be its input: give it image files (or a folder of them)")
    # a table run given labelled data without its target column: the run's column, not a --target nobody typed
    tab = tmp_path / "tab"
    assert main(["train", "--data", str(table), "--target", "y", "--epochs", "1", "--out", str(tab),
                 "--no-progress"]) == 0
    nolabel = _write(tmp_path / "n.csv", [[i % 3] for i in range(5)], ("x",))
    line = cli_error(["evaluate", str(tab), "--data", str(nolabel)],
                     "has no 'y' column, the column this run predicts; evaluate needs labelled data")
    assert "--target" not in line


def test_a_text_run_evaluated_without_its_target_names_the_runs_column(holes, cli_error):
    root, out, data, _ = holes
    new = _write(root / "nolabel.csv", [r[:2] for r in _rows(6)], ("note", "price"))
    line = cli_error(["evaluate", str(out), "--data", str(new)], "has no 'topic' column, the column this run predicts")
    assert "--target" not in line
    assert main(["evaluate", str(out), "--data", str(data)]) == 0  # with it: evaluated


def test_whole_numbers_read_as_classes_get_a_note_naming_task_regression(tmp_path):
    from idealfit.data.files import load_csv

    rows = [[i * 0.5, float(1 + i % 7)] for i in range(70)]
    ds = load_csv(_write(tmp_path / "s.csv", rows, ("x", "score")), target="score", task=None)
    assert ds.task == "classification" and ds.num_classes == 7
    assert ("s.csv: target 'score' holds 7 distinct whole numbers, so they are read as 7 classes (classification); "
            "pass --task regression (Python: task=) to predict them as numbers") in ds.meta["notes"]
    assert not load_csv(tmp_path / "s.csv", target="score", task="regression").meta["notes"]
    labels = _write(tmp_path / "l.csv", [[i % 4, "ab"[i % 2]] for i in range(20)], ("x", "y"))
    assert not load_csv(labels, target="y", task=None).meta["notes"]  # class names: nothing to say


def test_api_errors_name_the_api_argument_beside_the_flag(tmp_path):
    import pandas as pd

    import idealfit as fit
    from idealfit.errors import UserError

    df = pd.DataFrame({"x": np.arange(20.0) % 6, "y": ["ab"[i % 2] for i in range(20)]})
    out = tmp_path / "api"
    fit.train(data=df, target="y", out=out, epochs=1, progress=False, verbose=False)
    with pytest.raises(UserError, match=r"choose another --out \(Python: out=\), or continue it with --resume .* "
                                        r"\(Python: resume=\)"):
        fit.train(data=df, target="y", out=out, epochs=1, progress=False, verbose=False)
    with pytest.raises(UserError, match=r"--target COLUMN \(Python: target=\)"):
        fit.train(data=str(_write(tmp_path / "d.csv", [[1, 2]] * 5, ("a", "b"))), out=tmp_path / "x", verbose=False)


def test_a_column_of_repeated_sentences_read_as_a_category_is_said_with_the_fix(tmp_path, cli_error):
    # the newcomer's texts.csv: 600 template sentences, 260 distinct, so not "mostly unique" free text
    from idealfit.config import DataConfig
    from idealfit.data.prepare import load_dataset

    sentences = [f"the {w} was {a} today" for w in ("soup", "match", "rain", "goal") for a in ("great", "bad", "odd")]
    rows = [[sentences[i % 12], ("red", "green")[i % 2], f"{i % 7}", ("a", "b")[i % 3 == 0]] for i in range(60)]
    data = _write(tmp_path / "t.csv", rows, ("text", "colour", "n", "label"))
    ds = load_dataset(DataConfig(name=str(data), target="label"))
    assert ds.kind == "table" and ds.meta["sentence_columns"] == ["text"]  # read as a category, as before
    said = [n for n in ds.meta["notes"] if "'text'" in n]
    assert said == ["t.csv: column 'text' (12 distinct values, 23 characters on average) looks like text but is "
                    "read as a category (one-hot, as it repeats); to read it as text: --set data.text_column=text"]
    assert not any("colour" in n for n in ds.meta["notes"])  # short categories are categories
    cli_error(["train", "--data", str(data), "--target", "label", "--out", str(tmp_path / "run"),
               "--set", "data.tokens=word"],
              "data.tokens works on text; t is table data: read the column 'text' as text with "
              "--set data.text_column=text")
    assert main(["train", "--data", str(data), "--target", "label", "--set", "data.text_column=text",
                 "--out", str(tmp_path / "run"), *TINY]) == 0  # the fix it names works
