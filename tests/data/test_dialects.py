"""CSV dialects: ;- and tab-delimited files, .tsv, gzipped files and other encodings read the same numbers."""

import gzip

import numpy as np
import pytest

from idealfit.cli import main
from idealfit.data.files import load_csv
from idealfit.data.table import read_csv_table, sniff_delimiter
from idealfit.errors import UserError

ROWS = [["a", "b", "name", "y"]] + [[f"{i / 3:.4f}", str(i % 5), f"caf\xe9 {i % 3}", "uv"[i % 2]] for i in range(30)]


def _text(sep):
    return "\n".join(sep.join(r) for r in ROWS) + "\n"


def _reference(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text(_text(","), encoding="utf-8")
    return load_csv(path, target="y", task=None)


@pytest.mark.parametrize("name, sep, write", [
    ("semi.csv", ";", lambda p, t: p.write_text(t, encoding="utf-8")),
    ("tab.csv", "\t", lambda p, t: p.write_text(t, encoding="utf-8")),
    ("data.tsv", "\t", lambda p, t: p.write_text(t, encoding="utf-8")),
    ("bar.csv", "|", lambda p, t: p.write_text(t, encoding="utf-8")),
    ("data.csv.gz", ",", lambda p, t: p.write_bytes(gzip.compress(t.encode()))),
    ("data.tsv.gz", "\t", lambda p, t: p.write_bytes(gzip.compress(t.encode()))),
])
def test_dialects_read_the_same_table(tmp_path, name, sep, write):
    ref = _reference(tmp_path)
    path = tmp_path / name
    write(path, _text(sep))
    ds = load_csv(path, target="y", task=None)
    assert ds.columns == ref.columns and ds.name == name.split(".")[0]
    np.testing.assert_array_equal(ds.y, ref.y)
    for got, want in zip(ds.x.cols, ref.x.cols, strict=True):
        np.testing.assert_array_equal(got, want)


def test_comma_wins_when_a_text_cell_holds_semicolons(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a,note,y\n" + "".join(f'{i},"x;y;z",{i % 2}\n' for i in range(10)))
    assert sniff_delimiter(path) == ","
    assert read_csv_table(path).header == ["a", "note", "y"]


def test_latin1_needs_data_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(_text(";").encode("latin-1"))
    with pytest.raises(UserError, match="not a UTF-8 text CSV file.*data.encoding=latin-1"):
        load_csv(path, target="y", task=None)
    ds = load_csv(path, target="y", task=None, encoding="latin-1")
    assert "caf\xe9 1" in set(ds.x.cols[2])


def test_a_damaged_gzip_is_one_line(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(_text(",").encode())[:40])
    with pytest.raises(UserError, match="not a readable gzip file"):
        load_csv(path, target="y", task=None)


def test_evaluate_and_predict_read_with_the_runs_encoding(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes(_text(";").encode("latin-1"))
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "1", "--out", str(out), "--no-progress",
                 "--set", "data.encoding=latin-1"]) == 0
    assert main(["evaluate", str(out)]) == 0
    assert main(["evaluate", str(out), "--data", str(path)]) == 0
    tsv = tmp_path / "new.tsv"
    tsv.write_bytes(_text("\t").encode("latin-1"))
    capsys.readouterr()
    assert main(["predict", str(out), str(tsv)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 31
