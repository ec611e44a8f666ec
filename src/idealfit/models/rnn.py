"""Recurrent networks (the deck's RNN, LSTM and GRU cells): a stack of recurrent layers, then a dense head.

A signal (C, L) is read as L time steps of C features. The head sees the last layer's final hidden state
(both directions' when bidirectional): the summary of the whole sequence, however long it is.

Variable-length batches (text, speech) pass `lengths`: the padded batch is packed
(`torch.nn.utils.rnn.pack_padded_sequence`), so each sequence's final state is taken at its own last real
step and no padding is ever read; tests/models/test_rnn.py checks that packed and padded batches agree.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from idealfit.config import ModelConfig
from idealfit.errors import UserError
from idealfit.models.mlp import dense_stack

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentNet(nn.Module):
    """Recurrent layers over the time steps, then `head` on the final hidden state.

    Args:
        features: inputs per time step (C of a (B, C, L) signal).
        cell: rnn (Elman, tanh) | lstm | gru.
        hidden_size: units of each recurrent layer (per direction).
        layers: stacked recurrent layers.
        bidirectional: also read each sequence backwards; the head sees both final states.
        dropout: between recurrent layers (torch's `dropout`; none after the last one, which the head's
            own dropout covers).
        head: modules applied to the (B, directions · hidden_size) final state, ending in the outputs.

    Example:
        >>> net = RecurrentNet(1, cell="gru", hidden_size=8, layers=1, bidirectional=False, dropout=0.0,
        ...                    head=[nn.Linear(8, 3)])
        >>> net(torch.zeros(2, 1, 40)).shape
        torch.Size([2, 3])
    """

    def __init__(self, features: int, *, cell: str, hidden_size: int, layers: int, bidirectional: bool,
                 dropout: float, head: list[nn.Module]):
        super().__init__()
        self.cell = cell
        self.rnn = CELLS[cell](features, hidden_size, num_layers=layers, batch_first=True,
                               bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, L) -> (B, out). `lengths`: (B,) real steps of each sequence (the rest is padding), or None."""
        seq = x.transpose(1, 2)  # (B, L, C): batch_first time steps
        if lengths is not None:
            seq = pack_padded_sequence(seq, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.rnn(seq)  # h: (layers · directions, B, H); an LSTM also returns its cell state
        if self.cell == "lstm":
            h = h[0]
        directions = 2 if self.rnn.bidirectional else 1
        last = h[-directions:]  # (directions, B, H): the top layer, forward then backward
        return self.head(last.transpose(0, 1).reshape(x.shape[0], -1))  # (B, directions · H) -> (B, out)


def build_rnn(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """A recurrent network over the time steps of a signal (C, L), then the dense head (`model.hidden`).

    A spectrogram (1, mels, frames) is read as frames time steps of mels features (one Flatten in front)."""
    if len(input_shape) == 3 and input_shape[0] == 1:
        return [nn.Flatten(1, 2), *build_rnn(tuple(input_shape[1:]), out_dim, cfg)]  # (B, 1, M, T) -> (B, M, T)
    if len(input_shape) != 2:
        raise UserError(f"model.name=rnn needs sequences (C features, L time steps); this data has shape "
                        f"{tuple(input_shape)}: use model.name=mlp or cnn")
    directions = 2 if cfg.bidirectional else 1
    head = dense_stack(directions * cfg.hidden_size, out_dim, cfg)
    return [RecurrentNet(input_shape[0], cell=cfg.cell, hidden_size=cfg.hidden_size, layers=cfg.layers,
                         bidirectional=cfg.bidirectional, dropout=cfg.dropout, head=head)]


class TokenRecurrentNet(nn.Module):
    """Text: token ids through a learned embedding, then a `RecurrentNet` that reads each text's real tokens only.

    Takes one tensor, so it sits in the `nn.Sequential` that `build_model` returns like any other family: the
    lengths come from the padding itself (ids are padded with `pad_id` at the end, data/text.py), each batch
    is trimmed to its longest text, and `RecurrentNet` packs the sequences, so padding is never learned from.

    Args:
        vocab_size: ids 0 .. vocab_size - 1 (the vocabulary, with <pad> and <unk>).
        embed_dim: size of each token's vector (`model.embed_dim`).
        pad_id: the padding id; its embedding is fixed at 0 (`padding_idx`).
        net: the recurrent network, built for `embed_dim` features per step.

    Example:
        >>> head = [nn.Linear(8, 3)]
        >>> rnn = RecurrentNet(4, cell="gru", hidden_size=8, layers=1, bidirectional=False, dropout=0.0, head=head)
        >>> TokenRecurrentNet(10, 4, pad_id=0, net=rnn)(torch.tensor([[2, 3, 0], [4, 0, 0]])).shape
        torch.Size([2, 3])
    """

    def __init__(self, vocab_size: int, embed_dim: int, *, pad_id: int, net: RecurrentNet):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.net = net

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids padded at the end -> (B, out)."""
        if ids.is_floating_point():  # the dummy batches of the model summary and the thread probe: read as ids
            ids = ids.abs().long().clamp(max=self.embed.num_embeddings - 1)
        lengths = (ids != self.pad_id).sum(1).clamp(min=1)  # (B,); an empty text reads one <pad> step (zeros)
        ids = ids[:, : int(lengths.max())]  # padded per batch: only as long as its longest text
        return self.net(self.embed(ids).transpose(1, 2), lengths)  # (B, E, L) with lengths
