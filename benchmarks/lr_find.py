"""lr-find's suggestion: does training at the suggested rate do at least as well as the default rate?

For each dataset, one range test (`lr_find`, its defaults: 100 steps from 1e-6 to 1, seed 0), the
suggestion of the rule before (steepest point slope of the smoothed curve, `window=0`) and of the rule
now (steepest least-squares line through one decade of the minibatch losses), then `fit.train` at the
default rate and at each suggestion, for each seed. Printed: each suggestion and the test accuracy / R².
The target (issue 8): the suggested rate trains to a result at least as good as the default on each.

Measured (2-core shared CPU, torch CPU; test split; wine = scikit-learn's wine written as a CSV,
142 training rows; seeds 0, 1, 2 for the tables, seed 0 for digits and mnist1d):

    dataset (metric)   default lr       rule before (window=0)       rule now (1-decade line)
    wine (acc)         1e-3  .988 mean  1.32e-2 1.00 1.00 1.00 1.000  8.70e-3 1.00 1.00 1.00 1.000
                       (1.00 1.00 .963)
    diabetes (R²)      1e-3  .394 mean  9.33e-6 .003 .124 .038 .055   2.85e-3 .225 .421 .522 .389
                       (.262 .409 .510)
    digits (acc)       3e-3  .985       1.23e-3 .985                 6.14e-4 .981 (one image of 270)
    mnist1d (acc)      3e-3  .946       1.87e-3 .941                 1.42e-3 .942

  The rule before failed on diabetes (a noise dip at 9e-6: R² .05); the rule now fixes that and wins on
  wine, but on digits and mnist1d it suggests less than the (tuned) default and trains 0.4 points lower
  (seed 0; one or two test images): the steepest descent is a cautious rate by design. Also measured
  (same sweeps, seed 0): fastai's "valley" 4.3e-3 digits .978, 6.6e-3 mnist1d .949, 1.15e-2 diabetes
  .364 (3 seeds); "minimum / 10" 1.07e-2 digits .989, 1.23e-2 mnist1d .960, 1.42e-2 wine 1.000,
  8.1e-3 diabetes .373 (.204 .412 .502) — better on the images and signals, worse on diabetes, and its
  minimum moves with the sweep's seed on small tables (diabetes: 8.1e-3, 4.0e-3, 1.9e-2 for seeds 0-2,
  against 2.8e-3, 3.8e-3, 3.3e-3 for the line rule). No rule tried beats the default on all four.

  No clear descent (rule 4 of lr_find.py; issue: newcomer 3 got 2.85e-05 off a flat forecasting sweep):
  the sweeps' descent in standard errors, printed per dataset above and, for forecasting runs (they start
  at their AR fit, so their sweep is flat) and for pure noise, by `flat_sweeps` below. Measured 2026-11-28,
  same machine, 1 thread, load average ~4: wine 38.9, diabetes 5.0, digits 95, mnist1d 34 (all suggest
  a rate); sunspots 0.6, elnino 0.8, daily sales (newcomer 3's CSV) 0.0: no suggestion, where
  the rule before read a noise dip (sunspots 5.3e-06, elnino 5.0e-05); pure noise (25% minibatch noise): 4 of 400
  sweeps reach 3.

    python benchmarks/lr_find.py            # 4 datasets, some minutes
    python benchmarks/lr_find.py --tiny     # seconds: wine, one seed, 3 epochs
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def wine_csv(folder: Path) -> Path:
    import pandas as pd
    from sklearn.datasets import load_wine

    b = load_wine()
    df = pd.DataFrame(b.data, columns=[c.replace(" ", "_").replace("/", "_") for c in b.feature_names])
    df["y"] = b.target
    path = folder / "wine.csv"
    df.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="wine, one seed, 3 epochs (a smoke test)")
    ap.add_argument("--datasets", nargs="+", default=["wine", "diabetes", "digits", "mnist1d"])
    args = ap.parse_args(argv)
    import idealfit as fit
    from idealfit.lr_find import lr_find, suggest_lr

    names = ["wine"] if args.tiny else args.datasets
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            data = str(wine_csv(Path(tmp))) if name == "wine" else name
            sets = {"data.target": "y"} if name == "wine" else {}
            seeds = (0,) if args.tiny or name in ("digits", "mnist1d") else (0, 1, 2)
            if args.tiny:
                sets["train.epochs"] = 3
            res = lr_find(data=data, set=sets, out=Path(tmp) / f"{name}.png")
            rules = {"before": suggest_lr(res.lrs, res.losses, window=0.0), "now": res.suggestion}
            shown = {k: "none (no clear descent)" if v is None else f"{v:.2e}" for k, v in rules.items()}
            print(f"{name}: suggested lr before {shown['before']}, now {shown['now']} (descent: "
                  f"{res.clarity:.1f} standard errors)", flush=True)
            # a sweep without a clear descent suggests nothing: the command keeps the default, so no run for it
            for label, lr in {"default": None, **{k: v for k, v in rules.items() if v is not None}}.items():
                scores = []
                for seed in seeds:
                    extra = dict(sets) if lr is None else {**sets, "train.lr": lr}
                    run = fit.train(data=data, seed=seed, out=Path(tmp) / f"{name}-{label}-{seed}", verbose=False,
                                    progress=False, set=extra)
                    s = run.summary
                    key = "accuracy" if s["task"] == "classification" else "r2"
                    scores.append(s["metrics"]["test"][key])
                    lr_used = run.config.train.lr
                print(f"  {label:<8} lr {lr_used:.2e}  test {key} "
                      f"{' '.join(f'{v:.4f}' for v in scores)}  mean {np.mean(scores):.4f}", flush=True)
        flat_sweeps(Path(tmp), tiny=args.tiny)
    return 0


def flat_sweeps(folder: Path, *, tiny: bool) -> None:
    """Forecasting sweeps (flat: the network starts at its AR fit) and pure-noise curves: how often the rule
    still suggests a rate, against its CLEAR standard errors (the baseline: the rule before, which always did)."""
    from idealfit.lr_find import CLEAR, descent_clarity, lr_find, lr_schedule, smooth, suggest_lr

    for name in ("sunspots",) if tiny else ("sunspots", "elnino"):
        res = lr_find(data=name, steps=30 if tiny else 100, set={"train.threads": 1}, out=folder / f"{name}.png")
        now = "none" if res.suggestion is None else f"{res.suggestion:.2e}"
        before = suggest_lr(res.lrs, res.losses, raw=res.raw_losses, clear=0.0)  # rule 4 off: as before it
        print(f"{name} (forecasting): descent {res.clarity:.1f} standard errors ({CLEAR:g} needed); "
              f"suggested lr now {now}, without the rule {before:.2e}", flush=True)
    n = 50 if tiny else 400
    lrs = lr_schedule(1e-6, 1.0, 100)
    noise = [np.exp(np.random.default_rng(seed).normal(0, 0.25, 100)) for seed in range(n)]
    passed = sum(descent_clarity(lrs, smooth(list(r)), raw=r) >= CLEAR for r in noise)
    print(f"pure noise (25% minibatch noise, {n} sweeps): {passed} reach {CLEAR:g} standard errors", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
