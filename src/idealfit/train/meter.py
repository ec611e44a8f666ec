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

    def sums(self) -> dict[str, float | list[float]]:
        """The sums as Python numbers (one device sync for all): a float per scalar statistic, a list per
        vector one (e.g. per-class counts)."""
        if not self._sums:
            return {}
        keys = list(self._sums)
        parts = [self._sums[k].double().reshape(-1) for k in keys]
        flat = torch.cat(parts)
        if self.reduce is not None:
            flat = self.reduce(flat)
        out, at = {}, 0
        for k, p in zip(keys, parts, strict=True):
            vals = flat[at : at + p.numel()].tolist()
            at += p.numel()
            out[k] = vals[0] if self._sums[k].dim() == 0 else vals
        return out
