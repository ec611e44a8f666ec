"""A trained network as a list of plain layers the explainer page's JavaScript runs (explain/page_forward.js).

The page recomputes every feature map in the browser, so that a drawn digit updates every layer live. It runs
only a small, exact set of operations: per-channel input normalization, convolution (Conv1d as a 1-row
Conv2d), batch norm folded into the convolution or dense layer before it, ReLU and four other element-wise
activations, max / average pooling, flatten, dense and softmax. Anything else is refused with the reason,
and the page shows activations PyTorch computed at export time instead (`recorded_columns`).

Weights travel as base64 float32, the same bytes PyTorch holds.
"""

from __future__ import annotations

import base64

import numpy as np
import torch
from torch import nn

from idealfit.models.blocks import Normalize

_ACTS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.LeakyReLU: "leaky_relu", nn.ELU: "elu"}


class NotRunnable(Exception):
    """The page's JavaScript cannot run this model; the message says which layer and why."""


def b64(a) -> str:
    """float32 little-endian bytes of `a`, base64 (the page decodes them into a Float32Array)."""
    arr = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    return base64.b64encode(arr.tobytes()).decode("ascii")


def _pair(v) -> list[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(x) for x in v]


def _fold(w: torch.Tensor, b: torch.Tensor | None, bn: nn.Module | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch norm in inference folded into the layer before it (weight w, bias b, out channels first):
    BN(Wx + b) = γ (Wx + b - μ) / sqrt(σ² + ε) + β = (s W) x + s (b - μ) + β with s = γ / sqrt(σ² + ε)."""
    w = w.detach().double()
    b = torch.zeros(w.shape[0], dtype=torch.float64) if b is None else b.detach().double()
    if bn is None:
        return w, b
    if bn.running_mean is None or bn.running_var is None:
        raise NotRunnable(f"{type(bn).__name__} without running statistics cannot be folded")
    s = torch.ones_like(b) if bn.weight is None else bn.weight.detach().double()
    s = s / torch.sqrt(bn.running_var.double() + bn.eps)
    beta = torch.zeros_like(b) if bn.bias is None else bn.bias.detach().double()
    scale = s.reshape(-1, *([1] * (w.dim() - 1)))
    return w * scale, s * (b - bn.running_mean.double()) + beta


def _conv(m: nn.Module, bn: nn.Module | None, name: str) -> dict:
    if m.groups != 1 or any(d != 1 for d in _pair(m.dilation) or [1]) or m.padding_mode != "zeros":
        raise NotRunnable(f"{name}: only plain convolutions (groups 1, dilation 1, zero padding) run in the page")
    if isinstance(m.padding, str):
        raise NotRunnable(f"{name}: padding={m.padding!r} is not supported in the page; use a number")
    w, b = _fold(m.weight, m.bias, bn)
    one_d = isinstance(m, nn.Conv1d)
    if one_d:  # (O, I, k) -> (O, I, 1, k): a signal is an image one row high
        w = w[:, :, None, :]
    stride, pad = _pair(m.stride), _pair(m.padding)
    if one_d:
        stride, pad = [1, stride[0]], [0, pad[0]]
    return {"kind": "conv", "name": name, "shape": list(w.shape), "stride": stride, "pad": pad,
            "bn": bn is not None, "w": b64(w), "b": b64(b)}


def _pool(m: nn.Module, name: str) -> dict:
    k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
    if any(p) or getattr(m, "ceil_mode", False) or _pair(getattr(m, "dilation", 1)) not in ([1, 1], [1]):
        raise NotRunnable(f"{name}: pooling with padding, dilation or ceil_mode does not run in the page")
    if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)):
        k, s = [1, k[0]], [1, s[0]]
    kind = "maxpool" if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) else "avgpool"
    return {"kind": kind, "name": name, "k": k, "stride": s}


def page_layers(model: nn.Module) -> list[dict]:
    """The model's layers as plain dicts, in the order they run, ending with softmax.

    Raises:
        NotRunnable: a layer the page cannot run (the message names it).
    """
    if not isinstance(model, nn.Sequential):
        raise NotRunnable(f"{type(model).__name__} is not a plain stack of layers (nn.Sequential)")
    mods = [(str(i), m) for i, m in enumerate(model)]
    layers, i = [], 0
    while i < len(mods):
        name, m = mods[i]
        nxt = mods[i + 1][1] if i + 1 < len(mods) else None
        bn_next = isinstance(nxt, (nn.BatchNorm1d, nn.BatchNorm2d))
        if isinstance(m, Normalize):
            layers.append({"kind": "normalize", "name": name, "mean": b64(m.mean), "std": b64(m.std)})
        elif isinstance(m, (nn.Conv1d, nn.Conv2d)):
            layers.append(_conv(m, nxt if bn_next else None, name))
            i += bn_next
        elif isinstance(m, nn.Linear):
            w, b = _fold(m.weight, m.bias, nxt if bn_next else None)
            layers.append({"kind": "dense", "name": name, "shape": list(w.shape), "bn": bool(bn_next),
                           "w": b64(w), "b": b64(b)})
            i += bn_next
        elif type(m) in _ACTS:
            layer = {"kind": _ACTS[type(m)], "name": name}
            if isinstance(m, nn.LeakyReLU):
                layer["slope"] = float(m.negative_slope)
            if isinstance(m, nn.ELU):
                layer["alpha"] = float(m.alpha)
            layers.append(layer)
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            layers.append(_pool(m, name))
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise NotRunnable(f"layer {name}: only Flatten() of everything after the batch runs in the page")
            layers.append({"kind": "flatten", "name": name})
        elif not isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)):  # identities in eval
            raise NotRunnable(f"layer {name} ({type(m).__name__}) is not one the page can run")
        i += 1
    return [*layers, {"kind": "softmax", "name": "softmax"}]


def recorded_columns(model: nn.Module, x: torch.Tensor) -> tuple[list[dict], list[list[str]]]:
    """For a model the page cannot run: every leaf layer's output for each sample of x, from PyTorch.

    Returns:
        (columns [{name, kind, shape}], per sample one base64 float32 array per column), softmax last.
    """
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    outs: list[list[torch.Tensor]] = [[] for _ in leaves]
    handles = [m.register_forward_hook(lambda _m, _i, o, k=k: outs[k].append(o.detach()))
               for k, (_n, m) in enumerate(leaves)]
    try:
        with torch.no_grad():
            logits = model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    cols, keep = [], []
    for k, (n, m) in enumerate(leaves):
        if len(outs[k]) == 1 and isinstance(outs[k][0], torch.Tensor) and not isinstance(m, (nn.Dropout, nn.Identity)):
            cols.append({"name": n, "kind": type(m).__name__, "shape": list(outs[k][0].shape[1:])})
            keep.append(outs[k][0])
    cols.append({"name": "softmax", "kind": "softmax", "shape": [int(logits.shape[1])]})
    keep.append(torch.softmax(logits, dim=1))
    return cols, [[b64(t[i]) for t in keep] for i in range(len(x))]
