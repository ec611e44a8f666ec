"""The deck's convolution example, number for number: hand-written reference ops that record every window.

This is teaching code: the ops loop over windows in plain Python so each step can be printed, and
`tests/explain/test_conv.py` checks every one against `torch.nn.functional`. The deck's data
(a 5x5 image of +-1 pixels and three 3x3 filters) comes from the slides "Learning on image data -
Example" / "Feature extraction" / "Filters to detect features" of deep-learning-tutorial-part-2.

Reconstruction of the deck's image (the slides' pictures are missing from the text, the patches are not):
windows slide left to right, top to bottom, step 1 ("9 neurons for the 5x5 image"). The three patches
quoted on the first row of windows overlap consistently and fix rows 0-2; the eight all-ones sums
(-5, 1, -1, 1, -1, -7, -1, -3) then fix rows 3-4 uniquely (brute force over all 2^10 fillings), and only
if the un-numbered slide between "-1" and "1" is window (1, 0). The f_2 map "3 -3 7 / 3 -3 7 / 5 -5 9"
agrees with that image in all nine places. The picture is a "1": a stem in column 3 and a flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from idealfit.errors import UserError

# Deck legend: "Light blue circle = -1, Black circle = 1".
DECK_IMAGE = torch.tensor(
    [
        [-1, -1, -1, 1, -1],
        [-1, -1, 1, 1, -1],
        [-1, 1, -1, 1, -1],
        [-1, -1, -1, 1, -1],
        [-1, -1, -1, 1, -1],
    ],
    dtype=torch.float64,
)

# "Filters to detect features ... deformation": the deformed image. Its first three windows are quoted
# (all -1 -> -1; one +1 at the right -> 1; [-1 -1 1; -1 1 1; -1 -1 1] -> 7, "-1 1 7"), which fixes
# rows 0-2. Rows 3-4 are NOT in the deck's text: we ASSUME the stem goes on down column 4.
DECK_DEFORMED_IMAGE = torch.tensor(
    [
        [-1, -1, -1, -1, 1],
        [-1, -1, -1, 1, 1],
        [-1, -1, -1, -1, 1],
        [-1, -1, -1, -1, 1],  # assumed
        [-1, -1, -1, -1, 1],  # assumed
    ],
    dtype=torch.float64,
)

# Names as in the deck; the deformation slides also call f_i1 "f_1".
DECK_FILTERS = {
    "f_i0": torch.ones(3, 3, dtype=torch.float64),
    "f_i1": torch.tensor([[-1, -1, 1], [-1, 1, 1], [1, -1, 1]], dtype=torch.float64),
    "f_2": torch.tensor([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]], dtype=torch.float64),
}

# Window (p, q) -> the number the deck's text quotes for it (stride 1, no padding).
DECK_QUOTED = {
    # -5, 1, -1, then a slide with no number (window (1, 0); the image gives -5), then 1, -1, -7, -1, -3.
    "f_i0": {(0, 0): -5, (0, 1): 1, (0, 2): -1, (1, 1): 1, (1, 2): -1, (2, 0): -7, (2, 1): -1, (2, 2): -3},
    # -1, 9, -5 on the first row; "3" and "-3" on two "..." slides, read as the last two windows.
    "f_i1": {(0, 0): -1, (0, 1): 9, (0, 2): -5, (2, 1): 3, (2, 2): -3},
    # "3 -3 7 / 3 -3 7 / 5 -5 9", and "= 9" for the last window.
    "f_2": {
        (p, q): v for p, row in enumerate([[3, -3, 7], [3, -3, 7], [5, -5, 9]]) for q, v in enumerate(row)
    },
}
DECK_DEFORMED_QUOTED = {"f_i1": {(0, 0): -1, (0, 1): 1, (0, 2): 7}}  # "-1 1 7"

# What the deck's text leaves open, per filter; printed with the worked example when that filter is used.
DECK_NOTES = {
    "f_i0": [
        "f_i0: the slide between '= -1' and '= 1' has no number in its text; it is window (1,0), which is -5."
    ],
    "f_i1": [
        "f_i1 '= -1' slide: its picture text lists the patch [-1 -1 -1; -1 1 -1; -1 1 -1], which fits no "
        "other patch; the image's window (0,0) [-1 -1 -1; -1 -1 1; -1 1 -1] gives the quoted -1 too. "
        "Its written sum (like those for 9, -5 and 7) has 8 terms for 9 products.",
        "f_i1 '3' and '-3': the slides do not say which windows; the full map is [-1 9 -5; 3 1 -5; -3 3 -3], "
        "so we read them as the last two windows (2,1) and (2,2).",
    ],
    "f_2": [
        "f_2 '= 3' slide: its text shows the patch [-1 -1 -1; -1 1 -1; -1 1 -1], which would give 7; window "
        "(0,0) of the image gives the quoted 3, and the map '3 -3 7 / 3 -3 7 / 5 -5 9' matches fully."
    ],
}
DEFORMED_NOTES = [
    "Deformed image: only rows 0-2 are fixed by the deck ('-1 1 7' on the first row of f_i1 windows); "
    "rows 3-4 are our assumption (the stem continues), so every other number of its maps is ours.",
]
LOSS_NOTE = "The deck writes J(theta) = sum y log y_hat without the minus sign; we use -sum y log y_hat."


@dataclass
class ConvStep:
    """One window of a convolution: the neuron (p, q) of the feature map."""

    p: int  # output row
    q: int  # output column
    patch: Tensor  # (kh, kw) input values under the window (after zero padding)
    products: Tensor  # (kh, kw) patch * kernel, elementwise
    bias: float  # b added to the sum
    value: float  # sum(products) + bias


@dataclass
class PoolStep:
    """One window of max pooling."""

    p: int  # output row
    q: int  # output column
    window: Tensor  # (size, size) values under the window
    value: float  # their maximum


def _matrix(x, name: str) -> Tensor:
    t = torch.as_tensor(x, dtype=torch.float64)
    if t.dim() != 2 or t.numel() == 0:
        raise UserError(f"{name} must be a non-empty 2-D matrix, got shape {tuple(t.shape)}")
    return t


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def conv2d_steps(image, kernel, *, stride: int = 1, padding: int = 0, bias: float = 0.0):
    """Slide `kernel` over `image` and record every window: sum_ij W_ij X_(i+p, j+q) + b.

    The deck's formula is a cross-correlation (the kernel is not flipped), exactly like torch's conv2d.

    Args:
        image: (H, W) matrix (tensor, array or nested lists).
        kernel: (kh, kw) weights.
        stride: step between windows (default 1, as in the deck).
        padding: zeros added on every side (default 0).
        bias: b added to every window's sum (default 0.0).

    Returns:
        (feature_map (H', W'), steps) with one ConvStep per window, in slide order (row by row).
    """
    x, w = _matrix(image, "image"), _matrix(kernel, "kernel")
    stride, padding = _check_int(stride, "stride", 1), _check_int(padding, "padding", 0)
    if padding:
        padded = torch.zeros(x.shape[0] + 2 * padding, x.shape[1] + 2 * padding, dtype=x.dtype)
        padded[padding:-padding, padding:-padding] = x
        x = padded
    kh, kw = w.shape
    if kh > x.shape[0] or kw > x.shape[1]:
        raise UserError(f"kernel {kh}x{kw} is larger than the (padded) image {x.shape[0]}x{x.shape[1]}")
    out_h, out_w = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = torch.empty(out_h, out_w, dtype=x.dtype)
    steps = []
    for p in range(out_h):
        for q in range(out_w):
            patch = x[p * stride : p * stride + kh, q * stride : q * stride + kw].clone()
            products = patch * w
            value = float(products.sum()) + float(bias)
            out[p, q] = value
            steps.append(ConvStep(p, q, patch, products, float(bias), value))
    return out, steps


def relu(x) -> Tensor:
    """max(0, x), elementwise (the deck's "Non-linearity: Often ReLU")."""
    x = torch.as_tensor(x, dtype=torch.float64)
    return torch.where(x > 0, x, torch.zeros_like(x))


def max_pool2d_steps(x, *, size: int = 2, stride: int = 1):
    """Max pooling that records every window; the deck uses 2x2 windows with stride 1.

    Args:
        x: (H, W) feature map.
        size: window side (default 2).
        stride: step between windows (default 1).

    Returns:
        (pooled (H', W'), steps) with one PoolStep per window, row by row.
    """
    x = _matrix(x, "feature map")
    size, stride = _check_int(size, "pool size", 1), _check_int(stride, "pool stride", 1)
    if size > min(x.shape):
        raise UserError(
            f"the {size}x{size} pool does not fit the {x.shape[0]}x{x.shape[1]} feature map; "
            "use a larger image, a smaller stride or more padding"
        )
    out_h, out_w = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    out = torch.empty(out_h, out_w, dtype=x.dtype)
    steps = []
    for p in range(out_h):
        for q in range(out_w):
            window = x[p * stride : p * stride + size, q * stride : q * stride + size].clone()
            out[p, q] = window.max()
            steps.append(PoolStep(p, q, window, float(out[p, q])))
    return out, steps


def flatten(x) -> Tensor:
    """Row-major flattening to one vector, like nn.Flatten on a single sample: (C, H, W) -> (C*H*W,)."""
    return torch.as_tensor(x, dtype=torch.float64).reshape(-1)


def linear(x, weight, bias=None) -> Tensor:
    """Fully connected layer y = W x + b: (..., in) with weight (out, in) -> (..., out)."""
    x, weight = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(weight, dtype=torch.float64)
    y = x @ weight.T
    return y if bias is None else y + torch.as_tensor(bias, dtype=torch.float64)


def softmax(y, dim: int = -1) -> Tensor:
    """softmax(y_i) = e^{y_i} / sum_j e^{y_j} along `dim` (default the last)."""
    y = torch.as_tensor(y, dtype=torch.float64)
    # Subtracting the max changes nothing mathematically (it cancels) but keeps e^y from overflowing.
    e = torch.exp(y - y.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(logits, target) -> Tensor:
    """J = -sum_i y_i log(y_hat_i) with y one-hot and y_hat = softmax(logits); the batch mean.

    The deck writes J(theta) = sum y log y_hat: that misses the minus sign (log y_hat <= 0, so it
    would be a loss to maximise). This is the usual, correct sign, equal to torch's cross_entropy.

    Args:
        logits: (C,) for one sample or (B, C).
        target: class index (int) or (B,) indices.
    """
    logits = torch.as_tensor(logits, dtype=torch.float64)
    target = torch.as_tensor(target, dtype=torch.long)
    if logits.dim() == 1:
        logits, target = logits[None], target.reshape(1)
    y = torch.zeros_like(logits)
    y[torch.arange(len(target)), target] = 1.0  # one-hot (B, C)
    # log(softmax) computed as y - logsumexp(y): the same number without log(0) for tiny probabilities.
    log_y_hat = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return -(y * log_y_hat).sum(dim=-1).mean()


@dataclass
class FilterPass:
    """One filter's path through conv -> ReLU -> max pool."""

    name: str  # filter name ("f_i0", ...)
    kernel: Tensor  # (kh, kw)
    feature_map: Tensor  # (H', W') conv output
    conv_steps: list[ConvStep]  # every window
    activated: Tensor  # (H', W') relu(feature_map)
    pooled: Tensor  # (H'', W'') 2x2 max pool, stride 1
    pool_steps: list[PoolStep]  # every pool window
    quoted: dict = field(default_factory=dict)  # window (p, q) -> number the deck quotes for it


@dataclass
class WorkedExample:
    """Everything `worked_example` computed, step by step."""

    image: Tensor  # (H, W)
    stride: int  # convolution stride
    padding: int  # convolution zero padding
    passes: list[FilterPass]  # one per filter, in order
    flat: Tensor  # (n,) pooled maps flattened and concatenated
    fc_weight: Tensor  # (K, n) fully connected weights (seeded, not trained)
    fc_bias: Tensor  # (K,)
    logits: Tensor  # (K,) y = W x + b
    probs: Tensor  # (K,) softmax(y)
    class_names: list[str]  # K names
    target: int  # true class index for the loss
    loss: float  # -log probs[target]
    notes: list[str]  # what the deck leaves open and what we assumed


def _deck_quotes(image: Tensor, name: str, kernel: Tensor, stride: int, padding: int) -> dict:
    if stride != 1 or padding != 0 or name not in DECK_FILTERS or not torch.equal(kernel, DECK_FILTERS[name]):
        return {}
    if torch.equal(image, DECK_IMAGE):
        return DECK_QUOTED.get(name, {})
    if torch.equal(image, DECK_DEFORMED_IMAGE):
        return DECK_DEFORMED_QUOTED.get(name, {})
    return {}


def worked_example(
    image=None,
    filters: dict | None = None,
    *,
    stride: int = 1,
    padding: int = 0,
    class_names: tuple[str, ...] = ("class 0", "class 1"),
    target: int = 0,
    fc_seed: int = 0,
) -> WorkedExample:
    """Run the deck's whole pipeline: image -> each filter -> ReLU -> 2x2 max pool (stride 1) -> flatten
    -> fully connected -> softmax -> cross-entropy.

    Args:
        image: (H, W) matrix (default DECK_IMAGE, the deck's 5x5 image).
        filters: name -> (k, k) kernel (default DECK_FILTERS).
        stride: convolution stride (default 1).
        padding: convolution zero padding (default 0).
        class_names: output classes; the deck names none (default two, "class 0" and "class 1").
        target: index of the true class for the loss (default 0).
        fc_seed: seed of the fully connected weights, N(0, 0.1^2) rounded to 2 decimals (default 0). The
            deck shows no FC numbers, so they are fixed random numbers, not trained ones.

    Example:
        >>> result = worked_example()
        >>> result.passes[0].feature_map.tolist()[0]
        [-5.0, 1.0, -1.0]
    """
    image = DECK_IMAGE if image is None else _matrix(image, "image")
    filters = DECK_FILTERS if filters is None else filters
    if not filters:
        raise UserError("pass at least one filter")
    if not class_names or not 0 <= target < len(class_names):
        raise UserError(f"target must be a class index in 0..{len(class_names) - 1}, got {target}")
    passes = []
    for name, kernel in filters.items():
        kernel = _matrix(kernel, f"filter {name!r}")
        fmap, steps = conv2d_steps(image, kernel, stride=stride, padding=padding)
        activated = relu(fmap)
        pooled, pool_steps = max_pool2d_steps(activated, size=2, stride=1)
        quotes = _deck_quotes(image, name, kernel, stride, padding)
        passes.append(FilterPass(name, kernel, fmap, steps, activated, pooled, pool_steps, quotes))
    flat = torch.cat([flatten(fp.pooled) for fp in passes])  # F maps (H'', W'') -> (F*H''*W'',)
    gen = torch.Generator().manual_seed(fc_seed)
    k = len(class_names)
    fc_weight = torch.round(torch.randn(k, len(flat), generator=gen, dtype=torch.float64) * 0.1, decimals=2)
    fc_bias = torch.zeros(k, dtype=torch.float64)
    logits = linear(flat, fc_weight, fc_bias)
    notes = [LOSS_NOTE, f"Fully connected weights: seeded random numbers (seed {fc_seed}), not trained."]
    if torch.equal(image, DECK_IMAGE):
        notes += [note for fp in passes if fp.quoted for note in DECK_NOTES[fp.name]]
    elif torch.equal(image, DECK_DEFORMED_IMAGE):
        notes += DEFORMED_NOTES
    return WorkedExample(
        image=image,
        stride=stride,
        padding=padding,
        passes=passes,
        flat=flat,
        fc_weight=fc_weight,
        fc_bias=fc_bias,
        logits=logits,
        probs=softmax(logits),
        class_names=list(class_names),
        target=target,
        loss=float(cross_entropy(logits, target)),
        notes=notes,
    )


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
