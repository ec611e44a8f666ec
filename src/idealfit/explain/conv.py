"""The deck's convolution example, number for number: hand-written reference ops that record every window.

This is teaching code: the ops loop over windows in plain Python so each step can be printed, and
`tests/explain/test_conv.py` checks every one against `torch.nn.functional`. The deck's data
(a 5x5 image of +-1 pixels and three 3x3 filters) comes from the slides "Learning on image data -
Example" / "Feature extraction" / "Filters to detect features" of deep-learning-tutorial-part-2.
`idealfit.explain.conv_view` prints and draws the worked example step by step.

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
    """Slide `kernel` over `image` and record every window: sum_ij W_ij X_(i+s·p, j+s·q) + b, s the stride.

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
    """Fully connected layer z = W x + b (the logits): (..., in) with weight (out, in) -> (..., out)."""
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
    logits: Tensor  # (K,) z = W x + b
    probs: Tensor  # (K,) y_hat = softmax(z)
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
