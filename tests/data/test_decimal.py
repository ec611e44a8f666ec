"""Decimal commas: a ';' CSV of "17,5" numbers (the usual European spreadsheet export) reads as numbers, once
detected or named with data.decimal, and predict and evaluate read new files with the run's mark."""

import json

import numpy as np
import pytest

from idealfit.cli import main
from idealfit.config import DataConfig
from idealfit.data.files import load_csv
from idealfit.data.prepare import load_dataset
from idealfit.data.table import read_csv_table
from idealfit.errors import UserError

# age: decimal commas; kids: whole numbers; share: commas with a sign and an exponent; job: a category
ROWS = [(17.5 + i % 6, i % 3, -0.043 * (i % 5 + 1), "ab"[i % 2], "yn"[(i // 2) % 2]) for i in range(24)]


def _write(path, *, sep=";", comma=True, rows=ROWS):
    def num(v):
        text = f"{v:.3f}" if isinstance(v, float) else str(v)
        return text.replace(".", ",") if comma else text

    lines = [sep.join(("age", "kids", "share", "job", "y"))]
    lines += [sep.join((num(a), num(k), num(s), j, y)) for a, k, s, j, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_decimal_commas_in_a_semicolon_file_are_read_as_numbers(tmp_path):
    eu = read_csv_table(_write(tmp_path / "eu.csv"))
    ref = read_csv_table(_write(tmp_path / "ref.csv", comma=False))
    assert eu.decimal == "," and eu.comma_columns == ["age", "share"] and ref.decimal == "."
    for j in range(3):  # the same float64 columns as the same numbers written with points
        assert eu.table.cols[j].dtype == np.float64
        np.testing.assert_array_equal(eu.table.cols[j], ref.table.cols[j])
    assert list(eu.column("job")[:2]) == ["a", "b"]


def test_data_decimal_point_keeps_such_cells_as_text_and_comma_files_refuse_comma(tmp_path):
    path = _write(tmp_path / "eu.csv")
    kept = read_csv_table(path, decimal=".")
    assert kept.decimal == "." and kept.column("age").dtype == object and kept.column("age")[0] == "17,500"
    assert read_csv_table(path, decimal=",").decimal == ","
    with pytest.raises(UserError, match="is comma-delimited, so its numbers cannot have decimal commas"):
        read_csv_table(_write(tmp_path / "c.csv", sep=",", comma=False), decimal=",")
    # a comma-delimited file is never guessed to have decimal commas; nor are categories like "1,2" codes beside text
    assert read_csv_table(_write(tmp_path / "c2.csv", sep=",", comma=False)).decimal == "."
    mixed = [(a, k, s, j, y) for a, k, s, j, y in ROWS]
    path = _write(tmp_path / "m.csv", rows=mixed)
    text = path.read_text().replace("17,500;", "about 17;", 1)  # one cell of text: the age column is not all numbers
    path.write_text(text)
    assert read_csv_table(path).comma_columns == ["share"]


def test_load_csv_records_the_mark_and_says_so_in_one_note(tmp_path):
    ds = load_csv(_write(tmp_path / "eu.csv"), target="y", task=None)
    assert ds.meta["decimal"] == "," and ds.kind == "table"
    notes = [n for n in ds.meta["notes"] if "decimal commas" in n]
    assert notes == ["eu.csv: numbers written with decimal commas (17,5) in age, share: read as numbers; "
                     "set data.decimal=. to read such cells as text"]
    assert ds.x[0].tolist() == [17.5, 0.0, -0.043, "a"]
    plain = load_csv(_write(tmp_path / "ref.csv", comma=False), target="y", task=None)
    assert plain.meta["decimal"] == "." and not [n for n in plain.meta["notes"] if "decimal" in n]
    # the option is honoured: "." leaves the cells as text (categories), as before
    as_text = load_dataset(DataConfig(name=str(tmp_path / "eu.csv"), target="y", decimal="."))
    assert as_text.columns == ["age", "kids", "share", "job"] and as_text.x[0].tolist() == ["17,500", 0.0, "-0,043", "a"]


def test_data_decimal_is_checked_and_refused_where_it_cannot_apply(tmp_path, cli_error):
    cli_error(["train", "--set", "data.decimal=;"], "data.decimal must be one of auto, ., ,")
    cli_error(["train", "--data", "digits", "--set", "data.decimal=,"], "data.decimal works on CSV files")
    series = tmp_path / "s.csv"
    series.write_text("t,v\n" + "".join(f"{i},{i % 7}.5\n" for i in range(40)))
    cli_error(["train", "--data", str(series), "--task", "forecasting", "--target", "v", "--set", "data.decimal=,"],
              "data.decimal works on table and text CSVs, not forecasting")


def test_the_run_records_the_mark_and_predict_and_evaluate_use_it(tmp_path, capsys):
    path = _write(tmp_path / "eu.csv")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "1", "--out", str(out),
                 "--no-progress"]) == 0
    assert "numbers written with decimal commas (17,5) in age, share" in capsys.readouterr().out
    state = json.loads((out / "preprocess.json").read_text())
    assert state["meta"]["decimal"] == ","
    from idealfit.run import load_run

    run = load_run(out)
    names, proba = run.predict(path)
    want = run.predict_array([list(r[:4]) for r in ROWS])
    np.testing.assert_allclose(proba, want, atol=1e-6)  # "17,5" read as 17.5 at predict too
    assert run.evaluate(str(path))["accuracy"] == pytest.approx(float(np.mean(
        want.argmax(1) == np.array([run.class_names.index(r[4]) for r in ROWS]))))
