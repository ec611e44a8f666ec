"""The deck's worked convolution example, shown: step-by-step text and a matplotlib figure.

`idealfit.explain.conv` computes the example (`worked_example`); this module prints and draws what it
returned: every window's patch x filter = products and sum, checked against the numbers the deck quotes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from idealfit.explain.conv import ConvStep, FilterPass, WorkedExample

NOTATION_NOTE = ("The deck writes softmax(y_i) = e^{y_i} / sum_j e^{y_j} for the fully connected outputs and "
                 "J = sum y log y_hat with y the label; we write z for those outputs (the logits), so y is "
                 "only the one-hot label.")

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


def _conv_formula(stride: int) -> str:
    """The deck's sum_ij W_ij X(i+p, j+q) + b; with stride s, window (p, q) starts at row s·p, column s·q."""
    if stride == 1:
        return "sum_ij W_ij X(i+p, j+q) + b"
    return f"sum_ij W_ij X(i+{stride}p, j+{stride}q) + b (stride {stride}: window (p, q) starts at row {stride}p, column {stride}q)"


def _window_lines(step: ConvStep, kernel: Tensor, quoted: dict, stride: int) -> list[str]:
    kh, kw = kernel.shape
    r, c = step.p * stride, step.q * stride
    where = "" if stride == 1 else f", rows {r}-{r + kh - 1}, columns {c}-{c + kw - 1}"
    lines = [f"window (p={step.p}, q={step.q}){where}:"]
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


def _filter_lines(fp: FilterPass, max_windows: int | None, *, stride: int, padding: int) -> list[str]:
    kh, kw = fp.kernel.shape
    lines = [f"== Filter {fp.name} ==", *_side_by_side([_grid(fp.kernel)], [])]
    padded = f" (X: the image zero-padded by {padding} on every side)" if padding else ""
    lines.append(f"Convolution, {_conv_formula(stride)}, one {kh}x{kw} window at a time{padded}:")
    shown = fp.conv_steps if max_windows is None else fp.conv_steps[:max_windows]
    for step in shown:
        lines += _window_lines(step, fp.kernel, fp.quoted, stride)
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
        lines += _filter_lines(fp, max_windows, stride=result.stride, padding=result.padding)
    n = len(result.flat)
    lines += [f"== Flatten: pooled maps -> {n} value{'' if n == 1 else 's'} ==", _row(result.flat), ""]
    # z for the logits: the deck writes softmax(y_i) for them but y for the one-hot label in its loss;
    # one letter for two things invites plugging the logits into J (NOTATION_NOTE says so to the reader).
    lines += ["== Fully connected: z = W x + b (z: the logits, one score per class) ==", "W ="]
    lines += [f"  {_row(row)}" for row in result.fc_weight]
    lines += [f"b = {_row(result.fc_bias)}", f"z = {_row(result.logits)}", ""]
    lines.append("== Softmax: y_hat_i = softmax(z_i) = e^{z_i} / sum_j e^{z_j} ==")
    denominator = " + ".join(f"e^{_num(round(float(z), 2))}" for z in result.logits)
    for name, z, p in zip(result.class_names, result.logits, result.probs, strict=True):
        lines.append(f"  {name}: e^{_num(round(float(z), 2))} / ({denominator}) = {float(p):.4f}")
    truth = result.class_names[result.target]
    one_hot = _row(torch.nn.functional.one_hot(torch.tensor(result.target), len(result.class_names)))
    lines += ["", "== Cross-entropy: J = -sum_i y_i log(y_hat_i) (y: the one-hot true label) =="]
    lines.append(f"  the deck gives its image no label: we take {truth!r} as the true class (y = {one_hot}); "
                 "the weights are untrained, so whether it scores high is chance")
    lines.append(
        f"  true class {truth!r}: J = -log({float(result.probs[result.target]):.4f}) = {result.loss:.4f}"
    )
    lines += ["", "Notes:", *[f"  - {note}" for note in [NOTATION_NOTE, *result.notes]]]
    return "\n".join(lines) + "\n"


def _row(v: Tensor) -> str:
    return "[" + ", ".join(_num(round(float(x), 4)) for x in v.reshape(-1)) + "]"


# ---- drawing --------------------------------------------------------------------------------------------


def _draw_matrix(ax, m: Tensor, title: str, *, pixels: bool = False, limit: float | None = None):
    """+-1 pixels as the deck draws them (light blue circle = -1, black circle = 1), numbers as heatmaps on
    the colour scale -limit..limit (default None: the matrix's own largest |value|); returns the heatmap."""
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
        return None
    limit = limit or float(m.abs().max()) or 1.0
    image = ax.imshow(m.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
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
    return image


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
    # One colour scale for every map: on each map's own scale a pooled map of 1s was as dark as one of 9s.
    limit = max(float(m.abs().max()) for fp in result.passes for m in (fp.feature_map, fp.pooled)) or 1.0
    heatmap = None
    for i, fp in enumerate(result.passes, start=1):
        _draw_matrix(axes[0, i], fp.kernel, f"filter {fp.name}", pixels=True)
        heatmap = _draw_matrix(axes[1, i], fp.feature_map, "feature map", limit=limit) or heatmap
        heatmap = _draw_matrix(axes[2, i], fp.pooled, "ReLU, 2x2 max pool", limit=limit) or heatmap
    if heatmap is not None:
        fig.colorbar(heatmap, ax=axes[1:, 1:].ravel().tolist(), shrink=0.8, label="value (one scale for all maps)")
    axes[1, 0].axis("off")
    axes[1, 0].text(0.0, 0.5, "flatten -> FC\n-> softmax", fontsize=9, va="center")
    _draw_probabilities(axes[2, 0], result)
    return fig


def _draw_probabilities(ax, result: WorkedExample) -> None:
    """Softmax bars, the true class green; the legend says that class is our pick (the deck gives no label)."""
    from matplotlib.patches import Patch

    colors = ["tab:green" if i == result.target else "tab:gray" for i in range(len(result.probs))]
    ax.barh(result.class_names, result.probs.numpy(), color=colors)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"softmax (loss {result.loss:.3f})", fontsize=9)
    truth = result.class_names[result.target]
    handles = [Patch(color="tab:green", label=f"true class ({truth}: our pick)"),
               Patch(color="tab:gray", label="other classes")]
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
