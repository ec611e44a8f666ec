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
    if script.name in ("overhead.py", "threads.py"):  # ratios a reader could take for a measurement
        assert "--tiny: a smoke test" in r.stdout


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


def test_tune_prints_the_median_of_repeated_runs(tmp_path):
    """`tune.py --repeat 2`: each run's two shares, then their medians (the figures a noisy machine needs)."""
    r = _run("tune.py", "--repeat", "2", cwd=tmp_path)
    lines = r.stdout.strip().splitlines()
    assert {line.split(":")[0] for line in lines[:-1]} == {"run 1", "run 2"}
    shares = [float(line.split("%")[0].rsplit(" ", 1)[1]) for line in lines if "inside the trials" in line][:2]
    last = lines[-1]
    assert last.startswith("median of 2 runs: inside the trials") and "by hand / study" in last and "CPU time" in last
    median = float(last.split("inside the trials ")[1].split("%")[0])
    assert abs(median - sum(shares) / 2) <= 0.1  # the median of two is their mean (each printed to 0.1)


def test_tables_reads_seed_ranges_and_prints_a_summary_per_dataset(tmp_path):
    """`tables.py --seeds 0-19` (a range, a list or a count) and its summary: mean gaps and misses of the target."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tables_bench", next(p for p in BENCHMARKS if p.name == "tables.py"))
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    assert tables.seed_list("0-19") == tuple(range(20)) and tables.seed_list("3,5") == (3, 5)
    assert tables.seed_list("3") == (0, 1, 2)  # a count, as before
    rows = [{"seed": 0, "metric": "accuracy", "net": 0.9, "linear": 0.95, "boosting": 0.9, "gap": -0.05, "epochs": 10},
            {"seed": 1, "metric": "accuracy", "net": 1.0, "linear": 0.9, "boosting": 0.95, "gap": 0.05, "epochs": 20}]
    line = tables.summary_line("wine", "default", rows)
    assert "mean gap to the better baseline +0.0000, to linear +0.0250, misses 1 of 2 (seeds 0)" in line
    assert line.endswith("the same target missed by linear 1, by boosting 1")  # each is .05 short on one seed
    r = _run("tables.py", cwd=tmp_path)
    assert "summary wine (default, 1 seeds)" in r.stdout


def test_forecasting_runs_another_family_with_differencing_in_tiny_mode(tmp_path):
    """`forecasting.py --model rnn --set data.difference=true`: every run trains the rnn, on differences."""
    r = _run("forecasting.py", "--model", "rnn", "--set", "data.difference=true", cwd=tmp_path)
    rows = [line.split() for line in r.stdout.strip().splitlines()[1:]]
    assert [row[0] for row in rows] == ["sunspots", "elnino"] and all(row[2] == "rnn" for row in rows)
