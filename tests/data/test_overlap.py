"""Test inputs that are copies of training inputs (said at train, in summary.json and the report), and evaluate
on the run's own training source (said with the split's counts)."""

import json

import numpy as np
from PIL import Image

from idealfit.cli import main
from idealfit.data.base import Dataset
from idealfit.data.overlap import copies_in_test

SPLIT = {"train": np.array([0, 1, 2, 3]), "val": np.array([4]), "test": np.array([5, 6, 7])}


def test_copies_are_counted_on_table_rows_arrays_and_image_files(tmp_path):
    nan = float("nan")
    rows = np.array([[1.0, "a"], [2.0, "b"], [nan, "c"], [4.0, "d"], [5.0, "e"],
                     [nan, "c"], [2.0, "b"], [2.0, "B"]], dtype=object)  # test 5, 6 copy train 2, 1; 7 differs
    got = copies_in_test(Dataset("t", rows, np.zeros(8), "classification", "table"), SPLIT)
    assert got["rows"] == 2 and got["of"] == 3  # an empty cell matches an empty cell
    assert got["note"] == ("2 of 3 test rows also appear in the training split (the same input): the test score "
                           "partly measures memory")
    x = np.arange(8 * 4, dtype=np.float32).reshape(8, 1, 4)
    x[7] = x[0]
    assert copies_in_test(Dataset("s", x, np.zeros(8), "classification", "signal"), SPLIT)["rows"] == 1
    x[7, 0, 0] += 1e-3  # one value off: not a copy
    assert copies_in_test(Dataset("s", x, np.zeros(8), "classification", "signal"), SPLIT) is None
    paths = []
    for i in range(8):  # image files streamed from disk: compared by their bytes
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.full((4, 4), i % 5 * 40, np.uint8)).save(paths[-1])  # 5, 6, 7 repeat 0, 1, 2
    streamed = Dataset("f", np.empty(0), np.zeros(8), "classification", "image", paths=paths)
    assert copies_in_test(streamed, SPLIT)["note"].startswith("3 of 3 test samples")


def _csv(path, rows):
    path.write_text("a,b,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return path


def test_train_says_records_and_reports_test_copies_and_evaluate_on_the_source_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    distinct = [(round(float(v), 3), int(k), "yes" if v > 0 else "no") for v, k in
                zip(rng.normal(size=20), rng.integers(0, 5, 20), strict=True)]
    data = _csv(tmp_path / "d.csv", distinct * 3)  # every row three times, as a template-made file
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--target", "label", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    split = np.load(out / "split.npz")
    rows = (distinct * 3)
    train = {rows[i][:2] for i in split["train"]}
    want = sum(rows[i][:2] in train for i in split["test"])  # by hand: test rows whose inputs are a training row's
    assert want > 0
    note = f"{want} of {len(split['test'])} test rows also appear in the training split"
    assert note in said
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_copies"]["rows"] == want and summary["test_copies"]["of"] == len(split["test"])
    assert note in (out / "report.html").read_text()

    assert main(["evaluate", str(out), "--data", str(data)]) == 0
    err = capsys.readouterr().err
    assert (f"{data} is this run's training source: {len(split['train'])} of its 60 samples are the training split "
            f"and {len(split['val'])} the validation split") in err
    copy = tmp_path / "copy.csv"
    copy.write_bytes(data.read_bytes())  # the same content under another name: the same rows
    assert main(["evaluate", str(out), "--data", str(copy)]) == 0
    assert "training source" in capsys.readouterr().err
    other = _csv(tmp_path / "other.csv", distinct * 2 + distinct[::-1])  # other rows (same size): no note
    assert main(["evaluate", str(out), "--data", str(other)]) == 0
    assert "training source" not in capsys.readouterr().err


def test_a_split_without_copies_records_none(tmp_path, capsys):
    rng = np.random.default_rng(1)
    rows = [(round(float(v), 4), i, "yes" if v > 0 else "no") for i, v in enumerate(rng.normal(size=40))]
    out = tmp_path / "run"
    assert main(["train", "--data", str(_csv(tmp_path / "d.csv", rows)), "--target", "label", "--epochs", "1",
                 "--no-progress", "--out", str(out)]) == 0
    assert "also appear in the training split" not in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["test_copies"] is None


def test_evaluate_on_other_data_counts_the_rows_the_run_trained_on(tmp_path, capsys):
    rng = np.random.default_rng(2)
    rows = [(round(float(v), 4), i, "yes" if v > 0 else "no") for i, v in enumerate(rng.normal(size=60))]
    out = tmp_path / "run"
    assert main(["train", "--data", str(_csv(tmp_path / "d.csv", rows)), "--target", "label", "--epochs", "1",
                 "--no-progress", "--out", str(out)]) == 0
    split = np.load(out / "split.npz")
    fresh = [(round(float(v), 4), 100 + i, "yes" if v > 0 else "no") for i, v in enumerate(rng.normal(size=5))]
    picked = [rows[i] for i in split["train"][:10]] + [rows[i] for i in split["val"][:2]] + fresh
    some = _csv(tmp_path / "some.csv", picked)
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(some)]) == 0
    assert (f"note: 10 of the 17 rows in {some} are inputs of this run's training split and 2 of its validation "
            "split (the same input)") in capsys.readouterr().err
    assert main(["evaluate", str(out), "--data", str(_csv(tmp_path / "new.csv", fresh))]) == 0
    assert "note:" not in capsys.readouterr().err  # new rows only: a test score
