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


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_runs_in_tiny_mode(script, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script), "--tiny"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip(), r.stderr[-2000:]  # each prints its comparison against its baseline


def test_sequences_prints_every_issue_11_target_in_tiny_mode(tmp_path):
    """`sequences.py --targets` reuses text.py, speech.py and forecasting.py: one line per target, its baselines."""
    script = next(p for p in BENCHMARKS if p.name == "sequences.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script), "--targets", "--tiny"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["mnist1d", "words", "spoken_digits", "sunspots", "elnino"]
    assert all("baselines:" in line for line in lines)
    assert "naive Bayes" in lines[1] and "AR" in lines[3] and "majority" in lines[2]


def test_forecasting_macro_runs_a_target_with_extra_columns_in_tiny_mode(tmp_path):
    """`forecasting.py --macro`: statsmodels' macrodata written as a 5-column CSV, realgdp and unemp forecast."""
    script = next(p for p in BENCHMARKS if p.name == "forecasting.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script), "--tiny", "--macro"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    names = [line.split()[0] for line in r.stdout.strip().splitlines()[1:]]
    assert names == ["sunspots", "elnino", "macro:realgdp", "macro:unemp"]
