"""Does the default regularization study show what the deck promises? The baseline overfits, the remedies close the gap.

Runs `idealfit.study.regularization_study` with its defaults (digits, 10% of the training split, the
over-parameterized CNN, REG_EPOCHS epochs) and prints its table, then the share of the baseline's
train − test accuracy gap that all remedies together close, the test accuracy they gain, and the wall
time of the whole study. With --compare-threads the study runs again with torch's default thread count,
to show what the study's one-thread setting saves on a small machine (slow: minutes on 2 busy cores).

Run: python benchmarks/study_regularization.py [--seeds 1] [--subset 0.1] [--compare-threads]
Target (issue 3): baseline verdict "overfitting", gap closed >= 50%, whole default study < 3 minutes on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import torch

import idealfit.study as study


def run(*, seeds: int, subset: float, out: Path, epochs: int = study.REG_EPOCHS) -> float:
    t0 = time.perf_counter()
    res = study.regularization_study(subset=subset, seeds=tuple(range(seeds)), epochs=epochs, out=out,
                                     progress=print)
    seconds = time.perf_counter() - t0
    closed = study.gap_closed(res.rows)
    base = next(r for r in res.rows if r["variant"] == "baseline")
    print()
    print(res.table())
    print()
    print(f"baseline verdict: {base['verdict']}")
    print(f"gap (train − test accuracy): baseline {closed['baseline_gap']:.3f}, all remedies {closed['all_gap']:.3f}"
          f" -> closed {100 * closed['share']:.0f}%")
    print(f"test accuracy gained by all remedies: {100 * closed['test_gain']:+.1f} points")
    print(f"whole study: {seconds:.1f} s with {seeds} seed(s) ({res.dir}; torch's default here: "
          f"{torch.get_num_threads()} threads)")
    return seconds


@contextlib.contextmanager
def default_threads():
    """Undo the study's one-thread setting, to measure what it saves."""
    original = study._one_thread
    study._one_thread = contextlib.nullcontext
    try:
        yield
    finally:
        study._one_thread = original


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--subset", type=float, default=0.1)
    p.add_argument("--compare-threads", action="store_true", help="run again with torch's default threads")
    p.add_argument("--tiny", action="store_true", help="2 epochs on a 5%% subset: checks that it runs")
    args = p.parse_args()
    epochs = 2 if args.tiny else study.REG_EPOCHS
    with tempfile.TemporaryDirectory() as tmp:
        one = run(seeds=args.seeds, subset=0.05 if args.tiny else args.subset, out=Path(tmp) / "one-thread",
                  epochs=epochs)
        if args.compare_threads:
            print(f"\n--- again with torch's default {torch.get_num_threads()} threads per run ---")
            with default_threads():
                many = run(seeds=args.seeds, subset=args.subset, out=Path(tmp) / "default-threads", epochs=epochs)
            print(f"\none thread / default threads: {one:.1f} s / {many:.1f} s = {one / many:.2f}")


if __name__ == "__main__":
    main()
