"""The rnn family on token ids: padding is never learned from, and the model is built from the fitted vocabulary."""

import torch
from torch import nn

from idealfit.config import ModelConfig
from idealfit.models.build import build_model
from idealfit.models.rnn import RecurrentNet, TokenRecurrentNet


def _net(bidirectional=False):
    torch.manual_seed(0)
    rnn = RecurrentNet(4, cell="gru", hidden_size=5, layers=2, bidirectional=bidirectional, dropout=0.0,
                       head=[nn.Linear(10 if bidirectional else 5, 3)])
    return TokenRecurrentNet(9, 4, pad_id=0, net=rnn).eval()


def test_padding_changes_nothing_and_each_text_reads_alone():
    for bidirectional in (False, True):
        net = _net(bidirectional)
        ids = torch.tensor([[3, 4, 5, 0, 0], [6, 0, 0, 0, 0], [2, 2, 7, 8, 1]])
        with torch.no_grad():
            out = net(ids)
            assert torch.allclose(out, net(torch.cat([ids, torch.zeros(3, 4, dtype=torch.long)], 1)), atol=1e-6)
            for i, n in enumerate((3, 1, 5)):  # the same as the unpadded text alone, through embedding + RNN
                alone = net.net(net.embed(ids[i : i + 1, :n]).transpose(1, 2))
                assert torch.allclose(out[i], alone[0], atol=1e-6)


def test_the_padding_embedding_stays_zero_and_gets_no_gradient():
    net = _net().train()
    net(torch.tensor([[3, 4, 0], [5, 0, 0]])).sum().backward()
    assert torch.all(net.embed.weight[0] == 0) and torch.all(net.embed.weight.grad[0] == 0)


def test_build_model_puts_the_embedding_in_front_for_text():
    cfg = ModelConfig(name="rnn", embed_dim=6, hidden_size=7, layers=1, hidden=[])
    model = build_model(cfg, input_shape=(12,), out_dim=4, norm={"vocab_size": 20, "pad_id": 0})
    core = model[0]
    assert isinstance(core, TokenRecurrentNet) and core.embed.weight.shape == (20, 6)
    assert core.net.rnn.input_size == 6 and core.net.rnn.hidden_size == 7
    assert model(torch.tensor([[1, 2, 3, 0]])).shape == (1, 4)
    assert model(torch.zeros(2, 12)).shape == (2, 4)  # the summary's dummy batch (all padding)


def test_the_model_table_shows_a_whole_texts_shapes_not_one_tokens():
    from idealfit.models.summary import layer_table

    cfg = ModelConfig(name="rnn", hidden_size=16)
    model = build_model(cfg, input_shape=(12,), out_dim=4, norm={"vocab_size": 20, "pad_id": 0})
    shapes = {kind: shape for _, kind, shape, _ in layer_table(model, (12,))}
    assert shapes["Embedding"][0] == 12 and shapes["GRU"] == (12, 16)  # an all-padding dummy read as 1 token
