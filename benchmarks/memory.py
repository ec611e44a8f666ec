"""Peak memory of reading a large CSV, against pandas.read_csv of the same file in the same run.

Generates a CSV of N rows × 20 columns (16 numeric with a few gaps, 4 categorical) in a temp dir,
then measures, each in a fresh child process, the growth of the peak resident memory (Linux:
the peak is reset through /proc/self/clear_refs after the imports, so the imports' own peak does not
hide the work's; the growth is VmHWM after the work minus VmRSS before it) of:
    pandas     pandas.read_csv(path)                               (the baseline)
    train      load_dataset + split_indices + prepare              (what `idealfit train` does first)
    evaluate   Run.evaluate(path) of a small run trained on the same columns
and prints each as a multiple of the file size and of the baseline.

Run: python benchmarks/memory.py [--rows 500000] [--tiny]
Target (issue 7): train and evaluate peaks a small multiple of pandas', not ~18× the file size.

Measured on the 2-core dev machine, one run each; growth of the peak RSS, × the file size (× pandas):
    rows (file)            pandas.read_csv   train before     train after     evaluate before   evaluate after
    500,000 (75.7 MB)      +220 MB  2.9×     20.6× (7.1×)     6.2× (2.1×)     27.1× (9.3×)      12.6× (4.3×)
    2,000,000 (302.7 MB)   +871 MB  2.9×     20.0× (6.9×)     5.5× (1.9×)     26.7× (9.3×)      12.4× (4.3×)
(before: per-cell Python objects; after: float64 columns parsed by pandas.)
With Run.evaluate batched under inference_mode as well (same machine, 500,000 rows, load average ~4):
    train 6.2× file (2.1× pandas), evaluate 4.6× file (1.6× pandas).
At 500,000 rows, of evaluate's +954 MB, reading and preprocessing take +340 MB (4.5× file); the rest is Run.evaluate's
one forward pass over all rows with autograd on.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

N_NUMERIC, N_TEXT = 16, 4


def write_csv(path: Path, rows: int, *, seed: int = 0) -> None:
    """`rows` rows of 16 numeric columns (1% empty cells), 4 categorical ones and a 3-class target."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    chunk = 100_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        num = rng.normal(size=(n, N_NUMERIC)).round(5)
        num[rng.random(num.shape) < 0.01] = np.nan
        df = pd.DataFrame(num, columns=[f"n{i}" for i in range(N_NUMERIC)])
        for j in range(N_TEXT):
            df[f"c{j}"] = rng.choice(["red", "green", "blue", "violet", "amber"], size=n)
        df["y"] = np.where(num[:, 0] > 0.3, "hi", np.where(num[:, 0] < -0.3, "lo", "mid"))
        df.to_csv(path, mode="w" if start == 0 else "a", header=start == 0, index=False)


def _status_mb(key: str) -> float:
    text = Path("/proc/self/status").read_text()
    return int(text.split(f"{key}:")[1].split()[0]) / 1024  # kB


def _start() -> float:
    """Reset the peak RSS to the current RSS (Linux); returns the current RSS in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmRSS")
    except OSError:  # no /proc: fall back to the peak so far, which the imports may already have set
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    try:
        return _status_mb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(what: str, path: str, run_dir: str) -> None:
    """Run one measurement and print the growth of the peak RSS in MB."""
    import pandas as pd

    from idealfit.config import DataConfig
    from idealfit.data.prepare import load_dataset, prepare
    from idealfit.data.split import split_indices
    from idealfit.run import load_run

    run = load_run(run_dir) if what == "evaluate" else None
    before = _start()
    if what == "pandas":
        pd.read_csv(path)
    elif what == "train":
        ds = load_dataset(DataConfig(name=path, target="y"))
        prepare(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0))
    else:
        run.evaluate(path)
    print(_peak_mb() - before)


def measure(what: str, path: Path, run_dir: Path) -> float:
    out = subprocess.run([sys.executable, __file__, "--child", what, str(path), str(run_dir)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--tiny", action="store_true", help="2,000 rows: a smoke test that runs in seconds")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    rows = 2_000 if args.tiny else args.rows
    import idealfit

    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.csv", Path(tmp) / "small.csv"
        write_csv(big, rows)
        write_csv(small, 300, seed=1)
        run = idealfit.train(str(small), target="y", epochs=1, progress=False, verbose=False,
                             out=Path(tmp) / "run")
        size_mb = big.stat().st_size / 2**20
        print(f"{rows:,} rows × {N_NUMERIC + N_TEXT} columns: {size_mb:.1f} MB")
        base = measure("pandas", big, run.dir)
        print(f"{'pandas.read_csv':<16} peak +{base:8.1f} MB  {base / size_mb:5.1f}× file")
        for what in ("train", "evaluate"):
            mb = measure(what, big, run.dir)
            print(f"{what:<16} peak +{mb:8.1f} MB  {mb / size_mb:5.1f}× file  {mb / max(base, 1e-9):5.1f}× pandas")


if __name__ == "__main__":
    main()
