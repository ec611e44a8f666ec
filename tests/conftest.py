"""Shared test helpers."""

import pytest

from idealfit.cli import main


@pytest.fixture
def cli_error(capsys):
    """`check(argv, *needles)`: `idealfit ...` exits 2 with exactly one stderr line `idealfit: error: ...`
    containing every needle; returns that line."""

    def check(argv, *needles):
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("idealfit: error: ")
        for needle in needles:
            assert needle in lines[0]
        return lines[0]

    return check
