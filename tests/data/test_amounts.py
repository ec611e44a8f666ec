"""Amounts as spreadsheets write them ("€512", "$1,200.50", "12%") are read as numbers, with a note."""

import numpy as np
import pytest

from idealfit.data.files import load_csv
from idealfit.data.table import read_amounts, read_csv_table


def _cells(*values):
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return a


@pytest.mark.parametrize("cells, numbers, example", [
    (("€512", "€1,200", np.nan, "€7"), [512, 1200, np.nan, 7], "€512"),
    (("12%", "3.5%"), [12, 3.5], "12%"),
    (("3,400", "12"), [3400, 12], "3,400"),
    (("-$5.50", "$-3", "$ 4"), [-5.5, -3, 4], "-$5.50"),
    (("512 €", "1,024.5€"), [512, 1024.5], "512 €"),
])
def test_amounts_are_read_as_the_numbers_written(cells, numbers, example):
    got = read_amounts(_cells(*cells))
    assert got is not None and got[1] == example
    np.testing.assert_array_equal(got[0], numbers)


@pytest.mark.parametrize("cells", [
    ("$5", "€5"),  # two currencies: two quantities, not one column of numbers
    ("abc", "€5"),  # text among them
    ("1,2", "3"),  # not a thousands separator
    ("12", "3.5"),  # plain numbers: pandas reads those already
    ("€", "€3"),  # a sign alone
])
def test_other_text_is_left_as_text(cells):
    assert read_amounts(_cells(*cells)) is None


def test_a_currency_column_in_cp1252_is_a_numeric_feature_with_a_note(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["x,budget,y"] + [f"{rng.normal():.3f},€{int(b)},{'ab'[i % 2]}"
                              for i, b in enumerate(rng.integers(100, 1000, 80))]
    path = tmp_path / "b.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    ds = load_csv(path, target="y", task=None, encoding="cp1252")
    assert ds.columns == ["x", "budget"] and ds.x.cols[1].dtype == np.float64
    assert ds.x.cols[1][0] == float(lines[1].split("€")[1].split(",")[0])
    assert ds.meta["notes"] == [f"b.csv: column 'budget' holds amounts written like '{lines[1].split(',')[1]}': read "
                                "as numbers (currency sign, thousands separators and % left out)"]

def test_thousands_separators_only_in_comma_delimited_files(tmp_path):
    rows = ["a;b;y"] + [f"{i},5;€{i}00;{'ab'[i % 2]}" for i in range(1, 30)]
    path = tmp_path / "eu.csv"
    path.write_text("\n".join(rows) + "\n")
    csv = read_csv_table(path, decimal=".")  # "1,5" in a ';' file may be a decimal comma: data.decimal decides
    assert csv.column("a").dtype == object and csv.amount_columns == {"b": "€100"}
    assert read_amounts(_cells("3,400", "12"), thousands=False) is None
