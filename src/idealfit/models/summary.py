"""A model summary: each layer, its output shape and its parameter count."""

from __future__ import annotations

import torch
from torch import nn


def _trace(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[list[tuple[str, str, tuple[int, ...], int]],
                                                                     tuple[int, ...]]:
    """One dummy forward pass: the leaf-layer rows (see layer_table) and the model's own output shape."""
    rows: list[tuple[str, str, tuple[int, ...], int]] = []
    hooks = []
    for name, mod in model.named_modules():
        if list(mod.children()) or mod is model:
            continue

        def hook(m: nn.Module, _inp, out, name: str = name) -> None:
            if isinstance(out, tuple):  # a recurrent layer: (outputs, final state); its outputs are the shape
                out = out[0]
            if isinstance(out, nn.utils.rnn.PackedSequence):  # packed (text): the padded (B, L, H) shape
                out = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)[0]
            rows.append((name, type(m).__name__, tuple(out.shape[1:]),
                         sum(p.numel() for p in m.parameters(recurse=False))))

        hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        # token ids: 0 is padding, and an all-padding text is read as one token long (models/rnn), so its shapes
        # would show (1, 64) for an 81-token text; id 1 fills every position instead
        fill = 1.0 if any(isinstance(m, nn.Embedding) for m in model.modules()) else 0.0
        with torch.no_grad():
            out = model(torch.full((2, *input_shape), fill, device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows, tuple(out.shape[1:])


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, str, tuple[int, ...], int]]:
    """(name, type, output shape without batch, params) for each leaf layer, from one dummy forward pass."""
    return _trace(model, input_shape)[0]


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> str:
    """A text table, as printed by `idealfit train` and stored in model.txt.

    Columns widen to the longest layer name and type (nested models such as the U-Net have names like
    `up.0.conv.3`). A model whose forward does more than chain its layers (crops, concatenates, reshapes)
    can end on a shape that no leaf layer printed, so the table ends with the model's own output shape.
    """
    rows, out_shape = _trace(model, input_shape)
    wn = max([10, *(len(n) + 2 for n, *_ in rows)])
    wt = max([14, *(len(t) + 2 for _, t, *_ in rows)])
    ws = max([18, *(len(str(s)) + 2 for *_, s, _ in rows), len(str(out_shape)) + 2, len(str(tuple(input_shape))) + 2])
    rule = "-" * (wn + wt + ws + 10)
    lines = [f"{'layer':<{wn}}{'type':<{wt}}{'output shape':<{ws}}{'params':>10}", rule,
             f"{'input':<{wn}}{'':<{wt}}{str(tuple(input_shape)):<{ws}}{0:>10}"]
    lines += [f"{n:<{wn}}{t:<{wt}}{str(s):<{ws}}{p:>10,}" for n, t, s, p in rows]
    lines.append(f"{'output':<{wn}}{type(model).__name__:<{wt}}{str(out_shape):<{ws}}{'':>10}")
    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += [rule, f"total params: {total:,} (trainable {trainable:,})"]
    return "\n".join(lines)
