"""Look inside a trained CNN: its filters, the feature maps an input produces, and which pixels decide the class.

The numbers are computed here; `explain.figures` draws them, and `explain_model` writes both as PNGs.

Works with any `torch.nn.Module` whose convolutions are nn.Conv1d or nn.Conv2d layers, at any depth.
Inputs are a single sample ((C, H, W) for Conv2d, (C, L) for Conv1d) or a batch with a leading B.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor, nn

from idealfit.errors import UserError
from idealfit.explain.figures import (
    feature_maps_figure,
    filters_figure,
    probabilities_figure,
    saliency_figure,
)

_CONV_TYPES = (nn.Conv1d, nn.Conv2d)
# Activation modules whose output counts as "the activation following" a conv layer.
_ACTIVATION_TYPES = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.PReLU,
    nn.ReLU6,
    nn.Softplus,
    nn.Mish,
)


# Layers that may sit between a conv and its activation (conv -> batch norm -> ReLU).
_PASS_THROUGH_TYPES = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.Identity,
)


def _recorder(calls: list, name: str):
    """A forward hook appending (name, module, output); outputs are kept only for convs and activations."""

    def hook(module, _inputs, output):
        keep = isinstance(module, _CONV_TYPES + _ACTIVATION_TYPES) and isinstance(output, Tensor)
        calls.append((name, module, output.detach().clone() if keep else None))

    return hook


def _conv_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, _CONV_TYPES)]


def conv_filters(model: nn.Module) -> list[tuple[str, Tensor]]:
    """Every convolution layer's weights, in definition order: (name, (out, in, k, k)) or (out, in, k) for Conv1d.

    Args:
        model: any module; a model without conv layers gives [].
    """
    return [(name, m.weight.detach().clone()) for name, m in _conv_layers(model)]


def _batched(model: nn.Module, x: Tensor) -> tuple[Tensor, bool]:
    """x with a batch dimension, and whether it was a single sample (decided by the first conv layer)."""
    x = torch.as_tensor(x)
    convs = _conv_layers(model)
    if not convs:
        return x, False  # no way to tell; the caller passes a batch
    want = convs[0][1].weight.dim()  # 4 for Conv2d (B, C, H, W), 3 for Conv1d (B, C, L)
    if x.dim() == want - 1:
        return x.unsqueeze(0), True
    if x.dim() != want:
        kind = "(C, H, W) or (B, C, H, W)" if want == 4 else "(C, L) or (B, C, L)"
        raise UserError(f"input has shape {tuple(x.shape)}, but the model's first conv layer needs {kind}")
    return x, False


def feature_maps(model: nn.Module, x) -> list[tuple[str, Tensor]]:
    """The output of every conv layer and of the activation module right after it, in the order they run.

    Collected with forward hooks that are removed afterwards (also on errors). The model is put in eval mode.

    Args:
        model: a module with nn.Conv1d / nn.Conv2d layers.
        x: one sample (C, H, W) / (C, L), or a batch (B, C, H, W) / (B, C, L).

    Returns:
        (layer name, maps): one map per channel, (C, H, W) or (C, L) for a single sample, with a leading B for a batch.
    """
    if not _conv_layers(model):
        raise UserError("the model has no Conv1d/Conv2d layers, so it has no feature maps to show")
    xb, single = _batched(model, x)
    calls: list[tuple[str, nn.Module, Tensor | None]] = []
    handles = [
        module.register_forward_hook(_recorder(calls, name))
        for name, module in model.named_modules()
        if not list(module.children())  # every leaf, so we know what ran between a conv and an activation
    ]
    model.eval()
    try:
        with torch.no_grad():
            model(xb)
    finally:
        for handle in handles:
            handle.remove()
    maps, seen = [], {}
    for i, (name, module, out) in enumerate(calls):
        j = i - 1  # the activation "follows" a conv if only norm / dropout / pooling layers ran in between
        while j >= 0 and isinstance(calls[j][1], _PASS_THROUGH_TYPES):
            j -= 1
        follows_conv = (
            isinstance(module, _ACTIVATION_TYPES) and j >= 0 and isinstance(calls[j][1], _CONV_TYPES)
        )
        if isinstance(module, _CONV_TYPES) or follows_conv:
            seen[name] = seen.get(name, 0) + 1  # a module called twice (shared ReLU) gets "#2", ...
            label = name if seen[name] == 1 else f"{name}#{seen[name]}"
            maps.append((label, out[0] if single else out))
    return maps


def predict_proba(model: nn.Module, x) -> Tensor:
    """softmax of the model's outputs, (K,) for one sample or (B, K) for a batch; the model is put in eval mode.

    Args:
        model: a classifier returning logits (B, K).
        x: one sample or a batch (a model without conv layers needs a batch).
    """
    xb, single = _batched(model, x)
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(xb), dim=-1)  # (B, K)
    return probs[0] if single else probs


def saliency(model: nn.Module, x, *, target=None) -> Tensor:
    """|d class score / d input|: how much each input value moves the chosen class's logit.

    Gradients are taken with torch.autograd.grad with respect to the input only, so the parameters'
    .grad stay untouched; the model is left in eval mode (dropout off, batch norm frozen).

    Args:
        model: a classifier returning logits (B, K).
        x: one sample or a batch.
        target: class index, or (B,) indices (default None: the predicted class of each sample).

    Returns:
        Same shape as x.
    """
    xb, single = _batched(model, x)
    model.eval()
    inp = xb.detach().clone()
    inp = (inp if inp.is_floating_point() else inp.float()).requires_grad_(True)
    with torch.enable_grad():
        logits = model(inp)  # (B, K)
        if target is None:
            idx = logits.argmax(dim=-1)
        else:
            idx = torch.as_tensor(target, dtype=torch.long).reshape(-1)
            if len(idx) not in (1, len(logits)):
                raise UserError(f"pass one target class or one per input ({len(logits)}), got {len(idx)}")
            idx = idx.expand(len(logits))
            if bool((idx < 0).any() or (idx >= logits.shape[-1]).any()):
                raise UserError(f"target class {target} is out of range 0..{logits.shape[-1] - 1}")
        # Samples do not interact in eval mode, so the gradient of the sum is each sample's own gradient.
        score = logits.gather(1, idx[:, None]).sum()
        (grad,) = torch.autograd.grad(score, inp)
    grad = grad.abs()
    return grad[0] if single else grad


# ---- all of it, as files --------------------------------------------------------------------------------


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "layer"


def explain_model(
    model: nn.Module,
    x,
    *,
    out_dir,
    class_names: list[str] | None = None,
    input_names: list[str] | None = None,
    feature_names: list[str] | None = None,
    task: str = "classification",
) -> dict[str, Path]:
    """Write the explanation PNGs for a model and its inputs into out_dir.

    Files: filters_first_layer.png (the first conv layer's filters; colour tiles for an RGB input),
    filters_<layer>.png (every later conv layer), each layer drawn once and capped to a readable grid,
    and per input i: maps_<i>_<layer>.png (every conv layer and the activation after it),
    probabilities_<i>.png (classification only) and saliency_<i>.png.

    Args:
        model: a trained classifier (put in eval mode).
        x: one sample or a batch, preprocessed as the model expects.
        out_dir: folder to write into (created if missing).
        class_names: names for the model's outputs (default None: their indices).
        input_names: a name per input for the captions, e.g. file names (default None: "input 0", ...).
        feature_names: flat (table) inputs: a name per feature for the saliency bars (default None:
            "feature i"); a table run's come from `TablePreprocessor.feature_names()`.
        task: "classification" (default) or "regression": a regressor's one output is a value, not a
            class, so it gets no probabilities figure (its softmax would be 1.0).

    Returns:
        caption -> path of each PNG, in a reading order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xb, _ = _batched(model, x)
    names = input_names if input_names is not None else [f"input {i}" for i in range(len(xb))]
    if len(names) != len(xb):
        raise UserError(f"{len(names)} input names for {len(xb)} inputs; pass one name per input")
    if len(set(names)) < len(names):  # captions are dict keys: keep them unique
        names = [f"{i} {name}" for i, name in enumerate(names)]
    written: dict[str, Path] = {}
    kinds = {name: type(m).__name__ for name, m in model.named_modules()}  # "3" -> "Conv2d"

    from idealfit.report.figures import to_png
    from idealfit.run_files import atomic_write

    def save(caption: str, fig, filename: str, *, palette: bool = False) -> None:
        # rendered, then renamed into place: a link already at `path` is replaced, never written through
        written[caption] = atomic_write(out_dir / filename, to_png(fig, palette=palette))

    filters = conv_filters(model)
    for k, (name, w) in enumerate(filters):  # each layer once; only the first one's inputs are colours
        title = f"{name} ({kinds[name]})"
        caption = f"filters of the first conv layer {title}" if k == 0 else f"filters of {title}"
        fig = filters_figure(w, title=title, rgb=k == 0 and w.shape[1] == 3)
        save(caption, fig, "filters_first_layer.png" if k == 0 else f"filters_{_safe(name)}.png", palette=True)
    probs, sal = predict_proba(model, xb), saliency(model, xb)  # saliency of a regressor: of its value
    for i in range(len(xb)):
        if filters:
            for name, maps in feature_maps(model, xb[i : i + 1]):
                title = f"{name} ({kinds[name.split('#')[0]]})"
                fig = feature_maps_figure(maps[0], title=f"{names[i]}: {title}")
                save(f"{names[i]}: feature maps of {title}", fig, f"maps_{i}_{_safe(name)}.png", palette=True)
        if task == "classification":
            fig = probabilities_figure(probs[i], class_names=class_names)
            save(f"{names[i]}: class probabilities", fig, f"probabilities_{i}.png")
        fig = saliency_figure(xb[i], sal[i], feature_names=feature_names)
        save(f"{names[i]}: saliency", fig, f"saliency_{i}.png")
    return written
