"""The fitted baseline of images, signals and audio (idealfit.baselines_arrays: logistic / ridge regression on at most
50 principal components, fitted on at most 2,000 training samples) beside the network of a default run: its score,
and its time as a share of the whole run (issue 8: judge underfitting against a baseline; the baseline must not make
a default run noticeably slower: target under 5% of a default digits run).

Each row is one default `idealfit train --data NAME` (model auto, the family's defaults, 1 thread), timed end to end;
the baseline's seconds are those the run recorded in summary.json's baselines.

    python benchmarks/array_baselines.py                                   # digits, xo, mnist1d
    python benchmarks/array_baselines.py --data digits /path/to/images/     # any data, an image folder too
    python benchmarks/array_baselines.py --tiny                            # seconds: digits, 2 epochs

Measured: see the README's "Measured" table (row "array baselines").
"""

from __future__ import annotations

import argparse
import tempfile
import time

import idealfit as fit

SHARE_TARGET = 0.05  # the baseline's time over a default digits run's


def run_one(data: str, *, out: str, tiny: bool) -> dict:
    s = {"train.progress": False, "train.threads": 1}
    if tiny:
        s.update({"train.epochs": 2, "data.train_subset": 300})
    t0 = time.perf_counter()
    r = fit.train(data=data, out=out, verbose=False, set=s)
    wall = time.perf_counter() - t0
    m = r.summary
    key = m["metric"]
    lin = m["baselines"].get("linear")
    return {"data": data, "metric": key, "net_train": m["metrics"]["train"][key], "net_test": m["metrics"]["test"][key],
            "epochs": m["epochs_run"], "wall": wall, "train_samples": m["train_samples"],
            "lin_train": lin and lin["train"][key], "lin_test": lin and lin["test"][key],
            "lin_seconds": lin and lin["seconds"], "verdict": m["diagnosis"]["verdict"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="digits, 300 training images, 2 epochs: checks that it runs")
    ap.add_argument("--data", nargs="+", default=["digits", "xo", "mnist1d"], help="data sets or folders")
    args = ap.parse_args()
    names = ["digits"] if args.tiny else args.data
    with tempfile.TemporaryDirectory() as d:
        for i, name in enumerate(names):
            r = run_one(name, out=f"{d}/run{i}", tiny=args.tiny)
            if r["lin_seconds"] is None:
                print(f"{name}: no linear baseline (streamed from disk, or not an array task)")
                continue
            share = r["lin_seconds"] / r["wall"]
            print(f"{name:<12} {r['metric']} train/test: network {r['net_train']:.3f}/{r['net_test']:.3f} "
                  f"({r['epochs']} epochs, {r['verdict']}), linear {r['lin_train']:.3f}/{r['lin_test']:.3f}  "
                  f"baseline {r['lin_seconds']:.2f} s of a {r['wall']:.1f} s run: ratio {share:.3f}"
                  f"{' (tiny: smoke test, not a measurement)' if args.tiny else ''}", flush=True)
            if name == "digits" and not args.tiny:
                print(f"target: the baseline under {100 * SHARE_TARGET:.0f}% of a default digits run: "
                      f"{'met' if share < SHARE_TARGET else 'missed'}")


if __name__ == "__main__":
    main()
