"""`idealfit predict` says what it did to inputs training never showed it: one stderr line per kind, with
counts, and the predictions unchanged; a folder's non-image files are counted as training counts them."""

import csv
import json

import numpy as np
import pytest
from csv_files import write_csv as _write
from PIL import Image

from idealfit.cli import main


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("notes")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        age, colour = int(rng.integers(20, 60)), ["red", "blue", "green"][i % 3]
        rows.append([str(age), f"{rng.normal():.3f}", colour, "yes" if age > 40 else "no"])
    data = _write(root / "t.csv", ["age", "b", "colour", "y"], rows)
    out = root / "run"
    assert main(["train", "--data", str(data), "--target", "y", "--epochs", "2", "--out", str(out),
                 "--no-progress"]) == 0
    return root, out


def test_new_rows_with_gaps_unseen_categories_and_far_values_get_one_note_per_kind(table_run, tmp_path, capsys):
    root, run = table_run
    capsys.readouterr()
    odd = _write(tmp_path / "odd.csv", ["age", "b", "colour", "y"],
                 [["30", "0.1", "red", ""], ["NA", "?", "purple", ""], ["2700", "n/a", "blue", ""]])
    assert main(["predict", str(run), str(odd)]) == 0
    got = capsys.readouterr()
    high = json.loads((run / "preprocess.json").read_text())["table"]["clip"][1][0]  # age's upper training bound
    assert high < 60
    assert got.err.strip().splitlines() == [
        "odd.csv: filled 3 missing cells as training did (numbers with the training medians, text as unknown): "
        "age (odd.csv:3), b (odd.csv:3), b (odd.csv:4)",
        "odd.csv: 1 text value training never saw, treated as unknown: colour='purple' (odd.csv:3)",
        "odd.csv: clipped 1 value far outside the training range to its bounds (data.clip_quantiles, data.clip_fences): "
        f"age=2700 (odd.csv:4) to {high:.0f}"]
    # the predictions are what they were without the notes: the same rows written plainly give the same numbers
    plain = _write(tmp_path / "plain.csv", ["age", "b", "colour"], [["30", "0.1", "red"]])
    assert main(["predict", str(run), str(plain)]) == 0
    again = capsys.readouterr()
    assert again.err == ""  # nothing unusual: no note
    assert again.out.splitlines()[1].split(",")[1:] == got.out.splitlines()[1].split(",")[1:]


def test_predict_on_a_folder_counts_its_non_image_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for k, name in enumerate(("a", "b")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray((rng.integers(0, 60, (8, 8)) + 90 * k).astype(np.uint8), mode="L").save(
                tmp_path / "data" / name / f"{i}.png")
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "data"), "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    new = tmp_path / "new"
    (new / "sub").mkdir(parents=True)
    (new / "x.png").write_bytes((tmp_path / "data" / "a" / "0.png").read_bytes())
    (new / "readme.txt").write_text("notes")
    (new / "sub" / ".DS_Store").write_bytes(b"\0")
    capsys.readouterr()
    assert main(["predict", str(run), str(new)]) == 0
    got = capsys.readouterr()
    assert got.err.strip() == f"{new}: skipped 2 non-image files (readme.txt, sub/.DS_Store)"
    assert len(got.out.strip().splitlines()) == 2  # the header and the one image


def test_evaluate_leaves_unlabelled_rows_out_as_training_does(table_run, tmp_path, capsys):
    from idealfit.run import load_run

    root, run = table_run
    rows = [["30", "0.1", "red", "no"], ["50", "0.2", "blue", "yes"], ["45", "0.0", "red", "?"], ["41", "1", "red", "yes"]]
    labelled = _write(tmp_path / "l.csv", ["age", "b", "colour", "y"], rows)
    capsys.readouterr()
    got = load_run(run).evaluate(str(labelled))
    assert capsys.readouterr().err.strip() == ("l.csv: left out 1 row with no value in the target 'y' (line 4); "
                                               "fill them in to score them")
    kept = _write(tmp_path / "k.csv", ["age", "b", "colour", "y"], [r for r in rows if r[3] != "?"])
    assert load_run(run).evaluate(str(kept)) == got  # the same metrics as the file without that row
    none = _write(tmp_path / "n.csv", ["age", "b", "colour", "y"], [r[:3] + [""] for r in rows])
    assert main(["evaluate", str(run), "--data", str(none)]) == 2
    assert "target column 'y' is empty on every row" in capsys.readouterr().err


def test_predict_array_on_a_dataframe_warns_as_the_cli_notes(table_run):
    import warnings

    import pandas as pd

    import idealfit as fit

    _, run_dir = table_run
    run = fit.load_run(run_dir)
    odd = pd.DataFrame({"age": [30, None, 2700], "b": [0.1, None, None], "colour": ["red", "purple", "blue"]},
                       index=[10, 11, 12])
    with pytest.warns(UserWarning) as caught:
        probs = run.predict_array(odd)
    said = [str(w.message) for w in caught]
    assert any(s.startswith("predict_array: filled 3 missing cells") and "age (row 11)" in s for s in said), said
    assert any("colour='purple' (row 11)" in s for s in said) and any("age=2700 (row 12)" in s for s in said)
    assert probs.shape == (3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rows like training's: not a word
        run.predict_array(pd.DataFrame({"age": [30], "b": [0.1], "colour": ["red"]}))


def test_text_notes_count_each_unknown_token_once_per_row_within_max_length():
    from idealfit.data.input_notes import text_input_notes
    from idealfit.data.text import Vocabulary

    chars = Vocabulary(tokens="char").fit(["abba"])  # knows a and b
    # "abc" is read as "ab" (max_length 2): nothing unknown; "xx y" as "xx": x, once
    assert text_input_notes(chars, ["abc", "xx y", None], ["r0", "r1", "r2"], column="t", max_length=2,
                            source="s") == ["s: 1 character in 't' not in the run's vocabulary, read as unknown "
                                            "(<unk>): 'x' (r1)"]
    words = Vocabulary(tokens="word", min_freq=2).fit(["a a b", "c"])  # b and c too rare: unknown
    assert text_input_notes(words, ["a b c d e"], ["r0"], column="t", max_length=None, source="s") == [
        "s: 4 words in 't' not in the run's vocabulary, read as unknown (<unk>): 'b' (r0), 'c' (r0), 'd' (r0), ..."]
    assert text_input_notes(words, ["a A"], ["r0"], column="t", max_length=None, source="s") == []  # lowercased


def test_images_in_other_units_get_one_note_and_the_same_predictions(tmp_path, capsys):
    """Newcomer report 6, R7: sklearn's 0..16 digits given to a run trained on 0..1 were predicted confidently,
    with no word; now one note (as tables' far-outside-range note), the predictions as they were."""
    import warnings

    from sklearn.datasets import load_digits

    import idealfit as fit

    d = load_digits()
    x, y = (d.images[:300] / 16).astype(np.float32), d.target[:300]
    np.savez(tmp_path / "train.npz", x=x, y=y)
    run = fit.train(data=str(tmp_path / "train.npz"), epochs=1, out=tmp_path / "run", verbose=False,
                    set={"train.progress": False})
    assert json.loads((run.dir / "preprocess.json").read_text())["array"]["range"] == [0.0, 1.0]
    np.savez(tmp_path / "raw.npz", x=d.images[300:303].astype(np.float32))  # sklearn's own units, 0..16
    np.savez(tmp_path / "ok.npz", x=x[:3])
    capsys.readouterr()
    assert main(["predict", str(run.dir), str(tmp_path / "ok.npz")]) == 0
    assert capsys.readouterr().err == ""
    assert main(["predict", str(run.dir), str(tmp_path / "raw.npz")]) == 0
    got = capsys.readouterr()
    assert got.err == ("raw.npz: 3 inputs (raw.npz[0], raw.npz[1], raw.npz[2]) hold values 0..16, far outside the "
                       "training range 0..1: other units? scale them as the training data was (e.g. 0..255 pixels "
                       "/ 255); predicted as given\n")
    with pytest.warns(UserWarning, match=r"predict_array: 3 inputs \(sample 0, sample 1, sample 2\) hold values 0..16"):
        want = fit.load_run(run.dir).predict_array(d.images[300:303])
    rows = list(csv.reader(got.out.splitlines()))[1:]
    np.testing.assert_allclose([[float(v) for v in r[2:]] for r in rows], want, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # in the training units: no warning
        fit.load_run(run.dir).predict_array(x[:3])
