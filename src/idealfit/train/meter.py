"""Per-batch statistics summed on the device, read once per epoch."""

from __future__ import annotations

from collections.abc import Callable

import torch


class Meter:
    """Sums of a task's per-batch statistics (`Task.stats`): tensors are added in place on their device (no
    sync, no new tensor per batch), plain numbers (a batch's size) in Python.

    Args:
        reduce: applied to the stacked sums before they are read (multi-process: an all-reduce).
    """

    def __init__(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self._sums: dict[str, torch.Tensor | float] = {}
        self.reduce = reduce

    def add(self, stats: dict[str, torch.Tensor | float]) -> None:
        for k, v in stats.items():
            if not isinstance(v, torch.Tensor):
                self._sums[k] = self._sums.get(k, 0.0) + v
            elif k in self._sums:
                self._sums[k].add_(v.detach())
            else:
                self._sums[k] = v.detach().clone()

    def __bool__(self) -> bool:
        return bool(self._sums)

    def sums(self) -> dict[str, float | list[float]]:
        """The sums as Python numbers (one device sync for all): a float per scalar statistic, a list per
        vector one (e.g. per-class counts)."""
        if not self._sums:
            return {}
        keys = list(self._sums)
        device = next((v.device for v in self._sums.values() if isinstance(v, torch.Tensor)), None)
        parts = [v.double().reshape(-1) if isinstance(v, torch.Tensor)
                 else torch.tensor([float(v)], dtype=torch.float64, device=device) for v in self._sums.values()]
        flat = torch.cat(parts)
        if self.reduce is not None:
            flat = self.reduce(flat)
        out, at = {}, 0
        for k, p in zip(keys, parts, strict=True):
            vals = flat[at : at + p.numel()].tolist()
            at += p.numel()
            v = self._sums[k]
            out[k] = vals if isinstance(v, torch.Tensor) and v.dim() > 0 else vals[0]
        return out
