"""How long `build_run_report` takes on a finished digits run (classification, images) and a diabetes
run (regression, table): the fixed cost every `idealfit.train` pays at its end (issue 8).

Trains each run once (1 epoch), then rebuilds its report `--repeats` times in this process and prints
the best time, then the best of as many builds in fresh processes (imports included: what a run pays).

Run: python benchmarks/report_build.py [--repeats 5] [--tiny]
Measured on 2 shared, loaded CPU cores, the old code (commit 90cc8b9, via PYTHONPATH) and the new one
alternating in one session, best of 5 (in-process / fresh process with imports), two rounds:
    digits    before 0.385-0.800 s / 0.448-0.662 s    after 0.046 s / 0.059-0.061 s  (~10x)
    diabetes  before 0.371-0.421 s / 0.347-0.369 s    after 0.002-0.006 s / 0.017-0.034 s
Before: matplotlib figures with constrained layout (the confusion matrix alone ~0.4 s). After: SVG
charts, HTML tables; the digits report now also re-loads the dataset for its mistake thumbnails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import idealfit
from idealfit.report.html import build_run_report


def best_of(run_dir: Path, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        build_run_report(run_dir)
        times.append(time.perf_counter() - t0)
    return times[0], min(times[1:])


# A fresh interpreter builds one report: what `idealfit.train` pays (imports, font cache, first draw).
# It first imports what a training run has imported anyway by then (torch, the session, scikit-learn).
FRESH = """import time, sys
import idealfit.train.session, sklearn, sklearn.datasets, sklearn.preprocessing
t0 = time.perf_counter()
from idealfit.report.html import build_run_report
build_run_report(sys.argv[1])
print(time.perf_counter() - t0)"""


def fresh_process(run_dir: Path) -> float:
    out = subprocess.run([sys.executable, "-c", FRESH, str(run_dir)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="one build of each: a smoke run for the tests")
    args = parser.parse_args()
    if args.tiny:
        args.repeats = 1
    with tempfile.TemporaryDirectory() as tmp:
        for data in ("digits", "diabetes"):
            out = Path(tmp) / data
            idealfit.train(data=data, epochs=1, verbose=False, out=out, set={"train.progress": False})
            first, best = best_of(out, args.repeats)
            fresh = min(fresh_process(out) for _ in range(args.repeats))
            print(f"{data:>9}: build_run_report best of {args.repeats} {best:.3f} s (first build {first:.3f} s; "
                  f"in a fresh process, with imports, best {fresh:.3f} s)")


if __name__ == "__main__":
    main()
