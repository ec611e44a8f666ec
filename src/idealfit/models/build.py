"""One entry point from a model config to a network with the right head for the task."""

from __future__ import annotations

from typing import Any

from torch import nn

from idealfit.config import ModelConfig
from idealfit.models.blocks import Normalize
from idealfit.models.registry import FAMILIES


def build_model(cfg: ModelConfig, *, input_shape: tuple[int, ...], out_dim: int,
                norm: dict[str, Any] | None = None, difference: bool = False) -> nn.Sequential:
    """The network for `cfg.name`, with the fitted input normalization as its first layer.

    The head is linear: `out_dim` logits for classification (softmax lives in the cross-entropy loss
    and in predict), one value for regression (MSE loss), or logits per pixel for segmentation.

    Args:
        input_shape: one sample's shape, e.g. (1, 8, 8), (1, 40) or (10,).
        out_dim: the task's outputs per sample (or per pixel): `Task.out_dim`.
        norm: the fitted first layer: {"mean": [...], "std": [...]} per input channel (a `Normalize` layer),
            {"vocab_size": V, "pad_id": 0} for text (token ids through an embedding, models.rnn.TokenRecurrentNet;
            input_shape is then (L,) tokens; with "table_features": F, (F + L,): table features, then tokens,
            models.rnn.TextTableNet), or None for inputs already standardized.
        difference: series (C, window): the family's network reads the window's differences (C, window - 1) and
            forecasts the change from the last value, added back (models.difference.Differenced).
    """
    if difference:
        from idealfit.models.difference import Differenced

        channels, window = input_shape
        inner = nn.Sequential(*FAMILIES[cfg.name].build((channels, window - 1), out_dim, cfg))
        return nn.Sequential(Differenced(inner, channels=channels, horizon=out_dim))
    if norm is not None and "vocab_size" in norm:
        return nn.Sequential(_token_model(cfg, input_shape=input_shape, out_dim=out_dim, text=norm))
    layers = FAMILIES[cfg.name].build(tuple(input_shape), out_dim, cfg)
    if norm is not None:
        layers.insert(0, Normalize(norm["mean"], norm["std"]))
    return nn.Sequential(*layers)


def _token_model(cfg: ModelConfig, *, input_shape: tuple[int, ...], out_dim: int, text: dict[str, Any]) -> nn.Module:
    """Text: an embedding per token in front of the family's recurrent network (only rnn reads token ids); with
    table columns beside the text (`text["table_features"]` of them), a TextTableNet: the recurrent network's
    final state and the table features side by side into the dense head (`model.hidden`)."""
    from idealfit.errors import UserError
    from idealfit.models.mlp import dense_stack
    from idealfit.models.rnn import RecurrentNet, TextTableNet, TokenRecurrentNet

    features = int(text.get("table_features", 0))
    (net,) = FAMILIES[cfg.name].build((cfg.embed_dim, int(input_shape[0]) - features), out_dim, cfg)
    if not isinstance(net, RecurrentNet):
        raise UserError(f"model.name={cfg.name} cannot read text; use model.name=rnn (or auto)")
    if features:
        net.head = nn.Sequential()  # the final state goes to the joint head instead
        width = (2 if cfg.bidirectional else 1) * cfg.hidden_size + features
        tokens = TokenRecurrentNet(int(text["vocab_size"]), cfg.embed_dim, pad_id=int(text["pad_id"]), net=net)
        return TextTableNet(features, tokens, head=dense_stack(width, out_dim, cfg))
    return TokenRecurrentNet(int(text["vocab_size"]), cfg.embed_dim, pad_id=int(text["pad_id"]), net=net)
