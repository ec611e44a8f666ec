"""Piecewise-linear encoding of numeric table features for the MLP's deep path (`model.num_embedding=ple`).

Gorishniy, Rubachev & Babenko 2022, "On Embeddings for Numerical Features in Tabular Deep Learning"
(NeurIPS; reference code: the `rtdl_num_embeddings` package). Each feature x_j gets T_j bins with edges
b_0 < b_1 < ... < b_T at quantiles of the training split, and is encoded as T_j numbers, one per bin t:

    e_t = 1                              if x >= b_t      (the bin lies below x: filled)
    e_t = 0                              if x <  b_{t-1}  (the bin lies above x: empty)
    e_t = (x - b_{t-1}) / (b_t - b_{t-1})  otherwise        (x inside the bin: its filled share)

the first bin unclipped below (e_1 < 0 for x < b_0) and the last above (e_T > 1 for x > b_T), as the paper
does, so no value outside the training range is flattened. A dense layer on these is a piecewise-linear
function of each feature with a knot at every edge: the thresholds that gradient boosting finds are one
weight away, where on the raw value a ReLU network has to place each knot by itself.

Written here rather than taken from `rtdl_num_embeddings`: that package keeps a Python list of ragged bins
and indexes by it in `forward`, which neither loads from a saved state dict of fixed shape nor exports to a
plain ONNX graph. Here every feature has `bins` slots (F, T): a feature with fewer distinct training values
(binary, one-hot and missing-indicator columns have two: one bin; a constant column none) leaves the rest
masked to 0, so the model's shapes follow from the config alone and `load_run`, `predict` and `export` rebuild
it before the fitted edges arrive with the weights. The encoding is two clamps and a product: it exports as is.

Example:
    >>> enc = PiecewiseLinear(features=1, bins=2)
    >>> enc.fit(torch.tensor([[0.0], [1.0], [3.0]]))
    >>> enc(torch.tensor([[2.0]]))  # edges 0, 1, 3: the first bin full, half of the second
    tensor([[1.0000, 0.5000]])
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class PiecewiseLinear(nn.Module):
    """(B, F) features -> (B, F · bins) encodings, feature by feature (feature j's bins at j·bins ... j·bins + bins - 1).

    The edges are fitted by `fit` on the training split's inputs (`fit_piecewise` does it for a built model)
    and kept as buffers, so they are saved and loaded with the weights. Unfitted, every slot is masked (0).

    Args:
        features: F, the numeric inputs (after the table's preprocessing and the model's normalization).
        bins: T, bins per feature at most (`model.ple_bins`); fewer where a feature has fewer distinct values.
    """

    def __init__(self, features: int, bins: int):
        super().__init__()
        self.features, self.bins = features, bins
        shape = (features, bins)
        self.register_buffer("left", torch.zeros(shape))  # b_{t-1}, the bin's lower edge
        self.register_buffer("width", torch.ones(shape))  # b_t - b_{t-1}
        self.register_buffer("low", torch.zeros(shape))  # clamp below: 0, or -inf for a feature's first bin
        self.register_buffer("high", torch.ones(shape))  # clamp above: 1, or +inf for a feature's last bin
        self.register_buffer("mask", torch.zeros(shape))  # 1 for a real bin, 0 for an unused slot

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, F · T)
        z = (x.unsqueeze(-1) - self.left) / self.width  # (B, F, T): where x sits in each bin, 0 .. 1 inside
        return (torch.minimum(torch.maximum(z, self.low), self.high) * self.mask).flatten(1)

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Set the edges from (n, F) training inputs: the quantiles 0, 1/T, ..., 1 of each column, each a training
        value (numpy's inverted_cdf, as the clip bounds: never interpolated between two values, so a binary column
        gets exactly its two values), repeated edges dropped."""
        cols = x.detach().cpu().double().numpy()
        if cols.ndim != 2 or cols.shape[1] != self.features:
            raise ValueError(f"PiecewiseLinear.fit: expected (n, {self.features}) inputs, got {tuple(cols.shape)}")
        left, width = torch.zeros(self.features, self.bins), torch.ones(self.features, self.bins)
        low, high, mask = torch.zeros_like(left), torch.ones_like(left), torch.zeros_like(left)
        qs = np.linspace(0.0, 1.0, self.bins + 1)
        for j in range(self.features):
            col = cols[:, j][np.isfinite(cols[:, j])]
            edges = np.unique(np.quantile(col, qs, method="inverted_cdf")) if col.size else np.zeros(1)
            t = len(edges) - 1  # bins of this feature: 0 for a constant column
            left[j, 0] = float(edges[0])  # b_0 even for a constant column: `linear_on_bins` reads it
            if t == 0:
                continue
            left[j, :t] = torch.as_tensor(edges[:-1])
            width[j, :t] = torch.as_tensor(np.diff(edges))
            low[j, 0], high[j, t - 1] = -torch.inf, torch.inf  # the outer sides of the first and last bins
            mask[j, :t] = 1.0
        for name, value in (("left", left), ("width", width), ("low", low), ("high", high), ("mask", mask)):
            getattr(self, name).copy_(value)

    def bin_counts(self) -> list[int]:
        """Bins per feature (0 for a constant one), as fitted."""
        return [int(n) for n in self.mask.sum(1).tolist()]

    def extra_repr(self) -> str:
        return f"features={self.features}, bins={self.bins}"


class PerFeatureLinear(nn.Module):
    """(B, F · T) encodings -> (B, F · d): each feature's T bins through its own Linear(T, d) and a ReLU (the
    paper's "Q-LR" embedding), so the dense layers read d learned numbers per feature instead of T fixed ones.

    Args:
        features: F. bins: T (`model.ple_bins`). dim: d (`model.ple_dim`).
    """

    def __init__(self, features: int, bins: int, dim: int):
        super().__init__()
        self.features, self.bins, self.dim = features, bins, dim
        bound = bins ** -0.5  # nn.Linear's default init, per feature (fan-in T)
        self.weight = nn.Parameter(torch.empty(features, bins, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(features, dim).uniform_(-bound, bound))

    def forward(self, e: torch.Tensor) -> torch.Tensor:  # (B, F · T) -> (B, F · d)
        z = torch.einsum("bft,ftd->bfd", e.view(-1, self.features, self.bins), self.weight) + self.bias
        return torch.relu(z).flatten(1)

    def extra_repr(self) -> str:
        return f"features={self.features}, bins={self.bins}, dim={self.dim}"


def linear_on_bins(enc: PiecewiseLinear, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A linear model on the raw features, w · x + c, as the same function of the encodings: (out, F · T) weights
    and (out,) biases. Exact, because each feature's encodings weighted by their bins' widths sum back to
    x - b_0 (the outer bins are unclipped): Σ_t e_t (b_t - b_{t-1}) = x - b_0, so w_j x_j = Σ_t w_j (b_t - b_{t-1})
    e_t + w_j b_0. A constant column (no bins) keeps only its training value's share, w_j b_0, in the bias."""
    width = (enc.width * enc.mask).cpu().double().numpy()  # (F, T), 0 in unused slots
    on_bins = (weight[:, :, None] * width[None]).reshape(weight.shape[0], -1)
    return on_bins, bias + weight @ enc.left[:, 0].cpu().double().numpy()


class _Captured(Exception):  # stops the forward pass once the encoding's input is seen
    pass


@torch.no_grad()
def fit_piecewise(model: nn.Module, x: np.ndarray | torch.Tensor) -> int:
    """Fit every `PiecewiseLinear` of `model` on the inputs it receives from the training inputs `x`, in place.

    The input is taken from a forward pass (stopped at the encoding), so whatever comes before it (the
    normalization layer, flatten) is applied exactly as in training. Returns how many encodings were fitted.

    Args:
        model: a built network (on any device).
        x: (n, ...) training inputs as the model receives them (`prep.x["train"]`).
    """
    encoders = [m for m in model.modules() if isinstance(m, PiecewiseLinear)]
    for enc in encoders:
        seen = {}

        def grab(_module, args, seen=seen):
            seen["x"] = args[0]
            raise _Captured

        handle = enc.register_forward_pre_hook(grab)
        device = next(iter(enc.buffers())).device
        was_training = model.training
        model.eval()
        try:
            model(torch.as_tensor(x, dtype=torch.float32, device=device))
        except _Captured:
            pass
        finally:
            handle.remove()
            model.train(was_training)
        enc.fit(seen["x"])
    return len(encoders)
