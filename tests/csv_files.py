"""CSV files as a user's spreadsheet writes them, for the tests that train or predict on one. Imported by name:
pytest puts tests/ on sys.path for the test files beside this one (and tests/data/ files reach it the same way)."""

import csv


def write_csv(path, header, rows):
    """`path` with one header line and `rows` (lists of cells), through the csv module's quoting; returns path."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
