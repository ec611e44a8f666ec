"""The figures of `explain.model`: filter grids, feature maps, class probabilities and saliency.

Each function takes tensors (from `conv_filters`, `feature_maps`, `predict_proba`, `saliency`) and
returns a matplotlib Figure built without pyplot (no global state), so a caller saves or shows it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from idealfit.errors import UserError


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
    # an RGB tile shows all three input channels at once: no input is hidden then
    hidden = [s for s in (_shown(len(w), n_out, "filters"), "" if rgb else _shown(n_in, n_in_all, "inputs")) if s]
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
    """Horizontal bars of one flat sample's saliency, the `top` largest, labelled by feature name; a feature
    named None is left out (a text run's token ids: their gradient is zero by construction, not by meaning)."""

    names = feature_names if feature_names is not None else [f"feature {i}" for i in range(len(sal))]
    if len(names) != len(sal):
        raise UserError(f"{len(names)} feature names for an input of {len(sal)} features; pass {len(sal)} names")
    scored = [i for i, n in enumerate(names) if n is not None]  # None: a feature without a gradient (a token id)
    unscored = len(sal) - len(scored)
    sal, names = sal[scored], [names[i] for i in scored]
    fig, ax, order = _top_bars(sal, names, top=top, color="tab:red", size=(6, 0.3, 1.2))
    ax.set_xlabel("saliency |d score / d input|")
    hidden = _shown(len(order), len(sal), "features")
    if unscored:
        hidden = (f"{hidden}; " if hidden else "") + f"{unscored} token ids not scored (no gradient)"
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
