"""Look inside a trained CNN: its filters, the feature maps an input produces, and which pixels decide the class.

Works with any `torch.nn.Module` whose convolutions are nn.Conv1d or nn.Conv2d layers, at any depth.
Inputs are a single sample ((C, H, W) for Conv2d, (C, L) for Conv1d) or a batch with a leading B.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor, nn

from idealfit.errors import UserError

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


# ---- figures --------------------------------------------------------------------------------------------


def _figure(n_panels: int, *, cols: int, size: float = 1.3, extra_h: float = 0.6, min_w: float = 3.0):
    from matplotlib.figure import Figure  # no pyplot: no global state

    cols = max(1, min(cols, n_panels))
    rows = -(-n_panels // cols)
    fig = Figure(figsize=(max(min_w, size * cols), size * rows + extra_h), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n_panels:]:
        ax.axis("off")
    return fig, axes


def _shown(n_shown: int, n_all: int, what: str) -> str:
    """ "showing 8 of 128 filters (120 hidden)" when some are left out, else ""."""
    return f"showing {n_shown} of {n_all} {what} ({n_all - n_shown} hidden)" if n_shown < n_all else ""


def filters_figure(weight: Tensor, *, title: str = "filters", rgb: bool | None = None, max_filters: int = 64,
                   max_inputs: int = 4, max_panels: int = 32):
    """A readable grid of a conv layer's filters, at most `max_panels` panels whatever the layer's width.

    RGB (a first layer reading a colour image): one colour tile per filter, titled by the filter's
    index, its red, green and blue = the filter's weights on the R, G and B inputs, scaled to [0, 1]
    per filter. Otherwise one red/blue panel per (filter, input channel), titled "filter<-input".
    The title says how many filters and input channels are hidden.

    Args:
        weight: (out, in, k, k) Conv2d or (out, in, k) Conv1d weights.
        title: figure title (default "filters").
        rgb: draw 3-input filters as colour tiles (default None: when the filter reads exactly 3 channels).
        max_filters: show at most this many output filters (default 64).
        max_inputs: show at most this many input channels per filter (default 4).
        max_panels: show at most this many panels in all (default 32: 4 rows of 8, ~1040 x 600 px).
    """
    w = weight.detach().float().cpu()
    if w.dim() == 3:
        w = w[:, :, None, :]  # Conv1d: each filter a 1 x k strip
    n_out, n_in_all = w.shape[:2]
    rgb = n_in_all == 3 if rgb is None else rgb and n_in_all == 3
    n_in = 1 if rgb else min(n_in_all, max_inputs)
    w = w[: max(1, min(max_filters, max_panels // n_in))]
    if rgb:
        lo, hi = w.amin(dim=(1, 2, 3), keepdim=True), w.amax(dim=(1, 2, 3), keepdim=True)
        tiles = ((w - lo) / (hi - lo).clamp_min(1e-12)).permute(0, 2, 3, 1)  # (out, k, k, 3) in [0, 1]
        fig, axes = _figure(len(tiles), cols=8, extra_h=0.8, min_w=5.5)
        for i, (ax, img) in enumerate(zip(axes, tiles, strict=False)):
            ax.imshow(img.numpy())
            ax.set_title(f"filter {i}", fontsize=7)
        key = "colour = weights on R, G, B, scaled per filter"
    else:
        fig, axes = _figure(len(w) * n_in, cols=n_in if n_in > 1 else 8, extra_h=0.8, min_w=5.5)
        limit = float(w.abs().max()) or 1.0
        for i, ax in enumerate(axes[: len(w) * n_in]):
            ax.imshow(w[i // n_in, i % n_in].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
            ax.set_title(f"{i // n_in}" if n_in == 1 else f"{i // n_in}<-{i % n_in}", fontsize=7)
        key = "red > 0 > blue"
    hidden = [s for s in (_shown(len(w), n_out, "filters"), _shown(n_in, n_in_all, "inputs")) if s]
    fig.suptitle("\n".join([f"{title}  {tuple(weight.shape)}  ({key})", *([", ".join(hidden)] if hidden else [])]),
                 fontsize=9)
    return fig


def feature_maps_figure(maps: Tensor, *, title: str = "feature maps", max_channels: int = 32):
    """One panel per channel of a single sample's maps: (C, H, W) images, or (C, L) curves for Conv1d.

    Args:
        maps: (C, H, W) or (C, L).
        title: figure title (default "feature maps"); it says how many channels are hidden.
        max_channels: show at most this many channels (default 32).
    """
    m = maps.detach().float().cpu()[:max_channels]
    fig, axes = _figure(len(m), cols=8)
    for c, (ax, channel) in enumerate(zip(axes, m, strict=False)):
        if channel.dim() == 1:
            ax.plot(channel.numpy(), linewidth=0.8)
        else:
            ax.imshow(channel.numpy(), cmap="viridis")
        ax.set_title(str(c), fontsize=7)
    hidden = _shown(len(m), len(maps), "channels")
    fig.suptitle(f"{title}  {tuple(maps.shape)}" + (f"\n{hidden}" if hidden else ""), fontsize=9)
    return fig


def probabilities_figure(probs: Tensor, *, class_names: list[str] | None = None, top: int = 10):
    """Horizontal bars of one sample's class probabilities, the `top` largest (default 10)."""

    p = probs.detach().float().cpu().reshape(-1)
    names = class_names if class_names is not None else [str(i) for i in range(len(p))]
    if len(names) != len(p):
        raise UserError(f"{len(names)} class names for a model with {len(p)} outputs; pass {len(p)} names")
    fig, ax, _ = _top_bars(p, names, top=top, color="tab:blue", size=(5, 0.4, 1.0))
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability (softmax)")
    return fig


def _top_bars(values: Tensor, names: list[str], *, top: int, color: str, size: tuple[float, float, float]):
    """(figure, axes, order): horizontal bars of the `top` largest values, largest first.
    size: (width, inches per bar, extra inches) of the figure."""
    from matplotlib.figure import Figure

    order = torch.argsort(values, descending=True)[:top].tolist()
    width, per_bar, extra = size
    fig = Figure(figsize=(width, per_bar * len(order) + extra), layout="constrained")
    ax = fig.subplots()
    ax.barh([names[i] for i in order], [float(values[i]) for i in order], color=color)
    ax.invert_yaxis()
    return fig, ax, order


def _feature_saliency_figure(sal: Tensor, feature_names: list[str] | None, top: int):
    """Horizontal bars of one flat sample's saliency, the `top` largest, labelled by feature name."""

    names = feature_names if feature_names is not None else [f"feature {i}" for i in range(len(sal))]
    if len(names) != len(sal):
        raise UserError(f"{len(names)} feature names for an input of {len(sal)} features; pass {len(sal)} names")
    fig, ax, order = _top_bars(sal, names, top=top, color="tab:red", size=(6, 0.3, 1.2))
    ax.set_xlabel("saliency |d score / d input|")
    hidden = _shown(len(order), len(sal), "features")
    ax.set_title("features by saliency" + (f"\n{hidden}" if hidden else ""), fontsize=9)
    return fig


def saliency_figure(x: Tensor, sal: Tensor, *, feature_names: list[str] | None = None, top: int = 20):
    """Input, saliency (max over channels) and the two overlaid, for one sample (C, H, W) or (C, L);
    for a flat feature vector (F,), bars of the `top` (default 20) most salient features, labelled by
    `feature_names` (default None: "feature i")."""
    from matplotlib.figure import Figure

    x, sal = x.detach().float().cpu(), sal.detach().float().cpu()
    if x.dim() == 1:  # a flat feature vector (a table's model): which features move the score
        return _feature_saliency_figure(sal, feature_names, top)
    heat = sal.amax(dim=0)  # (H, W) or (L,)
    if x.dim() == 2:  # Conv1d sample (C, L): the signal with its saliency underneath
        fig = Figure(figsize=(7, 3.5), layout="constrained")
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        ax1.plot(x.T.numpy(), linewidth=0.8)
        ax1.set_title("input", fontsize=9)
        ax2.fill_between(range(len(heat)), heat.numpy(), color="tab:red")
        ax2.set_title("saliency |d score / d input|", fontsize=9)
        return fig
    shown = x[0] if x.shape[0] != 3 else x.permute(1, 2, 0)
    shown = (shown - shown.min()) / (shown.max() - shown.min()).clamp_min(1e-12)
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].imshow(shown.numpy(), cmap="gray")
    axes[1].imshow(heat.numpy(), cmap="hot")
    axes[2].imshow(shown.numpy(), cmap="gray")
    axes[2].imshow(heat.numpy(), cmap="hot", alpha=0.5)
    for ax, name in zip(axes, ["input", "saliency |d score / d input|", "overlay"], strict=True):
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    return fig


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
) -> dict[str, Path]:
    """Write the explanation PNGs for a model and its inputs into out_dir.

    Files: filters_first_layer.png (the first conv layer's filters; colour tiles for an RGB input),
    filters_<layer>.png (every later conv layer), each layer drawn once and capped to a readable grid,
    and per input i: maps_<i>_<layer>.png (every conv layer and the activation after it),
    probabilities_<i>.png and saliency_<i>.png.

    Args:
        model: a trained classifier (put in eval mode).
        x: one sample or a batch, preprocessed as the model expects.
        out_dir: folder to write into (created if missing).
        class_names: names for the model's outputs (default None: their indices).
        input_names: a name per input for the captions, e.g. file names (default None: "input 0", ...).
        feature_names: flat (table) inputs: a name per feature for the saliency bars (default None:
            "feature i"); a table run's come from `TablePreprocessor.feature_names()`.

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

    def save(caption: str, fig, filename: str) -> None:
        # rendered, then renamed into place: a link already at `path` is replaced, never written through
        written[caption] = atomic_write(out_dir / filename, to_png(fig))

    filters = conv_filters(model)
    for k, (name, w) in enumerate(filters):  # each layer once; only the first one's inputs are colours
        title = f"{name} ({kinds[name]})"
        caption = f"filters of the first conv layer {title}" if k == 0 else f"filters of {title}"
        fig = filters_figure(w, title=title, rgb=k == 0 and w.shape[1] == 3)
        save(caption, fig, "filters_first_layer.png" if k == 0 else f"filters_{_safe(name)}.png")
    probs, sal = predict_proba(model, xb), saliency(model, xb)
    for i in range(len(xb)):
        if filters:
            for name, maps in feature_maps(model, xb[i : i + 1]):
                title = f"{name} ({kinds[name.split('#')[0]]})"
                fig = feature_maps_figure(maps[0], title=f"{names[i]}: {title}")
                save(f"{names[i]}: feature maps of {title}", fig, f"maps_{i}_{_safe(name)}.png")
        fig = probabilities_figure(probs[i], class_names=class_names)
        save(f"{names[i]}: class probabilities", fig, f"probabilities_{i}.png")
        fig = saliency_figure(xb[i], sal[i], feature_names=feature_names)
        save(f"{names[i]}: saliency", fig, f"saliency_{i}.png")
    return written
