"""Initialisation schemes against their theoretical variances and bounds."""

import math

import pytest
import torch
from torch import nn

from idealfit.errors import UserError
from idealfit.models.init import INIT_SCHEMES, init_weights

FAN_IN, FAN_OUT = 1000, 400  # a large Linear: 400k weights, so the sample variance is within ~0.5%


def _linear():
    torch.manual_seed(0)
    return nn.Linear(FAN_IN, FAN_OUT)


# scheme -> (variance, uniform bound or None) for FAN_IN, FAN_OUT and ReLU
EXPECTED = {
    "glorot_uniform": (2 / (FAN_IN + FAN_OUT), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "glorot_normal": (2 / (FAN_IN + FAN_OUT), None),
    "he_uniform": (2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    "he_normal": (2 / FAN_IN, None),
}


@pytest.mark.parametrize("scheme", list(EXPECTED))
def test_variance_and_bound_match_theory(scheme):
    layer = init_weights(_linear(), scheme)
    w = layer.weight.detach()
    var, bound = EXPECTED[scheme]
    assert float(w.var()) == pytest.approx(var, rel=0.02)
    assert abs(float(w.mean())) < 0.01 * math.sqrt(var)
    if bound is not None:
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.99 * bound  # really uniform on the full range
    else:
        assert float(w.abs().max()) > 3.5 * math.sqrt(var)  # normal tails, beyond any uniform's bound
    assert torch.equal(layer.bias, torch.zeros(FAN_OUT))


def test_he_uses_the_nonlinearity():
    w_tanh = init_weights(_linear(), "he_normal", nonlinearity="tanh").weight.detach()
    assert float(w_tanh.var()) == pytest.approx((5 / 3) ** 2 / FAN_IN, rel=0.02)  # torch's tanh gain
    w_leaky = init_weights(_linear(), "he_normal", nonlinearity="leaky_relu").weight.detach()
    assert float(w_leaky.var()) == pytest.approx(2 / (1 + 0.01**2) / FAN_IN, rel=0.02)


def test_conv_fans_include_kernel():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 32, 3)  # fan_in = 64·9 = 576, fan_out = 32·9 = 288
    init_weights(nn.Sequential(conv), "glorot_normal")
    assert float(conv.weight.detach().var()) == pytest.approx(2 / (576 + 288), rel=0.05)
    init_weights(conv, "he_uniform")
    assert float(conv.weight.detach().var()) == pytest.approx(2 / 576, rel=0.05)
    assert torch.equal(conv.bias, torch.zeros(32))


@pytest.mark.parametrize(("n_in", "n_out"), [(60, 20), (20, 60)])
def test_orthogonal(n_in, n_out):
    w = init_weights(nn.Linear(n_in, n_out), "orthogonal").weight.detach()  # (n_out, n_in)
    gram = w @ w.T if n_out <= n_in else w.T @ w
    torch.testing.assert_close(gram, torch.eye(min(n_in, n_out)), atol=1e-5, rtol=0)


def test_orthogonal_conv_flattened():
    conv = nn.Conv1d(8, 4, 3)
    w = init_weights(conv, "orthogonal").weight.detach().reshape(4, -1)  # (4, 24)
    torch.testing.assert_close(w @ w.T, torch.eye(4), atol=1e-5, rtol=0)


def test_torch_default_changes_nothing():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    init_weights(model, "torch_default")
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_other_layers_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Embedding(5, 4))
    norm_w, emb_w = model[1].weight.clone(), model[2].weight.clone()
    init_weights(model, "glorot_uniform")
    assert torch.equal(model[1].weight, norm_w) and torch.equal(model[2].weight, emb_w)


@pytest.mark.parametrize(
    ("scheme", "match"),
    [
        ("he_uniforn", r"did you mean 'he_uniform'"),
        ("xavier_normal", r"did you mean 'glorot_normal'\? Glorot is Xavier"),
        ("zeros", r"valid: glorot_uniform, glorot_normal, he_uniform, he_normal, orthogonal, torch_default"),
    ],
)
def test_unknown_scheme(scheme, match):
    with pytest.raises(UserError, match=match):
        init_weights(nn.Linear(2, 2), scheme)


def test_unknown_nonlinearity_and_lazy_layer():
    with pytest.raises(UserError, match="nonlinearity"):
        init_weights(nn.Linear(2, 2), "he_normal", nonlinearity="swish")
    with pytest.raises(UserError, match="forward pass"):
        init_weights(nn.LazyLinear(2), "he_normal")


def test_schemes_tuple():
    assert INIT_SCHEMES == (
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "orthogonal",
        "torch_default",
    )
