"""models/rnn._padded: the numbers of packed sequences, computed on the padded batch (the path ONNX export traces)."""

import pytest
import torch
from torch import nn

from idealfit.export import exportable
from idealfit.models.rnn import RecurrentNet, TextTableNet, TokenRecurrentNet


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_path_gives_the_packed_outputs(cell, bidirectional):
    torch.manual_seed(0)
    width = 5 * (2 if bidirectional else 1)
    net = RecurrentNet(4, cell=cell, hidden_size=5, layers=2, bidirectional=bidirectional, dropout=0.3,
                       head=[nn.Linear(width, 3)])
    model = TokenRecurrentNet(12, 4, pad_id=0, net=net).eval()
    ids = torch.tensor([[2, 3, 4, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 0, 0]])
    twin = exportable(model)
    assert twin is not model and not model.net.padded and twin.net.padded  # a copy: the run's model is untouched
    with torch.no_grad():
        packed, padded = model(ids), twin(ids)
        # more padding changes nothing on the padded path either (the graph pads to data.max_length)
        longer = twin(torch.cat([ids, torch.zeros(4, 9, dtype=torch.long)], dim=1))
    torch.testing.assert_close(padded, packed, rtol=0, atol=1e-6)
    torch.testing.assert_close(longer, packed, rtol=0, atol=1e-6)


def test_padded_path_on_signals_and_beside_table_features():
    torch.manual_seed(1)
    net = RecurrentNet(2, cell="gru", hidden_size=6, layers=1, bidirectional=True, dropout=0.0, head=[nn.Linear(12, 2)])
    x = torch.randn(3, 2, 9)  # (B, C, L) signals: every step is real
    with torch.no_grad():
        torch.testing.assert_close(exportable(net.eval())(x), net(x), rtol=0, atol=1e-6)
    rnn = RecurrentNet(4, cell="lstm", hidden_size=6, layers=2, bidirectional=True, dropout=0.0, head=[])
    mixed = TextTableNet(2, TokenRecurrentNet(9, 4, pad_id=0, net=rnn), head=[nn.Linear(12 + 2, 3)]).eval()
    x = torch.tensor([[0.5, -1.0, 3, 4, 0, 0], [2.0, 1.0, 8, 7, 6, 5]])
    with torch.no_grad():
        torch.testing.assert_close(exportable(mixed)(x), mixed(x), rtol=0, atol=1e-6)
