"""Per-batch statistics summed on the device, read once per epoch."""

from __future__ import annotations

from collections.abc import Callable

import torch


class Meter:
    """Sums of a task's per-batch statistics (`Task.stats`), as tensors: adding costs no device sync.

    Args:
        reduce: applied to the stacked sums before they are read (multi-process: an all-reduce).
    """

    def __init__(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self._sums: dict[str, torch.Tensor] = {}
        self.reduce = reduce

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for k, v in stats.items():
            v = v.detach()
            self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()

    def __bool__(self) -> bool:
        return bool(self._sums)

    def sums(self) -> dict[str, float]:
        """The sums as Python floats (one device sync for all of them)."""
        if not self._sums:
            return {}
        keys = list(self._sums)
        flat = torch.stack([self._sums[k].double().reshape(()) if self._sums[k].numel() == 1 else
                            self._sums[k].double().sum() for k in keys])
        if self.reduce is not None:
            flat = self.reduce(flat)
        return dict(zip(keys, flat.tolist(), strict=True))
