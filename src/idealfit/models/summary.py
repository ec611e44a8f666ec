"""A model summary: each layer, its output shape and its parameter count."""

from __future__ import annotations

import torch
from torch import nn


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, str, tuple[int, ...], int]]:
    """(name, type, output shape without batch, params) for each leaf layer, from one dummy forward pass."""
    rows: list[tuple[str, str, tuple[int, ...], int]] = []
    hooks = []
    for name, mod in model.named_modules():
        if list(mod.children()) or mod is model:
            continue

        def hook(m: nn.Module, _inp, out, name: str = name) -> None:
            rows.append((name, type(m).__name__, tuple(out.shape[1:]),
                         sum(p.numel() for p in m.parameters(recurse=False))))

        hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        with torch.no_grad():
            model(torch.zeros((2, *input_shape), device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> str:
    """A fixed-width text table, as printed by `idealfit train` and stored in model.txt."""
    rows = layer_table(model, input_shape)
    lines = [f"{'layer':<10}{'type':<14}{'output shape':<18}{'params':>10}", "-" * 52,
             f"{'input':<10}{'':<14}{str(tuple(input_shape)):<18}{0:>10}"]
    lines += [f"{n:<10}{t:<14}{str(s):<18}{p:>10,}" for n, t, s, p in rows]
    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += ["-" * 52, f"total params: {total:,} (trainable {trainable:,})"]
    return "\n".join(lines)
