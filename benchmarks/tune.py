"""How much of a tuning study's wall time is training? `idealfit tune` on digits against its trials' own time.

Runs `idealfit.tune.tune` (TPE, median pruner, journal storage in a temporary folder) for --trials trials
of a small CNN on digits, then prints the study's wall time, the sum of its trials' times (each trial:
Optuna's start to end, i.e. the whole `train` call: data, model, epochs, the run folder and its report)
and their ratio, which is the share the tuning machinery leaves to training. The rest is Optuna (sampling,
the journal), the stale-trial check, and writing trials.csv, best.yaml and report.html at the end.

Run: python benchmarks/tune.py [--trials 20] [--epochs 10]
Target (issue 12): a study of 20 trials on digits spends >= 90% of its wall time inside training.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from idealfit.tune import tune

SPACE = {"train.lr": {"log_uniform": [1e-3, 3e-2]}, "model.dropout": {"uniform": [0.0, 0.5]},
         "model.widths": {"choice": [[8, 16], [16, 32]]}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--tiny", action="store_true", help="3 trials of 1 epoch (the test suite's check that it runs)")
    args = p.parse_args()
    trials, epochs = (3, 1) if args.tiny else (args.trials, args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "space.yaml").write_text(yaml.safe_dump(SPACE))
        (d / "base.yaml").write_text(yaml.safe_dump({"data": {"name": "digits"}, "train": {"epochs": epochs,
                                                                                           "threads": "1"}}))
        t0 = time.perf_counter()
        res = tune(config_file=d / "base.yaml", space_file=d / "space.yaml", trials=trials, seed=0,
                   out=d / "study", say=print)
        wall = time.perf_counter() - t0
        done = [t for t in res.study.get_trials() if t.datetime_complete is not None]
        inside = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in done)
        states = [t.state.name.lower() for t in res.study.get_trials()]  # the journal goes with the folder
    print(f"{len(states)} trials ({states.count('complete')} complete, {states.count('pruned')} pruned) of "
          f"{epochs} epoch(s) at most; best val_loss {res.best_value:.4f}")
    print(f"study wall time {wall:.1f} s; inside the trials {inside:.1f} s: {100 * inside / wall:.1f}% "
          f"(overhead {wall - inside:.1f} s, {1000 * (wall - inside) / len(done):.0f} ms per trial)")


if __name__ == "__main__":
    main()
