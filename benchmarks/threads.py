"""`train.threads`: auto against 1 thread and all cores, on an idle machine and beside a busy process.

Trains the default digits run (`idealfit.train(data="digits")`, early stopping off so every variant
trains the same epochs) with train.threads = auto, 1 and all cores, first with the machine as it is,
then beside one process that spins a core (as on a shared course server). Variants alternate, the
median training time of each is printed, with two ratios: beside-busy / idle for each setting (target
for auto: <= 2), and each setting / auto when idle (target: auto no slower than torch's default, which
is all cores).

Run: python benchmarks/threads.py [--repeats 3] [--epochs 30] [--tiny]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import idealfit
from idealfit.train.threads import available_cores


def train_seconds(threads: str, epochs: int, out: Path) -> tuple[float, int]:
    run = idealfit.train(data="digits", epochs=epochs, out=out, verbose=False,
                         set={"train.progress": False, "train.early_stopping": False, "train.threads": threads})
    return run.summary["seconds"], run.summary["threads"]


def measure(settings: dict[str, str], *, repeats: int, epochs: int, tmp: Path, tag: str) -> dict[str, list]:
    times: dict[str, list] = {k: [] for k in settings}
    for r in range(repeats):
        for name, value in settings.items():
            times[name].append(train_seconds(value, epochs, tmp / f"{tag}-{name}-{r}"))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--tiny", action="store_true", help="one repeat of one epoch: checks that it runs")
    args = ap.parse_args()
    if args.tiny:
        args.repeats, args.epochs = 1, 1
    cores = available_cores()
    settings = {"auto": "auto", "1": "1", f"all ({cores})": str(cores)}
    print(f"digits CNN, {args.epochs} epochs, {args.repeats} alternating repeats, torch {torch.__version__}, "
          f"{cores} cores available, load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        train_seconds("1", 1, tmp / "warm-up")
        idle = measure(settings, repeats=args.repeats, epochs=args.epochs, tmp=tmp, tag="idle")
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            busy = measure(settings, repeats=args.repeats, epochs=args.epochs, tmp=tmp, tag="busy")
        finally:
            spinner.kill()
            spinner.wait()
    auto_idle = statistics.median(s for s, _ in idle["auto"])
    print(f"{'threads':>9} {'idle s':>8} {'busy s':>8} {'busy/idle':>10} {'idle / auto idle':>17}  auto chose")
    for name in settings:
        i, b = statistics.median(s for s, _ in idle[name]), statistics.median(s for s, _ in busy[name])
        chose = (f"idle {sorted({n for _, n in idle[name]})}, busy {sorted({n for _, n in busy[name]})}"
                 if name == "auto" else "")
        print(f"{name:>9} {i:8.2f} {b:8.2f} {b / i:9.2f}x {i / auto_idle:16.2f}x  {chose}")
    print("ratio busy/idle <= 2 for auto is the target; idle / auto idle > 1 means auto is faster")
    if args.tiny:
        print("--tiny: a smoke test (one repeat, one epoch) that checks the script runs; its figures are no "
              "measurement (run it without --tiny for those)")


if __name__ == "__main__":
    main()
