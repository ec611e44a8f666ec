"""model.block_convs: the cnn family's blocks of several convolutions (airbench94's ConvGroup at 2)."""

import pytest
import torch
from torch import nn

from idealfit.config import resolve
from idealfit.errors import UserError
from idealfit.models.build import build_model


def _cnn(**keys):
    cfg = resolve(overrides={"model.name": "cnn", **{f"model.{k}": v for k, v in keys.items()}}).model
    torch.manual_seed(0)
    return build_model(cfg, input_shape=(3, 16, 16), out_dim=10)


def test_one_conv_per_block_is_unchanged():
    kinds = [type(m) for m in _cnn(widths=[8], hidden=[]) if not isinstance(m, nn.Identity)]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Linear]


class ConvGroup(nn.Module):
    """airbench94.py's ConvGroup, written out as there (with conv biases, as idealfit's convolutions have)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.pool, self.norm1 = nn.Conv2d(cin, cout, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(cout)
        self.conv2, self.norm2, self.activ = nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


def test_two_convs_per_block_compute_airbench_conv_groups():
    net = _cnn(widths=[8, 16], hidden=[], block_convs=2, activation="gelu")
    ref = nn.Sequential(ConvGroup(3, 8), ConvGroup(8, 16), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    ours = [p for p in net.parameters()]
    theirs = [p for p in ref.parameters()]
    assert [p.shape for p in ours] == [p.shape for p in theirs]
    with torch.no_grad():
        for a, b in zip(theirs, ours, strict=True):
            a.copy_(b)
    x = torch.rand(4, 3, 16, 16)
    assert torch.allclose(net(x), ref(x), atol=1e-6)  # training mode: batch statistics after the pooling


def test_block_convs_is_checked():
    with pytest.raises(UserError, match="model.block_convs must be a whole number from 1 to 8"):
        resolve(overrides={"model.block_convs": 0})
