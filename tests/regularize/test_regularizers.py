"""L1/L2 penalties against a hand computation of the deck's λ/2 · Σ|W| (and λ/2 · Σ W²)."""

import pytest
import torch
from torch import nn

from idealfit.errors import UserError
from idealfit.train.regularizers import L1, L2, build_regularizers, penalty_parameters, weight_sparsity


@pytest.fixture
def model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    with torch.no_grad():  # make BN's parameters non-trivial so that including them changes the sum
        net[1].weight.uniform_(0.5, 2.0)
        net[1].bias.uniform_(-1.0, 1.0)
    return net


def _hand(model, power, *, bias, norm):
    lin1, bn, lin2 = model
    tensors = [lin1.weight, lin2.weight]
    if bias:
        tensors += [lin1.bias, lin2.bias]
    if norm:
        tensors += [bn.weight] + ([bn.bias] if bias else [])
    return sum(float((t.detach().abs() ** power).sum()) for t in tensors)


@pytest.mark.parametrize(("bias", "norm"), [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize(("cls", "power"), [(L1, 1), (L2, 2)])
def test_penalty_equals_hand_computation(model, cls, power, bias, norm):
    lam = 0.3
    got = cls(lam, include_bias=bias, include_norm=norm)(model)
    assert got.ndim == 0
    assert got.item() == pytest.approx(lam / 2 * _hand(model, power, bias=bias, norm=norm), rel=1e-6)


def test_penalty_parameters_walks_modules(model):
    lin1, bn, lin2 = model
    ids = lambda ps: [id(p) for p in ps]  # noqa: E731
    assert ids(penalty_parameters(model)) == ids([lin1.weight, lin2.weight])
    assert ids(penalty_parameters(model, include_bias=True)) == ids(
        [lin1.weight, lin1.bias, lin2.weight, lin2.bias]
    )
    assert ids(penalty_parameters(model, include_norm=True)) == ids([lin1.weight, bn.weight, lin2.weight])


def test_penalty_parameters_other_layers():
    ln, gn = nn.LayerNorm(3), nn.GroupNorm(1, 3)
    rnn = nn.RNN(3, 3)
    tied = nn.Linear(3, 3)
    net = nn.ModuleList([ln, gn, rnn, tied, nn.Sequential(tied)])  # `tied` appears twice
    got = {id(p) for p in penalty_parameters(net)}
    assert got == {id(rnn.weight_ih_l0), id(rnn.weight_hh_l0), id(tied.weight)}
    assert len(penalty_parameters(net)) == 3


def test_l1_gradient_is_half_lambda_sign(model):
    lam = 0.4
    L1(lam)(model).backward()
    w = model[0].weight
    torch.testing.assert_close(w.grad, lam / 2 * torch.sign(w.detach()))
    assert model[0].bias.grad is None and model[1].weight.grad is None  # not penalised by default


def test_l2_gradient_is_lambda_w(model):
    lam = 0.4
    L2(lam)(model).backward()
    w = model[2].weight
    torch.testing.assert_close(w.grad, lam * w.detach())


def test_no_weights_gives_zero():
    assert float(L1(1.0)(nn.ReLU())) == 0.0
    assert weight_sparsity(nn.ReLU()) == 0.0


def test_get_config_round_trips():
    reg = L1(0.01, include_bias=True)
    cfg = reg.get_config()
    assert cfg == {"name": "l1", "lam": 0.01, "include_bias": True, "include_norm": False}
    rebuilt = L1(**{k: v for k, v in cfg.items() if k != "name"})
    assert rebuilt.get_config() == cfg
    assert L2(0.5).get_config()["name"] == "l2"


def test_weight_sparsity_counts_small_weights(model):
    with torch.no_grad():
        model[0].weight.zero_()  # 12 of the 18 weights (4*3 + 3*2)
        model[0].bias.fill_(5.0)
    assert weight_sparsity(model) == pytest.approx(12 / 18)
    assert weight_sparsity(model, include_bias=True) == pytest.approx(12 / (18 + 3 + 2))
    assert weight_sparsity(model, threshold=100.0) == 1.0


def test_build_regularizers():
    assert build_regularizers(0.0, 0.0) == []
    regs = build_regularizers(l1=1e-3, l2=2e-3)
    assert [type(r) for r in regs] == [L1, L2] and [r.lam for r in regs] == [1e-3, 2e-3]
    assert [type(r) for r in build_regularizers(l1=0.0, l2=1e-3)] == [L2]


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_bad_lambda(bad):
    with pytest.raises(UserError, match="λ"):
        build_regularizers(l1=bad)
    with pytest.raises(UserError, match="λ"):
        L2(bad)
    with pytest.raises(UserError, match="threshold"):
        weight_sparsity(nn.Linear(2, 2), threshold=-1.0)


def _fit_sparse_problem(reg):
    """200 plain SGD steps on y = 2 x0 - 3 x1 + 1.5 x2 + noise with 17 useless features."""
    torch.manual_seed(0)
    X = torch.randn(200, 20)
    w_true = torch.zeros(20)
    w_true[:3] = torch.tensor([2.0, -3.0, 1.5])
    y = X @ w_true + 0.5 * torch.randn(200)
    model = nn.Linear(20, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = ((model(X).squeeze(1) - y) ** 2).mean()
        if reg is not None:
            loss = loss + reg(model)
        loss.backward()
        opt.step()
    return model


def test_l1_leads_to_sparser_weights():
    """The deck: "L1 leads to sparser weights (more zeroes in weights)"."""
    plain = _fit_sparse_problem(None)
    sparse = _fit_sparse_problem(L1(0.2))
    # SGD's subgradient steps leave the zeroed weights jittering by ~lr·λ/2 = 0.005, hence 1e-2
    assert weight_sparsity(sparse, threshold=1e-2) > weight_sparsity(plain, threshold=1e-2) + 0.4
    assert (sparse.weight[0, :3].abs() > 1.0).all()  # the informative weights survive
