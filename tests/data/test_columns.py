"""data.columns, data.drop and identifier columns: what becomes a feature, what is left out and said so,
and how identifiers name the rows of predictions."""

import csv
import json

import numpy as np
import pytest
from csv_files import write_csv as _write

from idealfit.cli import main
from idealfit.config import resolve
from idealfit.data.files import identifier_reason, load_csv
from idealfit.errors import UserError


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        a, b = rng.normal(), rng.normal()
        rows.append([f"{1000 + 7 * i}", f"{a:.4f}", f"{b:.4f}", ["red", "blue"][i % 2], "yes" if a + b > 0 else "no"])
    return _write(tmp_path / "t.csv", ["patient_id", "a", "b", "colour", "y"], rows)


def test_a_numeric_id_named_like_one_is_left_out_and_said_so(table):
    ds = load_csv(table, target="y", task=None)
    assert ds.columns == ["a", "b", "colour"]
    assert ds.meta["identifiers"] == ["patient_id"]
    assert ds.meta["notes"] == ["column 'patient_id' looks like an identifier (whole numbers, all 60 distinct): "
                                "left out of the features; keep it as a feature by naming it in data.columns"]


def test_data_columns_keeps_only_those_and_can_keep_an_identifier(table):
    ds = load_csv(table, target="y", task=None, columns=["b", "patient_id"])
    assert ds.columns == ["b", "patient_id"] and ds.meta["identifiers"] == []
    np.testing.assert_allclose(ds.x.cols[1][:3], [1000, 1007, 1014])


def test_data_drop_leaves_columns_out(table):
    assert load_csv(table, target="y", task=None, drop=["colour"]).columns == ["a", "b"]


@pytest.mark.parametrize("key, kw", [("data.columns", {"columns": ["colour", "aa"]}), ("data.drop", {"drop": ["colur"]})])
def test_unknown_column_names_say_did_you_mean(table, key, kw):
    with pytest.raises(UserError, match=rf"{key} names '(aa|colur)', which .*t.csv has no column of; did you mean"):
        load_csv(table, target="y", task=None, **kw)


@pytest.mark.parametrize("overrides, message", [
    ({"data.columns": "[a, b]", "data.drop": "[b]"}, "column 'b' is in both data.columns and data.drop"),
    ({"data.columns": "[]"}, "data.columns is an empty list"),
    ({"data.drop": "[a, a]"}, "data.drop names 'a' twice"),
    ({"data.target": "y", "data.drop": "[y]"}, "data.drop names the target 'y'"),
    ({"data.encoding": "latin-9000"}, "data.encoding='latin-9000' is not a text encoding"),
])
def test_column_options_are_checked_in_the_config(overrides, message):
    with pytest.raises(UserError, match=message):
        resolve(overrides=overrides)


def test_identifier_rules():
    n = 40
    assert identifier_reason("row", np.arange(n, dtype=float)) is not None
    assert identifier_reason("customerID", np.random.default_rng(0).permutation(n).astype(float)) is not None
    assert identifier_reason("count", np.arange(1, n + 1, dtype=float)) == "whole numbers 1..40 in row order"
    shuffled = np.random.default_rng(0).permutation(n).astype(float)
    # all distinct, but neither named like a key, nor in order, nor a run of consecutive numbers: a feature
    assert identifier_reason("count", shuffled * 3) is None
    assert identifier_reason("id", np.arange(n) + 0.5) is None  # not whole numbers
    assert identifier_reason("idea", shuffled * 3) is None and identifier_reason("paid", shuffled * 3) is None
    assert identifier_reason("id", np.r_[np.arange(n - 1), 3.0].astype(float)) is None  # a repeat: not an id
    assert identifier_reason("name", np.array([f"n{i}" for i in range(n)], dtype=object)) is not None
    assert identifier_reason("city", np.array(["a", "b"] * (n // 2), dtype=object)) is None
    # named like a key (the last word, or a first "id"), or a shuffled run of consecutive numbers: identifiers
    big = np.random.default_rng(1).choice(np.arange(10**6, 10**7), n, replace=False).astype(float)
    for name in ("record_no", "account", "accountNumber", "customer_ref", "ID", "id_patient", "Serial Nr"):
        assert identifier_reason(name, big) == "whole numbers, all 40 distinct", name
    assert identifier_reason("count", shuffled + 5000) == "whole numbers 5000..5039, each once, shuffled"
    assert identifier_reason("balance", big) is None  # distinct big numbers under another name stay a feature
    # a time axis in order (longley's YEAR 1947..1962, copper's TIME 1..25) is a trend, a feature
    assert identifier_reason("YEAR", np.arange(1947, 1947 + n, dtype=float)) is None
    assert identifier_reason("t", shuffled) is None


def _frames():
    """Real tables whose every column is a real feature (several of whole numbers, all distinct)."""
    import warnings

    import statsmodels.api as sm
    from sklearn import datasets

    yield "wine", datasets.load_wine(as_frame=True).frame, "target"
    yield "breast_cancer", datasets.load_breast_cancer(as_frame=True).frame, "target"
    yield "diabetes", datasets.load_diabetes(as_frame=True, scaled=False).frame, "target"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, target in (("fair", "affairs"), ("star98", "NABOVE"), ("longley", "TOTEMP"),
                             ("macrodata", "realgdp"), ("copper", "WORLDCONSUMPTION"), ("elnino", "DEC"),
                             ("cpunish", "EXECUTIONS")):
            yield name, getattr(sm.datasets, name).load_pandas().data, target


def test_no_real_feature_of_known_tables_is_taken_for_an_identifier(tmp_path):
    checked = []
    for name, frame, target in _frames():
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        ds = load_csv(path, target=target, task="regression")
        assert ds.columns == [c for c in frame.columns if c != target], name
        assert ds.meta["identifiers"] == [], name
        checked.append(name)
    assert len(checked) == 10


def test_an_all_distinct_whole_number_feature_gets_one_note(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    balance = rng.choice(np.arange(10**5, 10**6), n, replace=False)
    rows = [[f"{b}", f"{rng.normal():.3f}", "yes" if i % 2 else "no"] for i, b in enumerate(balance)]
    ds = load_csv(_write(tmp_path / "b.csv", ["balance", "a", "y"], rows), target="y", task=None)
    assert ds.columns == ["balance", "a"]
    assert ds.meta["notes"] == ["column 'balance' holds a different whole number on every row, like an identifier; "
                                "used as a feature; leave it out with --set data.drop=[balance]"]


def test_a_numeric_key_and_a_shuffled_row_number_are_left_out(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    acc, rec = rng.choice(np.arange(10**6, 10**7), n, replace=False), rng.permutation(n) + 100000
    rows = [[f"{a}", f"{r}", f"{rng.normal():.3f}", "yes" if i % 2 else "no"] for i, (a, r) in enumerate(zip(acc, rec, strict=True))]
    ds = load_csv(_write(tmp_path / "k.csv", ["account", "record", "a", "y"], rows), target="y", task=None)
    assert ds.columns == ["a"] and ds.meta["identifiers"] == ["account", "record"]


def test_a_text_identifier_note_offers_only_what_works(tmp_path):
    rows = [[f"C-{i * 7919 % 1000:04d}", f"{i % 7}", "yes" if i % 2 else "no"] for i in range(60)]
    path = _write(tmp_path / "c.csv", ["customer", "a", "y"], rows)
    note = load_csv(path, target="y", task=None).meta["notes"][0]
    assert note == ("column 'customer' looks like an identifier (all 60 values distinct): left out of the "
                    "features; it names the rows of predictions")
    assert "data.columns" not in note  # naming it there is refused (below), so the note does not offer it
    with pytest.raises(UserError, match="column 'customer' is text with 60 distinct values .* leave it out of "
                                        "data.columns"):
        load_csv(path, target="y", task=None, columns=["customer", "a"])
    # 40 distinct codes are few enough to be categories: then data.columns keeps it, and the note says so
    few = _write(tmp_path / "f.csv", ["customer", "a", "y"], rows[:40])
    assert load_csv(few, target="y", task=None).meta["notes"][0].endswith("naming it in data.columns")
    assert load_csv(few, target="y", task=None, columns=["customer", "a"]).columns == ["customer", "a"]


def test_train_prints_the_note_records_it_and_predictions_are_named_by_the_id(table, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(table), "--target", "y", "--epochs", "2", "--out", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("column 'patient_id' looks like an identifier") == 1
    assert json.loads((out / "preprocess.json").read_text())["identifiers"] == ["patient_id"]
    new = _write(tmp_path / "new.csv", ["a", "colour", "b", "patient_id"],
                 [["0.5", "red", "0.1", "2001"], ["-1", "blue", "-2", ""]])
    assert main(["predict", str(out), str(new)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("input,predicted")
    assert lines[1].startswith("2001,") and lines[2].startswith("new.csv:3,")  # an empty id keeps file:line
    # and without an id column the rows are named file:line, as before
    plain = _write(tmp_path / "plain.csv", ["a", "b", "colour"], [["0.5", "0.1", "red"]])
    assert main(["predict", str(out), str(plain)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1].startswith("plain.csv:2,")


def test_table_defaults_apply_to_auto_tables_only_and_never_over_a_given_value(table, tmp_path):
    import idealfit as fit
    from idealfit.config import TABLE_DEFAULTS

    quick = {"train.progress": False, "train.early_stopping": True}
    run = fit.train(data=str(table), target="y", epochs=2, out=tmp_path / "auto", set=quick, verbose=False)
    c = run.config
    assert c.model.name == "mlp" and c.model.hidden == TABLE_DEFAULTS["model.hidden"] == [64]
    assert (c.model.dropout, c.model.batchnorm, c.train.lr, c.train.batch_size) == (0.2, False, 1e-3, 32)
    assert c.train.patience >= 20  # counted in steps on a small table (tests/train/test_table_budget.py)
    assert c.train.epochs == 2  # given: kept
    import yaml

    saved = yaml.safe_load((tmp_path / "auto" / "config.yaml").read_text())
    assert saved["model"]["hidden"] == [64] and saved["train"]["batch_size"] == 32  # recorded, for evaluate/resume
    mlp = fit.train(data=str(table), target="y", model="mlp", epochs=2, out=tmp_path / "mlp", set=quick, verbose=False)
    assert mlp.config.model.hidden == [128] and mlp.config.train.batch_size == 64  # the generic defaults
    given = fit.train(data=str(table), target="y", epochs=2, out=tmp_path / "given", verbose=False,
                      set={**quick, "model.hidden": [8], "train.batch_size": 16})
    assert given.config.model.hidden == [8] and given.config.train.batch_size == 16
    # a value given equal to the generic default is still given: lr 3e-3 stays (the table default is 1e-3)
    same = fit.train(data=str(table), target="y", epochs=2, lr=3e-3, out=tmp_path / "same", set=quick, verbose=False)
    assert same.config.train.lr == 3e-3 and same.config.train.batch_size == 32
    assert given.config.model.dropout == 0.2


@pytest.mark.parametrize("target, why", [("patient_id", "whole numbers, all 60 distinct"),
                                         ("name", "all 60 values distinct")])
def test_an_identifier_as_target_is_refused_in_one_line(table, tmp_path, capsys, target, why):
    rows = list(csv.reader(table.open()))
    named = _write(tmp_path / "named.csv", rows[0] + ["name"], [r + [f"person {i}"] for i, r in enumerate(rows[1:])])
    with pytest.raises(UserError, match=rf"target column '{target}' looks like an identifier \({why}\)"):
        load_csv(named, target=target, task=None)
    assert main(["train", "--data", str(named), "--target", target, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "looks like an identifier" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "run").exists()


def test_a_numeric_target_in_row_order_is_still_a_target(tmp_path):
    rows = [[f"{i * 0.5:.1f}", str(2000 + i)] for i in range(40)]  # 'year' 2000..2039: a real (if odd) target
    ds = load_csv(_write(tmp_path / "y.csv", ["a", "year"], rows), target="year", task="regression")
    assert ds.task == "regression" and len(ds.y) == 40


def test_a_target_in_the_wrong_case_says_did_you_mean_and_lists_columns(table, capsys):
    with pytest.raises(UserError) as exc:
        load_csv(table, target="Y", task=None)
    assert str(exc.value).endswith("has no column 'Y' to use as target; did you mean 'y'? "
                                   "(columns are: patient_id, a, b, colour, y)")
    assert main(["train", "--data", str(table), "--target", "COLOUR"]) == 2
    assert "did you mean 'colour'?" in capsys.readouterr().err
