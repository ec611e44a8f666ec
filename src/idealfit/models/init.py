"""Network initialisation (the deck: "Random Initializations (e.g. Glorot)").

Each scheme draws the weights of every Linear and Conv/ConvTranspose layer so that the signal's variance
neither explodes nor vanishes from layer to layer:

    glorot_* (= Xavier, Glorot & Bengio 2010): Var(w) = 2 / (fan_in + fan_out)
        uniform on ±sqrt(6 / (fan_in + fan_out)), or normal with that variance.
    he_* (= Kaiming, He et al. 2015): Var(w) = gain² / fan_in, gain² = 2 for ReLU,
        uniform on ±sqrt(3) · gain / sqrt(fan_in), or normal with that variance.
    orthogonal (Saxe et al. 2014): the weight, flattened to (out, in · kernel), has orthonormal rows
        (or columns, whichever are fewer).
    torch_default: leave every layer exactly as PyTorch initialised it (biases included).

For all schemes but torch_default, biases are set to zero. Fan-in/out follow PyTorch's convention
(`fan_in = in_channels · kernel_size`).

Example:
    >>> model = init_weights(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), "he_normal")
"""

from __future__ import annotations

import difflib

from torch import nn
from torch.nn.parameter import UninitializedParameter

from idealfit.config import INIT_SCHEMES  # noqa: F401 - re-exported; config.py keeps the names (no torch there)
from idealfit.errors import UserError

# Other names for the same schemes, only used to suggest the right one in error messages.
_ALIASES = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "default": "torch_default",
}
# Activation name -> the nonlinearity torch's kaiming_* computes its gain for. GELU/SiLU/ELU behave like
# ReLU for positive inputs and are usually given ReLU's gain.
_HE_NONLINEARITY = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "gelu": "relu",
    "silu": "relu",
    "elu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "selu": "selu",
    "linear": "linear",
}
LEAKY_RELU_SLOPE = 0.01  # nn.LeakyReLU's default negative slope, used for he_* with leaky_relu


def _suggest(scheme: str) -> str:
    if scheme in _ALIASES:
        return f" (did you mean {_ALIASES[scheme]!r}? Glorot is Xavier, He is Kaiming)"
    close = difflib.get_close_matches(scheme, INIT_SCHEMES + tuple(_ALIASES), n=1)
    return f" (did you mean {_ALIASES.get(close[0], close[0])!r}?)" if close else ""


def _check(scheme: object, nonlinearity: object) -> None:
    if not isinstance(scheme, str) or scheme not in INIT_SCHEMES:
        hint = _suggest(scheme) if isinstance(scheme, str) else ""
        raise UserError(f"unknown init scheme {scheme!r}{hint}; valid: {', '.join(INIT_SCHEMES)}")
    if nonlinearity not in _HE_NONLINEARITY:
        raise UserError(f"init: unknown nonlinearity {nonlinearity!r}; valid: {', '.join(_HE_NONLINEARITY)}")


def _init_weight(w: nn.Parameter, scheme: str, nonlinearity: str) -> None:
    """Draw one weight tensor in place according to `scheme`."""
    if scheme == "glorot_uniform":
        nn.init.xavier_uniform_(w)
    elif scheme == "glorot_normal":
        nn.init.xavier_normal_(w)
    elif scheme in ("he_uniform", "he_normal"):
        act = _HE_NONLINEARITY[nonlinearity]
        a = LEAKY_RELU_SLOPE if act == "leaky_relu" else 0.0
        draw = nn.init.kaiming_uniform_ if scheme == "he_uniform" else nn.init.kaiming_normal_
        draw(w, a=a, mode="fan_in", nonlinearity=act)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(w)
    else:  # pragma: no cover - _check guards the scheme names
        raise AssertionError(scheme)


def init_weights(model: nn.Module, scheme: str, *, nonlinearity: str = "relu") -> nn.Module:
    """Initialise every Linear and ConvNd layer of `model` in place and return the model.

    Args:
        model: any nn.Module; other layer types (norms, embeddings, RNNs) keep their own init.
        scheme: one of INIT_SCHEMES: glorot_uniform, glorot_normal, he_uniform, he_normal, orthogonal,
            torch_default.
        nonlinearity: the activation after the layers, for he_* only (default "relu", gain √2); also
            leaky_relu (slope 0.01), gelu/silu/elu (ReLU's gain), tanh, sigmoid, selu, linear.
    """
    _check(scheme, nonlinearity)
    if scheme == "torch_default":
        return model
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
            continue
        if isinstance(module.weight, UninitializedParameter):
            raise UserError(f"init: layer {name!r} is lazy and has no shape yet; run one forward pass first")
        _init_weight(module.weight, scheme, nonlinearity)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    return model
