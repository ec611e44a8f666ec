"""The deck's worked convolution example, shown: step-by-step text and a matplotlib figure.

`idealfit.explain.conv` computes the example (`worked_example`); this module prints and draws what it
returned: every window's patch x filter = products and sum, checked against the numbers the deck quotes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from idealfit.explain.conv import ConvStep, FilterPass, WorkedExample

# ---- printing -------------------------------------------------------------------------------------------


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def _grid(m: Tensor) -> list[str]:
    cells = [[_num(float(v)) for v in row] for row in m]
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def _side_by_side(blocks: list[list[str]], joiners: list[str], indent: str = "  ") -> list[str]:
    """Matrices next to each other, each joiner (" x ", " = ") printed on the middle row."""
    height = max(len(b) for b in blocks)
    widths = [max(len(line) for line in b) for b in blocks]
    lines = []
    for r in range(height):
        parts = []
        for i, block in enumerate(blocks):
            parts.append((block[r] if r < len(block) else "").ljust(widths[i]))
            if i < len(joiners):
                parts.append(joiners[i] if r == height // 2 else " " * len(joiners[i]))
        lines.append(indent + "".join(parts).rstrip())
    return lines


def _window_lines(step: ConvStep, kernel: Tensor, quoted: dict) -> list[str]:
    lines = [f"window (p={step.p}, q={step.q}):"]
    lines += _side_by_side([_grid(step.patch), _grid(kernel), _grid(step.products)], ["  x  ", "  =  "])
    terms = [float(v) for v in step.products.reshape(-1)]
    expanded = "+".join(f"({_num(t)})" if t < 0 else _num(t) for t in terms) if len(terms) <= 9 else "sum"
    bias = f" + b({_num(step.bias)})" if step.bias else ""
    line = f"  {expanded}{bias} = {_num(step.value)}"
    if quoted:
        deck = quoted.get((step.p, step.q))
        if deck is None:
            line += "   [the deck's text gives no number for this window]"
        else:
            line += f"   [deck: {deck}, {'matches' if deck == step.value else 'DIFFERS'}]"
    return lines + [line]


def _filter_lines(fp: FilterPass, max_windows: int | None) -> list[str]:
    kh, kw = fp.kernel.shape
    lines = [f"== Filter {fp.name} ==", *_side_by_side([_grid(fp.kernel)], [])]
    lines.append(f"Convolution, sum_ij W_ij X(i+p, j+q) + b, one {kh}x{kw} window at a time:")
    shown = fp.conv_steps if max_windows is None else fp.conv_steps[:max_windows]
    for step in shown:
        lines += _window_lines(step, fp.kernel, fp.quoted)
    if len(shown) < len(fp.conv_steps):
        lines.append(
            f"  ... {len(fp.conv_steps) - len(shown)} more windows (all are in the feature map below)"
        )
    lines += ["Feature map:", *_side_by_side([_grid(fp.feature_map)], [])]
    lines += ["ReLU, max(0, x):", *_side_by_side([_grid(fp.activated)], [])]
    lines.append("Max pool 2x2, stride 1:")
    for st in fp.pool_steps if max_windows is None else fp.pool_steps[:max_windows]:
        values = ", ".join(_num(float(v)) for v in st.window.reshape(-1))
        lines.append(f"  window (p={st.p}, q={st.q}): max({values}) = {_num(st.value)}")
    lines += ["Pooled map:", *_side_by_side([_grid(fp.pooled)], []), ""]
    return lines


def format_worked_example(result: WorkedExample, *, max_windows: int | None = None) -> str:
    """The worked example as text, step by step: every window's patch x filter = products and sum.

    Args:
        result: what `worked_example` returned.
        max_windows: print at most this many windows per filter (default None: all of them).
    """
    h, w = result.image.shape
    lines = [f"Image {h}x{w} (stride {result.stride}, padding {result.padding}):"]
    lines += [*_side_by_side([_grid(result.image)], []), ""]
    for fp in result.passes:
        lines += _filter_lines(fp, max_windows)
    lines += [f"== Flatten: pooled maps -> {len(result.flat)} values ==", _row(result.flat), ""]
    lines += ["== Fully connected: y = W x + b ==", "W ="]
    lines += [f"  {_row(row)}" for row in result.fc_weight]
    lines += [f"b = {_row(result.fc_bias)}", f"y = {_row(result.logits)}", ""]
    lines.append("== Softmax: softmax(y_i) = e^{y_i} / sum_j e^{y_j} ==")
    denominator = " + ".join(f"e^{_num(round(float(y), 2))}" for y in result.logits)
    for name, y, p in zip(result.class_names, result.logits, result.probs, strict=True):
        lines.append(f"  {name}: e^{_num(round(float(y), 2))} / ({denominator}) = {float(p):.4f}")
    truth = result.class_names[result.target]
    lines += ["", "== Cross-entropy: J = -sum_i y_i log(y_hat_i) (y one-hot) =="]
    lines.append(
        f"  true class {truth!r}: J = -log({float(result.probs[result.target]):.4f}) = {result.loss:.4f}"
    )
    lines += ["", "Notes:", *[f"  - {note}" for note in result.notes]]
    return "\n".join(lines) + "\n"


def _row(v: Tensor) -> str:
    return "[" + ", ".join(_num(round(float(x), 4)) for x in v.reshape(-1)) + "]"


# ---- drawing --------------------------------------------------------------------------------------------


def _draw_matrix(ax, m: Tensor, title: str, *, pixels: bool = False) -> None:
    """+-1 pixels as the deck draws them (light blue circle = -1, black circle = 1), numbers as heatmaps."""
    m = m.detach().double()
    h, w = m.shape
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_aspect("equal")
    if pixels and bool(((m == 1) | (m == -1)).all()):
        rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        colors = ["black" if v > 0 else "lightblue" for v in m.reshape(-1)]
        ax.scatter(
            cols.reshape(-1), rows.reshape(-1), c=colors, s=min(300.0, 2400.0 / max(h, w)), edgecolors="gray"
        )
        return
    limit = float(m.abs().max()) or 1.0
    ax.imshow(m.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    if h * w <= 144:  # small enough to print every number
        for (r, c), v in zip(
            torch.cartesian_prod(torch.arange(h), torch.arange(w)).tolist(), m.reshape(-1), strict=True
        ):
            ax.text(
                c,
                r,
                _num(float(v)),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if abs(float(v)) > 0.6 * limit else "black",
            )


def draw_worked_example(result: WorkedExample):
    """A matplotlib Figure: image and filters, feature maps, pooled maps (one column per filter), probabilities.

    Args:
        result: what `worked_example` returned.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state

    n = len(result.passes)
    fig = Figure(figsize=(2.4 * (n + 1), 7.2), layout="constrained")
    axes = fig.subplots(3, n + 1, squeeze=False)
    _draw_matrix(axes[0, 0], result.image, "image\n(light blue = -1, black = 1)", pixels=True)
    for i, fp in enumerate(result.passes, start=1):
        _draw_matrix(axes[0, i], fp.kernel, f"filter {fp.name}", pixels=True)
        _draw_matrix(axes[1, i], fp.feature_map, "feature map")
        _draw_matrix(axes[2, i], fp.pooled, "ReLU, 2x2 max pool")
    axes[1, 0].axis("off")
    axes[1, 0].text(0.0, 0.5, "flatten -> FC\n-> softmax", fontsize=9, va="center")
    ax = axes[2, 0]
    colors = ["tab:green" if i == result.target else "tab:gray" for i in range(len(result.probs))]
    ax.barh(result.class_names, result.probs.numpy(), color=colors)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"softmax (loss {result.loss:.3f})", fontsize=9)
    return fig
