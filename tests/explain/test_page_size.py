"""The explainer page's size: a big dense layer at float16 only where the page still agrees with PyTorch, the
gallery's byte budget, and the Python replica of the page's forward pass that decides it (checked against torch)."""

import base64

import numpy as np
import torch
from torch import nn

from idealfit.explain import page_size
from idealfit.explain.page import page_data
from idealfit.explain.page_layers import page_layers
from idealfit.explain.page_size import layers_forward, size_note, trim_gallery
from idealfit.models.blocks import Normalize


def _big_dense(scale: float = 1.0) -> tuple[nn.Module, np.ndarray]:
    """Flatten 20×20 -> dense 400→200 (80,000 weights, above HALF_MIN) + batch norm -> ReLU -> dense 200→3."""
    torch.manual_seed(0)
    big = nn.Linear(400, 200)
    with torch.no_grad():
        big.weight.mul_(scale)
    bn = nn.BatchNorm1d(200).eval()
    with torch.no_grad():
        bn.running_var.uniform_(0.5, 2.0)
    model = nn.Sequential(Normalize([0.3], [0.5]), nn.Flatten(), big, bn, nn.ReLU(), nn.Linear(200, 3)).eval()
    return model, np.random.default_rng(0).random((4, 1, 20, 20)).astype(np.float32)


def _page(model, x):
    examples = [{"name": f"x{i}", "group": "correct", "true": 0} for i in range(len(x))]
    return page_data(model, x, labels=["a", "b", "c"], examples=examples, draw=None, title="t")


def test_a_big_dense_layer_travels_as_float16_and_still_gives_pytorchs_numbers():
    model, x = _big_dense()
    data = _page(model, x)
    big, small = [layer for layer in data["layers"] if layer["kind"] == "dense"]
    assert "w16" in big and "w" not in big and "w" in small and "w16" not in small  # 600 weights: float32
    w32 = np.frombuffer(base64.b64decode(page_layers(model)[2]["w"]), "<f4")
    w16 = np.frombuffer(base64.b64decode(big["w16"]), "<f2")
    assert np.array_equal(w16, w32.astype("<f2"))  # the folded weights, rounded once
    assert len(big["w16"]) < 0.51 * len(page_layers(model)[2]["w"])
    probs = np.array([e["probs"] for e in data["examples"]])
    assert np.abs(layers_forward(data["layers"], x) - probs).max() <= page_size.HALF_TOL
    assert "layer 2's 400→200 dense weights as float16" in data["note"]


def test_weights_float16_cannot_hold_stay_float32(monkeypatch):
    model, x = _big_dense(scale=1e6)  # beyond float16's largest value, 65504
    data = _page(model, x)
    assert "w" in data["layers"][2] and "w16" not in data["layers"][2] and "float16" not in data["note"]
    model, x = _big_dense()
    monkeypatch.setattr(page_size, "HALF_TOL", 1e-6)  # rounding this layer moves a probability by 1.9e-5
    data = _page(model, x)
    assert "w" in data["layers"][2] and "w16" not in data["layers"][2]


def test_the_python_replica_of_the_page_forward_pass_matches_torch():
    """Every operation layers_forward runs (the page's own list), against the torch model, float32 weights."""
    torch.manual_seed(3)
    model = nn.Sequential(
        Normalize([0.2, -0.1], [1.5, 0.7]), nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ELU(0.7),
        nn.Conv2d(4, 3, 3, padding=2), nn.LeakyReLU(0.2), nn.AvgPool2d(2), nn.Tanh(), nn.MaxPool2d(2, stride=1),
        nn.Flatten(), nn.LazyLinear(6), nn.Sigmoid(), nn.Linear(6, 3)).eval()
    x = torch.randn(5, 2, 12, 10)
    with torch.no_grad():
        want = torch.softmax(model(x).double(), dim=1).numpy()
    assert np.abs(layers_forward(page_layers(model), x.numpy()) - want).max() < 1e-6
    conv1d = nn.Sequential(nn.Conv1d(1, 2, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                           nn.Linear(12, 3)).eval()
    s = torch.randn(2, 1, 12)
    with torch.no_grad():
        want = torch.softmax(conv1d(s).double(), dim=1).numpy()
    assert np.abs(layers_forward(page_layers(conv1d), s.numpy()) - want).max() < 1e-6


def test_the_gallery_keeps_to_its_byte_budget_in_proportion():
    chosen = [(i, "correct") for i in range(10)] + [(10 + i, "wrong") for i in range(5)]
    assert trim_gallery(chosen, per_example=100) == chosen  # digits-sized inputs: all kept
    kept = trim_gallery(chosen, per_example=page_size.EXAMPLE_BUDGET // 6)
    assert kept == chosen[:4] + chosen[10:12]  # 6 fit: 2 wrong (5/15 of 6), the best-ranked of each group
    assert trim_gallery(chosen, per_example=10**9) == [chosen[0], chosen[10]]  # never below one of each
    assert trim_gallery(chosen[:10], per_example=10**9) == chosen[:2]


def test_size_note_names_the_biggest_parts_only_above_the_threshold():
    model, x = _big_dense()
    data = _page(model, x)
    assert size_note(data, page_size.NOTE_ABOVE) is None
    note = size_note(data, 3_000_000)
    assert note.startswith("note: the page is 3.0 MB (above 2 MB): mostly layer 2's 400→200 dense weights "
                           "(float16) 0.2 MB, the 4 example inputs 0.0 MB")
    assert "data.image_size" in note


def test_without_examples_to_check_on_the_weights_stay_float32():
    model, x = _big_dense()
    layers = page_layers(model)
    assert page_size.halve_big_dense(layers, x[:0], np.zeros((0, 3))) == [] and "w" in layers[2]
