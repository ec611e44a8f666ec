"""Every script in benchmarks/ still runs (in its --tiny mode), so none can silently break again.

Only that they run and print their comparison is checked here: timings are never asserted in tests.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_benchmarks_are_found():
    assert len(BENCHMARKS) >= 3


def _run(name_or_script, *args, cwd):
    """A benchmark script run in its tiny mode (one thread, no display); the finished process, checked ok."""
    script = name_or_script if isinstance(name_or_script, Path) else next(p for p in BENCHMARKS if p.name == name_or_script)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script), "--tiny", *args], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_runs_in_tiny_mode(script, tmp_path):
    r = _run(script, cwd=tmp_path)
    assert r.stdout.strip(), r.stderr[-2000:]  # each prints its comparison against its baseline


def test_sequences_prints_every_issue_11_target_in_tiny_mode(tmp_path):
    """`sequences.py --targets` reuses text.py, speech.py and forecasting.py: one line per target, its baselines."""
    r = _run("sequences.py", "--targets", cwd=tmp_path)
    lines = r.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["mnist1d", "words", "spoken_digits", "sunspots", "elnino"]
    assert all("baselines:" in line for line in lines)
    assert "naive Bayes" in lines[1] and "AR" in lines[3] and "majority" in lines[2]


def test_forecasting_macro_runs_a_target_with_extra_columns_in_tiny_mode(tmp_path):
    """`forecasting.py --macro`: statsmodels' macrodata written as a 5-column CSV, realgdp and unemp forecast."""
    r = _run("forecasting.py", "--macro", cwd=tmp_path)
    names = [line.split()[0] for line in r.stdout.strip().splitlines()[1:]]
    assert names == ["sunspots", "elnino", "macro:realgdp", "macro:unemp"]


def test_forecasting_runs_another_family_with_differencing_in_tiny_mode(tmp_path):
    """`forecasting.py --model rnn --set data.difference=true`: every run trains the rnn, on differences."""
    r = _run("forecasting.py", "--model", "rnn", "--set", "data.difference=true", cwd=tmp_path)
    rows = [line.split() for line in r.stdout.strip().splitlines()[1:]]
    assert [row[0] for row in rows] == ["sunspots", "elnino"] and all(row[2] == "rnn" for row in rows)
