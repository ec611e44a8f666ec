"""Start a wide & deep MLP at the linear baseline's fit (`model.wide_init=linear`).

The combined actuarial neural network (CANN, Schelldorfer & Wüthrich 2019): the wide path gets the
weights of the linear model that `baselines.linear` fits on the same training split and inputs
(LogisticRegression C=1 / RidgeCV), the deep head gets zero weights and the linear model's intercept as
its bias. The network's first forward pass then *is* the linear model, and training moves away from it
only where the deep path lowers the loss: on small tables the network starts where a linear model
already is, instead of having to find it again from random weights with a few dozen validation rows to
tell when it got there.

Measured on benchmarks/tables.py (see its header): over seeds 0-19 of the messy wine, breast cancer,
diabetes and iris tables, the cells more than 1 point (0.05 R²) below the better baseline fell from 26 of
80 (the wide path started at random) to 13 of 80, as many as the linear model itself misses; it is the
table default (config.TABLE_DEFAULTS) and the series default (config.SERIES_DEFAULTS, at the AR fit).

Example:
    >>> init_wide_from_linear(model, prep.x["train"], prep.y["train"], task="classification")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from idealfit.errors import UserError

ABSENT_LOGIT = 10.0  # a class the training split lacks starts this far below the least likely seen class


def init_wide_from_linear(model: nn.Sequential, x: np.ndarray, y: np.ndarray, *, task: str,
                          threads: int | None = None) -> None:
    """Set `model`'s wide path to the linear baseline fitted on (x, y) and its deep head to 0, in place.

    Args:
        model: a built MLP (or a CNN on series windows) with `model.wide` (its last module a `WideDeep`), on any
            device.
        x: (n, ...) training inputs as the model receives them; y: (n,) class ids, or standardized targets.
        task: "classification" (LogisticRegression, C = 1) or "regression" (RidgeCV); as `baselines.linear`.
        threads: CPU threads for scikit-learn (default None: torch's).
    """
    from threadpoolctl import threadpool_limits

    from idealfit.baselines import linear_model
    from idealfit.models.mlp import WideDeep

    core = model[-1]
    if not isinstance(core, WideDeep):
        raise UserError("model.wide_init=linear starts the wide path at a linear model; add model.wide=true")
    head = [m for m in core.deep.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():  # the features the wide path sees: x after the layers before it (normalize, flatten)
        device = head.weight.device
        feats = model[:-1](torch.as_tensor(x, dtype=torch.float32, device=device)).flatten(1).cpu().double().numpy()
    if task == "classification" and len(np.unique(y)) < 2:
        raise UserError("model.wide_init=linear fits a logistic regression, and the training split holds one "
                        "class only; add rows of the other classes or drop model.wide_init")
    with threadpool_limits(limits=threads or torch.get_num_threads()):
        lin = linear_model(task).fit(feats, y)
    weight, bias = _logits(lin, task=task, out_dim=head.out_features)
    if getattr(core, "encode", None) is not None:  # model.ple_paths=wide|both: the same linear function on the bins
        from idealfit.models.ple import linear_on_bins

        weight, bias = linear_on_bins(core.encode, weight, bias)
    with torch.no_grad():
        core.wide.weight.copy_(torch.as_tensor(weight, dtype=core.wide.weight.dtype))
        head.weight.zero_()
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))


def _logits(lin, *, task: str, out_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(out_dim, d) weights and (out_dim,) biases whose outputs equal the fitted linear model's."""
    coef, intercept = np.atleast_2d(lin.coef_), np.atleast_1d(lin.intercept_)
    if task != "classification":
        return coef, intercept
    if len(lin.classes_) == 2 and coef.shape[0] == 1:
        # binary: scikit-learn keeps one logit z for class 1; softmax over (-z/2, z/2) is sigmoid(z)
        pos, neg = lin.classes_[1], lin.classes_[0]
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        rows = [neg, pos]
    else:
        rows = list(lin.classes_)
    weight = np.zeros((out_dim, coef.shape[1]))
    bias = np.full(out_dim, intercept.min() - ABSENT_LOGIT)  # classes the training split lacks
    weight[rows], bias[rows] = coef, intercept
    return weight, bias


def init_wide_from_ar(model: nn.Module, prep) -> None:
    """Set a forecasting network's wide path to the AR baseline's fit and its deep head to 0, in place: the
    untrained network's forecasts then equal `ar` in `summary["baselines"]` (tasks/forecasting.py).

    Written by hand rather than through `init_wide_from_linear`: that fits RidgeCV on every input channel
    (standardized), which is another model than the AR baseline (the target's raw lags only, plain least
    squares). With extra columns (macrodata's realgdp beside realcons, realinv ...) the ridge fit started the
    network 37% above AR's validation error. Here the AR coefficients are mapped through the scalings instead:
    x_s = (x - m) / s per column, ŷ = o · t_std + t_mean, so o_h = Σ_j a_jh s/t_std · x_s[target, j]
    + (m Σ_j a_jh + b_h - t_mean) / t_std, and every other channel's weight is 0.

    Args:
        model: a built MLP, CNN or RNN on series windows whose last module is a `WideDeep`.
        prep: the run's `Prepared` (its dataset, indices, state["series"] and state["target"]).
    """
    from idealfit.models.mlp import WideDeep
    from idealfit.tasks.forecasting import ar_coefficients

    core = model[-1]
    if not isinstance(core, WideDeep):
        raise UserError("model.wide_init=linear starts the wide path at the AR fit; add model.wide=true")
    coef = ar_coefficients(prep.dataset, prep.indices)  # (window + 1, horizon): lags, then the intercept
    lags, intercept = coef[:-1], coef[-1]
    series, target = prep.state["series"], prep.state["target"]
    m, s = series["mean"][0], series["std"][0]
    weight = np.zeros((core.wide.out_features, core.wide.in_features))
    weight[:, : len(lags)] = (lags * s / target["std"]).T  # the target is channel 0: features 0 ... window-1
    bias = (m * lags.sum(0) + intercept - target["mean"]) / target["std"]
    head = [mod for mod in core.deep.modules() if isinstance(mod, nn.Linear)][-1]
    with torch.no_grad():
        core.wide.weight.copy_(torch.as_tensor(weight, dtype=core.wide.weight.dtype))
        head.weight.zero_()
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))
