"""Minibatches: slicing in-memory tensors on the device, or streaming image files from disk.

In-memory data is the fast path: one random permutation per epoch and an index per batch, with no
per-sample Python and no DataLoader workers (a DataLoader over a TensorDataset alone costs ~1.18×
a hand loop on digits; see benchmarks/overhead.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch


class TensorBatches:
    """Batches of (x, y) sliced from tensors that already live on the training device.

    Args:
        x: (N, ...) inputs. y: (N,) targets.
        batch_size: samples per batch; the last batch may be smaller.
        shuffle: a fresh random order each epoch (drawn from `generator`), else the stored order.
        generator: CPU generator for the order, so a seed (and a checkpoint of its state) fixes it.
        weights: optional (N,) sampling weights: each epoch draws N samples with replacement in
            proportion to them (class-balanced batches), instead of a permutation.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, batch_size: int, shuffle: bool = True,
                 generator: torch.Generator | None = None, weights: torch.Tensor | None = None):
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.weights = weights

    def __len__(self) -> int:
        n, bs = len(self.y), self.batch_size
        return -(-n // bs) - (n > bs and n % bs == 1)  # as batch_bounds, without building the list

    @property
    def num_samples(self) -> int:
        return len(self.y)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        bounds = batch_bounds(n, self.batch_size)
        if self.weights is not None:
            order = torch.multinomial(self.weights, n, replacement=True, generator=self.generator).to(self.x.device)
        elif self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.x.device)
        else:
            for a, b in bounds:
                yield self.x[a:b], self.y[a:b]
            return
        for a, b in bounds:
            idx = order[a:b]
            yield self.x[idx], self.y[idx]


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, end) of each batch over n samples. A last batch of a single sample joins the one
    before it: batch normalization cannot train on one sample (its variance is undefined)."""
    bounds = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class _ImageFiles(torch.utils.data.Dataset):
    def __init__(self, paths: list[str], y: np.ndarray, *, size: int, channels: int, resize: str):
        self.paths, self.y, self.size, self.channels, self.resize = paths, y, size, channels, resize

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        from idealfit.data.images import open_image

        x = open_image(Path(self.paths[i]), size=self.size, channels=self.channels, resize=self.resize)
        return torch.from_numpy(x), torch.as_tensor(self.y[i])


class StreamBatches:
    """Batches read from image files by a DataLoader, for folders too large for memory.

    Each file is decoded by `data.images.open_image` with the folder's `size`, `channels` and `resize`
    rule (crop | squash | pad), exactly as an in-memory folder is.
    """

    def __init__(self, paths: list[str], y: np.ndarray, *, size: int, channels: int, resize: str, batch_size: int,
                 shuffle: bool, generator: torch.Generator | None, device: torch.device, workers: int = 2,
                 weights: torch.Tensor | None = None):
        sampler = (torch.utils.data.WeightedRandomSampler(weights, len(y), generator=generator)
                   if weights is not None else None)
        self.loader = torch.utils.data.DataLoader(
            _ImageFiles(paths, y, size=size, channels=channels, resize=resize), batch_size=batch_size,
            shuffle=shuffle and sampler is None, sampler=sampler, generator=generator, num_workers=workers,
            persistent_workers=workers > 0,
            # a last batch of one sample would stop batch normalization; drop it (a different one each
            # shuffled epoch) rather than fold it, which a DataLoader cannot do
            drop_last=len(y) % batch_size == 1 and len(y) > batch_size)
        self.device = device

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def num_samples(self) -> int:
        return len(self.loader.dataset)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for xb, yb in self.loader:
            yield xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
