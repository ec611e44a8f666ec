"""Weight penalties (L1, L2) as tiny callables, in the style of keras `regularizers.py`.

The deck adds the penalty to the data loss:

    W* = argmin_W 1/n Σ_i L(f(x_i; W), y_i) + λ/2 Σ_l |W_l|        (L1)

so a regularizer maps a model to the scalar λ/2 · Σ|W| (or λ/2 · Σ W² for L2), which the training loop
adds to the batch loss. Only weight tensors are penalised by default: biases and the parameters of
normalisation layers (BatchNorm / LayerNorm / GroupNorm / InstanceNorm / RMSNorm) only shift and scale
activations, and shrinking them towards zero fights the normalisation instead of simplifying the model.

Example:
    >>> regs = build_regularizers(l1=1e-4, l2=0.0)        # [L1(lam=0.0001)]
    >>> loss = data_loss + sum(r(model) for r in regs)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import nn

from idealfit.errors import UserError

# _NormBase is torch's common base of every BatchNorm and InstanceNorm variant (private, but stable
# since torch 1.x); the others are listed by their public classes.
_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)


def _is_bias(local_name: str) -> bool:
    """A module's own parameter name marks a bias: Linear/Conv `bias`, RNN `bias_ih_l0`, MHA `in_proj_bias`."""
    return "bias" in local_name


def penalty_parameters(
    model: nn.Module, *, include_bias: bool = False, include_norm: bool = False
) -> list[nn.Parameter]:
    """The parameters a weight penalty acts on, found by walking the model's modules.

    Args:
        model: any nn.Module.
        include_bias: also penalise biases (default False).
        include_norm: also penalise normalisation layers' parameters (default False); their biases
            still follow `include_bias`.

    Returns:
        Parameters in module order, each once (tied weights are not counted twice).
    """
    chosen: list[nn.Parameter] = []
    seen: set[int] = set()
    for module in model.modules():
        is_norm = isinstance(module, _NORM_TYPES)
        for local_name, param in module.named_parameters(recurse=False):
            if id(param) in seen or (is_norm and not include_norm):
                continue
            if _is_bias(local_name) and not include_bias:
                continue
            seen.add(id(param))
            chosen.append(param)
    return chosen


def _check_lam(lam: Any, name: str) -> float:
    if not isinstance(lam, numbers.Real) or isinstance(lam, bool) or not math.isfinite(lam) or lam < 0:
        raise UserError(f"{name}: the strength λ must be a finite number >= 0 (0 turns it off), got {lam!r}")
    return float(lam)


class _WeightPenalty:
    """Shared body of L1 and L2: λ/2 · Σ_l g(W_l) over `penalty_parameters`."""

    name = ""

    def __init__(self, lam: float, *, include_bias: bool = False, include_norm: bool = False):
        self.lam = _check_lam(lam, self.name)
        self.include_bias = bool(include_bias)
        self.include_norm = bool(include_norm)

    def _term(self, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, model: nn.Module) -> torch.Tensor:
        """The penalty for `model`'s current weights, a scalar tensor that carries gradients."""
        params = penalty_parameters(model, include_bias=self.include_bias, include_norm=self.include_norm)
        if not params:
            return torch.zeros(())
        return 0.5 * self.lam * sum(self._term(w) for w in params)

    def get_config(self) -> dict[str, Any]:
        """The arguments, so that `type(r)(**{k: v for k, v in cfg.items() if k != "name"})` rebuilds it."""
        return {
            "name": self.name,
            "lam": self.lam,
            "include_bias": self.include_bias,
            "include_norm": self.include_norm,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam:g})"


class L1(_WeightPenalty):
    """L1 penalty, exactly as the deck writes it: λ/2 · Σ_l |W_l|.

    W* = argmin_W 1/n Σ_i L(f(x_i; W), y_i) + λ/2 Σ_l |W_l|  — "leads to sparser weights (more zeroes
    in weights) that are not too adapted to the data at hand". Its gradient is λ/2 · sign(w).

    Args:
        lam: λ >= 0, the penalty strength.
        include_bias: also penalise biases (default False).
        include_norm: also penalise normalisation layers' parameters (default False).
    """

    name = "l1"

    def _term(self, w: torch.Tensor) -> torch.Tensor:
        return w.abs().sum()


class L2(_WeightPenalty):
    """L2 penalty (weight decay) with the deck's scaling: λ/2 · Σ_l W_l². Its gradient is λ · w.

    Args:
        lam: λ >= 0, the penalty strength.
        include_bias: also penalise biases (default False).
        include_norm: also penalise normalisation layers' parameters (default False).
    """

    name = "l2"

    def _term(self, w: torch.Tensor) -> torch.Tensor:
        return w.pow(2).sum()


def weight_sparsity(
    model: nn.Module, *, threshold: float = 1e-3, include_bias: bool = False, include_norm: bool = False
) -> float:
    """Share of the penalised weights with |w| < threshold, in [0, 1] (0.0 for a model without weights).

    Args:
        model: any nn.Module.
        threshold: magnitude below which a weight counts as zero (default 1e-3).
        include_bias: count biases too (default False).
        include_norm: count normalisation layers' parameters too (default False).
    """
    if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool) or threshold < 0:
        raise UserError(f"weight_sparsity: threshold must be a number >= 0, got {threshold!r}")
    params = penalty_parameters(model, include_bias=include_bias, include_norm=include_norm)
    total = sum(p.numel() for p in params)
    if total == 0:
        return 0.0
    small = sum(int((p.detach().abs() < threshold).sum()) for p in params)
    return small / total


def build_regularizers(l1: float = 0.0, l2: float = 0.0) -> list[_WeightPenalty]:
    """The active regularizers for the config's strengths; 0 turns one off.

    Args:
        l1: λ for the L1 penalty (default 0.0, off).
        l2: λ for the L2 penalty (default 0.0, off).
    """
    lam1, lam2 = _check_lam(l1, "l1"), _check_lam(l2, "l2")
    regs: list[_WeightPenalty] = []
    if lam1 > 0:
        regs.append(L1(lam1))
    if lam2 > 0:
        regs.append(L2(lam2))
    return regs
