"""The CSV reader: cells as the old per-cell parser read them, but numeric columns as float64 arrays."""

import warnings

import numpy as np
import pandas as pd

from idealfit.data.table import Table, read_csv_table


def test_cells_match_a_per_cell_reading(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\n a , b ,flag,y\n1, x ,True,NA\n   \n2,?,False, 3 \n 3 ,y,,n/a\n,,,\n4,#N/A,TRUE,null\n")
    t = read_csv_table(path)
    assert t.header == ["a", "b", "flag", "y"]
    assert t.lines.tolist() == [3, 5, 6, 8]  # blank and all-empty lines skipped, file lines kept
    a, b, flag, y = t.table.cols
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0, 4.0])
    assert b[0] == "x" and b[2] == "y" and np.isnan(b[1]) and np.isnan(b[3])  # "?" and "#N/A" missing
    assert flag[0] == "True" and flag[3] == "TRUE" and np.isnan(flag[2])  # text as written, not bools
    assert y.dtype == np.float64 and y[1] == 3.0 and np.isnan(y[[0, 2, 3]]).all()
    assert t.mixed == {}


def test_a_column_typed_differently_across_pandas_chunks_is_reported_as_mixed(tmp_path):
    path = tmp_path / "m.csv"
    n = 300_000  # beyond pandas' low_memory chunk, so its inference differs between chunks
    pd.DataFrame({"a": np.arange(n), "y": np.arange(n) % 2}).to_csv(path, index=False)
    with open(path, "a") as fh:
        fh.write("oops,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DtypeWarning reaches the user
        t = read_csv_table(path)
    assert t.mixed == {0: n + 2} and t.table.cols[0][-1] == "oops"


def test_table_indexing_matches_an_object_array():
    cells = np.array([[1.0, "a", np.nan], [2.0, np.nan, 5.0], [3.0, "b", 6.0]], dtype=object)
    t = Table([np.array([1.0, 2.0, 3.0]), cells[:, 1], np.array([np.nan, 5.0, 6.0])])
    assert t.shape == cells.shape and t.dtype == cells.dtype and len(t) == 3
    assert t[2].tolist() == cells[2].tolist()
    assert t[[0, 2]].tolist()[1] == cells[[0, 2]].tolist()[1]
    np.testing.assert_array_equal(t[np.array([False, True, True])][:, 0], [2.0, 3.0])
    assert t[:, [0, 2]].shape == (3, 2) and t.missing().tolist() == [True, True, False]
    assert Table.from_array(cells).missing().tolist() == [True, True, False]
