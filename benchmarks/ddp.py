"""torchrun + DDP: training examples per second on 1 process against N, and the scaling efficiency.

Every variant is the same `idealfit train` command started by torchrun (`--standalone`), so launch and
import costs are alike and excluded: the figure is the run's own training time (summary.json's
`seconds`, each epoch's training and sharded validation), examples = epochs x training samples.
On a CPU machine: 1 process on 1 thread (the baseline), 1 process on N threads (what one process can do
with the same cores), N processes on 1 thread each; on a machine with several GPUs: 1 GPU against all.
Variants alternate over the repeats and the median of each is printed, with
efficiency = (examples/s with N) / (N x examples/s with 1): 1.0 is perfect scaling.

Run: python benchmarks/ddp.py [--repeats 3] [--epochs 4] [--nproc N] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

# a CNN on digits: enough arithmetic per step that a process's share of a batch is worth sending
RUN = ["--data", "digits", "--model", "cnn", "--batch-size", "256", "--no-progress",
       "--set", "train.early_stopping=false", "--set", "train.schedule=constant"]


def examples_per_second(*, nproc: int, threads: int, device: str, epochs: int, extra: list[str], out: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "idealfit", "train", *RUN, *extra, "--epochs", str(epochs), "--device", device,
           "--set", f"train.threads={threads}", "--out", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    s = json.loads((out / "summary.json").read_text())
    return s["epochs_run"] * s["train_samples"] / s["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--nproc", type=int, default=None, help="processes to compare with 1 (default: GPUs, else 2)")
    ap.add_argument("--tiny", action="store_true", help="one repeat of one epoch on 300 samples, 1 against N processes: checks that it runs")
    args = ap.parse_args()
    extra: list[str] = []
    if args.tiny:
        args.repeats, args.epochs, extra = 1, 1, ["--set", "data.train_subset=300"]
    gpus = torch.cuda.device_count()
    device = "cuda" if gpus > 1 else "cpu"
    n = args.nproc or (gpus if gpus > 1 else 2)
    variants = ({"1 GPU": (1, 1), f"{n} GPUs": (n, 1)} if device == "cuda" else
                {"1 process x 1 thread": (1, 1), f"1 process x {n} threads": (1, n), f"{n} processes x 1 thread": (n, 1)})
    if args.tiny:  # the baseline and DDP only
        variants = dict(list(variants.items())[:: len(variants) - 1])
    print(f"digits CNN, batch 256 (global), {args.epochs} epochs, {args.repeats} alternating repeats, on {device}, "
          f"torch {torch.__version__}, {os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.2f}")
    rates: dict[str, list[float]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory() as d:
        for r in range(args.repeats):
            for i, (name, (nproc, threads)) in enumerate(variants.items()):
                rates[name].append(examples_per_second(nproc=nproc, threads=threads, device=device, epochs=args.epochs,
                                                       extra=extra, out=Path(d) / f"{r}-{i}"))
    base = statistics.median(rates[next(iter(variants))])
    print(f"{'variant':>24} {'examples/s':>11} {'speed-up':>9} {'efficiency':>11}")
    for name, (nproc, threads) in variants.items():
        v = statistics.median(rates[name])
        workers = nproc * threads
        print(f"{name:>24} {v:11.0f} {v / base:8.2f}x {v / (workers * base):10.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}; efficiency = examples/s / (processes x threads x the "
          "1 x 1 figure); a shared machine makes every figure noisy")


if __name__ == "__main__":
    main()
