"""Recurrent networks (the deck's RNN, LSTM and GRU cells): a stack of recurrent layers, then a dense head.

A signal (C, L) is read as L time steps of C features. The head sees the last layer's final hidden state
(both directions' when bidirectional): the summary of the whole sequence, however long it is. Forecasting a
series, `model.wide` adds a linear path beside it (models.mlp.WideDeep), started at the AR fit
(config.RNN_SERIES_DEFAULTS).

Variable-length batches (text, speech) pass `lengths`: each sequence's final state is taken at its own last
real step (one direction: the output there; both: the batch is packed with
`torch.nn.utils.rnn.pack_padded_sequence`), so no padding is ever learned from; tests/models/test_rnn.py
checks that padded batches agree with each sequence run alone.
A spectrogram's padded frames are exactly 0 after normalization (data/audio.py), so its lengths come from
the frames themselves (`zero_padded`): a short clip's final state is its last real frame's, not a second
of padding's.
"""

from __future__ import annotations

import math

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

    padded = False  # export.py sets it on a copy: the same numbers without packing (see `_padded`)
    zero_padded = False  # build_rnn sets it for spectrograms: trailing all-zero steps are padding

    def frame_lengths(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) -> (B,) steps up to the last one with any nonzero value (at least 1): a real frame of a
        normalized spectrogram is never all 0 (a silent one sits below the mean), padding always is."""
        steps = torch.arange(1, x.shape[2] + 1, device=x.device)  # (L,)
        return ((x != 0).any(dim=1) * steps).amax(dim=1).clamp(min=1)  # (B,)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, L) -> (B, out). `lengths`: (B,) real steps of each sequence (the rest is padding), or None."""
        seq = x.transpose(1, 2)  # (B, L, C): batch_first time steps
        if lengths is None and self.zero_padded:
            lengths = self.frame_lengths(x)
            if not self.padded and bool((lengths == x.shape[2]).all()):
                lengths = None  # no padding in this batch (spoken_digits' clips): no packing needed
        if self.padded:
            full = torch.full((x.shape[0],), seq.shape[1], device=x.device) if lengths is None else lengths
            return self.head(_padded(self.rnn, seq, full))
        if lengths is not None and not self.rnn.bidirectional:
            # One direction: the top layer's output at a sequence's last real step is the final state packing
            # gives (later steps cannot change it), and on CPU this is ~2.4x faster than a packed batch
            # (2 GRU layers of 64 over (64, 101, 40), one thread: 0.47 s a step against 1.1 s).
            out, _ = self.rnn(seq[:, : int(lengths.max())])  # (B, L', H): only as long as the longest
            last = (lengths.to(out.device) - 1).view(-1, 1, 1).expand(-1, 1, out.shape[2])  # (B, 1, H)
            return self.head(out.gather(1, last)[:, 0])  # (B, H) -> (B, out)
        if lengths is not None:  # both directions: the backward pass must start at each sequence's own end
            seq = pack_padded_sequence(seq, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.rnn(seq)  # h: (layers · directions, B, H); an LSTM also returns its cell state
        if self.cell == "lstm":
            h = h[0]
        directions = 2 if self.rnn.bidirectional else 1
        last = h[-directions:]  # (directions, B, H): the top layer, forward then backward
        return self.head(last.transpose(0, 1).reshape(x.shape[0], -1))  # (B, directions · H) -> (B, out)


_FUNCTIONS = {nn.RNN: torch.rnn_tanh, nn.GRU: torch.gru}  # and nn.LSTM: torch.lstm, with its cell state


def _one_way(rnn: nn.RNNBase, suffix: str, seq: torch.Tensor) -> torch.Tensor:
    """One layer and direction of `rnn` (its weights ending in `suffix`, e.g. "_l0_reverse") run forwards over
    `seq` (B, L, C) from a zero state -> outputs (B, L, H): the op torch.onnx exports as one ONNX RNN/GRU/LSTM node."""
    params = [getattr(rnn, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    h0 = seq.new_zeros(1, seq.shape[0], rnn.hidden_size)
    # (input, state, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    if isinstance(rnn, nn.LSTM):
        return torch.lstm(seq, (h0, h0), params, True, 1, 0.0, False, False, True)[0]
    return _FUNCTIONS[type(rnn)](seq, h0, params, True, 1, 0.0, False, False, True)[0]


def _padded(rnn: nn.RNNBase, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The top layer's final state (B, directions · H) of `rnn` (eval mode) over `seq` (B, L, C) padded at the
    end, sequence b real for its first lengths[b] steps: what packing computes, without a PackedSequence or a
    shape that depends on the data, so torch.onnx.export traces it (export of text runs, export.py).

    Forwards, padding comes after the real steps, so the state at step lengths - 1 is the final one. Backwards,
    each sequence is reversed within its own length (padding stays at the end), run forwards, and reversed back.
    tests/models/test_rnn_export.py checks it against the packed forward.
    """
    b, steps, _ = seq.shape
    t = torch.arange(steps, device=seq.device)[None, :]  # (1, L)
    last = (lengths - 1)[:, None]  # (B, 1)
    flip = torch.where(t <= last, last - t, t)  # (B, L): the within-length reversal (its own inverse)
    at = lambda out, idx: torch.gather(out, 1, idx[:, :, None].expand(-1, -1, out.shape[2]))  # noqa: E731
    inp, finals = seq, []
    for layer in range(rnn.num_layers):  # dropout between layers is off in eval mode
        fwd = _one_way(rnn, f"_l{layer}", inp)  # (B, L, H)
        outs, finals = [fwd], [at(fwd, last)[:, 0]]
        if rnn.bidirectional:
            rev = _one_way(rnn, f"_l{layer}_reverse", at(inp, flip))  # step k of sequence b: its step len-1-k
            outs.append(at(rev, flip))
            finals.append(at(rev, last)[:, 0])  # the backward pass ends at step 0, after all real steps
        inp = torch.cat(outs, dim=2)  # (B, L, directions · H): the next layer's input
    return torch.cat(finals, dim=1)  # (B, directions · H): forward then backward, as `forward` orders them


def build_rnn(input_shape: tuple[int, ...], out_dim: int, cfg: ModelConfig) -> list[nn.Module]:
    """A recurrent network over the time steps of a signal (C, L), then the dense head (`model.hidden`).

    A spectrogram (1, mels, frames) is read as frames time steps of mels features (one Flatten in front)."""
    if len(input_shape) == 3 and input_shape[0] == 1:
        layers = build_rnn(tuple(input_shape[1:]), out_dim, cfg)
        layers[0].zero_padded = True  # a padded clip's frames are 0 (data/audio.py): read up to its last real one
        return [nn.Flatten(1, 2), *layers]  # (B, 1, M, T) -> (B, M, T)
    if len(input_shape) != 2:
        raise UserError(f"model.name=rnn needs sequences (C features, L time steps); this data has shape "
                        f"{tuple(input_shape)}: use model.name=mlp or cnn")
    directions = 2 if cfg.bidirectional else 1
    head = dense_stack(directions * cfg.hidden_size, out_dim, cfg)
    net = RecurrentNet(input_shape[0], cell=cfg.cell, hidden_size=cfg.hidden_size, layers=cfg.layers,
                       bidirectional=cfg.bidirectional, dropout=cfg.dropout, head=head)
    if cfg.wide:  # forecasting: a linear path beside the recurrent layers, started at the AR fit (RNN_SERIES_DEFAULTS)
        from idealfit.models.mlp import WideDeep

        return [WideDeep(net, math.prod(input_shape), out_dim)]
    return [net]


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
        if not self.net.padded:  # (the exported graph keeps its fixed L: no data-dependent shape)
            ids = ids[:, : int(lengths.max())]  # padded per batch: only as long as its longest text
        return self.net(self.embed(ids).transpose(1, 2), lengths)  # (B, E, L) with lengths


class TextTableNet(nn.Module):
    """Text beside table columns: the recurrent network's summary of the text, concatenated with the table
    features, then one dense head over both (so the head can weigh a number against a word).

    Takes one (B, F + L) float tensor, as data/text_table.py builds it: F preprocessed table features, then L
    token ids padded at the end (whole numbers in float32).

    Args:
        features: F, the table features (after one-hot encoding, indicators and PCA).
        text: the token model; its `RecurrentNet`'s own head is empty, so it returns the (B, D · H) final state.
        head: dense layers over the (B, D · H + F) concatenation, ending in the outputs.

    Example:
        >>> rnn = RecurrentNet(4, cell="gru", hidden_size=8, layers=1, bidirectional=False, dropout=0.0, head=[])
        >>> net = TextTableNet(2, TokenRecurrentNet(10, 4, pad_id=0, net=rnn), head=[nn.Linear(8 + 2, 3)])
        >>> net(torch.tensor([[0.5, -1.0, 2, 3, 0], [1.5, 0.0, 4, 0, 0]])).shape
        torch.Size([2, 3])
    """

    def __init__(self, features: int, text: TokenRecurrentNet, *, head: list[nn.Module]):
        super().__init__()
        self.features = features
        self.text = text
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, F + L) -> (B, out)."""
        table, ids = x[:, : self.features].float(), x[:, self.features :]  # (B, F), (B, L) ids as floats
        return self.head(torch.cat([self.text(ids), table], dim=1))  # (B, D · H + F) -> (B, out)
