"""Forecast the change from the last value seen, from the window's differences (`data.difference=true`).

A network that reads levels meets, on a trending series, test windows whose values lie beyond every training
value (macrodata's realgdp: the test quarters are above the whole training part); its deep path then
extrapolates from inputs it never saw. Differencing (the "I" of ARIMA) keeps its inputs and targets in the
range training saw: the network reads the window's steps x_t - x_(t-1) (every channel, standardized on the
training samples) and forecasts ŷ_(t+h) - y_t, and the last value y_t is added back.

Written as a wrapper around the family's network, not as a data transform: the wrapped model still maps the
standardized window to standardized level forecasts, so the loss, the metrics, the baselines (on the levels),
predict, the report and the ONNX graph are those of any forecasting run. With `model.wide_init=linear` its
linear path starts at the AR fit on the differences (`init_wide_from_ar_differences`): an ARIMA(window-1, 1, 0)
by least squares, one model per step ahead; the network's untrained forecasts are that model's.

Measured (benchmarks/forecasting.py --seeds 10, 1 thread, 2026-11-28, a shared 2-core CPU at load 6-13; test MAE /
the AR baseline's, mean over seeds 0-9, seeds at or below AR), the default mlp on levels -> on differences:
macrodata realgdp 1.225 (1) -> 1.016 (4) (the rnn: 1.068 -> 0.980), sunspots 0.976 (7) -> 0.947 (10), co2 0.994
(8) -> 0.994 (7), elnino 0.927 (10) -> 0.959 (10). Better on the trending realgdp and on sunspots, worse on elnino:
an option (the diagnosis names it for a trend), not the default.

Example:
    >>> net = Differenced(nn.Sequential(nn.Flatten(), nn.Linear(2 * 4, 3)), channels=2, horizon=3)
    >>> net(torch.zeros(5, 2, 5)).shape  # (B, C, window) -> (B, horizon); the inner network sees (B, 2, 4)
    torch.Size([5, 3])
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from idealfit.errors import UserError


class Differenced(nn.Module):
    """out = inner(standardized differences of x) · scale + gain · x[:, 0, -1] + shift.

    The buffers are set from the training split by `fit_difference` (and restored from a checkpoint):
        diff_mean, diff_std: (C,) mean and std of each channel's steps x_t - x_(t-1) (standardized units)
        gain: () the target's level std / the targets' std: the last value in the targets' units
        scale, shift: (horizon,) the changes' std, and the changes' mean plus the level offset, in those units

    Args:
        inner: the family's network for (C, window - 1) differences -> (horizon,) standardized changes.
        channels: C, the series' columns (the target first). horizon: steps forecast.
    """

    def __init__(self, inner: nn.Module, *, channels: int, horizon: int):
        super().__init__()
        self.inner = inner
        self.register_buffer("diff_mean", torch.zeros(channels))
        self.register_buffer("diff_std", torch.ones(channels))
        self.register_buffer("gain", torch.ones(()))
        self.register_buffer("scale", torch.ones(horizon))
        self.register_buffer("shift", torch.zeros(horizon))

    def differences(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) standardized levels -> (B, C, L - 1) standardized differences: what `inner` reads."""
        return (x[:, :, 1:] - x[:, :, :-1] - self.diff_mean[:, None]) / self.diff_std[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, L) -> (B, horizon)
        return self.inner(self.differences(x)) * self.scale + self.gain * x[:, 0, -1:] + self.shift


def fit_difference(model: nn.Sequential, prep) -> None:
    """Set the `Differenced` wrapper's buffers (model[-1]) from the training split, in place.

    With x_s = (x - m) / s per channel and the targets' o = (y - t_mean) / t_std, a forecast y_t + Δ with the
    change Δ = z · c_std + c_mean (z: the inner network's output) is o = (s / t_std) · x_s[0, -1]
    + (m - t_mean + c_mean) / t_std + z · c_std / t_std.
    """
    core = model[-1]
    x = prep.x["train"].astype(np.float64)  # (N, C, L) standardized
    steps = np.diff(x, axis=2)  # (N, C, L - 1)
    d_std = steps.std(axis=(0, 2))
    ds, train = prep.dataset, prep.indices["train"]
    change = ds.y[train].astype(np.float64) - ds.x[train][:, 0, -1:].astype(np.float64)  # (N, horizon) raw
    c_std = change.std(0)
    series, target = prep.state["series"], prep.state["target"]
    values = {"diff_mean": steps.mean(axis=(0, 2)), "diff_std": np.where(d_std > 0, d_std, 1.0),
              "gain": np.asarray(series["std"][0] / target["std"]),
              "scale": np.where(c_std > 0, c_std, 1.0) / target["std"],
              "shift": (series["mean"][0] - target["mean"] + change.mean(0)) / target["std"]}
    with torch.no_grad():
        for name, value in values.items():
            buf = getattr(core, name)
            buf.copy_(torch.as_tensor(value, dtype=buf.dtype).reshape(buf.shape))


def init_wide_from_ar_differences(model: nn.Sequential, prep) -> None:
    """Start the wrapped network's linear path at the AR fit on the differences (its deep head at 0), in place:
    least squares of the standardized changes on the target's standardized differences and an intercept, over
    the training samples. Call after `fit_difference`."""
    from idealfit.models.mlp import WideDeep

    core = model[-1]
    wide = core.inner[-1]
    if not isinstance(wide, WideDeep):
        raise UserError("model.wide_init=linear starts the wide path at the AR fit; add model.wide=true")
    with torch.no_grad():  # the model may already be on its device (a GPU): the fit is done on the CPU
        x = torch.as_tensor(prep.x["train"], device=core.diff_mean.device)
        feats = core.differences(x)[:, 0].double().cpu().numpy()  # (N, L - 1)
        scale, gain, shift = core.scale.double().cpu().numpy(), float(core.gain), core.shift.double().cpu().numpy()
    last = prep.x["train"][:, 0, -1:].astype(np.float64)
    z = (prep.y["train"].astype(np.float64) - gain * last - shift) / scale  # (N, horizon) standardized changes
    coef = np.linalg.lstsq(np.c_[feats, np.ones(len(feats))], z, rcond=None)[0]  # (L - 1 + 1, horizon)
    weight = np.zeros((wide.wide.out_features, wide.wide.in_features))
    weight[:, : feats.shape[1]] = coef[:-1].T  # the target is channel 0: the first L - 1 flattened features
    head = [m for m in wide.deep.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        wide.wide.weight.copy_(torch.as_tensor(weight, dtype=wide.wide.weight.dtype))
        head.weight.zero_()
        head.bias.copy_(torch.as_tensor(coef[-1], dtype=head.bias.dtype))
