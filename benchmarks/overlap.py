"""What counting test copies of training inputs (`data.overlap.copies_in_test`) adds to a run: its time beside
the smallest real run on the same data (`fit.train`, 1 epoch, one thread, the default model), on embedded
datasets of each kind.

A run counts once (the note at the start; summary.json at the end records that count; a resumed run counts
at the end instead).

Run: python benchmarks/overlap.py [--repeats 3] [--tiny]
Measured 2026-11-28 on the 2-core shared CPU machine (load average 0.6-0.9), best of 3 counts, one run each
(whose time includes its own count):
    digits          1797 samples  one count 0.002 s  1-epoch run  1.6 s  share 0.1%
    mnist1d         5000 samples  one count 0.005 s  1-epoch run  0.4 s  share 1.2%
    words          28807 samples  one count 0.057 s  1-epoch run  4.9 s  share 1.1%
    spoken_digits   2400 samples  one count 0.075 s  1-epoch run  3.9 s  share 1.9%
    shapes          3000 samples  one count 0.144 s  1-epoch run 35.5 s  share 0.4%
(Before, a run counted twice, the start's note and summary.json each: at load 4.5-5.4, two counts took
digits 0.009 s, mnist1d 0.023, words 0.185, spoken_digits 0.254, shapes 0.592.)
A default run trains 20-60 epochs, so its share is a tenth of these or less.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import idealfit as fit
from idealfit.data.embedded import EMBEDDED
from idealfit.data.overlap import copies_in_test
from idealfit.data.split import split_indices


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="digits and words once: a smoke run for the tests")
    args = parser.parse_args()
    names = ["digits", "words"] if args.tiny else ["digits", "mnist1d", "words", "spoken_digits", "shapes"]
    repeats = 1 if args.tiny else args.repeats
    for name in names:
        ds = EMBEDDED[name][0]()
        ind = split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0)
        count = best(lambda: copies_in_test(ds, ind), repeats)  # noqa: B023
        with tempfile.TemporaryDirectory() as tmp:  # the baseline: one epoch of a real run, loading included
            t0 = time.perf_counter()
            fit.train(data=name, epochs=1, out=Path(tmp) / "run", verbose=False,
                      set={"train.threads": 1, "train.progress": False})
            base = time.perf_counter() - t0
        found = copies_in_test(ds, ind)
        print(f"{name:<14} {len(ds.y):>6} samples  one count {count:.3f} s  1-epoch run {base:.1f} s  "
              f"share {100 * count / base:.1f}%  copies: {found['rows'] if found else 0}")


if __name__ == "__main__":
    main()
