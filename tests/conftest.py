"""Shared test helpers."""

import os
import shutil

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


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium for the browser tests (the report, the explain page); CI installs it."""
    exe = shutil.which("chromium")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not on PATH; CI must install it (apt-get install chromium)")
        pytest.skip("chromium is not on PATH (install Debian's `chromium` to run the browser tests)")
    return exe
