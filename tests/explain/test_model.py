"""Filters, feature maps, probabilities and saliency of small CNNs built here, against direct computations."""

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from idealfit.errors import UserError
from idealfit.explain.figures import feature_maps_figure, filters_figure, saliency_figure
from idealfit.explain.model import conv_filters, explain_model, feature_maps, predict_proba, saliency


def _cnn(depth: int, in_ch: int = 1, size: int = 8, classes: int = 3) -> nn.Sequential:
    """depth x (Conv2d 3x3 -> ReLU), a MaxPool after the first, then Flatten -> Linear."""
    torch.manual_seed(depth)
    layers, ch = [], in_ch
    for i in range(depth):
        layers += [nn.Conv2d(ch, 2 + i, 3, padding=1), nn.ReLU()]
        if i == 0:
            layers.append(nn.MaxPool2d(2))
        ch = 2 + i
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(ch * (size // 2) ** 2, classes))


def _conv1d() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(2, 4, 5), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 12, 3))


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_conv_filters_are_the_layer_weights(depth):
    model = _cnn(depth)
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    filters = conv_filters(model)
    assert [n for n, _ in filters] == [n for n, _ in convs]
    for (_, w), (_, m) in zip(filters, convs, strict=True):
        assert torch.equal(w, m.weight)
        assert w.shape == (m.out_channels, m.in_channels, 3, 3)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_feature_maps_are_each_conv_and_its_relu(depth):
    model, x = _cnn(depth), torch.randn(1, 8, 8)
    maps = feature_maps(model, x)
    assert len(maps) == 2 * depth  # conv, relu per layer
    # Recompute by running the Sequential layer by layer.
    h, expected = x[None], {}
    for name, layer in model.named_children():
        h = layer(h)
        if isinstance(layer, (nn.Conv2d, nn.ReLU)):
            expected[name] = h[0].detach()
    assert [n for n, _ in maps] == list(expected)
    for name, m in maps:
        torch.testing.assert_close(m, expected[name])
    for i in range(depth):  # one map per channel: conv i has 2 + i output channels
        assert maps[2 * i][1].shape[0] == 2 + i
    assert maps[0][1].shape == (2, 8, 8) and (depth == 1 or maps[2][1].shape == (3, 4, 4))
    assert _no_hooks(model)


def test_feature_maps_keep_the_batch_dimension_for_batches():
    model = _cnn(2)
    maps = feature_maps(model, torch.randn(5, 1, 8, 8))
    assert [m.shape for _, m in maps] == [(5, 2, 8, 8), (5, 2, 8, 8), (5, 3, 4, 4), (5, 3, 4, 4)]


def test_feature_maps_of_a_conv1d_model():
    maps = feature_maps(_conv1d(), torch.randn(2, 16))
    assert [(n, m.shape) for n, m in maps] == [("0", (4, 12)), ("1", (4, 12))]


def test_hooks_are_removed_even_when_the_forward_fails():
    model = _cnn(2)
    with pytest.raises(RuntimeError):
        feature_maps(model, torch.randn(3, 8, 8))  # 3 channels for a 1-channel conv
    assert _no_hooks(model)


def test_only_the_activation_right_after_a_conv_is_kept():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 36, 4), nn.ReLU())
    assert [n for n, _ in feature_maps(model, torch.randn(1, 8, 8))] == ["0", "1"]


def test_the_activation_after_batch_norm_counts_but_one_after_a_linear_does_not():
    torch.manual_seed(0)
    conv_bn_relu = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(72, 2)
    )
    assert [n for n, _ in feature_maps(conv_bn_relu, torch.randn(1, 8, 8))] == ["0", "2"]
    conv_only = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 4), nn.ReLU(), nn.Linear(4, 2))
    assert [n for n, _ in feature_maps(conv_only, torch.randn(1, 8, 8))] == ["0"]


def test_a_model_without_conv_layers_has_no_filters_or_maps():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    assert conv_filters(mlp) == []
    with pytest.raises(UserError, match="no Conv1d/Conv2d"):
        feature_maps(mlp, torch.randn(1, 4, 4))


def test_predict_proba_is_the_softmax_of_the_logits():
    model, x = _cnn(2), torch.randn(4, 1, 8, 8)
    probs = predict_proba(model, x)
    torch.testing.assert_close(probs, torch.softmax(model(x), dim=-1))
    torch.testing.assert_close(predict_proba(model, x[0]), probs[0])
    with pytest.raises(UserError, match="input has shape"):
        predict_proba(model, torch.randn(8, 8))


@pytest.mark.parametrize("model,x", [(_cnn(1), torch.randn(1, 8, 8)), (_cnn(3), torch.randn(1, 8, 8)),
                                     (_conv1d(), torch.randn(2, 16))])  # fmt: skip
def test_saliency_is_the_input_gradient_of_the_class_score(model, x):
    model.train()
    for p in model.parameters():
        p.grad = None
    sal = saliency(model, x, target=1)
    assert sal.shape == x.shape
    assert float(sal.abs().sum()) > 0
    xr = x[None].clone().requires_grad_(True)
    model(xr)[0, 1].backward()
    torch.testing.assert_close(sal, xr.grad[0].abs())
    assert not model.training  # left in eval mode


def test_saliency_leaves_parameter_grads_alone_and_uses_the_target():
    model, x = _cnn(2), torch.randn(3, 1, 8, 8)
    for p in model.parameters():
        p.grad = torch.randn_like(p)  # as if mid-training: saliency must not add to these
    before = [p.grad.clone() for p in model.parameters()]
    default = saliency(model, x)
    assert all(torch.equal(p.grad, b) for p, b in zip(model.parameters(), before, strict=True))
    predicted = predict_proba(model, x).argmax(dim=-1)
    torch.testing.assert_close(default, saliency(model, x, target=predicted))
    assert not torch.allclose(saliency(model, x, target=0), saliency(model, x, target=2))
    with pytest.raises(UserError, match="out of range"):
        saliency(model, x, target=7)
    with pytest.raises(UserError, match="one per input"):
        saliency(model, x, target=[0, 1])


def test_figures_are_figures():
    model, x = _cnn(2, in_ch=3), torch.randn(3, 8, 8)
    assert isinstance(filters_figure(conv_filters(model)[0][1]), Figure)  # RGB filters
    assert isinstance(filters_figure(conv_filters(model)[1][1], max_filters=2, max_inputs=1), Figure)
    assert len(feature_maps_figure(feature_maps(model, x)[0][1], max_channels=1).axes) == 1
    assert isinstance(saliency_figure(x, saliency(model, x)), Figure)
    assert isinstance(filters_figure(conv_filters(_conv1d())[0][1]), Figure)


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_model_writes_every_png(tmp_path):
    model = _cnn(1)
    written = explain_model(model, torch.randn(2, 1, 8, 8), out_dir=tmp_path / "explain",
                            class_names=["a", "b", "c"], input_names=["x.png", "y.png"])  # fmt: skip
    names = sorted(p.name for p in written.values())
    assert names == sorted(
        ["filters_first_layer.png"]  # the first (and only) conv layer, drawn once
        + [f"maps_{i}_{layer}.png" for i in (0, 1) for layer in ("0", "1")]
        + [f"{kind}_{i}.png" for kind in ("probabilities", "saliency") for i in (0, 1)]
    )
    assert all(p.parent == tmp_path / "explain" and _is_png(p) for p in written.values())
    assert "y.png: saliency" in written and "y.png: feature maps of 1 (ReLU)" in written


def test_explain_model_on_conv1d_and_bad_names(tmp_path):
    written = explain_model(_conv1d(), torch.randn(2, 16), out_dir=tmp_path)
    assert len(written) == 1 + 2 + 2  # filters (layer 0, once), maps (conv, tanh), probabilities, saliency
    with pytest.raises(UserError, match="class names"):
        explain_model(_cnn(1), torch.randn(1, 8, 8), out_dir=tmp_path, class_names=["only one"])
