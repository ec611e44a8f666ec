"""What the deck's four augmentations cost next to a training step.

Measures, per device and image shape (batches of 256):
  augment  - Augment(["flip", "crop", "contrast", "tint"]) alone,
  step     - one training step alone (small CNN, forward + backward + Adam),
  both     - augment then step, as the training loop runs them,
and prints images/second for each plus the ratio (step + augment time) / (step time). Repeats alternate
the order of "step" and "both" and report medians, so drift (thermal, other load) hits both alike.

Measured on this machine (2 CPU cores, torch 2.13 CPU, no GPU; 3 runs of `python benchmarks/augment.py`,
~12 s each, while other jobs shared the cores - load average ~2 - so the spread is wide):
  cpu  1x28x28  augment 133k-189k img/s  step 5.6k-7.7k img/s  both 4.7k-6.9k img/s  ratio 1.08-1.25
  cpu  3x32x32  augment  50k-59k img/s   step 4.0k-4.6k img/s  both 3.6k-4.1k img/s  ratio 1.08-1.18
Augmenting on the fly costs ~10-20% of a step of this deliberately tiny CNN (the augmentations alone
run 15-25x faster than the step); a real model's step is slower, so the share shrinks. Not measured on
CUDA here (no GPU on this machine; the CUDA rows print when one is present).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from idealfit.data.augment import Augment

BATCH = 256
SHAPES = ((1, 28, 28), (3, 32, 32))  # (C, H, W): MNIST-like and CIFAR-like
DECK_FOUR = ["flip", "crop", "contrast", "tint"]


def small_cnn(channels: int, n_classes: int = 10) -> nn.Module:
    """Two conv blocks and a linear head: small enough that augmentation's share is not hidden."""
    return nn.Sequential(
        nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, H/2, W/2)
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, H/4, W/4)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, n_classes),  # (B, n_classes)
    )  # fmt: skip


def _timed(fn, steps: int, device: torch.device) -> float:
    """Seconds per call of `fn`, averaged over `steps` calls (synchronising CUDA before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - t0) / steps


def bench(device: torch.device, shape: tuple[int, int, int], *, repeats: int, steps: int) -> dict[str, float]:
    """Median seconds per batch for augment, step and both on one device and image shape."""
    torch.manual_seed(0)
    x = torch.rand(BATCH, *shape, device=device)  # (B, C, H, W) in [0, 1]
    y = torch.randint(0, 10, (BATCH,), device=device)
    model = small_cnn(shape[0]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    aug = Augment(DECK_FOUR, generator=torch.Generator(device=device).manual_seed(0))
    loss_fn = nn.CrossEntropyLoss()

    def step(xb: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), y).backward()
        opt.step()

    runs = {"augment": lambda: aug(x), "step": lambda: step(x), "both": lambda: step(aug(x))}
    for fn in runs.values():  # warm-up: allocator, kernels, Adam state
        _timed(fn, 2, device)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(repeats):
        order = ["augment", "step", "both"] if r % 2 == 0 else ["both", "step", "augment"]
        for name in order:
            times[name].append(_timed(runs[name], steps, device))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="alternating repeats (median taken)")
    parser.add_argument("--steps", type=int, default=5, help="batches per timed repeat")
    parser.add_argument("--tiny", action="store_true", help="one repeat of one step: checks that it runs")
    args = parser.parse_args()
    if args.tiny:
        args.repeats, args.steps = 1, 1
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {BATCH}, "
          f"median of {args.repeats} repeats x {args.steps} batches")  # fmt: skip
    print(
        f"{'device':6} {'shape':9} {'augment img/s':>14} {'step img/s':>11} {'both img/s':>11} {'ratio':>6}"
    )
    for device in devices:
        for shape in SHAPES:
            t = bench(device, shape, repeats=args.repeats, steps=args.steps)
            name = "x".join(map(str, shape))
            print(
                f"{device.type:6} {name:9} {BATCH / t['augment']:14,.0f} {BATCH / t['step']:11,.0f} "
                f"{BATCH / t['both']:11,.0f} {t['both'] / t['step']:6.2f}"
            )
    print("ratio = (step + augment time) / (step time); 1.00 would mean augmentation is free")


if __name__ == "__main__":
    main()
